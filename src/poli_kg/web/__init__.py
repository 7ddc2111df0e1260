"""The web application: SPARQL endpoint, query page and linked-data pages (flaskr style).

:func:`create_app` reads the configuration (keys and defaults: :mod:`poli_kg.web.base.settings`;
override with the config file or environment variables ``POLI_KG_<KEY>``, see
:func:`poli_kg.config.load_settings`, or ``create_app(test_config)``), opens
the store, registers the blueprints side by side and the app-wide hooks: rate limiting and
security headers (:mod:`~poli_kg.web.base.security`), errors written for the client
(:mod:`~poli_kg.web.base.errors`), CORS (:mod:`~poli_kg.web.base.cors`), the access log
(:mod:`~poli_kg.web.base.accesslog`) and compression with static caching
(:mod:`~poli_kg.web.base.compression`).  ``/healthz`` answers whether the store does.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from inspect import CO_COROUTINE
from types import FunctionType
from typing import Any

from flask import Flask, Response
from werkzeug.exceptions import HTTPException

from poli_kg import store
from poli_kg.config import load_settings
from poli_kg.web import catalog
from poli_kg.web import downloads
from poli_kg.web import graphs, home, listings, ontology, releases, resources
from poli_kg.web import reconcile, search
from poli_kg.web import sparql
from poli_kg.web.base import accesslog, compression, cors, security
from poli_kg.web.base.errors import plain_error
from poli_kg.web.base.settings import DEFAULTS
from poli_kg.web.sparql import querypage


class Application(Flask):
    """Flask, with a quicker answer to whether a plain function is ``async``.

    Flask asks it before every call of a view or hook, several times a request, through
    :func:`inspect.iscoroutinefunction`, which unwraps partials and methods first; for a
    plain function the answer is in its code's flags (and, from Python 3.12, in a marker
    attribute :func:`inspect.markcoroutinefunction` sets).
    """

    def ensure_sync(self, func: Callable[..., Any]) -> Callable[..., Any]:
        """See :meth:`flask.Flask.ensure_sync`."""
        if (type(func) is FunctionType and not func.__code__.co_flags & CO_COROUTINE
                and "_is_coroutine_marker" not in func.__dict__):
            return func
        return super().ensure_sync(func)


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Create and configure the application."""
    app = Application(__name__)
    app.config.from_mapping(DEFAULTS)
    app.config.from_mapping(load_settings())   # the config file, then POLI_KG_<KEY> variables
    if test_config is not None:
        app.config.from_mapping(test_config)
    app.config["BUILD_DIR"] = os.fspath(app.config["BUILD_DIR"])
    # Bodies larger than a form-encoded maximal query (percent-encoding up to x3) are refused early.
    if app.config.get("MAX_CONTENT_LENGTH") is None:
        app.config["MAX_CONTENT_LENGTH"] = 3 * int(app.config["MAX_QUERY_LENGTH"]) + 65536

    store.init_app(app)
    for blueprint in (sparql.bp, querypage.bp, home.bp, listings.bp, resources.bp, ontology.bp, graphs.bp,
                      downloads.bp, catalog.bp, releases.bp, search.bp, reconcile.bp):
        app.register_blueprint(blueprint)

    app.add_url_rule("/healthz", view_func=healthz)
    security.init_app(app)
    app.register_error_handler(HTTPException, plain_error)
    cors.init_app(app)
    accesslog.init_app(app)
    compression.init_app(app)
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
