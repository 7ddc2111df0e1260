"""Abuse controls (:mod:`poli_kg.web.base.security`): rate limiting per client, security headers, no
directory listings, errors that reveal no paths, versions or stack traces."""

from __future__ import annotations

import fcntl
import multiprocessing
import os
import re
import signal
import time
from pathlib import Path

import psutil
import pytest
import requests

from tests.conftest import ROOT
from poli_kg.web import create_app
from poli_kg.web.base.security import CSP_HTML, RateLimiter

REMOTE = {"REMOTE_ADDR": "203.0.113.9"}
"""A client that is not this machine (TEST-NET-3)."""


def make_app(build_dir, **config):
    return create_app({"TESTING": True, "BUILD_DIR": str(build_dir), **config})


@pytest.fixture
def limited(sparql_build_dir):
    """An application allowing 3 requests a minute, loopback clients included."""
    application = make_app(sparql_build_dir, RATE_LIMIT=3, RATE_WINDOW=60,
                           RATE_LIMIT_LOOPBACK=True)
    yield application
    application.extensions["poli_kg.store"].close()


# ------------------------------------------------------------------------------ rate limit

def test_rate_limit_answers_429_with_retry_after(limited):
    client = limited.test_client()
    assert [client.get("/robots.txt").status_code for _ in range(3)] == [200] * 3
    response = client.get("/robots.txt")
    assert response.status_code == 429
    assert response.content_type == "text/plain; charset=utf-8"
    assert response.get_data(as_text=True).startswith("429 Too Many Requests: ")
    retry = int(response.headers["Retry-After"])
    assert 1 <= retry <= 20  # one token comes back every 60/3 = 20 s
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert client.post("/sparql", data={"query": "ASK {}"}).status_code == 429


def test_health_checks_are_not_limited(limited):
    client = limited.test_client()
    for _ in range(5):
        client.get("/robots.txt")
    assert client.get("/healthz").status_code == 200


def test_loopback_clients_are_not_limited_by_default(sparql_build_dir):
    application = make_app(sparql_build_dir, RATE_LIMIT=3, RATE_WINDOW=60)
    try:
        client = application.test_client()
        assert {client.get("/robots.txt").status_code for _ in range(10)} == {200}
        for address in ("::1", "127.0.0.2", "::ffff:127.0.0.1"):
            statuses = {client.get("/robots.txt", environ_base={"REMOTE_ADDR": address})
                        .status_code for _ in range(5)}
            assert statuses == {200}, address
        remote = [client.get("/robots.txt", environ_base=REMOTE).status_code for _ in range(5)]
        assert remote == [200, 200, 200, 429, 429]
        other = client.get("/robots.txt", environ_base={"REMOTE_ADDR": "198.51.100.7"})
        assert other.status_code == 200  # each client has its own bucket
    finally:
        application.extensions["poli_kg.store"].close()


def test_rate_limit_zero_turns_it_off(sparql_build_dir):
    application = make_app(sparql_build_dir, RATE_LIMIT=0, RATE_LIMIT_LOOPBACK=True)
    try:
        client = application.test_client()
        assert {client.get("/robots.txt", environ_base=REMOTE).status_code
                for _ in range(20)} == {200}
    finally:
        application.extensions["poli_kg.store"].close()


def test_token_bucket_refills_at_the_configured_rate():
    limiter = RateLimiter(2, 10)  # 2 tokens, one back every 5 s
    assert limiter.take("a", now=100.0) == 0
    assert limiter.take("a", now=100.0) == 0
    assert limiter.take("a", now=100.0) == pytest.approx(5.0)
    assert limiter.take("a", now=104.0) == pytest.approx(1.0)
    assert limiter.take("a", now=105.0) == 0  # the token of 100..105
    assert limiter.take("a", now=1000.0) == 0  # a full bucket, never more than 2
    assert limiter.take("a", now=1000.0) == 0
    assert limiter.take("a", now=1000.0) > 0
    assert limiter.take("b", now=1000.0) == 0


def test_a_full_table_forgets_the_least_recent_client():
    limiter = RateLimiter(1, 60, slots=1)
    assert limiter.take("a", now=1.0) == 0
    assert limiter.take("a", now=2.0) > 0
    assert limiter.take("b", now=3.0) == 0  # takes a's slot
    assert limiter.take("a", now=4.0) == 0  # a starts again with a full bucket (fails open)


def _take_in_child(limiter: RateLimiter, count: int) -> None:
    for _ in range(count):
        limiter.take("shared")


def test_buckets_are_shared_by_forked_processes():
    """gunicorn forks its workers after the application (and the table) is created."""
    limiter = RateLimiter(10, 3600)
    context = multiprocessing.get_context("fork")
    children = [context.Process(target=_take_in_child, args=(limiter, 3)) for _ in range(3)]
    for child in children:
        child.start()
    for child in children:
        child.join(30)
        assert child.exitcode == 0
    assert limiter.take("shared") == 0  # the 10th token
    assert limiter.take("shared") > 0


def _hold_the_lock(limiter: RateLimiter) -> None:
    fcntl.lockf(limiter._file.fileno(), fcntl.LOCK_EX)
    time.sleep(60)


def test_a_killed_worker_does_not_keep_the_lock():
    limiter = RateLimiter(5, 60)
    child = multiprocessing.get_context("fork").Process(target=_hold_the_lock, args=(limiter,))
    child.start()
    time.sleep(0.5)
    os.kill(child.pid, signal.SIGKILL)
    child.join(10)
    started = time.monotonic()
    assert limiter.take("x") == 0
    assert time.monotonic() - started < 2


@pytest.mark.slow
def test_rate_limit_is_shared_by_the_workers_of_a_real_server(start_server, monkeypatch):
    monkeypatch.setenv("POLI_KG_RATE_LIMIT", "6")
    monkeypatch.setenv("POLI_KG_RATE_WINDOW", "3600")
    monkeypatch.setenv("POLI_KG_RATE_LIMIT_LOOPBACK", "true")
    server = start_server("--workers", "3")
    try:
        deadline = time.monotonic() + 30
        while len(psutil.Process(server.pid).children()) < 3 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(psutil.Process(server.pid).children()) == 3
        statuses = []
        for _ in range(18):  # a new connection each time: the workers take turns
            with requests.Session() as session:
                statuses.append(session.get(server.url + "/robots.txt", timeout=10).status_code)
        assert statuses.count(200) == 6 and statuses.count(429) == 12, statuses
    finally:
        server.stop()


# ------------------------------------------------------------------------------- headers

HTML_PAGES = ["/", "/query", "/sparql", "/id/polo/mesap", "/ontology", "/graph/data",
              "/downloads/", "/shapes", "/id/nessuna/risorsa"]
OTHER = ["/sparql?query=ASK%7B%7D", "/id/polo/mesap.ttl", "/downloads/poli-kg.ttl",
         "/static/css/site.css", "/static/js/query.js", "/robots.txt", "/healthz",
         "/nowhere-at-all", "/catalog", "/.well-known/void"]


def csp_directives(value: str) -> dict[str, str]:
    return {part.split()[0]: " ".join(part.split()[1:])
            for part in (p.strip() for p in value.split(";")) if part}


@pytest.mark.parametrize("path", HTML_PAGES)
def test_html_pages_carry_a_strict_content_security_policy(client, path):
    response = client.get(path, headers={"Accept": "text/html"})
    assert response.mimetype == "text/html", (path, response.status_code)
    csp = csp_directives(response.headers["Content-Security-Policy"])
    assert csp["script-src"] == "'self'"
    assert csp["object-src"] == "'none'" and csp["base-uri"] == "'none'"
    assert csp["frame-ancestors"] == "'none'" and csp["default-src"] == "'self'"
    query_page = path in ("/query", "/sparql")
    # the query page's editor (YASGUI) inserts <style> elements; nothing else may
    assert csp["style-src"] == ("'self' 'unsafe-inline'" if query_page else "'self'")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert "<script>" not in response.get_data(as_text=True)  # no inline script


@pytest.mark.parametrize("path", OTHER)
def test_everything_else_is_nosniff_and_loads_nothing(client, path):
    response = client.get(path)
    assert response.mimetype != "text/html", path
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Security-Policy"] == \
        "default-src 'none'; frame-ancestors 'none'"


def test_the_policy_names_no_other_origin():
    assert not re.search(r"https?:|\*|'unsafe-eval'|'unsafe-inline'", CSP_HTML)


# ------------------------------------------------------------------------------ listings

@pytest.mark.parametrize("path", ["/static/", "/static/vendor/", "/static/vendor/yasgui/",
                                  "/static/css/", "/static/vendor", "/downloads/store/",
                                  "/downloads/store", "/.well-known/"])
def test_no_directory_listings(client, path):
    response = client.get(path, headers={"Accept": "text/plain"})
    assert response.status_code == 404, path
    text = response.get_data(as_text=True)
    assert "yasgui.min.js" not in text and "site.css" not in text and "CURRENT" not in text


def test_downloads_index_lists_only_downloads(client, sparql_build_dir):
    text = client.get("/downloads/?format=json").get_data(as_text=True)
    assert "store" not in re.findall(r'"name": "([^"]+)"', text)
    assert str(sparql_build_dir) not in text and "build.json" not in text


# --------------------------------------------------------------- what errors do not reveal

FORBIDDEN = [r"Traceback", r'File "', r"site-packages", r"\bgunicorn\b", r"[Ww]erkzeug",
             r"\bPython/\d", r"\bFlask\b", r"\b27\.0\.1\b", r"\b3\.1\.3\b", str(ROOT)]


def assert_reveals_nothing(text: str, *paths: object) -> None:
    for pattern in FORBIDDEN:
        assert not re.search(pattern, text), (pattern, text[:500])
    for path in paths:
        assert str(path) not in text, (path, text[:500])


@pytest.mark.parametrize("method, path, data, headers", [
    ("GET", "/nowhere", None, {}),
    ("DELETE", "/sparql", None, {}),
    ("GET", "/sparql?query=SELEKT", None, {}),
    ("POST", "/sparql", "x" * 400_000, {"Content-Type": "application/sparql-query"}),
    ("POST", "/sparql", "ASK {}", {"Content-Type": "text/plain"}),
    ("GET", "/sparql?query=ASK%7B%7D", None, {"Accept": "image/png"}),
    ("GET", "/downloads/../pyproject.toml", None, {}),
    ("GET", "/id/polo/%FF", None, {"Accept": "text/plain"}),
])
def test_client_errors_reveal_nothing(client, sparql_build_dir, method, path, data, headers):
    response = client.open(path, method=method, data=data, headers=headers)
    assert 400 <= response.status_code < 500
    assert_reveals_nothing(response.get_data(as_text=True), sparql_build_dir)
    assert "Server" not in response.headers


def test_a_missing_build_is_not_named(tmp_path):
    missing = tmp_path / "secret-folder" / "public"
    application = make_app(missing)
    try:
        client = application.test_client()
        for path in ("/sparql?query=ASK%7B%7D", "/healthz", "/downloads/", "/id/polo/mesap"):
            response = client.get(path)
            assert response.status_code == 503, path
            assert_reveals_nothing(response.get_data(as_text=True), missing, "secret-folder")
    finally:
        application.extensions["poli_kg.store"].close()


def test_an_internal_error_reveals_nothing(sparql_build_dir):
    application = create_app({"BUILD_DIR": str(sparql_build_dir)})  # not TESTING: as served

    @application.get("/boom")
    def boom():
        raise RuntimeError(f"secret detail {sparql_build_dir}")

    try:
        response = application.test_client().get("/boom")
        assert response.status_code == 500
        text = response.get_data(as_text=True)
        assert text == ("500 Internal Server Error: Internal server error; the incident has "
                        "been logged.\n")
        assert response.headers["X-Content-Type-Options"] == "nosniff"
    finally:
        application.extensions["poli_kg.store"].close()


@pytest.mark.parametrize("application_server", ["gunicorn", "granian"])
def test_the_real_server_names_no_software(live_server, start_server, application_server):
    if application_server == "granian":
        live_server = start_server("--workers", "1", "--server", application_server).url
    for path in ("/", "/nowhere", "/sparql?query=SELEKT", "/static/vendor/"):
        response = requests.get(live_server + path, timeout=10)
        assert response.headers["Server"] == "poli-kg", path
        assert_reveals_nothing(response.text if response.status_code >= 400 else "")
        assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert requests.get(live_server + "/static/vendor/", timeout=10).status_code == 404


# --------------------------------------------------------------------- in a real browser

@pytest.mark.browser
def test_pages_work_under_the_served_policy(live_server):
    """The real headers (not a policy added by the test): no violation, the editor runs."""
    import shutil

    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(chromium).is_file():
        if os.environ.get("CI"):
            pytest.fail("Debian's chromium is not installed (required when CI is set)")
        pytest.skip("Debian's chromium is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium,
                                             args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page()
            messages: list[str] = []
            page.on("console", lambda m: messages.append(m.text))
            page.on("pageerror", lambda e: messages.append(str(e)))
            page.add_init_script(
                "document.addEventListener('securitypolicyviolation', e => "
                "console.log('CSP violation ' + e.violatedDirective + ' ' + e.blockedURI))")
            for path in ("/", "/id/polo/mesap", "/ontology", "/downloads/"):
                page.goto(live_server + path)
                page.wait_for_load_state("load")
            page.goto(live_server + "/query")
            page.click("a.qp-example >> nth=0")  # the first use loads the editor (YASGUI)
            page.wait_for_selector("#qp-editor .CodeMirror", timeout=30_000)
            page.wait_for_selector("#qp-results table tbody tr", timeout=30_000)
            assert page.locator("#qp-results table tbody tr").count() > 0
            assert [m for m in messages if "CSP" in m or "Content Security Policy" in m] == []
        finally:
            browser.close()
