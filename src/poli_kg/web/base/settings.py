"""The application's configuration keys and their defaults.

:func:`poli_kg.web.create_app` starts from :data:`DEFAULTS`, then reads environment
variables ``POLI_KG_<KEY>``, then its ``test_config``:

``BUILD_DIR``         folder written by ``poli-kg build`` (``public``); resolved once, so the
                      application serves one build for its lifetime (see :class:`poli_kg.store.Store`)
``STORE``             backend: ``oxigraph`` | ``oxigraph-memory`` | ``memory`` (see :mod:`poli_kg.store`)
``QUERY_TIMEOUT``     seconds a query may run before it is killed (503)
``MAX_RESULTS``       cap on solutions / triples per result (``X-Result-Truncated``, ``Warning``)
``RESULT_MAX_AGE``    seconds a GET result may be served from an HTTP cache (``Cache-Control:
                      public, max-age=…``; its ETag names the build, so a new build is a miss)
``QUERY_CACHE_MB``    results of recent queries kept per worker (MB; 0: none; never for ``sparql:URL``)
``REMOTE_DATASET``    ``sparql:URL`` only: ``explicit`` (every query names the project's graphs) or
                      ``store`` (the store's own dataset, checked to be exactly those graphs; see
                      :data:`poli_kg.store.remote.DATASET_MODES`)
``MAX_QUERY_LENGTH``  longest query in characters (413)
``MAX_QUERY_NESTING`` deepest query nesting (1000; see :func:`poli_kg.store.lexer.nesting`)
``RATE_LIMIT`` …      per-client rate limiting and security headers: see :mod:`poli_kg.web.base.security`
``BASE_IRI``          the dataset's base IRI
``PUBLIC_URL``        public root URL of the service; None: from the request's host
"""

from __future__ import annotations

from typing import Any

from poli_kg.namespaces import BASE

DEFAULT_MAX_QUERY_LENGTH = 100_000
DEFAULT_MAX_QUERY_NESTING = 1000
"""oxigraph's query process overflows its stack (8 MB) above about 2200 (``{{{…}}}``)."""
DEFAULT_RESULT_MAX_AGE = 600
"""Seconds GET results may be cached: the data change only with a new build, which a server
serves after a restart."""

DEFAULTS: dict[str, Any] = {
    "BUILD_DIR": "public",
    "STORE": "oxigraph",
    "QUERY_TIMEOUT": 30,
    "MAX_RESULTS": 10_000,
    "RESULT_MAX_AGE": DEFAULT_RESULT_MAX_AGE,
    "QUERY_CACHE_MB": 32,
    "REMOTE_DATASET": "explicit",
    "MAX_QUERY_LENGTH": DEFAULT_MAX_QUERY_LENGTH,
    "BASE_IRI": BASE,
    "PUBLIC_URL": None,
}
