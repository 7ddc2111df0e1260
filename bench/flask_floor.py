"""The framework's floor: a SPARQL query through Flask, with nothing of poli-kg's.

    python bench/flask_floor.py BUILD_DIR/store [--port 0] [--workers N] [--isolate]
                                [--server gunicorn|granian]
    python bench/flask_floor.py --forward SPARQL_URL [--port 0] [--server gunicorn|granian]

A one-view Flask application behind gunicorn with the settings of ``poli-kg serve``
(:func:`poli_kg.web.server.gunicorn_options`: gthread workers, 8 threads each, keep-alive), or
behind granian (a WSGI server written in Rust; PyPI ``granian``, in the bench extra) with as
many workers and 8 threads each.
``POST /sparql`` (form-encoded ``query=``) runs the query on the build's on-disk Oxigraph store
and answers SPARQL JSON, as ``bench/oxigraph_server.py`` does; without ``--isolate`` in the
request thread, with it in a child process of the worker through poli-kg's executor
(:mod:`poli_kg.store.executor`, the process boundary that makes a runaway query killable).
No checks, no headers, no log.  Beside the bare server and poli-kg (``bench/nginx.py``) it
tells what Flask and the application server cost alone, and what the process boundary adds.
With ``--forward`` the view instead sends the request's form to another SPARQL endpoint
(one kept-alive connection per thread) and answers its bytes unchanged: the least any Python
server in front of a larger engine adds to each query (``bench/virtuoso_backend.py``).
Prints ``poli-kg serving URL`` once it serves, like ``poli-kg serve``.
"""

from __future__ import annotations

import argparse
import http.client
import os
import sys
import threading
import urllib.parse

import pyoxigraph as ox
from flask import Flask, Response, request

from poli_kg.store.executor import Executor
from poli_kg.web.server import (SERVERS, THREADS, Server, default_workers, free_port,
                                gunicorn_options)

RESULTS_JSON = "application/sparql-results+json"
STORE_ENV, ISOLATE_ENV, FORWARD_ENV = "FLOOR_STORE", "FLOOR_ISOLATE", "FLOOR_FORWARD"
"""How granian's workers, which import the application anew, learn its arguments."""


class Answerer:
    """Runs a query on the store and serialises it (opened lazily, after gunicorn forks)."""

    def __init__(self, folder: str) -> None:
        self.folder = folder
        self.store: ox.Store | None = None

    def answer(self, query: str) -> bytes:
        if self.store is None:
            self.store = ox.Store.read_only(self.folder)
        result = self.store.query(query, use_default_graph_as_union=True)
        return result.serialize(format=ox.QueryResultsFormat.JSON)


def empty_app() -> Flask:
    """A Flask application with only ``/healthz`` (what the bench waits for)."""
    app = Flask(__name__)

    @app.get("/healthz")
    def healthz() -> Response:
        return Response(b"{}", content_type="application/json")

    return app


def floor_app(folder: str, isolate: bool) -> Flask:
    """The one-view application."""
    app = empty_app()
    answerer = Answerer(folder)
    executor = Executor(lambda: Answerer(folder)) if isolate else None

    @app.post("/sparql")
    def sparql() -> Response:
        query = request.form["query"]
        body = (answerer.answer(query) if executor is None
                else executor.call("answer", (query,), timeout=30))
        return Response(body, content_type=RESULTS_JSON)

    return app


def forward_app(url: str) -> Flask:
    """The one-view application that forwards every query to the endpoint ``url``."""
    app = empty_app()
    split = urllib.parse.urlsplit(url)
    connections = threading.local()

    def forward(connection: http.client.HTTPConnection) -> Response:
        connection.request("POST", split.path, request.get_data(), {
            "Content-Type": request.content_type or "", "Accept": RESULTS_JSON})
        answer = connection.getresponse()
        return Response(answer.read(), answer.status,
                        content_type=answer.getheader("Content-Type"))

    @app.post("/sparql")
    def sparql() -> Response:
        connection = getattr(connections, "upstream", None)
        if connection is None:
            connection = connections.upstream = http.client.HTTPConnection(
                split.hostname, split.port, timeout=60)
        try:
            return forward(connection)
        except (http.client.HTTPException, ConnectionError):
            connection.close()  # the endpoint closed a kept-alive connection: once more
            return forward(connection)

    return app


def app_from_environment() -> Flask:
    """:func:`floor_app` or :func:`forward_app` with the arguments in the environment
    (granian's factory)."""
    if os.environ.get(FORWARD_ENV):
        return forward_app(os.environ[FORWARD_ENV])
    return floor_app(os.environ[STORE_ENV], os.environ.get(ISOLATE_ENV) == "1")


def serve_granian(args: argparse.Namespace) -> None:
    from granian import Granian
    from granian.constants import Interfaces

    os.environ.update({STORE_ENV: args.store or "", ISOLATE_ENV: "1" if args.isolate else "0",
                       FORWARD_ENV: args.forward or ""})
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    port = args.port or free_port("127.0.0.1")
    print(f"poli-kg serving http://127.0.0.1:{port}/", flush=True)
    Granian("flask_floor:app_from_environment", address="127.0.0.1", port=port,
            interface=Interfaces.WSGI, factory=True, workers=args.workers or default_workers(),
            blocking_threads=THREADS, log_enabled=False).serve()


class FloorServer(Server):
    """gunicorn with ``poli-kg serve``'s settings, serving :func:`floor_app`."""

    def load(self) -> Flask:
        if self.app_config["forward"]:
            return forward_app(self.app_config["forward"])
        return floor_app(self.app_config["folder"], self.app_config["isolate"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("store", nargs="?", help="an Oxigraph store folder (BUILD_DIR/store)")
    parser.add_argument("--forward", metavar="SPARQL_URL",
                        help="forward every query to this endpoint instead")
    parser.add_argument("--port", type=int, default=0, help="0: any free port")
    parser.add_argument("--workers", type=int, default=None,
                        help="gunicorn workers (default: as poli-kg serve)")
    parser.add_argument("--isolate", action="store_true",
                        help="run each query in a child process (poli-kg's executor)")
    parser.add_argument("--server", choices=SERVERS, default=SERVERS[0])
    args = parser.parse_args(argv)
    if not args.store and not args.forward:
        parser.error("give a store folder or --forward SPARQL_URL")
    if args.server == "granian":
        serve_granian(args)
        return 0
    options = gunicorn_options("127.0.0.1", args.port, 30.0, args.workers)
    del options["worker_exit"]  # no poli-kg store to close
    FloorServer({"folder": args.store, "isolate": args.isolate, "forward": args.forward},
                options).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
