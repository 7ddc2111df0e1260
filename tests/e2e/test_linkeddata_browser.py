"""The linked-data pages in a real browser: Debian's chromium driven by Playwright, against the
real server (``live_server``).

Every page is served with ``Content-Security-Policy: default-src 'self'`` added by the browser
context (the policy the deployment will set), so an inline script, an inline event handler or
an inline style would show up as a violation.  No request may leave 127.0.0.1.  Screenshots go
to pytest's temporary folder (or to ``$POLI_KG_SCREENSHOTS`` when set).  Skipped when chromium
is not installed, unless ``CI`` is set.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from urllib.parse import urlsplit

import pytest

pytestmark = pytest.mark.browser

CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
TIMEOUT_MS = 30_000
CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:"
MESAP_SENTENCE = "MESAP - Smart Products and Manufacturing www.mesap.it/ Centro Servizi Industrie Srl"


def skip_or_fail(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(reason + " (required when CI is set)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser():
    executable = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").is_file() else None)
    if not executable:
        skip_or_fail("Debian's chromium is not installed (scripts/install-system-deps.sh installs it)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        skip_or_fail("the playwright Python package is not installed (pip install -e '.[test]')")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def shots(tmp_path):
    folder = Path(os.environ.get("POLI_KG_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


class Session:
    """A browser context that adds the CSP to documents, blocks and records outside requests."""

    def __init__(self, browser, **options):
        self.outside: list[str] = []
        self.errors: list[str] = []
        self.context = browser.new_context(viewport={"width": 1366, "height": 900}, **options)
        self.context.set_default_timeout(TIMEOUT_MS)
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.on("console", self._console)

    def _console(self, message):
        if message.type == "error":
            self.errors.append(message.text)

    def _route(self, route):
        request = route.request
        if urlsplit(request.url).hostname != "127.0.0.1":
            self.outside.append(request.url)
            route.abort()
        elif request.resource_type == "document":
            response = route.fetch()
            route.fulfill(response=response,
                          headers={**response.headers, "content-security-policy": CSP})
        else:
            route.continue_()

    def close(self):
        self.context.close()


@pytest.fixture
def italian(browser):
    session = Session(browser, locale="it-IT")
    yield session
    session.close()


@pytest.fixture
def english(browser):
    session = Session(browser, locale="en-GB")
    yield session
    session.close()


def row(page, property_label: str):
    """The properties table row whose header links to the property labelled ``property_label``."""
    return page.locator("#ld-properties tbody tr").filter(
        has=page.locator("th a", has_text=property_label))


def check_clean(session):
    assert not session.outside, session.outside
    assert not session.errors, session.errors


def test_pole_page_in_italian_and_english(live_server, italian, shots):
    page = italian.page
    page.goto(live_server + "/id/polo/mesap")
    assert page.get_attribute("html", "lang") == "it"
    assert page.inner_text("h1") == "MESAP – Smart Products and Manufacturing"
    assert page.locator(".ld-type", has_text="Polo di innovazione").is_visible()
    manager = row(page, "ha soggetto gestore").locator("td a")
    assert manager.inner_text() == "Centro Servizi Industrie S.r.l."
    assert manager.get_attribute("href") == "/id/organizzazione/centro-servizi-industrie"
    assert row(page, "area tematica").locator("td a").inner_text() == "Smart Products and Manufacturing"
    website = row(page, "sito web").locator("td a")
    assert website.get_attribute("href") == "http://www.mesap.it/"
    assert "external" in website.get_attribute("rel")
    assert website.is_visible()
    quote = page.locator(".ld-sources blockquote", has_text=MESAP_SENTENCE)
    assert quote.is_visible()
    assert page.locator(".ld-sources figcaption", has_text="righe 92–94").is_visible()
    # inferred statements apart, marked, collapsed under a toggle
    inferred = page.locator("details.ld-inferred")
    assert inferred.locator("summary .ld-badge--inferred").is_visible()
    assert not inferred.locator("table").first.is_visible()
    assert page.locator("#ld-properties .ld-badge--inferred").count() == 0
    inferred.locator("summary").click()
    assert inferred.locator("table").first.is_visible()
    page.screenshot(path=str(shots / "mesap-it.png"), full_page=True)

    # the language switch
    page.click("a.site-nav__lang")
    page.wait_for_url("**/id/polo/mesap?lang=en")
    assert page.get_attribute("html", "lang") == "en"
    assert page.inner_text("h1") == "MESAP – Smart Products and Manufacturing"
    assert row(page, "has managing body").locator("td a").inner_text() == "Centro Servizi Industrie S.r.l."
    assert row(page, "thematic area").locator("td a").inner_text() == "Smart Products and Manufacturing"
    assert row(page, "website").locator("td a").get_attribute("href") == "http://www.mesap.it/"
    assert page.locator(".ld-sources blockquote", has_text=MESAP_SENTENCE).is_visible()
    page.screenshot(path=str(shots / "mesap-en.png"), full_page=True)

    # following a link keeps the language
    page.click("#ld-properties a[href^='/id/organizzazione/centro-servizi-industrie']")
    page.wait_for_url("**/id/organizzazione/centro-servizi-industrie?lang=en")
    assert page.inner_text("h1") == "Centro Servizi Industrie S.r.l."
    check_clean(italian)


def test_english_browser_gets_english(live_server, english):
    page = english.page
    page.goto(live_server + "/id/polo/mesap")
    assert page.get_attribute("html", "lang") == "en"
    assert page.inner_text("h1") == "MESAP – Smart Products and Manufacturing"
    check_clean(english)


def test_home_page_charts(live_server, italian, shots):
    page = italian.page
    page.goto(live_server + "/")
    assert page.inner_text("h1") == "Poli di Innovazione del Piemonte"
    charts = page.locator("svg.chart--wide")
    assert charts.count() == 3
    assert page.locator("svg.chart--narrow").first.is_hidden()  # drawn for phones
    for index in range(3):
        chart = charts.nth(index)
        chart.scroll_into_view_if_needed()
        box = chart.bounding_box()
        assert box and box["width"] > 200 and box["height"] > 80, box
        bars = chart.locator("rect[fill='#1f4e8c']")
        assert bars.count() >= 2
        assert all((bars.nth(i).bounding_box() or {}).get("width", 0) > 0 for i in range(bars.count()))
    members = charts.nth(0)
    for figure in ("858", "133", "60", "43", "1.194"):
        assert members.locator("text", has_text=figure).first.is_visible(), figure
    assert charts.nth(1).locator("text", has_text="49,8 M€").is_visible()
    assert charts.nth(2).locator("text", has_text="36").first.is_visible()
    assert page.locator(".ld-poles tbody tr").count() == 7
    page.screenshot(path=str(shots / "home-it.png"), full_page=True)

    # the chart's table links each figure to its observation and the sentence of the source
    patents = page.locator(".ld-chart").nth(2)
    patents.locator("summary").click()
    patents.locator("table a[href*='brevetti-energy']").click()
    page.wait_for_url("**/id/osservazione/brevetti-energy-and-clean-technologies-2007-2013")
    assert page.locator(".ld-figure__value").inner_text() == "36"
    assert page.locator(".ld-sources blockquote").first.is_visible()
    check_clean(italian)


def test_ontology_fragment_links(live_server, english, shots):
    page = english.page
    page.goto(live_server + "/ontology#PoloDiInnovazione")
    target = page.locator("section#PoloDiInnovazione")
    assert target.is_visible()
    assert target.locator("h3 a").inner_text() == "Innovation cluster"
    assert page.evaluate("document.querySelector(':target').id") == "PoloDiInnovazione"
    page.screenshot(path=str(shots / "ontology-en.png"))
    page.click("section#haSoggettoGestore a[href='#gestisce']")
    assert page.evaluate("location.hash") == "#gestisce"
    check_clean(english)


# --- through the real server: compression, caching, errors ---------------------------------------

BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


def test_real_server_compresses_and_caches(live_server):
    import requests

    home = requests.get(live_server + "/?lang=en", headers={"Accept-Encoding": "gzip"}, timeout=30)
    assert home.headers["Content-Encoding"] == "gzip" and "Accept-Encoding" in home.headers["Vary"]
    assert int(home.headers["Content-Length"]) < len(home.content)  # sent compressed
    assert home.headers["ETag"].startswith('W/"')
    again = requests.get(live_server + "/?lang=en", timeout=30,
                         headers={"Accept-Encoding": "gzip", "If-None-Match": home.headers["ETag"]})
    assert again.status_code == 304
    # the query page names YASGUI's script for loading it at first use (static/js/query.js)
    script = [src for src in re.findall(r'data-script-src="([^"]+)"',
                                        requests.get(live_server + "/query", timeout=30).text)
              if "yasgui.min.js" in src]
    assert script and "?v=" in script[0]
    asset = requests.get(live_server + script[0], headers={"Accept-Encoding": "gzip"}, timeout=30)
    assert asset.headers["Content-Encoding"] == "gzip"
    assert asset.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert int(asset.headers["Content-Length"]) < len(asset.content) / 2
    turtle = requests.get(live_server + "/id/polo/mesap.ttl", headers={"Accept-Encoding": "gzip"},
                          timeout=30)
    assert turtle.headers["Content-Encoding"] == "gzip" and "pkg:PoloDiInnovazione" in turtle.text


def test_real_server_errors(live_server):
    import requests

    page = requests.get(live_server + "/no/such/page?lang=en", headers={"Accept": BROWSER_ACCEPT},
                        timeout=30)
    assert page.status_code == 404 and page.headers["Content-Type"].startswith("text/html")
    assert "Page not found" in page.text and 'class="site-nav__lang"' in page.text
    bad = requests.get(live_server + "/sparql", params={"query": "SELEKT"},
                       headers={"Accept": BROWSER_ACCEPT}, timeout=30)
    assert bad.status_code == 400 and "<h1" in bad.text
    problem = requests.get(live_server + "/no/such/page", headers={"Accept": "application/json"},
                           timeout=30)
    assert problem.status_code == 404 and problem.json()["status"] == 404
    rdf = requests.get(live_server + "/id/polo/nessuno", headers={"Accept": "text/turtle"}, timeout=30)
    assert rdf.status_code == 404 and rdf.headers["Content-Type"].startswith("text/turtle")
    plain = requests.get(live_server + "/no/such/page", timeout=30)
    assert plain.status_code == 404 and plain.text.startswith("404 Not Found")
