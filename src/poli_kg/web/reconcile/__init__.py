"""The Reconciliation Service API 0.2 (blueprint :data:`bp`): OpenRefine and other data-cleaning
tools match a column of names against the graph.

Routes::

    GET|POST /reconcile                      the manifest; with queries=…: reconciliation;
                                             with extend=…: data extension
    GET      /reconcile/suggest/entity       ?prefix=…[&type=…][&cursor=N]
    GET      /reconcile/suggest/type         ?prefix=…
    GET      /reconcile/suggest/property     ?prefix=…[&type=…]
    GET      /reconcile/propose_properties   ?type=…[&limit=N]
    GET      /reconcile/preview              ?id=IRI     a small HTML card
    GET      /reconcile/view                 ?id=IRI     303 to the resource's page

``queries`` and ``extend`` come as a form field, a URL parameter or a JSON body (the batch
itself, or ``{"queries": …}`` / ``{"extend": …}``).  Ids are the resources' IRIs
(identifier space ``https://w3id.org/poli-kg/id/``), types and properties the IRIs of
classes and properties (or their prefixed names).  Names are given in the language of
``?lang`` or ``Accept-Language`` (Italian by default).  Malformed input answers 400, a batch
of more than :data:`~poli_kg.web.reconcile.matching.MAX_BATCH` queries 413, both with a
message; every answer may be read cross-origin.  See :mod:`.matching` and :mod:`.extension`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, jsonify, redirect, render_template, request, url_for
from rdflib import URIRef
from werkzeug.exceptions import BadRequest, NotFound

from poli_kg import __version__
from poli_kg import textindex as ti
from poli_kg.namespaces import BASE, RDFS, SKOS
from poli_kg.store import get_store, sparql_term
from poli_kg.store.search import (
    MAX_LIMIT, MAX_QUERY_CHARS, Hit, SearchIndex, SearchUnavailable, get_index,
)
from poli_kg.web.base.labels import vocabulary_label
from poli_kg.web.base.pages import answer_store_failures, page_context
from poli_kg.web.base.site import href_for, language, public_root
from poli_kg.web.reconcile import extension, matching

bp = Blueprint("reconcile", __name__, template_folder=Path(__file__).parents[1] / "templates")
answer_store_failures(bp)

IDENTIFIER_SPACE = BASE + "id/"
DEFAULT_TYPES = ("pkg:PoloDiInnovazione", "pkg:SoggettoGestore", "org:Organization",
                 "pkg:ClusterTecnologicoNazionale", "pkg:AreaTematica", "pkg:AmbitoTecnologico",
                 "dct:Location", "pkg:Bando", "pkg:ProgrammaOperativo", "qb:Observation")
SUGGESTIONS = 10
VALUES_QUERY = """SELECT ?s ?v ?label WHERE {
  VALUES ?s { %s }
  ?s ?p ?v .
  OPTIONAL { ?v <%s>|<%s>|<%s> ?label }
}""" % ("%s", RDFS.label, SKOS.prefLabel, SKOS.altLabel)
PREVIEW_SIZE = {"width": 420, "height": 140}
NAMES = {"it": "poli-kg: Poli di Innovazione del Piemonte",
         "en": "poli-kg: Innovation Clusters of Piedmont"}


def served_index() -> SearchIndex:
    """The search index of the build the application serves."""
    return get_index(get_store().build)


def property_values(pid: str, subjects: list[str]) -> dict[str, list[tuple[Any, list[str]]]]:
    """``{subject: [(value, its labels)]}``: the values of property ``pid`` of the subjects,
    asked of the store in one query (a property that is not an IRI has none)."""
    out: dict[str, list[tuple[Any, list[str]]]] = {}
    if not subjects:
        return out
    try:
        terms = " ".join(sparql_term(URIRef(s)) for s in subjects)
        rows = get_store().select(VALUES_QUERY % terms, bindings={"p": URIRef(pid)})
    except ValueError:
        return out
    for row in rows:
        values = out.setdefault(str(row["s"]), [])
        entry = next((e for e in values if e[0] == row["v"]), None)
        if entry is None:
            values.append(entry := (row["v"], []))
        if "label" in row:
            entry[1].append(str(row["label"]))
    return out


@bp.errorhandler(SearchUnavailable)
def unavailable(exc: SearchUnavailable) -> Response:
    return Response("503 Service Unavailable: the search index of the graph is not available "
                    "right now.\n", status=503, content_type="text/plain; charset=utf-8",
                    headers={"Retry-After": "30"})


@bp.route("/reconcile", methods=["GET", "POST"])
def service() -> Response:
    """The manifest, or the answer to a batch of queries or to a data extension query."""
    given = parameters()
    index = served_index()
    lang = language()
    if given.get("queries") is not None:
        batch = decoded(given["queries"], "queries")
        return jsonify(matching.reconcile(matching.read_batch(batch, index), index, lang,
                                          property_values))
    if given.get("extend") is not None:
        ids, properties = extension.read_extension(decoded(given["extend"], "extend"))
        return jsonify(extension.extend(ids, properties, index, lang, property_values))
    return jsonify(manifest(index, lang))


def parameters() -> dict[str, Any]:
    """``queries`` / ``extend`` from a JSON body, the form or the URL."""
    if request.method == "POST" and request.mimetype == "application/json":
        body = matching.load_json(request.get_data(as_text=True), "The JSON body")
        if isinstance(body, dict) and ({"queries", "extend"} & body.keys()):
            return body
        return {"queries": body}
    return {key: request.values.get(key) for key in ("queries", "extend")}


def decoded(value: Any, what: str) -> Any:
    """A parameter's JSON (a string to decode, or already decoded from a JSON body)."""
    return matching.load_json(value, what) if isinstance(value, str) else value


def manifest(index: SearchIndex, lang: str) -> dict[str, Any]:
    """The service manifest (what the service is and where its services are)."""
    root = public_root()
    service_url = root.rstrip("/")
    types = [iri for name in DEFAULT_TYPES if (iri := index.resolve_type(name))]
    return {
        "versions": ["0.2"],
        "name": NAMES[lang],
        "identifierSpace": IDENTIFIER_SPACE,
        "schemaSpace": extension.SCHEMA_SPACE,
        "documentation": root,
        "serviceVersion": __version__,
        "logo": service_url + url_for("querypage.static", filename="img/favicon.svg"),
        "view": {"url": root + "reconcile/view?id={{id}}"},
        "preview": {"url": root + "reconcile/preview?id={{id}}", **PREVIEW_SIZE},
        "defaultTypes": [{"id": iri, "name": index.type_name(iri, lang, vocabulary_label)}
                         for iri in dict.fromkeys(types)],
        "suggest": {kind: {"service_url": service_url, "service_path": f"/reconcile/suggest/{kind}"}
                    for kind in ("entity", "type", "property")},
        "extend": {
            "propose_properties": {"service_url": service_url,
                                   "service_path": "/reconcile/propose_properties"},
            "property_settings": [{
                "name": "limit", "label": "Limit" if lang == "en" else "Limite", "type": "number",
                "default": 0, "help_text": "Values per row at most (0: all)" if lang == "en"
                else "Valori per riga al massimo (0: tutti)"}],
        },
    }


# --------------------------------------------------------------------------- suggest

def text_arg(name: str) -> str:
    """A required text parameter, at most MAX_QUERY_CHARS characters."""
    text = (request.args.get(name) or "").strip()
    if not text:
        raise BadRequest(f"Missing {name}: give the text to complete as {name}=….")
    if len(text) > MAX_QUERY_CHARS:
        raise BadRequest(f"{name} has {len(text)} characters; at most {MAX_QUERY_CHARS}.")
    return text


def number_arg(name: str, default: int, highest: int) -> int:
    raw = request.args.get(name) or ""
    if not raw:
        return default
    if not (raw.isascii() and raw.isdigit()) or int(raw) > highest:
        raise BadRequest(f"{name} must be a whole number from 0 to {highest}.")
    return int(raw)


def type_arg(index: SearchIndex) -> str | None:
    raw = (request.args.get("type") or "").strip()[:MAX_QUERY_CHARS]
    return (index.resolve_type(raw) or ti.expand_name(raw)) if raw else None


@bp.get("/reconcile/suggest/entity")
def suggest_entity() -> Response:
    """Resources whose names begin with (or are near) ``prefix``."""
    index, lang = served_index(), language()
    prefix = text_arg("prefix")
    type_iri = type_arg(index)
    found = index.search(prefix, types=[type_iri] if type_iri else [],
                         limit=number_arg("limit", SUGGESTIONS, MAX_LIMIT) or SUGGESTIONS,
                         offset=number_arg("cursor", 0, 10_000))
    result = []
    for hit in found.hits:
        entry: dict[str, Any] = {"id": hit.iri, "name": hit.label(lang), "notable": [
            {"id": t, "name": index.type_name(t, lang, vocabulary_label)}
            for t in hit.data.get("types", ())]}
        description = hit.description(lang)
        if description:
            entry["description"] = description
        result.append(entry)
    return jsonify({"result": result})


def term_matches(prefix: str, iri: str, names: dict) -> bool:
    """Whether a word of a term's names (in the graph, else of its vocabulary) or of its local
    name begins with ``prefix`` (folded)."""
    wanted = ti.fold(prefix)
    texts = [n or vocabulary_label(iri, lang) or "" for lang, n in names.items()]
    texts.append(ti.humanised(iri))
    words = {w for text in texts for w in ti.index_terms(text)}
    return any(ti.fold(t).startswith(wanted) for t in texts) or \
        any(w.startswith(wanted) for w in words)


def suggested(entries: Iterable[dict], prefix: str, name: Callable[[str], str]) -> Response:
    """The suggest answer: the terms whose names begin with ``prefix``, the most used first."""
    found = sorted((e for e in entries if term_matches(prefix, e["iri"], e["name"])),
                   key=lambda e: (-e.get("count", 0), e["iri"]))
    return jsonify({"result": [{"id": e["iri"], "name": name(e["iri"]),
                                "description": ti.short_name(e["iri"])}
                               for e in found[:SUGGESTIONS]]})


@bp.get("/reconcile/suggest/type")
def suggest_type() -> Response:
    """Classes of the graph whose names begin with ``prefix``."""
    index, lang = served_index(), language()
    return suggested(index.types.values(), text_arg("prefix"),
                     lambda iri: index.type_name(iri, lang, vocabulary_label))


@bp.get("/reconcile/suggest/property")
def suggest_property() -> Response:
    """Properties of the graph whose names begin with ``prefix`` (of ``type``'s instances)."""
    index, lang = served_index(), language()
    prefix = text_arg("prefix")
    type_iri = type_arg(index)
    return suggested((p for p in index.properties.values()
                      if type_iri is None or type_iri in p.get("types", ())), prefix,
                     lambda iri: index.property_name(iri, lang, vocabulary_label))


@bp.get("/reconcile/propose_properties")
def propose_properties() -> Response:
    """The properties worth fetching for the instances of ``type``."""
    index = served_index()
    limit = number_arg("limit", MAX_LIMIT, MAX_LIMIT) or MAX_LIMIT
    return jsonify(extension.propose(index, type_arg(index), limit, language()))


# --------------------------------------------------------------------------- preview, view

def resource_arg(index: SearchIndex) -> Hit:
    """The indexed resource ``id`` names (400 without one, 404 when there is none)."""
    iri = (request.args.get("id") or "").strip()
    if not iri:
        raise BadRequest("Missing id: give the IRI of a resource as id=….")
    hit = index.get([iri[:2000]]).get(iri)
    if hit is None:
        raise NotFound()
    return hit


@bp.get("/reconcile/preview")
def preview() -> Response:
    """A small HTML card of a resource, for a reconciliation client's frame."""
    index, lang = served_index(), language()
    hit = resource_arg(index)
    other = "en" if lang == "it" else "it"
    href, external = href_for(hit.iri)
    card = {
        "iri": hit.iri, "label": hit.label(lang), "href": href, "external": external,
        "other_label": hit.label(other) if hit.label(other) != hit.label(lang) else None,
        "other_lang": other, "description": hit.description(lang), "host": hit.data.get("host"),
        "type": index.type_name(hit.type, lang, vocabulary_label) if hit.type else None,
    }
    body = render_template("reconcile_preview.html", card=card, **page_context(lang))
    return Response(body, content_type="text/html; charset=utf-8")


@bp.get("/reconcile/view")
def view() -> Response:
    """303 to the page of a resource (only resources of the graph: no open redirect)."""
    hit = resource_arg(served_index())
    return redirect(href_for(hit.iri)[0], code=303)
