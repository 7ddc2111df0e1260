"""The query page in a real browser: Debian's chromium driven by Playwright, against the real
server (``live_server``) and the project's own example queries (``queries/*.rq``).

Every request the browser makes is checked: none may leave 127.0.0.1 (the page and its
vendored editor work offline). Skipped when chromium is not installed, unless ``CI`` is set.
"""

import importlib.util
import os
import shutil
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from poli_kg.namespaces import BASE
from poli_kg.web.sparql import querypage
from poli_kg.web.sparql.examples import DEFAULT_QUERIES_DIR, load_examples

pytestmark = pytest.mark.browser

CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
TIMEOUT_MS = 30_000
# The policy the page is written for: no inline script, no eval, nothing from another origin.
# (CodeMirror, inside YASGUI, positions its parts with inline style attributes.)
CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
       "img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'")


def chromium_path():
    if Path("/usr/bin/chromium").is_file():
        return "/usr/bin/chromium"
    return shutil.which("chromium")


def skip_or_fail(reason):
    if os.environ.get("CI"):
        pytest.fail(reason + " (required when CI is set)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser():
    executable = chromium_path()
    if not executable:
        skip_or_fail("Debian's chromium is not installed "
                     "(scripts/install-system-deps.sh installs it)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        skip_or_fail("the playwright Python package is not installed (pip install -e '.[test]')")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class Session:
    """A fresh browser context; any request not to 127.0.0.1 is blocked and recorded."""

    def __init__(self, browser, **options):
        self.outside, self.errors = [], []
        self.context = browser.new_context(viewport={"width": 1366, "height": 900}, **options)
        self.context.set_default_timeout(TIMEOUT_MS)
        self.context.route("**/*", self._guard)
        self.page = self.context.new_page()
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.on("websocket", lambda ws: self.outside.append(ws.url))

    def _guard(self, route):
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            self.outside.append(route.request.url)
            route.abort()

    def close(self):
        self.context.close()


@pytest.fixture
def session(browser):
    session = Session(browser)
    yield session
    session.close()


def project_examples():
    examples = load_examples(DEFAULT_QUERIES_DIR)
    assert examples, "the project's queries/ folder holds no example query"
    return examples


def run_and_wait(page, trigger):
    """Trigger a query (a click), wait for its outcome; return the status and the result rows."""
    page.evaluate("document.getElementById('qp-status').className = 'qp-status'")
    trigger()
    page.wait_for_selector("#qp-status.qp-status--ok, #qp-status.qp-status--error")
    status = page.get_attribute("#qp-status", "class")
    if "qp-status--ok" in status:
        page.wait_for_selector("#qp-results .yasr_results > *")
    rows = page.locator("#qp-results table.dataTable tbody tr:not(:has(td.dt-empty))")
    return status, rows


def test_example_runs_and_shows_rows_with_links(live_server, session):
    page = session.page
    page.goto(live_server + "/query")
    page.wait_for_selector("#qp-editor .CodeMirror")
    assert page.is_hidden("#qp-query")  # the textarea gave way to the editor

    examples = project_examples()
    names = page.eval_on_selector_all("a.qp-example", "links => links.map(a => a.dataset.example)")
    assert names == [example.name for example in examples]

    # The project's examples, SELECT ones first: at least one must show rows with an IRI.
    ordered = sorted(examples, key=lambda e: querypage.query_type(e.query) != "SELECT")
    shown = None
    for example in ordered:
        link = f"a.qp-example[data-example='{example.name}']"
        status, rows = run_and_wait(page, lambda: page.click(link))
        assert "qp-status--ok" in status, f"{example.name} failed in the browser"
        if rows.count() > 0 and rows.locator("a.iri").count() > 0:
            shown = example
            break
    assert shown is not None, "no example query showed result rows with an IRI"

    # the editor holds the example, the address bar points to it
    assert page.evaluate("document.getElementById('qp-query').value").strip() == shown.query.strip()
    assert parse_qs(urlsplit(page.url).query)["example"] == [shown.name]
    current = page.get_attribute(f"a.qp-example[data-example='{shown.name}']", "aria-current")
    assert current == "true"

    # IRIs are links; the dataset's own IRIs point to this host
    links = page.eval_on_selector_all(
        "#qp-results table.dataTable tbody a.iri",
        "links => links.map(a => [a.getAttribute('href'), a.getAttribute('title') || ''])")
    assert links
    for href, title in links:
        if href.startswith("/"):
            assert title.startswith(BASE) and href == "/" + title[len(BASE):]
        else:
            assert not href.startswith(BASE), href
            assert href.startswith(("http://", "https://", "urn:", "mailto:")), href

    # where the linked-data pages exist, a local link leads to the resource's page
    if importlib.util.find_spec("poli_kg.web.resources") is not None:
        resource = next((href for href, _ in links if href.startswith("/id/")), None)
        if resource is not None:
            landed = page.request.get(live_server + resource, headers={"Accept": "text/html"})
            assert landed.status == 200, (resource, landed.status, landed.text()[:300])

    # download links follow the editor's query, in the formats of its form
    formats = page.eval_on_selector_all(
        "a.qp-download", "links => links.map(a => a.dataset.format)")
    kind = querypage.query_type(shown.query)
    assert formats == [f for f, _, _ in querypage.FORMATS_BY_QUERY_TYPE[kind]]
    href = page.get_attribute("a.qp-download[data-format='{}']".format(formats[0]), "href")
    params = parse_qs(urlsplit(href).query)
    assert params["format"] == [formats[0]]
    assert querypage.query_type(params["query"][0]) == kind
    download = page.request.get(live_server + href)
    assert download.status == 200, download.text()[:500]

    assert session.outside == [], "requests left 127.0.0.1"
    assert session.errors == []


def test_run_button_runs_the_prefilled_query(live_server, session):
    page = session.page
    page.goto(live_server + "/query?lang=en")
    page.wait_for_selector("#qp-editor .CodeMirror")
    assert page.inner_text("h1") == "Query the graph with SPARQL"
    assert page.get_attribute("html", "lang") == "en"
    status, rows = run_and_wait(page, lambda: page.click("button.qp-run"))
    assert "qp-status--ok" in status
    assert rows.count() > 0  # the ontology's classes in use, with their instance counts
    assert page.locator("#qp-results table.dataTable tbody a.iri").count() > 0
    assert session.outside == [] and session.errors == []


def test_page_works_under_a_strict_content_security_policy(live_server, session):
    page = session.page
    messages = []
    page.on("console", lambda message: messages.append(message.text))

    def with_csp(route):
        response = route.fetch()
        headers = {**response.headers, "content-security-policy": CSP}
        route.fulfill(response=response, headers=headers)

    page.route(lambda url: urlsplit(url).path == "/query", with_csp)
    page.goto(live_server + "/query")
    page.wait_for_selector("#qp-editor .CodeMirror")
    name = project_examples()[0].name
    status, rows = run_and_wait(page, lambda: page.click(f"a.qp-example[data-example='{name}']"))
    assert "qp-status--ok" in status and rows.count() > 0
    assert [m for m in messages if "Content Security Policy" in m] == []
    assert session.outside == [] and session.errors == []


def test_page_works_without_javascript(live_server, browser):
    session = Session(browser, java_script_enabled=False)
    try:
        page = session.page
        example = project_examples()[0]
        page.goto(f"{live_server}/query?example={example.name}")
        assert page.is_visible("textarea#qp-query")
        assert page.input_value("textarea#qp-query").strip() == example.query.strip()
        kind = querypage.query_type(example.query)
        fmt = querypage.FORMATS_BY_QUERY_TYPE[kind][0][0]
        page.select_option("select[name=format]", fmt)
        with page.expect_response(lambda r: urlsplit(r.url).path == "/sparql") as answer:
            page.click("button.qp-run")
        response = answer.value
        assert response.status == 200
        assert parse_qs(urlsplit(response.url).query)["format"] == [fmt]
        sent = parse_qs(urlsplit(response.url).query)["query"][0].replace("\r\n", "\n")
        assert sent.strip() == example.query.strip()
        assert session.outside == []
    finally:
        session.close()
