"""What every backend is and shares: the :class:`Backend` base, backend specs, bindings.

A backend is a queryable copy of the dataset, opened in a query process (see
:mod:`poli_kg.store.executor`).  Subclasses implement :meth:`Backend.evaluate`, which
answers in the neutral terms of :mod:`poli_kg.store.results`; the base class serialises
(:meth:`Backend.execute`) and converts to rdflib (:meth:`Backend.construct`,
:meth:`Backend.select`), so every backend answers alike:

* :class:`poli_kg.store.oxigraph.OxigraphBackend` (``oxigraph``, ``oxigraph:PATH``,
  ``oxigraph-memory``),
* :class:`poli_kg.store.memory.RdflibBackend` (``memory``),
* :class:`poli_kg.store.remote.SparqlBackend` (``sparql:URL``).

A backend spec names one of them (:func:`parse_spec`; :func:`poli_kg.store.open_backend`
opens it).

``bindings`` pre-bind variables to rdflib IRIs or literals, like rdflib's
``initBindings``, identically on every backend: each ``?name`` is replaced by the term,
checked and escaped (:func:`sparql_term`), before the query runs (see :func:`bind` and
:func:`poli_kg.store.lexer.bind_variables`); a bound variable that is projected is still
returned.  Never paste request data into query strings yourself.  Blank nodes cannot be
bound (ValueError).
"""

from __future__ import annotations

import re
import time
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from rdflib import Graph, Literal, URIRef
from rdflib.term import Identifier

from poli_kg.namespaces import PREFIXES, bind_prefixes
from poli_kg.store.errors import QueryEvaluationError
from poli_kg.store.lexer import bind_variables, scan
from poli_kg.store.results import (
    GRAPH_MEDIA_TYPES, RESULT_MEDIA_TYPES, SPARQL_RESULTS_JSON, QueryResult, RawResult, Term,
    serialize, term_to_rdflib, turtle_string,
)

__all__ = ["BACKENDS", "BACKEND_FORMS", "Backend", "bind", "graph_from_terms", "is_describe",
           "parse_spec", "rows_from_terms", "short_message", "sparql_term"]

# -- backend specs -----------------------------------------------------------------------

BACKENDS = ("oxigraph", "oxigraph-memory", "memory")
"""Backend specs over the local build (the parametrised ``oxigraph:PATH`` and
``sparql:URL`` are listed in :data:`BACKEND_FORMS`)."""
BACKEND_FORMS = ("oxigraph", "oxigraph:PATH", "oxigraph-memory", "memory", "sparql:URL")
"""Every form of backend spec :func:`poli_kg.store.open_backend` understands (for help texts)."""

_GRAPH_SIZES_QUERY = "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g"


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


# -- the base class ----------------------------------------------------------------------

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
        body = serialize(raw, media_type, PREFIXES)
        return QueryResult(body=body, media_type=media_type, form=raw.form or form or "",
                           count=raw.count, truncated=raw.truncated,
                           query_ms=(time.perf_counter() - start) * 1000)

    def construct_terms(self, query: str) -> list[tuple[Term, Term, Term]]:
        """Triples of a CONSTRUCT / DESCRIBE query, as neutral terms."""
        raw = self.evaluate(query)
        if raw.form not in ("CONSTRUCT", "DESCRIBE"):
            raise QueryEvaluationError(
                f"construct() needs a CONSTRUCT or DESCRIBE query, not {raw.form}")
        return raw.triples

    def select_terms(self, query: str) -> tuple[list[str], list[tuple[Term | None, ...]]]:
        """Variables and rows of a SELECT query, as neutral terms."""
        raw = self.evaluate(query)
        if raw.form != "SELECT":
            raise QueryEvaluationError(f"select() needs a SELECT query, not {raw.form}")
        return raw.variables, raw.rows

    def construct(self, query: str, *, bindings: Mapping[str, Identifier] | None = None) -> Graph:
        """Result of a CONSTRUCT / DESCRIBE query as an rdflib Graph (in this process)."""
        return graph_from_terms(self.construct_terms(bind(query, bindings)))

    def select(
        self, query: str, *, bindings: Mapping[str, Identifier] | None = None
    ) -> list[dict[str, Any]]:
        """Rows of a SELECT query as dicts of rdflib terms (in this process)."""
        return rows_from_terms(*self.select_terms(bind(query, bindings)))

    def graph_sizes(self) -> dict[str, int]:
        """Number of triples in each named graph."""
        raw = self.evaluate(_GRAPH_SIZES_QUERY)
        return {row[0][1]: int(row[1][1]) for row in raw.rows if row[0] and row[1]}


# -- evaluation helpers ---------------------------------------------------------------

def short_message(message: str, limit: int = 400) -> str:
    """A parser message cut to its first line and ``limit`` characters."""
    first = message.splitlines()[0] if message else message
    return first if len(first) <= limit else first[:limit] + " ..."


def is_describe(query: str) -> bool:
    """Whether a graph-returning query is a DESCRIBE (pyoxigraph does not say)."""
    return scan(query).form == "DESCRIBE"


# -- bindings and rdflib results ------------------------------------------------------

def sparql_term(term: Identifier) -> str:
    """An rdflib IRI or literal in SPARQL syntax, safe to paste into a query.

    Raises ValueError for IRIs that contain characters IRIs may not contain.
    """
    if isinstance(term, URIRef):
        if re.search(r'[<>"{}|^`\\\x00-\x20]', str(term)):
            raise ValueError(f"not a valid IRI: {str(term)!r}")
        return f"<{term}>"
    if isinstance(term, Literal):
        value = turtle_string(str(term))
        if term.language:
            return f"{value}@{term.language}"
        if term.datatype:
            return f"{value}^^{sparql_term(term.datatype)}"
        return value
    raise ValueError(f"only IRIs and literals can be pasted into a query: {term!r}")


def bind(query: str, bindings: Mapping[str, Identifier] | None) -> str:
    """``query`` with variables pre-bound to rdflib terms (see :func:`bind_variables`).

    Raises ValueError for blank nodes and malformed IRIs.
    """
    if not bindings:
        return query
    return bind_variables(query, {name: sparql_term(term) for name, term in bindings.items()})


def graph_from_terms(triples: Iterable[tuple[Term, Term, Term]]) -> Graph:
    """An rdflib Graph (project prefixes bound) holding neutral triples."""
    graph = bind_prefixes(Graph())
    for s, p, o in triples:
        graph.add((term_to_rdflib(s), term_to_rdflib(p), term_to_rdflib(o)))
    return graph


def rows_from_terms(
    variables: list[str], rows: Iterable[tuple[Term | None, ...]]
) -> list[dict[str, Any]]:
    """Neutral rows as dicts of rdflib terms, unbound variables left out."""
    return [{variables[i]: term_to_rdflib(v) for i, v in enumerate(row) if v is not None}
            for row in rows]
