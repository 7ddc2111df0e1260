"""Backend-neutral results: the terms they hold, and their serialisations.

Every backend answers in the same plain terms, cheap to build, to pickle from a query
process to the web worker, and to serialise (:data:`Term`)::

    ("uri", iri) | ("bnode", label) | ("literal", lexical, datatype IRI, language or None)
    | ("triple", s, p, o)

:class:`RawResult` is an evaluated result in those terms; :func:`serialize` writes it as
SPARQL 1.1 Query Results JSON, XML, CSV or TSV (SELECT, ASK) or as Turtle, N-Triples,
JSON-LD or RDF/XML (CONSTRUCT, DESCRIBE), and :class:`QueryResult` is what comes back: the
bytes, with the count of results and whether the ``max_results`` cap cut some off
(:func:`take` applies it, here and in :mod:`poli_kg.store.solutions`).  The term
conversions to and from pyoxigraph and rdflib live here too.

This module imports nothing else of the package: every backend and the store stand on it.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeAlias
from xml.sax.saxutils import escape as xml_escape
from xml.sax.saxutils import quoteattr

import pyoxigraph as ox
from rdflib import BNode, Literal, URIRef
from rdflib.term import Node

__all__ = [
    "CSV", "GRAPH_MEDIA_TYPES", "JSON_LD", "N_TRIPLES", "QueryResult", "RDF_LANG_STRING",
    "RDF_XML", "RESULT_MEDIA_TYPES", "RawResult", "SPARQL_RESULTS_JSON", "SPARQL_RESULTS_XML",
    "TSV", "TURTLE", "Term", "XML_RESULTS_START", "XSD_STRING", "serialize", "take",
    "term_from_ox", "term_from_rdflib", "term_to_ox", "term_to_rdflib", "turtle_string",
    "xml_literal_start",
]

SPARQL_RESULTS_JSON = "application/sparql-results+json"
SPARQL_RESULTS_XML = "application/sparql-results+xml"
CSV = "text/csv"
TSV = "text/tab-separated-values"
TURTLE = "text/turtle"
N_TRIPLES = "application/n-triples"
JSON_LD = "application/ld+json"
RDF_XML = "application/rdf+xml"
RESULT_MEDIA_TYPES = (SPARQL_RESULTS_JSON, SPARQL_RESULTS_XML, CSV, TSV)
"""Media types for SELECT and ASK results, the default first."""
GRAPH_MEDIA_TYPES = (TURTLE, N_TRIPLES, JSON_LD, RDF_XML)
"""Media types for CONSTRUCT and DESCRIBE results, the default first."""
_RDF_FORMATS = {
    TURTLE: ox.RdfFormat.TURTLE,
    N_TRIPLES: ox.RdfFormat.N_TRIPLES,
    JSON_LD: ox.RdfFormat.JSON_LD,
    RDF_XML: ox.RdfFormat.RDF_XML,
}

XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
RDF_LANG_STRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"
_XSD = "http://www.w3.org/2001/XMLSchema#"
_BARE_TSV = {
    _XSD + "integer": re.compile(r"[+-]?\d+"),
    _XSD + "decimal": re.compile(r"[+-]?\d*\.\d+"),
    _XSD + "double": re.compile(r"[+-]?(?:\d+\.\d*|\.\d+|\d+)[eE][+-]?\d+"),
    _XSD + "boolean": re.compile(r"true|false"),
}

# A backend-neutral RDF term, cheap to build, pickle and serialise:
#   ("uri", iri) | ("bnode", label) | ("literal", lexical, datatype IRI, language or None)
#   | ("triple", s, p, o)
Term: TypeAlias = tuple[Any, ...]


# -- results ----------------------------------------------------------------------

@dataclass(frozen=True)
class QueryResult:
    """A serialised query result.

    ``count`` is the number of solutions (SELECT), triples (CONSTRUCT, DESCRIBE)
    or 1 (ASK) in ``body``; ``truncated`` says whether more were cut off by the
    ``max_results`` cap.  ``query_ms`` is the evaluation + serialisation time;
    ``cached`` says the result was remembered from an earlier evaluation
    (:class:`~poli_kg.store.cache.ResultCache`).
    """

    body: bytes
    media_type: str
    form: str
    count: int
    truncated: bool
    query_ms: float
    cached: bool = False


@dataclass
class RawResult:
    """An evaluated, not yet serialised, result in backend-neutral terms."""

    form: str
    variables: list[str] = field(default_factory=list)
    rows: list[tuple[Term | None, ...]] = field(default_factory=list)
    boolean: bool | None = None
    triples: list[tuple[Term, Term, Term]] = field(default_factory=list)
    truncated: bool = False

    @property
    def count(self) -> int:
        """Solutions, triples, or 1 for a boolean result."""
        if self.boolean is not None:
            return 1
        return len(self.triples) if self.form in ("CONSTRUCT", "DESCRIBE") else len(self.rows)


def take(items: Iterable[Any], limit: int | None) -> tuple[list[Any], bool]:
    """The first ``limit`` items (all if None) and whether there were more (the
    ``max_results`` cap: one more item is read to know)."""
    if limit is None:
        return list(items), False
    out: list[Any] = []
    for item in items:
        if len(out) == limit:
            return out, True
        out.append(item)
    return out, False


# -- term conversions -------------------------------------------------------------

def term_from_ox(term: Any) -> Term:
    """A pyoxigraph term as a neutral term."""
    if isinstance(term, ox.NamedNode):
        return ("uri", term.value)
    if isinstance(term, ox.BlankNode):
        return ("bnode", term.value)
    if isinstance(term, ox.Literal):
        return ("literal", term.value, term.datatype.value, term.language)
    if isinstance(term, ox.Triple):
        return ("triple", term_from_ox(term.subject), term_from_ox(term.predicate),
                term_from_ox(term.object))
    raise TypeError(f"not an RDF term: {term!r}")


def term_to_ox(term: Term) -> Any:
    """A neutral term as a pyoxigraph term."""
    kind = term[0]
    if kind == "uri":
        return ox.NamedNode(term[1])
    if kind == "bnode":
        return ox.BlankNode(term[1])
    if kind == "literal":
        if term[3]:
            return ox.Literal(term[1], language=term[3])
        return ox.Literal(term[1], datatype=ox.NamedNode(term[2]))
    return ox.Triple(term_to_ox(term[1]), term_to_ox(term[2]), term_to_ox(term[3]))


def term_from_rdflib(term: Node) -> Term:
    """An rdflib term as a neutral term."""
    if isinstance(term, Literal):
        datatype = term.datatype or (RDF_LANG_STRING if term.language else XSD_STRING)
        return ("literal", str(term), str(datatype), term.language)
    if isinstance(term, BNode):
        return ("bnode", str(term))
    if isinstance(term, URIRef):
        return ("uri", str(term))
    raise TypeError(f"not an RDF term: {term!r}")


def term_to_rdflib(term: Term) -> Any:
    """A neutral term as an rdflib term (``xsd:string`` literals become plain literals).

    RDF-star triple terms, which rdflib lacks, become tuples of rdflib terms.
    """
    kind = term[0]
    if kind == "uri":
        return URIRef(term[1])
    if kind == "bnode":
        return BNode(term[1])
    if kind == "literal":
        if term[3]:
            return Literal(term[1], lang=term[3])
        if term[2] == XSD_STRING:
            return Literal(term[1])
        return Literal(term[1], datatype=URIRef(term[2]))
    return (term_to_rdflib(term[1]), term_to_rdflib(term[2]), term_to_rdflib(term[3]))



# -- serialisation ------------------------------------------------------------------

def serialize(raw: RawResult, media_type: str,
              prefixes: Mapping[str, str] | None = None) -> bytes:
    """Serialise ``raw`` as ``media_type`` (one of RESULT_ or GRAPH_MEDIA_TYPES).

    A media type that does not suit the result's form is replaced by that form's default.
    Turtle, JSON-LD and RDF/XML declare those of ``prefixes`` (prefix -> namespace) that the
    triples use; the backends pass the project's (:data:`poli_kg.namespaces.PREFIXES`).
    """
    if raw.form in ("CONSTRUCT", "DESCRIBE"):
        fmt = _RDF_FORMATS.get(media_type, ox.RdfFormat.TURTLE)
        ordered = sorted(raw.triples, key=lambda t: (t[0], t[1]))  # group by subject
        triples = [ox.Triple(*(term_to_ox(t) for t in triple)) for triple in ordered]
        if fmt == ox.RdfFormat.N_TRIPLES:
            return ox.serialize(triples, format=fmt)
        return ox.serialize(triples, format=fmt, prefixes=_used_prefixes(ordered, prefixes or {}))
    writer = _RESULT_WRITERS.get(media_type, _results_json)
    return writer(raw)


def _iris(term: Term) -> Iterable[str]:
    """IRIs used in a neutral term (datatypes included)."""
    kind = term[0]
    if kind == "uri":
        yield term[1]
    elif kind == "literal":
        yield term[2]
    elif kind == "triple":
        for part in term[1:]:
            yield from _iris(part)


def _used_prefixes(
    triples: Iterable[tuple[Term, Term, Term]], prefixes: Mapping[str, str]
) -> dict[str, str]:
    """The ``prefixes`` whose namespace some IRI of ``triples`` starts with."""
    iris = {iri for triple in triples for term in triple for iri in _iris(term)}
    return {p: str(ns) for p, ns in prefixes.items() if any(i.startswith(str(ns)) for i in iris)}


def _json_term(term: Term) -> dict[str, Any]:
    """A term in the SPARQL 1.1 Query Results JSON format."""
    kind = term[0]
    if kind == "literal":
        out: dict[str, Any] = {"type": "literal", "value": term[1]}
        if term[3]:
            out["xml:lang"] = term[3]
        elif term[2] != XSD_STRING:
            out["datatype"] = term[2]
        return out
    if kind == "triple":
        return {"type": "triple", "value": {
            "subject": _json_term(term[1]), "predicate": _json_term(term[2]),
            "object": _json_term(term[3])}}
    return {"type": kind, "value": term[1]}


def _results_json(raw: RawResult) -> bytes:
    """SPARQL 1.1 Query Results JSON."""
    if raw.boolean is not None:
        doc: dict[str, Any] = {"head": {}, "boolean": raw.boolean}
    else:
        names = raw.variables
        bindings = [
            {names[i]: _json_term(v) for i, v in enumerate(row) if v is not None}
            for row in raw.rows
        ]
        doc = {"head": {"vars": names}, "results": {"bindings": bindings}}
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()


XML_RESULTS_START = ('<?xml version="1.0" encoding="utf-8"?>\n'
                     '<sparql xmlns="http://www.w3.org/2005/sparql-results#">\n<head>')
"""How SPARQL XML results begin (here and in :mod:`poli_kg.store.solutions`)."""


def xml_literal_start(language: str | None, datatype: str) -> str:
    """The start tag of a literal in SPARQL XML results (``xml:lang``, else ``datatype``
    unless it is xsd:string)."""
    if language:
        return f"<literal xml:lang={quoteattr(language)}>"
    return "<literal>" if datatype == XSD_STRING else f"<literal datatype={quoteattr(datatype)}>"


def _xml_term(term: Term) -> str:
    """A term in the SPARQL Query Results XML format."""
    kind = term[0]
    if kind == "uri":
        return f"<uri>{xml_escape(term[1])}</uri>"
    if kind == "bnode":
        return f"<bnode>{xml_escape(term[1])}</bnode>"
    if kind == "literal":
        return f"{xml_literal_start(term[3], term[2])}{xml_escape(term[1])}</literal>"
    return (f"<triple><subject>{_xml_term(term[1])}</subject>"
            f"<predicate>{_xml_term(term[2])}</predicate>"
            f"<object>{_xml_term(term[3])}</object></triple>")


def _results_xml(raw: RawResult) -> bytes:
    """SPARQL Query Results XML."""
    out = [XML_RESULTS_START]
    if raw.boolean is not None:
        out.append(f"</head>\n<boolean>{'true' if raw.boolean else 'false'}</boolean>\n</sparql>\n")
        return "".join(out).encode()
    out.extend(f"<variable name={quoteattr(v)}/>" for v in raw.variables)
    out.append("</head>\n<results>\n")
    for row in raw.rows:
        out.append("<result>")
        out.extend(f"<binding name={quoteattr(raw.variables[i])}>{_xml_term(v)}</binding>"
                   for i, v in enumerate(row) if v is not None)
        out.append("</result>\n")
    out.append("</results>\n</sparql>\n")
    return "".join(out).encode()


def _csv_value(term: Term | None) -> str:
    """A term as a SPARQL CSV field (lexical forms only)."""
    if term is None:
        return ""
    if term[0] == "bnode":
        return "_:" + term[1]
    if term[0] == "triple":
        return " ".join(_csv_value(t) for t in term[1:])
    return term[1]


def _results_csv(raw: RawResult) -> bytes:
    """SPARQL 1.1 Query Results CSV (an ASK answer is a one-column ``_askResult`` table)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    if raw.boolean is not None:
        writer.writerows([["_askResult"], ["true" if raw.boolean else "false"]])
    else:
        writer.writerow(raw.variables)
        writer.writerows([_csv_value(v) for v in row] for row in raw.rows)
    return buf.getvalue().encode()


def turtle_string(value: str) -> str:
    """``value`` as a quoted Turtle (and SPARQL) string literal."""
    return ('"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
            .replace("\r", "\\r").replace("\t", "\\t") + '"')


def _tsv_value(term: Term | None) -> str:
    """A term in Turtle syntax, as SPARQL TSV wants it."""
    if term is None:
        return ""
    kind = term[0]
    if kind == "uri":
        return f"<{term[1]}>"
    if kind == "bnode":
        return "_:" + term[1]
    if kind == "triple":
        return "<< " + " ".join(_tsv_value(t) for t in term[1:]) + " >>"
    lexical, datatype, language = term[1], term[2], term[3]
    if language:
        return f"{turtle_string(lexical)}@{language}"
    if datatype == XSD_STRING:
        return turtle_string(lexical)
    bare = _BARE_TSV.get(datatype)
    if bare is not None and bare.fullmatch(lexical):
        return lexical
    return f"{turtle_string(lexical)}^^<{datatype}>"


def _results_tsv(raw: RawResult) -> bytes:
    """SPARQL 1.1 Query Results TSV (an ASK answer is a one-column ``?_askResult`` table)."""
    if raw.boolean is not None:
        return f"?_askResult\n{'true' if raw.boolean else 'false'}\n".encode()
    lines = ["\t".join("?" + v for v in raw.variables)]
    lines.extend("\t".join(_tsv_value(v) for v in row) for row in raw.rows)
    return ("\n".join(lines) + "\n").encode()


_RESULT_WRITERS: dict[str, Callable[[RawResult], bytes]] = {
    SPARQL_RESULTS_JSON: _results_json,
    SPARQL_RESULTS_XML: _results_xml,
    CSV: _results_csv,
    TSV: _results_tsv,
}
