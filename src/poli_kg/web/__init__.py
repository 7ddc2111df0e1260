"""The web application: SPARQL endpoint, query page and linked-data pages (flaskr style).

Config keys (defaults in :data:`DEFAULTS`; override with ``create_app(test_config)``
or environment variables ``POLI_KG_<KEY>``):

``BUILD_DIR``         folder written by ``poli-kg build`` (``public``); resolved once, so the
                      application serves one build for its lifetime (see :class:`poli_kg.store.Store`)
``STORE``             backend: ``oxigraph`` | ``oxigraph-memory`` | ``memory`` (see :mod:`poli_kg.store`)
``QUERY_TIMEOUT``     seconds a query may run before it is killed (503)
``MAX_RESULTS``       cap on solutions / triples per result (``X-Result-Truncated``)
``QUERY_CACHE_MB``    results of recent queries kept per worker (MB; 0: none; never for ``sparql:URL``)
``MAX_QUERY_LENGTH``  longest query in characters (413)
``MAX_QUERY_NESTING`` deepest query nesting (400; see :func:`poli_kg.store.lexer.nesting`)
``RATE_LIMIT`` …      per-client rate limiting and security headers: see :mod:`poli_kg.web.base.security`
``BASE_IRI``          the dataset's base IRI
``PUBLIC_URL``        public root URL of the service; None: from the request's host
"""

from __future__ import annotations

import json
import logging
import os
import time
from typing import Any

from flask import Flask, Response, g, request
from werkzeug.exceptions import HTTPException

from poli_kg import store
from poli_kg.web import catalog
from poli_kg.web import downloads
from poli_kg.web import linkeddata
from poli_kg.web import querypage
from poli_kg.web.base import security
from poli_kg.web import sparql
from poli_kg.namespaces import BASE
from poli_kg.web.sparql import DEFAULT_MAX_QUERY_LENGTH, plain_error

access_log = logging.getLogger("poli_kg.access")

DEFAULTS: dict[str, Any] = {
    "BUILD_DIR": "public",
    "STORE": "oxigraph",
    "QUERY_TIMEOUT": 30,
    "MAX_RESULTS": 10_000,
    "QUERY_CACHE_MB": 32,
    "MAX_QUERY_LENGTH": DEFAULT_MAX_QUERY_LENGTH,
    "BASE_IRI": BASE,
    "PUBLIC_URL": None,
}
CORS_HEADERS = {
    "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
    "Access-Control-Allow-Headers": "Content-Type, Accept",
    "Access-Control-Max-Age": "86400",
}
EXPOSED_HEADERS = "X-Result-Count, X-Result-Truncated"


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Create and configure the application."""
    app = Flask(__name__)
    app.config.from_mapping(DEFAULTS)
    app.config.from_prefixed_env("POLI_KG")
    if test_config is not None:
        app.config.from_mapping(test_config)
    app.config["BUILD_DIR"] = os.fspath(app.config["BUILD_DIR"])
    # Bodies larger than a form-encoded maximal query (percent-encoding up to x3) are refused early.
    if app.config.get("MAX_CONTENT_LENGTH") is None:
        app.config["MAX_CONTENT_LENGTH"] = 3 * int(app.config["MAX_QUERY_LENGTH"]) + 65536

    store.init_app(app)
    for blueprint in (sparql.bp, querypage.bp, linkeddata.bp, downloads.bp, catalog.bp):
        app.register_blueprint(blueprint)

    app.add_url_rule("/healthz", view_func=healthz)
    security.init_app(app)
    app.register_error_handler(HTTPException, plain_error)
    app.before_request(start_timer)
    app.after_request(add_cors_headers)
    app.after_request(log_access)
    return app


def healthz() -> Response:
    """Liveness and readiness: 200 with triple counts when the store answers, else 503.

    The store is named by its kind only (``oxigraph``, ``sparql``, …): its URL or folder
    may name a private host or a path, and is never sent.
    """
    try:
        sizes = store.get_store().graph_sizes()
    except (store.QueryError, store.QueryTimeout, store.ChildFailed) as exc:
        logging.getLogger(__name__).error("health check: %s", exc)  # may name paths: not sent
        body = {"status": "unavailable", "error": "the store does not answer"}
        return Response(json.dumps(body), status=503, content_type="application/json")
    body = {"status": "ok", "store": store.get_store().kind,
            "triples": sum(sizes.values()), "graphs": sizes}
    return Response(json.dumps(body), content_type="application/json")


def start_timer() -> None:
    """Remember when the request started (for the access log)."""
    g.request_started = time.perf_counter()


def add_cors_headers(response: Response) -> Response:
    """CORS: anyone may read; preflight answers the allowed methods and headers."""
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Access-Control-Expose-Headers"] = EXPOSED_HEADERS
    if request.method == "OPTIONS":
        response.headers.update(CORS_HEADERS)
    return response


def log_access(response: Response) -> Response:
    """One JSON line per request on the ``poli_kg.access`` logger."""
    started = g.get("request_started")
    record: dict[str, Any] = {
        "method": request.method,
        "path": request.path,
        "status": response.status_code,
        "duration_ms": round((time.perf_counter() - started) * 1000, 2) if started else None,
        "bytes": response.content_length,
        "client": request.remote_addr,
    }
    for key, name in (("sparql_form", "form"), ("query_ms", "query_ms"),
                      ("result_count", "results"), ("result_truncated", "truncated"),
                      ("result_cached", "cached")):
        value = g.get(key)
        if value is not None:
            record[name] = value
    access_log.info(json.dumps(record))
    return response
