"""Search and reconciliation through a real server on 127.0.0.1 (``live_server``): the JSON and
every reconciliation answer through ``requests`` (each validated against the shared JSON
Schemas), hostile input over HTTP (never a 5xx), and the search page's suggestions in a real
browser (typing shows them; choosing one opens the resource's page)."""

from __future__ import annotations

import json

import pytest
import requests

from poli_kg.namespaces import BASE, ONTOLOGY_IRI
from tests.e2e.test_linkeddata_browser import Session, browser, check_clean, shots  # noqa: F401
from tests.web.test_reconcile import reconciliation_schemas

PKG = ONTOLOGY_IRI + "#"
ID = BASE + "id/"
TIMEOUT = 30


@pytest.fixture(scope="module")
def check():
    return reconciliation_schemas()


def get(url: str, **kwargs) -> requests.Response:
    return requests.get(url, timeout=TIMEOUT, **kwargs)


# --------------------------------------------------------------------------- /search

def test_search_json(live_server):
    response = get(live_server + "/search", params={"q": "fabrica inteligente", "format": "json"})
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    body = response.json()
    assert body["query"] == "fabrica inteligente"
    first = body["results"][0]
    assert first["iri"] == ID + "cluster-nazionale/fabbrica-intelligente"
    assert first["type"] == PKG + "ClusterTecnologicoNazionale" and first["score"] > 0
    assert first["url"] == live_server + "/id/cluster-nazionale/fabbrica-intelligente"
    assert get(first["url"], headers={"Accept": "text/html"}).status_code == 200


@pytest.mark.parametrize("q, expected", [
    ("Torino Wireless", "organizzazione/torino-wireless"), ("torino wirless", "organizzazione/torino-wireless"),
    ("citta", "organizzazione/citta-studi"), ("MIAC", "organizzazione/miac"),
    ("bioind", "organizzazione/bioindustry-park"), ("Turin", "luogo/torino"),
    ("C-Green", "polo/cgreen"), ("line a call", "bando/linea-a"),
])
def test_search_variants(live_server, q, expected):
    body = get(live_server + "/search", params={"q": q}, headers={"Accept": "application/json"}).json()
    assert body["results"][0]["iri"] == ID + expected


def test_search_page(live_server):
    response = get(live_server + "/search", params={"q": "citta", "lang": "en"})
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/html")
    assert "Città Studi S.p.A." in response.text and 'href="/id/organizzazione/citta-studi?lang=en"' in response.text


@pytest.mark.parametrize("params, status", [
    ({"q": ""}, 400), ({"q": "x" * 201}, 400), ({"q": "x", "limit": "1000"}, 400),
    ({"q": "x", "type": "nothing"}, 400), ({"q": '"x" AND (y OR z*)~2^3:'}, 200),
    ({"q": "\x00\ufffd\u202e🙂"}, 200), ({"q": "%FF"}, 200),
])
def test_search_hostile_input(live_server, params, status):
    response = get(live_server + "/search", params={**params, "format": "json"})
    assert response.status_code == status, response.text[:300]
    if status == 400:
        assert response.text.startswith("400 Bad Request: ")


def test_raw_bytes_in_the_query_string(live_server):
    for raw in ("q=%FF%FE", "q=%ED%A0%80", "q=%", "q=a%00b", "q=x&limit=%FF"):
        response = get(f"{live_server}/search?{raw}&format=json")
        assert response.status_code in (200, 400), (raw, response.text[:200])
    assert get(live_server + "/search?q=mesap&format=json").status_code == 200


# --------------------------------------------------------------------------- /reconcile

def test_manifest(live_server, check):
    manifest = get(live_server + "/reconcile").json()
    check("manifest", manifest)
    assert manifest["view"]["url"] == live_server + "/reconcile/view?id={{id}}"
    suggest = manifest["suggest"]["entity"]
    found = get(suggest["service_url"] + suggest["service_path"], params={"prefix": "bioind"})
    check("entities", found.json())
    assert found.json()["result"][0]["id"] == ID + "organizzazione/bioindustry-park"
    view = get(manifest["view"]["url"].replace("{{id}}", ID + "polo/mesap"), allow_redirects=False)
    assert view.status_code == 303 and view.headers["Location"].endswith("/id/polo/mesap")
    preview = get(manifest["preview"]["url"].replace("{{id}}", ID + "polo/mesap"))
    assert preview.status_code == 200 and "MESAP" in preview.text


def test_reconciliation_batch(live_server, check):
    batch = {
        "q0": {"query": "Torino Wireless"},
        "q1": {"query": "MIAC", "type": PKG + "SoggettoGestore"},
        "q2": {"query": "Agrifood", "type": "pkg:PoloDiInnovazione",
               "properties": [{"pid": "pkg:haSoggettoGestore", "v": "M.I.A.C."}]},
        "q3": {"properties": [{"pid": "http://xmlns.com/foaf/0.1/homepage", "v": "www.pointex.eu"}]},
        "q4": {"query": "fabrica inteligente", "limit": 2},
        "q5": {"query": "Intelligent Factory", "type": ["pkg:ClusterTecnologicoNazionale"]},
    }
    check("queries", batch)
    as_form = requests.post(live_server + "/reconcile", data={"queries": json.dumps(batch)},
                            timeout=TIMEOUT)
    as_json = requests.post(live_server + "/reconcile", json=batch, timeout=TIMEOUT)
    assert as_form.status_code == as_json.status_code == 200
    answer = as_form.json()
    check("results", answer)
    assert as_json.json() == answer
    expected = {"q0": "organizzazione/torino-wireless", "q1": "organizzazione/miac",
                "q2": "polo/agrifood", "q3": "polo/pointex",
                "q4": "cluster-nazionale/fabbrica-intelligente",
                "q5": "cluster-nazionale/fabbrica-intelligente"}
    for key, iri in expected.items():
        assert answer[key]["result"][0]["id"] == ID + iri, (key, answer[key])
    assert all(answer[k]["result"][0]["match"] for k in ("q0", "q1", "q2", "q3", "q5"))
    assert len(answer["q4"]["result"]) <= 2


def test_suggest_types_properties_and_proposals(live_server, check):
    types = get(live_server + "/reconcile/suggest/type", params={"prefix": "cluster"}).json()
    check("types", types)
    assert PKG + "ClusterTecnologicoNazionale" in [t["id"] for t in types["result"]]
    properties = get(live_server + "/reconcile/suggest/property", params={"prefix": "sito"}).json()
    check("properties", properties)
    assert properties["result"][0]["id"] == "http://xmlns.com/foaf/0.1/homepage"
    proposal = get(live_server + "/reconcile/propose_properties",
                   params={"type": PKG + "PoloDiInnovazione"}).json()
    check("proposal", proposal)
    assert PKG + "haSoggettoGestore" in [p["id"] for p in proposal["properties"]]


def test_data_extension(live_server, check):
    query = {"ids": [ID + "polo/cgreen", ID + "organizzazione/ats-cgreen"],
             "properties": [{"id": "pkg:haSoggettoGestore"}, {"id": "pkg:haComponente"},
                            {"id": "foaf:homepage"}, {"id": "pkg:partecipaACluster"}]}
    check("extension-query", query)
    response = requests.post(live_server + "/reconcile", data={"extend": json.dumps(query)},
                             timeout=TIMEOUT)
    assert response.status_code == 200
    answer = response.json()
    check("extension", answer)
    rows = answer["rows"]
    assert rows[ID + "polo/cgreen"][PKG + "haSoggettoGestore"][0]["id"] == ID + "organizzazione/ats-cgreen"
    assert len(rows[ID + "organizzazione/ats-cgreen"][PKG + "haComponente"]) == 3
    assert rows[ID + "polo/cgreen"][PKG + "partecipaACluster"][0]["id"] == ID + "cluster-nazionale/chimica-verde"


@pytest.mark.parametrize("data, status", [
    ({"queries": "{"}, 400), ({"queries": "[]"}, 400), ({"queries": '{"q": {"query": 1}}'}, 400),
    ({"queries": json.dumps({f"q{i}": {"query": "x"} for i in range(101)})}, 413),
    ({"extend": json.dumps({"ids": ["x"] * 501, "properties": []})}, 413),
    ({"queries": "[" * 50_000 + "]" * 50_000}, 400),
])
def test_reconciliation_hostile_input(live_server, data, status):
    response = requests.post(live_server + "/reconcile", data=data, timeout=TIMEOUT)
    assert response.status_code == status, response.text[:300]
    assert response.text.startswith(f"{status} ")


def test_odd_json_bodies(live_server):
    for body in (b"\xff\xfe", b'{"q": {"query": "\\ud800"}}', b"", b"{" * 10_000):
        response = requests.post(live_server + "/reconcile", data=body, timeout=TIMEOUT,
                                 headers={"Content-Type": "application/json"})
        assert response.status_code in (200, 400), (body[:20], response.text[:200])
    assert get(live_server + "/healthz").status_code == 200


# --------------------------------------------------------------------------- in a browser

@pytest.fixture
def italian(browser):  # noqa: F811
    session = Session(browser, locale="it-IT")
    yield session
    session.close()


@pytest.mark.browser
def test_typing_shows_suggestions_and_choosing_one_opens_its_page(live_server, italian, shots):  # noqa: F811
    page = italian.page
    page.goto(live_server + "/search")
    box = page.locator("#pk-search-q")
    assert box.get_attribute("role") == "combobox" and box.get_attribute("aria-expanded") == "false"
    box.click()
    box.press_sequentially("bioind", delay=40)
    options = page.locator("#pk-search-q-suggestions [role=option]")
    options.first.wait_for()
    assert box.get_attribute("aria-expanded") == "true"
    assert "Bioindustry Park Silvano Fumero S.p.A." in options.first.inner_text()
    page.screenshot(path=str(shots / "search-suggestions.png"))
    box.press("ArrowDown")
    assert options.first.get_attribute("aria-selected") == "true"
    assert box.get_attribute("aria-activedescendant") == options.first.get_attribute("id")
    box.press("Enter")
    page.wait_for_url("**/id/organizzazione/bioindustry-park**")
    assert page.inner_text("h1") == "Bioindustry Park Silvano Fumero S.p.A."
    check_clean(italian)


@pytest.mark.browser
def test_the_search_form_works_without_suggestions(live_server, italian):  # noqa: F811
    page = italian.page
    page.goto(live_server + "/search")
    page.fill("#pk-search-q", "torino wirless")
    page.press("#pk-search-q", "Enter")     # no suggestion chosen: the form is sent
    page.wait_for_url("**/search?q=torino+wirless**")
    link = page.locator(".pk-hit__label").first
    assert link.inner_text() == "Fondazione Torino Wireless"
    link.click()
    page.wait_for_url("**/id/organizzazione/torino-wireless**")
    check_clean(italian)


@pytest.mark.browser
def test_the_header_box_on_a_resource_page_on_a_phone(live_server, italian, shots):  # noqa: F811
    page = italian.page
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(live_server + "/id/polo/mesap?lang=en")
    assert page.locator(".site-nav__lang").is_visible()          # the language switch stays
    box = page.locator("#site-search-q")
    assert box.is_visible() and box.get_attribute("role") == "combobox"
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    box.click()
    box.press_sequentially("torino wirl", delay=40)
    options = page.locator("#site-search-q-suggestions [role=option]")
    options.first.wait_for()
    assert box.get_attribute("aria-expanded") == "true"
    assert "Torino Wireless Foundation" in options.first.inner_text()   # in the page language
    page.screenshot(path=str(shots / "header-search-suggestions-390.png"))
    options.first.click()
    page.wait_for_url("**/id/organizzazione/torino-wireless?lang=en")
    assert page.inner_text("h1") == "Torino Wireless Foundation"
    copy = page.locator("button.ld-copy")
    assert copy.is_visible() and copy.inner_text() == "Copy the IRI"
    copy.focus()
    page.keyboard.press("Enter")                                  # keyboard-operable
    status = page.locator(".ld-copy__status")
    status.filter(has_text="IRI").wait_for()
    assert status.inner_text() in ("IRI copied", "Select the IRI to copy it")
    check_clean(italian)
