"""Publish the build's named graphs to an external SPARQL 1.1 store (``poli-kg publish``).

::

    from poli_kg.store.publish import publish

    result = publish("public", "http://127.0.0.1:8890/sparql",
                     graph_store_url="http://127.0.0.1:8890/sparql-graph-crud-auth",
                     auth=("dba", password))
    result.graphs      # [GraphUpload(graph, triples, method, requests, seconds), ...]

Each named graph of the build (``poli-kg.nq``: ontology, data, provenance, inferred)
replaces the graph of the same name in the store:

* with the **SPARQL 1.1 Graph Store HTTP Protocol** when ``graph_store_url`` is given:
  ``PUT ?graph=IRI`` with the first chunk of N-Triples, ``POST`` (add) with the others;
* otherwise — or when the store answers that it has no Graph Store endpoint there (404,
  405, 501) — with **SPARQL 1.1 Update** at ``update_url`` (default: ``url``):
  ``DROP SILENT GRAPH <IRI> ; INSERT DATA { GRAPH <IRI> { … } }`` then further
  ``INSERT DATA`` requests.

Graphs are sent in chunks of ``chunk_triples`` triples.  Every triple with a blank node
goes into a graph's first chunk (blank nodes of two requests are different nodes), and a
blank node shared by two graphs is refused (:class:`PublishError`) for the same reason.
Between the first and the last request of a graph, readers of the store see it partly
loaded: publish when a short window of partial answers does not matter, or to a store
that serves nobody yet.

Afterwards the store is asked, through ``url`` (the read endpoint ``poli-kg serve --store
sparql:URL`` uses), how many triples each graph holds; a difference from the build is a
:class:`PublishError`.

Credentials (``auth=(user, password)``; HTTP Basic or Digest, whichever the store asks
for) come from the caller — the command line reads them from ``POLI_KG_STORE_USER`` /
``POLI_KG_STORE_PASSWORD`` or ``--user`` / ``--password-file`` — and are never logged or
printed.  URLs with credentials in them are refused.  Proxies from the environment are
not used for loopback addresses.
"""

from __future__ import annotations

import json
import logging
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox

from poli_kg.namespaces import NAMED_GRAPHS
from poli_kg.store.persistent import NQUADS_FILE

__all__ = ["DEFAULT_CHUNK", "GraphUpload", "PublishError", "PublishResult", "publish",
           "read_graphs"]

log = logging.getLogger(__name__)

DEFAULT_CHUNK = 20_000
"""Triples per request."""
N_TRIPLES = "application/n-triples"
TURTLE = "text/turtle"
NO_GRAPH_STORE = (404, 405, 501)
"""Answers meaning "no Graph Store endpoint here": fall back to SPARQL Update."""
LOOPBACK = ("127.0.0.1", "::1", "localhost")

Progress = Callable[[str], None]


class PublishError(Exception):
    """The graphs could not be published; the message says why (never with credentials)."""


@dataclass(frozen=True)
class GraphUpload:
    """How one named graph was sent."""

    graph: str
    triples: int
    method: str
    """``graph-store`` (SPARQL 1.1 Graph Store HTTP Protocol) or ``update`` (SPARQL Update)."""
    requests: int
    seconds: float


@dataclass
class PublishResult:
    """What :func:`publish` did, and what the store holds afterwards."""

    url: str
    graphs: list[GraphUpload] = field(default_factory=list)
    store_sizes: dict[str, int] = field(default_factory=dict)

    @property
    def triples(self) -> int:
        """Triples sent."""
        return sum(g.triples for g in self.graphs)


# -- reading the build ------------------------------------------------------------------

@dataclass
class _GraphFile:
    """One graph's N-Triples, spooled to a temporary file: blank-node triples first."""

    graph: str
    path: Path
    triples: int = 0
    with_bnodes: int = 0


def read_graphs(nquads: Path, folder: Path, graphs: Sequence[str]) -> list[_GraphFile]:
    """Split ``nquads`` into one N-Triples file per named graph (in ``folder``).

    Triples with blank nodes are written first, so that they all land in a graph's first
    request.  Raises PublishError for quads in the default graph or in graphs outside
    ``graphs``, and for blank nodes shared by two graphs.
    """
    files = {g: _GraphFile(g, folder / f"graph-{i}.nt") for i, g in enumerate(graphs)}
    plain = {g: open(folder / f"graph-{i}.plain.nt", "w", encoding="utf-8")  # noqa: SIM115
             for i, g in enumerate(graphs)}
    blank = {g: open(files[g].path, "w", encoding="utf-8")  # noqa: SIM115
             for g in graphs}
    owner: dict[str, str] = {}
    try:
        for quad in ox.parse(path=str(nquads), format=ox.RdfFormat.N_QUADS):
            graph = quad.graph_name
            if not isinstance(graph, ox.NamedNode) or graph.value not in files:
                raise PublishError(f"{nquads}: a quad in {graph}, which is not one of the "
                                   "project's named graphs")
            line = f"{quad.subject} {quad.predicate} {quad.object} .\n"
            bnodes = [t.value for t in (quad.subject, quad.object) if isinstance(t, ox.BlankNode)]
            entry = files[graph.value]
            entry.triples += 1
            if bnodes:
                for label in bnodes:
                    if owner.setdefault(label, graph.value) != graph.value:
                        raise PublishError(
                            f"blank node _:{label} occurs in <{owner[label]}> and in "
                            f"<{graph.value}>: graphs sent separately cannot share it")
                entry.with_bnodes += 1
                blank[graph.value].write(line)
            else:
                plain[graph.value].write(line)
    except (OSError, SyntaxError) as exc:
        raise PublishError(f"cannot read {nquads}: {exc}") from None
    finally:
        for handle in (*plain.values(), *blank.values()):
            handle.close()
    for i, g in enumerate(graphs):  # blank-node triples, then the others, in one file
        with open(files[g].path, "a", encoding="utf-8") as out, \
                open(folder / f"graph-{i}.plain.nt", encoding="utf-8") as rest:
            for line in rest:
                out.write(line)
    return list(files.values())


def _chunks(entry: _GraphFile, size: int) -> Iterator[str]:
    """The graph's N-Triples in chunks of ``size`` lines; the first holds every blank-node
    triple (it may be longer than ``size``)."""
    first = max(size, entry.with_bnodes)
    lines: list[str] = []
    limit = first
    with open(entry.path, encoding="utf-8") as f:
        for line in f:
            lines.append(line)
            if len(lines) == limit:
                yield "".join(lines)
                lines, limit = [], size
    if lines or entry.triples == 0:
        yield "".join(lines)


# -- HTTP ------------------------------------------------------------------------------

def _check_url(url: str, what: str) -> str:
    """``url`` if it is an http(s) URL without credentials, else PublishError."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise PublishError(f"{what} {url!r} is not an http(s) URL")
    if parts.username is not None or parts.password is not None:
        raise PublishError(f"do not put credentials in the {what}: use POLI_KG_STORE_USER "
                           "and POLI_KG_STORE_PASSWORD (or --user / --password-file)")
    return url


class _AuthHandler(urllib.request.BaseHandler):
    """Answers a 401 with Digest or Basic credentials, as the challenge asks (urllib's two
    handlers side by side fail: the Basic one rejects a Digest challenge)."""

    handler_order = 480

    def __init__(self, passwords: urllib.request.HTTPPasswordMgr) -> None:
        self.digest = urllib.request.HTTPDigestAuthHandler(passwords)
        self.basic = urllib.request.HTTPBasicAuthHandler(passwords)

    def add_parent(self, parent: urllib.request.OpenerDirector) -> None:
        super().add_parent(parent)
        self.digest.add_parent(parent)
        self.basic.add_parent(parent)

    def http_error_401(self, req, fp, code, msg, headers):  # type: ignore[no-untyped-def]
        challenge = " ".join(headers.get_all("WWW-Authenticate") or []).lower()
        if challenge.startswith("digest") or " digest " in f" {challenge}":
            return self.digest.http_error_401(req, fp, code, msg, headers)
        if "basic" in challenge:
            return self.basic.http_error_401(req, fp, code, msg, headers)
        return None


class _Client:
    """urllib with the store's credentials (Basic or Digest) and no proxy for loopback."""

    def __init__(self, auth: tuple[str, str] | None, timeout: float,
                 urls: Sequence[str] = ()) -> None:
        self.timeout = timeout
        handlers: list[urllib.request.BaseHandler] = []
        if auth is not None:
            passwords = urllib.request.HTTPPasswordMgrWithDefaultRealm()
            for url in urls:  # credentials go to these endpoints only
                passwords.add_password(None, url, auth[0], auth[1])  # type: ignore[arg-type]
            handlers.append(_AuthHandler(passwords))
        self._opener = urllib.request.build_opener(*handlers)
        self._direct = urllib.request.build_opener(urllib.request.ProxyHandler({}), *handlers)

    def send(self, method: str, url: str, body: bytes | None, headers: dict[str, str]
             ) -> tuple[int, str]:
        """Send a request; return (status, first part of the answer's text).

        Transport failures raise PublishError; HTTP errors are returned as statuses.
        """
        request = urllib.request.Request(url, data=body, method=method, headers=headers)
        host = urllib.parse.urlsplit(url).hostname or ""
        opener = self._direct if host in LOOPBACK or host.startswith("127.") else self._opener
        try:
            with opener.open(request, timeout=self.timeout) as response:
                return response.status, response.read(65536).decode("utf-8", "replace")
        except urllib.error.HTTPError as exc:
            text = exc.read(4096).decode("utf-8", "replace") if exc.fp else ""
            exc.close()
            return exc.code, text
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", None) or exc
            raise PublishError(f"cannot reach {_without_query(url)}: {reason}") from None


def _without_query(url: str) -> str:
    """``url`` without its query string (for messages)."""
    return url.split("?", 1)[0]


def _first_line(text: str) -> str:
    """The first non-empty line of a server message, shortened."""
    for line in text.splitlines():
        if line.strip():
            line = line.strip()
            return line if len(line) <= 300 else line[:300] + " ..."
    return ""


def _with_param(url: str, name: str, value: str) -> str:
    """``url`` with one more query parameter."""
    return url + ("&" if "?" in url else "?") + urllib.parse.urlencode({name: value})


def _graph_store(client: _Client, endpoint: str, entry: _GraphFile, chunk: int
                 ) -> int | None:
    """Send one graph with the Graph Store Protocol; the number of requests, or None when
    the store has no Graph Store endpoint there."""
    url = _with_param(endpoint, "graph", entry.graph)
    content_type = N_TRIPLES
    requests = 0
    for body in _chunks(entry, chunk):
        method = "PUT" if requests == 0 else "POST"
        while True:
            status, text = client.send(method, url, body.encode("utf-8"),
                                       {"Content-Type": f"{content_type}; charset=utf-8"})
            if status == 415 and content_type == N_TRIPLES:
                content_type = TURTLE  # N-Triples is Turtle: for stores that only know Turtle
                continue
            break
        requests += 1
        if 200 <= status < 300:
            continue
        if requests == 1 and status in NO_GRAPH_STORE:
            return None
        raise PublishError(_refusal(status, text, f"{method} {_without_query(endpoint)}",
                                    entry.graph))
    return requests


def _update(client: _Client, endpoint: str, entry: _GraphFile, chunk: int) -> int:
    """Send one graph with SPARQL Update; the number of requests.

    The first chunk, which holds the blank-node triples, is an ``INSERT { } WHERE { }``:
    Virtuoso refuses blank nodes in ``INSERT DATA`` ("not allowed in a constant clause");
    with one solution the template inserts them just the same.
    """
    requests = 0
    for body in _chunks(entry, chunk):
        if requests == 0 and entry.with_bnodes:
            insert = f"INSERT {{ GRAPH <{entry.graph}> {{\n{body}}} }} WHERE {{ }}"
        else:
            insert = f"INSERT DATA {{ GRAPH <{entry.graph}> {{\n{body}}} }}"
        update = f"DROP SILENT GRAPH <{entry.graph}> ;\n{insert}" if requests == 0 else insert
        status, text = client.send(
            "POST", endpoint, urllib.parse.urlencode({"update": update}).encode("utf-8"),
            {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
        requests += 1
        if not 200 <= status < 300:
            raise PublishError(_refusal(status, text, f"SPARQL Update at {endpoint}",
                                        entry.graph))
    return requests


def _refusal(status: int, text: str, what: str, graph: str) -> str:
    """The message for a refused request."""
    detail = _first_line(text)
    hint = ""
    if status in (401, 403):
        hint = (" (give credentials that may write: POLI_KG_STORE_USER / "
                "POLI_KG_STORE_PASSWORD)")
    elif "SECURITY" in text or "permission" in text.lower():
        hint = " (this endpoint may not write: give --graph-store or --update with credentials)"
    return f"{what} refused graph <{graph}>: HTTP {status}{': ' + detail if detail else ''}{hint}"


def store_sizes(client: _Client, url: str, graphs: Sequence[str]) -> dict[str, int]:
    """Triples per graph, as the store's query endpoint ``url`` counts them."""
    query = "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g"
    params = [("query", query)] + [("named-graph-uri", g) for g in graphs]
    status, text = client.send(
        "POST", url, urllib.parse.urlencode(params).encode("utf-8"),
        {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
         "Accept": "application/sparql-results+json"})
    if status != 200:
        raise PublishError(f"the query endpoint {url} answered HTTP {status}: {_first_line(text)}")
    try:
        bindings = json.loads(text)["results"]["bindings"]
        return {b["g"]["value"]: int(b["n"]["value"]) for b in bindings}
    except (ValueError, KeyError, TypeError) as exc:
        raise PublishError(f"cannot read the answer of {url}: {exc}") from None


# -- publishing --------------------------------------------------------------------------

def publish(
    build_dir: str | Path,
    url: str,
    *,
    graph_store_url: str | None = None,
    update_url: str | None = None,
    auth: tuple[str, str] | None = None,
    graphs: Sequence[str] | None = None,
    chunk_triples: int = DEFAULT_CHUNK,
    timeout: float = 600.0,
    progress: Progress | None = None,
) -> PublishResult:
    """Load the build's named graphs into the store; verify the counts through ``url``.

    ``url`` is the store's SPARQL query endpoint (the one ``poli-kg serve --store
    sparql:URL`` reads); see the module documentation for the rest.  Raises PublishError.
    """
    nquads = _check_arguments(build_dir, url, graph_store_url, update_url, chunk_triples)
    names = [str(g) for g in (graphs or NAMED_GRAPHS)]
    target = urllib.parse.urlsplit(graph_store_url or update_url or url)
    if auth is not None and target.scheme == "http" and target.hostname not in LOOPBACK:
        log.warning("credentials are sent to %s over plain http: use https", target.hostname)
    say = progress or (lambda message: None)
    client = _Client(auth, timeout, [u for u in (graph_store_url, update_url or url) if u])
    result = PublishResult(url=url)
    graph_store = graph_store_url
    with tempfile.TemporaryDirectory(prefix="poli-kg-publish-") as tmp:
        for entry in read_graphs(nquads, Path(tmp), names):
            upload = _upload(client, entry, graph_store, update_url or url, chunk_triples, say)
            if upload.method == "update":
                graph_store = None  # no Graph Store endpoint there: SPARQL Update from now on
            result.graphs.append(upload)
            say(f"{entry.graph}  {entry.triples} triples  {upload.method}  {upload.requests} "
                f"request{'s' if upload.requests != 1 else ''}  {upload.seconds:.2f} s")
    result.store_sizes = store_sizes(client, url, names)
    wrong = [f"<{g.graph}>: {result.store_sizes.get(g.graph, 0)} in the store, {g.triples} "
             "in the build" for g in result.graphs
             if result.store_sizes.get(g.graph, 0) != g.triples]
    if wrong:
        raise PublishError("the store does not hold what was sent: " + "; ".join(wrong))
    return result


def _check_arguments(build_dir: str | Path, url: str, graph_store_url: str | None,
                     update_url: str | None, chunk_triples: int) -> Path:
    """Refuse unusable URLs and chunk sizes (PublishError); the build's N-Quads file."""
    _check_url(url, "store URL")
    if graph_store_url:
        _check_url(graph_store_url, "Graph Store URL")
    if update_url:
        _check_url(update_url, "update URL")
    if chunk_triples < 1:
        raise PublishError("chunk size must be at least 1 triple")
    nquads = Path(build_dir).resolve() / NQUADS_FILE
    if not nquads.is_file():
        raise PublishError(f"{nquads} does not exist: run 'poli-kg build' first")
    return nquads


def _upload(client: _Client, entry: _GraphFile, graph_store_url: str | None, update_url: str,
            chunk: int, say: Progress) -> GraphUpload:
    """Send one graph: with the Graph Store Protocol when ``graph_store_url`` is given and
    the store has such an endpoint there, else with SPARQL Update at ``update_url``."""
    started = time.perf_counter()
    requests = None
    method = "update"
    if graph_store_url:
        requests = _graph_store(client, graph_store_url, entry, chunk)
        if requests is None:
            say(f"no Graph Store endpoint at {graph_store_url}: using SPARQL Update")
        else:
            method = "graph-store"
    if requests is None:
        requests = _update(client, update_url, entry, chunk)
    return GraphUpload(entry.graph, entry.triples, method, requests,
                       round(time.perf_counter() - started, 3))


def read_password_file(path: str | Path) -> str:
    """The first line of a password file (without its line break)."""
    with open(path, encoding="utf-8") as f:
        return f.readline().rstrip("\r\n")
