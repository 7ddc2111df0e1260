"""The store's memory of recent answers (:class:`ResultCache`).

A store over one fixed build answers the same query the same way for its whole lifetime,
so :class:`poli_kg.store.Store` keeps the serialised results of recent calls and answers a
repeated call without a query process.  A remote store (``sparql:URL``) can change under
the server (``poli-kg publish``): its answers are never kept.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import replace

from poli_kg.store.results import QueryResult

__all__ = ["ResultCache"]


class ResultCache:
    """Serialised results of recent queries, at most ``max_bytes`` of bodies (LRU).

    Only for stores over one fixed build (:class:`~poli_kg.store.Store` serves one build for
    its lifetime, and the build never changes under it): the same query always has the same
    answer there.
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
