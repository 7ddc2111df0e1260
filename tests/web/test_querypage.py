"""The SPARQL query page (poli_kg.web.sparql.querypage), through Flask's test client.

Uses its own small app (the page's blueprint and a stand-in /sparql route that calls
render_query_page(), as the real endpoint does for a browser without a query) and the two
sample queries of tests/data/queries/; the browser test drives the real server.
"""

import hashlib
import json
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask, request

from poli_kg.namespaces import BASE, PREFIXES
from poli_kg.web.sparql import querypage
from poli_kg.web.sparql.examples import DEFAULT_QUERIES_DIR, Example, load_examples, parse_example
from poli_kg.web.sparql.querypage import download_links, minimal_prologue, query_type
from tests.conftest import ROOT, TEST_DATA

SAMPLE_QUERIES = TEST_DATA / "queries"
STATIC = Path(querypage.bp.static_folder).resolve()


def make_app(queries_dir=SAMPLE_QUERIES):
    app = Flask("querypage_test", static_folder=None)
    app.config.update(TESTING=True, QUERIES_DIR=str(queries_dir))
    app.register_blueprint(querypage.bp)

    @app.get("/sparql")
    def sparql():  # stand-in for the endpoint: only the "browser without a query" case
        assert "query" not in request.args
        return querypage.render_query_page()

    return app


@pytest.fixture
def page_client():
    return make_app().test_client()


class Page(HTMLParser):
    """The bits of an HTML page the tests look at."""

    def __init__(self, html):
        super().__init__(convert_charrefs=True)
        self.elements = []  # (tag, attrs)
        self.scripts = []  # (attrs, text)
        self.textareas = []
        self._capture = None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.elements.append((tag, attrs))
        if tag in ("script", "textarea"):
            self._capture = (tag, attrs, [])

    def handle_data(self, data):
        if self._capture:
            self._capture[2].append(data)

    def handle_endtag(self, tag):
        if self._capture and tag == self._capture[0]:
            name, attrs, text = self._capture
            (self.scripts if name == "script" else self.textareas).append((attrs, "".join(text)))
            self._capture = None

    def find(self, tag, **attrs):
        return [found for name, found in self.elements
                if name == tag and all(found.get(k) == v for k, v in attrs.items())]

    def assets(self):
        """URLs of the stylesheets, icons and scripts of the page, the editor's included."""
        return self.loaded_assets() + self.editor_assets()

    def loaded_assets(self):
        """URLs of the stylesheets, icons and scripts the page loads as it opens."""
        return ([attrs["href"] for attrs in self.find("link")]
                + [attrs["src"] for attrs in self.find("script") if "src" in attrs])

    def editor_assets(self):
        """URLs of YASGUI's stylesheet and script, which query.js loads at the first use."""
        (editor,) = self.find("div", id="qp-editor")
        return [editor["data-stylesheet-href"], editor["data-script-src"]]

    def download_formats(self):
        return [a["data-format"] for a in self.find("a", **{"class": "qp-download"})]

    def config(self):
        (text,) = [text for attrs, text in self.scripts if attrs.get("id") == "qp-config"]
        return json.loads(text)

    def query(self):
        (text,) = [text for attrs, text in self.textareas if attrs.get("name") == "query"]
        return text


def get_page(client, url):
    response = client.get(url, headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    return response, Page(response.get_data(as_text=True))


# --- examples ------------------------------------------------------------------------------

def test_load_examples_reads_the_comment_header():
    examples = load_examples(SAMPLE_QUERIES)
    assert [e.name for e in examples] == ["cq01-poli", "cq02-grafo"]
    first = examples[0]
    assert isinstance(first, Example)
    assert first.title_it == "Quali sono i poli di innovazione e come si chiamano?"
    assert first.title_en == "Which innovation clusters are there and what are they called?"
    assert first.query == (SAMPLE_QUERIES / "cq01-poli.rq").read_text(encoding="utf-8")
    assert first.title("en") == first.title_en and first.title("it") == first.title_it
    assert query_type(examples[1].query) == "CONSTRUCT"


def test_parse_example_edge_cases():
    only_it = parse_example("x", "\ufeff# title-it: Solo italiano\n#  free text\nSELECT * {}\n")
    assert (only_it.title_it, only_it.title_en) == ("Solo italiano", "Solo italiano")
    assert only_it.query.startswith("# title-it")  # BOM dropped, text kept
    untitled = parse_example("cq09", "SELECT * {}\n# title-it: not in the header\n")
    assert (untitled.title_it, untitled.title_en) == ("cq09", "cq09")
    spaced = parse_example("y", "\n#title-en:   Spaced out  \n\n# title-it:Attaccato\nASK {}")
    assert (spaced.title_it, spaced.title_en) == ("Attaccato", "Spaced out")
    assert spaced.query == "#title-en:   Spaced out  \n\n# title-it:Attaccato\nASK {}\n"


def test_load_examples_without_a_folder(tmp_path):
    assert load_examples(tmp_path / "missing") == []
    (tmp_path / "b.rq").write_text("# title-it: B\nASK {}", encoding="utf-8")
    (tmp_path / "a.rq").write_text("# title-en: A\nASK {}", encoding="utf-8")
    (tmp_path / "notes.txt").write_text("not a query", encoding="utf-8")
    assert [e.name for e in load_examples(tmp_path)] == ["a", "b"]


def test_default_queries_dir_is_the_repository_queries_folder():
    assert DEFAULT_QUERIES_DIR == ROOT / "queries"


# --- query helpers -----------------------------------------------------------------------------

@pytest.mark.parametrize("query, expected", [
    ("SELECT * WHERE { ?s ?p ?o }", "SELECT"),
    ("PREFIX owl: <http://www.w3.org/2002/07/owl#>\n# a comment: CONSTRUCT\nask { ?s a owl:Class }",
     "ASK"),
    ("BASE <http://example.org/>\nPREFIX : <#>\nCONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }",
     "CONSTRUCT"),
    ("# title-it: Descrivi\nDESCRIBE <https://w3id.org/poli-kg/id/polo/mesap>", "DESCRIBE"),
    ("PREFIX select: <http://example.org/>\nSELECT ?x { ?x a select:y }", "SELECT"),
    ("INSERT DATA { <a:b> <a:c> <a:d> }", None),
    ("", None),
])
def test_query_type(query, expected):
    assert query_type(query) == expected


def test_minimal_prologue_drops_unused_prefixes_only():
    query = (
        "PREFIX pkg: <https://w3id.org/poli-kg/ontology#>\n"
        "PREFIX dimension: <http://example.org/d#>\n"
        "PREFIX sdmx-dimension: <http://purl.org/linked-data/sdmx/2009/dimension#>\n"
        "PREFIX : <http://example.org/default#>\n"
        "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>\n"
        "SELECT * { ?s a pkg:Polo ; sdmx-dimension:refArea ?a ; :p ?o }\n"
    )
    compact = minimal_prologue(query)
    for kept in ("PREFIX pkg:", "PREFIX sdmx-dimension:", "PREFIX : "):
        assert kept in compact
    assert "PREFIX dimension:" not in compact and "PREFIX rdfs:" not in compact
    assert compact.endswith("SELECT * { ?s a pkg:Polo ; sdmx-dimension:refArea ?a ; :p ?o }\n")


def test_download_links_suit_the_query_form():
    select = download_links("SELECT * { ?s ?p ?o }")
    assert [link["format"] for link in select] == ["json", "xml", "csv", "tsv"]
    assert [link["format"] for link in download_links("ASK {}")] == ["json", "xml", "csv", "tsv"]
    graph = download_links("CONSTRUCT WHERE { ?s ?p ?o }")
    assert [link["format"] for link in graph] == ["turtle", "nt", "jsonld", "rdfxml"]
    describe = download_links("DESCRIBE <a:b>")
    assert [link["format"] for link in describe] == ["turtle", "nt", "jsonld", "rdfxml"]
    assert download_links("CLEAR ALL") == []
    url = urlsplit(select[2]["href"])
    assert url.path == "/sparql"
    assert parse_qs(url.query) == {"query": ["SELECT * { ?s ?p ?o }"], "format": ["csv"]}


# --- the page ----------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/query", "/sparql"])
def test_page_renders_with_examples_and_prefixes(page_client, path):
    response, page = get_page(page_client, path)
    html = response.get_data(as_text=True)
    assert response.headers["Content-Language"] == "it"
    assert page.find("html")[0]["lang"] == "it"
    for example in load_examples(SAMPLE_QUERIES):
        assert example.title_it in html
        (link,) = page.find("a", **{"data-example": example.name})
        assert link["href"] == f"{path}?example={example.name}"
    # the editor is pre-filled with every project prefix
    query = page.query()
    for prefix, namespace in PREFIXES.items():
        assert f"PREFIX {prefix}: <{namespace}>\n" in query
    assert query_type(query) == "SELECT"
    # a plain form still works without JavaScript
    (form,) = page.find("form", id="qp-form")
    assert (form["method"], form["action"]) == ("get", "/sparql")
    config = page.config()
    assert config["endpoint"] == "/sparql" and config["base"] == BASE and config["lang"] == "it"
    assert config["autorun"] is False
    assert set(config["examples"]) == {"cq01-poli", "cq02-grafo"}
    assert config["prefixes"]["poli"] == BASE + "id/"
    # download links for the pre-filled query
    assert page.download_formats() == ["json", "xml", "csv", "tsv"]


def test_page_in_english(page_client):
    response, page = get_page(page_client, "/query?lang=en")
    html = response.get_data(as_text=True)
    assert response.headers["Content-Language"] == "en"
    assert page.find("html")[0]["lang"] == "en"
    assert "Which innovation clusters are there and what are they called?" in html
    visible = re.sub(r'<script id="qp-config".*?</script>', "", html, flags=re.S)
    assert "Quali sono i poli" not in visible  # only in the examples' query text
    assert "Example questions" in html and "Run" in html
    assert page.find("a", hreflang="it")[0]["href"] == "/query?lang=it"
    (link,) = page.find("a", **{"data-example": "cq01-poli"})
    assert link["href"] == "/query?lang=en&example=cq01-poli"
    assert page.config()["lang"] == "en"


def test_unknown_language_falls_back_to_italian(page_client):
    response, page = get_page(page_client, "/query?lang=fr")
    assert response.headers["Content-Language"] == "it"
    assert "Domande di esempio" in response.get_data(as_text=True)


@pytest.mark.parametrize("path", ["/query", "/sparql"])
@pytest.mark.parametrize("lang_param, accept_language, lang", [
    (None, "en-GB,en;q=0.9", "en"),
    (None, "it-IT", "it"),
    (None, "fr, de;q=0.5", "it"),
    (None, "en;q=0.5, it", "it"),
    (None, None, "it"),
    ("en", "it-IT", "en"),       # ?lang wins over Accept-Language
    ("it", "en-GB,en;q=0.9", "it"),
    ("fr", "en-GB,en;q=0.9", "en"),  # an unknown ?lang is ignored
])
def test_language_as_on_the_linked_data_pages(page_client, path, lang_param, accept_language,
                                              lang):
    """?lang, else Accept-Language, else Italian (poli_kg.web.base.site.language decides)."""
    headers = {"Accept": "text/html"}
    if accept_language is not None:
        headers["Accept-Language"] = accept_language
    url = path + (f"?lang={lang_param}" if lang_param else "")
    response = page_client.get(url, headers=headers)
    assert response.status_code == 200
    assert response.headers["Content-Language"] == lang
    page = Page(response.get_data(as_text=True))
    assert page.find("html")[0]["lang"] == lang and page.config()["lang"] == lang
    assert ("Example questions" if lang == "en" else "Domande di esempio") in \
        response.get_data(as_text=True)
    explicit = lang_param if lang_param in ("it", "en") else None
    assert page.config()["lang_param"] == explicit
    # the response varies by Accept-Language unless a valid ?lang chose the language
    vary = {v.strip() for v in response.headers.get("Vary", "").split(",")}
    assert ("Accept-Language" in vary) == (explicit is None)
    # the switch names the other language explicitly; example links keep the request's ?lang
    other = "it" if lang == "en" else "en"
    assert page.find("a", hreflang=other)[0]["href"].endswith(f"lang={other}")
    example = page.find("a", **{"data-example": "cq01-poli"})[0]["href"]
    assert (f"lang={lang_param}" in example) if lang_param else ("lang=" not in example)


def test_navigation_lists_only_routed_pages(page_client):
    _, page = get_page(page_client, "/query?lang=en")
    nav = [a for a in page.find("a") if a.get("aria-current") == "page"]
    assert [a["href"] for a in nav] == ["/query?lang=en"]
    hrefs = [a["href"] for a in page.find("a")]
    assert "/ontology?lang=en" not in hrefs and "/catalog?lang=en" not in hrefs  # not routed here


def test_example_parameter_fills_the_editor(page_client):
    _, page = get_page(page_client, "/query?example=cq02-grafo&lang=en")
    assert page.query() == load_examples(SAMPLE_QUERIES)[1].query
    assert page.config()["autorun"] is True
    (active,) = page.find("a", **{"aria-current": "true"})
    assert active["data-example"] == "cq02-grafo"
    downloads = page.find("a", **{"class": "qp-download"})
    assert [a["data-format"] for a in downloads] == ["turtle", "nt", "jsonld", "rdfxml"]
    assert downloads[0]["download"] == "poli-kg-results.ttl"


def test_query_parameter_fills_the_editor(page_client):
    _, page = get_page(page_client, "/query?query=ASK+%7B+%3Fs+%3Fp+%3Fo+%7D")
    assert page.query() == "ASK { ?s ?p ?o }"
    assert page.config()["autorun"] is True
    _, page = get_page(page_client, "/query?example=nope")
    assert page.config()["autorun"] is False


def test_no_inline_script_or_event_handler(page_client):
    _, page = get_page(page_client, "/query")
    for attrs, text in page.scripts:
        assert attrs.get("src") or (attrs.get("type") == "application/json" and text.strip())
    for tag, attrs in page.elements:
        assert not [name for name in attrs if name.startswith("on")], tag
        assert not str(attrs.get("href", "")).lower().startswith("javascript:")


def test_config_block_cannot_be_closed_by_a_query(tmp_path):
    (tmp_path / "evil.rq").write_text(
        "# title-it: </script><script>alert(1)</script>\nSELECT * { ?s ?p '</script>' }\n",
        encoding="utf-8")
    client = make_app(tmp_path).test_client()
    response, page = get_page(client, "/query?example=evil")
    html = response.get_data(as_text=True)
    assert "<script>alert(1)" not in html
    assert page.config()["examples"]["evil"].endswith("'</script>' }\n")
    assert page.query().endswith("'</script>' }\n")


def test_yasgui_is_left_for_the_first_use(page_client):
    """The page loads no YASGUI (a megabyte of script): the editor's placeholder names it, for
    query.js to load when the page is used; until then the form is a labelled textarea."""
    _, page = get_page(page_client, "/query?lang=en")
    assert [url for url in page.loaded_assets() if "vendor/yasgui" in url] == []
    stylesheet, script = page.editor_assets()
    assert "vendor/yasgui/yasgui.min.css" in stylesheet and "vendor/yasgui/yasgui.min.js" in script
    (label,) = page.find("label", id="qp-query-label")
    assert label["for"] == "qp-query" and page.find("textarea", id="qp-query", name="query")
    (editor,) = page.find("div", id="qp-editor")
    assert "hidden" in editor
    assert page.config()["labels"]["loading"] == "Loading the editor…"
    scripts = [attrs for attrs in page.find("script") if "src" in attrs]
    assert scripts and all("defer" in attrs for attrs in scripts)


def test_assets_resolve_and_stay_on_this_host(page_client):
    _, page = get_page(page_client, "/query")
    urls = page.assets()
    assert len(urls) >= 6
    expected = {"text/css", "text/javascript", "image/svg+xml"}
    for url in urls:
        assert url.startswith("/static/"), url  # same origin, no CDN
        response = page_client.get(url)
        assert response.status_code == 200, url
        assert response.mimetype in expected, (url, response.mimetype)
        response.close()


def test_vendored_yasgui_matches_its_record():
    vendor = STATIC / "vendor" / "yasgui"
    record = (vendor / "SOURCE.txt").read_text(encoding="utf-8")
    assert "@zazuko/yasgui 4.6.2" in record
    for digest, name in re.findall(r"^([0-9a-f]{64})  (\S+)$", record, re.MULTILINE):
        assert hashlib.sha256((vendor / name).read_bytes()).hexdigest() == digest, name
    assert "MIT License" in (vendor / "LICENSE").read_text(encoding="utf-8")
    assert "codemirror@" in (vendor / "THIRD-PARTY-LICENSES.txt").read_text(encoding="utf-8")


def test_own_assets_reference_no_other_host():
    for path in [*STATIC.glob("css/*.css"), *STATIC.glob("js/*.js")]:
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"https?://", text), path
        assert "@import" not in text and "url(" not in text, path


def test_page_mounted_under_a_path_and_public_url():
    app = make_app()
    client = app.test_client()
    response = client.get("/query", base_url="http://localhost/kg/")  # script_root "/kg"
    assert response.status_code == 200
    page = Page(response.get_data(as_text=True))
    assert page.find("form", id="qp-form")[0]["action"] == "/kg/sparql"
    assert page.config()["endpoint"] == "/kg/sparql" and page.config()["root"] == "/kg/"
    (link,) = page.find("a", **{"data-example": "cq01-poli"})
    assert link["href"] == "/kg/query?example=cq01-poli"
    downloads = page.find("a", **{"class": "qp-download"})
    assert downloads and all(a["href"].startswith("/kg/sparql?") for a in downloads)
    assert all(link["href"].startswith("/kg/static/") for link in page.find("link"))
    assert "<code>http://localhost/kg/sparql</code>" in response.get_data(as_text=True)
    app.config["PUBLIC_URL"] = "https://data.example.org/poli-kg/"
    response = client.get("/query")
    assert "<code>https://data.example.org/poli-kg/sparql</code>" in response.get_data(as_text=True)


@pytest.mark.parametrize("path", ["/query", "/sparql", "/sparql?lang=en"])
def test_the_application_serves_the_page(client, path):
    """The real application (poli_kg.web): the page at /query and at /sparql for a browser."""
    response, page = get_page(client, path)
    assert page.find("form", id="qp-form")
    assert page.find("html")[0]["lang"] == ("en" if "lang=en" in path else "it")
    names = [a["data-example"] for a in page.find("a", **{"class": "qp-example"})]
    assert names == [example.name for example in load_examples(DEFAULT_QUERIES_DIR)]
    for url in page.assets():
        asset = client.get(url)
        assert asset.status_code == 200, url
        asset.close()


@pytest.mark.parametrize("lang, title", [("it", "Prefissi predefiniti"),
                                         ("en", "Predefined prefixes")])
def test_page_lists_the_predefined_prefixes(page_client, lang, title):
    from poli_kg.web.sparql.prologue import PREDEFINED

    response, page = get_page(page_client, f"/query?lang={lang}")
    html = response.get_data(as_text=True)
    assert page.find("details", id="qp-prefixes") and title in html
    for prefix, namespace in PREDEFINED.items():
        assert f"<dt><code>{prefix}:</code></dt><dd><code>{namespace}</code></dd>" in html


@pytest.mark.parametrize("lang", ["it", "en"])
def test_page_can_announce_a_truncated_result(page_client, lang):
    _, page = get_page(page_client, f"/query?lang={lang}")
    (notice,) = page.find("p", id="qp-notice")
    assert "hidden" in notice and notice["role"] == "status"
    config = page.config()
    assert config["max_results"] == 10_000
    message = config["labels"]["truncated"]
    assert "{limit}" in message and "{limit2}" in message
    assert "LIMIT {limit} OFFSET {limit}" in message and "ORDER BY" in message
    script = (STATIC / "js" / "query.js").read_text(encoding="utf-8")
    assert 'get("X-Result-Truncated")' in script and "qp-notice" in script
    assert "state.prefixes[p] = config.prefixes[p]" in script  # the editor knows them too


# --- examples in the page language ---------------------------------------------------------

from poli_kg.store.lexer import tokens  # noqa: E402
from poli_kg.web.sparql.examples import in_language  # noqa: E402


@pytest.mark.parametrize("query, expected", [
    ('FILTER (lang(?a) = "it")', 'FILTER (lang(?a) = "en")'),
    ("FILTER(LANG(?a)='it'&&lang(?b) = \"IT\")", "FILTER(LANG(?a)='en'&&lang(?b) = \"en\")"),
    ('FILTER ("it" = lang(?a))', 'FILTER ("en" = lang(?a))'),
    ('FILTER (langMatches(lang(?a), "it"))', 'FILTER (langMatches(lang(?a), "en"))'),
    ('FILTER (lang(?a) = "en")', 'FILTER (lang(?a) = "en")'),        # an English filter stays
    ('FILTER (lang(?a) != "it")', 'FILTER (lang(?a) != "it")'),      # only equality follows
    ('FILTER (lang(?a) = "it-CH")', 'FILTER (lang(?a) = "it-CH")'),
    ('FILTER (str(?a) = "it")', 'FILTER (str(?a) = "it")'),          # not a language filter
    ('?s ?p "it"@it . FILTER(?o = "it")', '?s ?p "it"@it . FILTER(?o = "it")'),
    ('# lang(?a) = "it"\nASK { ?s ?p \'lang(?a) = "it"\' }',        # comment and string kept
     '# lang(?a) = "it"\nASK { ?s ?p \'lang(?a) = "it"\' }'),
    ('ASK { <x:lang(?a)="it"> ?p ?o }', 'ASK { <x:lang(?a)="it"> ?p ?o }'),
    ('FILTER (lang(?a) = """it""")', 'FILTER (lang(?a) = """it""")'),
    ('FILTER (lang(?a) = "it"', 'FILTER (lang(?a) = "en"'),           # unclosed: still safe
])
def test_in_language_rewrites_only_italian_language_filters(query, expected):
    assert in_language(query, "en") == expected
    assert in_language(query, "it") == query


def test_in_language_refuses_a_tag_that_is_not_one():
    query = 'FILTER (lang(?a) = "it")'
    assert in_language(query, 'en") || true || ("') == query
    assert in_language(query, "") == query


def test_every_project_example_asks_for_the_page_language():
    for example in load_examples(DEFAULT_QUERIES_DIR):
        english = example.query_in("en")
        assert example.query_in("it") == example.query
        assert len(tokens(english)) == len(tokens(example.query)), example.name
        assert not re.search(r'lang\(\?\w+\)\s*=\s*"it"', english, re.I), example.name


def test_english_page_gets_the_english_examples(tmp_path):
    (tmp_path / "q.rq").write_text(
        '# title-it: Poli\n# title-en: Clusters\nSELECT ?n { ?p rdfs:label ?n '
        'FILTER (lang(?n) = "it") }\n', encoding="utf-8")
    client = make_app(tmp_path).test_client()
    _, page = get_page(client, "/query?lang=en&example=q")
    assert 'lang(?n) = "en"' in page.query()
    assert 'lang(?n) = "en"' in page.config()["examples"]["q"]
    _, page = get_page(client, "/query?lang=it&example=q")
    assert 'lang(?n) = "it"' in page.query() and 'lang(?n) = "it"' in page.config()["examples"]["q"]


def sparql_json(client, query):
    response = client.get("/sparql", query_string={"query": query},
                          headers={"Accept": "application/sparql-results+json"})
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return response.get_json()


def test_english_examples_answer_as_many_rows_in_english(client):
    """On the real graph: every example's English version answers as many rows as the Italian
    one, with English labels where the Italian version had Italian ones."""
    for example in load_examples(DEFAULT_QUERIES_DIR):
        if query_type(example.query) != "SELECT":
            continue
        italian = sparql_json(client, example.query)["results"]["bindings"]
        english = sparql_json(client, example.query_in("en"))["results"]["bindings"]
        assert len(english) == len(italian), example.name
        for row_it, row_en in zip(italian, english):
            for var, value in row_it.items():
                if value.get("xml:lang") == "it" and var in row_en:
                    assert row_en[var].get("xml:lang") in ("en", "it"), (example.name, var)
        langs = {v.get("xml:lang") for row in english for v in row.values()}
        if example.query_in("en") != example.query:
            assert "en" in langs, example.name


# --- the dataset's terms and the results' labels ----------------------------------------------

from poli_kg.web.sparql import lookup  # noqa: E402


def test_terms_list_the_graphs_classes_and_properties(client):
    response = client.get("/query/terms.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    terms = response.get_json()
    classes = {t["iri"]: t for t in terms["classes"]}
    properties = {t["iri"]: t for t in terms["properties"]}
    pole = classes[BASE + "ontology#PoloDiInnovazione"]
    assert pole["prefixed"] == "pkg:PoloDiInnovazione" and pole["count"] >= 7
    assert pole["label"]["it"] and pole["label"]["en"] and pole["label"]["it"] != pole["label"]["en"]
    label = properties["http://www.w3.org/2000/01/rdf-schema#label"]
    assert label["prefixed"] == "rdfs:label" and label["count"] > 10
    counts = [t["count"] for t in terms["classes"]]
    assert counts == sorted(counts, reverse=True)  # most used first
    # cached per build: an ETag, a 304 for it
    etag = response.headers["ETag"]
    again = client.get("/query/terms.json", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert "public" in response.headers["Cache-Control"]


def test_labels_of_a_batch_of_iris(client):
    mesap = BASE + "id/polo/mesap"
    pole = BASE + "ontology#PoloDiInnovazione"
    unknown = BASE + "id/nothing-here"
    body = {"iris": [mesap, pole, unknown, "urn:x", mesap], "lang": "en"}
    response = client.post("/query/labels.json", json=body)
    assert response.status_code == 200, response.get_data(as_text=True)
    answer = response.get_json()
    assert answer["lang"] == "en" and response.headers["Content-Language"] == "en"
    assert "MESAP" in answer["labels"][mesap]
    assert answer["labels"][pole]
    assert unknown not in answer["labels"] and "urn:x" not in answer["labels"]
    italian = client.get("/query/labels.json", query_string={"iri": [pole], "lang": "it"})
    assert italian.get_json()["labels"][pole] != answer["labels"][pole]


@pytest.mark.parametrize("body, content_type, status", [
    (b"not json", "application/json", 400),
    (b"\xff\xfe", "application/json", 400),
    (b"[]", "application/json", 400),
    (b'{"iris": "https://w3id.org/poli-kg/id/polo/mesap"}', "application/json", 400),
    (b'{"iris": [1, 2]}', "application/json", 400),
    (b'{"iris": [], "lang": "fr"}', "application/json", 400),
    (json.dumps({"iris": ["x"] * (lookup.MAX_IRIS + 1)}).encode(), "application/json", 400),
    (json.dumps({"iris": ["x" * (lookup.MAX_IRI_CHARS + 1)]}).encode(), "application/json", 400),
    (b'{"iris": ["' + b"x" * lookup.MAX_BODY_BYTES + b'"]}', "application/json", 413),
    (b'{"iris": ["\\ud800", "https://w3id.org/poli-kg/id/\\udfff"]}', "application/json", 200),
    (b'{"iris": []}', "text/plain", 200),
    (b'{"iris": [], "lang": null}', "application/json", 200),
])
def test_labels_refuse_hostile_input_clearly(client, body, content_type, status):
    response = client.post("/query/labels.json", data=body, content_type=content_type)
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    if status == 400:
        assert response.get_data(as_text=True).strip()


def test_labels_without_a_search_index_answer_503(app, monkeypatch):
    from poli_kg.store.search import SearchUnavailable

    def unavailable(*_args, **_kwargs):
        raise SearchUnavailable("none")

    monkeypatch.setattr(querypage, "get_index", unavailable)
    client = app.test_client()
    assert client.get("/query/terms.json").status_code == 503
    assert client.post("/query/labels.json", json={"iris": []}).status_code == 503


def test_page_names_its_lookups_and_formats(page_client):
    _, page = get_page(page_client, "/query?lang=en")
    config = page.config()
    assert config["terms_url"] == "/query/terms.json"
    assert config["labels_url"] == "/query/labels.json"
    assert config["max_label_iris"] == lookup.MAX_IRIS
    assert config["months"][4] == "May" and config["labels"]["yes"] == "yes"
    assert set(config["units"]) == {"euro", "percent"}
    (switch,) = page.find("input", id="qp-raw")
    assert switch["type"] == "checkbox"
    assert "hidden" in page.find("p", id="qp-raw-switch")[0]  # shown by the script
    _, page = get_page(page_client, "/query")
    assert page.config()["months"][4] == "maggio"


def test_script_uses_only_its_own_completers():
    script = (STATIC / "js" / "query.js").read_text(encoding="utf-8")
    (listed,) = re.findall(r"autocompleters:\s*\[([^\]]*)\]", script)
    names = {name.strip().strip('"') for name in listed.split(",")}
    assert names == {"poliPrefixes", "variables", "poliClasses", "poliProperties"}
    assert "config.terms_url" in script and "config.labels_url" in script
