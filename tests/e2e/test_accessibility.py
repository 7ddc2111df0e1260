"""Accessibility of the site's pages in a real browser: axe-core (npm, ``tools/a11y``) run by
Playwright in Debian's chromium against the real server (``live_server``).

Every page kind — home, a cluster, a managing body, a temporary association and one of its
members, a national cluster, a thematic area, an observation, a sentence of the source, the
ontology and one of its classes, a named graph, a 404, the query page as it opens, with its
editor and after running a query — at 1280 px and 390 px, in Italian and in English, with every
``<details>`` opened: no serious or critical violation. Keyboard focus is visible on every
control reached with Tab. Skipped when chromium, playwright or axe-core is not installed,
unless ``CI`` is set.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.e2e.test_linkeddata_browser import TIMEOUT_MS, browser, skip_or_fail

pytestmark = pytest.mark.browser

__all__ = ["browser"]  # the module's browser fixture

AXE = ROOT / "tools" / "a11y" / "node_modules" / "axe-core" / "axe.min.js"
PAGES = {
    "home": "/",
    "cluster": "/id/polo/mesap",
    "managing body": "/id/organizzazione/centro-servizi-industrie",
    "temporary association": "/id/organizzazione/ats-cgreen",
    "member organisation": "/id/organizzazione/proplast",
    "national cluster": "/id/cluster-nazionale/fabbrica-intelligente",
    "thematic area": "/id/scheme/aree-tematiche/smart-products-and-manufacturing",
    "observation": "/id/osservazione/dotazione-finanziaria-linea-a",
    "source sentence": "/id/fonte/poli-di-innovazione-piemonte-2017/estratto/polo-mesap",
    "ontology": "/ontology",
    "ontology class": "/ontology#PoloDiInnovazione",
    "named graph": "/graph/data",
    "404": "/id/polo/nessuno",
    "catalogue": "/catalog",
    "downloads": "/downloads/",
    "search": "/search?q=torino",
    "listing": "/id/polo/",
    "folders": "/id/",
    "releases": "/releases/",
}
WIDTHS = (1280, 390)
LANGUAGES = ("it", "en")
BLOCKING = ("serious", "critical")
OPEN_DETAILS = "document.querySelectorAll('details').forEach(d => { d.open = true; })"
RUN_AXE = """async () => {
  const result = await axe.run(document, {resultTypes: ['violations']});
  return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 5).map(n => n.target.join(' '))}));
}"""
FOCUS_RING = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const style = getComputedStyle(el);
  return {tag: el.tagName, text: (el.textContent || '').trim().slice(0, 40),
          outline: style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2,
          shadow: style.boxShadow !== 'none'};
}"""


@pytest.fixture(scope="module")
def axe_source() -> Path:
    if not AXE.is_file():
        skip_or_fail("axe-core is not installed (cd tools/a11y && npm ci)")
    return AXE


def open_page(browser, url: str, width: int, lang: str):
    """A page at ``url`` in a context of ``width`` px; axe is injected past the page's CSP."""
    context = browser.new_context(viewport={"width": width, "height": 900}, bypass_csp=True,
                                  locale="it-IT" if lang == "it" else "en-GB")
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    separator = "&" if "?" in url.partition("#")[0] else "?"
    path, hash_, fragment = url.partition("#")
    page.goto(f"{path}{separator}lang={lang}{hash_}{fragment}")
    return context, page


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("kind", PAGES)
def test_no_serious_violation(live_server, browser, axe_source, kind, width, lang):
    context, page = open_page(browser, live_server + PAGES[kind], width, lang)
    try:
        assert_no_blocking_violation(page, axe_source, kind, width, lang)
    finally:
        context.close()


def assert_no_blocking_violation(page, axe_source: Path, kind: str, width: int, lang: str):
    """axe finds no serious or critical violation with every ``<details>`` open, and the page
    does not scroll sideways."""
    assert page.get_attribute("html", "lang") == lang
    page.evaluate(OPEN_DETAILS)
    page.add_script_tag(path=str(axe_source))
    violations = page.evaluate(RUN_AXE)
    blocking = [v for v in violations if v["impact"] in BLOCKING]
    assert not blocking, (kind, width, lang, blocking)
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{kind} scrolls sideways at {width} px"


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("state", ["as it opens", "with the editor", "after running"])
def test_query_page_has_no_serious_violation(live_server, browser, axe_source, state, width,
                                             lang):
    """The query page as it opens (the plain form: YASGUI is loaded at the first use), with
    YASGUI's editor drawn (the textarea focused), and with a result table (the run button
    clicked)."""
    context, page = open_page(browser, live_server + "/query", width, lang)
    try:
        if state == "as it opens":
            page.wait_for_load_state("networkidle")
            assert page.evaluate("typeof window.Yasgui") == "undefined"
        if state == "with the editor":
            page.focus("#qp-query")
            page.wait_for_selector("#qp-editor .CodeMirror")
        if state == "after running":
            page.click("button.qp-run")
            page.wait_for_selector("#qp-status.qp-status--ok")
            page.wait_for_selector("#qp-results table.dataTable tbody td")
        assert_no_blocking_violation(page, axe_source, f"query page {state}", width, lang)
    finally:
        context.close()


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("kind", ["home", "cluster", "404"])
def test_keyboard_focus_is_visible(live_server, browser, kind, width):
    """The first controls reached with Tab (skip link, header, content) show a focus ring."""
    context, page = open_page(browser, live_server + PAGES[kind], width, "it")
    try:
        seen = []
        for _ in range(25):
            page.keyboard.press("Tab")
            focused = page.evaluate(FOCUS_RING)
            if focused is None:
                break
            assert focused["outline"] or focused["shadow"], (kind, width, focused)
            seen.append(focused["text"])
        assert len(seen) >= 10, seen
        assert seen[0] == "Vai al contenuto"  # the skip link comes first
    finally:
        context.close()


@pytest.mark.parametrize("kind", ["home", "cluster", "ontology", "404"])
def test_phone_header_keeps_the_language_switch_in_view(live_server, browser, kind):
    context, page = open_page(browser, live_server + PAGES[kind], 390, "it")
    try:
        switch = page.locator("header a.site-nav__lang")
        assert switch.is_visible() and switch.inner_text() == "English"
        box = switch.bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= 390 and box["y"] < 120, box
        for link in page.locator(".site-nav a").all():
            box = link.bounding_box()
            assert link.is_visible() and box and box["x"] + box["width"] <= 390, box
        assert page.locator("footer.site-footer a").count() >= 3
    finally:
        context.close()


def test_charts_are_readable_on_a_phone(live_server, browser):
    """At 390 px the narrow drawings are shown, text at least 11 px tall, with their tables."""
    context, page = open_page(browser, live_server + "/", 390, "it")
    try:
        assert page.locator("svg.chart--wide").first.is_hidden()
        charts = page.locator("svg.chart--narrow")
        assert charts.count() == 3
        for index in range(3):
            chart = charts.nth(index)
            chart.scroll_into_view_if_needed()
            box = chart.bounding_box()
            assert box and box["width"] <= 390, box
            heights = chart.evaluate(
                "svg => [...svg.querySelectorAll('text')].map(t => t.getBoundingClientRect().height)")
            assert min(heights) >= 11, heights
        table = page.locator(".ld-chart__data").first
        table.locator("summary").click()
        assert table.locator("tbody tr").count() >= 4
        assert table.locator("tbody a[href^='/id/osservazione/']").first.is_visible()
    finally:
        context.close()
