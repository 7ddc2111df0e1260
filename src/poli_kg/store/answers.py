"""Reading a SPARQL store's answers: SPARQL Query Results (JSON, XML) and RDF graphs.

The parsers give the same neutral terms and :class:`~poli_kg.store.results.RawResult` as the
embedded engines, so a remote store's answers are serialised, capped and converted exactly
like theirs (see :class:`poli_kg.store.remote.SparqlBackend`).  They read incrementally
where the format allows and stop after ``limit`` results.  Literals get the datatype RDF 1.1
gives them (``xsd:string``, ``rdf:langString``), and blank node labels that some syntax
would not accept (Virtuoso answers ``nodeID://b10001``) are rewritten.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from typing import IO, Any

import pyoxigraph as ox

from poli_kg.store.results import RDF_LANG_STRING, XSD_STRING, RawResult, Term, term_from_ox

__all__ = ["RDF_RESPONSE_FORMATS", "parse_graph_results", "parse_json_results",
           "parse_xml_results"]

_SRX = "{http://www.w3.org/2005/sparql-results#}"
_RESULT, _VARIABLE, _BOOLEAN = (_SRX + name for name in ("result", "variable", "boolean"))
_URI, _BNODE, _LITERAL, _TRIPLE = (_SRX + name for name in ("uri", "bnode", "literal", "triple"))
_CHUNK = 8 * 1024
_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
_BNODE_LABEL = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_-])?")
RDF_RESPONSE_FORMATS = {
    "application/n-triples": ox.RdfFormat.N_TRIPLES,
    "text/plain": ox.RdfFormat.N_TRIPLES,
    "application/rdf+xml": ox.RdfFormat.RDF_XML,
    "text/turtle": ox.RdfFormat.TURTLE,
    "application/x-turtle": ox.RdfFormat.TURTLE,
}
"""The RDF media types a store may answer a CONSTRUCT or DESCRIBE with, and their syntax."""


def _bnode_label(value: str) -> str:
    """A blank node label every RDF syntax accepts (Virtuoso answers ``nodeID://b10001``)."""
    if _BNODE_LABEL.fullmatch(value):
        return value
    return "x" + value.encode("utf-8").hex()


def _literal(lexical: str, datatype: str | None, language: str | None) -> Term:
    """A neutral literal term, its datatype filled in as RDF 1.1 has it."""
    return ("literal", lexical, datatype or (RDF_LANG_STRING if language else XSD_STRING),
            language or None)


def _term_from_json(value: Mapping[str, Any]) -> Term:
    """A term of SPARQL 1.1 Query Results JSON (and the SPARQL 1.0 ``typed-literal``)."""
    kind = value.get("type")
    if kind == "uri":
        return ("uri", str(value["value"]))
    if kind == "bnode":
        return ("bnode", _bnode_label(str(value["value"])))
    if kind in ("literal", "typed-literal"):
        return _literal(str(value["value"]), value.get("datatype"), value.get("xml:lang"))
    if kind == "triple":
        parts = value["value"]
        return ("triple", _term_from_json(parts["subject"]), _term_from_json(parts["predicate"]),
                _term_from_json(parts["object"]))
    raise ValueError(f"unknown term type {kind!r}")


def parse_json_results(stream: IO[bytes], limit: int | None = None) -> RawResult:
    """SPARQL Query Results JSON as a :class:`RawResult` (at most ``limit`` rows)."""
    doc = json.load(stream)
    if "boolean" in doc:
        return RawResult(form="ASK", boolean=bool(doc["boolean"]))
    variables = [str(v) for v in doc["head"]["vars"]]
    rows: list[tuple[Term | None, ...]] = []
    truncated = False
    for binding in doc["results"]["bindings"]:
        if limit is not None and len(rows) == limit:
            truncated = True
            break
        rows.append(tuple(_term_from_json(binding[v]) if v in binding else None
                          for v in variables))
    return RawResult(form="SELECT", variables=variables, rows=rows, truncated=truncated)


def _term_from_xml(element: ET.Element) -> Term:
    """A term of SPARQL Query Results XML (``uri``, ``bnode``, ``literal``, ``triple``)."""
    tag = element.tag
    if tag == _LITERAL:
        return _literal(element.text or "", element.get("datatype"), element.get(_XML_LANG))
    if tag == _URI:
        return ("uri", element.text or "")
    if tag == _BNODE:
        return ("bnode", _bnode_label(element.text or ""))
    if tag == _TRIPLE:
        parts = {child.tag.removeprefix(_SRX): _term_from_xml(child[0]) for child in element}
        return ("triple", parts["subject"], parts["predicate"], parts["object"])
    raise ValueError(f"unknown term element {tag.removeprefix(_SRX)!r}")


def parse_xml_results(stream: IO[bytes], limit: int | None = None) -> RawResult:
    """SPARQL Query Results XML as a :class:`RawResult`, read incrementally: reading stops
    after ``limit`` rows and one more (which only sets ``truncated``).

    An :class:`~xml.etree.ElementTree.XMLPullParser` is fed 8 KiB reads (``iterparse`` makes
    a class on every call, as long as parsing a small answer; larger reads leave more elements
    alive at once, and are slower); each row is made when its ``result`` element ends, then
    the element is emptied."""
    parser = ET.XMLPullParser(events=("end",))
    variables: list[str] = []
    rows: list[tuple[Term | None, ...]] = []
    boolean: bool | None = None
    while True:
        data = stream.read(_CHUNK)
        if data:
            parser.feed(data)
        else:
            parser.close()  # ParseError if the document is incomplete
        for _event, element in parser.read_events():
            tag = element.tag
            if tag == _RESULT:
                if limit is not None and len(rows) == limit:
                    return RawResult(form="SELECT", variables=variables, rows=rows,
                                     truncated=True)
                values = {b.get("name"): _term_from_xml(b[0]) for b in element if len(b)}
                rows.append(tuple(map(values.get, variables)))
                element.clear()
            elif tag == _VARIABLE:
                variables.append(element.get("name", ""))
            elif tag == _BOOLEAN:
                boolean = (element.text or "").strip() == "true"
        if not data:
            break
    if boolean is not None:
        return RawResult(form="ASK", boolean=boolean)
    return RawResult(form="SELECT", variables=variables, rows=rows)


def parse_graph_results(
    stream: IO[bytes], media_type: str, limit: int | None = None
) -> tuple[list[tuple[Term, Term, Term]], bool]:
    """Triples of a CONSTRUCT / DESCRIBE answer (N-Triples, RDF/XML or Turtle), read
    incrementally; returns at most ``limit`` triples and whether there were more."""
    fmt = RDF_RESPONSE_FORMATS[media_type]
    triples = []
    for quad in ox.parse(stream, format=fmt):
        if limit is not None and len(triples) == limit:
            return triples, True
        triples.append((term_from_ox(quad.subject), term_from_ox(quad.predicate),
                        term_from_ox(quad.object)))
    return triples, False
