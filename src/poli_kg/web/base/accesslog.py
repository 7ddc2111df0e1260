"""The access log: one JSON line per request on the ``poli_kg.access`` logger.

Each line holds the method, path, status, duration, size and client; a SPARQL query adds
what its view left in :data:`flask.g` (:data:`QUERY_FIELDS`: query form, query time,
result count, truncation, cache hit).  :func:`init_app` is called by
:func:`poli_kg.web.create_app`.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from flask import Flask, Response, g, request

access_log = logging.getLogger("poli_kg.access")

QUERY_FIELDS = (("sparql_form", "form"), ("query_ms", "query_ms"),
                ("result_count", "results"), ("result_truncated", "truncated"),
                ("result_cached", "cached"))
"""(name in :data:`flask.g`, name in the log line) of what a query's view records."""


def start_timer() -> None:
    """Remember when the request started (for the access log)."""
    g.request_started = time.perf_counter()


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
    for key, name in QUERY_FIELDS:
        value = g.get(key)
        if value is not None:
            record[name] = value
    access_log.info(json.dumps(record))
    return response


def init_app(app: Flask) -> None:
    """Time every request and log it when its response is ready."""
    app.before_request(start_timer)
    app.after_request(log_access)
