"""The SPARQL endpoint ``/sparql``: the SPARQL 1.1 Protocol query operation, read-only.

Requests (https://www.w3.org/TR/sparql11-protocol/#query-operation):

* ``GET /sparql?query=...``
* ``POST /sparql`` with ``application/x-www-form-urlencoded`` (``query=...``)
* ``POST /sparql`` with ``application/sparql-query`` (the query is the body)

each with optional, repeatable ``default-graph-uri`` / ``named-graph-uri`` and an
optional ``format`` (``json``, ``xml``, ``csv``, ``tsv``, ``turtle``/``ttl``,
``nt``/``ntriples``, ``jsonld``, ``rdfxml``, or a media type) that overrides
``Accept``.  ``GET /sparql`` without a query answers a SPARQL 1.1 Service
Description (RDF clients) or the HTML query page (browsers).

Safe by default:

* SPARQL Update in any form (``update=``, ``application/sparql-update``, an update
  sent as ``query``) -> 403;
* ``SERVICE`` -> 403 (the engines would send HTTP requests);
* ``FROM`` / ``FROM NAMED`` / ``default-graph-uri`` / ``named-graph-uri`` naming a
  graph outside the dataset -> 400 listing the dataset's graphs (nothing is fetched);
* queries longer than ``MAX_QUERY_LENGTH`` characters -> 413;
* queries nesting deeper than ``MAX_QUERY_NESTING`` (see :func:`poli_kg.store.lexer.nesting`:
  brackets and chains such as ``a+b+…``; the engines would run out of stack) -> 400;
* queries run in killable child processes (:mod:`poli_kg.store.executor`): longer than
  ``QUERY_TIMEOUT`` seconds, or using more memory than the executor's limit -> 503;
* a remote store (``sparql:URL``) that stops the query at its own time limit, or marks its
  answer as incomplete (:class:`~poli_kg.store.StoreTimeout`) -> 503 saying so (make the
  query narrower; no ``Retry-After``: the same query would meet the same limit); a store
  that cannot be reached or opened -> 503 with ``Retry-After``;
* at most ``MAX_RESULTS`` solutions (SELECT) or triples (CONSTRUCT, DESCRIBE) are
  returned.  Every result carries ``X-Result-Count: <n>`` and
  ``X-Result-Truncated: true|false`` headers (``true`` when the cap cut it short).

Responses have ``Content-Type: <type>; charset=utf-8`` and ``Vary: Accept``; errors
are short ``text/plain`` messages (see :mod:`poli_kg.web`).
"""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from flask import Blueprint, Response, current_app, g, request
from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import RDF, VOID, XSD
from werkzeug.datastructures import CombinedMultiDict, MultiDict
from werkzeug.exceptions import (
    BadRequest, Forbidden, HTTPException, InternalServerError, NotAcceptable,
    RequestEntityTooLarge, ServiceUnavailable, UnsupportedMediaType,
)

from poli_kg import store as store_module
from poli_kg.web.base.conneg import negotiate
from poli_kg.store.executor import QueryMemoryExceeded
from poli_kg.namespaces import SD, bind_prefixes
from poli_kg.store.lexer import QueryInfo, nesting, scan
from poli_kg.store import (
    CSV, JSON_LD, N_TRIPLES, RDF_XML, SPARQL_RESULTS_JSON, SPARQL_RESULTS_XML, TSV, TURTLE,
    ChildFailed, QueryEvaluationError, QueryRefused, QueryResult, QuerySyntaxError,
    QueryTimeout, StoreTimeout, StoreUnavailable,
)

__all__ = ["Format", "GRAPH_FORMATS", "RESULT_FORMATS", "bp", "choose_format", "scan"]

log = logging.getLogger(__name__)
bp = Blueprint("sparql", __name__)

FORMATS_NS = Namespace("http://www.w3.org/ns/formats/")
HTML = "text/html"
XHTML = "application/xhtml+xml"
UPDATE_REFUSED = "SPARQL Update is not allowed: this endpoint is read-only."
SERVICE_REFUSED = (
    "SERVICE (federated query) is not allowed: this endpoint queries only its own dataset."
)
DEFAULT_MAX_QUERY_LENGTH = 100_000
DEFAULT_MAX_QUERY_NESTING = 1000
"""oxigraph's query process overflows its stack (8 MB) above about 2200 (``{{{…}}}``)."""
STORE_UNAVAILABLE = "The store is not available; the incident has been logged."
STORE_RETRY_AFTER = 30
"""Seconds a client is asked to wait (``Retry-After``) when the store is not available."""
STORE_STOPPED_QUERY = (
    "The query was stopped by the store: it reached the store's own time limit, or the "
    "store marked its answer as incomplete (partial results are never passed on). "
    "Make the query narrower (more selective patterns, or a LIMIT) and try again.")


@dataclass(frozen=True)
class Format:
    """A result format: its media type, ``format=`` names, and media types that alias it."""

    media_type: str
    names: tuple[str, ...]
    aliases: tuple[str, ...] = ()
    w3c: str = ""
    """Its IRI under http://www.w3.org/ns/formats/ (for the service description)."""
    rdflib_name: str = ""
    """rdflib's serializer name (RDF formats only)."""


RESULT_FORMATS: tuple[Format, ...] = (
    Format(SPARQL_RESULTS_JSON, ("json", "srj"), ("application/json",), "SPARQL_Results_JSON"),
    Format(SPARQL_RESULTS_XML, ("xml", "srx"), (), "SPARQL_Results_XML"),
    Format(CSV, ("csv",), (), "SPARQL_Results_CSV"),
    Format(TSV, ("tsv",), (), "SPARQL_Results_TSV"),
)
"""Formats of SELECT and ASK results, the default first."""
GRAPH_FORMATS: tuple[Format, ...] = (
    Format(TURTLE, ("turtle", "ttl"), ("application/x-turtle",), "Turtle", "turtle"),
    Format(N_TRIPLES, ("nt", "ntriples", "n-triples"), (), "N-Triples", "nt"),
    Format(JSON_LD, ("jsonld", "json-ld", "json"), ("application/json",), "JSON-LD", "json-ld"),
    Format(RDF_XML, ("rdfxml", "rdf+xml", "rdf", "xml"), (), "RDF_XML", "xml"),
)
"""Formats of CONSTRUCT and DESCRIBE results (and of the service description), the default first."""
FORMATS_BY_FORM: dict[str, tuple[Format, ...]] = {
    "SELECT": RESULT_FORMATS, "ASK": RESULT_FORMATS,
    "CONSTRUCT": GRAPH_FORMATS, "DESCRIBE": GRAPH_FORMATS,
}


@dataclass
class ProtocolRequest:
    """The parameters of one SPARQL protocol request."""

    query: str | None
    default_graph_uris: list[str] = field(default_factory=list)
    named_graph_uris: list[str] = field(default_factory=list)
    format: list[str] = field(default_factory=list)


# -- content negotiation ---------------------------------------------------------------

def _offers(formats: Sequence[Format]) -> list[tuple[str, Format]]:
    """(media type, format) pairs to negotiate over: canonical types first, then aliases."""
    return ([(f.media_type, f) for f in formats]
            + [(alias, f) for f in formats for alias in f.aliases])


def _available(formats: Sequence[Format]) -> str:
    """Plain-text list of formats, for error messages."""
    return "\n".join(f"  {f.media_type}  (format={f.names[0]})" for f in formats)


def choose_format(
    form: str, accept: str | None, format_param: str | Sequence[str] | None = None
) -> Format:
    """The result format for a query of ``form``: by ``format_param`` if given, else by ``accept``.

    ``format_param`` may hold several values (SPARQLWrapper sends ``format=tsv&format=
    text/tab-separated-values``): the first that names a format of ``form`` wins.
    Raises NotAcceptable (406) with the list of acceptable types.
    """
    formats = FORMATS_BY_FORM[form]
    values = [format_param] if isinstance(format_param, str) else list(format_param or [])
    values = [v.strip().lower() for v in values if v and v.strip()]
    if values:
        for wanted in values:
            for fmt in formats:
                if wanted in fmt.names or wanted == fmt.media_type or wanted in fmt.aliases:
                    return fmt
        raise NotAcceptable(
            f"format={values[0]} is not available for {form} queries. Available:\n"
            + _available(formats))
    offers = _offers(formats)
    chosen = negotiate(accept, [media_type for media_type, _ in offers])
    if chosen is None:
        raise NotAcceptable(
            f"None of the media types in the Accept header ({accept}) is available for "
            f"{form} queries. Available:\n" + _available(formats)
            + "\n(or choose with the format parameter)")
    return dict(offers)[chosen]


# -- reading the request ----------------------------------------------------------------

def _single(values: list[str], name: str) -> str | None:
    """The one value of a parameter that may be given at most once."""
    if len(values) > 1:
        raise BadRequest(f"Give the {name} parameter once, not {len(values)} times.")
    return values[0] if values else None


def _require_utf8(raw: bytes, what: str) -> None:
    """400 unless ``raw`` (a query string or form body) decodes as UTF-8 throughout.

    werkzeug replaces undecodable bytes by U+FFFD, which would silently change the query.
    """
    try:
        parse_qsl(raw.decode("utf-8"), keep_blank_values=True, encoding="utf-8",
                  errors="strict")
    except UnicodeDecodeError as exc:
        raise BadRequest(f"The {what} is not valid UTF-8: percent-encode the UTF-8 bytes "
                         "of the query.") from exc


def read_protocol_request() -> ProtocolRequest:
    """Parse the current request as a SPARQL protocol query operation.

    Raises the HTTP errors of the protocol: 403 for updates, 415 for unknown
    content types, 400 for malformed parameters.
    """
    params: MultiDict[str, str] | CombinedMultiDict[str, str]
    query: str | None
    if request.method == "POST":
        mimetype = request.mimetype
        if mimetype == "application/sparql-update":
            raise Forbidden(UPDATE_REFUSED)
        if mimetype == "application/sparql-query":
            _require_utf8(request.query_string, "URL's query string")
            params = request.args
            charset = request.mimetype_params.get("charset", "utf-8")
            try:
                query = request.get_data(cache=False).decode(charset)
            except (LookupError, UnicodeDecodeError) as exc:
                raise BadRequest(f"The query is not valid {charset} text.") from exc
            if "query" in params:
                raise BadRequest("With Content-Type application/sparql-query the query is "
                                 "the request body, not a query parameter.")
        elif mimetype in ("application/x-www-form-urlencoded", "multipart/form-data", ""):
            _require_utf8(request.query_string, "URL's query string")
            if mimetype == "application/x-www-form-urlencoded":
                _require_utf8(request.get_data(cache=True), "form")
            params = CombinedMultiDict([request.form, request.args])
            query = _single(params.getlist("query"), "query")
        else:
            raise UnsupportedMediaType(
                f"Content-Type {mimetype} is not supported. POST a query as "
                "application/x-www-form-urlencoded (query=...) or as application/sparql-query.")
    else:
        _require_utf8(request.query_string, "URL's query string")
        params = request.args
        query = _single(params.getlist("query"), "query")
    if "update" in params:
        raise Forbidden(UPDATE_REFUSED)
    return ProtocolRequest(
        query=query,
        default_graph_uris=[u.strip() for u in params.getlist("default-graph-uri")],
        named_graph_uris=[u.strip() for u in params.getlist("named-graph-uri")],
        format=params.getlist("format"),
    )


def check_query(query: str, req: ProtocolRequest, max_length: int,
                max_nesting: int = DEFAULT_MAX_QUERY_NESTING) -> QueryInfo:
    """Refuse what this endpoint does not do; return what the lexer found."""
    if not query.strip():
        raise BadRequest("The query is empty.")
    if len(query) > max_length:
        raise RequestEntityTooLarge(
            f"The query is {len(query)} characters long; this endpoint accepts queries of "
            f"at most {max_length} characters.")
    depth = nesting(query)
    if depth > max_nesting:
        raise BadRequest(
            f"The query nests too deeply ({depth} levels of brackets and chained operators "
            f"such as a+b+…, {{…}} UNION {{…}} …, ?s ?p ?o1, ?o2 …); this endpoint accepts "
            f"at most {max_nesting}. Flatten it, e.g. with VALUES or FILTER(?x IN (…)).")
    info = scan(query)
    if info.is_update:
        raise Forbidden(UPDATE_REFUSED)
    if info.service:
        raise Forbidden(SERVICE_REFUSED)
    graphs = [*info.from_graphs, *info.from_named_graphs,
              *req.default_graph_uris, *req.named_graph_uris]
    if graphs or info.unresolved_graphs:
        own = _named_graphs()
        unknown = [f"<{iri}>" for iri in dict.fromkeys(graphs) if iri not in own]
        unknown += [f"{text!r} (write FROM <iri>)" for text in info.unresolved_graphs]
        if unknown:
            raise BadRequest(
                "Unknown graph " + ", ".join(unknown) + ". This endpoint queries only its "
                "own dataset and fetches nothing; its named graphs are:\n"
                + "\n".join(f"  <{iri}>" for iri in own)
                + "\n(the default graph is their union)")
    return info


def _named_graphs() -> tuple[str, ...]:
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


# -- the endpoint ---------------------------------------------------------------------

@bp.route("/sparql", methods=["GET", "POST"])
def endpoint() -> Response:
    """SPARQL 1.1 Protocol query operation; without a query, the service description."""
    req = read_protocol_request()
    if req.query is None:
        if request.method == "POST":
            raise BadRequest("Missing query: POST query=... (form) or an "
                             "application/sparql-query body.")
        return describe_service(req.format)
    config = current_app.config
    info = check_query(req.query, req,
                       int(config.get("MAX_QUERY_LENGTH", DEFAULT_MAX_QUERY_LENGTH)),
                       int(config.get("MAX_QUERY_NESTING", DEFAULT_MAX_QUERY_NESTING)))
    g.sparql_form = info.form
    if info.form is None:  # not a query: let the parser say why
        media_type = SPARQL_RESULTS_JSON
    else:
        media_type = choose_format(info.form, request.headers.get("Accept"), req.format).media_type
    result = _execute(req, info, media_type)
    g.sparql_form = result.form
    g.query_ms = round(result.query_ms, 2)
    g.result_count = result.count
    g.result_truncated = result.truncated
    g.result_cached = result.cached
    response = Response(result.body, content_type=f"{result.media_type}; charset=utf-8")
    response.headers["X-Result-Count"] = str(result.count)
    response.headers["X-Result-Truncated"] = "true" if result.truncated else "false"
    return response


def _execute(req: ProtocolRequest, info: QueryInfo, media_type: str) -> QueryResult:
    """Run the query in a child process and map failures to HTTP errors."""
    assert req.query is not None
    try:
        return store_module.get_store().execute(
            req.query, form=info.form, media_type=media_type,
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
        raise BadRequest(f"Syntax error: {exc}") from exc
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


# -- service description ----------------------------------------------------------------

def endpoint_url() -> str:
    """Absolute URL of the endpoint: ``PUBLIC_URL`` + ``/sparql``, or from the request's host."""
    public = current_app.config.get("PUBLIC_URL")
    if public:
        return public.rstrip("/") + "/sparql"
    return request.host_url.rstrip("/") + "/sparql"


def service_description(endpoint: str, sizes: dict[str, int], graphs: Sequence[str]) -> Graph:
    """The SPARQL 1.1 Service Description of this endpoint."""
    graph = bind_prefixes(Graph())
    graph.bind("formats", FORMATS_NS)
    service, dataset, default = BNode(), BNode(), BNode()
    graph.add((service, RDF.type, SD.Service))
    graph.add((service, SD.endpoint, URIRef(endpoint)))
    graph.add((service, SD.supportedLanguage, SD.SPARQL11Query))
    graph.add((service, SD.feature, SD.UnionDefaultGraph))
    for fmt in (*RESULT_FORMATS, *GRAPH_FORMATS):
        graph.add((service, SD.resultFormat, FORMATS_NS[fmt.w3c]))
    graph.add((service, SD.defaultDataset, dataset))
    graph.add((dataset, RDF.type, SD.Dataset))
    graph.add((dataset, SD.defaultGraph, default))
    graph.add((default, RDF.type, SD.Graph))
    for iri in graphs:
        named, described = BNode(), BNode()
        graph.add((dataset, SD.namedGraph, named))
        graph.add((named, RDF.type, SD.NamedGraph))
        graph.add((named, SD.name, URIRef(iri)))
        graph.add((named, SD.graph, described))
        graph.add((described, RDF.type, SD.Graph))
        graph.add((described, VOID.triples, Literal(sizes.get(iri, 0), datatype=XSD.integer)))
    return graph


def _query_page_available() -> bool:
    """Whether the HTML query page module exists."""
    return importlib.util.find_spec("poli_kg.web.querypage") is not None


def describe_service(format_param: Sequence[str]) -> Response:
    """Answer ``GET /sparql`` without a query: service description or query page."""
    html = _query_page_available()
    accept = request.headers.get("Accept")
    if any(v.strip() for v in format_param):
        fmt = choose_format("CONSTRUCT", None, format_param)
    else:
        offers = _offers(GRAPH_FORMATS)
        extra = [HTML, XHTML] if html else []
        chosen = negotiate(accept, [m for m, _ in offers] + extra)
        if chosen is None:
            raise NotAcceptable(
                "GET /sparql without a query answers the service description in\n"
                + _available(GRAPH_FORMATS)
                + ("\nor the HTML query page (text/html)" if html else "")
                + "\nand none of these is in the Accept header. To query, pass query=...")
        if chosen in (HTML, XHTML):
            from poli_kg.web.querypage import render_query_page  # type: ignore[import-not-found]

            return current_app.make_response(render_query_page())
        fmt = dict(offers)[chosen]
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


@bp.after_app_request
def add_vary(response: Response) -> Response:
    """``Vary: Accept`` on every /sparql response (errors included)."""
    if request.path.rstrip("/") == "/sparql":
        response.vary.add("Accept")
    return response


def plain_error(exc: HTTPException) -> Response:
    """An HTTP error as a short text/plain response (keeps headers such as Allow)."""
    response = exc.get_response()
    code = exc.code or 500
    message = exc.description or exc.name
    if code == 404:
        message = f"Not found: {request.path}"
    elif code == 405:
        allowed = response.headers.get("Allow", "")
        message = f"Method {request.method} is not allowed for {request.path}. Allowed: {allowed}."
    elif code == 500 and isinstance(exc, InternalServerError) and exc.original_exception:
        message = "Internal server error; the incident has been logged."
    response.set_data(f"{code} {exc.name}: {message}\n")
    response.content_type = "text/plain; charset=utf-8"
    return response
