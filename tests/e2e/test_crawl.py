"""Crawl the real server (``live_server``): from ``/`` and every URL of ``/sitemap.xml``, follow
every internal link (``href`` and ``src`` of every element, SVG links included) and meet no
4xx or 5xx.  Fragment links (``/ontology#PoloDiInnovazione``) must name an element of the page,
and no page links the same stylesheet twice.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from html.parser import HTMLParser
from urllib.parse import urldefrag, urljoin, urlsplit

import pytest
import requests

pytestmark = pytest.mark.slow

MAX_URLS = 10_000
WORKERS = 8
BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
UNLINKED_PAGES = ("/search?q=mesap", "/search?q=torino+wireless&lang=en",
                  "/reconcile/preview?id=https://w3id.org/poli-kg/id/polo/mesap")
"""Pages that forms and clients reach, not links: crawled from too."""


class Links(HTMLParser):
    """The ``href``/``src`` targets and the ``id``s of an HTML page."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.targets: list[str] = []
        self.ids: set[str] = set()
        self.stylesheets: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        if tag == "link" and ("rel", "stylesheet") in attrs:
            self.stylesheets.append(dict(attrs).get("href") or "")
        for name, value in attrs:
            if name in ("href", "src", "xlink:href") and value:
                self.targets.append(value)
            elif name == "id" and value:
                self.ids.add(value)


@pytest.fixture(scope="module")
def crawl(live_server):
    """Crawl the site once; return (statuses, pages' ids, fragment links, referrers, pages'
    stylesheets)."""
    origin = urlsplit(live_server + "/").netloc
    session = requests.Session()
    session.headers.update({"Accept": BROWSER_ACCEPT})
    statuses: dict[str, int] = {}
    ids: dict[str, set[str]] = {}
    fragments: dict[str, set[str]] = defaultdict(set)   # page URL -> fragments linked to
    referrers: dict[str, str] = {}
    stylesheets: dict[str, list[str]] = {}

    sitemap = session.get(live_server + "/sitemap.xml", timeout=30)
    statuses[sitemap.url] = sitemap.status_code
    namespace = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}
    seeds = [loc.text for loc in ET.fromstring(sitemap.content).findall("s:url/s:loc", namespace)]
    assert len(seeds) > 150
    for url in seeds:
        referrers.setdefault(url, "/sitemap.xml")
    frontier = [live_server + "/", *seeds, *(live_server + path for path in UNLINKED_PAGES)]

    def fetch(url: str) -> tuple[str, int, str | None, str]:
        response = session.get(url, timeout=60, allow_redirects=False)
        kind = response.headers.get("Content-Type", "")
        body = response.text if kind.startswith("text/html") else None
        return url, response.status_code, body, response.headers.get("Location", "")

    queued = set(frontier) | set(statuses)
    with ThreadPoolExecutor(WORKERS) as pool:
        while frontier:
            batch, frontier = frontier, []
            for url, status, body, location in pool.map(fetch, batch):
                statuses[url] = status
                targets = [location] if 300 <= status < 400 and location else []
                if body is not None:
                    parsed = Links(body)
                    ids[url] = parsed.ids
                    stylesheets[url] = parsed.stylesheets
                    targets += parsed.targets
                for target in targets:
                    absolute = urljoin(url, target)
                    parts = urlsplit(absolute)
                    if parts.scheme not in ("http", "https") or parts.netloc != origin:
                        continue
                    page, fragment = urldefrag(absolute)
                    if fragment:
                        fragments[page].add(fragment)
                    if page not in queued:
                        queued.add(page)
                        referrers[page] = url
                        frontier.append(page)
            assert len(queued) < MAX_URLS, "the crawl does not end"
    return statuses, ids, fragments, referrers, stylesheets


def test_crawl_meets_no_error(crawl):
    statuses, _ids, _fragments, referrers, _stylesheets = crawl
    broken = {url: (status, referrers.get(url)) for url, status in statuses.items() if status >= 400}
    assert not broken, broken
    # the crawl went everywhere that matters
    paths = {urlsplit(url).path for url in statuses}
    for expected in ("/", "/ontology", "/query", "/downloads/", "/catalog", "/.well-known/void",
                     "/id/polo/mesap", "/id/polo/mesap.ttl", "/id/polo/mesap.jsonld",
                     "/graph/inferred", "/sitemap.xml", "/static/css/linkeddata.css",
                     "/id/fonte/poli-di-innovazione-piemonte-2017/estratto/polo-mesap",
                     "/id/osservazione/brevetti-agrifood-2007-2013", "/ontology/1.0.0"):
        assert expected in paths, expected
    assert any(urlsplit(url).query == "lang=en" for url in statuses)


LINKED_DATA_PAGES = ("/ontology", "/shapes", "/id/", "/graph/", "/dataset")
"""Paths of the linked-data pages, whose fragment links (hash IRIs, tables of contents) are checked."""


def test_fragment_links_name_an_element(crawl):
    _statuses, ids, fragments, _referrers, _stylesheets = crawl
    ours = {page: wanted for page, wanted in fragments.items()
            if urlsplit(page).path == "/" or urlsplit(page).path.startswith(LINKED_DATA_PAGES)}
    missing = {page: sorted(wanted - ids.get(page, set()))
               for page, wanted in ours.items() if page in ids and wanted - ids[page]}
    assert not missing, missing
    assert "PoloDiInnovazione" in fragments[next(p for p in fragments if urlsplit(p).path == "/ontology")]


def test_crawl_covers_every_page_and_variant(crawl):
    statuses = crawl[0]
    # ~190 resources, each as HTML in two languages and in four RDF formats, plus the rest
    assert len(statuses) > 1500, len(statuses)


def test_no_page_links_a_stylesheet_twice(crawl):
    stylesheets = crawl[4]
    twice = {url: sorted({h for h in sheets if sheets.count(h) > 1})
             for url, sheets in stylesheets.items() if len(set(sheets)) < len(sheets)}
    assert not twice, twice
    assert sum(len(sheets) for sheets in stylesheets.values()) > len(stylesheets)
