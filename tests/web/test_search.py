"""``/search`` through the Flask test client: JSON and HTML, parameters, languages, hostile
input, and every store backend (the index is read from the build folder, not the store)."""

from __future__ import annotations

import re
import shutil

import pytest

from poli_kg.namespaces import BASE, ONTOLOGY_IRI
from poli_kg.textindex import INDEX_DIR

PKG = ONTOLOGY_IRI + "#"
ID = BASE + "id/"


def search_json(client, **params):
    response = client.get("/search", query_string={**params, "format": "json"})
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


# --------------------------------------------------------------------------- JSON

def test_json_answer(client):
    body = search_json(client, q="torino wirless")
    assert body["query"] == "torino wirless" and body["total"] == 1 and not body["partial"]
    hit = body["results"][0]
    assert set(hit) >= {"iri", "label", "type", "score"}
    assert hit["iri"] == ID + "organizzazione/torino-wireless"
    assert hit["label"] == "Fondazione Torino Wireless" and hit["type"] == PKG + "Fondazione"
    assert hit["url"] == "http://localhost/id/organizzazione/torino-wireless"


def test_json_by_accept_header(client):
    response = client.get("/search?q=mesap", headers={"Accept": "application/json"})
    assert response.status_code == 200 and response.is_json
    assert response.get_json()["results"][0]["iri"] == ID + "polo/mesap"
    assert "Accept" in response.headers["Vary"]


@pytest.mark.parametrize("q, expected", [
    ("citta", "organizzazione/citta-studi"), ("MIAC", "organizzazione/miac"),
    ("fabrica inteligente", "cluster-nazionale/fabbrica-intelligente"),
    ("bioind", "organizzazione/bioindustry-park"), ("Torino Wireless", "organizzazione/torino-wireless"),
    ("Intelligent Factory", "cluster-nazionale/fabbrica-intelligente"), ("Turin", "luogo/torino"),
])
def test_variants_in_either_page_language(client, q, expected):
    for lang in ("it", "en"):
        assert search_json(client, q=q, lang=lang)["results"][0]["iri"] == ID + expected


def test_labels_follow_the_language(client):
    it = search_json(client, q="fabbrica intelligente", lang="it")["results"][0]
    en = search_json(client, q="fabbrica intelligente", lang="en")["results"][0]
    assert it["label"].startswith("Cluster Tecnologico Nazionale") and it["typeLabel"] == "Cluster tecnologico nazionale"
    assert en["label"].startswith("Intelligent Factory") and en["typeLabel"] == "National technology cluster"
    response = client.get("/search?q=mesap&format=json", headers={"Accept-Language": "en"})
    assert response.get_json()["lang"] == "en"


@pytest.mark.parametrize("type_name", ["pkg:ClusterTecnologicoNazionale", "ClusterTecnologicoNazionale",
                                       PKG + "ClusterTecnologicoNazionale", "national technology cluster"])
def test_type_filter(client, type_name):
    body = search_json(client, q="agrifood", type=type_name)
    assert body["type"] == PKG + "ClusterTecnologicoNazionale"
    assert [r["iri"] for r in body["results"]] == [ID + "cluster-nazionale/agrifood"]


def test_limit_and_offset(client):
    everything = [r["iri"] for r in search_json(client, q="poli", limit=30)["results"]]
    first = search_json(client, q="poli", limit=10)
    second = search_json(client, q="poli", limit=10, offset=10)
    assert [r["iri"] for r in first["results"] + second["results"]] == everything[:20]
    assert first["total"] == second["total"] >= 30 and second["offset"] == 10


def test_partial_matches_when_no_resource_has_every_word(client):
    body = search_json(client, q="mesap pointex")
    assert body["partial"] is True
    assert {ID + "polo/mesap", ID + "polo/pointex"} <= {r["iri"] for r in body["results"]}
    assert search_json(client, q="zzzzqqq")["results"] == []


# --------------------------------------------------------------------------- HTML

def test_html_page(client):
    response = client.get("/search?q=citta&lang=en", headers={"Accept": "text/html"})
    assert response.status_code == 200 and response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert '{% extends' not in page and "<h1>Search</h1>" in page
    assert 'href="/id/organizzazione/citta-studi?lang=en"' in page
    assert "Città Studi S.p.A." in page and "Company" in page       # label and type in English
    assert re.search(r'<form[^>]+action="/search"[^>]+method="get"', page)   # works without JS
    assert 'name="q"' in page and 'value="citta"' in page and 'name="lang" value="en"' in page
    assert "/static/js/search.js" in page and 'role="search"' in page


def test_html_page_in_italian(client):
    page = client.get("/search?q=fabrica+inteligente").get_data(as_text=True)
    assert "Cerca" in page and "Cluster Tecnologico Nazionale Fabbrica Intelligente" in page
    assert "In inglese" not in page and 'lang="en"' in page     # the other label, marked


def test_the_form_without_a_query(client):
    response = client.get("/search")
    assert response.status_code == 200
    assert 'name="q"' in response.get_data(as_text=True)


def test_html_pages_link_to_each_other(client):
    page = client.get("/search?q=poli&limit=5&offset=5").get_data(as_text=True)
    assert 'rel="prev" href="/search?q=poli&amp;offset=0&amp;limit=5"' in page
    assert 'rel="next" href="/search?q=poli&amp;offset=10&amp;limit=5"' in page


# --------------------------------------------------------------------------- hostile input

@pytest.mark.parametrize("params, says", [
    ({"q": ""}, "Missing search text"), ({"q": "   "}, "Missing search text"), ({}, "Missing"),
    ({"q": "a" * 201}, "at most 200"), ({"q": "x", "limit": "101"}, "between 1 and 100"),
    ({"q": "x", "limit": "0"}, "between 1 and 100"), ({"q": "x", "limit": "ten"}, "whole number"),
    ({"q": "x", "limit": "1e3"}, "whole number"), ({"q": "x", "offset": "-1"}, "between 0"),
    ({"q": "x", "offset": "99999999999999999999"}, "between 0"),
    ({"q": "x", "type": "pkg:NoSuchClass"}, "Unknown type"),
    ({"q": "x", "format": "xml"}, "Unknown format"),
])
def test_bad_parameters_answer_400(client, params, says):
    response = client.get("/search", query_string={"format": "json", **params})
    if "format" in params and params["format"] == "xml":
        response = client.get("/search", query_string=params)
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert re.match(r"400 Bad Request: \S", text) and says in text


@pytest.mark.parametrize("q, status", [("", 400), ("a" * 201, 400)])
def test_bad_queries_on_the_html_page(client, q, status):
    response = client.get("/search", query_string={"q": q}, headers={"Accept": "text/html"})
    assert response.status_code == status and response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert "<h1" in page and 'role="alert"' in page


def test_exactly_200_characters_are_allowed(client):
    assert client.get("/search", query_string={"q": "a" * 200, "format": "json"}).status_code == 200


@pytest.mark.parametrize("q", [
    '"', "'", ":", "*", "?", "~", "^", "(", ")", "AND", "OR", "NOT", "a AND b OR c",
    'label:"mesap"', "mesap*", "mes?ap", "mesap~2", "mesap^10", "(mesap OR pointex)",
    "\\", "{}", "[]", "<script>", "%", "%00", "\x00", "\u202e", "🙂🙂", "日本", "\ufffd",
    "a/b", "-mesap", "+mesap", "||", "&&",
])
def test_search_syntax_is_just_text(client, q):
    for fmt in ("json", "html"):
        response = client.get("/search", query_string={"q": q, "format": fmt})
        assert response.status_code in (200, 400), (q, response.get_data()[:200])


@pytest.mark.parametrize("raw", ["q=%FF%FE", "q=%C0%AF", "q=%ED%A0%80", "q=mesap%00",
                                 "q=%", "q=%zz", "q=mesap&q=pointex", "q=mesap;type=x",
                                 "q=mesap&limit=%FF", "q=mesap&type=%FF%FE", "lang=%FF&q=x"])
def test_odd_encodings(client, raw):
    response = client.get("/search?" + raw + "&format=json")
    assert response.status_code in (200, 400), response.get_data()[:200]


def test_odd_accept_headers(client):
    for accept in ("", "*/*", "application/xml", "text/*;q=0", ",,,", "application/json;q=2"):
        assert client.get("/search?q=mesap", headers={"Accept": accept}).status_code == 200


# --------------------------------------------------------------------------- every backend

@pytest.fixture
def app_on(sparql_build_dir):
    apps = []

    def make(store: str):
        from poli_kg.web import create_app

        application = create_app({"TESTING": True, "BUILD_DIR": str(sparql_build_dir),
                                  "STORE": store, "QUERY_TIMEOUT": 5})
        apps.append(application)
        return application.test_client()

    yield make
    for application in apps:
        application.extensions["poli_kg.store"].close()


@pytest.mark.parametrize("store", ["memory", "oxigraph-memory"])
def test_search_answers_the_same_on_other_backends(client, app_on, store):
    expected = search_json(client, q="fabrica inteligente")
    assert search_json(app_on(store), q="fabrica inteligente") == expected


def test_search_does_not_need_the_store(client, app_on, tcp_listener):
    """A remote store that never answers: the search answers all the same."""
    remote = app_on("sparql:" + tcp_listener.url)
    assert search_json(remote, q="MIAC") == search_json(client, q="MIAC")


def test_a_build_without_an_index_answers_503(build_dir, tmp_path):
    from poli_kg.web import create_app

    copy = tmp_path / "public"
    shutil.copytree(build_dir, copy, ignore=shutil.ignore_patterns(INDEX_DIR))
    application = create_app({"TESTING": True, "BUILD_DIR": str(copy)})
    try:
        response = application.test_client().get("/search?q=mesap&format=json")
        assert response.status_code == 503 and "Retry-After" in response.headers
        assert response.get_data(as_text=True).startswith("503 Service Unavailable: ")
    finally:
        application.extensions["poli_kg.store"].close()


# --------------------------------------------------------------------------- the header's box

@pytest.mark.parametrize("path", ["/", "/id/polo/mesap", "/ontology", "/query", "/search?q=mesap",
                                  "/id/polo/nessuno"])
@pytest.mark.parametrize("lang, name, button", [("it", "Cerca nel sito", "Cerca"),
                                                ("en", "Search the site", "Search")])
def test_every_page_has_the_search_box_in_its_header(client, path, lang, name, button):
    joiner = "&" if "?" in path else "?"
    response = client.get(f"{path}{joiner}lang={lang}", headers={"Accept": "text/html"})
    assert response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    header = re.search(r'<header class="site-header">.*?</header>', page, flags=re.S).group(0)
    form = re.search(r'<form class="site-search"[^>]*>.*?</form>', header, flags=re.S).group(0)
    assert 'action="/search"' in form and 'method="get"' in form and 'role="search"' in form
    assert f'aria-label="{name}"' in form
    assert f'<label class="site-search__label" for="site-search-q">{button}</label>' in form
    assert re.search(r'<input id="site-search-q"[^>]* name="q"', form)
    assert 'data-suggest="/search"' in form and f'data-lang="{lang}"' in form
    assert f'<input type="hidden" name="lang" value="{lang}">' in form       # ?lang is kept
    assert f'<button class="site-search__button" type="submit">{button}</button>' in form
    assert 'class="site-nav__lang"' in header
    assert len(re.findall(r'<script src="[^"]*/static/js/search\.js[^"]*" defer>', page)) == 1
    assert len(re.findall(r'/static/css/search\.css', page)) >= 1


def test_the_header_box_keeps_no_language_it_was_not_given(client):
    page = client.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    form = re.search(r'<form class="site-search"[^>]*>.*?</form>', page, flags=re.S).group(0)
    assert 'name="lang"' not in form and 'data-lang="en"' in form


def test_the_header_box_submits_to_the_search_page(client):
    response = client.get("/search", query_string={"q": "torino wirless", "lang": "en"})
    assert response.status_code == 200
    assert 'href="/id/organizzazione/torino-wireless?lang=en"' in response.get_data(as_text=True)
