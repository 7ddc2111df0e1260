"""The ``sparql:URL`` backend: any SPARQL 1.1 server's query endpoint (:class:`SparqlBackend`).

Load the store with :func:`poli_kg.store.publish.publish`.  The backend sends each query
with the SPARQL 1.1 Protocol (over the keep-alive connection of :mod:`poli_kg.store.wire`)
and parses the answer (:mod:`poli_kg.store.answers`) into the same terms as the embedded
engines, so serialisation, caps and bindings behave identically.  Before anything is sent
the query must parse as standard SPARQL 1.1 and pass the same refusals as the endpoint
(update, SERVICE, graphs outside the dataset, and store extension functions such as
Virtuoso's ``bif:``/``sql:``).  The dataset is sent explicitly (the project's named
graphs), so the store's other graphs are never visible, unless the store is declared to show
only those graphs (``dataset="store"``) and a check confirms it.

:class:`poli_kg.store.Store` calls the backend in the request's own thread, within
:meth:`SparqlBackend.limits` (the call's timeout, and a cap on the answer's size that keeps
memory within the query processes' limit): the work is the store's, the thread only waits
for its answer.  In a query child process (:func:`poli_kg.store.open_backend`,
:class:`~poli_kg.store.executor.Executor`) the backend may connect to the store's host and
port only (:func:`_allow_connections_to`).
"""

from __future__ import annotations

import contextlib
import functools
import http.client
import logging
import os
import socket
import sys
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote_plus, urlsplit

import pyoxigraph as ox

from poli_kg.namespaces import NAMED_GRAPHS
from poli_kg.store import executor as executor_module
from poli_kg.store.answers import (
    RDF_RESPONSE_FORMATS, parse_graph_results, parse_json_results, parse_xml_results,
)
from poli_kg.store.backend import Backend, parse_spec, short_message
from poli_kg.store.errors import (
    QueryError, QueryEvaluationError, QueryRefused, QuerySyntaxError, StoreTimeout,
    StoreUnavailable,
)
from poli_kg.store.executor import NetworkAccessDenied, QueryMemoryExceeded, QueryTimeout
from poli_kg.store.lexer import ANALYSIS_CACHE, expand_unicode_escapes, scan, tokens
from poli_kg.store.results import RawResult
from poli_kg.store.wire import Connection, Response

__all__ = ["ANSWER_MEMORY_FACTOR", "DATASET_MODES", "EMPTY_GRAPH", "EXTENSION_PREFIXES",
           "EXTENSION_SCHEMES", "SparqlBackend", "strip_dataset_clauses"]

log = logging.getLogger(__name__)

EMPTY_GRAPH = "urn:x-poli-kg:empty-graph"
"""A graph name no store holds: sent when a part of the dataset must be empty."""
EXTENSION_SCHEMES = ("bif:", "sql:", "java:")
"""IRI schemes of store extension functions, refused anywhere in a query sent to a store:
Virtuoso runs ``bif:`` built-ins (``bif:http_get`` fetches URLs, from the store's host)
and ``sql:`` procedures from SPARQL, Jena ARQ loads ``java:`` classes."""
EXTENSION_PREFIXES = ("bif", "sql")
"""Prefixes Virtuoso predeclares for them (refused even when the query does not declare them)."""
_EXTENSION_MARKERS = tuple(dict.fromkeys(
    (*EXTENSION_SCHEMES, *(prefix + ":" for prefix in EXTENSION_PREFIXES))))
RESULTS_ACCEPT = "application/sparql-results+xml, application/sparql-results+json;q=0.9"
GRAPH_ACCEPT = ("application/n-triples, text/plain;q=0.9, application/rdf+xml;q=0.5, "
                "text/turtle;q=0.2")
_HEADERS = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
            "Accept-Encoding": "identity", "User-Agent": "poli-kg (SPARQL 1.1 Protocol client)"}
_HEX_ENCODED_BYTES = 16 * 1024
_TIMEOUT_MARKERS = ("S1TAT", "S1T00", "SR171", "timed out", "timeout")
_NETWORK_AUDIT_EVENTS = frozenset({"socket.connect", "socket.getaddrinfo", "urllib.Request"})
DATASET_MODES = ("explicit", "store")
"""``explicit``: every query without a dataset of its own is sent with the project's graphs as
``default-graph-uri`` and ``named-graph-uri``.  ``store``: such queries are sent without a
dataset, so the store answers over its own, which must be exactly the project's graphs
(checked: see :meth:`SparqlBackend.store_holds_dataset`).  Virtuoso evaluates a dataset of
several graphs by trying each graph in turn (its plans iterate over the list): 2–10× slower
on joins and aggregates than over its own dataset."""
ANSWER_MEMORY_FACTOR = 8
"""Within :meth:`SparqlBackend.limits`, a store's answer may be at most the memory limit over
this: reading an answer into terms and serialising it as JSON peaks at about 8 times its
size in SPARQL Results XML (measured on query 16's 24,873 rows)."""
COUNT_QUERY = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
RECHECK_SECONDS = 60.0
"""How long a failed check of the store's own dataset stands before it is tried again."""
_CHUNK = 64 * 1024
_UNUSED_VALUE = ox.NamedNode("urn:x-poli-kg:unused")
_PARSER = ox.Store()
"""Empty: used only to parse queries (pyoxigraph stores may be queried from several threads)."""
_verdicts: dict[tuple[str, tuple[str, ...]], tuple[bool, float | None]] = {}
_verdicts_lock = threading.Lock()


@dataclass(frozen=True)
class _Limits:
    """The bounds of a call within :meth:`SparqlBackend.limits`."""

    deadline: float
    timeout: float
    memory: int | None

    def socket_timeout(self, limit: float) -> float:
        """``limit``, or the time left if shorter; QueryTimeout once the deadline is past."""
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise self.timed_out()
        return min(limit, remaining)

    def expired(self) -> bool:
        """Whether a socket timeout that just fired was the deadline's."""
        return time.monotonic() >= self.deadline - 0.05

    def timed_out(self) -> QueryTimeout:
        return QueryTimeout(f"the query did not finish within {self.timeout:g} s")


class _Answer:
    """The body of a store's answer as the parsers read it, within the call's ``limits``: each
    read is a single receive that waits at most until the deadline (``set_timeout`` sets the
    socket's), so that an answer that trickles in cannot outlast it, and more than the memory
    limit over :data:`ANSWER_MEMORY_FACTOR` bytes end the call (QueryMemoryExceeded)."""

    def __init__(self, response: Response, limits: _Limits | None,
                 set_timeout: Callable[[float], None], read_timeout: float) -> None:
        self._response = response
        self._limits = limits
        self._set_timeout = set_timeout
        self._read_timeout = read_timeout
        self.size = 0
        self.stopped: QueryTimeout | None = None

    def read(self, n: int | None = -1) -> bytes:
        if n is None or n < 0:
            return b"".join(iter(lambda: self.read(_CHUNK), b""))
        limits = self._limits
        if limits is None:
            return self._response.read(n)
        try:
            self._set_timeout(limits.socket_timeout(self._read_timeout))
            data = self._response.read1(n)
        except QueryTimeout as exc:
            self.stopped = exc
            raise
        except TimeoutError:
            if not limits.expired():
                raise
            self.stopped = limits.timed_out()
            raise self.stopped from None
        self.size += len(data)
        if limits.memory is not None and self.size * ANSWER_MEMORY_FACTOR > limits.memory:
            self.stopped = QueryMemoryExceeded(limits.memory)
            raise self.stopped
        return data


def _unused_variable(query: str) -> str:
    """A variable name that ``query`` does not contain (unicode escapes expanded)."""
    texts = query + "\n" + expand_unicode_escapes(query)
    name = "poli_kg_unused"
    while name in texts:
        name += "_"
    return name


@functools.lru_cache(maxsize=ANALYSIS_CACHE)
def _checked_form(query: str) -> str:
    """The query's form (the lexer's), once pyoxigraph has parsed it as SPARQL 1.1.

    Parsed, never evaluated: even on an empty store a query can cost without bound (a
    product of VALUES blocks, a chain of BINDs that doubles a string), and evaluating
    ``SERVICE`` would connect to it.  Asking to substitute a variable the query does not have
    makes pyoxigraph stop after parsing.  Raises QuerySyntaxError with pyoxigraph's message.
    """
    try:
        _PARSER.query(query, substitutions={ox.Variable(_unused_variable(query)): _UNUSED_VALUE})
    except SyntaxError as exc:
        raise QuerySyntaxError(short_message(str(exc))) from None
    except (OSError, RuntimeError, ValueError):  # parsed; the substitution was refused
        pass
    return scan(query).form or "SELECT"


@functools.lru_cache(maxsize=ANALYSIS_CACHE)
def _extension_iri(query: str) -> str | None:
    """The first IRI or prefixed name of ``query`` in a store extension namespace, if any
    (remembered, as the lexer's findings are)."""
    texts = dict.fromkeys((query, expand_unicode_escapes(query)))
    if not any(marker in text.lower() for text in texts for marker in _EXTENSION_MARKERS):
        return None  # no such IRI or name can be there: spare the tokenizer
    for text in texts:
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
    """A remote SPARQL 1.1 endpoint, queried with the SPARQL 1.1 Protocol (:mod:`~.wire`).

    * **Refusals first.**  Nothing is sent unless the query parses as standard SPARQL 1.1
      (pyoxigraph's parser; Virtuoso's ``DEFINE`` pragmas do not) and passes the checks of
      the endpoint: no update, no SERVICE, no graph outside :attr:`graphs`, and no IRI of
      a store extension namespace (:data:`EXTENSION_SCHEMES`).  The query is parsed, never
      evaluated here (see :meth:`_form`).
    * **The dataset.**  Without FROM / protocol graphs the query runs over :attr:`graphs`
      (default graph = their union, named graphs = them), so graphs the store holds besides
      the project's (Virtuoso's system graphs) are invisible: sent explicitly, or, with
      ``dataset="store"`` and once :meth:`store_holds_dataset` has confirmed that the store
      shows exactly those graphs, left to the store.  The query's FROM clauses are moved
      into the protocol parameters (:func:`strip_dataset_clauses`); an empty part is sent as
      :data:`EMPTY_GRAPH`.
    * **Faithful terms.**  SELECT / ASK answers are asked for as SPARQL Results XML and
      read incrementally (Virtuoso 7's JSON writer prints ``xsd:boolean`` values as 1/0,
      and is slower), graphs as N-Triples (Virtuoso's Turtle writer drops the datatype of
      integral ``xsd:decimal`` values).  JSON, RDF/XML and Turtle answers are read too.
    * **Caps and partial answers.**  Reading stops after ``limit`` results (the connection
      is then closed).  An answer the store marks as incomplete (HTTP 206, Virtuoso's
      ``X-SQL-State: S1TAT``) is refused with :class:`StoreTimeout`, never passed on.
    * **Errors.**  Unreachable store, 401/403/404, redirects: :class:`StoreUnavailable`;
      the store's own time limit: :class:`StoreTimeout`; a query the store rejects:
      :class:`QueryEvaluationError` with the first line of its message.  Within
      :meth:`limits`: QueryTimeout and QueryMemoryExceeded, as from a query process.

    One keep-alive connection per backend (one backend per thread or process); a stale one
    is replaced once.
    """

    def __init__(
        self,
        url: str,
        *,
        graphs: Sequence[str] = tuple(str(g) for g in NAMED_GRAPHS),
        connect_timeout: float = 10.0,
        read_timeout: float = 3600.0,
        allowed_addresses: set[str] | None = None,
        dataset: str = "explicit",
    ) -> None:
        kind, _ = parse_spec("sparql:" + url)
        assert kind == "sparql"
        if dataset not in DATASET_MODES:
            raise ValueError(f"dataset {dataset!r}: choose one of {', '.join(DATASET_MODES)}")
        parts = urlsplit(url)
        self.url = url
        self.spec = "sparql:" + url
        self.graphs = tuple(graphs)
        self.dataset = dataset
        self.read_timeout = read_timeout
        self._https = parts.scheme == "https"
        self._host = parts.hostname or ""
        self._port = parts.port or (443 if self._https else 80)
        self._target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self._connect_timeout = connect_timeout
        self._allowed = allowed_addresses
        self._conn: Connection | None = None
        self._limits: _Limits | None = None
        self._own_dataset = False  # while checking the store's own dataset

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

    @contextlib.contextmanager
    def limits(self, timeout: float, memory: int | None = None) -> Iterator[None]:
        """Bound the calls made within, as a query process bounds them: after ``timeout``
        seconds they end with QueryTimeout (the connection is dropped, which stops the query
        at the store), and an answer larger than ``memory`` / :data:`ANSWER_MEMORY_FACTOR`
        bytes ends them with QueryMemoryExceeded(``memory``)."""
        self._limits = _Limits(time.monotonic() + timeout, timeout, memory)
        try:
            yield
        finally:
            self._limits = None

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
        """The query's form, once pyoxigraph has parsed it (see :func:`_checked_form`)."""
        return _checked_form(query)

    # -- HTTP ---------------------------------------------------------------------------

    def _connection(self) -> Connection:
        """The keep-alive connection to the store (created on first use)."""
        if self._conn is None:
            if self._allowed is not None:
                for *_rest, sockaddr in socket.getaddrinfo(self._host, self._port,
                                                           type=socket.SOCK_STREAM):
                    self._allowed.add(str(sockaddr[0]).lower())
            self._conn = Connection(self._host, self._port, https=self._https,
                                    timeout=self._socket_timeout(self._connect_timeout))
        return self._conn

    def _socket_timeout(self, limit: float) -> float:
        """``limit``, or less when the call's deadline is nearer (QueryTimeout once past)."""
        return limit if self._limits is None else self._limits.socket_timeout(limit)

    def _set_socket_timeout(self, seconds: float) -> None:
        if self._conn is not None and self._conn.sock is not None:
            self._conn.sock.settimeout(seconds)

    def close(self) -> None:
        """Close the connection to the store."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _post(self, params: Sequence[tuple[str, str]], accept: str) -> Response:
        """POST a protocol request; return the response (headers read, body not yet)."""
        body = _form_encode(params)
        headers = {**_HEADERS, "Accept": accept}
        for attempt in (1, 2):
            reused = self._conn is not None
            try:
                conn = self._connection()
                self._set_socket_timeout(self._socket_timeout(self._connect_timeout))
                conn.request(self._target, headers, body)
                self._set_socket_timeout(self._socket_timeout(self.read_timeout))
                return conn.response()
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
                if self._limits is not None and self._limits.expired():
                    raise self._limits.timed_out() from None
                raise StoreUnavailable(f"the store at {self.url} did not answer in time") \
                    from None
            except QueryTimeout:
                self.close()
                raise
            except (OSError, http.client.HTTPException) as exc:
                self.close()
                reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
                raise StoreUnavailable(f"cannot reach the store at {self.url}: {reason}") \
                    from None
        raise AssertionError("unreachable")

    def _fail(self, response: Response) -> QueryError:
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

    def _read(self, response: Response, form: str, limit: int | None) -> RawResult:
        """Parse a 200 answer; keep the connection if the answer was read to its end."""
        state = response.getheader("X-SQL-State") or ""
        if response.status == 206 or state.upper().startswith("S1TAT"):
            self.close()
            detail = response.getheader("X-SQL-Message") or "incomplete results"
            raise StoreTimeout(
                "the store returned an incomplete answer (it stopped the query: "
                f"{short_message(detail, 200)}); partial results are never passed on")
        media_type = (response.getheader("Content-Type") or "").split(";")[0].strip().lower()
        answer = _Answer(response, self._limits, self._set_socket_timeout, self.read_timeout)
        try:
            raw = _parse_answer(answer, media_type, form, limit)
        except QueryEvaluationError:
            self.close()
            raise
        except Exception as exc:
            self.close()
            if answer.stopped is not None:  # whatever the parser made of it
                raise answer.stopped from None
            if isinstance(exc, (ValueError, KeyError, TypeError, IndexError, SyntaxError,
                                ET.ParseError)):
                raise QueryEvaluationError(
                    f"the store's answer could not be read: {exc}") from None
            if isinstance(exc, (OSError, http.client.HTTPException)):
                raise StoreUnavailable(f"the connection to the store broke: {exc}") from None
            raise
        if raw.truncated or not response.isclosed() and response.read(1):
            self.close()  # unread rest: the connection cannot be reused
        elif response.will_close:
            self.close()
        return raw

    # -- the dataset ------------------------------------------------------------------

    def store_holds_dataset(self) -> bool:
        """Whether queries without a dataset of their own are sent without one: with
        ``dataset="store"``, once the store, asked without a dataset, has shown no named graph
        but the project's and a default graph exactly as large as those together (their
        union, as Virtuoso answers; a default graph of its own, as Oxigraph's or Fuseki's
        without ``unionDefaultGraph``, fails the check).  Checked once per process and store,
        then again after :data:`RECHECK_SECONDS` only if the check could not be made.  What
        the store shows later is its own affair: Virtuoso's graph-level security keeps the
        graphs it has not granted to its anonymous user invisible, new ones included.
        """
        if self.dataset != "store":
            return False
        key = (self.url, self.graphs)
        with _verdicts_lock:
            verdict = _verdicts.get(key)
            if verdict is None or verdict[1] is not None and time.monotonic() >= verdict[1]:
                verdict = _verdicts[key] = self._check_store_dataset()
            return verdict[0]

    def _check_store_dataset(self) -> tuple[bool, float | None]:
        """(whether the store's own dataset is the project's, when to check again)."""
        self._own_dataset = True
        try:
            sizes = self.graph_sizes()
            total = self.evaluate(COUNT_QUERY).rows[0][0]
        except (QueryError, QueryTimeout) as exc:
            log.warning("could not check the dataset of the store at %s (%s): the dataset is "
                        "sent with every query", self.url, exc)
            return False, time.monotonic() + RECHECK_SECONDS
        finally:
            self._own_dataset = False
        foreign = sorted(set(sizes) - set(self.graphs))
        count = int(total[1]) if total is not None else -1
        if not foreign and count == sum(sizes.values()):
            log.info("the store at %s shows the project's graphs only: queries are sent "
                     "without a dataset", self.url)
            return True, None
        log.warning("the store at %s does not show the project's graphs only (%s): the "
                    "dataset is sent with every query", self.url,
                    f"other graphs: {', '.join(foreign)}" if foreign else
                    f"its default graph has {count} triples, its named graphs "
                    f"{sum(sizes.values())}")
        return False, None

    def _dataset_params(self, info: Any, default_graph_uris: Sequence[str],
                        named_graph_uris: Sequence[str]) -> list[tuple[str, str]]:
        """The protocol's dataset parameters for a query (none: the store's own dataset)."""
        if default_graph_uris or named_graph_uris:
            default, named = list(default_graph_uris), list(named_graph_uris)
        elif info.has_dataset_clause:
            default, named = list(info.from_graphs), list(info.from_named_graphs)
        elif self._own_dataset or self.store_holds_dataset():
            return []
        else:
            default, named = list(self.graphs), list(self.graphs)
        return ([("default-graph-uri", g) for g in default or [EMPTY_GRAPH]]
                + [("named-graph-uri", g) for g in named or [EMPTY_GRAPH]])

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
        text = strip_dataset_clauses(query) if info.has_dataset_clause else query
        params = [("query", text),
                  *self._dataset_params(info, default_graph_uris, named_graph_uris)]
        graph_form = form in ("CONSTRUCT", "DESCRIBE")
        response = self._post(params, GRAPH_ACCEPT if graph_form else RESULTS_ACCEPT)
        if response.status != 200 and response.status != 206:
            raise self._fail(response)
        raw = self._read(response, form, limit)
        if raw.form != form:
            raise QueryEvaluationError(f"the store answered a {raw.form} result to a {form} query")
        return raw


def _form_encode(params: Sequence[tuple[str, str]]) -> bytes:
    """``params`` (the protocol's names, which need no escaping) as an
    ``application/x-www-form-urlencoded`` body."""
    return "&".join(f"{name}={_percent_encoded(value)}" for name, value in params).encode("ascii")


def _percent_encoded(text: str) -> str:
    """``text``'s UTF-8, every byte escaped as ``%XX`` by :meth:`bytes.hex`: a microsecond or
    two, where :func:`urllib.parse.quote_plus` takes 25 to 70 on a query of a few KB.  Three
    bytes a byte: beyond :data:`_HEX_ENCODED_BYTES`, ``quote_plus``, whose shorter body stays
    within the form limits of servlet containers (Jetty's default: 200,000 bytes)."""
    data = text.encode("utf-8")
    if len(data) > _HEX_ENCODED_BYTES:
        return quote_plus(data)
    return "%" + data.hex("%") if data else ""


def _parse_answer(answer: _Answer, media_type: str, form: str, limit: int | None) -> RawResult:
    """A 200 answer of ``media_type`` to a query of ``form``, at most ``limit`` results."""
    if form in ("CONSTRUCT", "DESCRIBE"):
        if media_type not in RDF_RESPONSE_FORMATS:
            raise QueryEvaluationError(
                f"the store answered {media_type or 'no content type'}, not RDF")
        triples, truncated = parse_graph_results(answer, media_type, limit)
        return RawResult(form=form, triples=triples, truncated=truncated)
    if media_type in ("application/sparql-results+xml", "application/xml", "text/xml"):
        return parse_xml_results(answer, limit)
    if media_type in ("application/sparql-results+json", "application/json"):
        return parse_json_results(answer, limit)
    raise QueryEvaluationError(
        f"the store answered {media_type or 'no content type'}, not SPARQL results")
