"""The ``sparql:URL`` backend: any SPARQL 1.1 server's query endpoint (:class:`SparqlBackend`).

Load the store with :func:`poli_kg.store.publish.publish`.  The query process sends each
query with the SPARQL 1.1 Protocol and parses the answer (:mod:`poli_kg.store.answers`)
into the same terms as the embedded engines, so serialisation, caps and bindings behave
identically.  Before anything is sent the query must parse as standard SPARQL 1.1 and pass
the same refusals as the endpoint (update, SERVICE, graphs outside the dataset, and store
extension functions such as Virtuoso's ``bif:``/``sql:``); the dataset is always sent
explicitly (the project's named graphs), so the store's other graphs are never visible.
The query process may connect to that one host and port only
(:func:`_allow_connections_to`).
"""

from __future__ import annotations

import http.client
import os
import socket
import sys
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode, urlsplit

import pyoxigraph as ox

from poli_kg.namespaces import NAMED_GRAPHS
from poli_kg.store import executor as executor_module
from poli_kg.store.answers import (
    RDF_RESPONSE_FORMATS, parse_graph_results, parse_json_results, parse_xml_results,
)
from poli_kg.store.backend import Backend, is_describe, parse_spec, short_message
from poli_kg.store.errors import (
    QueryError, QueryEvaluationError, QueryRefused, QuerySyntaxError, StoreTimeout,
    StoreUnavailable,
)
from poli_kg.store.executor import NetworkAccessDenied
from poli_kg.store.lexer import expand_unicode_escapes, scan, tokens
from poli_kg.store.results import RawResult

__all__ = ["EMPTY_GRAPH", "EXTENSION_PREFIXES", "EXTENSION_SCHEMES", "SparqlBackend",
           "strip_dataset_clauses"]

EMPTY_GRAPH = "urn:x-poli-kg:empty-graph"
"""A graph name no store holds: sent when a part of the dataset must be empty."""
EXTENSION_SCHEMES = ("bif:", "sql:", "java:")
"""IRI schemes of store extension functions, refused anywhere in a query sent to a store:
Virtuoso runs ``bif:`` built-ins (``bif:http_get`` fetches URLs, from the store's host)
and ``sql:`` procedures from SPARQL, Jena ARQ loads ``java:`` classes."""
EXTENSION_PREFIXES = ("bif", "sql")
"""Prefixes Virtuoso predeclares for them (refused even when the query does not declare them)."""
RESULTS_ACCEPT = "application/sparql-results+xml, application/sparql-results+json;q=0.9"
GRAPH_ACCEPT = ("application/n-triples, text/plain;q=0.9, application/rdf+xml;q=0.5, "
                "text/turtle;q=0.2")
_TIMEOUT_MARKERS = ("S1TAT", "S1T00", "SR171", "timed out", "timeout")
_NETWORK_AUDIT_EVENTS = frozenset({"socket.connect", "socket.getaddrinfo", "urllib.Request"})


def _extension_iri(query: str) -> str | None:
    """The first IRI or prefixed name of ``query`` in a store extension namespace, if any."""
    for text in dict.fromkeys((query, expand_unicode_escapes(query))):
        for tok in tokens(text):
            if tok.kind == "IRI" and tok.text[1:-1].lower().startswith(EXTENSION_SCHEMES):
                return tok.text
            if tok.kind == "PNAME" and tok.text.split(":", 1)[0].lower() in EXTENSION_PREFIXES:
                return tok.text
    return None


def strip_dataset_clauses(query: str) -> str:
    """``query`` without its ``FROM`` / ``FROM NAMED`` clauses (the text around is kept).

    The SPARQL protocol's ``default-graph-uri`` / ``named-graph-uri`` replace the query's
    dataset; Virtuoso adds them to it instead, so the backend sends the dataset only
    through the protocol.  Raises QueryRefused if a dataset clause is left (spelled in a
    way the lexer does not take apart).
    """
    toks = tokens(query)
    spans: list[tuple[int, int]] = []
    i = 0
    while i < len(toks):
        if toks[i].is_word("FROM"):
            j = i + 1
            if j < len(toks) and toks[j].is_word("NAMED"):
                j += 1
            if j < len(toks) and toks[j].kind in ("IRI", "PNAME"):
                spans.append((toks[i].start, toks[j].end))
                i = j + 1
                continue
        i += 1
    out = query
    for start, end in reversed(spans):
        out = out[:start] + " " + out[end:]
    if scan(out).has_dataset_clause:
        raise QueryRefused("this query's FROM clauses cannot be passed to the store: "
                           "write them plainly, FROM <iri>")
    return out


def _allow_connections_to(host: str, port: int) -> set[str]:
    """In a query child process: let connections to ``host:port`` through, and nothing else.

    The executor refuses every connection in its children (an audit hook; see
    :mod:`poli_kg.store.executor`).  A remote backend has to reach its store, so this replaces
    that blanket refusal, in this child only, by an audit hook that lets through name
    lookups of ``host`` and connections to ``port`` of the addresses in the returned set
    (``host`` itself, and the addresses it resolves to, which the caller adds), and still
    refuses everything else (``urllib`` included).  Audit hooks cannot be removed: the
    child keeps the restriction for life.
    """
    allowed = {host.lower().strip("[]")}

    def restrict(event: str, args: tuple[Any, ...]) -> None:
        if event not in _NETWORK_AUDIT_EVENTS:
            return
        if event == "socket.getaddrinfo":
            name = args[0].decode() if isinstance(args[0], bytes) else str(args[0])
            if name.lower() in allowed:
                return
        elif event == "socket.connect":
            address = args[1]
            if (isinstance(address, tuple) and len(address) >= 2
                    and str(address[0]).lower() in allowed and address[1] == port):
                return
        raise NetworkAccessDenied(
            f"network access is limited to the store while answering queries (refused {event})")

    sys.addaudithook(restrict)
    executor_module._NETWORK_EVENTS = frozenset()  # noqa: SLF001 - replaced by `restrict`
    return allowed


class SparqlBackend(Backend):
    """A remote SPARQL 1.1 endpoint, queried with the SPARQL 1.1 Protocol (``http.client``).

    * **Refusals first.**  Nothing is sent unless the query parses as standard SPARQL 1.1
      (pyoxigraph's parser; Virtuoso's ``DEFINE`` pragmas do not) and passes the checks of
      the endpoint: no update, no SERVICE, no graph outside :attr:`graphs`, and no IRI of
      a store extension namespace (:data:`EXTENSION_SCHEMES`).
    * **The dataset is always explicit.**  Without FROM / protocol graphs the query runs
      over :attr:`graphs` (default graph = their union, named graphs = them), so graphs
      the store holds besides the project's (Virtuoso's system graphs) are invisible.  The
      query's FROM clauses are moved into the protocol parameters
      (:func:`strip_dataset_clauses`); an empty part is sent as :data:`EMPTY_GRAPH`.
    * **Faithful terms.**  SELECT / ASK answers are asked for as SPARQL Results XML and
      read incrementally (Virtuoso 7's JSON writer prints ``xsd:boolean`` values as 1/0),
      graphs as N-Triples (Virtuoso's Turtle writer drops the datatype of integral
      ``xsd:decimal`` values).  JSON, RDF/XML and Turtle answers are read too.
    * **Caps and partial answers.**  Reading stops after ``limit`` results (the connection
      is then closed).  An answer the store marks as incomplete (HTTP 206, Virtuoso's
      ``X-SQL-State: S1TAT``) is refused with :class:`StoreTimeout`, never passed on.
    * **Errors.**  Unreachable store, 401/403/404, redirects: :class:`StoreUnavailable`;
      the store's own time limit: :class:`StoreTimeout`; a query the store rejects:
      :class:`QueryEvaluationError` with the first line of its message.

    One keep-alive connection per child process; a stale one is replaced once.
    """

    def __init__(
        self,
        url: str,
        *,
        graphs: Sequence[str] = tuple(str(g) for g in NAMED_GRAPHS),
        connect_timeout: float = 10.0,
        read_timeout: float = 3600.0,
        allowed_addresses: set[str] | None = None,
    ) -> None:
        kind, _ = parse_spec("sparql:" + url)
        assert kind == "sparql"
        parts = urlsplit(url)
        self.url = url
        self.spec = "sparql:" + url
        self.graphs = tuple(graphs)
        self._https = parts.scheme == "https"
        self._host = parts.hostname or ""
        self._port = parts.port or (443 if self._https else 80)
        self._target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout
        self._allowed = allowed_addresses
        self._conn: http.client.HTTPConnection | None = None
        self._parser = ox.Store()  # empty: used only to check the syntax

    @classmethod
    def open_in_child(cls, url: str, graphs: Sequence[str], parent_pid: int) -> SparqlBackend:
        """Opener for query children: allow connections to the store's host, then open.

        Called in the process that created the opener (``open_backend``) it leaves the
        network alone.
        """
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        allowed = (_allow_connections_to(parts.hostname or "", port)
                   if os.getpid() != parent_pid else None)
        return cls(url, graphs=graphs, allowed_addresses=allowed)

    # -- checks -----------------------------------------------------------------------

    def _refuse(self, query: str, default_graph_uris: Sequence[str],
                named_graph_uris: Sequence[str]) -> Any:
        """Raise QueryRefused for what the endpoint refuses; return the lexer's findings."""
        info = scan(query)
        if info.is_update:
            raise QueryRefused("SPARQL Update is not allowed: this endpoint is read-only.")
        if info.service:
            raise QueryRefused("SERVICE (federated query) is not allowed: this endpoint "
                               "queries only its own dataset.")
        if info.unresolved_graphs:
            raise QueryRefused("Unknown graph " + ", ".join(map(repr, info.unresolved_graphs))
                               + " (write FROM <iri>).")
        named = [*info.from_graphs, *info.from_named_graphs, *default_graph_uris,
                 *named_graph_uris]
        foreign = [iri for iri in dict.fromkeys(named) if iri not in self.graphs]
        if foreign:
            raise QueryRefused("Unknown graph " + ", ".join(f"<{g}>" for g in foreign)
                               + ": this endpoint queries only its own dataset.")
        extension = _extension_iri(query)
        if extension is not None:
            raise QueryRefused(f"{extension}: the store's extension functions are not "
                               "allowed; use standard SPARQL 1.1.")
        return info

    def _form(self, query: str) -> str:
        """The query's form, after checking that it parses as standard SPARQL 1.1."""
        try:
            result = self._parser.query(query)
        except SyntaxError as exc:
            raise QuerySyntaxError(short_message(str(exc))) from None
        except (OSError, RuntimeError, ValueError):  # evaluation on the empty store failed
            return scan(query).form or "SELECT"
        if isinstance(result, ox.QueryBoolean):
            return "ASK"
        if isinstance(result, ox.QueryTriples):
            return "DESCRIBE" if is_describe(query) else "CONSTRUCT"
        return "SELECT"

    # -- HTTP ---------------------------------------------------------------------------

    def _connection(self) -> http.client.HTTPConnection:
        """The keep-alive connection to the store (created on first use)."""
        if self._conn is None:
            if self._allowed is not None:
                for *_rest, sockaddr in socket.getaddrinfo(self._host, self._port,
                                                           type=socket.SOCK_STREAM):
                    self._allowed.add(str(sockaddr[0]).lower())
            cls = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
            self._conn = cls(self._host, self._port, timeout=self._connect_timeout)
        return self._conn

    def close(self) -> None:
        """Close the connection to the store."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _post(self, params: Sequence[tuple[str, str]], accept: str) -> http.client.HTTPResponse:
        """POST a protocol request; return the response (headers read, body not yet)."""
        body = urlencode(params).encode("utf-8")
        headers = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
                   "Accept": accept, "Accept-Encoding": "identity",
                   "User-Agent": "poli-kg (SPARQL 1.1 Protocol client)"}
        for attempt in (1, 2):
            reused = self._conn is not None
            try:
                conn = self._connection()
                conn.request("POST", self._target, body=body, headers=headers)
                if conn.sock is not None:
                    conn.sock.settimeout(self._read_timeout)
                return conn.getresponse()
            except NetworkAccessDenied as exc:
                self.close()
                raise StoreUnavailable(f"cannot reach the store at {self.url}: {exc}") from None
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as exc:
                self.close()  # a keep-alive connection the store had closed: retry once
                if attempt == 2 or not reused:
                    raise StoreUnavailable(
                        f"the store at {self.url} closed the connection: {exc}") from None
            except TimeoutError:
                self.close()
                raise StoreUnavailable(f"the store at {self.url} did not answer in time") \
                    from None
            except (OSError, http.client.HTTPException) as exc:
                self.close()
                reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
                raise StoreUnavailable(f"cannot reach the store at {self.url}: {reason}") \
                    from None
        raise AssertionError("unreachable")

    def _fail(self, response: http.client.HTTPResponse) -> QueryError:
        """The error for a non-200 answer (the connection is closed)."""
        status = response.status
        try:
            text = response.read(4096).decode("utf-8", errors="replace")
        except (OSError, http.client.HTTPException):
            text = ""
        self.close()
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        message = short_message(lines[0], 300) if lines else f"HTTP {status} {response.reason}"
        if 300 <= status < 400:
            return StoreUnavailable(f"the store at {self.url} redirects (HTTP {status}) to "
                                    f"{response.getheader('Location')}: use that URL")
        if status in (401, 403, 407):
            return StoreUnavailable(f"the store at {self.url} refused access (HTTP {status}); "
                                    "serve from an anonymous, read-only endpoint")
        if status == 404:
            return StoreUnavailable(f"no SPARQL endpoint at {self.url} (HTTP 404)")
        if status in (408, 504) or (status >= 500 and any(
                marker.lower() in text.lower() for marker in _TIMEOUT_MARKERS)):
            return StoreTimeout(f"the store stopped the query: {message}")
        if status in (502, 503):
            return StoreUnavailable(f"the store at {self.url} is unavailable (HTTP {status})")
        if 400 <= status < 500:
            return QueryEvaluationError(f"the store refused the query: {message}")
        return QueryEvaluationError(f"the store could not answer the query: {message}")

    def _read(self, response: http.client.HTTPResponse, form: str,
              limit: int | None) -> RawResult:
        """Parse a 200 answer; keep the connection if the answer was read to its end."""
        state = response.getheader("X-SQL-State") or ""
        if response.status == 206 or state.upper().startswith("S1TAT"):
            self.close()
            detail = response.getheader("X-SQL-Message") or "incomplete results"
            raise StoreTimeout(
                "the store returned an incomplete answer (it stopped the query: "
                f"{short_message(detail, 200)}); partial results are never passed on")
        media_type = (response.getheader("Content-Type") or "").split(";")[0].strip().lower()
        try:
            if form in ("CONSTRUCT", "DESCRIBE"):
                if media_type not in RDF_RESPONSE_FORMATS:
                    raise QueryEvaluationError(
                        f"the store answered {media_type or 'no content type'}, not RDF")
                triples, truncated = parse_graph_results(response, media_type, limit)
                raw = RawResult(form=form, triples=triples, truncated=truncated)
            elif media_type in ("application/sparql-results+xml", "application/xml", "text/xml"):
                raw = parse_xml_results(response, limit)
            elif media_type in ("application/sparql-results+json", "application/json"):
                raw = parse_json_results(response, limit)
            else:
                raise QueryEvaluationError(
                    f"the store answered {media_type or 'no content type'}, not SPARQL results")
        except QueryEvaluationError:
            self.close()
            raise
        except (ValueError, KeyError, TypeError, IndexError, SyntaxError, ET.ParseError) as exc:
            self.close()
            raise QueryEvaluationError(f"the store's answer could not be read: {exc}") from None
        except (OSError, http.client.HTTPException) as exc:
            self.close()
            raise StoreUnavailable(f"the connection to the store broke: {exc}") from None
        if raw.truncated or not response.isclosed() and response.read(1):
            self.close()  # unread rest: the connection cannot be reused
        elif response.will_close:
            self.close()
        return raw

    # -- evaluation ---------------------------------------------------------------------

    def evaluate(
        self,
        query: str,
        *,
        default_graph_uris: Sequence[str] = (),
        named_graph_uris: Sequence[str] = (),
        limit: int | None = None,
    ) -> RawResult:
        """See :meth:`Backend.evaluate` and the class documentation."""
        info = self._refuse(query, default_graph_uris, named_graph_uris)
        form = self._form(query)
        if default_graph_uris or named_graph_uris:
            default, named = list(default_graph_uris), list(named_graph_uris)
        elif info.has_dataset_clause:
            default, named = list(info.from_graphs), list(info.from_named_graphs)
        else:
            default, named = list(self.graphs), list(self.graphs)
        text = strip_dataset_clauses(query) if info.has_dataset_clause else query
        params = [("query", text)]
        params += [("default-graph-uri", g) for g in default or [EMPTY_GRAPH]]
        params += [("named-graph-uri", g) for g in named or [EMPTY_GRAPH]]
        graph_form = form in ("CONSTRUCT", "DESCRIBE")
        response = self._post(params, GRAPH_ACCEPT if graph_form else RESULTS_ACCEPT)
        if response.status != 200 and response.status != 206:
            raise self._fail(response)
        raw = self._read(response, form, limit)
        if raw.form != form:
            raise QueryEvaluationError(f"the store answered a {raw.form} result to a {form} query")
        return raw
