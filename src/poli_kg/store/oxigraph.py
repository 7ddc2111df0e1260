"""The pyoxigraph backend: :class:`OxigraphBackend`, on disk (read-only) or in memory.

``oxigraph`` (default)
    the on-disk pyoxigraph store ``BUILD_DIR/store``, opened read-only in each query
    process (RocksDB is never opened before a fork).
``oxigraph:PATH``
    the same, over a persistent store in the folder ``PATH`` that holds the build
    (loaded there before forking: :mod:`poli_kg.store.persistent`).
``oxigraph-memory``
    an in-memory pyoxigraph store loaded from ``BUILD_DIR/poli-kg.trig`` in each query
    process.

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
