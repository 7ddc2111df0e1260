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
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyoxigraph as ox

from poli_kg.store.backend import Backend, is_describe, short_message, take
from poli_kg.store.errors import QueryEvaluationError, QuerySyntaxError, StoreUnavailable
from poli_kg.store.lexer import scan
from poli_kg.store.results import RawResult, term_from_ox

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
                triples, truncated = take(result, limit)
                form = "DESCRIBE" if is_describe(query) else "CONSTRUCT"
                return RawResult(form=form, triples=[
                    (term_from_ox(t.subject), term_from_ox(t.predicate), term_from_ox(t.object))
                    for t in triples], truncated=truncated)
            variables = [v.value for v in result.variables]
            solutions, truncated = take(result, limit)
            rows = [tuple(None if v is None else term_from_ox(v) for v in s) for s in solutions]
            return RawResult(form="SELECT", variables=variables, rows=rows, truncated=truncated)
        except SyntaxError as exc:
            raise QuerySyntaxError(short_message(str(exc))) from None
        except OSError as exc:
            raise QueryEvaluationError(f"query evaluation failed: {exc}") from None
        except RuntimeError as exc:
            raise QueryEvaluationError(f"query evaluation failed: {exc}") from None
