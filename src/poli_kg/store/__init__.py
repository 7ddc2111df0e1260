"""The triple store behind the SPARQL endpoint and the HTML pages.

Public API (stable; used by :mod:`poli_kg.web.sparql` and the linked-data pages)::

    from poli_kg.store import get_store

    store = get_store()            # inside a Flask application / request context
    graph = store.construct(       # -> rdflib.Graph (project prefixes bound)
        "DESCRIBE ?s", bindings={"s": URIRef("https://w3id.org/poli-kg/id/polo/mesap")})
    rows = store.select(           # -> list[dict[str, rdflib term]] (unbound: key absent)
        "SELECT ?label WHERE { ?s rdfs:label ?label }", bindings={"s": iri})
    result = store.execute(        # -> QueryResult (serialised bytes + count + truncated)
        query, form="SELECT", media_type="application/sparql-results+json")
    store.graph_sizes()            # -> {graph IRI: number of triples}
    store.named_graphs             # -> the dataset's named graph IRIs

All queries run over the dataset whose default graph is the union of the named
graphs (unless the query has FROM / FROM NAMED, or ``default_graph_uris`` /
``named_graph_uris`` are given).  Prefixes are *not* predeclared: start queries
with :func:`poli_kg.namespaces.sparql_prologue` when you use them.

``bindings`` pre-bind variables to rdflib IRIs or literals, like rdflib's
``initBindings``, identically on every backend: each ``?name`` is replaced by the
term, checked and escaped (:func:`sparql_term`), before the query runs (see
:func:`poli_kg.store.lexer.bind_variables`); a bound variable that is projected is
still returned.  Never paste request data into query strings yourself.  Blank
nodes cannot be bound (ValueError).

:class:`Store` never evaluates a query in the calling process: it sends every
call to a child process of its own for the time of the call (:mod:`poli_kg.store.executor`) that has the
backend open, and raises :class:`QueryTimeout` when the call takes longer than
its timeout (the child is killed).  Errors are :class:`QueryError` subclasses:
:class:`QuerySyntaxError` (message with line:column), :class:`QueryEvaluationError`,
:class:`QueryRefused`, :class:`StoreUnavailable` (and its :class:`StoreTimeout`: a remote
store stopped the query itself, or marked its answer as incomplete).

One build per store: ``BUILD_DIR`` (the symlink ``poli-kg build`` swaps) is resolved
once, when the :class:`Store` is made (or, when nothing is built yet, at the first call
that finds a build; until then calls raise :class:`StoreUnavailable`), and every query
process opens its backend over that resolved folder, so queries never mix builds, and
agree with the downloads and pages, which read the same folder (``Store.build``, a
:class:`poli_kg.buildfolder.ServedBuild` that also keeps later builds from pruning it).  A
rebuild is served after a restart.

Backends (``spec`` strings, config key ``STORE``, ``poli-kg serve --store``):

``oxigraph`` (default)
    the on-disk pyoxigraph store ``BUILD_DIR/store``, opened read-only in each child.
``oxigraph:PATH``
    a persistent pyoxigraph store in the folder ``PATH`` (:func:`prepare_persistent_store`):
    loaded from the build's N-Quads once, when the folder does not hold this build yet;
    a restart reopens it without loading (``PATH/poli-kg-store.json`` records which
    build it holds and how many loads there were).
``oxigraph-memory``
    an in-memory pyoxigraph store loaded from ``BUILD_DIR/poli-kg.trig`` in each child.
``memory``
    an rdflib Dataset loaded from ``BUILD_DIR/poli-kg.trig`` once, before forking
    (children share it copy-on-write).  ``FROM`` never fetches anything
    (``SPARQL_LOAD_GRAPHS = False``).
``sparql:URL``
    any SPARQL 1.1 server's query endpoint (:class:`SparqlBackend`; load it with
    :func:`poli_kg.store.publish.publish`).  The child process sends each query with the SPARQL
    1.1 Protocol and parses the answer into the same terms as the embedded engines, so
    serialisation, caps and bindings behave identically.  Before anything is sent the
    query must parse as standard SPARQL 1.1 and pass the same refusals as the endpoint
    (update, SERVICE, graphs outside the dataset, and store extension functions such as
    Virtuoso's ``bif:``/``sql:``); the dataset is always sent explicitly (the project's
    named graphs), so the store's other graphs are never visible.  The child may connect
    to that one host and port only.
"""

from __future__ import annotations

import csv
import fcntl
import functools
import hashlib
import http.client
import io
import json
import logging
import os
import re
import shutil
import socket
import sys
import threading
import time
import xml.etree.ElementTree as ET
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any, TypeAlias
from urllib.parse import urlencode, urlsplit
from xml.sax.saxutils import escape as xml_escape
from xml.sax.saxutils import quoteattr

import pyoxigraph as ox
from flask import Flask, current_app
from rdflib import BNode, Dataset, Graph, Literal, URIRef
from rdflib.term import Identifier, Node

from poli_kg.buildfolder import ServedBuild
from poli_kg.store.executor import ChildFailed, Executor, NetworkAccessDenied, QueryTimeout
from poli_kg.namespaces import NAMED_GRAPHS, PREFIXES, bind_prefixes
from poli_kg.store.lexer import bind_variables, expand_unicode_escapes, scan, tokens

__all__ = [
    "BACKENDS", "BACKEND_FORMS", "Backend", "ChildFailed", "GRAPH_MEDIA_TYPES",
    "OxigraphBackend", "QueryError", "QueryEvaluationError", "QueryRefused", "QueryResult",
    "QuerySyntaxError", "QueryTimeout", "RESULT_MEDIA_TYPES", "RdflibBackend", "ResultCache",
    "SparqlBackend",
    "Store", "StoreTimeout", "StoreUnavailable", "get_store", "init_app", "open_backend",
    "parse_graph_results", "parse_json_results", "parse_spec", "parse_xml_results",
    "prepare_persistent_store", "read_persistent_manifest", "sparql_term",
    "strip_dataset_clauses",
]

log = logging.getLogger(__name__)

BACKENDS = ("oxigraph", "oxigraph-memory", "memory")
"""Backend specs over the local build (the parametrised ``oxigraph:PATH`` and
``sparql:URL`` are listed in :data:`BACKEND_FORMS`)."""
BACKEND_FORMS = ("oxigraph", "oxigraph:PATH", "oxigraph-memory", "memory", "sparql:URL")
"""Every form of backend spec :func:`open_backend` understands (for help texts)."""
TRIG_FILE = "poli-kg.trig"
NQUADS_FILE = "poli-kg.nq"
BUILD_INFO = "build.json"
STORE_DIR = "store"
PERSISTENT_MANIFEST = "poli-kg-store.json"

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
_GRAPH_SIZES_QUERY = "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g"

# A backend-neutral RDF term, cheap to build, pickle and serialise:
#   ("uri", iri) | ("bnode", label) | ("literal", lexical, datatype IRI, language or None)
#   | ("triple", s, p, o)
Term: TypeAlias = tuple[Any, ...]


# -- errors and results ---------------------------------------------------------

class QueryError(Exception):
    """A query could not be answered; the message is safe to show to clients."""


class QuerySyntaxError(QueryError):
    """The query does not parse; the message carries the parser's line:column."""


class QueryEvaluationError(QueryError):
    """The query parsed but its evaluation failed."""


class QueryRefused(QueryError):
    """The query tried something this read-only, offline service does not do."""


class StoreUnavailable(QueryError):
    """The store could not be opened (not built yet, unreadable, unreachable, ...)."""


class StoreTimeout(StoreUnavailable):
    """A remote store stopped the query itself (its own time limit) or cut its answer short."""


@dataclass(frozen=True)
class QueryResult:
    """A serialised query result.

    ``count`` is the number of solutions (SELECT), triples (CONSTRUCT, DESCRIBE)
    or 1 (ASK) in ``body``; ``truncated`` says whether more were cut off by the
    ``max_results`` cap.  ``query_ms`` is the evaluation + serialisation time;
    ``cached`` says the result was remembered from an earlier evaluation (:class:`ResultCache`).
    """

    body: bytes
    media_type: str
    form: str
    count: int
    truncated: bool
    query_ms: float
    cached: bool = False


class ResultCache:
    """Serialised results of recent queries, at most ``max_bytes`` of bodies (LRU).

    Only for stores over one fixed build (:class:`Store` serves one build for its lifetime,
    and the build never changes under it): the same query always has the same answer there.
    A body larger than an eighth of the cache is not kept.  Thread-safe.
    """

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._entries: OrderedDict[Hashable, QueryResult] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> QueryResult | None:
        with self._lock:
            result = self._entries.get(key)
            if result is not None:
                self._entries.move_to_end(key)
            return result

    def put(self, key: Hashable, result: QueryResult) -> None:
        size = len(result.body)
        if size > self.max_bytes // 8:
            return
        with self._lock:
            if key in self._entries:
                return
            self._entries[key] = replace(result, cached=True)
            self._bytes += size
            while self._bytes > self.max_bytes:
                _, old = self._entries.popitem(last=False)
                self._bytes -= len(old.body)


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

def serialize(raw: RawResult, media_type: str) -> bytes:
    """Serialise ``raw`` as ``media_type`` (one of RESULT_ or GRAPH_MEDIA_TYPES).

    A media type that does not suit the result's form is replaced by that form's default.
    """
    if raw.form in ("CONSTRUCT", "DESCRIBE"):
        fmt = _RDF_FORMATS.get(media_type, ox.RdfFormat.TURTLE)
        ordered = sorted(raw.triples, key=lambda t: (t[0], t[1]))  # group by subject
        triples = [ox.Triple(*(term_to_ox(t) for t in triple)) for triple in ordered]
        if fmt == ox.RdfFormat.N_TRIPLES:
            return ox.serialize(triples, format=fmt)
        return ox.serialize(triples, format=fmt, prefixes=_used_prefixes(ordered))
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


def _used_prefixes(triples: Iterable[tuple[Term, Term, Term]]) -> dict[str, str]:
    """The project prefixes whose namespace some IRI of ``triples`` starts with."""
    iris = {iri for triple in triples for term in triple for iri in _iris(term)}
    return {p: str(ns) for p, ns in PREFIXES.items() if any(i.startswith(str(ns)) for i in iris)}


def sparql_term(term: Identifier) -> str:
    """An rdflib IRI or literal in SPARQL syntax, safe to paste into a query.

    Raises ValueError for IRIs that contain characters IRIs may not contain.
    """
    if isinstance(term, URIRef):
        if re.search(r'[<>"{}|^`\\\x00-\x20]', str(term)):
            raise ValueError(f"not a valid IRI: {str(term)!r}")
        return f"<{term}>"
    if isinstance(term, Literal):
        value = _tsv_string(str(term))
        if term.language:
            return f"{value}@{term.language}"
        if term.datatype:
            return f"{value}^^{sparql_term(term.datatype)}"
        return value
    raise ValueError(f"only IRIs and literals can be pasted into a query: {term!r}")


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


def _xml_term(term: Term) -> str:
    """A term in the SPARQL Query Results XML format."""
    kind = term[0]
    if kind == "uri":
        return f"<uri>{xml_escape(term[1])}</uri>"
    if kind == "bnode":
        return f"<bnode>{xml_escape(term[1])}</bnode>"
    if kind == "literal":
        if term[3]:
            attr = f" xml:lang={quoteattr(term[3])}"
        elif term[2] != XSD_STRING:
            attr = f" datatype={quoteattr(term[2])}"
        else:
            attr = ""
        return f"<literal{attr}>{xml_escape(term[1])}</literal>"
    return (f"<triple><subject>{_xml_term(term[1])}</subject>"
            f"<predicate>{_xml_term(term[2])}</predicate>"
            f"<object>{_xml_term(term[3])}</object></triple>")


def _results_xml(raw: RawResult) -> bytes:
    """SPARQL Query Results XML."""
    out = ['<?xml version="1.0" encoding="utf-8"?>\n'
           '<sparql xmlns="http://www.w3.org/2005/sparql-results#">\n<head>']
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


def _tsv_string(value: str) -> str:
    """A Turtle string literal body."""
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
        return f"{_tsv_string(lexical)}@{language}"
    if datatype == XSD_STRING:
        return _tsv_string(lexical)
    bare = _BARE_TSV.get(datatype)
    if bare is not None and bare.fullmatch(lexical):
        return lexical
    return f"{_tsv_string(lexical)}^^<{datatype}>"


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


# -- backends ------------------------------------------------------------------------

class Backend(ABC):
    """A queryable copy of the dataset.  Subclasses implement :meth:`evaluate`."""

    spec: str = ""

    @abstractmethod
    def evaluate(
        self,
        query: str,
        *,
        default_graph_uris: Sequence[str] = (),
        named_graph_uris: Sequence[str] = (),
        limit: int | None = None,
    ) -> RawResult:
        """Evaluate ``query``, keeping at most ``limit`` solutions / triples.

        With ``default_graph_uris`` or ``named_graph_uris`` (SPARQL protocol
        ``default-graph-uri`` / ``named-graph-uri``) the dataset is exactly those
        graphs; otherwise the query's FROM / FROM NAMED, or else the union of all
        named graphs as default graph and all named graphs as named graphs.
        """

    def execute(
        self,
        query: str,
        *,
        form: str | None = None,
        media_type: str = SPARQL_RESULTS_JSON,
        default_graph_uris: Sequence[str] = (),
        named_graph_uris: Sequence[str] = (),
        max_results: int = 10000,
    ) -> QueryResult:
        """Evaluate ``query`` and serialise at most ``max_results`` results as ``media_type``.

        ``form`` is the query form the caller detected (informational); if the
        query is of another form, or ``media_type`` does not suit it, the default
        media type of the actual form is used (``QueryResult.media_type`` tells).
        """
        start = time.perf_counter()
        raw = self.evaluate(query, default_graph_uris=default_graph_uris,
                            named_graph_uris=named_graph_uris, limit=max_results)
        allowed = GRAPH_MEDIA_TYPES if raw.form in ("CONSTRUCT", "DESCRIBE") else RESULT_MEDIA_TYPES
        if media_type not in allowed:
            media_type = allowed[0]
        body = serialize(raw, media_type)
        return QueryResult(body=body, media_type=media_type, form=raw.form or form or "",
                           count=raw.count, truncated=raw.truncated,
                           query_ms=(time.perf_counter() - start) * 1000)

    def construct_terms(self, query: str) -> list[tuple[Term, Term, Term]]:
        """Triples of a CONSTRUCT / DESCRIBE query, as neutral terms."""
        raw = self.evaluate(query)
        if raw.form not in ("CONSTRUCT", "DESCRIBE"):
            raise QueryEvaluationError(f"construct() needs a CONSTRUCT or DESCRIBE query, not {raw.form}")
        return raw.triples

    def select_terms(self, query: str) -> tuple[list[str], list[tuple[Term | None, ...]]]:
        """Variables and rows of a SELECT query, as neutral terms."""
        raw = self.evaluate(query)
        if raw.form != "SELECT":
            raise QueryEvaluationError(f"select() needs a SELECT query, not {raw.form}")
        return raw.variables, raw.rows

    def construct(self, query: str, *, bindings: Mapping[str, Identifier] | None = None) -> Graph:
        """Result of a CONSTRUCT / DESCRIBE query as an rdflib Graph (in this process)."""
        return _graph_from_terms(self.construct_terms(bind(query, bindings)))

    def select(
        self, query: str, *, bindings: Mapping[str, Identifier] | None = None
    ) -> list[dict[str, Any]]:
        """Rows of a SELECT query as dicts of rdflib terms (in this process)."""
        return _rows_from_terms(*self.select_terms(bind(query, bindings)))

    def graph_sizes(self) -> dict[str, int]:
        """Number of triples in each named graph."""
        raw = self.evaluate(_GRAPH_SIZES_QUERY)
        return {row[0][1]: int(row[1][1]) for row in raw.rows if row[0] and row[1]}


class OxigraphBackend(Backend):
    """A pyoxigraph store, on disk (read-only) or in memory."""

    def __init__(self, store: ox.Store, spec: str) -> None:
        self._store = store
        self.spec = spec

    @classmethod
    def open_read_only(cls, path: str | Path, spec: str = "oxigraph") -> OxigraphBackend:
        """Open the on-disk store at ``path`` read-only (call this after forking)."""
        if not Path(path).is_dir():
            raise StoreUnavailable(f"no store at {path}: build the graph first")
        try:
            return cls(ox.Store.read_only(str(path)), spec)
        except OSError as exc:
            raise StoreUnavailable(f"cannot open the store at {path}: {exc}") from exc

    @classmethod
    def load_memory(cls, trig_path: str | Path) -> OxigraphBackend:
        """Load the TriG dump into a new in-memory store."""
        store = ox.Store()
        try:
            store.load(path=str(trig_path), format=ox.RdfFormat.TRIG)
        except OSError as exc:
            raise StoreUnavailable(f"cannot load {trig_path}: {exc}") from exc
        return cls(store, "oxigraph-memory")

    def evaluate(
        self,
        query: str,
        *,
        default_graph_uris: Sequence[str] = (),
        named_graph_uris: Sequence[str] = (),
        limit: int | None = None,
    ) -> RawResult:
        """See :meth:`Backend.evaluate`."""
        kwargs: dict[str, Any] = {}
        if default_graph_uris or named_graph_uris:
            kwargs["default_graph"] = [ox.NamedNode(u) for u in default_graph_uris]
            kwargs["named_graphs"] = [ox.NamedNode(u) for u in named_graph_uris]
        elif not scan(query).has_dataset_clause:
            # (oxigraph ignores FROM when the union flag is set)
            kwargs["use_default_graph_as_union"] = True
        try:
            result = self._store.query(query, **kwargs)
            if isinstance(result, ox.QueryBoolean):
                return RawResult(form="ASK", boolean=bool(result))
            if isinstance(result, ox.QueryTriples):
                triples, truncated = _take(result, limit)
                form = "DESCRIBE" if _is_describe(query) else "CONSTRUCT"
                return RawResult(form=form, triples=[
                    (term_from_ox(t.subject), term_from_ox(t.predicate), term_from_ox(t.object))
                    for t in triples], truncated=truncated)
            variables = [v.value for v in result.variables]
            solutions, truncated = _take(result, limit)
            rows = [tuple(None if v is None else term_from_ox(v) for v in s) for s in solutions]
            return RawResult(form="SELECT", variables=variables, rows=rows, truncated=truncated)
        except SyntaxError as exc:
            raise QuerySyntaxError(_short(str(exc))) from None
        except OSError as exc:
            raise QueryEvaluationError(f"query evaluation failed: {exc}") from None
        except RuntimeError as exc:
            raise QueryEvaluationError(f"query evaluation failed: {exc}") from None


class RdflibBackend(Backend):
    """An rdflib Dataset held in memory (loaded before forking, shared copy-on-write)."""

    spec = "memory"

    def __init__(self, dataset: Dataset) -> None:
        import rdflib.plugins.sparql

        rdflib.plugins.sparql.SPARQL_LOAD_GRAPHS = False  # FROM must never fetch
        rdflib.plugins.sparql.SPARQL_DEFAULT_GRAPH_UNION = True
        self._dataset = dataset

    @classmethod
    def load(cls, trig_path: str | Path) -> RdflibBackend:
        """Load the TriG dump into a new rdflib Dataset."""
        dataset = Dataset(default_union=True)
        try:
            dataset.parse(str(trig_path), format="trig")
        except OSError as exc:
            raise StoreUnavailable(f"cannot load {trig_path}: {exc}") from exc
        return cls(dataset)

    def graph_sizes(self) -> dict[str, int]:
        """Number of triples in each named graph (counted by the store: rdflib's SPARQL
        engine needs minutes for the COUNT at a million triples)."""
        return {str(g.identifier): len(g) for g in self._dataset.graphs()
                if isinstance(g.identifier, URIRef) and len(g)}

    def evaluate(
        self,
        query: str,
        *,
        default_graph_uris: Sequence[str] = (),
        named_graph_uris: Sequence[str] = (),
        limit: int | None = None,
    ) -> RawResult:
        """See :meth:`Backend.evaluate`."""
        from pyparsing import ParseException
        from rdflib.plugins.sparql.algebra import translateQuery
        from rdflib.plugins.sparql.parser import parseQuery
        from rdflib.plugins.sparql.parserutils import CompValue
        from rdflib.plugins.sparql.sparql import SPARQLError

        try:
            parsed = translateQuery(parseQuery(query))
        except ParseException as exc:
            raise QuerySyntaxError(f"error at {exc.lineno}:{exc.col}: {exc.msg}") from None
        except Exception as exc:  # noqa: BLE001 - rdflib raises bare Exception (unknown prefix, ...)
            raise QuerySyntaxError(str(exc)) from None
        if default_graph_uris or named_graph_uris:
            parsed.algebra["datasetClause"] = (
                [CompValue("DatasetClause", default=URIRef(u)) for u in default_graph_uris]
                + [CompValue("DatasetClause", named=URIRef(u)) for u in named_graph_uris]
            )
        try:
            result = self._dataset.query(parsed)
            if result.type == "ASK":
                return RawResult(form="ASK", boolean=bool(result.askAnswer))
            if result.type in ("CONSTRUCT", "DESCRIBE"):
                assert result.graph is not None
                triples, truncated = _take(result.graph, limit)
                return RawResult(form=result.type, triples=[
                    (term_from_rdflib(s), term_from_rdflib(p), term_from_rdflib(o))
                    for s, p, o in triples], truncated=truncated)
            variables = [str(v) for v in (result.vars or [])]
            solutions, truncated = _take(result, limit)
            rows = [tuple(None if v is None else term_from_rdflib(v) for v in row)
                    for row in solutions]
            return RawResult(form="SELECT", variables=variables, rows=rows, truncated=truncated)
        except PermissionError as exc:  # NetworkAccessDenied from the child's audit hook
            raise QueryRefused(str(exc)) from None
        except SPARQLError as exc:
            raise QueryEvaluationError(f"query evaluation failed: {exc}") from None


# -- oxigraph:PATH, a persistent store outside the build -------------------------------

def _sha256_file(path: Path) -> str:
    """SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _build_info(build: Path) -> dict[str, Any]:
    """The build's ``build.json`` (empty when absent or unreadable)."""
    try:
        info = json.loads((build / BUILD_INFO).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return info if isinstance(info, dict) else {}


def _source_digest(info: Mapping[str, Any], source: Path) -> str:
    """SHA-256 of the build's N-Quads: as ``build.json`` records it, else computed."""
    files = info.get("files")
    recorded = files.get(source.name) if isinstance(files, dict) else None
    digest = recorded.get("sha256") if isinstance(recorded, dict) else None
    if isinstance(digest, str) and re.fullmatch(r"[0-9a-f]{64}", digest):
        return digest
    return _sha256_file(source)


def read_persistent_manifest(path: str | Path) -> dict[str, Any] | None:
    """The manifest of an ``oxigraph:PATH`` folder (which build it holds, loads), or None."""
    try:
        manifest = json.loads((Path(path) / PERSISTENT_MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if isinstance(manifest, dict) and isinstance(manifest.get("store"), str):
        return manifest
    return None


def _write_json_atomically(path: Path, data: Mapping[str, Any]) -> None:
    """Write JSON to ``path`` through a temporary file and a rename."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def prepare_persistent_store(path: str | Path, build_dir: str | Path) -> Path:
    """Make the folder ``path`` hold the build's graph; return the store folder to open.

    If ``path`` already holds this build (same SHA-256 of ``poli-kg.nq``, as recorded in
    ``PATH/poli-kg-store.json``) the store is reopened as it is: nothing is loaded.
    Otherwise the N-Quads are bulk-loaded into a new folder ``PATH/store-<sha>-<time>``,
    the manifest is switched to it atomically (its ``loads`` counter goes up by one), and
    store folders older than the previous one are deleted (a server still reading the
    previous one keeps working).  Servers starting together on the same ``path`` take
    turns (``PATH/.lock``): the second one reopens what the first loaded.  Without a build
    the store already in ``path`` is reopened; with neither, :class:`StoreUnavailable`.
    Call this before forking (the store is closed again when it returns).
    """
    root = Path(path).expanduser().absolute()
    try:
        root.mkdir(parents=True, exist_ok=True)
        lock = open(root / ".lock", "a+b")  # noqa: SIM115 - held until the end
    except OSError as exc:
        raise StoreUnavailable(f"cannot use {root} for the store: {exc.strerror or exc}") from exc
    with lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        manifest = read_persistent_manifest(root)
        current = root / manifest["store"] if manifest else None
        build = Path(build_dir).resolve()  # one build, even if the symlink is swapped meanwhile
        source = build / NQUADS_FILE
        if not source.is_file():
            if current is not None and current.is_dir():
                log.warning("%s does not exist: reopening the store in %s as it is (build %s)",
                            source, root, manifest.get("source_sha256", "?")[:12])
                return current
            raise StoreUnavailable(f"no store in {root} and no build to load into it "
                                   f"({source} does not exist): build the graph first")
        info = _build_info(build)
        digest = _source_digest(info, source)
        if (manifest and current is not None and current.is_dir()
                and manifest.get("source_sha256") == digest):
            log.info("store %s: reopened without loading (holds build %s, loaded %s; %d load%s)",
                     current, digest[:12], manifest.get("loaded_at", "?"),
                     manifest.get("loads", 0), "" if manifest.get("loads", 0) == 1 else "s")
            return current
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
        name = f"store-{digest[:16]}-{stamp}"
        loading = root / f"{name}.loading"
        started = time.perf_counter()
        try:
            store = ox.Store(str(loading))
            store.bulk_load(path=str(source), format=ox.RdfFormat.N_QUADS)
            store.flush()
            del store  # closes RocksDB before the folder is renamed and forked over
            os.rename(loading, root / name)
        except (OSError, SyntaxError) as exc:
            shutil.rmtree(loading, ignore_errors=True)
            raise StoreUnavailable(f"cannot load {source} into {root}: {exc}") from exc
        seconds = time.perf_counter() - started
        loads = int(manifest.get("loads", 0)) + 1 if manifest else 1
        _write_json_atomically(root / PERSISTENT_MANIFEST, {
            "store": name,
            "source": str(source),
            "source_sha256": digest,
            "inputs_sha256": info.get("inputs_sha256"),
            "triples": info.get("triples"),
            "loaded_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "load_seconds": round(seconds, 3),
            "loads": loads,
            "previous": manifest["store"] if manifest else None,
        })
        keep = {name, manifest["store"] if manifest else ""}
        for old in root.glob("store-*"):
            if old.name not in keep and old.is_dir():
                shutil.rmtree(old, ignore_errors=True)
        log.info("store %s: loaded build %s in %.2f s (load %d)", root / name, digest[:12],
                 seconds, loads)
        return root / name


# -- sparql:URL, any SPARQL 1.1 server --------------------------------------------------

EMPTY_GRAPH = "urn:x-poli-kg:empty-graph"
"""A graph name no store holds: sent when a part of the dataset must be empty."""
EXTENSION_SCHEMES = ("bif:", "sql:", "java:")
"""IRI schemes of store extension functions, refused anywhere in a query sent to a store:
Virtuoso runs ``bif:`` built-ins (``bif:http_get`` fetches URLs, from the store's host)
and ``sql:`` procedures from SPARQL, Jena ARQ loads ``java:`` classes."""
EXTENSION_PREFIXES = ("bif", "sql")
"""Prefixes Virtuoso predeclares for them (refused even when the query does not declare them)."""
RESULTS_ACCEPT = "application/sparql-results+xml, application/sparql-results+json;q=0.9"
GRAPH_ACCEPT = ("application/n-triples, text/plain;q=0.9, application/rdf+xml;q=0.5, "
                "text/turtle;q=0.2")
_SRX = "{http://www.w3.org/2005/sparql-results#}"
_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
_BNODE_LABEL = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_-])?")
_RDF_RESPONSE_FORMATS = {
    "application/n-triples": ox.RdfFormat.N_TRIPLES,
    "text/plain": ox.RdfFormat.N_TRIPLES,
    "application/rdf+xml": ox.RdfFormat.RDF_XML,
    "text/turtle": ox.RdfFormat.TURTLE,
    "application/x-turtle": ox.RdfFormat.TURTLE,
}
_TIMEOUT_MARKERS = ("S1TAT", "S1T00", "SR171", "timed out", "timeout")
_NETWORK_AUDIT_EVENTS = frozenset({"socket.connect", "socket.getaddrinfo", "urllib.Request"})


def parse_spec(spec: str) -> tuple[str, str | None]:
    """``(kind, argument)`` of a backend spec; kinds: the :data:`BACKENDS`, ``oxigraph-path``
    (argument: the folder) and ``sparql`` (argument: the endpoint URL).

    Raises ValueError for unknown specs and unusable URLs (credentials in the URL are
    refused: they would end up in logs).
    """
    if spec in BACKENDS:
        return spec, None
    if spec.startswith("oxigraph:"):
        folder = spec[len("oxigraph:"):]
        if not folder:
            raise ValueError("store 'oxigraph:' needs a folder: oxigraph:PATH")
        return "oxigraph-path", folder
    if spec.startswith("sparql:"):
        url = spec[len("sparql:"):]
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(
                f"store {spec!r}: give the endpoint as sparql:http(s)://HOST[:PORT]/PATH")
        if parts.username is not None or parts.password is not None:
            raise ValueError("store sparql:URL: do not put credentials in the URL")
        if parts.fragment:
            raise ValueError(f"store {spec!r}: the endpoint URL cannot have a #fragment")
        try:
            parts.port  # noqa: B018 - raises ValueError for a malformed port
        except ValueError as exc:
            raise ValueError(f"store {spec!r}: {exc}") from None
        return "sparql", url
    raise ValueError(f"unknown store {spec!r}; choose one of {', '.join(BACKEND_FORMS)}")


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
    tag = element.tag.removeprefix(_SRX)
    if tag == "uri":
        return ("uri", element.text or "")
    if tag == "bnode":
        return ("bnode", _bnode_label(element.text or ""))
    if tag == "literal":
        return _literal(element.text or "", element.get("datatype"), element.get(_XML_LANG))
    if tag == "triple":
        parts = {child.tag.removeprefix(_SRX): _term_from_xml(child[0]) for child in element}
        return ("triple", parts["subject"], parts["predicate"], parts["object"])
    raise ValueError(f"unknown term element {tag!r}")


def parse_xml_results(stream: IO[bytes], limit: int | None = None) -> RawResult:
    """SPARQL Query Results XML as a :class:`RawResult`, read incrementally: reading stops
    after ``limit`` rows and one more (which only sets ``truncated``)."""
    variables: list[str] = []
    rows: list[tuple[Term | None, ...]] = []
    boolean: bool | None = None
    truncated = False
    for _event, element in ET.iterparse(stream, events=("end",)):
        tag = element.tag
        if tag == _SRX + "variable":
            variables.append(element.get("name", ""))
        elif tag == _SRX + "result":
            if limit is not None and len(rows) == limit:
                truncated = True
                break
            values = {b.get("name"): _term_from_xml(b[0])
                      for b in element.iter(_SRX + "binding") if len(b)}
            rows.append(tuple(values.get(v) for v in variables))
            element.clear()
        elif tag == _SRX + "boolean":
            boolean = (element.text or "").strip() == "true"
    if boolean is not None:
        return RawResult(form="ASK", boolean=boolean)
    return RawResult(form="SELECT", variables=variables, rows=rows, truncated=truncated)


def parse_graph_results(
    stream: IO[bytes], media_type: str, limit: int | None = None
) -> tuple[list[tuple[Term, Term, Term]], bool]:
    """Triples of a CONSTRUCT / DESCRIBE answer (N-Triples, RDF/XML or Turtle), read
    incrementally; returns at most ``limit`` triples and whether there were more."""
    fmt = _RDF_RESPONSE_FORMATS[media_type]
    triples = []
    for quad in ox.parse(stream, format=fmt):
        if limit is not None and len(triples) == limit:
            return triples, True
        triples.append((term_from_ox(quad.subject), term_from_ox(quad.predicate),
                        term_from_ox(quad.object)))
    return triples, False


def _extension_iri(query: str) -> str | None:
    """The first IRI or prefixed name of ``query`` in a store extension namespace, if any."""
    for text in dict.fromkeys((query, expand_unicode_escapes(query))):
        for tok in tokens(text):
            if tok.kind == "IRI" and tok.text[1:-1].lower().startswith(EXTENSION_SCHEMES):
                return tok.text
            if tok.kind == "PNAME" and tok.text.split(":", 1)[0].lower() in EXTENSION_PREFIXES:
                return tok.text
    return None


def strip_dataset_clauses(query: str) -> str:
    """``query`` without its ``FROM`` / ``FROM NAMED`` clauses (the text around is kept).

    The SPARQL protocol's ``default-graph-uri`` / ``named-graph-uri`` replace the query's
    dataset; Virtuoso adds them to it instead, so the backend sends the dataset only
    through the protocol.  Raises QueryRefused if a dataset clause is left (spelled in a
    way the lexer does not take apart).
    """
    toks = tokens(query)
    spans: list[tuple[int, int]] = []
    i = 0
    while i < len(toks):
        if toks[i].is_word("FROM"):
            j = i + 1
            if j < len(toks) and toks[j].is_word("NAMED"):
                j += 1
            if j < len(toks) and toks[j].kind in ("IRI", "PNAME"):
                spans.append((toks[i].start, toks[j].end))
                i = j + 1
                continue
        i += 1
    out = query
    for start, end in reversed(spans):
        out = out[:start] + " " + out[end:]
    if scan(out).has_dataset_clause:
        raise QueryRefused("this query's FROM clauses cannot be passed to the store: "
                           "write them plainly, FROM <iri>")
    return out


def _allow_connections_to(host: str, port: int) -> set[str]:
    """In a query child process: let connections to ``host:port`` through, and nothing else.

    The executor refuses every connection in its children (an audit hook; see
    :mod:`poli_kg.store.executor`).  A remote backend has to reach its store, so this replaces
    that blanket refusal, in this child only, by an audit hook that lets through name
    lookups of ``host`` and connections to ``port`` of the addresses in the returned set
    (``host`` itself, and the addresses it resolves to, which the caller adds), and still
    refuses everything else (``urllib`` included).  Audit hooks cannot be removed: the
    child keeps the restriction for life.
    """
    from poli_kg.store import executor as executor_module

    allowed = {host.lower().strip("[]")}

    def restrict(event: str, args: tuple[Any, ...]) -> None:
        if event not in _NETWORK_AUDIT_EVENTS:
            return
        if event == "socket.getaddrinfo":
            name = args[0].decode() if isinstance(args[0], bytes) else str(args[0])
            if name.lower() in allowed:
                return
        elif event == "socket.connect":
            address = args[1]
            if (isinstance(address, tuple) and len(address) >= 2
                    and str(address[0]).lower() in allowed and address[1] == port):
                return
        raise NetworkAccessDenied(
            f"network access is limited to the store while answering queries (refused {event})")

    sys.addaudithook(restrict)
    executor_module._NETWORK_EVENTS = frozenset()  # noqa: SLF001 - replaced by `restrict`
    return allowed


class SparqlBackend(Backend):
    """A remote SPARQL 1.1 endpoint, queried with the SPARQL 1.1 Protocol (``http.client``).

    * **Refusals first.**  Nothing is sent unless the query parses as standard SPARQL 1.1
      (pyoxigraph's parser; Virtuoso's ``DEFINE`` pragmas do not) and passes the checks of
      the endpoint: no update, no SERVICE, no graph outside :attr:`graphs`, and no IRI of
      a store extension namespace (:data:`EXTENSION_SCHEMES`).
    * **The dataset is always explicit.**  Without FROM / protocol graphs the query runs
      over :attr:`graphs` (default graph = their union, named graphs = them), so graphs
      the store holds besides the project's (Virtuoso's system graphs) are invisible.  The
      query's FROM clauses are moved into the protocol parameters
      (:func:`strip_dataset_clauses`); an empty part is sent as :data:`EMPTY_GRAPH`.
    * **Faithful terms.**  SELECT / ASK answers are asked for as SPARQL Results XML and
      read incrementally (Virtuoso 7's JSON writer prints ``xsd:boolean`` values as 1/0),
      graphs as N-Triples (Virtuoso's Turtle writer drops the datatype of integral
      ``xsd:decimal`` values).  JSON, RDF/XML and Turtle answers are read too.
    * **Caps and partial answers.**  Reading stops after ``limit`` results (the connection
      is then closed).  An answer the store marks as incomplete (HTTP 206, Virtuoso's
      ``X-SQL-State: S1TAT``) is refused with :class:`StoreTimeout`, never passed on.
    * **Errors.**  Unreachable store, 401/403/404, redirects: :class:`StoreUnavailable`;
      the store's own time limit: :class:`StoreTimeout`; a query the store rejects:
      :class:`QueryEvaluationError` with the first line of its message.

    One keep-alive connection per child process; a stale one is replaced once.
    """

    def __init__(
        self,
        url: str,
        *,
        graphs: Sequence[str] = tuple(str(g) for g in NAMED_GRAPHS),
        connect_timeout: float = 10.0,
        read_timeout: float = 3600.0,
        allowed_addresses: set[str] | None = None,
    ) -> None:
        kind, _ = parse_spec("sparql:" + url)
        assert kind == "sparql"
        parts = urlsplit(url)
        self.url = url
        self.spec = "sparql:" + url
        self.graphs = tuple(graphs)
        self._https = parts.scheme == "https"
        self._host = parts.hostname or ""
        self._port = parts.port or (443 if self._https else 80)
        self._target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout
        self._allowed = allowed_addresses
        self._conn: http.client.HTTPConnection | None = None
        self._parser = ox.Store()  # empty: used only to check the syntax

    @classmethod
    def open_in_child(cls, url: str, graphs: Sequence[str], parent_pid: int) -> SparqlBackend:
        """Opener for query children: allow connections to the store's host, then open.

        Called in the process that created the opener (``open_backend``) it leaves the
        network alone.
        """
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        allowed = (_allow_connections_to(parts.hostname or "", port)
                   if os.getpid() != parent_pid else None)
        return cls(url, graphs=graphs, allowed_addresses=allowed)

    # -- checks -----------------------------------------------------------------------

    def _refuse(self, query: str, default_graph_uris: Sequence[str],
                named_graph_uris: Sequence[str]) -> Any:
        """Raise QueryRefused for what the endpoint refuses; return the lexer's findings."""
        info = scan(query)
        if info.is_update:
            raise QueryRefused("SPARQL Update is not allowed: this endpoint is read-only.")
        if info.service:
            raise QueryRefused("SERVICE (federated query) is not allowed: this endpoint "
                               "queries only its own dataset.")
        if info.unresolved_graphs:
            raise QueryRefused("Unknown graph " + ", ".join(map(repr, info.unresolved_graphs))
                               + " (write FROM <iri>).")
        named = [*info.from_graphs, *info.from_named_graphs, *default_graph_uris,
                 *named_graph_uris]
        foreign = [iri for iri in dict.fromkeys(named) if iri not in self.graphs]
        if foreign:
            raise QueryRefused("Unknown graph " + ", ".join(f"<{g}>" for g in foreign)
                               + ": this endpoint queries only its own dataset.")
        extension = _extension_iri(query)
        if extension is not None:
            raise QueryRefused(f"{extension}: the store's extension functions are not "
                               "allowed; use standard SPARQL 1.1.")
        return info

    def _form(self, query: str) -> str:
        """The query's form, after checking that it parses as standard SPARQL 1.1."""
        try:
            result = self._parser.query(query)
        except SyntaxError as exc:
            raise QuerySyntaxError(_short(str(exc))) from None
        except (OSError, RuntimeError, ValueError):  # evaluation on the empty store failed
            return scan(query).form or "SELECT"
        if isinstance(result, ox.QueryBoolean):
            return "ASK"
        if isinstance(result, ox.QueryTriples):
            return "DESCRIBE" if _is_describe(query) else "CONSTRUCT"
        return "SELECT"

    # -- HTTP ---------------------------------------------------------------------------

    def _connection(self) -> http.client.HTTPConnection:
        """The keep-alive connection to the store (created on first use)."""
        if self._conn is None:
            if self._allowed is not None:
                for *_rest, sockaddr in socket.getaddrinfo(self._host, self._port,
                                                           type=socket.SOCK_STREAM):
                    self._allowed.add(str(sockaddr[0]).lower())
            cls = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
            self._conn = cls(self._host, self._port, timeout=self._connect_timeout)
        return self._conn

    def close(self) -> None:
        """Close the connection to the store."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _post(self, params: Sequence[tuple[str, str]], accept: str) -> http.client.HTTPResponse:
        """POST a protocol request; return the response (headers read, body not yet)."""
        body = urlencode(params).encode("utf-8")
        headers = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
                   "Accept": accept, "Accept-Encoding": "identity",
                   "User-Agent": "poli-kg (SPARQL 1.1 Protocol client)"}
        for attempt in (1, 2):
            reused = self._conn is not None
            try:
                conn = self._connection()
                conn.request("POST", self._target, body=body, headers=headers)
                if conn.sock is not None:
                    conn.sock.settimeout(self._read_timeout)
                return conn.getresponse()
            except NetworkAccessDenied as exc:
                self.close()
                raise StoreUnavailable(f"cannot reach the store at {self.url}: {exc}") from None
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as exc:
                self.close()  # a keep-alive connection the store had closed: retry once
                if attempt == 2 or not reused:
                    raise StoreUnavailable(
                        f"the store at {self.url} closed the connection: {exc}") from None
            except TimeoutError:
                self.close()
                raise StoreUnavailable(f"the store at {self.url} did not answer in time") \
                    from None
            except (OSError, http.client.HTTPException) as exc:
                self.close()
                reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
                raise StoreUnavailable(f"cannot reach the store at {self.url}: {reason}") \
                    from None
        raise AssertionError("unreachable")

    def _fail(self, response: http.client.HTTPResponse) -> QueryError:
        """The error for a non-200 answer (the connection is closed)."""
        status = response.status
        try:
            text = response.read(4096).decode("utf-8", errors="replace")
        except (OSError, http.client.HTTPException):
            text = ""
        self.close()
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        message = _short(lines[0], 300) if lines else f"HTTP {status} {response.reason}"
        if 300 <= status < 400:
            return StoreUnavailable(f"the store at {self.url} redirects (HTTP {status}) to "
                                    f"{response.getheader('Location')}: use that URL")
        if status in (401, 403, 407):
            return StoreUnavailable(f"the store at {self.url} refused access (HTTP {status}); "
                                    "serve from an anonymous, read-only endpoint")
        if status == 404:
            return StoreUnavailable(f"no SPARQL endpoint at {self.url} (HTTP 404)")
        if status in (408, 504) or (status >= 500 and any(
                marker.lower() in text.lower() for marker in _TIMEOUT_MARKERS)):
            return StoreTimeout(f"the store stopped the query: {message}")
        if status in (502, 503):
            return StoreUnavailable(f"the store at {self.url} is unavailable (HTTP {status})")
        if 400 <= status < 500:
            return QueryEvaluationError(f"the store refused the query: {message}")
        return QueryEvaluationError(f"the store could not answer the query: {message}")

    def _read(self, response: http.client.HTTPResponse, form: str,
              limit: int | None) -> RawResult:
        """Parse a 200 answer; keep the connection if the answer was read to its end."""
        state = response.getheader("X-SQL-State") or ""
        if response.status == 206 or state.upper().startswith("S1TAT"):
            self.close()
            detail = response.getheader("X-SQL-Message") or "incomplete results"
            raise StoreTimeout("the store returned an incomplete answer (it stopped the query: "
                               f"{_short(detail, 200)}); partial results are never passed on")
        media_type = (response.getheader("Content-Type") or "").split(";")[0].strip().lower()
        try:
            if form in ("CONSTRUCT", "DESCRIBE"):
                if media_type not in _RDF_RESPONSE_FORMATS:
                    raise QueryEvaluationError(
                        f"the store answered {media_type or 'no content type'}, not RDF")
                triples, truncated = parse_graph_results(response, media_type, limit)
                raw = RawResult(form=form, triples=triples, truncated=truncated)
            elif media_type in ("application/sparql-results+xml", "application/xml", "text/xml"):
                raw = parse_xml_results(response, limit)
            elif media_type in ("application/sparql-results+json", "application/json"):
                raw = parse_json_results(response, limit)
            else:
                raise QueryEvaluationError(
                    f"the store answered {media_type or 'no content type'}, not SPARQL results")
        except QueryEvaluationError:
            self.close()
            raise
        except (ValueError, KeyError, TypeError, IndexError, SyntaxError, ET.ParseError) as exc:
            self.close()
            raise QueryEvaluationError(f"the store's answer could not be read: {exc}") from None
        except (OSError, http.client.HTTPException) as exc:
            self.close()
            raise StoreUnavailable(f"the connection to the store broke: {exc}") from None
        if raw.truncated or not response.isclosed() and response.read(1):
            self.close()  # unread rest: the connection cannot be reused
        elif response.will_close:
            self.close()
        return raw

    # -- evaluation ---------------------------------------------------------------------

    def evaluate(
        self,
        query: str,
        *,
        default_graph_uris: Sequence[str] = (),
        named_graph_uris: Sequence[str] = (),
        limit: int | None = None,
    ) -> RawResult:
        """See :meth:`Backend.evaluate` and the class documentation."""
        info = self._refuse(query, default_graph_uris, named_graph_uris)
        form = self._form(query)
        if default_graph_uris or named_graph_uris:
            default, named = list(default_graph_uris), list(named_graph_uris)
        elif info.has_dataset_clause:
            default, named = list(info.from_graphs), list(info.from_named_graphs)
        else:
            default, named = list(self.graphs), list(self.graphs)
        text = strip_dataset_clauses(query) if info.has_dataset_clause else query
        params = [("query", text)]
        params += [("default-graph-uri", g) for g in default or [EMPTY_GRAPH]]
        params += [("named-graph-uri", g) for g in named or [EMPTY_GRAPH]]
        graph_form = form in ("CONSTRUCT", "DESCRIBE")
        response = self._post(params, GRAPH_ACCEPT if graph_form else RESULTS_ACCEPT)
        if response.status != 200 and response.status != 206:
            raise self._fail(response)
        raw = self._read(response, form, limit)
        if raw.form != form:
            raise QueryEvaluationError(f"the store answered a {raw.form} result to a {form} query")
        return raw


def _short(message: str, limit: int = 400) -> str:
    """A parser message cut to its first line and ``limit`` characters."""
    first = message.splitlines()[0] if message else message
    return first if len(first) <= limit else first[:limit] + " ..."


def _take(items: Iterable[Any], limit: int | None) -> tuple[list[Any], bool]:
    """The first ``limit`` items (all if None) and whether there were more."""
    if limit is None:
        return list(items), False
    out: list[Any] = []
    for item in items:
        if len(out) == limit:
            return out, True
        out.append(item)
    return out, False


def _is_describe(query: str) -> bool:
    """Whether a graph-returning query is a DESCRIBE (pyoxigraph does not say)."""
    return scan(query).form == "DESCRIBE"


def bind(query: str, bindings: Mapping[str, Identifier] | None) -> str:
    """``query`` with variables pre-bound to rdflib terms (see :func:`bind_variables`).

    Raises ValueError for blank nodes and malformed IRIs.
    """
    if not bindings:
        return query
    return bind_variables(query, {name: sparql_term(term) for name, term in bindings.items()})


def _graph_from_terms(triples: Iterable[tuple[Term, Term, Term]]) -> Graph:
    """An rdflib Graph (project prefixes bound) holding neutral triples."""
    graph = bind_prefixes(Graph())
    for s, p, o in triples:
        graph.add((term_to_rdflib(s), term_to_rdflib(p), term_to_rdflib(o)))
    return graph


def _rows_from_terms(
    variables: list[str], rows: Iterable[tuple[Term | None, ...]]
) -> list[dict[str, Any]]:
    """Neutral rows as dicts of rdflib terms, unbound variables left out."""
    return [{variables[i]: term_to_rdflib(v) for i, v in enumerate(row) if v is not None}
            for row in rows]


def _preloaded(backend: Backend) -> Backend:
    """Opener of a backend loaded before forking: hand it over as is."""
    return backend


def open_backend(spec: str, build_dir: str | Path) -> Backend:
    """Open backend ``spec`` over the build in ``build_dir`` in this process."""
    return backend_opener(spec, build_dir)()


def backend_opener(spec: str, build_dir: str | Path) -> Callable[[], Backend]:
    """A callable that opens backend ``spec``; memory datasets are loaded right now, and
    an ``oxigraph:PATH`` store is loaded into PATH now if it does not hold the build yet.

    RocksDB-based and pyoxigraph stores are opened only when the callable is
    called (in the child process, after the fork); so is the connection to a
    ``sparql:URL`` store.
    """
    kind, argument = parse_spec(spec)
    build = Path(build_dir)
    if kind == "oxigraph-path":
        assert argument is not None
        try:
            folder = prepare_persistent_store(argument, build)
        except StoreUnavailable as exc:
            log.warning("store %s is unavailable: %s", spec, exc)
            return functools.partial(_unavailable, str(exc))
        return functools.partial(OxigraphBackend.open_read_only, folder, spec)
    if kind == "sparql":
        assert argument is not None
        return functools.partial(SparqlBackend.open_in_child, argument,
                                 tuple(str(g) for g in NAMED_GRAPHS), os.getpid())
    if spec in BACKENDS:
        needed = build / (STORE_DIR if spec == "oxigraph" else TRIG_FILE)
        if not needed.exists():  # not built yet: queries answer 503 with a clear message
            log.warning("%s does not exist: the %s store is unavailable until the graph "
                        "is built", needed, spec)
    if spec == "oxigraph":
        return functools.partial(OxigraphBackend.open_read_only, build / STORE_DIR)
    if spec == "oxigraph-memory":
        return functools.partial(OxigraphBackend.load_memory, build / TRIG_FILE)
    if spec == "memory":
        trig = build / TRIG_FILE
        if not trig.is_file():
            return functools.partial(RdflibBackend.load, trig)
        return functools.partial(_preloaded, RdflibBackend.load(trig))
    raise ValueError(f"unknown store {spec!r}; choose one of {', '.join(BACKEND_FORMS)}")


def _unavailable(message: str) -> Backend:
    """Opener of a backend that could not be prepared: every call answers StoreUnavailable."""
    raise StoreUnavailable(message)


# -- the facade used by the web application ---------------------------------------

class Store:
    """The dataset as the web application sees it: every call runs in a child process.

    One build for the store's lifetime: ``build_dir`` (the symlink ``poli-kg build``
    swaps) is resolved once, here or, when nothing is built yet, at the first call that
    finds a build (until then calls raise :class:`StoreUnavailable`); :attr:`build` is that
    :class:`~poli_kg.buildfolder.ServedBuild`, which the downloads and pages use too.  Every
    query process opens the backend over that folder, whatever later builds do.
    """

    def __init__(
        self,
        spec: str = "oxigraph",
        build_dir: str | Path | ServedBuild = "public",
        *,
        timeout: float = 30.0,
        max_results: int = 10000,
        isolate_network: bool = True,
        cache_bytes: int = 32 * 2**20,
    ) -> None:
        self.spec = spec
        self.build = build_dir if isinstance(build_dir, ServedBuild) else ServedBuild(build_dir)
        self.timeout = timeout
        self.max_results = max_results
        remote = parse_spec(spec)[0] == "sparql"
        # a remote store can change under us (poli-kg publish): its answers are not kept
        self._cache = ResultCache(cache_bytes) if cache_bytes > 0 and not remote else None
        self._opener: Callable[[], Backend] | None = None
        self._opener_lock = threading.Lock()
        self._prepare()
        self._executor = Executor(
            self._open_backend,
            expected_errors=(QueryError, NetworkAccessDenied),
            # a remote backend's child must reach its store (and only it: see SparqlBackend)
            isolate_network=isolate_network and not remote,
        )
        self._sizes: dict[str, int] | None = None
        self._sizes_lock = threading.Lock()

    def _prepare(self) -> None:
        """Make the backend opener, over the resolved build, once there is one.

        Backends over the local build wait for it; ``sparql:URL`` and ``oxigraph:PATH``
        do not need it (the latter loads it when there is one, see :func:`backend_opener`).
        """
        with self._opener_lock:
            if self._opener is None:
                folder = self.build.folder()
                if folder is not None or self.spec not in BACKENDS:
                    self._opener = backend_opener(self.spec, folder or self.build.out_dir)

    def _open_backend(self) -> Backend:
        """Open the backend (in a query process; forked only once the opener exists)."""
        assert self._opener is not None
        return self._opener()

    def _call(self, method: str, *args: Any, timeout: float | None = None, **kwargs: Any) -> Any:
        """Run a backend method in this thread's child process."""
        if self._opener is None:
            self._prepare()
            if self._opener is None:
                raise StoreUnavailable(f"{self.build.out_dir} does not exist: the graph has "
                                       "not been built yet")
        try:
            return self._executor.call(method, args, kwargs,
                                       timeout=self.timeout if timeout is None else timeout)
        except NetworkAccessDenied as exc:
            raise QueryRefused(str(exc)) from None

    def execute(
        self,
        query: str,
        *,
        form: str | None = None,
        media_type: str = SPARQL_RESULTS_JSON,
        default_graph_uris: Sequence[str] = (),
        named_graph_uris: Sequence[str] = (),
        max_results: int | None = None,
        timeout: float | None = None,
    ) -> QueryResult:
        """Evaluate and serialise ``query`` (see :meth:`Backend.execute`); a result of the
        same call is answered from the :class:`ResultCache` (stores over the local build)."""
        limit = self.max_results if max_results is None else max_results
        key = (query, media_type, tuple(default_graph_uris), tuple(named_graph_uris), limit)
        if self._cache is not None and (hit := self._cache.get(key)) is not None:
            return hit
        result: QueryResult = self._call(
            "execute", query, form=form, media_type=media_type,
            default_graph_uris=key[2], named_graph_uris=key[3], max_results=limit,
            timeout=timeout,
        )
        if self._cache is not None:
            self._cache.put(key, result)
        return result

    def construct(
        self,
        query: str,
        *,
        bindings: Mapping[str, Identifier] | None = None,
        timeout: float | None = None,
    ) -> Graph:
        """Result of a CONSTRUCT / DESCRIBE query as an rdflib Graph, prefixes bound."""
        triples = self._call("construct_terms", bind(query, bindings), timeout=timeout)
        return _graph_from_terms(triples)

    def select(
        self,
        query: str,
        *,
        bindings: Mapping[str, Identifier] | None = None,
        timeout: float | None = None,
    ) -> list[dict[str, Any]]:
        """Rows of a SELECT query: ``{variable: rdflib term}``, unbound variables absent."""
        variables, rows = self._call("select_terms", bind(query, bindings), timeout=timeout)
        return _rows_from_terms(variables, rows)

    def graph_sizes(self) -> dict[str, int]:
        """``{named graph IRI: triples}``, computed once (the dataset is read-only)."""
        with self._sizes_lock:
            if self._sizes is None:
                self._sizes = self._call("graph_sizes")
            return dict(self._sizes)

    @property
    def kind(self) -> str:
        """The backend's kind, without its argument: ``oxigraph``, ``oxigraph-path``,
        ``oxigraph-memory``, ``memory`` or ``sparql`` (safe to show: no URL, no path)."""
        return parse_spec(self.spec)[0]

    @property
    def named_graphs(self) -> tuple[str, ...]:
        """The dataset's named graphs: the project's graphs, then any other in the store."""
        own = tuple(str(g) for g in NAMED_GRAPHS)
        return own + tuple(sorted(g for g in self.graph_sizes() if g not in own))

    def child_pids(self) -> list[int]:
        """Process ids of the query processes of this process (for tests and monitoring)."""
        return self._executor.child_pids()

    def close(self) -> None:
        """Stop every query process and release the build."""
        self._executor.close()
        self.build.close()


def init_app(app: Flask) -> None:
    """Create the application's :class:`Store` from its config (flaskr style).

    Config keys: ``STORE`` (backend spec), ``BUILD_DIR``, ``QUERY_TIMEOUT`` (s),
    ``MAX_RESULTS``, ``QUERY_CACHE_MB`` (:class:`ResultCache` size; 0: none).
    """
    app.extensions["poli_kg.store"] = Store(
        app.config.get("STORE", "oxigraph"),
        app.config.get("BUILD_DIR", "public"),
        timeout=float(app.config.get("QUERY_TIMEOUT", 30)),
        max_results=int(app.config.get("MAX_RESULTS", 10000)),
        cache_bytes=int(float(app.config.get("QUERY_CACHE_MB", 32)) * 2**20),
    )


def get_store(app: Flask | None = None) -> Store:
    """The :class:`Store` of ``app`` (default: the current application)."""
    store: Store = (app or current_app).extensions["poli_kg.store"]
    return store
