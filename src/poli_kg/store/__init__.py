"""The triple store behind the SPARQL endpoint and the HTML pages.

Public API (stable; used by :mod:`poli_kg.web.sparql` and the linked-data pages)::

    from poli_kg.store import get_store

    store = get_store()            # inside a Flask application / request context
    graph = store.construct(       # -> rdflib.Graph (project prefixes bound)
        "DESCRIBE ?s", bindings={"s": URIRef("https://w3id.org/poli-kg/id/polo/mesap")})
    rows = store.select(           # -> list[dict[str, rdflib term]] (unbound: key absent)
        "SELECT ?label WHERE { ?s rdfs:label ?label }", bindings={"s": iri})
    result = store.execute(        # -> QueryResult (serialised bytes + count + truncated)
        query, form="SELECT", media_type="application/sparql-results+json")
    store.graph_sizes()            # -> {graph IRI: number of triples}
    store.named_graphs             # -> the dataset's named graph IRIs

All queries run over the dataset whose default graph is the union of the named
graphs (unless the query has FROM / FROM NAMED, or ``default_graph_uris`` /
``named_graph_uris`` are given).  Prefixes are *not* predeclared: start queries
with :func:`poli_kg.namespaces.sparql_prologue` when you use them.  ``bindings``
pre-bind variables to rdflib IRIs or literals, identically on every backend (see
:mod:`poli_kg.store.backend`); never paste request data into query strings yourself.

:class:`Store` never evaluates a query in the calling process: it sends every
call to a child process of its own for the time of the call (:mod:`poli_kg.store.executor`)
that has the backend open, and raises :class:`QueryTimeout` when the call takes longer than
its timeout (the child is killed).  A ``sparql:URL`` store evaluates the queries itself, so
its backend, which only sends them and reads the answers, works in the calling thread within
the same timeout and memory limit (:meth:`SparqlBackend.limits`).  Errors are
:class:`QueryError` subclasses (:mod:`poli_kg.store.errors`): :class:`QuerySyntaxError`
(message with line:column), :class:`QueryEvaluationError`, :class:`QueryRefused`,
:class:`StoreUnavailable` (and its :class:`StoreTimeout`: a remote store stopped the query
itself, or marked its answer as incomplete).  Repeated calls are answered from a
:class:`ResultCache` (:mod:`poli_kg.store.cache`).

One build per store: ``BUILD_DIR`` (the symlink ``poli-kg build`` swaps) is resolved
once, when the :class:`Store` is made (or, when nothing is built yet, at the first call
that finds a build; until then calls raise :class:`StoreUnavailable`), and every query
process opens its backend over that resolved folder, so queries never mix builds, and
agree with the downloads and pages, which read the same folder (``Store.build``, a
:class:`poli_kg.buildfolder.ServedBuild` that also keeps later builds from pruning it).  A
rebuild is served after a restart.  The store reads the build folder only through
:mod:`poli_kg.buildfolder`.

Backends (``spec`` strings, config key ``STORE``, ``poli-kg serve --store``; opened by
:func:`backend_opener`):

``oxigraph`` (default)
    the on-disk pyoxigraph store ``BUILD_DIR/store`` (:mod:`poli_kg.store.oxigraph`).
``oxigraph:PATH``
    a persistent pyoxigraph store in the folder ``PATH``, loaded from the build once
    (:mod:`poli_kg.store.persistent`).
``oxigraph-memory``
    an in-memory pyoxigraph store loaded from ``BUILD_DIR/poli-kg.trig`` once, before
    forking (:mod:`poli_kg.store.oxigraph`).
``memory``
    an rdflib Dataset loaded from ``BUILD_DIR/poli-kg.trig`` once, before forking
    (:mod:`poli_kg.store.memory`).
``sparql:URL``
    any SPARQL 1.1 server's query endpoint (:mod:`poli_kg.store.remote`; load it with
    :func:`poli_kg.store.publish.publish`).

Every backend answers in the neutral terms of :mod:`poli_kg.store.results`, which also
serialises them; :mod:`poli_kg.store.answers` reads a remote store's answers into them.
"""

from __future__ import annotations

import functools
import logging
import os
import threading
import weakref
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from flask import Flask
from rdflib import Graph
from rdflib.term import Identifier

from poli_kg.buildfolder import STORE_DIR, ServedBuild
from poli_kg.namespaces import NAMED_GRAPHS
from poli_kg.store.answers import parse_graph_results, parse_json_results, parse_xml_results
from poli_kg.store.backend import (
    BACKEND_FORMS, BACKENDS, Backend, bind, graph_from_terms, parse_spec, rows_from_terms,
    sparql_term,
)
from poli_kg.store.current import EXTENSION, get_store
from poli_kg.store.cache import ResultCache
from poli_kg.store.errors import (
    QueryError, QueryEvaluationError, QueryRefused, QuerySyntaxError, StoreTimeout,
    StoreUnavailable,
)
from poli_kg.store.executor import (
    ChildFailed, Executor, NetworkAccessDenied, QueryTimeout, default_memory_limit,
)
from poli_kg.store.memory import RdflibBackend
from poli_kg.store.oxigraph import OxigraphBackend
from poli_kg.store.persistent import (
    PERSISTENT_MANIFEST, prepare_persistent_store, read_persistent_manifest,
)
from poli_kg.store.remote import (
    DATASET_MODES, EMPTY_GRAPH, SparqlBackend, strip_dataset_clauses,
)
from poli_kg.store.results import (
    CSV, GRAPH_MEDIA_TYPES, JSON_LD, N_TRIPLES, RDF_XML, RESULT_MEDIA_TYPES,
    SPARQL_RESULTS_JSON, SPARQL_RESULTS_XML, TSV, TURTLE, QueryResult, RawResult, serialize,
    term_from_ox, term_to_rdflib,
)

__all__ = [
    "BACKENDS", "BACKEND_FORMS", "Backend", "CSV", "ChildFailed", "EMPTY_GRAPH",
    "GRAPH_MEDIA_TYPES", "JSON_LD", "N_TRIPLES", "OxigraphBackend", "PERSISTENT_MANIFEST",
    "QueryError", "QueryEvaluationError", "QueryRefused", "QueryResult", "QuerySyntaxError",
    "QueryTimeout", "RDF_XML", "RESULT_MEDIA_TYPES", "RawResult", "RdflibBackend",
    "ResultCache", "SPARQL_RESULTS_JSON", "SPARQL_RESULTS_XML", "SparqlBackend", "Store",
    "StoreTimeout", "StoreUnavailable", "TSV", "TURTLE", "backend_opener", "get_store",
    "init_app", "open_backend", "parse_graph_results", "parse_json_results", "parse_spec",
    "parse_xml_results", "prepare_persistent_store", "read_persistent_manifest", "serialize",
    "sparql_term", "strip_dataset_clauses", "term_from_ox", "term_to_rdflib",
]

log = logging.getLogger(__name__)

TRIG_FILE = "poli-kg.trig"
"""The build's TriG dump, which the in-memory backends load."""


# -- opening a backend -----------------------------------------------------------------

def _preloaded(backend: Backend) -> Backend:
    """Opener of a backend loaded before forking: hand it over as is."""
    return backend


def open_backend(spec: str, build_dir: str | Path) -> Backend:
    """Open backend ``spec`` over the build in ``build_dir`` in this process."""
    return backend_opener(spec, build_dir)()


def backend_opener(spec: str, build_dir: str | Path) -> Callable[[], Backend]:
    """A callable that opens backend ``spec``; the in-memory datasets (``oxigraph-memory``,
    ``memory``) are loaded right now, and an ``oxigraph:PATH`` store is loaded into PATH now
    if it does not hold the build yet.

    RocksDB stores are opened only when the callable is called (in the child process, after
    the fork: RocksDB is never opened before a fork); so is the connection to a
    ``sparql:URL`` store.
    """
    kind, argument = parse_spec(spec)
    build = Path(build_dir)
    if kind == "oxigraph-path":
        assert argument is not None
        try:
            folder = prepare_persistent_store(argument, build)
        except StoreUnavailable as exc:
            log.warning("store %s is unavailable: %s", spec, exc)
            return functools.partial(_unavailable, str(exc))
        return functools.partial(OxigraphBackend.open_read_only, folder, spec)
    if kind == "sparql":
        assert argument is not None
        return functools.partial(SparqlBackend.open_in_child, argument,
                                 tuple(str(g) for g in NAMED_GRAPHS), os.getpid())
    if spec in BACKENDS:
        needed = build / (STORE_DIR if spec == "oxigraph" else TRIG_FILE)
        if not needed.exists():  # not built yet: queries answer 503 with a clear message
            log.warning("%s does not exist: the %s store is unavailable until the graph "
                        "is built", needed, spec)
    if spec == "oxigraph":
        return functools.partial(OxigraphBackend.open_read_only, build / STORE_DIR)
    if spec == "oxigraph-memory":
        return _loaded_before_forking(OxigraphBackend.load_memory, build / TRIG_FILE)
    if spec == "memory":
        return _loaded_before_forking(RdflibBackend.load, build / TRIG_FILE)
    raise ValueError(f"unknown store {spec!r}; choose one of {', '.join(BACKEND_FORMS)}")


def _loaded_before_forking(load: Callable[[Path], Backend], trig: Path) -> Callable[[], Backend]:
    """Opener of an in-memory backend loaded from ``trig`` now, in this process, so that the
    query processes forked later share its pages copy-on-write instead of each loading it.

    Without the file the opener loads in the child (and answers StoreUnavailable there).
    """
    if not trig.is_file():
        return functools.partial(load, trig)
    try:
        return functools.partial(_preloaded, load(trig))
    except StoreUnavailable as exc:
        log.warning("the in-memory store is unavailable: %s", exc)
        return functools.partial(_unavailable, str(exc))


def _unavailable(message: str) -> Backend:
    """Opener of a backend that could not be prepared: every call answers StoreUnavailable."""
    raise StoreUnavailable(message)


# -- the facade used by the web application ---------------------------------------

class Store:
    """The dataset as the web application sees it: every call runs in a child process.

    One build for the store's lifetime: ``build_dir`` (the symlink ``poli-kg build``
    swaps) is resolved once, here or, when nothing is built yet, at the first call that
    finds a build (until then calls raise :class:`StoreUnavailable`); :attr:`build` is that
    :class:`~poli_kg.buildfolder.ServedBuild`, which the downloads and pages use too.  Every
    query process opens the backend over that folder, whatever later builds do.

    A ``sparql:URL`` backend is called in the calling thread instead (one per thread, with
    its keep-alive connection): a query process would only wait for the store's answer, and
    cost a round trip between processes.  ``remote_dataset`` is its dataset mode
    (:data:`~poli_kg.store.remote.DATASET_MODES`).
    """

    def __init__(
        self,
        spec: str = "oxigraph",
        build_dir: str | Path | ServedBuild = "public",
        *,
        timeout: float = 30.0,
        max_results: int = 10000,
        isolate_network: bool = True,
        cache_bytes: int = 32 * 2**20,
        remote_dataset: str = "explicit",
    ) -> None:
        self.spec = spec
        self.build = build_dir if isinstance(build_dir, ServedBuild) else ServedBuild(build_dir)
        self.timeout = timeout
        self.max_results = max_results
        remote = parse_spec(spec)[0] == "sparql"
        if remote_dataset not in DATASET_MODES:
            raise ValueError(f"remote dataset {remote_dataset!r}: choose one of "
                             f"{', '.join(DATASET_MODES)}")
        self._remote_dataset = remote_dataset if remote else None
        self._here = threading.local()
        self._here_backends: weakref.WeakSet[SparqlBackend] = weakref.WeakSet()
        # a remote store can change under us (poli-kg publish): its answers are not kept
        self._cache = ResultCache(cache_bytes) if cache_bytes > 0 and not remote else None
        self._opener: Callable[[], Backend] | None = None
        self._opener_lock = threading.Lock()
        self._prepare()
        self._executor = Executor(
            self._open_backend,
            expected_errors=(QueryError, NetworkAccessDenied),
            # a remote backend runs in the calling thread (see _call_here), not in a child
            isolate_network=isolate_network and not remote,
        )
        self._sizes: dict[str, int] | None = None
        self._sizes_lock = threading.Lock()

    def _prepare(self) -> None:
        """Make the backend opener, over the resolved build, once there is one.

        Backends over the local build wait for it; ``sparql:URL`` and ``oxigraph:PATH``
        do not need it (the latter loads it when there is one, see :func:`backend_opener`).
        """
        with self._opener_lock:
            if self._opener is None:
                folder = self.build.folder()
                if folder is not None or self.spec not in BACKENDS:
                    self._opener = backend_opener(self.spec, folder or self.build.out_dir)

    def _open_backend(self) -> Backend:
        """Open the backend (in a query process; forked only once the opener exists)."""
        assert self._opener is not None
        return self._opener()

    def _call(self, method: str, *args: Any, timeout: float | None = None, **kwargs: Any) -> Any:
        """Run a backend method in this thread's child process (a remote one: in this thread)."""
        if self._opener is None:
            self._prepare()
            if self._opener is None:
                raise StoreUnavailable(f"{self.build.out_dir} does not exist: the graph has "
                                       "not been built yet")
        limit = self.timeout if timeout is None else timeout
        if self._remote_dataset is not None:
            return self._call_here(method, args, kwargs, limit)
        try:
            return self._executor.call(method, args, kwargs, timeout=limit)
        except NetworkAccessDenied as exc:
            raise QueryRefused(str(exc)) from None

    def _call_here(self, method: str, args: tuple[Any, ...], kwargs: dict[str, Any],
                   timeout: float) -> Any:
        """Run a remote backend's method in this thread, bounded as in a query process."""
        backend = getattr(self._here, "backend", None)
        if backend is None or self._here.pid != os.getpid():  # none yet, or a fork's copy
            url = parse_spec(self.spec)[1]
            assert url is not None and self._remote_dataset is not None
            backend = SparqlBackend(url, dataset=self._remote_dataset)
            self._here.backend, self._here.pid = backend, os.getpid()
            self._here_backends.add(backend)
        try:
            with backend.limits(timeout, default_memory_limit()):
                return getattr(backend, method)(*args, **kwargs)
        except (QueryError, QueryTimeout):
            raise
        except Exception as exc:  # as a query process reports what it did not expect
            backend.close()
            log.exception("the call to the store failed")
            raise ChildFailed(f"the call to the store failed: {exc!r}") from exc

    def execute(
        self,
        query: str,
        *,
        form: str | None = None,
        media_type: str = SPARQL_RESULTS_JSON,
        default_graph_uris: Sequence[str] = (),
        named_graph_uris: Sequence[str] = (),
        max_results: int | None = None,
        timeout: float | None = None,
    ) -> QueryResult:
        """Evaluate and serialise ``query`` (see :meth:`Backend.execute`); a result of the
        same call is answered from the :class:`ResultCache` (stores over the local build)."""
        limit = self.max_results if max_results is None else max_results
        key = (query, media_type, tuple(default_graph_uris), tuple(named_graph_uris), limit)
        if self._cache is not None and (hit := self._cache.get(key)) is not None:
            return hit
        result: QueryResult = self._call(
            "execute", query, form=form, media_type=media_type,
            default_graph_uris=key[2], named_graph_uris=key[3], max_results=limit,
            timeout=timeout,
        )
        if self._cache is not None:
            self._cache.put(key, result)
        return result

    def construct(
        self,
        query: str,
        *,
        bindings: Mapping[str, Identifier] | None = None,
        timeout: float | None = None,
    ) -> Graph:
        """Result of a CONSTRUCT / DESCRIBE query as an rdflib Graph, prefixes bound."""
        triples = self._call("construct_terms", bind(query, bindings), timeout=timeout)
        return graph_from_terms(triples)

    def select(
        self,
        query: str,
        *,
        bindings: Mapping[str, Identifier] | None = None,
        timeout: float | None = None,
    ) -> list[dict[str, Any]]:
        """Rows of a SELECT query: ``{variable: rdflib term}``, unbound variables absent."""
        variables, rows = self._call("select_terms", bind(query, bindings), timeout=timeout)
        return rows_from_terms(variables, rows)

    def graph_sizes(self) -> dict[str, int]:
        """``{named graph IRI: triples}``, computed once (the dataset is read-only)."""
        with self._sizes_lock:
            if self._sizes is None:
                self._sizes = self._call("graph_sizes")
            return dict(self._sizes)

    @property
    def kind(self) -> str:
        """The backend's kind, without its argument: ``oxigraph``, ``oxigraph-path``,
        ``oxigraph-memory``, ``memory`` or ``sparql`` (safe to show: no URL, no path)."""
        return parse_spec(self.spec)[0]

    @property
    def named_graphs(self) -> tuple[str, ...]:
        """The dataset's named graphs: the project's graphs, then any other in the store."""
        own = tuple(str(g) for g in NAMED_GRAPHS)
        return own + tuple(sorted(g for g in self.graph_sizes() if g not in own))

    def child_pids(self) -> list[int]:
        """Process ids of the query processes of this process (for tests and monitoring)."""
        return self._executor.child_pids()

    def close(self) -> None:
        """Stop every query process, close the connections to a remote store, release the
        build."""
        self._executor.close()
        for backend in list(self._here_backends):
            backend.close()
        self.build.close()


def init_app(app: Flask) -> None:
    """Create the application's :class:`Store` from its config (flaskr style).

    Config keys: ``STORE`` (backend spec), ``BUILD_DIR``, ``QUERY_TIMEOUT`` (s),
    ``MAX_RESULTS``, ``QUERY_CACHE_MB`` (:class:`ResultCache` size; 0: none),
    ``REMOTE_DATASET`` (``explicit`` or ``store``: see :data:`~poli_kg.store.remote.DATASET_MODES`).
    """
    app.extensions[EXTENSION] = Store(
        app.config.get("STORE", "oxigraph"),
        app.config.get("BUILD_DIR", "public"),
        timeout=float(app.config.get("QUERY_TIMEOUT", 30)),
        max_results=int(app.config.get("MAX_RESULTS", 10000)),
        cache_bytes=int(float(app.config.get("QUERY_CACHE_MB", 32)) * 2**20),
        remote_dataset=str(app.config.get("REMOTE_DATASET", "explicit")),
    )
