"""The query page in a real browser: Debian's chromium driven by Playwright, against the real
server (``live_server``) and the project's own example queries (``queries/*.rq``).

Every request the browser makes is checked: none may leave 127.0.0.1 (the page and its
vendored editor work offline). Skipped when chromium is not installed, unless ``CI`` is set.
"""

import importlib.util
import os
import shutil
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

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
    """A fresh browser context; every request is recorded (``requests``), and any request not
    to 127.0.0.1 is blocked and recorded in ``outside``."""

    def __init__(self, browser, **options):
        self.outside, self.errors, self.requests = [], [], []
        self.context = browser.new_context(viewport={"width": 1366, "height": 900}, **options)
        self.context.set_default_timeout(TIMEOUT_MS)
        self.context.route("**/*", self._guard)
        self.page = self.context.new_page()
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.on("request", lambda request: self.requests.append(request.url))
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


def yasgui_requests(session):
    """The requests for YASGUI's stylesheet and script so far."""
    return [url for url in session.requests if "/vendor/yasgui/" in url]


def open_editor(page):
    """Use the page (focus the textarea) and wait for YASGUI's editor to take its place."""
    page.focus("#qp-query")
    page.wait_for_selector("#qp-editor .CodeMirror")


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
    page.wait_for_load_state("networkidle")
    assert yasgui_requests(session) == []  # loaded at the first use: here, an example's click

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
    assert page.is_hidden("#qp-query")  # the textarea gave way to the editor
    assert len(yasgui_requests(session)) == 2  # its stylesheet and its script, once

    # the editor holds the example (in the page's language), the address bar points to it
    lang = page.get_attribute("html", "lang")
    assert page.evaluate("document.getElementById('qp-query').value").strip() == \
        shown.query_in(lang).strip()
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
    assert page.inner_text("h1") == "Query the graph with SPARQL"
    assert page.get_attribute("html", "lang") == "en"
    # the editor is drawn by the click, then runs the query
    status, rows = run_and_wait(page, lambda: page.click("button.qp-run"))
    assert page.is_visible("#qp-editor .CodeMirror") and page.is_hidden("#qp-query")
    assert "qp-status--ok" in status
    assert rows.count() > 0  # the ontology's classes in use, with their instance counts
    assert page.locator("#qp-results table.dataTable tbody a.iri").count() > 0
    assert session.outside == [] and session.errors == []


def editor_state(page):
    """The editor's text, selection (as offsets in the text) and whether it has the focus."""
    return page.evaluate("""() => {
        const cm = document.querySelector('#qp-editor .CodeMirror').CodeMirror;
        return {value: cm.getValue(), selection: cm.getSelection(), focused: cm.hasFocus(),
                anchor: cm.indexFromPos(cm.getCursor('anchor')),
                head: cm.indexFromPos(cm.getCursor('head'))};
    }""")


def test_editor_takes_over_the_textarea_at_first_use(live_server, session):
    """YASGUI is not loaded with the page: the textarea's focus loads it. What was typed while
    it loaded, the selection and the focus pass to the editor, which then runs the query."""
    page = session.page
    held = []  # YASGUI's script, held back until the textarea has been used
    page.route(lambda url: urlsplit(url).path.endswith("/yasgui.min.js"),
               lambda route: held.append(route))
    page.goto(live_server + "/query?lang=en")
    page.wait_for_load_state("networkidle")
    assert yasgui_requests(session) == [] and page.evaluate("typeof window.Yasgui") == "undefined"
    original = page.input_value("#qp-query")

    page.click("#qp-query")
    page.keyboard.press("Control+End")
    page.keyboard.type("LIMIT 5")
    page.keyboard.press("Shift+ArrowLeft")  # "5" selected, backwards
    page.wait_for_function("() => document.querySelector('link[href*=\"yasgui.min.css\"]')")
    for _ in range(100):
        if held:
            break
        page.wait_for_timeout(50)
    assert held, "the textarea's focus did not ask for YASGUI"
    assert page.is_visible("#qp-query") and page.input_value("#qp-query") == original + "LIMIT 5"

    held[0].continue_()
    page.wait_for_selector("#qp-editor .CodeMirror")
    assert page.is_hidden("#qp-query")
    state = editor_state(page)
    assert state["value"] == original + "LIMIT 5"
    assert state["selection"] == "5" and state["head"] < state["anchor"] and state["focused"]
    page.keyboard.type("2")  # into the editor, over the selection
    assert editor_text(page) == original + "LIMIT 2"

    status, rows = run_and_wait(page, lambda: page.click("button.qp-run"))
    assert "qp-status--ok" in status and rows.count() == 2
    assert page.input_value("#qp-query") == original + "LIMIT 2"  # the form's textarea follows
    assert len(yasgui_requests(session)) == 2
    assert session.outside == [] and session.errors == []


def test_without_yasgui_the_form_still_runs_the_query(live_server, session):
    """Should YASGUI fail to load, the run button sends the plain form to the endpoint."""
    page = session.page
    page.route(lambda url: "/vendor/yasgui/" in url, lambda route: route.abort())
    page.goto(live_server + "/query?lang=en")
    query = page.input_value("#qp-query")
    with page.expect_response(lambda r: urlsplit(r.url).path == "/sparql") as answer:
        page.click("button.qp-run")
    response = answer.value
    assert response.status == 200, response.text()[:500]
    sent = parse_qs(urlsplit(response.url).query)["query"][0].replace("\r\n", "\n")
    assert sent == query
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
    name = project_examples()[0].name
    status, rows = run_and_wait(page, lambda: page.click(f"a.qp-example[data-example='{name}']"))
    assert "qp-status--ok" in status and rows.count() > 0
    assert page.is_visible("#qp-editor .CodeMirror")
    assert [m for m in messages if "Content Security Policy" in m] == []
    assert session.outside == [] and session.errors == []


def test_page_works_without_javascript(live_server, browser):
    session = Session(browser, java_script_enabled=False)
    try:
        page = session.page
        example = project_examples()[0]
        page.goto(f"{live_server}/query?example={example.name}")
        assert page.is_visible("textarea#qp-query")
        in_page = example.query_in(page.get_attribute("html", "lang"))
        assert page.input_value("textarea#qp-query").strip() == in_page.strip()
        kind = querypage.query_type(example.query)
        fmt = querypage.FORMATS_BY_QUERY_TYPE[kind][0][0]
        page.select_option("select[name=format]", fmt)
        with page.expect_response(lambda r: urlsplit(r.url).path == "/sparql") as answer:
            page.click("button.qp-run")
        response = answer.value
        assert response.status == 200
        assert parse_qs(urlsplit(response.url).query)["format"] == [fmt]
        sent = parse_qs(urlsplit(response.url).query)["query"][0].replace("\r\n", "\n")
        assert sent.strip() == in_page.strip()

        # the page as it opens: its own query, answered in JSON
        page.goto(f"{live_server}/query?lang=en")
        page.select_option("select[name=format]", "json")
        with page.expect_response(lambda r: urlsplit(r.url).path == "/sparql") as answer:
            page.click("button.qp-run")
        assert answer.value.status == 200
        assert answer.value.json()["results"]["bindings"]  # the classes in use, counted
        assert session.outside == []
    finally:
        session.close()


# --- the query page for people: completion, reading, truncation -------------------------------

def type_in_editor(page, before, typed):
    """Put ``before`` in the editor, type ``typed`` after it; return the suggestions shown."""
    page.evaluate("""text => {
        const cm = document.querySelector('#qp-editor .CodeMirror').CodeMirror;
        cm.setValue(text);
        cm.focus();
        cm.setCursor(cm.lineCount(), 0);
    }""", before)
    page.keyboard.type(typed, delay=20)
    page.wait_for_selector(".CodeMirror-hints li")
    return page.eval_on_selector_all(".CodeMirror-hints li", "items => items.map(i => i.textContent)")


def editor_text(page):
    return page.evaluate("document.querySelector('#qp-editor .CodeMirror').CodeMirror.getValue()")


def test_editor_completes_the_datasets_terms_without_leaving_this_host(live_server, session):
    page = session.page
    page.goto(live_server + "/query?lang=en")
    open_editor(page)

    classes = type_in_editor(page, "SELECT * WHERE {\n  ?s a ", "pkg:Polo")
    assert classes[0] == "pkg:PoloDiInnovazione \u2014 Innovation cluster (7)", classes
    page.keyboard.press("Enter")  # choose the suggestion
    assert editor_text(page).endswith("?s a pkg:PoloDiInnovazione")

    properties = type_in_editor(page, "SELECT * WHERE {\n  ?s ", "pkg:haSogg")
    assert properties[0].startswith("pkg:haSoggettoGestore \u2014 "), properties
    by_label = type_in_editor(page, "SELECT * WHERE {\n  ?s ", "pkg:managing")  # its label's word
    assert any(item.startswith("pkg:haSoggettoGestore") for item in by_label), by_label
    by_iri = type_in_editor(page, "SELECT * WHERE {\n  ?s a ", "<" + BASE + "ontology#Polo")
    assert any(item.startswith("pkg:PoloDiInnovazione") for item in by_iri), by_iri
    prefixes = type_in_editor(page, "", "PREFIX sk")
    assert "skos: <http://www.w3.org/2004/02/skos/core#>" in prefixes

    asked = [urlsplit(url) for url in session.requests]
    assert [url.path for url in asked].count("/query/terms.json") == 1  # asked for once
    assert asked and all(url.hostname == "127.0.0.1" for url in asked), session.requests
    assert session.outside == [] and session.errors == []


READABLE_QUERY = """PREFIX xsd: <http://www.w3.org/2001/XMLSchema#>
SELECT ?polo ?count ?day ?amount ?unit ?sharePercent ?open ?name WHERE {
  VALUES (?polo ?count ?day ?amount ?unit ?sharePercent ?open ?name) {
    (<https://w3id.org/poli-kg/id/polo/mesap> 1194 "2017-05-03"^^xsd:date 35000000
     <http://publications.europa.eu/resource/authority/currency/EUR> 30.5 true "MESAP"@it)
  }
}
"""


def read_cells(page):
    return page.eval_on_selector_all(
        "#qp-results table.dataTable tbody tr:first-child td",
        "cells => cells.slice(1).map(c => c.innerText.trim())")


@pytest.mark.parametrize("lang, expected", [
    ("en", ["1,194", "3 May 2017", "€35,000,000", "30.5%", "yes"]),
    ("it", ["1.194", "3 maggio 2017", "35.000.000\u00a0€", "30,5\u00a0%", "sì"]),
])
def test_results_are_written_for_reading(live_server, session, lang, expected):
    page = session.page
    page.goto(f"{live_server}/query?lang={lang}&query=" + quote(READABLE_QUERY))
    page.wait_for_selector("#qp-status.qp-status--ok, #qp-status.qp-status--error")
    assert "qp-status--ok" in page.get_attribute("#qp-status", "class")
    page.wait_for_selector("#qp-results table.dataTable tbody td")
    cells = read_cells(page)
    polo, count, day, amount, unit, share, is_open, name = cells
    assert [count, day, amount, share, is_open] == expected
    assert "MESAP" in polo and not polo.startswith("poli:")  # its label, not its name
    link = page.locator("#qp-results table.dataTable tbody a.iri").first
    assert link.get_attribute("href") == "/id/polo/mesap"
    assert link.get_attribute("title") == BASE + "id/polo/mesap"
    assert name == "MESAP"
    assert page.get_attribute("#qp-results tbody td data", "value") == "1194"

    # the raw values on demand, and back
    assert page.is_visible("#qp-raw")
    page.check("#qp-raw")
    page.wait_for_function(
        "() => document.querySelector('#qp-results tbody td:nth-child(3)').innerText.includes('^^')")
    raw = read_cells(page)
    assert raw[1].startswith('"1194"') and raw[0] == "poli:polo/mesap"
    page.uncheck("#qp-raw")
    page.wait_for_function(
        "() => !document.querySelector('#qp-results tbody td:nth-child(3)').innerText.includes('^^')")
    assert read_cells(page)[1] == expected[0]
    assert any(urlsplit(url).path == "/query/labels.json" for url in session.requests)
    assert session.outside == [] and session.errors == []


def test_english_examples_show_english_labels(live_server, session):
    page = session.page
    page.goto(live_server + "/query?lang=en&example=01-polo-per-area-tematica")
    page.wait_for_selector("#qp-status.qp-status--ok, #qp-status.qp-status--error")
    assert "qp-status--ok" in page.get_attribute("#qp-status", "class")
    page.wait_for_selector("#qp-results table.dataTable tbody td")
    tagged = page.eval_on_selector_all("#qp-results tbody span[lang]", "s => s.map(e => e.lang)")
    assert tagged and set(tagged) == {"en"}
    assert 'lang(?poloLabel) = "en"' in page.input_value("#qp-query")


@pytest.fixture(scope="module")
def capped_server(start_server):
    return start_server("--workers", "1", "--query-timeout", "10", "--max-results", "3").url


def test_a_result_cut_at_the_row_limit_says_so(capped_server, session):
    page = session.page
    page.goto(capped_server + "/query?lang=en")
    open_editor(page)
    page.evaluate("""() => document.querySelector('#qp-editor .CodeMirror').CodeMirror
        .setValue('SELECT ?s WHERE { ?s a pkg:PoloDiInnovazione }')""")
    status, rows = run_and_wait(page, lambda: page.click("button.qp-run"))
    assert "qp-status--ok" in status and rows.count() == 3
    assert page.is_visible("#qp-notice")
    notice = page.inner_text("#qp-notice")
    assert "at most 3 results" in notice and "OFFSET 3" in notice
    # and the downloads of the results: CSV and JSON among them
    formats = page.eval_on_selector_all("a.qp-download", "links => links.map(a => a.dataset.format)")
    assert {"csv", "json"} <= set(formats)
    assert session.outside == [] and session.errors == []
