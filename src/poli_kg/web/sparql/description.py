"""The SPARQL 1.1 Service Description of the endpoint (``GET /sparql`` without a query).

RDF clients get the description in the format they ask for (:data:`GRAPH_FORMATS`):
the endpoint's URL, the query language, the result formats, the dataset — a default
graph that is the union of the named graphs, each with its number of triples (the view
asks the store for them) — and the predefined prefixes, each as an ``sh:declare`` of the
service (SHACL's vocabulary for prefix declarations: ``sh:prefix``, ``sh:namespace``).  A browser asking for HTML gets the query page instead
(:func:`description_format` says which).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

from flask import current_app, request
from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import RDF, SH, VOID, XSD
from werkzeug.exceptions import NotAcceptable
from werkzeug.urls import uri_to_iri

from poli_kg.namespaces import SD, bind_prefixes
from poli_kg.web.base.conneg import negotiate
from poli_kg.web.sparql.formats import (
    GRAPH_FORMATS, RESULT_FORMATS, Format, available, choose_format, offers,
)
from poli_kg.web.sparql.prologue import PREDEFINED

FORMATS_NS = Namespace("http://www.w3.org/ns/formats/")
HTML = "text/html"
XHTML = "application/xhtml+xml"


def endpoint_url() -> str:
    """Absolute URL of the endpoint: ``PUBLIC_URL`` + ``/sparql``, or from the request's host."""
    public = current_app._get_current_object().config.get("PUBLIC_URL")
    if public:
        return public.rstrip("/") + "/sparql"
    req = request._get_current_object()  # (each read through the proxy costs ~0.5 µs)
    return _url_on_host(req.scheme, req.host)


@functools.lru_cache(maxsize=64)
def _url_on_host(scheme: str, host: str) -> str:
    """The endpoint's URL on ``host`` (werkzeug's IRI form of the host, as ``request.host_url``
    gives it: computed once per host, for it decodes the whole URL)."""
    return uri_to_iri(f"{scheme}://{host}/sparql")


def service_description(endpoint: str, sizes: dict[str, int], graphs: Sequence[str]) -> Graph:
    """The SPARQL 1.1 Service Description of this endpoint."""
    graph = bind_prefixes(Graph())
    graph.bind("formats", FORMATS_NS)
    service, dataset, default = BNode(), BNode(), BNode()
    graph.add((service, RDF.type, SD.Service))
    graph.add((service, SD.endpoint, URIRef(endpoint)))
    graph.add((service, SD.supportedLanguage, SD.SPARQL11Query))
    graph.add((service, SD.feature, SD.UnionDefaultGraph))
    for fmt in (*RESULT_FORMATS, *GRAPH_FORMATS):
        graph.add((service, SD.resultFormat, FORMATS_NS[fmt.w3c]))
    graph.add((service, SD.defaultDataset, dataset))
    graph.add((dataset, RDF.type, SD.Dataset))
    graph.add((dataset, SD.defaultGraph, default))
    graph.add((default, RDF.type, SD.Graph))
    for iri in graphs:
        named, described = BNode(), BNode()
        graph.add((dataset, SD.namedGraph, named))
        graph.add((named, RDF.type, SD.NamedGraph))
        graph.add((named, SD.name, URIRef(iri)))
        graph.add((named, SD.graph, described))
        graph.add((described, RDF.type, SD.Graph))
        graph.add((described, VOID.triples, Literal(sizes.get(iri, 0), datatype=XSD.integer)))
    for prefix, namespace in PREDEFINED.items():
        declaration = BNode()
        graph.add((service, SH.declare, declaration))
        graph.add((declaration, SH.prefix, Literal(prefix)))
        graph.add((declaration, SH.namespace, Literal(namespace, datatype=XSD.anyURI)))
    return graph


def description_format(format_param: Sequence[str], accept: str | None) -> Format | None:
    """The format to describe the service in; None when the client prefers the HTML page."""
    if any(v.strip() for v in format_param):
        return choose_format("CONSTRUCT", None, format_param)
    pairs = offers(GRAPH_FORMATS)
    chosen = negotiate(accept, [m for m, _ in pairs] + [HTML, XHTML])
    if chosen is None:
        raise NotAcceptable(
            "GET /sparql without a query answers the service description in\n"
            + available(GRAPH_FORMATS)
            + "\nor the HTML query page (text/html)"
            + "\nand none of these is in the Accept header. To query, pass query=...")
    if chosen in (HTML, XHTML):
        return None
    return dict(pairs)[chosen]
