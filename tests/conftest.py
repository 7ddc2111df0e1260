"""Shared fixtures: a real build of the project's graph, the Flask app, a real server."""

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
TEST_DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(scope="session")
def build_dir(tmp_path_factory):
    """The project's real ontology + data, built once per session into a temporary folder."""
    from poli_kg.graph.pipeline import build

    out = tmp_path_factory.mktemp("build") / "public"
    build(out)
    return out


# --------------------------------------------------------------------------------------
# The web application and a real server (fixtures: app, client, runner, live_server).

import importlib.util  # noqa: E402
import os  # noqa: E402
import re  # noqa: E402
import signal  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import requests  # noqa: E402

STAND_IN_TRIG = """\
@prefix pkg: <https://w3id.org/poli-kg/ontology#> .
@prefix poli: <https://w3id.org/poli-kg/id/> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix owl: <http://www.w3.org/2002/07/owl#> .
@prefix prov: <http://www.w3.org/ns/prov#> .
<https://w3id.org/poli-kg/graph/ontology> {
  pkg:PoloDiInnovazione a owl:Class ; rdfs:label "Polo di innovazione"@it, "Innovation cluster"@en .
}
<https://w3id.org/poli-kg/graph/data> {
%s
}
<https://w3id.org/poli-kg/graph/provenance> {
  poli:fonte prov:value "Regione Piemonte, 2017" .
}
<https://w3id.org/poli-kg/graph/inferred> {
  poli:polo/p0 a owl:Thing .
}
"""


def write_stand_in_build(out: Path) -> Path:
    """A small build with the layout of ``poli_kg.graph`` (TriG, on-disk store, build.json)."""
    import json

    import pyoxigraph

    out.mkdir(parents=True, exist_ok=True)
    data = "\n".join(
        f'  poli:polo/p{i} a pkg:PoloDiInnovazione ; rdfs:label "Polo {i}"@it ; pkg:numero {i} .'
        for i in range(100))
    trig = out / "poli-kg.trig"
    trig.write_text(STAND_IN_TRIG % data, encoding="utf-8")
    store = pyoxigraph.Store(str(out / "store"))
    store.load(path=str(trig), format=pyoxigraph.RdfFormat.TRIG)
    store.flush()
    del store
    (out / "build.json").write_text(json.dumps({"stand_in": True}), encoding="utf-8")
    return out


@pytest.fixture(scope="session")
def sparql_build_dir(request, tmp_path_factory):
    """The real build (``build_dir``) when ``poli_kg.graph`` exists, else a small stand-in."""
    if importlib.util.find_spec("poli_kg.graph") is not None:
        return request.getfixturevalue("build_dir")
    return write_stand_in_build(tmp_path_factory.mktemp("stand-in") / "public")


@pytest.fixture
def app(sparql_build_dir):
    """The Flask application over the session's build (default oxigraph store)."""
    from poli_kg.web import create_app

    application = create_app({"TESTING": True, "BUILD_DIR": str(sparql_build_dir),
                               "QUERY_TIMEOUT": 10})
    yield application
    application.extensions["poli_kg.store"].close()


@pytest.fixture
def client(app):
    """Flask's test client for ``app``."""
    return app.test_client()


@pytest.fixture
def runner(app):
    """Flask's CLI runner for ``app``."""
    return app.test_cli_runner()


class ServerProcess:
    """``python -m poli_kg.web.server`` on a free port of 127.0.0.1, started and stopped by tests."""

    BANNER = re.compile(r"poli-kg serving (http://127\.0\.0\.1:\d+)/")

    def __init__(self, build: Path, logs: Path, *options: str) -> None:
        self.stdout = logs / "stdout.log"
        self.stderr = logs / "stderr.log"
        command = [sys.executable, "-m", "poli_kg.web.server", "--build-dir", str(build),
                   "--host", "127.0.0.1", "--port", "0", *options]
        with open(self.stdout, "wb") as out, open(self.stderr, "wb") as err:
            self.process = subprocess.Popen(command, stdout=out, stderr=err,
                                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
        self.url = self._wait_ready()

    def _wait_ready(self, timeout: float = 60) -> str:
        """Wait for the banner and a 200 from /healthz; return the base URL (no trailing /)."""
        deadline = time.monotonic() + timeout
        url = None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: {self.stderr.read_text()[-3000:]}")
            if url is None:
                match = self.BANNER.search(self.stdout.read_text())
                url = match.group(1) if match else None
            if url is not None:
                try:
                    if requests.get(url + "/healthz", timeout=5).status_code == 200:
                        return url
                except requests.RequestException:  # not listening yet, or not answering yet
                    pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"server not ready in {timeout} s: {self.stderr.read_text()[-3000:]}")

    @property
    def pid(self) -> int:
        """The id of the server's main process (gunicorn's or granian's master)."""
        return self.process.pid

    def stop(self) -> None:
        """SIGTERM the master, then SIGKILL if it lingers."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture(scope="session")
def start_server(tmp_path_factory, sparql_build_dir):
    """Factory: ``start_server("--store", "memory", ...)`` -> a running :class:`ServerProcess`."""
    servers: list[ServerProcess] = []

    def start(*options: str) -> ServerProcess:
        server = ServerProcess(sparql_build_dir, tmp_path_factory.mktemp("server"), *options)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture(scope="session")
def live_server(start_server):
    """Base URL (``http://127.0.0.1:PORT``, no trailing slash) of a real server over the build."""
    return start_server("--workers", "2", "--query-timeout", "10").url


class TcpListener:
    """A TCP listener on 127.0.0.1 that counts the connections it receives (and answers none)."""

    def __init__(self) -> None:
        import socket
        import threading

        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/"
        self.connections = 0
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def tcp_listener():
    """A :class:`TcpListener`: queries must never make the service connect to it."""
    listener = TcpListener()
    yield listener
    listener.close()
