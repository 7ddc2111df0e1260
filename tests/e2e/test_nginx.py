"""The production deployment: deploy/nginx/poli-kg.conf in front of two backends.

Debian's nginx (tests/support/nginx.py: its own folder, 127.0.0.1 and free ports only, never
the system's service) runs the site file of deploy/ in front of two ``python -m
poli_kg.web.server`` reading the same build — the read-replica pattern.  Through it: the
SPARQL protocol's basics, errors passed on as the application wrote them, nginx's own
refusals (body size, rate limit, no backend), the HTTP cache (``X-Cache-Status``), gzip,
and a short load that both backends share without an error.  Skipped when nginx is not
installed, unless ``CI`` is set.
"""

import gzip
import http.client
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import pytest
import requests

from tests.conftest import ROOT, ServerProcess
from tests.support.nginx import Nginx, find_executable, free_port

pytestmark = pytest.mark.slow

SYSTEMD_UNIT = ROOT / "deploy" / "systemd" / "poli-kg@.service"
PKG = "https://w3id.org/poli-kg/ontology#"
RDFS_LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
SELECT = (f"SELECT ?polo ?label WHERE {{ ?polo a <{PKG}PoloDiInnovazione> ; "
          f"<{RDFS_LABEL}> ?label }} ORDER BY ?polo ?label")
CONSTRUCT = f"CONSTRUCT WHERE {{ ?s a <{PKG}PoloDiInnovazione> }}"
EVERYTHING = "SELECT * WHERE { ?s ?p ?o } ORDER BY ?s ?p ?o"
JSON_RESULTS = "application/sparql-results+json"


def skip_or_fail(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(reason + " (required when CI is set)")
    pytest.skip(reason)


def port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


@dataclass
class Deployment:
    nginx: Nginx
    backends: list[ServerProcess]

    @property
    def url(self) -> str:
        return self.nginx.url

    def ports(self) -> list[int]:
        return [port_of(backend.url) for backend in self.backends]


@pytest.fixture(scope="module")
def nginx_executable() -> str:
    executable = find_executable()
    if executable is None:
        skip_or_fail("Debian's nginx is not installed (scripts/install-system-deps.sh installs it)")
    return executable


@pytest.fixture(scope="module")
def deployment(nginx_executable, sparql_build_dir, tmp_path_factory):
    """nginx on a free port in front of two backends over the session's build: one on each
    application server ``poli-kg serve`` offers, so that every test here passes through both."""
    port = free_port()
    backends: list[ServerProcess] = []
    try:
        with pytest.MonkeyPatch.context() as env:
            # The public URL, as in production (deploy/README.md): nginx passes Host, no port.
            env.setenv("POLI_KG_PUBLIC_URL", f"http://127.0.0.1:{port}/")
            for server in ("gunicorn", "granian"):
                backends.append(ServerProcess(sparql_build_dir, tmp_path_factory.mktemp("backend"),
                                              "--workers", "1", "--query-timeout", "10",
                                              "--server", server))
        ports = [port_of(backend.url) for backend in backends]
        with Nginx(tmp_path_factory.mktemp("nginx"), ports, port=port,
                   executable=nginx_executable) as proxy:
            yield Deployment(proxy, backends)
    finally:
        for backend in backends:
            backend.stop()


def query(url: str, text: str, accept: str = JSON_RESULTS, **params: str) -> requests.Response:
    return requests.get(url + "/sparql", params={"query": text, **params},
                        headers={"Accept": accept}, timeout=30)


def log_lines(proxy: Nginx) -> list[str]:
    return proxy.access_log.read_text(encoding="utf-8").splitlines()


# -- the configuration --------------------------------------------------------------------

def test_nginx_accepts_the_configuration(deployment):
    report = deployment.nginx.check()
    assert "test is successful" in report


def test_systemd_unit_is_valid_and_runs_the_cli(tmp_path):
    cli = Path(sys.executable).with_name("poli-kg")
    if not cli.is_file():
        pytest.skip("the poli-kg command is not installed in this environment")
    unit = SYSTEMD_UNIT.read_text(encoding="utf-8")
    exec_start = re.search(r"^ExecStart=(.*)$", unit.replace("\\\n", " "), re.MULTILINE).group(1)
    assert exec_start.startswith("/srv/poli-kg/.venv/bin/poli-kg serve ")
    serve_help = subprocess.run([str(cli), "serve", "--help"], capture_output=True, text=True,
                                check=True).stdout
    assert set(re.findall(r"--[a-z-]+", exec_start)) <= set(re.findall(r"--[a-z-]+", serve_help))
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    instance = tmp_path / "poli-kg@8001.service"
    instance.write_text(unit.replace("/srv/poli-kg/.venv/bin/poli-kg", str(cli)), encoding="utf-8")
    result = subprocess.run([analyze, "verify", str(instance)], capture_output=True, text=True,
                            check=False)
    problems = [line for line in (result.stdout + result.stderr).splitlines() if "poli-kg" in line]
    assert result.returncode == 0 and not problems, problems


# -- the protocol through nginx -----------------------------------------------------------

def test_get_and_post_answer_as_a_backend_does(deployment):
    direct = query(deployment.backends[0].url, SELECT)
    got = query(deployment.url, SELECT)
    posted = requests.post(deployment.url + "/sparql", data={"query": SELECT},
                           headers={"Accept": JSON_RESULTS}, timeout=30)
    as_body = requests.post(deployment.url + "/sparql", data=SELECT.encode(),
                            headers={"Accept": JSON_RESULTS,
                                     "Content-Type": "application/sparql-query"}, timeout=30)
    assert direct.status_code == got.status_code == posted.status_code == as_body.status_code == 200
    assert got.headers["Content-Type"].startswith(JSON_RESULTS)
    assert got.json() == posted.json() == as_body.json() == direct.json()
    assert len(got.json()["results"]["bindings"]) >= 1
    assert got.headers["X-Result-Truncated"] == "false"


@pytest.mark.parametrize(("text", "accept", "params", "media_type"), [
    (SELECT, "application/sparql-results+xml", {}, "application/sparql-results+xml"),
    (SELECT, "text/csv", {}, "text/csv"),
    (SELECT, "text/tab-separated-values", {}, "text/tab-separated-values"),
    (SELECT, "*/*", {"format": "csv"}, "text/csv"),
    (f"ASK {{ ?s a <{PKG}PoloDiInnovazione> }}", JSON_RESULTS, {}, JSON_RESULTS),
    (CONSTRUCT, "text/turtle", {}, "text/turtle"),
    (CONSTRUCT, "application/n-triples", {}, "application/n-triples"),
    (CONSTRUCT, "application/ld+json", {}, "application/ld+json"),
])
def test_content_negotiation(deployment, text, accept, params, media_type):
    first = query(deployment.url, text, accept, **params)
    again = query(deployment.url, text, accept, **params)  # possibly from the cache
    assert first.status_code == again.status_code == 200
    assert first.headers["Content-Type"].split(";")[0] == media_type
    assert again.headers["Content-Type"] == first.headers["Content-Type"]
    assert again.content == first.content


def test_variants_are_cached_apart(deployment):
    as_csv = query(deployment.url, SELECT, "text/csv")
    as_json = query(deployment.url, SELECT, JSON_RESULTS)
    as_csv_again = query(deployment.url, SELECT, "text/csv")
    assert as_csv.headers["Content-Type"].startswith("text/csv")
    assert as_json.headers["Content-Type"].startswith(JSON_RESULTS)
    assert as_csv_again.content == as_csv.content


def test_service_description_names_the_public_endpoint(deployment):
    response = requests.get(deployment.url + "/sparql", headers={"Accept": "text/turtle"},
                            timeout=30)
    assert response.status_code == 200
    assert f"<{deployment.url}/sparql>" in response.text


@pytest.mark.parametrize(("method", "text", "status", "message"), [
    ("GET", "SELECT ?s WHERE { ?s ?p ", 400, "yntax"),
    ("POST", "INSERT DATA { <urn:a> <urn:b> <urn:c> }", 403, "read-only"),
    ("POST", "SELECT * WHERE { SERVICE <http://example.org/sparql> { ?s ?p ?o } }", 403,
     "SERVICE"),
    ("POST", "SELECT * WHERE { ?s ?p ?o } #" + "x" * 100_000, 413, "100"),
])
def test_errors_pass_through_as_the_application_wrote_them(deployment, method, text, status,
                                                          message):
    direct = requests.request(method, deployment.backends[1].url + "/sparql",
                              params={"query": text} if method == "GET" else None,
                              data={"query": text} if method == "POST" else None, timeout=30)
    through = requests.request(method, deployment.url + "/sparql",
                               params={"query": text} if method == "GET" else None,
                               data={"query": text} if method == "POST" else None, timeout=30)
    assert through.status_code == direct.status_code == status
    assert through.text == direct.text
    assert message in through.text
    assert through.headers["Content-Type"].startswith("text/plain")


def test_unacceptable_type_is_406(deployment):
    response = query(deployment.url, SELECT, "image/png")
    assert response.status_code == 406


def test_nginx_refuses_a_body_over_one_megabyte_in_plain_text(deployment):
    body = "SELECT * WHERE { ?s ?p ?o } #" + "x" * 1_100_000
    response = requests.post(deployment.url + "/sparql", data=body.encode(),
                             headers={"Content-Type": "application/sparql-query"}, timeout=30)
    assert response.status_code == 413
    assert response.headers["Content-Type"].startswith("text/plain")
    assert "1 MB" in response.text


# -- the cache ----------------------------------------------------------------------------

def test_repeated_get_query_is_answered_from_the_cache(deployment):
    text = f"# {uuid.uuid4()}\n{SELECT}"  # a request nobody made before
    first = query(deployment.url, text)
    second = query(deployment.url, text)
    assert first.status_code == second.status_code == 200
    assert "public" in first.headers.get("Cache-Control", ""), "GET results must be cacheable"
    assert first.headers.get("ETag")
    assert first.headers["X-Cache-Status"] == "MISS"
    assert second.headers["X-Cache-Status"] == "HIT"
    assert second.content == first.content
    revalidated = requests.get(deployment.url + "/sparql", params={"query": text},
                               headers={"Accept": JSON_RESULTS,
                                        "If-None-Match": first.headers["ETag"]}, timeout=30)
    assert revalidated.status_code == 304


@pytest.mark.parametrize("path", ["/", "/downloads/poli-kg.ttl"])
def test_pages_and_downloads_are_answered_from_the_cache(deployment, path):
    first = requests.get(deployment.url + path, timeout=30)
    second = requests.get(deployment.url + path, timeout=30)
    assert first.status_code == second.status_code == 200
    assert second.headers["X-Cache-Status"] == "HIT"
    assert second.content == first.content
    etag = second.headers["ETag"]
    revalidated = requests.get(deployment.url + path, headers={"If-None-Match": etag}, timeout=30)
    assert revalidated.status_code == 304
    assert revalidated.headers["X-Cache-Status"] == "HIT"


def test_post_is_never_cached(deployment):
    answers = [requests.post(deployment.url + "/sparql", data={"query": SELECT},
                             headers={"Accept": JSON_RESULTS}, timeout=30) for _ in range(3)]
    assert all(a.status_code == 200 for a in answers)
    assert all(a.headers.get("X-Cache-Status", "") != "HIT" for a in answers)
    assert len({a.content for a in answers}) == 1


def test_gzip_when_accepted(deployment):
    params = {"query": EVERYTHING}
    plain = requests.get(deployment.url + "/sparql", params=params, timeout=30,
                         headers={"Accept": JSON_RESULTS, "Accept-Encoding": "identity"})
    zipped = requests.get(deployment.url + "/sparql", params=params, timeout=30, stream=True,
                          headers={"Accept": JSON_RESULTS, "Accept-Encoding": "gzip"})
    assert plain.status_code == zipped.status_code == 200
    assert "Content-Encoding" not in plain.headers
    assert zipped.headers["Content-Encoding"] == "gzip"
    raw = zipped.raw.read(decode_content=False)
    assert len(raw) < len(plain.content) / 3
    assert json.loads(gzip.decompress(raw)) == plain.json()


# -- load and failover --------------------------------------------------------------------

def competency_questions() -> list[str]:
    return [path.read_text(encoding="utf-8") for path in sorted((ROOT / "queries").glob("*.rq"))]


def test_short_load_shares_both_backends_without_errors(deployment):
    """200 requests, 16 at a time: pages, GET queries (cacheable), POST queries (never)."""
    questions = competency_questions()
    html, results = {"Accept": "text/html"}, {"Accept": JSON_RESULTS}
    load = []
    for i in range(200):
        text = questions[i % len(questions)]
        if i % 4 == 0:
            load.append(("GET", "/", html, None))
        elif i % 4 == 1:
            load.append(("GET", "/sparql?" + urlencode({"query": text}), results, None))
        else:
            load.append(("POST", "/sparql", results, {"query": text}))
    before = len(log_lines(deployment.nginx))

    def send(item: tuple) -> int:
        method, path, headers, data = item
        return requests.request(method, deployment.url + path, headers=headers, data=data,
                                timeout=30).status_code

    with ThreadPoolExecutor(max_workers=16) as pool:
        statuses = Counter(pool.map(send, load))
    assert statuses == {200: 200}
    lines = log_lines(deployment.nginx)[before:]
    assert len(lines) == 200
    upstreams = Counter(re.findall(r"upstream=127\.0\.0\.1:(\d+)", "\n".join(lines)))
    assert set(upstreams) == {str(p) for p in deployment.ports()}, upstreams
    assert min(upstreams.values()) >= 20, upstreams


def loopback_alias_available() -> bool:
    """Whether this machine can connect from 127.0.0.2 (Linux routes all of 127.0.0.0/8)."""
    try:
        with socket.create_connection(("127.0.0.1", 9), timeout=1, source_address=("127.0.0.2", 0)):
            pass
    except ConnectionRefusedError:
        return True
    except OSError:
        return False
    return True


def test_rate_limit_answers_429_beyond_the_burst(deployment):
    if not loopback_alias_available():
        pytest.skip("cannot connect from 127.0.0.2 (only 127.0.0.1 is exempt from the limit)")
    port = deployment.nginx.port
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30,
                                            source_address=("127.0.0.2", 0))
    statuses = Counter()
    refusal = None
    for _ in range(400):
        connection.request("GET", "/")
        response = connection.getresponse()
        body = response.read()
        statuses[response.status] += 1
        if response.status == 429 and refusal is None:
            refusal = (dict(response.getheaders()), body.decode())
    connection.close()
    assert set(statuses) == {200, 429}, statuses
    assert statuses[200] >= 300, statuses  # the burst, and what the rate refilled meanwhile
    headers, text = refusal
    assert headers["Content-Type"].startswith("text/plain")
    assert headers["Retry-After"] == "1"
    assert "Too many requests" in text
    assert requests.get(deployment.url + "/", timeout=30).status_code == 200  # 127.0.0.1: exempt


def test_a_stopped_backend_is_passed_over(deployment, tmp_path):
    dead = free_port()  # nothing listens there: a backend that stopped
    live = deployment.ports()[0]
    with Nginx(tmp_path / "nginx", [dead, live], executable=deployment.nginx.executable) as proxy:
        statuses = Counter()
        for _ in range(20):
            text = f"# {uuid.uuid4()}\n{SELECT}"
            statuses[query(proxy.url, text).status_code] += 1
            statuses[requests.post(proxy.url + "/sparql", data={"query": text},
                                   headers={"Accept": JSON_RESULTS}, timeout=30).status_code] += 1
        assert statuses == {200: 40}
        # nginx tried the stopped one, then passed the request on
        assert f"upstream=127.0.0.1:{dead}, 127.0.0.1:{live} " in proxy.access_log.read_text()


def test_no_backend_answers_503_in_plain_text(nginx_executable, tmp_path):
    with Nginx(tmp_path / "nginx", [free_port(), free_port()],
               executable=nginx_executable) as proxy:
        response = requests.get(proxy.url + "/", timeout=30)
    assert response.status_code == 503
    assert response.headers["Content-Type"].startswith("text/plain")
    assert response.headers["Retry-After"] == "5"
    assert "not reachable" in response.text
