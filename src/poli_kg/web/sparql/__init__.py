"""The SPARQL endpoint ``/sparql`` (blueprint ``sparql``): the SPARQL 1.1 Protocol query
operation, read-only, its service description, and the HTML query page (blueprint
``querypage``, :mod:`poli_kg.web.sparql.querypage`).

Requests (https://www.w3.org/TR/sparql11-protocol/#query-operation):

* ``GET /sparql?query=...``
* ``POST /sparql`` with ``application/x-www-form-urlencoded`` (``query=...``)
* ``POST /sparql`` with ``application/sparql-query`` (the query is the body)

each with optional, repeatable ``default-graph-uri`` / ``named-graph-uri`` and an
optional ``format`` (``json``, ``xml``, ``csv``, ``tsv``, ``turtle``/``ttl``,
``nt``/``ntriples``, ``jsonld``, ``rdfxml``, or a media type) that overrides
``Accept`` (:mod:`~poli_kg.web.sparql.formats`).  ``GET /sparql`` without a query
answers a SPARQL 1.1 Service Description (RDF clients;
:mod:`~poli_kg.web.sparql.description`) or the HTML query page (browsers).

Safe by default (:mod:`~poli_kg.web.sparql.protocol`):

* SPARQL Update in any form (``update=``, ``application/sparql-update``, an update
  sent as ``query``) -> 403;
* ``SERVICE`` -> 403 (the engines would send HTTP requests);
* ``FROM`` / ``FROM NAMED`` / ``default-graph-uri`` / ``named-graph-uri`` naming a
  graph outside the dataset -> 400 listing the dataset's graphs (nothing is fetched);
* queries longer than ``MAX_QUERY_LENGTH`` characters -> 413;
* a request body declared in a charset other than UTF-8 -> 400 saying so;
* queries nesting deeper than ``MAX_QUERY_NESTING`` (see :func:`poli_kg.store.lexer.nesting`:
  brackets and chains such as ``a+b+…``; the engines would run out of stack) -> 400;
* queries run in killable child processes (:mod:`poli_kg.store.executor`): longer than
  ``QUERY_TIMEOUT`` seconds, or using more memory than the executor's limit -> 503;
* a remote store (``sparql:URL``) that stops the query at its own time limit, or marks its
  answer as incomplete (:class:`~poli_kg.store.StoreTimeout`) -> 503 saying so (make the
  query narrower; no ``Retry-After``: the same query would meet the same limit); a store
  that cannot be reached or opened -> 503 with ``Retry-After`` (logged; the store's own
  words may name hosts or paths and are never sent);
* at most ``MAX_RESULTS`` solutions (SELECT) or triples (CONSTRUCT, DESCRIBE) are
  returned.  Every result carries ``X-Result-Count: <n>`` and
  ``X-Result-Truncated: true|false`` headers (``true`` when the cap cut it short).

``/sparql/`` answers as ``/sparql``.  A query's base IRI is the endpoint's URL, and the
predefined prefixes need no declaration (:mod:`~poli_kg.web.sparql.prologue`); a syntax error
says where, with the line and a caret, and what was expected
(:mod:`~poli_kg.web.sparql.diagnostics`).  A result cut at the cap also says so in a
``Warning`` header and, in SPARQL JSON, a ``truncation`` member
(:mod:`~poli_kg.web.sparql.responses`).  GET results carry an ETag naming the build and the
request, ``Cache-Control`` and ``Vary: Accept, Accept-Encoding``; ``If-None-Match`` is answered
304 before the query runs; results are gzipped when accepted
(:mod:`~poli_kg.web.sparql.caching`); ``Server-Timing`` gives the stages' times.
``docs/sparql.md`` describes it all for users.

Responses have ``Content-Type: <type>; charset=utf-8`` and ``Vary: Accept``; errors
are short ``text/plain`` messages (see :mod:`poli_kg.web.base.errors`).

This module is where a request meets the store: the other modules of the package read,
check and describe without asking it.  The view records the query's form, time and
result size in the access log (:func:`poli_kg.web.base.accesslog.record`).
"""

from __future__ import annotations

import logging
from pathlib import Path

from flask import Blueprint, Response, current_app, request
from werkzeug.exceptions import BadRequest, Forbidden, InternalServerError, ServiceUnavailable

from poli_kg import store as store_module
from poli_kg.store import (
    SPARQL_RESULTS_JSON, ChildFailed, QueryEvaluationError, QueryRefused, QueryResult,
    QuerySyntaxError, QueryTimeout, StoreTimeout, StoreUnavailable,
)
from poli_kg.store.executor import QueryMemoryExceeded
from poli_kg.store.lexer import QueryInfo
from poli_kg.web.base import accesslog
from poli_kg.web.base.conneg import add_vary
from poli_kg.web.base.settings import (
    DEFAULT_MAX_QUERY_LENGTH, DEFAULT_MAX_QUERY_NESTING, DEFAULT_RESULT_MAX_AGE,
)
from poli_kg.web.sparql import caching
from poli_kg.web.sparql.caching import representation
from poli_kg.web.sparql.description import description_format, endpoint_url, service_description
from poli_kg.web.sparql.diagnostics import syntax_message
from poli_kg.web.sparql.formats import Format, choose_format
from poli_kg.web.sparql.prologue import PreparedQuery
from poli_kg.web.sparql.protocol import ProtocolRequest, check_query, read_protocol_request
from poli_kg.web.sparql.querypage import render_query_page
from poli_kg.web.sparql.responses import Timings, result_response

log = logging.getLogger(__name__)
bp = Blueprint("sparql", __name__)

STORE_UNAVAILABLE = "The store is not available; the incident has been logged."
STORE_RETRY_AFTER = 30
"""Seconds a client is asked to wait (``Retry-After``) when the store is not available."""
STORE_STOPPED_QUERY = (
    "The query was stopped by the store: it reached the store's own time limit, or the "
    "store marked its answer as incomplete (partial results are never passed on). "
    "Make the query narrower (more selective patterns, or a LIMIT) and try again.")


@bp.route("/sparql", methods=["GET", "POST"])
@bp.route("/sparql/", methods=["GET", "POST"])
def endpoint() -> Response:
    """SPARQL 1.1 Protocol query operation; without a query, the service description."""
    timings = Timings()
    req = read_protocol_request()
    if req.query is None:
        return _without_query(req)
    config = current_app._get_current_object().config  # (each read through the proxy: ~0.5 µs)
    url = endpoint_url()
    info, prepared = check_query(
        req.query, req, _dataset_graphs,
        int(config.get("MAX_QUERY_LENGTH", DEFAULT_MAX_QUERY_LENGTH)),
        int(config.get("MAX_QUERY_NESTING", DEFAULT_MAX_QUERY_NESTING)), url)
    accesslog.record(form=info.form)
    if info.form is None:  # not a query: let the parser say why
        media_type = SPARQL_RESULTS_JSON
    else:
        media_type = choose_format(info.form, request.headers.get("Accept"), req.format).media_type
    limit = int(config.get("MAX_RESULTS", 10_000))
    max_age = int(config.get("RESULT_MAX_AGE", DEFAULT_RESULT_MAX_AGE))
    rep = representation(_cacheable_build(), (req.query, media_type, url, str(limit)),
                         (req.default_graph_uris, req.named_graph_uris))
    if caching.not_modified(rep):
        return caching.not_modified_response(rep, max_age)
    timings.mark("parse")
    result = execute(req, info, media_type, prepared)
    timings.mark("execute")
    _record(result)
    response = caching.apply(result_response(result, limit), rep, max_age)
    timings.mark("serialise")
    response.headers["Server-Timing"] = timings.header(result.cached)
    return response


def _without_query(req: ProtocolRequest) -> Response:
    """``GET /sparql`` without a query: the service description, or the query page."""
    if request.method == "POST":
        raise BadRequest("Missing query: POST query=... (form) or an "
                         "application/sparql-query body.")
    fmt = description_format(req.format, request.headers.get("Accept"))
    if fmt is None:
        return current_app.make_response(render_query_page())
    return describe_service(fmt)


def _cacheable_build() -> Path | None:
    """The folder of the build the results come from; None when they may change without a new
    build (a remote store) or there is none yet."""
    store = store_module.get_store()
    return None if store.kind == "sparql" else store.build.folder()


def _record(result: QueryResult) -> None:
    """What the access log records of a query."""
    accesslog.record(form=result.form, query_ms=round(result.query_ms, 2),
                     results=result.count, truncated=result.truncated, cached=result.cached)


def execute(req: ProtocolRequest, info: QueryInfo, media_type: str,
            prepared: PreparedQuery | None = None) -> QueryResult:
    """Run the query (``prepared``'s text when given: :func:`check_query` made it) in a child
    process and map failures to HTTP errors."""
    assert req.query is not None
    prepared = prepared or PreparedQuery(req.query)
    try:
        return store_module.get_store().execute(
            prepared.text, form=info.form, media_type=media_type,
            default_graph_uris=req.default_graph_uris, named_graph_uris=req.named_graph_uris)
    except QueryMemoryExceeded as exc:
        raise ServiceUnavailable(
            f"The query was stopped: it needed more than {exc.limit // 2**20} MB of memory. "
            "Make it more selective or add a LIMIT.") from exc
    except QueryTimeout as exc:
        raise ServiceUnavailable(
            f"The query was stopped: it did not finish within "
            f"{current_app.config.get('QUERY_TIMEOUT', 30)} s. Make it more selective "
            "or add a LIMIT.") from exc
    except QuerySyntaxError as exc:
        raise BadRequest(syntax_message(str(exc), req.query, prepared.added_lines)) from exc
    except QueryRefused as exc:
        raise Forbidden(str(exc)) from exc
    except QueryEvaluationError as exc:
        raise BadRequest(str(exc)) from exc
    except StoreTimeout as exc:
        log.warning("the store stopped the query: %s", exc)  # the store's words: logged only
        raise ServiceUnavailable(STORE_STOPPED_QUERY) from exc
    except StoreUnavailable as exc:
        raise _store_unavailable(exc) from exc
    except ChildFailed as exc:
        log.error("query process failed: %s", exc)
        raise InternalServerError("The query process failed; the incident has been logged.") \
            from exc


def describe_service(fmt: Format) -> Response:
    """The service description in ``fmt``, with the store's graphs and their sizes."""
    store = store_module.get_store()
    try:
        sizes = store.graph_sizes()
        graphs = store.named_graphs
    except QueryTimeout as exc:
        log.error("store unavailable: %s", exc)
        raise ServiceUnavailable(STORE_UNAVAILABLE) from exc
    except StoreUnavailable as exc:
        raise _store_unavailable(exc) from exc
    body = service_description(endpoint_url(), sizes, graphs).serialize(format=fmt.rdflib_name)
    return Response(body, content_type=f"{fmt.media_type}; charset=utf-8")


def _dataset_graphs() -> tuple[str, ...]:
    """The dataset's named graphs (answered by the store, cached)."""
    try:
        return store_module.get_store().named_graphs
    except QueryTimeout as exc:
        raise ServiceUnavailable(f"The store did not answer: {exc}.") from exc
    except StoreUnavailable as exc:
        raise _store_unavailable(exc) from exc


def _store_unavailable(exc: StoreUnavailable) -> ServiceUnavailable:
    """The 503 for a store that cannot answer (logged; the details are not sent)."""
    log.error("store unavailable: %s", exc)
    return ServiceUnavailable(STORE_UNAVAILABLE, retry_after=STORE_RETRY_AFTER)


@bp.after_app_request
def vary_on_accept(response: Response) -> Response:
    """``Vary: Accept`` on every /sparql response (errors included)."""
    if request.path.rstrip("/") == "/sparql":
        add_vary(response, "Accept")
    return response
