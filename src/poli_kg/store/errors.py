"""The errors of store calls: :class:`QueryError` and its subclasses.

Every message is safe to show to clients (no paths, no credentials):

* :class:`QuerySyntaxError`: the query does not parse (the message carries line:column);
* :class:`QueryEvaluationError`: it parsed, its evaluation failed;
* :class:`QueryRefused`: it tried something this read-only, offline service does not do
  (update, SERVICE, graphs outside the dataset, network access, ...);
* :class:`StoreUnavailable`: the store could not be opened or reached; its
  :class:`StoreTimeout`: a remote store stopped the query itself, or marked its answer as
  incomplete.

A call that takes longer than its timeout raises :class:`~poli_kg.store.executor.QueryTimeout`
instead (the query process is killed), and a query process that dies raises
:class:`~poli_kg.store.executor.ChildFailed`: those come from the executor, not from a backend.
"""

from __future__ import annotations

__all__ = ["QueryError", "QueryEvaluationError", "QueryRefused", "QuerySyntaxError",
           "StoreTimeout", "StoreUnavailable"]


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
