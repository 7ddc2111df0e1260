"""The triple store behind the SPARQL endpoint and the HTML pages.

Public API (stable; used by :mod:`poli_kg.sparql` and the linked-data pages)::

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
:func:`poli_kg.sparqllex.bind_variables`); a bound variable that is projected is
still returned.  Never paste request data into query strings yourself.  Blank
nodes cannot be bound (ValueError).

:class:`Store` never evaluates a query in the calling process: it sends every
call to a per-thread child process (:mod:`poli_kg.executor`) that has the
backend open, and raises :class:`QueryTimeout` when the call takes longer than
its timeout (the child is killed).  Errors are :class:`QueryError` subclasses:
:class:`QuerySyntaxError` (message with line:column), :class:`QueryEvaluationError`,
:class:`QueryRefused`, :class:`StoreUnavailable`.

Backends (``spec`` strings, config key ``STORE``):

``oxigraph`` (default)
    the on-disk pyoxigraph store ``BUILD_DIR/store``, opened read-only in each child.
``oxigraph-memory``
    an in-memory pyoxigraph store loaded from ``BUILD_DIR/poli-kg.trig`` in each child.
``memory``
    an rdflib Dataset loaded from ``BUILD_DIR/poli-kg.trig`` once, before forking
    (children share it copy-on-write).  ``FROM`` never fetches anything
    (``SPARQL_LOAD_GRAPHS = False``).
``sparql:URL``
    a remote SPARQL endpoint (reserved; see :func:`open_backend`).
"""

from __future__ import annotations

import csv
import functools
import io
import json
import logging
import re
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeAlias
from xml.sax.saxutils import escape as xml_escape
from xml.sax.saxutils import quoteattr

import pyoxigraph as ox
from flask import Flask, current_app
from rdflib import BNode, Dataset, Graph, Literal, URIRef
from rdflib.term import Identifier, Node

from poli_kg.executor import ChildFailed, Executor, NetworkAccessDenied, QueryTimeout
from poli_kg.namespaces import NAMED_GRAPHS, PREFIXES, bind_prefixes
from poli_kg.sparqllex import bind_variables, scan

__all__ = [
    "BACKENDS", "Backend", "ChildFailed", "GRAPH_MEDIA_TYPES", "OxigraphBackend", "QueryError",
    "QueryEvaluationError", "QueryRefused", "QueryResult", "QuerySyntaxError", "QueryTimeout",
    "RESULT_MEDIA_TYPES", "RdflibBackend", "Store", "StoreUnavailable", "get_store",
    "init_app", "open_backend", "sparql_term",
]

log = logging.getLogger(__name__)

BACKENDS = ("oxigraph", "oxigraph-memory", "memory")
"""Backend specs understood by :func:`open_backend` (plus ``sparql:URL``, reserved)."""
TRIG_FILE = "poli-kg.trig"
STORE_DIR = "store"

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
    """The store could not be opened (not built yet, unreadable, ...)."""


@dataclass(frozen=True)
class QueryResult:
    """A serialised query result.

    ``count`` is the number of solutions (SELECT), triples (CONSTRUCT, DESCRIBE)
    or 1 (ASK) in ``body``; ``truncated`` says whether more were cut off by the
    ``max_results`` cap.  ``query_ms`` is the evaluation + serialisation time.
    """

    body: bytes
    media_type: str
    form: str
    count: int
    truncated: bool
    query_ms: float


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
    def open_read_only(cls, path: str | Path) -> OxigraphBackend:
        """Open the on-disk store at ``path`` read-only (call this after forking)."""
        if not Path(path).is_dir():
            raise StoreUnavailable(f"no store at {path}: build the graph first")
        try:
            return cls(ox.Store.read_only(str(path)), "oxigraph")
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
    """A callable that opens backend ``spec``; memory datasets are loaded right now.

    RocksDB-based and pyoxigraph stores are opened only when the callable is
    called (in the child process, after the fork).
    """
    build = Path(build_dir)
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
    if spec.startswith("sparql:"):
        # Reserved for a later issue: a backend forwarding queries to the remote
        # endpoint spec[len("sparql:"):] (SPARQL protocol client + same serialisers).
        raise ValueError(f"store {spec!r}: remote SPARQL backends are not implemented yet")
    raise ValueError(f"unknown store {spec!r}; choose one of {', '.join(BACKENDS)}")


# -- the facade used by the web application ---------------------------------------

class Store:
    """The dataset as the web application sees it: every call runs in a child process."""

    def __init__(
        self,
        spec: str = "oxigraph",
        build_dir: str | Path = "public",
        *,
        timeout: float = 30.0,
        max_results: int = 10000,
        isolate_network: bool = True,
    ) -> None:
        self.spec = spec
        self.build_dir = Path(build_dir)
        self.timeout = timeout
        self.max_results = max_results
        self._executor = Executor(
            backend_opener(spec, build_dir),
            expected_errors=(QueryError, NetworkAccessDenied),
            isolate_network=isolate_network,
        )
        self._sizes: dict[str, int] | None = None
        self._sizes_lock = threading.Lock()

    def _call(self, method: str, *args: Any, timeout: float | None = None, **kwargs: Any) -> Any:
        """Run a backend method in this thread's child process."""
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
        """Evaluate and serialise ``query`` (see :meth:`Backend.execute`)."""
        return self._call(
            "execute", query, form=form, media_type=media_type,
            default_graph_uris=tuple(default_graph_uris),
            named_graph_uris=tuple(named_graph_uris),
            max_results=self.max_results if max_results is None else max_results,
            timeout=timeout,
        )

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
    def named_graphs(self) -> tuple[str, ...]:
        """The dataset's named graphs: the project's graphs, then any other in the store."""
        own = tuple(str(g) for g in NAMED_GRAPHS)
        return own + tuple(sorted(g for g in self.graph_sizes() if g not in own))

    def child_pids(self) -> list[int]:
        """Process ids of the query processes of this process (for tests and monitoring)."""
        return self._executor.child_pids()

    def close(self) -> None:
        """Stop every query process."""
        self._executor.close()


def init_app(app: Flask) -> None:
    """Create the application's :class:`Store` from its config (flaskr style).

    Config keys: ``STORE`` (backend spec), ``BUILD_DIR``, ``QUERY_TIMEOUT`` (s),
    ``MAX_RESULTS``.
    """
    app.extensions["poli_kg.store"] = Store(
        app.config.get("STORE", "oxigraph"),
        app.config.get("BUILD_DIR", "public"),
        timeout=float(app.config.get("QUERY_TIMEOUT", 30)),
        max_results=int(app.config.get("MAX_RESULTS", 10000)),
    )


def get_store() -> Store:
    """The current application's :class:`Store`."""
    store: Store = current_app.extensions["poli_kg.store"]
    return store
