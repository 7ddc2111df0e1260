"""Serve the application with gunicorn (threaded workers) or granian, programmatically.

``poli-kg serve`` calls :func:`run`; ``python -m poli_kg.web.server --help`` does the same
from a shell.  Each worker process runs ``threads`` request threads; a request
thread runs its query in an idle query child process of its worker (see
:mod:`poli_kg.store.executor`).  Either server creates the application once and forks its
workers from it (what the rate limiter's shared table and the in-memory stores rely on).
gunicorn is the default; granian (written in Rust) spends about a third less CPU on a
request, which is what small queries cost most (``bench/nginx.py``).  ``port=0`` binds a
free port; the banner printed when the server is ready names the real one::

    poli-kg serving http://127.0.0.1:8000/ (SPARQL endpoint: http://127.0.0.1:8000/sparql)
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing
import os
import socket
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import gunicorn.http.wsgi
from flask import Flask, Response
from gunicorn.app.base import BaseApplication

from poli_kg.config import APPLICATION_SERVERS
from poli_kg.store import BACKEND_FORMS, BACKENDS, Store
from poli_kg.web import create_app
from poli_kg.web.base.settings import DEFAULTS

THREADS = 8
"""Request threads per worker."""
SERVERS = APPLICATION_SERVERS
"""The application servers :func:`run` can serve with (the first is the default)."""
MIN_WORKERS, MAX_WORKERS = 2, 4
SERVER_NAME = "poli-kg"
"""The ``Server`` header (gunicorn would send ``gunicorn``, and its version in the WSGI environ)."""


def default_workers() -> int:
    """One worker process per CPU core, at least 2 (one may restart while the other serves)
    and at most 4.

    A worker's threads only read requests and write answers: queries run in the query
    processes, outside its GIL.  More workers than cores buy no parallelism and cost CPU on
    every request (bench/nginx.py: 4 workers on 2 cores spend a fifth more per request
    than 2).
    """
    return max(MIN_WORKERS, min(os.cpu_count() or 1, MAX_WORKERS))


def announce(host: str, port: int) -> None:
    """Print the banner: where the server listens."""
    root = f"http://{host}:{port}/"
    print(f"poli-kg serving {root} (SPARQL endpoint: {root}sparql)", flush=True)


def when_ready(server: Any) -> None:
    """gunicorn hook: print where the server listens (the real port when port=0)."""
    for listener in server.LISTENERS:
        announce(*listener.sock.getsockname()[:2])


def worker_exit(server: Any, worker: Any) -> None:
    """gunicorn hook: stop the worker's query processes."""
    app = getattr(worker, "wsgi", None)
    extensions = getattr(app, "extensions", {})
    store = extensions.get("poli_kg.store")
    if isinstance(store, Store):
        store.close()


class Server(BaseApplication):  # type: ignore[misc]
    """gunicorn running the poli-kg Flask application."""

    def __init__(self, app_config: dict[str, Any], options: dict[str, Any]) -> None:
        self.app_config = app_config
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        """Apply our options to gunicorn's settings; name no server software or version."""
        for key, value in self.options.items():
            self.cfg.set(key, value)
        # gunicorn has no setting for these: its responses read the module's globals.
        gunicorn.http.wsgi.SERVER = SERVER_NAME
        gunicorn.http.wsgi.SERVER_SOFTWARE = SERVER_NAME

    def load(self) -> Flask:
        """Create the Flask application (once, in the master: preload)."""
        return create_app(self.app_config)


def configure_logging() -> None:
    """Log ``poli_kg`` messages (JSON access lines included) to stderr."""
    logger = logging.getLogger("poli_kg")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False


def gunicorn_options(
    host: str, port: int, query_timeout: float, workers: int | None
) -> dict[str, Any]:
    """gunicorn settings for the service."""
    return {
        "bind": f"{host}:{port}",
        "workers": workers or default_workers(),
        "worker_class": "gthread",
        "threads": THREADS,
        # gthread workers heartbeat from their main thread, so a long query does
        # not trip this; it only catches a stuck worker.
        "timeout": int(query_timeout) + 30,
        "graceful_timeout": int(query_timeout) + 5,
        "keepalive": 5,
        "preload_app": True,  # create the app once; memory datasets are shared copy-on-write
        "limit_request_line": 8190,  # longest GET; longer queries: POST
        "accesslog": None,  # the application writes JSON access lines
        "errorlog": "-",
        "loglevel": "info",
        "proc_name": "poli-kg",
        "control_socket_disable": True,  # no management socket (several servers may run)
        "when_ready": when_ready,
        "worker_exit": worker_exit,
    }


def run(
    build_dir: str | os.PathLike[str],
    host: str = "127.0.0.1",
    port: int = 8000,
    query_timeout: float = DEFAULTS["QUERY_TIMEOUT"],
    max_results: int = DEFAULTS["MAX_RESULTS"],
    store: str = DEFAULTS["STORE"],
    workers: int | None = None,
    server: str = SERVERS[0],
) -> None:
    """Serve the build in ``build_dir`` on ``host:port`` with ``server`` until interrupted."""
    if store in BACKENDS and not Path(build_dir).is_dir():
        raise FileNotFoundError(f"{build_dir} does not exist: run 'poli-kg build' first")
    if server not in SERVERS:
        raise ValueError(f"unknown server {server!r}: {' or '.join(SERVERS)}")
    configure_logging()
    app_config = {
        "BUILD_DIR": os.fspath(build_dir),
        "STORE": store,
        "QUERY_TIMEOUT": query_timeout,
        "MAX_RESULTS": max_results,
    }
    if server == "granian":
        serve_granian(create_app(app_config), host, port, query_timeout, workers)
    else:
        Server(app_config, gunicorn_options(host, port, query_timeout, workers)).run()


# ---------------------------------------------------------------------------------- granian

def name_the_server(response: Response) -> Response:
    """granian names itself in a ``Server`` header unless the application sends one."""
    response.headers["Server"] = SERVER_NAME
    return response


def free_port(host: str) -> int:
    """A port free on ``host`` now (granian cannot tell which port 0 became)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def notify_systemd() -> None:
    """Tell systemd that the service is ready, in a ``Type=notify`` unit (gunicorn does so
    itself; granian does not)."""
    address = os.environ.get("NOTIFY_SOCKET", "")
    if not address:
        return
    if address.startswith("@"):  # an abstract socket
        address = "\0" + address[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.connect(address)
        sock.sendall(b"READY=1")


def serve_granian(app: Flask, host: str, port: int, query_timeout: float,
                  workers: int | None) -> None:
    """granian's workers, forked from this process, serving ``app``."""
    from granian import Granian
    from granian.constants import Interfaces

    app.after_request(name_the_server)
    port = port or free_port(host)
    # Forked, not spawned: the workers share the application created here, as gunicorn's do.
    # No thread of ours may run while they fork: a lock it held would stay locked in a worker.
    multiprocessing.set_start_method("fork", force=True)
    server = Granian(
        "poli_kg.web:create_app", address=host, port=port, interface=Interfaces.WSGI,
        workers=workers or default_workers(), blocking_threads=THREADS,
        # A query process dies with the request thread that forked it: keep idle threads long.
        blocking_threads_idle_timeout=600,
        workers_kill_timeout=int(query_timeout) + 5,
        respawn_failed_workers=True,  # a worker that dies is replaced, as gunicorn does
        log_access=False,  # the application writes JSON access lines
    )
    server.on_startup(lambda: announce(host, port))  # once it listens, before the workers start
    server.on_startup(notify_systemd)
    server.serve(target_loader=lambda: app, wrap_loader=False)


def main(argv: Sequence[str] | None = None) -> None:
    """Command line: ``python -m poli_kg.web.server [--build-dir DIR] [--port N] ...``."""
    parser = argparse.ArgumentParser(prog="python -m poli_kg.web.server", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build-dir", default=DEFAULTS["BUILD_DIR"],
                        help="output of poli-kg build")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000, help="0: any free port")
    parser.add_argument("--query-timeout", type=float, default=DEFAULTS["QUERY_TIMEOUT"],
                        help="seconds")
    parser.add_argument("--max-results", type=int, default=DEFAULTS["MAX_RESULTS"])
    parser.add_argument("--store", default=DEFAULTS["STORE"], help=" | ".join(BACKEND_FORMS))
    parser.add_argument("--workers", type=int, default=None,
                        help=f"worker processes (default: one per core, {MIN_WORKERS} to {MAX_WORKERS})")
    parser.add_argument("--server", choices=SERVERS, default=SERVERS[0],
                        help="application server (default: %(default)s)")
    args = parser.parse_args(argv)
    run(args.build_dir, host=args.host, port=args.port, query_timeout=args.query_timeout,
        max_results=args.max_results, store=args.store, workers=args.workers,
        server=args.server)


if __name__ == "__main__":
    main()
