"""Dataset metadata over HTTP: VoID at ``/.well-known/void`` and the DCAT-AP_IT catalogue at ``/catalog``.

Both documents are content-negotiated (``Accept`` or ``?format=``): Turtle (the default),
JSON-LD, N-Triples, RDF/XML, and HTML for browsers.  The catalogue's HTML is a page for
people (template ``catalog.html``, content from :mod:`poli_kg.web.base.dataset_view`): its
record, the dataset, its releases, the statistical tables and semantic assets, the SPARQL
service, every distribution with format, size, licence, link and checksum; in the language
of the request (``?lang=it|en``, else ``Accept-Language``).  VoID's HTML shows its Turtle
(template ``metadata.html``; ``?lang=it|en``, Italian by default).  The graphs themselves are
made by :mod:`poli_kg.web.base.dataset`, with every URL of the service absolute for the host
it runs on (config ``PUBLIC_URL``, else the request's host), once per build, public root,
contact e-mail and releases: so are their serialisations
(:func:`~poli_kg.web.base.dataset_documents.cached`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from flask import Blueprint, Response, current_app, render_template, request
from rdflib import Graph, URIRef
from werkzeug.exceptions import BadRequest, NotAcceptable

from poli_kg.namespaces import BASE
from poli_kg.web.base.conneg import add_vary, negotiate
from poli_kg.web.base.dataset import catalog_document, void_document
from poli_kg.web.base.dataset_documents import cached
from poli_kg.web.base.dataset_view import CATALOG_TEXT, catalog_view
from poli_kg.web.base.files import MAX_AGE
from poli_kg.web.base.pages import page_context
from poli_kg.web.base.site import DEFAULT_LANGUAGE, explicit_language, language

__all__ = ["bp", "RdfFormat", "RDF_FORMATS", "serialize"]

bp = Blueprint("catalog", __name__, template_folder="templates")


@dataclass(frozen=True)
class RdfFormat:
    """A representation the metadata documents are offered in."""

    media_type: str
    rdflib_name: str
    label: str
    params: tuple[str, ...]

    @property
    def content_type(self) -> str:
        """The Content-Type header value."""
        if self.media_type == "application/ld+json":
            return self.media_type
        return f"{self.media_type}; charset=utf-8"


RDF_FORMATS = (
    RdfFormat("text/turtle", "turtle", "Turtle", ("turtle", "ttl")),
    RdfFormat("application/ld+json", "json-ld", "JSON-LD", ("jsonld", "json-ld", "json")),
    RdfFormat("application/n-triples", "nt", "N-Triples", ("nt", "ntriples", "n-triples")),
    RdfFormat("application/rdf+xml", "xml", "RDF/XML", ("rdfxml", "rdf", "xml")),
)
"""Offered RDF formats, the default first (HTML is offered too, after them)."""
HTML = "text/html"
_BY_PARAM = {param: fmt for fmt in RDF_FORMATS for param in fmt.params}

VOID_PAGE = {
    "title": {"it": "Descrizione VoID del dataset", "en": "VoID description of the dataset"},
    "intro": {"it": "Statistiche, sottoinsiemi (grafi con nome), dump ed endpoint SPARQL del "
                    "dataset, nel vocabolario VoID.",
              "en": "Statistics, subsets (named graphs), dumps and SPARQL endpoint of the "
                    "dataset, in the VoID vocabulary."},
}
CATALOG_PAGE = {
    "title": {"it": "Catalogo DCAT-AP_IT", "en": "DCAT-AP_IT catalogue"},
    "intro": {"it": "Il catalogo, il dataset, le sue distribuzioni e l'endpoint SPARQL "
                    "secondo il profilo DCAT-AP_IT (compatibile con DCAT-AP 3).",
              "en": "The catalogue, the dataset, its distributions and the SPARQL "
                    "endpoint following the DCAT-AP_IT profile (compatible with DCAT-AP 3)."},
}


def _choose() -> RdfFormat | None:
    """The requested format (``?format=`` over ``Accept``); None means HTML."""
    param = request.args.get("format")
    if param is not None:
        if param == "html":
            return None
        if param not in _BY_PARAM:
            raise BadRequest("format must be one of: " + ", ".join([*_BY_PARAM, "html"]))
        return _BY_PARAM[param]
    offers = [f.media_type for f in RDF_FORMATS] + [HTML]
    chosen = negotiate(request.headers.get("Accept"), offers)
    if chosen is None:
        raise NotAcceptable("Available as " + ", ".join(offers) + ".")
    if chosen == HTML:
        return None
    return next(f for f in RDF_FORMATS if f.media_type == chosen)


def serialize(graph: Graph, fmt: RdfFormat) -> bytes:
    """``graph`` in ``fmt`` (N-Triples lines sorted, so equal graphs give equal bytes)."""
    if fmt.rdflib_name == "nt":
        lines = sorted(set(graph.serialize(format="nt", encoding="utf-8").splitlines()))
        return b"".join(line + b"\n" for line in lines if line.strip())
    if fmt.rdflib_name == "json-ld":
        used = {p: str(ns) for p, ns in graph.namespaces()
                if any(str(t).startswith(str(ns)) for triple in graph for t in triple)}
        return graph.serialize(format="json-ld", context=used, auto_compact=True, encoding="utf-8")
    return graph.serialize(format=fmt.rdflib_name, encoding="utf-8")


def _page(name: str, graph: Graph, page: Mapping[str, Mapping[str, str]]) -> str:
    """The HTML page showing the document ``name`` (``graph``) as Turtle, with links to the
    other formats."""
    lang = explicit_language() or DEFAULT_LANGUAGE
    turtle = RDF_FORMATS[0]
    body = cached(f"{name}.{turtle.rdflib_name}", lambda: serialize(graph, turtle))
    return render_template("metadata.html", lang=lang, title=page["title"][lang],
                           intro=page["intro"][lang], formats=_formats(), anchors=_anchors(graph),
                           body=body.decode("utf-8"))


def _formats() -> list[dict[str, str]]:
    return [{"media_type": f.media_type, "label": f.label, "url": f"?format={f.params[0]}",
             "href": f"?format={f.params[0]}"} for f in RDF_FORMATS]


def _anchors(graph: Graph) -> list[str]:
    """The fragments of the document's hash IRIs (e.g. …/catalog#contact-point), which land
    on an element of its page."""
    return sorted({str(s).split("#", 1)[1] for s in graph.subjects()
                   if isinstance(s, URIRef) and str(s).startswith(BASE) and "#" in str(s)})


def _catalog_page() -> str:
    """The catalogue as a page for people (:mod:`poli_kg.web.base.dataset_view`)."""
    lang = language()
    graph = catalog_document()
    view = cached(f"catalog.view.{lang}", lambda: catalog_view(graph, lang))
    return render_template("catalog.html", title=CATALOG_PAGE["title"][lang],
                           intro=CATALOG_PAGE["intro"][lang], view=view, formats=_formats(),
                           anchors=cached("catalog.anchors", lambda: _anchors(graph)),
                           tr=CATALOG_TEXT[lang], **page_context(lang))


def _respond(name: str, graph: Callable[[], Graph], html: Callable[[], str]) -> Response:
    """The document ``name`` in the negotiated format, cacheable and conditional on its ETag;
    its RDF serialisations are made once per state (:func:`cached`)."""
    fmt = _choose()
    if fmt is None:
        response = current_app.response_class(html(), content_type="text/html; charset=utf-8")
    else:
        body = cached(f"{name}.{fmt.rdflib_name}", lambda: serialize(graph(), fmt))
        response = current_app.response_class(body, content_type=fmt.content_type)
    add_vary(response, "Accept")
    response.cache_control.public = True
    response.cache_control.max_age = MAX_AGE
    response.add_etag()
    return response.make_conditional(request)


@bp.get("/.well-known/void")
def void() -> Response:
    """The VoID description (RFC 5785 well-known location, VoID §7.2)."""
    return _respond("void", void_document, lambda: _page("void", void_document(), VOID_PAGE))


@bp.get("/catalog")
def catalog() -> Response:
    """The DCAT-AP_IT catalogue; for browsers, a page (in the language of the request)."""
    response = _respond("catalog", catalog_document, _catalog_page)
    if response.mimetype == HTML:
        response.headers["Content-Language"] = language()
        if "lang" not in request.args:
            add_vary(response, "Accept-Language")
    return response
