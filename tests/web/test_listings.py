"""The listings of the IRI folders (poli_kg.web.listings) through Flask's test client, over the
project's real build: /id/ and /id/{folder}/ as HTML in both languages and as RDF (a Hydra
collection) by Accept and by suffix, the counts against SPARQL counts over the store,
pagination and its links, hostile ``page`` parameters, and the resource URLs left alone.
"""

from __future__ import annotations

import json
import re

import pytest
from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.namespace import RDF, XSD

from poli_kg.namespaces import ID, PKG
from poli_kg.store.current import get_store
from poli_kg.web import listings

HYDRA = Namespace("http://www.w3.org/ns/hydra/core#")
COUNT_QUERY = """
SELECT (COUNT(DISTINCT ?r) AS ?n) WHERE {
  { ?r ?p ?o } UNION { ?s ?p ?r }
  FILTER(isIRI(?r) && STRSTARTS(STR(?r), "%s"))
}"""
SEGMENTS_QUERY = """
SELECT DISTINCT ?r WHERE { { ?r ?p ?o } UNION { ?s ?p ?r }
  FILTER(isIRI(?r) && REGEX(STR(?r), "^https://w3id\\\\.org/poli-kg/id/[^/#]+/[^#]")) }"""


def sparql_count(app, prefix: str) -> int:
    with app.app_context():
        return int(get_store(app).select(COUNT_QUERY % prefix)[0]["n"])


def rdf(response, fmt: str) -> Graph:
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    return Graph().parse(data=response.get_data(), format=fmt)


def total(graph: Graph, iri: URIRef) -> int:
    return int(graph.value(iri, HYDRA.totalItems))


@pytest.fixture
def small_pages(monkeypatch):
    """Pages of 10 resources, so that the real data's folders need several."""
    monkeypatch.setattr(listings, "PAGE_SIZE", 10)
    return 10


# --- /id/ ----------------------------------------------------------------------------------

def test_root_lists_every_folder_with_its_count(app, client):
    with app.app_context():
        rows = get_store(app).select(SEGMENTS_QUERY)
    expected = {str(row["r"])[len(str(ID)):].split("/")[0] for row in rows}
    assert {"polo", "organizzazione", "cluster-nazionale", "scheme", "luogo",
            "osservazione"} <= expected
    graph = rdf(client.get("/id/", headers={"Accept": "text/turtle"}), "turtle")
    root = URIRef(str(ID))
    assert (root, RDF.type, HYDRA.Collection) in graph
    members = set(graph.objects(root, HYDRA.member))
    assert members == {URIRef(f"{ID}{name}/") for name in expected}
    assert total(graph, root) == len(expected)
    for name in ("polo", "organizzazione", "scheme", "osservazione"):
        assert total(graph, URIRef(f"{ID}{name}/")) == sparql_count(app, f"{ID}{name}/")


def test_root_html_in_both_languages(client):
    italian = client.get("/id/")
    assert italian.status_code == 200 and italian.mimetype == "text/html"
    body = italian.get_data(as_text=True)
    assert "Tutte le risorse del grafo, per cartella" in body
    assert 'href="/id/polo/"' in body and 'href="/id/organizzazione/"' in body
    assert italian.headers["Content-Location"] == "/id/.html"
    english = client.get("/id/?lang=en").get_data(as_text=True)
    assert "Every resource of the graph, by folder" in english
    assert 'href="/id/polo/?lang=en"' in english
    assert '<html lang="en">' in english


def test_root_by_suffix(client):
    response = client.get("/id/.jsonld", headers={"Accept": "text/html"})
    assert response.mimetype == "application/ld+json"
    assert (URIRef(str(ID)), RDF.type, HYDRA.Collection) in rdf(response, "json-ld")


# --- one folder ------------------------------------------------------------------------------

def test_poles_in_both_languages(app, client):
    italian = client.get("/id/polo/")
    assert italian.status_code == 200 and italian.mimetype == "text/html"
    body = italian.get_data(as_text=True)
    assert "Risorse in id/polo/" in body
    assert 'href="/id/polo/mesap"' in body
    assert "Polo di innovazione" in body          # the type, labelled
    assert italian.headers["Vary"].startswith("Accept, Accept-Language")
    english = client.get("/id/polo/", headers={"Accept-Language": "en"})
    text = english.get_data(as_text=True)
    assert english.headers["Content-Language"] == "en"
    assert "Resources in id/polo/" in text and 'href="/id/polo/mesap"' in text
    count = sparql_count(app, f"{ID}polo/")
    assert f"{count} resources with an IRI under" in text
    assert len(re.findall(r'<tr>\s*<th scope="row"><a class="ld-link" href="/id/polo/', text)) == count


def test_labels_and_types_follow_the_page_language(client):
    english = client.get("/id/scheme/?lang=en").get_data(as_text=True)
    italian = client.get("/id/scheme/?lang=it").get_data(as_text=True)
    assert ">Technology domain</a>" in english and ">Biotechnologies</a>" in english
    assert ">Biotechnologies</a>" not in italian
    assert 'href="/ontology?lang=en#AmbitoTecnologico"' in english


@pytest.mark.parametrize("accept, fmt", [("text/turtle", "turtle"),
                                         ("application/ld+json", "json-ld"),
                                         ("application/n-triples", "nt"),
                                         ("application/rdf+xml", "xml")])
def test_folder_rdf_by_accept(app, client, accept, fmt):
    response = client.get("/id/polo/", headers={"Accept": accept})
    assert response.mimetype == accept
    graph = rdf(response, fmt)
    folder = URIRef(f"{ID}polo/")
    assert (folder, RDF.type, HYDRA.Collection) in graph
    assert total(graph, folder) == sparql_count(app, f"{ID}polo/")
    assert (folder, HYDRA.member, ID["polo/mesap"]) in graph
    assert (ID["polo/mesap"], RDF.type, PKG.PoloDiInnovazione) in graph
    assert graph.value(ID["polo/mesap"], URIRef("http://www.w3.org/2000/01/rdf-schema#label"))
    assert len(set(graph.objects(folder, HYDRA.member))) == total(graph, folder)
    ext = {"turtle": "ttl", "json-ld": "jsonld", "nt": "nt", "xml": "rdf"}[fmt]
    assert response.headers["Content-Location"] == f"/id/polo/.{ext}"


def test_folder_by_suffix_whatever_accept(client):
    response = client.get("/id/organizzazione/.ttl", headers={"Accept": "text/html"})
    assert response.mimetype == "text/turtle"
    assert "Accept" not in [v.strip() for v in response.headers.get("Vary", "").split(",")]
    graph = rdf(response, "turtle")
    assert (URIRef(f"{ID}organizzazione/"), RDF.type, HYDRA.Collection) in graph
    data = json.loads(rdf_text := client.get("/id/organizzazione/.jsonld").get_data(as_text=True))
    assert data and "hydra" in rdf_text


def test_every_folder_answers_with_its_count(app, client):
    graph = rdf(client.get("/id/.nt"), "nt")
    for folder in graph.objects(URIRef(str(ID)), HYDRA.member):
        listing = rdf(client.get(str(folder)[len("https://w3id.org/poli-kg"):] + ".nt"), "nt")
        assert total(listing, folder) == sparql_count(app, str(folder))
        assert total(listing, folder) == total(graph, folder)


# --- pagination ------------------------------------------------------------------------------

def test_pages_and_their_links(app, client, small_pages):
    count = sparql_count(app, f"{ID}scheme/")
    last = -(-count // small_pages)
    assert last >= 3
    folder = URIRef(f"{ID}scheme/")
    first = rdf(client.get("/id/scheme/", headers={"Accept": "text/turtle"}), "turtle")
    view = URIRef(f"{folder}?page=1")
    assert (folder, HYDRA.view, view) in first
    assert (view, RDF.type, HYDRA.PartialCollectionView) in first
    assert first.value(view, HYDRA.next) == URIRef(f"{folder}?page=2")
    assert first.value(view, HYDRA.last) == URIRef(f"{folder}?page={last}")
    assert first.value(view, HYDRA.previous) is None
    assert total(first, folder) == count
    seen = set()
    for page in range(1, last + 1):
        graph = rdf(client.get(f"/id/scheme/.ttl?page={page}"), "turtle")
        members = set(graph.objects(folder, HYDRA.member))
        assert len(members) == (small_pages if page < last else count - small_pages * (last - 1))
        assert not members & seen
        seen |= members
    assert len(seen) == count
    middle = rdf(client.get("/id/scheme/?page=2", headers={"Accept": "text/turtle"}), "turtle")
    view2 = URIRef(f"{folder}?page=2")
    assert middle.value(view2, HYDRA.previous) == view
    assert middle.value(view2, HYDRA.first) == view
    assert middle.value(view2, HYDRA.next) == URIRef(f"{folder}?page=3")
    assert (None, HYDRA.totalItems, Literal(count, datatype=XSD.nonNegativeInteger)) in middle


def test_page_headers_name_the_page(client, small_pages):
    response = client.get("/id/scheme/?page=2", headers={"Accept": "text/turtle"})
    assert response.headers["Content-Location"] == "/id/scheme/.ttl?page=2"
    assert "</id/scheme/.jsonld?page=2>" in response.headers["Link"]
    html = client.get("/id/scheme/?page=2&lang=en")
    assert html.headers["Content-Location"] == "/id/scheme/.html?lang=en&page=2"


def test_html_pagination_links(client, small_pages):
    body = client.get("/id/scheme/?page=2&lang=en").get_data(as_text=True)
    assert "Page 2 of" in body
    assert 'href="/id/scheme/?page=3&amp;lang=en" rel="next"' in body
    assert 'href="/id/scheme/?page=1&amp;lang=en" rel="prev"' in body
    first = client.get("/id/scheme/").get_data(as_text=True)
    assert 'rel="prev"' not in first and "Pagina 1 di" in first


def test_short_folder_has_one_page(client):
    body = client.get("/id/polo/").get_data(as_text=True)
    assert 'rel="next"' not in body and "Pagina 1" not in body
    assert client.get("/id/polo/?page=1").status_code == 200
    assert client.get("/id/polo/?page=2").status_code == 404


@pytest.mark.parametrize("page, status", [
    ("0", 404), ("2", 404), ("99999999999", 404), ("9" * 5000, 404),
    ("abc", 400), ("-1", 400), ("1.5", 400), ("", 400), ("+1", 400), (" 1", 400),
    ("1e3", 400), ("%00", 400), ("١", 400), ("0x1", 400), ("1;DROP", 400),
    ("<script>alert(1)</script>", 400), ("%FF", 400),
])
def test_hostile_page_parameters(client, page, status):
    for accept in ("text/html", "text/turtle", "text/plain", "application/json"):
        response = client.get(f"/id/polo/?page={page}", headers={"Accept": accept})
        assert response.status_code == status, (page, accept)
        if status == 400 and accept == "text/plain":
            assert "page must be a whole number from 1 to 1" in response.get_data(as_text=True)
        if accept == "text/html":
            assert "<script>alert" not in response.get_data(as_text=True)


def test_page_parameter_repeated_takes_the_first(client):
    assert client.get("/id/polo/?page=1&page=abc").status_code == 200


# --- what stays as it was --------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/id/nessuno/", "/id/nessuno/.ttl", "/id/polo/mesap/",
                                  "/id/polo", "/id/polo/.xyz", "/id/.xyz", "/id/%20/"])
def test_other_urls_are_404(client, path):
    assert client.get(path, headers={"Accept": "text/html"}).status_code == 404


def test_resources_still_answer(client):
    assert client.get("/id/polo/mesap").status_code == 200
    assert client.get("/id/polo/mesap.ttl").mimetype == "text/turtle"
    assert "mesap" in client.get("/id/polo/mesap", headers={"Accept-Language": "en"}).get_data(
        as_text=True)


def test_not_acceptable(client):
    response = client.get("/id/polo/", headers={"Accept": "image/png"})
    assert response.status_code == 406
