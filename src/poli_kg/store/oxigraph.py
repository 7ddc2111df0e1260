"""The pyoxigraph backend: :class:`OxigraphBackend`, on disk (read-only) or in memory.

``oxigraph`` (default)
    the on-disk pyoxigraph store ``BUILD_DIR/store``, opened read-only in each query
    process (RocksDB is never opened before a fork).
``oxigraph:PATH``
    the same, over a persistent store in the folder ``PATH`` that holds the build
    (loaded there before forking: :mod:`poli_kg.store.persistent`).
``oxigraph-memory``
    an in-memory pyoxigraph store loaded from ``BUILD_DIR/poli-kg.trig`` once, before
    forking (:func:`poli_kg.store.backend_opener`): the query processes start with its
    pages shared copy-on-write, and answer several times faster than from disk.  They do
    not stay shared: reading the store writes to each quad it visits (pyoxigraph's
    in-memory quads are reference-counted nodes, each with a lock), so a query process
    copies the pages it reads, up to a whole store's worth (about 300 MB per million
    quads) once it has answered a query that scans most of the graph (the VoID
    statistics, an aggregate).  The graph sizes, which the health check asks every worker
    for, are therefore counted once, before forking.  Loading from TriG with
    :meth:`pyoxigraph.Store.load` is as fast as N-Quads or ``bulk_load`` (3–4 s of CPU
    per million quads) and needs the least memory while loading.

Without FROM / FROM NAMED or protocol graphs the default graph is the union of the named
graphs (oxigraph ignores FROM when its union flag is set, so the flag is set only then).

:meth:`OxigraphBackend.execute` writes a SELECT answer straight from pyoxigraph's solutions
(:mod:`poli_kg.store.solutions`: the same bytes, without the neutral terms); the other forms,
and the few SELECT answers pyoxigraph would write otherwise, take the neutral path of
:meth:`Backend.execute`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pyoxigraph as ox

from poli_kg.store.backend import Backend, is_describe, short_message
from poli_kg.store.errors import QueryEvaluationError, QuerySyntaxError, StoreUnavailable
from poli_kg.store.lexer import scan
from poli_kg.store.results import (
    RESULT_MEDIA_TYPES, SPARQL_RESULTS_JSON, QueryResult, RawResult, take, term_from_ox,
)
from poli_kg.store.solutions import write_solutions

__all__ = ["OxigraphBackend"]


class OxigraphBackend(Backend):
    """A pyoxigraph store, on disk (read-only) or in memory."""

    def __init__(self, store: ox.Store, spec: str) -> None:
        self._store = store
        self.spec = spec
        self._sizes: dict[str, int] | None = None

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
        """Load the TriG dump into a new in-memory store (before forking: it starts no
        thread and holds no lock once loaded)."""
        store = ox.Store()
        try:
            store.load(path=str(trig_path), format=ox.RdfFormat.TRIG)
        except (OSError, SyntaxError) as exc:  # a damaged build: say so, do not crash
            raise StoreUnavailable(f"cannot load {trig_path}: {short_message(str(exc))}") \
                from exc
        backend = cls(store, "oxigraph-memory")
        # Counted now, in the process that forks: counting reads every quad, which in a
        # query process would copy the whole store's pages (the health check asks for it).
        backend._sizes = Backend.graph_sizes(backend)
        return backend

    def graph_sizes(self) -> dict[str, int]:
        """See :meth:`Backend.graph_sizes` (an in-memory store's, counted when it was loaded)."""
        return dict(self._sizes) if self._sizes is not None else super().graph_sizes()

    def evaluate(
        self,
        query: str,
        *,
        default_graph_uris: Sequence[str] = (),
        named_graph_uris: Sequence[str] = (),
        limit: int | None = None,
    ) -> RawResult:
        """See :meth:`Backend.evaluate`."""
        with _errors:
            result = self._query(query, default_graph_uris, named_graph_uris)
            if isinstance(result, ox.QueryBoolean):
                return RawResult(form="ASK", boolean=bool(result))
            if isinstance(result, ox.QueryTriples):
                triples, truncated = take(result, limit)
                form = "DESCRIBE" if is_describe(query) else "CONSTRUCT"
                return RawResult(form=form, triples=[
                    (term_from_ox(t.subject), term_from_ox(t.predicate), term_from_ox(t.object))
                    for t in triples], truncated=truncated)
            variables = [v.value for v in result.variables]
            solutions, truncated = take(result, limit)
            rows = [tuple(None if v is None else term_from_ox(v) for v in s) for s in solutions]
            return RawResult(form="SELECT", variables=variables, rows=rows, truncated=truncated)

    def execute(
        self,
        query: str,
        *,
        form: str | None = None,
        media_type: str = SPARQL_RESULTS_JSON,
        default_graph_uris: Sequence[str] = (),
        named_graph_uris: Sequence[str] = (),
        max_results: int | None = 10000,
    ) -> QueryResult:
        """See :meth:`Backend.execute`: a SELECT answer is written from pyoxigraph's
        solutions (:func:`~poli_kg.store.solutions.write_solutions`); any other answer, or
        one it cannot write as the neutral writers do, through the neutral terms."""
        def neutral() -> QueryResult:
            return Backend.execute(
                self, query, form=form, media_type=media_type,
                default_graph_uris=default_graph_uris, named_graph_uris=named_graph_uris,
                max_results=max_results)

        if scan(query).form != "SELECT":  # (the lexer's analysis is remembered: no cost)
            return neutral()
        start = time.perf_counter()
        if media_type not in RESULT_MEDIA_TYPES:
            media_type = RESULT_MEDIA_TYPES[0]
        with _errors:
            result = self._query(query, default_graph_uris, named_graph_uris)
            written = write_solutions(result, media_type, max_results) \
                if isinstance(result, ox.QuerySolutions) else None
        if written is None:  # evaluated again: pyoxigraph's result cannot be read twice
            return replace(neutral(), query_ms=(time.perf_counter() - start) * 1000)
        body, count, truncated = written
        return QueryResult(body=body, media_type=media_type, form="SELECT", count=count,
                           truncated=truncated, query_ms=(time.perf_counter() - start) * 1000)

    def _query(self, query: str, default_graph_uris: Sequence[str],
               named_graph_uris: Sequence[str]) -> Any:
        """pyoxigraph's result of ``query`` over the dataset of :meth:`Backend.evaluate`."""
        kwargs: dict[str, Any] = {}
        if default_graph_uris or named_graph_uris:
            kwargs["default_graph"] = [ox.NamedNode(u) for u in default_graph_uris]
            kwargs["named_graphs"] = [ox.NamedNode(u) for u in named_graph_uris]
        elif not scan(query).has_dataset_clause:
            # (oxigraph ignores FROM when the union flag is set)
            kwargs["use_default_graph_as_union"] = True
        return self._store.query(query, **kwargs)


class _Errors:
    """pyoxigraph's errors, from parsing to the last solution read, as the store's (a class,
    not a generator: entered at every query, and a generator costs several times more)."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 traceback: Any) -> None:
        if isinstance(exc, SyntaxError):
            raise QuerySyntaxError(short_message(str(exc))) from None
        if isinstance(exc, (OSError, RuntimeError)):
            raise QueryEvaluationError(f"query evaluation failed: {exc}") from None


_errors = _Errors()
