"""The rdflib backend (``memory``): :class:`RdflibBackend`.

An rdflib Dataset loaded from ``BUILD_DIR/poli-kg.trig`` once, before forking: the query
processes share it copy-on-write.  ``FROM`` never fetches anything
(``SPARQL_LOAD_GRAPHS = False``), and the default graph is the union of the named graphs.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from rdflib import Dataset, URIRef

from poli_kg.store.backend import Backend
from poli_kg.store.errors import (
    QueryEvaluationError, QueryRefused, QuerySyntaxError, StoreUnavailable,
)
from poli_kg.store.results import RawResult, take, term_from_rdflib

__all__ = ["RdflibBackend"]


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
                triples, truncated = take(result.graph, limit)
                return RawResult(form=result.type, triples=[
                    (term_from_rdflib(s), term_from_rdflib(p), term_from_rdflib(o))
                    for s, p, o in triples], truncated=truncated)
            variables = [str(v) for v in (result.vars or [])]
            solutions, truncated = take(result, limit)
            rows = [tuple(None if v is None else term_from_rdflib(v) for v in row)
                    for row in solutions]
            return RawResult(form="SELECT", variables=variables, rows=rows, truncated=truncated)
        except PermissionError as exc:  # NetworkAccessDenied from the child's audit hook
            raise QueryRefused(str(exc)) from None
        except SPARQLError as exc:
            raise QueryEvaluationError(f"query evaluation failed: {exc}") from None
