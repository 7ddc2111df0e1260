"""One build per running server: a rebuild under a running server changes nothing it serves.

Each test builds a small project (``tests/data/build/project`` plus a file whose one triple
names the build's version) with the real :func:`poli_kg.graph.pipeline.build`, starts the
application (Flask test client, or the production server), rebuilds with changed data, and
checks that queries from new threads (hence new query processes) and new worker
processes, the pages, the downloads and the build information all still come from the
build the server started on; that later builds do not prune that build while the server
holds it; and that a new application serves the newest build.
"""

from __future__ import annotations

import json
import shutil
import threading
import time
from pathlib import Path

import psutil
import pytest
import requests

from poli_kg.web import create_app
from poli_kg.graph.pipeline import ServedBuild, build
from poli_kg.store import BACKENDS
from tests.conftest import ServerProcess, TEST_DATA

FIXTURES = TEST_DATA / "build" / "project"
MESAP = "https://w3id.org/poli-kg/id/polo/mesap"
VERSION_QUERY = f"SELECT ?v WHERE {{ <{MESAP}> <http://www.w3.org/2000/01/rdf-schema#comment> ?v }}"
JSON = {"Accept": "application/sparql-results+json"}


class Site:
    """A copy of the fixture project and its output symlink; :meth:`build` makes version n."""

    def __init__(self, root: Path) -> None:
        self.project = root / "project"
        shutil.copytree(FIXTURES, self.project)
        self.out = root / "site" / "public"
        self.folders: dict[int, Path] = {}

    def build(self, version: int) -> Path:
        (self.project / "data" / "versione.ttl").write_text(
            f'<{MESAP}> <http://www.w3.org/2000/01/rdf-schema#comment> "versione {version}"@it .\n',
            encoding="utf-8")
        self.folders[version] = build(self.out, self.project).path
        return self.folders[version]

    def inputs_sha256(self, version: int) -> str:
        return json.loads((self.folders[version] / "build.json").read_text())["inputs_sha256"]

    def builds(self) -> list[str]:
        return sorted(p.name for p in self.out.parent.iterdir()
                      if p.name.startswith(".public-2") and p.is_dir())


@pytest.fixture
def site(tmp_path) -> Site:
    return Site(tmp_path)


def versions_in(text: str) -> set[str]:
    """The ``versione N`` marks in a response body."""
    import re

    return set(re.findall(r"versione \d+", text))


def served(client) -> dict[str, object]:
    """What the application serves, as seen by one request thread (its own query process)."""
    query = client.get("/sparql", query_string={"query": VERSION_QUERY}, headers=JSON)
    assert query.status_code == 200, query.data
    values = {b["v"]["value"] for b in query.get_json()["results"]["bindings"]}
    index = client.get("/downloads/?format=json").get_json()
    turtle = client.get("/id/polo/mesap.ttl")
    assert turtle.status_code == 200, (turtle.status_code, turtle.get_data(as_text=True)[:500])
    return {
        "query": values,
        "page": versions_in(client.get("/id/polo/mesap").get_data(as_text=True)),
        "turtle": versions_in(turtle.get_data(as_text=True)),
        "download": versions_in(client.get("/downloads/poli-kg.ttl").get_data(as_text=True)),
        "inputs_sha256": index["inputs_sha256"],
    }


def served_from_new_threads(app, threads: int = 3) -> list[dict[str, object]]:
    """:func:`served` from ``threads`` new threads at once (each forks a new query process)."""
    results: list[dict[str, object]] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            results.append(served(app.test_client()))
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test's thread
            errors.append(exc)

    workers = [threading.Thread(target=run) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    if errors:
        raise errors[0]
    assert len(results) == threads
    return results


def expected(site: Site, version: int) -> dict[str, object]:
    mark = f"versione {version}"
    return {"query": {mark}, "page": {mark}, "turtle": {mark}, "download": {mark},
            "inputs_sha256": site.inputs_sha256(version)}


def close(app) -> None:
    app.extensions["poli_kg.store"].close()


# ------------------------------------------------------------------- the Flask application

@pytest.mark.parametrize("spec", BACKENDS)
def test_a_rebuild_under_a_running_app_changes_nothing_it_serves(site, spec):
    first = site.build(1)
    app = create_app({"TESTING": True, "BUILD_DIR": str(site.out), "STORE": spec,
                      "QUERY_TIMEOUT": 20})
    try:
        assert served(app.test_client()) == expected(site, 1)
        assert app.extensions["poli_kg.store"].child_pids()  # this thread's query process

        site.build(2)
        assert site.out.resolve() == site.folders[2]
        for answer in served_from_new_threads(app):
            assert answer == expected(site, 1)
        sitemap = app.test_client().get("/sitemap.xml")
        assert sitemap.status_code == 200

        # two more builds: the folder the app holds is kept besides the newest two
        site.build(3)
        site.build(4)
        assert first.is_dir()
        assert site.builds() == sorted([first.name, site.folders[3].name, site.folders[4].name])
        for answer in served_from_new_threads(app):
            assert answer == expected(site, 1)

        fresh = create_app({"TESTING": True, "BUILD_DIR": str(site.out), "STORE": spec,
                            "QUERY_TIMEOUT": 20})
        try:
            assert served(fresh.test_client()) == expected(site, 4)
        finally:
            close(fresh)
    finally:
        close(app)
    site.build(5)  # released: pruned like any old build
    assert not first.exists()
    assert site.builds() == sorted([site.folders[4].name, site.folders[5].name])


def test_an_app_started_before_the_first_build_takes_the_first_build_it_finds(site):
    app = create_app({"TESTING": True, "BUILD_DIR": str(site.out), "QUERY_TIMEOUT": 20})
    try:
        client = app.test_client()
        refused = client.get("/sparql", query_string={"query": VERSION_QUERY})
        assert refused.status_code == 503
        assert client.get("/downloads/").status_code == 503
        assert client.get("/healthz").status_code == 503

        site.build(1)
        assert served(client) == expected(site, 1)  # the thread that saw no build
        site.build(2)
        assert served(client) == expected(site, 1)
        for answer in served_from_new_threads(app):
            assert answer == expected(site, 1)
    finally:
        close(app)


def test_prune_keeps_a_held_build_and_deletes_it_once_released(site):
    first = site.build(1)
    held = ServedBuild(site.out)
    assert held.folder() == first
    for version in (2, 3, 4):
        site.build(version)
    assert held.folder() == first and first.is_dir()
    assert len(site.builds()) == 3
    held.close()
    site.build(5)
    assert not first.exists() and len(site.builds()) == 2


def test_a_build_pruned_while_a_server_locks_it_is_not_held(site, monkeypatch):
    """A prune between opening the resolved folder and locking it: resolve again."""
    import fcntl

    first = site.build(1)
    second = site.build(2)
    real_flock = fcntl.flock
    pruned = []

    def prune_then_flock(fd, operation):
        if operation == fcntl.LOCK_SH and not pruned:
            pruned.append(second)
            shutil.rmtree(second)  # as _prune would, with a build that went back to `first`
            site.out.unlink()
            site.out.symlink_to(first.name)
        return real_flock(fd, operation)

    monkeypatch.setattr(fcntl, "flock", prune_then_flock)
    held = ServedBuild(site.out)
    monkeypatch.undo()
    try:
        assert pruned == [second] and held.folder() == first
    finally:
        held.close()


# ------------------------------------------------------------------- the production server

def wait_for_workers(server: ServerProcess, count: int, gone: int | None = None,
                     timeout: float = 30) -> list[int]:
    """The server's ``count`` worker processes, once ``gone`` is not one of them."""
    deadline = time.monotonic() + timeout
    workers: list[int] = []
    while time.monotonic() < deadline:
        workers = []
        for child in psutil.Process(server.pid).children():
            try:
                if child.status() != psutil.STATUS_ZOMBIE:
                    workers.append(child.pid)
            except psutil.NoSuchProcess:
                pass
        if len(workers) == count and gone not in workers:
            return workers
        time.sleep(0.1)
    raise AssertionError(f"{count} workers expected, found {workers}")


def served_by(url: str) -> dict[str, object]:
    """What the server serves, on a new connection (any worker may take it)."""
    with requests.Session() as session:
        query = session.get(url + "/sparql", params={"query": VERSION_QUERY}, headers=JSON,
                            timeout=20)
        assert query.status_code == 200, query.text
        return {
            "query": {b["v"]["value"] for b in query.json()["results"]["bindings"]},
            "page": versions_in(session.get(url + "/id/polo/mesap", timeout=20).text),
            "turtle": versions_in(session.get(url + "/id/polo/mesap.ttl", timeout=20).text),
            "download": versions_in(session.get(url + "/downloads/poli-kg.ttl", timeout=20,
                                                headers={"Accept-Encoding": "identity"}).text),
            "inputs_sha256": session.get(url + "/downloads/?format=json",
                                         timeout=20).json()["inputs_sha256"],
        }


@pytest.mark.slow
def test_a_rebuild_under_a_running_server_changes_nothing_it_serves(site, tmp_path):
    first = site.build(1)
    (tmp_path / "logs").mkdir()
    server = ServerProcess(site.out, tmp_path / "logs", "--workers", "2")
    try:
        workers = wait_for_workers(server, 2)
        assert served_by(server.url) == expected(site, 1)
        site.build(2)
        site.build(3)
        assert first.is_dir() and site.out.resolve() == site.folders[3]
        for _ in range(6):
            assert served_by(server.url) == expected(site, 1)
        # a new worker process (forked by the master after the rebuilds) serves it too
        psutil.Process(workers[0]).kill()
        replaced = set(wait_for_workers(server, 2, gone=workers[0])) - set(workers)
        assert len(replaced) == 1
        for _ in range(6):
            assert served_by(server.url) == expected(site, 1)
    finally:
        server.stop()
    (tmp_path / "after").mkdir()
    fresh = ServerProcess(site.out, tmp_path / "after", "--workers", "1")
    try:
        assert served_by(fresh.url) == expected(site, 3)
    finally:
        fresh.stop()
    site.build(4)  # the first server is gone: its build is pruned
    assert not first.exists()
