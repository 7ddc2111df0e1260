"""Full-text search (blueprint :data:`bp`): ``/search``, as an HTML page and as JSON.

    GET /search?q=TEXT[&type=CLASS][&lang=it|en][&limit=N][&offset=N][&format=json|html]

``q`` is matched against the names of every resource of the graph (see
:mod:`poli_kg.store.search`: case, accents and punctuation aside, prefixes, typos, both
languages whatever the page language); ``type`` keeps the instances of a class, named by
IRI, prefixed name (``pkg:PoloDiInnovazione``), local name or label; ``limit`` is at most
:data:`~poli_kg.store.search.MAX_LIMIT`.  When no resource matches every word, the
resources that match some are listed (``"partial": true``).

JSON (``Accept: application/json`` or ``format=json``)::

    {"query": "mesap", "type": null, "lang": "it", "total": 5, "offset": 0, "limit": 20,
     "partial": false,
     "results": [{"iri": "…/id/polo/mesap", "label": "MESAP - …", "type": "…#PoloDiInnovazione",
                  "typeLabel": "Polo di innovazione", "score": 54.6, "description": null,
                  "url": "http://host/id/polo/mesap"}, …]}

An empty ``q``, one over :data:`~poli_kg.store.search.MAX_QUERY_CHARS` characters, a bad
``limit``, ``offset``, ``type`` or ``format`` answer 400 with a message; a build without a
search index answers 503.  Without ``q`` the page shows the search form.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, jsonify, render_template, request
from werkzeug.exceptions import BadRequest

from poli_kg.store import get_store
from poli_kg.store.search import (
    MAX_LIMIT, MAX_QUERY_CHARS, Hit, Results, SearchIndex, SearchUnavailable, get_index,
)
from poli_kg.web.base.conneg import negotiate
from poli_kg.web.base.labels import vocabulary_label
from poli_kg.web.base.pages import page_context
from poli_kg.web.base.site import explicit_language, href_for, language, page_url, public_url

bp = Blueprint("search", __name__, template_folder=Path(__file__).parent / "templates")

DEFAULT_LIMIT = 20
MAX_OFFSET = 10_000
OFFERS = ("text/html", "application/json")
FORMATS = {"json": "application/json", "html": "text/html"}

TEXT = {
    "it": {"title": "Cerca", "label": "Cerca nel grafo", "button": "Cerca",
           "type": "Tipo", "any_type": "Qualsiasi tipo",
           "hint": "Nomi di poli, soggetti gestori, aderenti, cluster nazionali, aree "
                   "tematiche, luoghi, bandi o dati, in italiano o in inglese.",
           "results": "{total} risultati per «{q}»", "one_result": "1 risultato per «{q}»",
           "none": "Nessuna risorsa corrisponde a «{q}».",
           "partial": "Nessuna risorsa corrisponde a tutte le parole: ecco quelle che ne "
                      "contengono alcune.",
           "previous": "Precedenti", "next": "Successivi", "pages": "Pagine dei risultati",
           "empty": "Scrivi qualcosa da cercare.",
           "too_long": f"La ricerca può avere al massimo {MAX_QUERY_CHARS} caratteri.",
           "unavailable": "La ricerca non è disponibile in questo momento."},
    "en": {"title": "Search", "label": "Search the graph", "button": "Search",
           "type": "Type", "any_type": "Any type",
           "hint": "Names of clusters, managing bodies, members, national clusters, themes, "
                   "places, calls or figures, in Italian or in English.",
           "results": "{total} results for “{q}”", "one_result": "1 result for “{q}”",
           "none": "No resource matches “{q}”.",
           "partial": "No resource matches every word: these match some of them.",
           "previous": "Previous", "next": "Next", "pages": "Result pages",
           "empty": "Type something to search for.",
           "too_long": f"A search may have at most {MAX_QUERY_CHARS} characters.",
           "unavailable": "Search is not available right now."},
}

# Types offered by the page's type filter (the classes a search is most often narrowed to).
FILTER_TYPES = ("pkg:PoloDiInnovazione", "pkg:SoggettoGestore", "org:Organization",
                "pkg:ClusterTecnologicoNazionale", "pkg:AreaTematica", "dct:Location",
                "pkg:Bando", "qb:Observation")


class QueryTextError(BadRequest):
    """``q`` is missing, empty or too long (the page says so in its language)."""

    def __init__(self, reason: str, description: str) -> None:
        super().__init__(description)
        self.reason = reason


@bp.get("/search")
def search() -> Response:
    """The search page, or its results as JSON."""
    wanted = wanted_format()
    lang = language()
    raw = request.args.get("q")
    index = None
    try:
        index = get_index(get_store().build)
        if raw is None and wanted == "text/html":
            return page(lang, index, None)
        text = query_text(raw)
        limit = int_arg("limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
        offset = int_arg("offset", 0, 0, MAX_OFFSET)
        type_iri = type_arg(index)
    except QueryTextError as exc:
        if wanted != "text/html":
            raise
        return page(lang, index, raw, error=TEXT[lang][exc.reason], status=400)
    except SearchUnavailable:
        return unavailable(lang)
    results, partial = run(index, text, type_iri, limit, offset)
    if wanted == "application/json":
        return as_json(index, results, lang, text=text, type_iri=type_iri, limit=limit,
                       offset=offset, partial=partial)
    return page(lang, index, text, results=results, partial=partial, type_iri=type_iri,
                limit=limit, offset=offset)


def wanted_format() -> str:
    """``format`` (json or html), else the best of ``Accept`` (HTML when it accepts neither)."""
    chosen = request.args.get("format")
    if chosen is not None:
        if chosen not in FORMATS:
            raise BadRequest(f"Unknown format {chosen[:40]!r}: use format=json or format=html.")
        return FORMATS[chosen]
    return negotiate(request.headers.get("Accept"), OFFERS) or "text/html"


def query_text(raw: str | None) -> str:
    """The search text: present, not blank, at most MAX_QUERY_CHARS characters."""
    text = (raw or "").strip()
    if not text:
        raise QueryTextError("empty", "Missing search text: give it as q=… (e.g. /search?q=mesap).")
    if len(text) > MAX_QUERY_CHARS:
        raise QueryTextError("too_long", f"The search text has {len(text)} characters; "
                                         f"at most {MAX_QUERY_CHARS} are allowed.")
    return text


def int_arg(name: str, default: int, lowest: int, highest: int) -> int:
    """An integer parameter within bounds (400 otherwise)."""
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(f"{name} must be a whole number, not {raw[:40]!r}.") from None
    if not lowest <= value <= highest:
        raise BadRequest(f"{name} must be between {lowest} and {highest}; it is {value}.")
    return value


def type_arg(index: SearchIndex) -> str | None:
    """The class ``type`` names (400 when the graph has no such class)."""
    raw = (request.args.get("type") or "").strip()
    if not raw:
        return None
    found = index.resolve_type(raw[:MAX_QUERY_CHARS])
    if found is None:
        raise BadRequest(f"Unknown type {raw[:80]!r}: give a class of the graph by IRI, "
                         "prefixed name (pkg:PoloDiInnovazione), local name or label.")
    return found


def run(index: SearchIndex, text: str, type_iri: str | None, limit: int,
        offset: int) -> tuple[Results, bool]:
    """Every word must match; when nothing does, any word may (``partial``)."""
    types = [type_iri] if type_iri else []
    results = index.search(text, types=types, limit=limit, offset=offset)
    if results.total or offset or len(text.split()) < 2:
        return results, False
    return index.search(text, types=types, limit=limit, every_word=False), True


def unavailable(lang: str) -> Response:
    return Response(f"503 Service Unavailable: {TEXT[lang]['unavailable']}\n", status=503,
                    content_type="text/plain; charset=utf-8", headers={"Retry-After": "30"})


# --------------------------------------------------------------------------- answers

def as_json(index: SearchIndex, results: Results, lang: str, **query: Any) -> Response:
    body = {
        "query": query["text"], "type": query["type_iri"], "lang": lang,
        "total": results.total, "offset": query["offset"], "limit": query["limit"],
        "partial": query["partial"],
        "results": [{
            "iri": hit.iri, "label": hit.label(lang), "type": hit.type,
            "typeLabel": index.type_name(hit.type, lang, vocabulary_label) if hit.type else None,
            "score": hit.score, "description": hit.description(lang),
            "url": public_url(hit.iri) if href_for(hit.iri)[1] is False else hit.iri,
        } for hit in results.hits],
    }
    response = jsonify(body)
    response.headers["Vary"] = "Accept"
    return response


def page(lang: str, index: SearchIndex | None, text: str | None, *,
         results: Results | None = None, partial: bool = False, type_iri: str | None = None,
         limit: int = DEFAULT_LIMIT, offset: int = 0, error: str | None = None,
         status: int = 200) -> Response:
    """The search page: the form, and the hits when there was a search."""
    words = TEXT[lang]
    hits = [hit_view(index, hit, lang) for hit in results.hits] if results and index else []
    body = render_template(
        "search.html", st=words, q=text or "", error=error, hits=hits, partial=partial,
        total=results.total if results else None, summary=summary(words, text, results),
        type_iri=type_iri, type_options=type_options(index, lang, type_iri),
        pages=pagination(text, type_iri, limit, offset, results.total if results else 0),
        offset=offset, explicit_lang=explicit_language(), **page_context(lang))
    response = Response(body, status=status, content_type="text/html; charset=utf-8")
    response.headers["Vary"] = "Accept"
    return response


def summary(words: dict[str, str], text: str | None, results: Results | None) -> str | None:
    if results is None or text is None:
        return None
    if results.total == 0:
        return words["none"].format(q=text)
    key = "one_result" if results.total == 1 else "results"
    return words[key].format(total=results.total, q=text)


def hit_view(index: SearchIndex, hit: Hit, lang: str) -> dict[str, Any]:
    """What the page shows of a hit: label, the other language's, type, a line, a link."""
    other = "en" if lang == "it" else "it"
    label, other_label = hit.label(lang), hit.label(other)
    href, external = href_for(hit.iri)
    context = hit.description(lang) or hit.data.get("host") or next(
        (n for n in hit.names if n not in (label, other_label)), None)
    return {"iri": hit.iri, "label": label, "href": href, "external": external,
            "other_label": other_label if other_label != label else None, "other_lang": other,
            "type": index.type_name(hit.type, lang, vocabulary_label) if hit.type else None,
            "context": context}


def type_options(index: SearchIndex | None, lang: str, chosen: str | None) -> list[dict]:
    """The type filter's choices: the common classes the graph has, and the chosen one."""
    if index is None:
        return []
    iris = [iri for name in FILTER_TYPES if (iri := index.resolve_type(name))]
    if chosen and chosen not in iris:
        iris.append(chosen)
    return [{"iri": iri, "name": index.type_name(iri, lang, vocabulary_label), "selected": iri == chosen}
            for iri in iris]


def pagination(text: str | None, type_iri: str | None, limit: int, offset: int,
               total: int) -> dict[str, str | None]:
    """Links to the previous and next pages of results (None where there is none)."""
    def link(start: int) -> str:
        args = {"q": text or "", "offset": str(start)}
        if type_iri:
            args["type"] = type_iri
        if limit != DEFAULT_LIMIT:
            args["limit"] = str(limit)
        return page_url(f"{request.script_root}/search?{urlencode(args)}")

    previous = link(max(0, offset - limit)) if offset > 0 else None
    following = link(offset + limit) if offset + limit < min(total, MAX_OFFSET + 1) else None
    return {"previous": previous, "next": following}
