"""One SPARQL 1.1 Protocol query operation: read it from the request and check it.

:func:`read_protocol_request` reads the three ways of sending a query (GET, form POST,
``application/sparql-query`` POST) and refuses updates; :func:`check_query` refuses what
this read-only endpoint does not do (see :mod:`poli_kg.web.sparql`), before the store is
asked to run anything, and prepares the text the store is sent
(:func:`poli_kg.web.sparql.prologue.prepare`: the base IRI, the predefined prefixes).

The protocol's encoding is UTF-8: a body declared in another charset (``charset=UTF-16``,
``ISO-8859-1``) is refused with 400 saying so, rather than read in it or misread as UTF-8;
so are bytes that are not UTF-8 where UTF-8 is declared or implied.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, unquote_to_bytes

from flask import Request, request
from werkzeug.exceptions import BadRequest, Forbidden, RequestEntityTooLarge, UnsupportedMediaType

from poli_kg.store.lexer import QueryInfo, nesting, scan
from poli_kg.web.base.settings import DEFAULT_MAX_QUERY_NESTING
from poli_kg.web.sparql.prologue import PreparedQuery, prepare

UPDATE_REFUSED = "SPARQL Update is not allowed: this endpoint is read-only."
SERVICE_REFUSED = (
    "SERVICE (federated query) is not allowed: this endpoint queries only its own dataset."
)
UTF8_CHARSETS = frozenset({"utf-8", "utf8", "us-ascii", "ascii"})
"""Charsets a request body may declare (ASCII is UTF-8's first half)."""


@dataclass
class ProtocolRequest:
    """The parameters of one SPARQL protocol request."""

    query: str | None
    default_graph_uris: list[str] = field(default_factory=list)
    named_graph_uris: list[str] = field(default_factory=list)
    format: list[str] = field(default_factory=list)


# -- reading the request ----------------------------------------------------------------

def _single(values: list[str], name: str) -> str | None:
    """The one value of a parameter that may be given at most once."""
    if len(values) > 1:
        raise BadRequest(f"Give the {name} parameter once, not {len(values)} times.")
    return values[0] if values else None


Params = dict[str, list[str]]
"""A request's parameters: each name's values in the order sent (form body first, then URL)."""


def _parse_utf8(raw: bytes, what: str, into: Params | None = None) -> Params:
    """The parameters of ``raw`` (a query string or form body), read once and added to
    ``into``; 400 unless it decodes as UTF-8 throughout.

    werkzeug's own parsing replaces undecodable bytes by U+FFFD, which would silently change
    the query; this one reads the same pairs, strictly.
    """
    params: Params = {} if into is None else into
    if not raw:
        return params
    try:
        pairs = parse_qsl(raw.decode("utf-8"), keep_blank_values=True, encoding="utf-8",
                          errors="strict")
    except UnicodeDecodeError as exc:
        raise BadRequest(f"The {what} is not valid UTF-8: percent-encode the UTF-8 bytes "
                         "of the query.") from exc
    for name, value in pairs:
        params.setdefault(name, []).append(value)
    return params


def _require_utf8_charset(req: Request, body: bytes | None = None) -> None:
    """400 when the body of ``req`` declares a charset other than UTF-8.

    A form body (``body``) whose percent-decoded bytes are all ASCII reads the same in
    any such charset, and is let through (older HTTP libraries label forms ISO-8859-1).
    """
    charset = req.mimetype_params.get("charset")
    if charset is None or charset.strip().strip('"').lower() in UTF8_CHARSETS:
        return
    if body is None or not unquote_to_bytes(body.replace(b"+", b" ")).isascii():
        raise BadRequest(
            f"The request body is declared as charset={charset[:40]}, which is not valid "
            f"here: this endpoint reads queries in UTF-8 only (SPARQL 1.1 Protocol). Send "
            f"the query's UTF-8 bytes, with Content-Type {req.mimetype}; charset=utf-8 "
            "or no charset.")


def _read_post(req: Request) -> tuple[Params, str | None]:
    """The parameters and the query of a POST: a form, or an application/sparql-query body."""
    mimetype = req.mimetype
    if mimetype == "application/sparql-update":
        raise Forbidden(UPDATE_REFUSED)
    if mimetype == "application/sparql-query":
        _require_utf8_charset(req)
        args = _parse_utf8(req.query_string, "URL's query string")
        try:
            query = req.get_data(cache=False).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BadRequest("The query is not valid utf-8 text: send its UTF-8 bytes.") from exc
        if "query" in args:
            raise BadRequest("With Content-Type application/sparql-query the query is "
                             "the request body, not a query parameter.")
        return args, query
    if mimetype in ("application/x-www-form-urlencoded", "multipart/form-data", ""):
        if mimetype == "application/x-www-form-urlencoded":
            body = req.get_data(cache=True)
            _require_utf8_charset(req, body)
            params = _parse_utf8(body, "form")
        else:
            params = {name: req.form.getlist(name) for name in req.form}
        params = _parse_utf8(req.query_string, "URL's query string", params)
        return params, _single(params.get("query", []), "query")
    raise UnsupportedMediaType(
        f"Content-Type {mimetype} is not supported. POST a query as "
        "application/x-www-form-urlencoded (query=...) or as application/sparql-query.")


def read_protocol_request() -> ProtocolRequest:
    """Parse the current request as a SPARQL protocol query operation.

    Raises the HTTP errors of the protocol: 403 for updates, 415 for unknown
    content types, 400 for malformed parameters.
    """
    req = request._get_current_object()  # (each read through the proxy costs ~0.5 µs)
    if req.method == "POST":
        params, query = _read_post(req)
    else:
        params = _parse_utf8(req.query_string, "URL's query string")
        query = _single(params.get("query", []), "query")
    if "update" in params:
        raise Forbidden(UPDATE_REFUSED)
    return ProtocolRequest(
        query=query,
        default_graph_uris=[u.strip() for u in params.get("default-graph-uri", [])],
        named_graph_uris=[u.strip() for u in params.get("named-graph-uri", [])],
        format=params.get("format", []),
    )


# -- checking the query -----------------------------------------------------------------

def check_query(query: str, req: ProtocolRequest, dataset_graphs: Callable[[], Sequence[str]],
                max_length: int, max_nesting: int = DEFAULT_MAX_QUERY_NESTING,
                base: str = "") -> tuple[QueryInfo, PreparedQuery]:
    """Refuse what this endpoint does not do; return what the lexer found and the text to send
    the store (``query`` with the base IRI ``base`` and the predefined prefixes it needs).

    ``dataset_graphs`` answers the dataset's named graphs; it is called only when the
    query or the request names a graph.  Sizes are checked on the user's text, graphs on
    the prepared one (a relative ``FROM <g>`` resolves against the base IRI).
    """
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
    prepared = prepare(query, base) if base else PreparedQuery(query)
    info = scan(prepared.text)
    if info.is_update:
        raise Forbidden(UPDATE_REFUSED)
    if info.service:
        raise Forbidden(SERVICE_REFUSED)
    _check_graphs(info, req, dataset_graphs)
    return info, prepared


def _check_graphs(info: QueryInfo, req: ProtocolRequest,
                  dataset_graphs: Callable[[], Sequence[str]]) -> None:
    """400 listing the dataset's graphs when the query or the request names another one."""
    graphs = [*info.from_graphs, *info.from_named_graphs,
              *req.default_graph_uris, *req.named_graph_uris]
    if not graphs and not info.unresolved_graphs:
        return
    own = dataset_graphs()
    unknown = [f"<{iri}>" for iri in dict.fromkeys(graphs) if iri not in own]
    unknown += [f"{text!r} (write FROM <iri>)" for text in info.unresolved_graphs]
    if unknown:
        raise BadRequest(
            "Unknown graph " + ", ".join(unknown) + ". This endpoint queries only its "
            "own dataset and fetches nothing; its named graphs are:\n"
            + "\n".join(f"  <{iri}>" for iri in own)
            + "\n(the default graph is their union)")
