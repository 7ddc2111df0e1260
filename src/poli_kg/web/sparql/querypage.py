"""The SPARQL query page (blueprint ``querypage``): an editor (YASGUI's Yasqe + Yasr,
vendored), example queries, downloads.

Served at ``/query``; ``/sparql`` renders it (:func:`render_query_page`) for a browser
asking for HTML without a query.

The page is server-rendered and works without JavaScript (a plain GET form to ``/sparql``, a
labelled textarea); ``static/js/query.js`` turns the textarea into the YASGUI editor at the
page's first use (YASGUI's megabyte of script is not loaded with the page, whose first paint it
would hold up on a phone), runs the examples in place, keeps the download links in step with
the editor and says when a result was truncated (``X-Result-Truncated``). The editor completes
prefixes, and this dataset's classes and properties (``/query/terms.json``); results are
written for reading in the page language, IRIs by their labels (``/query/labels.json``: both in
:mod:`~poli_kg.web.sparql.lookup`, nothing is asked of another host); the examples' language
filters follow the page language (:meth:`~poli_kg.web.sparql.examples.Example.query_in`). The
page lists the predefined prefixes (:data:`~poli_kg.web.sparql.prologue.PREDEFINED`), which
queries may use undeclared. Configuration reaches the script through a ``<script
type="application/json">`` block, so the page needs no inline script (compatible with
``Content-Security-Policy: script-src 'self'``).

Query parameters of the page: ``lang`` (``it`` or ``en``; without it the language is the
best match of ``Accept-Language``, else Italian — as on the linked-data pages, whose
:func:`~poli_kg.web.base.site.language` decides — and the page answers ``Vary:
Accept-Language``), ``example`` (the name of an example to put in the editor and run,
:mod:`~poli_kg.web.sparql.examples`) and ``query`` (a query to put in the editor and run).

The blueprint serves the site's templates and static files (``web/templates``,
``web/static``): every page's template names its stylesheets ``querypage.static``.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlencode

from flask import Blueprint, Response, current_app, make_response, render_template, request
from rdflib.namespace import XSD
from werkzeug.exceptions import ServiceUnavailable

from poli_kg.namespaces import BASE, EU_CURRENCY, PREFIXES, UNIT, sparql_prologue
from poli_kg.store.current import get_store
from poli_kg.store.search import SearchIndex, SearchUnavailable, get_index
from poli_kg.web.base.conneg import add_vary
from poli_kg.web.base.numbers import MONTHS
from poli_kg.web.base.site import DEFAULT_LANGUAGE, explicit_language, language
from poli_kg.web.sparql import lookup
from poli_kg.web.sparql.examples import DEFAULT_QUERIES_DIR, Example, load_examples
from poli_kg.web.sparql.prologue import PREDEFINED

WEB = Path(__file__).parent.parent
"""The web layer's folder, holding the site's ``templates`` and ``static`` files."""

bp = Blueprint(
    "querypage", __name__, template_folder=WEB / "templates",
    static_folder=WEB / "static", static_url_path="/static",
)

ENDPOINT_PATH = "/sparql"

# Download formats per query form: (the endpoint's `format` parameter, label, file extension).
RESULT_DOWNLOADS = (
    ("json", "JSON", "json"), ("xml", "XML", "xml"), ("csv", "CSV", "csv"), ("tsv", "TSV", "tsv"),
)
GRAPH_DOWNLOADS = (
    ("turtle", "Turtle", "ttl"), ("nt", "N-Triples", "nt"),
    ("jsonld", "JSON-LD", "jsonld"), ("rdfxml", "RDF/XML", "rdf"),
)
FORMATS_BY_QUERY_TYPE = {
    "SELECT": RESULT_DOWNLOADS, "ASK": RESULT_DOWNLOADS,
    "CONSTRUCT": GRAPH_DOWNLOADS, "DESCRIBE": GRAPH_DOWNLOADS,
}

UNITS = {
    "euro": {"iris": [str(EU_CURRENCY.EUR)], "names": ["euro", "eur", "€"]},
    "percent": {"iris": [str(UNIT.PERCENT)],
                "names": ["per cento", "percentuale", "percent", "percentage", "%"]},
}
"""Units the results' numbers are written with (``1.194,50 €``, ``30 %``): a row whose one number
stands beside one of these units, as an IRI or by its name (the graph's ``rdfs:label``, any
case), or a column whose name says ``percent``/``euro``."""

LABELS = {
    "it": {
        "title": "Interroga il grafo con SPARQL",
        "site": "Poli di Innovazione del Piemonte",
        "intro": "Scrivi una query SPARQL o scegli una domanda di esempio: i risultati compaiono "
                 "qui sotto e si possono scaricare in vari formati.",
        "endpoint": "Endpoint SPARQL",
        "examples": "Domande di esempio",
        "examples_hint": "Un clic carica la query nell'editor e la esegue.",
        "no_examples": "Nessun esempio disponibile.",
        "editor": "Query SPARQL",
        "run": "Esegui",
        "format": "Formato della risposta",
        "noscript": "Senza JavaScript la query viene inviata direttamente all'endpoint, "
                    "che risponde nel formato scelto.",
        "download": "Scarica i risultati",
        "download_hint": "Esegui una query SELECT, ASK, CONSTRUCT o DESCRIBE per scaricarne "
                         "i risultati.",
        "results": "Risultati",
        "results_empty": "Nessuna query eseguita.",
        "loading": "Caricamento dell'editor…",
        "running": "Esecuzione in corso…",
        "done": "Query eseguita in {ms} ms.",
        "failed": "La query non è andata a buon fine.",
        "prefixes": "Prefissi predefiniti",
        "prefixes_hint": "Si possono usare senza dichiararli: l'endpoint aggiunge il PREFIX "
                         "che manca. Un PREFIX della query prevale sempre.",
        "raw": "Mostra i valori grezzi",
        "yes": "sì", "no": "no",
        "truncated": "Risultato troncato: l'endpoint restituisce al massimo {limit} risultati "
                     "per query e questa ne ha di più. Per leggere gli altri usa ORDER BY con "
                     "LIMIT {limit} OFFSET {limit}, poi OFFSET {limit2} e così via.",
        "language": "Lingua",
        "other_language": "English",
        "nav": "Principale",
        "nav_home": "Home", "nav_ontology": "Ontologia", "nav_query": "Query SPARQL",
        "nav_downloads": "Download", "nav_catalog": "Catalogo",
    },
    "en": {
        "title": "Query the graph with SPARQL",
        "site": "Innovation Clusters of Piedmont",
        "intro": "Write a SPARQL query or pick an example question: the results appear below "
                 "and can be downloaded in several formats.",
        "endpoint": "SPARQL endpoint",
        "examples": "Example questions",
        "examples_hint": "A click loads the query into the editor and runs it.",
        "no_examples": "No examples available.",
        "editor": "SPARQL query",
        "run": "Run",
        "format": "Response format",
        "noscript": "Without JavaScript the query is sent straight to the endpoint, "
                    "which answers in the chosen format.",
        "download": "Download the results",
        "download_hint": "Run a SELECT, ASK, CONSTRUCT or DESCRIBE query to download its results.",
        "results": "Results",
        "results_empty": "No query run yet.",
        "loading": "Loading the editor…",
        "running": "Running…",
        "done": "Query run in {ms} ms.",
        "failed": "The query failed.",
        "prefixes": "Predefined prefixes",
        "prefixes_hint": "Usable without declaring them: the endpoint adds the missing PREFIX. "
                         "A PREFIX of the query always wins.",
        "raw": "Show raw values",
        "yes": "yes", "no": "no",
        "truncated": "Result truncated: the endpoint returns at most {limit} results per query, "
                     "and this one has more. To read the rest, use ORDER BY with LIMIT {limit} "
                     "OFFSET {limit}, then OFFSET {limit2} and so on.",
        "language": "Language",
        "other_language": "Italiano",
        "nav": "Main",
        "nav_home": "Home", "nav_ontology": "Ontology", "nav_query": "SPARQL query",
        "nav_downloads": "Downloads", "nav_catalog": "Catalogue",
    },
}


_COMMENT = re.compile(r"#[^\n]*")
_PROLOGUE_DECL = re.compile(r"^\s*(?:PREFIX\s+[^\s:]*:\s*<[^>]*>|BASE\s+<[^>]*>)", re.IGNORECASE)
_QUERY_FORM = re.compile(r"\b(SELECT|ASK|CONSTRUCT|DESCRIBE)\b", re.IGNORECASE)


def query_type(query: str) -> str | None:
    """SELECT, ASK, CONSTRUCT or DESCRIBE (the first such keyword after the prologue), else None."""
    body = query.lstrip("\ufeff")
    while True:  # strip comments and PREFIX/BASE declarations from the front
        stripped = body.lstrip()
        if stripped.startswith("#"):
            body = _COMMENT.sub("", stripped, count=1)
            continue
        match = _PROLOGUE_DECL.match(stripped)
        if not match:
            break
        body = stripped[match.end():]
    match = _QUERY_FORM.search(_COMMENT.sub(" ", body))
    return match.group(1).upper() if match else None


def minimal_prologue(query: str) -> str:
    """``query`` without the PREFIX declarations it does not use (keeps download URLs short)."""
    lines = query.splitlines(keepends=True)
    decl = re.compile(r"^\s*PREFIX\s+([A-Za-z][\w.-]*|)\s*:\s*<[^>]*>\s*$", re.IGNORECASE)
    kept = []
    for index, line in enumerate(lines):
        match = decl.match(line)
        if match:
            rest = "".join(lines[:index] + lines[index + 1:])
            label = re.escape(match.group(1))
            if not re.search(rf"(?<![\w.-]){label}:", rest):
                continue
        kept.append(line)
    return "".join(kept)


def download_links(query: str, endpoint: str = ENDPOINT_PATH) -> list[dict]:
    """Links to ``endpoint?query=…&format=…`` for each format that suits the query's form."""
    formats = FORMATS_BY_QUERY_TYPE.get(query_type(query) or "", ())
    compact = minimal_prologue(query)
    return [
        {"format": fmt, "label": label, "ext": ext,
         "href": f"{endpoint}?{urlencode({'query': compact, 'format': fmt})}"}
        for fmt, label, ext in formats
    ]


# The site's navigation (as on the linked-data pages): label key, path; shown when routed.
NAV = (("nav_home", "/"), ("nav_ontology", "/ontology"), ("nav_query", "/query"),
       ("nav_downloads", "/downloads/"), ("nav_catalog", "/catalog"))


def _navigation(labels: dict[str, str]) -> list[dict]:
    """The site's navigation links that the application routes, keeping an explicit ``?lang``."""
    routed = {rule.rule for rule in current_app.url_map.iter_rules()}
    explicit = explicit_language()
    suffix = f"?lang={explicit}" if explicit else ""
    return [{"label": labels[key], "href": request.script_root + path + suffix,
             "current": path == "/query"}
            for key, path in NAV if path in routed]


def default_query(lang: str = DEFAULT_LANGUAGE) -> str:
    """What the editor holds at first: every project prefix, then the ontology's classes in use."""
    cls, count = ("class", "instances") if lang == "en" else ("classe", "istanze")
    return (
        sparql_prologue()
        + f"\nSELECT ?{cls} (COUNT(?s) AS ?{count}) WHERE {{\n"
        + f"  ?s a ?{cls} .\n  FILTER(STRSTARTS(STR(?{cls}), STR(pkg:)))\n}}\n"
        + f"GROUP BY ?{cls}\nORDER BY DESC(?{count})\n"
    )


def _editor_query(examples: list[Example], lang: str) -> tuple[Example | None, str, bool]:
    """(the example asked for, the query the editor holds, whether to run it at once)."""
    by_name = {example.name: example for example in examples}
    selected = by_name.get(request.args.get("example", ""))
    given = request.args.get("query", "")
    if selected is not None:
        return selected, selected.query_in(lang), True
    if given.strip():
        return None, given, True
    return None, default_query(lang), False


def _script_config(endpoint: str, lang: str, autorun: bool, examples: list[Example],
                   labels: dict[str, str]) -> dict:
    """What ``query.js`` reads from the page's JSON block."""
    return {
        "endpoint": endpoint,
        "root": request.script_root + "/",
        "base": BASE,
        "lang": lang,
        "lang_param": explicit_language(),
        "autorun": autorun,
        "prefixes": {prefix: str(ns) for prefix, ns in PREFIXES.items()},
        "formats": {
            kind: [{"format": fmt, "label": label, "ext": ext} for fmt, label, ext in formats]
            for kind, formats in FORMATS_BY_QUERY_TYPE.items()
        },
        "examples": {example.name: example.query_in(lang) for example in examples},
        "max_results": int(current_app.config.get("MAX_RESULTS", 10_000)),
        "terms_url": request.script_root + "/query/terms.json",
        "labels_url": request.script_root + "/query/labels.json",
        "max_label_iris": lookup.MAX_IRIS,
        "units": UNITS,
        "xsd": str(XSD),
        "months": MONTHS[lang],
        "labels": {key: labels[key] for key in ("loading", "running", "done", "failed",
                                                "download_hint", "truncated", "yes", "no")},
    }


def render_query_page() -> Response:
    """The query page for the current request, as a Flask response (also used by ``/sparql``)."""
    lang = language()
    labels = LABELS[lang]
    examples = load_examples(current_app.config.get("QUERIES_DIR") or DEFAULT_QUERIES_DIR)
    selected, query, autorun = _editor_query(examples, lang)
    root = request.script_root  # "" unless the app is mounted under a path
    endpoint = root + ENDPOINT_PATH
    public = current_app.config.get("PUBLIC_URL")
    site = public.rstrip("/") if public else request.host_url.rstrip("/") + root
    other = "en" if lang == "it" else "it"
    html = render_template(
        "query.html",
        lang=lang, other_lang=other, labels=labels, examples=examples, selected=selected,
        query=query, endpoint=endpoint, endpoint_url=site + ENDPOINT_PATH,
        downloads=download_links(query, endpoint), formats=FORMATS_BY_QUERY_TYPE,
        config=_script_config(endpoint, lang, autorun, examples, labels),
        other_lang_url=_url_with(lang=other), nav=_navigation(labels), predefined=PREDEFINED,
        example_url=lambda name: _url_with(example=name, query=None),
    )
    response = make_response(html)
    response.headers["Content-Language"] = lang
    if explicit_language() is None:
        add_vary(response, "Accept-Language")
    return response


def _url_with(**changes) -> str:
    """The current page's URL (path + query string) with some parameters changed or removed."""
    args = {key: value for key, value in request.args.items()}
    for key, value in changes.items():
        if value is None:
            args.pop(key, None)
        else:
            args[key] = value
    return request.script_root + request.path + (f"?{urlencode(args)}" if args else "")


@bp.get("/query")
def query_page() -> Response:
    """The query page at ``/query``."""
    return render_query_page()


def _search_index() -> SearchIndex:
    """The build's search index, which names the graph's terms (503 when there is none)."""
    try:
        return get_index(get_store().build)
    except SearchUnavailable as exc:
        raise ServiceUnavailable("The graph's index of names is not available.") from exc


@bp.get("/query/terms.json")
def terms() -> Response:
    """The classes and properties of the graph, for the editor's completion."""
    return lookup.terms_response(_search_index())


@bp.route("/query/labels.json", methods=["GET", "POST"])
def labels() -> Response:
    """The labels of a batch of IRIs, for the results."""
    return lookup.labels_response(_search_index())
