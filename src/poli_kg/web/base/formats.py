"""The representations of a resource and how one is chosen: HTML, Turtle, JSON-LD,
N-Triples and RDF/XML, by URL suffix (``/id/polo/mesap.ttl``) or by content negotiation;
the RDF ones written here (the response itself: :func:`poli_kg.web.base.pages.represent`).

Content negotiation, not 303 redirects: a generic URL (``/id/polo/mesap``) answers directly
with the representation the ``Accept`` header prefers (``text/html`` for browsers and
``*/*``, else Turtle, JSON-LD, N-Triples or RDF/XML; ``406`` when none is acceptable), with
``Vary: Accept, Accept-Language`` and ``Content-Location`` naming the suffix URL of the variant
sent (``/id/polo/mesap.ttl``), which always returns that format.  Why not the classic
"303 See Other" dance (httpRange-14)?

* one round trip instead of two for every client and crawler, and no redirect chain on
  top of w3id.org's own redirect to this service;
* hash IRIs (``.../ontology#PoloDiInnovazione``) never reach the server with their
  fragment, so for them a 303 would say nothing anyway; slash IRIs behave the same way;
* the thing and the document stay distinct without the redirect: the RDF is about the
  canonical ``https://w3id.org/poli-kg/...`` IRI, while ``Content-Location`` names the
  document actually sent (a URL of this host, with its format's suffix);
* caches and crawlers behave: ``Vary`` names the headers the choice depends on and
  every variant also has a stable URL of its own to link to and cache.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pyoxigraph as ox
from flask import Response, request
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import RDF
from rdflib.term import Node

from poli_kg.namespaces import PREFIXES, bind_prefixes
from poli_kg.web.base.conneg import negotiate
from poli_kg.web.base.publication import PRIVATE_PREFIXES


@dataclass(frozen=True)
class Format:
    """A representation of a resource: suffix, media type, rdflib serializer, display name."""

    ext: str
    media_type: str
    rdflib_format: str | None
    label: str

    @property
    def is_rdf(self) -> bool:
        return self.rdflib_format is not None


FORMATS: tuple[Format, ...] = (
    Format("html", "text/html", None, "HTML"),
    Format("ttl", "text/turtle", "turtle", "Turtle"),
    Format("jsonld", "application/ld+json", "json-ld", "JSON-LD"),
    Format("nt", "application/n-triples", "nt", "N-Triples"),
    Format("rdf", "application/rdf+xml", "xml", "RDF/XML"),
)
"""The representations of every resource, the default (for ``*/*``) first."""
RDF_FORMATS = tuple(f for f in FORMATS if f.is_rdf)
BY_EXT = {f.ext: f for f in FORMATS}
BY_MEDIA = {f.media_type: f for f in FORMATS} | {"application/json": BY_EXT["jsonld"]}
OFFERS = tuple(f.media_type for f in FORMATS) + ("application/json",)


def split_suffix(path: str) -> tuple[str, str | None]:
    """``("id/polo/mesap", "ttl")`` for ``"id/polo/mesap.ttl"``; no known suffix: ``(path, None)``."""
    stem, dot, ext = path.rpartition(".")
    if dot and ext in BY_EXT and stem and "/" not in ext:
        return stem, ext
    return path, None


def choose_format(ext: str | None) -> Format | None:
    """The suffix's format, else the one the Accept header prefers (None: 406)."""
    if ext is not None:
        return BY_EXT[ext]
    media = negotiate(request.headers.get("Accept"), OFFERS)
    return BY_MEDIA[media] if media else None


def not_acceptable(path: str) -> Response:
    """406 listing the variants (plain text, with a Link header per variant)."""
    lines = [f"406 Not Acceptable: {path} is available as"]
    lines += [f"  {f.media_type}  {path}.{f.ext}" for f in FORMATS]
    response = Response("\n".join(lines) + "\n", status=406,
                        content_type="text/plain; charset=utf-8")
    response.headers["Vary"] = "Accept"
    response.headers["Link"] = alternates_header(path)
    return response


def alternates_header(path: str) -> str:
    """A ``Link`` header value naming every suffix URL of ``path``."""
    return ", ".join(f'<{path}.{f.ext}>; rel="alternate"; type="{f.media_type}"' for f in FORMATS)


def rdf_body(graph: Graph, fmt: Format, primary: URIRef | None = None) -> bytes:
    """``graph`` serialised as ``fmt``, literals exactly as stored (lexical forms kept).

    Turtle, N-Triples and RDF/XML are written by pyoxigraph, the statements about
    ``primary`` (the resource asked for) first; JSON-LD by rdflib, compacted with the
    project's prefixes.
    """
    bind_prefixes(graph)
    if fmt.ext == "jsonld":
        return graph.serialize(format="json-ld", context=_used_prefixes(graph),
                               auto_compact=True, encoding="utf-8")
    bnodes: dict[BNode, ox.BlankNode] = {}
    triples = [ox.Triple(_to_ox(s_, bnodes), _to_ox(p, bnodes), _to_ox(o, bnodes))
               for s_, p, o in _ordered(graph, primary)]
    formats = {"ttl": ox.RdfFormat.TURTLE, "nt": ox.RdfFormat.N_TRIPLES,
               "rdf": ox.RdfFormat.RDF_XML}
    if fmt.ext == "nt":
        return ox.serialize(triples, format=formats["nt"])
    prefixes = {p: ns for p, ns in _used_prefixes(graph).items() if p not in PRIVATE_PREFIXES}
    return ox.serialize(triples, format=formats[fmt.ext], prefixes=prefixes)


def _to_ox(term: Node, bnodes: dict[BNode, ox.BlankNode]) -> Any:
    """An rdflib term as a pyoxigraph term (blank nodes renamed b0, b1, ...)."""
    if isinstance(term, URIRef):
        return ox.NamedNode(str(term))
    if isinstance(term, BNode):
        if term not in bnodes:
            bnodes[term] = ox.BlankNode(f"b{len(bnodes)}")
        return bnodes[term]
    if isinstance(term, Literal):
        if term.language:
            return ox.Literal(str(term), language=term.language)
        if term.datatype is not None:
            return ox.Literal(str(term), datatype=ox.NamedNode(str(term.datatype)))
        return ox.Literal(str(term))
    raise TypeError(f"not an RDF term: {term!r}")


def _ordered(graph: Graph, primary: URIRef | None) -> list[tuple[Node, Node, Node]]:
    """The triples of ``graph``: ``primary`` and its blank nodes first, then by subject."""
    def key(triple: tuple[Node, Node, Node]) -> tuple[bool, str, str, str]:
        return (triple[1] != RDF.type, str(triple[1]), type(triple[2]).__name__, str(triple[2]))

    first: list[tuple[Node, Node, Node]] = []
    done: set[Node] = set()
    todo: list[Node] = [primary] if primary is not None else []
    while todo:
        subject = todo.pop(0)
        if subject in done:
            continue
        done.add(subject)
        own = sorted(graph.triples((subject, None, None)), key=key)
        first += own
        todo += [o for _s, _p, o in own if isinstance(o, BNode) and o not in done]
    rest = sorted((t for t in graph if t[0] not in done),
                  key=lambda t: (isinstance(t[0], BNode), str(t[0])) + key(t))
    return first + rest


def _used_prefixes(graph: Graph) -> dict[str, str]:
    """The project prefixes whose namespace some IRI of ``graph`` starts with."""
    iris = {str(t) for triple in graph for t in triple if isinstance(t, URIRef)}
    iris |= {str(t.datatype) for _s, _p, t in graph if isinstance(t, Literal) and t.datatype}
    return {p: str(ns) for p, ns in PREFIXES.items() if any(i.startswith(str(ns)) for i in iris)}


def downloads_for(path: str) -> list[dict[str, str]]:
    """Links to the RDF variants of the resource at ``path``."""
    return [{"href": f"{path}.{f.ext}", "label": f.label, "media_type": f.media_type,
             "ext": f.ext} for f in RDF_FORMATS]
