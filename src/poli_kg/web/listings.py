"""Listings of the IRI folders (blueprint :data:`bp`): what lives under each first path segment
of ``https://w3id.org/poli-kg/id/``, so that the graph can be browsed without SPARQL.

Routes (``{ext}`` one of ``html``, ``ttl``, ``jsonld``, ``nt``, ``rdf``; without it the
``Accept`` header chooses, as for every resource: :func:`poli_kg.web.base.pages.represent`)::

    /id/[.{ext}]                   the folders, each with how many resources it holds
    /id/{folder}/[.{ext}][?page=N] the resources of one folder: label, type, link

The folders are the first path segments of the IRIs under ``…/id/`` that the store mentions
(as subject or object, as :func:`~poli_kg.web.base.descriptions.exists` accepts them), each
folder's resources sorted by IRI: an order every language and every page of the RDF share.
They are computed with one query per build and kept (:func:`folder_index`); a remote store may
change under the service, so for it they are computed again every :data:`REMOTE_TTL` seconds.
A folder of more than :data:`PAGE_SIZE` resources is cut into pages, ``?page=1`` the first:
a ``page`` that is not a whole number answers 400, a page number past the last (or 0) 404.

Only the folder URLs themselves (one segment, final slash) are routed here: the folder
converter matches the segment only when a slash follows, and is not part-isolating, so
``/id/polo`` and ``/id/polo/mesap`` still reach the resources blueprint (no slash redirect).

The RDF is a Hydra collection (``hydra:Collection`` with ``hydra:member``,
``hydra:totalItems`` and a ``hydra:PartialCollectionView`` naming the first, previous, next
and last pages), not a ``void:Dataset``: Hydra is the W3C community vocabulary made for
exactly this (a paged list of members that a client walks by following links), while VoID
describes data sets and their statistics, has no word for a page nor for listing every
member, and would call each folder a data set of its own, which it is not.  Each member
comes with its types and labels, so a client can show the list without dereferencing every
member.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, current_app, render_template, request
from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.namespace import RDF, RDFS, XSD
from werkzeug.exceptions import BadRequest
from werkzeug.routing import BaseConverter

from poli_kg.namespaces import BASE, GRAPH_INFERRED, ID, bind_prefixes, sparql_prologue
from poli_kg.store.current import get_store
from poli_kg.web.base.formats import RDF_FORMATS, downloads_for
from poli_kg.web.base.labels import Labels
from poli_kg.web.base.numbers import format_number
from poli_kg.web.base.pages import (
    answer_store_failures, not_found, page_context, represent, share_site_shell,
)
from poli_kg.web.base.render import Renderer, Value
from poli_kg.web.base.site import language, page_url

HYDRA = Namespace("http://www.w3.org/ns/hydra/core#")
PAGE_SIZE = 100
"""Resources per page of a folder."""
REMOTE_TTL = 300
"""Seconds the folders of a remote store are kept (it may change under the service)."""
EXTENSION = "poli_kg.web.listings"
EXTS = "any(" + ", ".join(["html"] + [f.ext for f in RDF_FORMATS]) + ")"


class FolderConverter(BaseConverter):
    """One path segment followed by a slash (which it leaves to the rule).  Not
    part-isolating, so werkzeug tries it as a whole-path pattern beside ``<path:…>`` and
    never answers a URL without the slash with a redirect to the folder."""

    regex = r"[^/]+(?=/)"
    part_isolating = False
    weight = 50


bp = Blueprint("listings", __name__, template_folder=Path(__file__).parent / "templates")
bp.record_once(lambda state: state.app.url_map.converters.setdefault("folder", FolderConverter))
answer_store_failures(bp)
share_site_shell(bp)

TEXT = {
    "it": {"folders": "Cartelle di IRI", "folder": "Cartella di IRI", "resources": "Risorse",
           "resource": "Risorsa", "type": "Tipo", "count": "Risorse",
           "root_title": "Tutte le risorse del grafo, per cartella",
           "root_lead": "Gli IRI delle risorse sotto {base} sono raggruppati per il primo "
                        "segmento del percorso: ogni cartella elenca le sue risorse.",
           "folder_title": "Risorse in {folder}",
           "folder_lead": "{total} risorse con IRI sotto {base}, in ordine di IRI.",
           "one_lead": "1 risorsa con IRI sotto {base}.",
           "page": "Pagina {page} di {last}", "pages": "Pagine",
           "first": "Prima", "previous": "Precedente", "next": "Successiva", "last": "Ultima",
           "formats": "Questo elenco in RDF", "up": "Tutte le cartelle"},
    "en": {"folders": "IRI folders", "folder": "IRI folder", "resources": "Resources",
           "resource": "Resource", "type": "Type", "count": "Resources",
           "root_title": "Every resource of the graph, by folder",
           "root_lead": "The IRIs of the resources under {base} are grouped by the first "
                        "segment of their path: each folder lists its resources.",
           "folder_title": "Resources in {folder}",
           "folder_lead": "{total} resources with an IRI under {base}, in IRI order.",
           "one_lead": "1 resource with an IRI under {base}.",
           "page": "Page {page} of {last}", "pages": "Pages",
           "first": "First", "previous": "Previous", "next": "Next", "last": "Last",
           "formats": "This list in RDF", "up": "Every folder"},
}
MEMBERS_QUERY = """
SELECT DISTINCT ?r WHERE {
  { ?r ?p ?o } UNION { ?s ?p ?r }
  FILTER(isIRI(?r) && STRSTARTS(STR(?r), STR(?base)))
}"""
TYPES_QUERY = "SELECT ?s ?t ?g WHERE { VALUES ?s { %s } GRAPH ?g { ?s a ?t } }"
LABELS_QUERY = sparql_prologue() + """
CONSTRUCT { ?n rdfs:label ?l . ?n skos:prefLabel ?pl . ?n dct:title ?dt }
WHERE { VALUES ?n { %s } { ?n rdfs:label ?l } UNION { ?n skos:prefLabel ?pl } UNION { ?n dct:title ?dt } }
"""


# --------------------------------------------------------------------------- the folders

@dataclass(frozen=True)
class FolderIndex:
    """The folders under ``…/id/`` and their resources (IRIs, sorted), for one build."""

    folders: dict[str, tuple[str, ...]]

    @classmethod
    def from_iris(cls, iris: list[str]) -> FolderIndex:
        grouped: dict[str, list[str]] = {}
        for iri in iris:
            folder, slash, rest = iri[len(str(ID)):].partition("#")[0].partition("/")
            if folder and slash and rest:
                grouped.setdefault(folder, []).append(iri)
        return cls({name: tuple(sorted(members)) for name, members in sorted(grouped.items())})


def folder_index() -> FolderIndex:
    """The folders of the store's build, computed once (see the module docstring)."""
    store = get_store()
    key: tuple[Any, ...] = (id(store), store.build.folder())
    if store.kind == "sparql":
        key += (int(time.monotonic() // REMOTE_TTL),)
    holder = current_app.extensions.setdefault(EXTENSION, {"lock": threading.Lock()})
    with holder["lock"]:
        if holder.get("key") != key:
            rows = store.select(MEMBERS_QUERY, bindings={"base": URIRef(str(ID))})
            holder["index"] = FolderIndex.from_iris([str(row["r"]) for row in rows])
            holder["key"] = key
        index: FolderIndex = holder["index"]
    return index


# --------------------------------------------------------------------------- routes

@bp.get("/id/")
@bp.get(f"/id/.<{EXTS}:ext>")
def folder_list(ext: str | None = None) -> Response:
    """The folders under ``…/id/`` with their sizes."""
    index = folder_index()
    return represent(f"{request.script_root}/id/", ext, rdf=lambda: folders_graph(index),
                     html=lambda: folders_page(index), primary=URIRef(str(ID)))


@bp.get("/id/<folder:folder>/")
@bp.get(f"/id/<folder:folder>/.<{EXTS}:ext>")
def folder_listing(folder: str, ext: str | None = None) -> Response:
    """One folder's resources, a page at a time."""
    members = folder_index().folders.get(folder)
    if members is None:
        return not_found(BASE + request.path.lstrip("/"))
    last = max(1, -(-len(members) // PAGE_SIZE))
    page = page_number(last)
    if page is None:
        return not_found(f"{ID}{folder}/?page={request.args['page']}")
    listing = Listing.of(folder, members, page, last)
    response = represent(f"{request.script_root}/id/{folder}/", ext,
                         rdf=lambda: listing.graph(), html=lambda: listing_page(listing),
                         primary=listing.iri)
    if "page" in request.args:
        keep_page(response, page)
    return response


def page_number(last: int) -> int | None:
    """``?page`` (default 1); None when past ``last`` or 0; 400 when not a whole number."""
    raw = request.args.get("page")
    if raw is None:
        return 1
    if not (raw.isascii() and raw.isdigit()):
        raise BadRequest(f"page must be a whole number from 1 to {last}, not {raw[:40]!r}.")
    if len(raw) > 12:  # past any last page (and too long for int() to be cheap)
        return None
    number = int(raw)
    return number if 1 <= number <= last else None


def keep_page(response: Response, page: int) -> None:
    """Make the variants named by ``Content-Location`` and ``Link`` those of this page."""
    def with_page(url: str) -> str:
        return f"{url}{'&' if '?' in url else '?'}page={page}"

    if "Content-Location" in response.headers:
        response.headers["Content-Location"] = with_page(response.headers["Content-Location"])
    response.headers["Link"] = re.sub(r"<([^>]*)>", lambda m: f"<{with_page(m[1])}>",
                                      response.headers["Link"])


# --------------------------------------------------------------------------- one folder

@dataclass
class Listing:
    """One page of a folder: its resources with their types and labels."""

    name: str
    total: int
    page: int
    last: int
    members: tuple[str, ...]
    types: dict[str, list[URIRef]]
    labels: Graph

    @classmethod
    def of(cls, name: str, members: tuple[str, ...], page: int, last: int) -> Listing:
        """Page ``page`` of folder ``name``, its members' types and labels from the store."""
        shown = members[(page - 1) * PAGE_SIZE:page * PAGE_SIZE]
        types = member_types(shown)
        labels = labels_of(set(shown) | {str(t) for found in types.values() for t in found})
        return cls(name, len(members), page, last, shown, types, labels)

    @property
    def iri(self) -> URIRef:
        return URIRef(f"{ID}{self.name}/")

    def page_iri(self, page: int) -> URIRef:
        return URIRef(f"{self.iri}?page={page}")

    def neighbours(self) -> dict[str, int]:
        """The pages the view links to: first, previous, next, last (where there are)."""
        pages = {"first": 1, "previous": self.page - 1, "next": self.page + 1, "last": self.last}
        return {rel: n for rel, n in pages.items() if 1 <= n <= self.last}

    def graph(self) -> Graph:
        """The page as a Hydra collection, with its members' types and labels."""
        graph = hydra_collection(self.iri, self.total, {
            lang: TEXT[lang]["folder_title"].format(folder=f"id/{self.name}/") for lang in TEXT})
        view = self.page_iri(self.page)
        graph.add((self.iri, HYDRA.view, view))
        graph.add((view, RDF.type, HYDRA.PartialCollectionView))
        for rel, number in self.neighbours().items():
            graph.add((view, HYDRA[rel], self.page_iri(number)))
        for member in self.members:
            graph.add((self.iri, HYDRA.member, URIRef(member)))
            for type_ in self.types.get(member, ()):
                graph.add((URIRef(member), RDF.type, type_))
        for triple in self.labels:
            graph.add(triple)
        return graph


def hydra_collection(iri: URIRef, total: int, titles: dict[str, str]) -> Graph:
    """A graph stating that ``iri`` is a ``hydra:Collection`` of ``total`` items."""
    graph = bind_prefixes(Graph())
    graph.bind("hydra", HYDRA)
    graph.add((iri, RDF.type, HYDRA.Collection))
    graph.add((iri, HYDRA.totalItems, Literal(total, datatype=XSD.nonNegativeInteger)))
    for lang, title in titles.items():
        graph.add((iri, RDFS.label, Literal(title, lang=lang)))
    return graph


def values_clause(iris: list[str] | set[str]) -> str:
    """IRIs (from the store, so well-formed) written for a VALUES block."""
    return " ".join(f"<{iri}>" for iri in sorted(iris))


def member_types(members: tuple[str, ...]) -> dict[str, list[URIRef]]:
    """Each member's asserted types (its inferred ones where it has no asserted type)."""
    if not members:
        return {}
    rows = get_store().select(TYPES_QUERY % values_clause(list(members)))
    asserted: dict[str, set[URIRef]] = {}
    inferred: dict[str, set[URIRef]] = {}
    for row in rows:
        if isinstance(row["t"], URIRef):
            found = inferred if row["g"] == GRAPH_INFERRED else asserted
            found.setdefault(str(row["s"]), set()).add(row["t"])
    return {m: sorted(asserted.get(m) or inferred.get(m) or ()) for m in members}


def labels_of(nodes: set[str]) -> Graph:
    """The labels the store holds for ``nodes``."""
    return get_store().construct(LABELS_QUERY % values_clause(nodes)) if nodes else Graph()


def listing_page(listing: Listing) -> str:
    """The HTML page of one page of a folder."""
    lang = language()
    words = TEXT[lang]
    renderer = Renderer(Graph(), Labels(listing.labels), lang)
    rows = [{"value": renderer.iri(URIRef(m)), "path": m[len(BASE):],
             "types": [renderer.iri(t) for t in listing.types.get(m, ())]}
            for m in listing.members]
    lead = words["one_lead" if listing.total == 1 else "folder_lead"].format(
        total=format_number(listing.total, lang), base=f"{ID}{listing.name}/")
    here = f"{request.script_root}/id/{listing.name}/"
    pages = [(words[rel], page_url(f"{here}?page={n}"), rel)
             for rel, n in listing.neighbours().items() if n != listing.page]
    return render_template(
        "listing.html", lt=words, iri=str(listing.iri),
        title=words["folder_title"].format(folder=f"id/{listing.name}/"), lead=lead,
        rows=rows, pages=pages, folders=None,
        page_line=words["page"].format(page=listing.page, last=listing.last)
        if listing.last > 1 else None,
        formats=variants(here, listing.page if "page" in request.args else None),
        up=page_url(f"{request.script_root}/id/"), **page_context(lang))


# --------------------------------------------------------------------------- the folders

def folders_graph(index: FolderIndex) -> Graph:
    """The folders as a Hydra collection of collections, each with its size."""
    root = URIRef(str(ID))
    graph = hydra_collection(root, len(index.folders),
                             {lang: TEXT[lang]["root_title"] for lang in TEXT})
    for name, members in index.folders.items():
        iri = URIRef(f"{ID}{name}/")
        graph.add((root, HYDRA.member, iri))
        for triple in hydra_collection(iri, len(members), {lang: TEXT[lang]["folder_title"]
                                       .format(folder=f"id/{name}/") for lang in TEXT}):
            graph.add(triple)
    return graph


def folders_page(index: FolderIndex) -> str:
    """The HTML page listing the folders."""
    lang = language()
    words = TEXT[lang]
    here = f"{request.script_root}/id/"
    rows = [{"value": Value(text=f"id/{name}/", kind="iri", href=page_url(f"{here}{name}/"),
                            iri=f"{ID}{name}/"),
             "count": format_number(len(members), lang), "count_value": len(members)}
            for name, members in index.folders.items()]
    return render_template(
        "listing.html", lt=words, iri=str(ID), title=words["root_title"],
        lead=words["root_lead"].format(base=str(ID)), rows=None, folders=rows, pages=[],
        page_line=None, formats=variants(here, None), up=None, **page_context(lang))


def variants(path: str, page: int | None) -> list[dict[str, str]]:
    """Links to the RDF variants of the listing at ``path`` (this page of it)."""
    query = f"?page={page}" if page is not None else ""
    return [{**link, "href": link["href"] + query} for link in downloads_for(path)]
