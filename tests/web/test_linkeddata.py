"""Linked-data publishing (the home, resources, ontology, graphs and sitemap blueprints of
poli_kg.web, the charts of poli_kg.web.home) through Flask's test client.

Runs over the project's real build (``build_dir``): dereferenceable IRIs with content
negotiation for every kind of resource, 404/406, the HTML pages in Italian and English, the
schema.org JSON-LD, the home page's charts, the ontology documentation, robots.txt and
sitemap.xml.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from decimal import Decimal
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.compare import isomorphic
from rdflib.namespace import FOAF, OWL, PROV, RDF, RDFS, SKOS, VOID, XSD

from poli_kg.web.base import descriptions, formats, labels, numbers
from poli_kg.web.home import charts, figures
from poli_kg.namespaces import BASE, GRAPH, ID, NAMED_GRAPHS, ONTOLOGY_IRI, PKG, SDMX_MEASURE

MESAP = ID["polo/mesap"]
MANAGER = ID["organizzazione/centro-servizi-industrie"]
CONCEPT = ID["scheme/aree-tematiche/smart-products-and-manufacturing"]
OBSERVATION = ID["osservazione/dotazione-finanziaria-linea-a"]
EXCERPT = ID["fonte/poli-di-innovazione-piemonte-2017/estratto/polo-mesap"]
ONTOLOGY = URIRef(ONTOLOGY_IRI)
DATA_GRAPH = GRAPH.data
MESAP_SENTENCE = "MESAP - Smart Products and Manufacturing www.mesap.it/ Centro Servizi Industrie Srl"
HTTP = Namespace("http://www.w3.org/2011/http#")

RDFLIB_FORMATS = {"ttl": "turtle", "jsonld": "json-ld", "nt": "nt", "rdf": "xml"}
MEDIA_TYPES = {"html": "text/html", "ttl": "text/turtle", "jsonld": "application/ld+json",
               "nt": "application/n-triples", "rdf": "application/rdf+xml"}

# (path, IRI, triples the RDF must hold) per kind of resource
KINDS = {
    "pole": ("/id/polo/mesap", MESAP, [
        (MESAP, RDF.type, PKG.PoloDiInnovazione),
        (MESAP, FOAF.homepage, URIRef("http://www.mesap.it/")),
        (MESAP, PKG.haSoggettoGestore, MANAGER),
        (MESAP, PKG.parteDelSistema, ID["sistema/poli-di-innovazione-piemonte"]),  # inferred
        (ID["sistema/poli-di-innovazione-piemonte"], PKG.comprendePolo, MESAP),    # incoming
    ]),
    "organisation": ("/id/organizzazione/centro-servizi-industrie", MANAGER, [
        (MANAGER, RDF.type, PKG.Societa),
        (MANAGER, PKG.gestisce, MESAP),
    ]),
    "concept": ("/id/scheme/aree-tematiche/smart-products-and-manufacturing", CONCEPT, [
        (CONCEPT, RDF.type, PKG.AreaTematica),
        (CONCEPT, SKOS.inScheme, ID["scheme/aree-tematiche"]),
        (CONCEPT, SKOS.prefLabel, Literal("Smart Products and Manufacturing", lang="it")),
    ]),
    "observation": ("/id/osservazione/dotazione-finanziaria-linea-a", OBSERVATION, [
        (OBSERVATION, SDMX_MEASURE.obsValue, Literal(Decimal("35000000"), datatype=XSD.decimal)),
        (OBSERVATION, PKG.espressioneOriginale, Literal("35 M€", lang="it")),
    ]),
    "excerpt": ("/id/fonte/poli-di-innovazione-piemonte-2017/estratto/polo-mesap", EXCERPT, [
        (EXCERPT, PROV.value, Literal(MESAP_SENTENCE, lang="it")),
        (EXCERPT, PKG.rigaIniziale, Literal(92)),
        (MESAP, PROV.wasDerivedFrom, EXCERPT),
    ]),
    "ontology": ("/ontology", ONTOLOGY, [
        (ONTOLOGY, RDF.type, OWL.Ontology),
        (PKG.PoloDiInnovazione, RDF.type, OWL.Class),
        (PKG.haSoggettoGestore, OWL.inverseOf, PKG.gestisce),
    ]),
    "named graph": ("/graph/data", DATA_GRAPH, [
        (DATA_GRAPH, RDF.type, VOID.Dataset),
    ]),
}


@pytest.fixture(scope="module")
def ld_app(build_dir):
    """One application over the real build for the whole module (query processes are reused)."""
    from poli_kg.web import create_app

    application = create_app({"TESTING": True, "BUILD_DIR": str(build_dir), "QUERY_TIMEOUT": 20})
    yield application
    application.extensions["poli_kg.store"].close()


@pytest.fixture
def ld(ld_app):
    return ld_app.test_client()


@pytest.fixture(scope="module")
def store_rows(ld_app):
    """Run a SELECT on the application's store."""
    from poli_kg.store import get_store

    def select(query, **bindings):
        with ld_app.app_context():
            return get_store().select(query, bindings=bindings)

    return select


class Page(HTMLParser):
    """Elements (tag, attrs), text and ld+json blocks of an HTML page."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str]]] = []
        self.text_parts: list[str] = []
        self.jsonld: list[str] = []
        self.inline_scripts: list[str] = []
        self._script: dict[str, str] | None = None
        self._buffer: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = {k: v or "" for k, v in attrs}
        self.elements.append((tag, attrs))
        if tag == "script":
            self._script, self._buffer = attrs, []

    def handle_endtag(self, tag):
        if tag == "script" and self._script is not None:
            body = "".join(self._buffer)
            if self._script.get("type") == "application/ld+json":
                self.jsonld.append(body)
            elif body.strip():
                self.inline_scripts.append(body)
            self._script = None

    def handle_data(self, data):
        if self._script is not None:
            self._buffer.append(data)
        else:
            self.text_parts.append(data)

    @property
    def text(self) -> str:
        return re.sub(r"\s+", " ", " ".join(self.text_parts))

    def find(self, tag, **attrs):
        return [a for t, a in self.elements if t == tag
                and all(a.get(k.rstrip("_")) == v for k, v in attrs.items())]

    def links(self):
        return [a["href"] for t, a in self.elements if t == "a" and "href" in a]


def page(response) -> Page:
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return Page(response.get_data(as_text=True))


def parse_rdf(response, ext: str) -> Graph:
    return Graph().parse(data=response.get_data(), format=RDFLIB_FORMATS[ext])


# --- content negotiation: every kind of resource x every format -----------------------------

@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("ext", ["ttl", "jsonld", "nt", "rdf"])
def test_rdf_by_accept_and_by_suffix(ld, kind, ext):
    path, iri, triples = KINDS[kind]
    negotiated = ld.get(path, headers={"Accept": MEDIA_TYPES[ext]})
    assert negotiated.status_code == 200
    assert negotiated.mimetype == MEDIA_TYPES[ext]
    assert "Accept" in negotiated.headers["Vary"]
    assert negotiated.headers["Content-Location"] == f"{path}.{ext}"
    assert f'<{path}.{ext}>; rel="alternate"; type="{MEDIA_TYPES[ext]}"' in negotiated.headers["Link"]
    graph = parse_rdf(negotiated, ext)
    for triple in triples:
        assert triple in graph, (kind, ext, triple)
    # canonical IRIs only: nothing names the host the service runs on
    hosts = {urlsplit(str(t)).netloc for triple in graph for t in triple if isinstance(t, URIRef)}
    assert "localhost" not in hosts
    assert any(str(s) == str(iri) for s in graph.subjects())

    by_suffix = ld.get(f"{path}.{ext}", headers={"Accept": "text/html"})  # the suffix wins
    assert by_suffix.status_code == 200 and by_suffix.mimetype == MEDIA_TYPES[ext]
    assert "Content-Location" not in by_suffix.headers
    assert "Accept" not in re.split(r",\s*", by_suffix.headers.get("Vary", ""))
    assert isomorphic(parse_rdf(by_suffix, ext), graph)


@pytest.mark.parametrize("kind", KINDS)
def test_html_by_accept_and_by_suffix(ld, kind):
    path, iri, _ = KINDS[kind]
    response = ld.get(path, headers={"Accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"})
    assert response.mimetype == "text/html"
    assert response.headers["Content-Location"] == f"{path}.html"
    assert set(re.split(r",\s*", response.headers["Vary"])) == {"Accept", "Accept-Language",
                                                                "Accept-Encoding"}
    html = page(response)
    assert str(iri) in html.text
    # the page offers every RDF variant
    for ext in RDFLIB_FORMATS:
        assert html.find("link", rel="alternate", type=MEDIA_TYPES[ext], href=f"{path}.{ext}")
        assert f"{path}.{ext}" in html.links()
    assert not html.inline_scripts, "no inline executable script (CSP script-src 'self')"
    assert not any(k.startswith("on") for _, attrs in html.elements for k in attrs)
    suffix = ld.get(f"{path}.html", headers={"Accept": "text/turtle"})
    assert suffix.mimetype == "text/html" and "Content-Location" not in suffix.headers


@pytest.mark.parametrize("kind", KINDS)
def test_unsatisfiable_accept_is_406(ld, kind):
    path = KINDS[kind][0]
    response = ld.get(path, headers={"Accept": "image/png, application/pdf;q=0.5"})
    assert response.status_code == 406
    assert response.headers["Vary"] == "Accept"
    assert f"{path}.ttl" in response.get_data(as_text=True)


@pytest.mark.parametrize("accept, expected", [
    (None, "text/html"),
    ("*/*", "text/html"),
    ("text/turtle;q=0.5, application/ld+json", "application/ld+json"),
    ("application/json", "application/ld+json"),
    ("application/n-triples, text/turtle;q=0.9", "application/n-triples"),
    ("application/*", "application/ld+json"),
    ("text/*;q=0.9, text/html;q=0", "text/turtle"),
    ("application/rdf+xml;q=1, */*;q=0.1", "application/rdf+xml"),
])
def test_accept_preferences(ld, accept, expected):
    response = ld.get("/id/polo/mesap", headers={"Accept": accept} if accept else {})
    assert response.status_code == 200 and response.mimetype == expected


def test_rdf_holds_the_store_description_with_inferred_triples_and_neighbour_labels(ld, store_rows):
    graph = parse_rdf(ld.get("/id/polo/mesap.nt"), "nt")
    outgoing = store_rows("SELECT ?p ?o WHERE { ?s ?p ?o }", s=MESAP)
    incoming = store_rows("SELECT ?x ?p WHERE { ?x ?p ?s }", s=MESAP)
    assert outgoing and incoming
    for row in outgoing:
        assert (MESAP, row["p"], row["o"]) in graph
    for row in incoming:
        assert (row["x"], row["p"], MESAP) in graph
    # labels of what it links to, so that clients can name them
    assert (MANAGER, RDFS.label, Literal("Centro Servizi Industrie S.r.l.", lang="it")) in graph
    assert (PKG.haSoggettoGestore, RDFS.label, Literal("has managing body", lang="en")) in graph


def test_blank_nodes_are_followed(ld):
    """The ontology's property chain is an rdf:List of blank nodes: it comes out whole."""
    graph = parse_rdf(ld.get("/ontology.ttl"), "ttl")
    (chain,) = graph.objects(PKG.partecipaACluster, OWL.propertyChainAxiom)
    assert isinstance(chain, BNode)
    assert list(graph.items(chain)) == [PKG.haPartecipazione, URIRef("http://www.w3.org/ns/org#organization")]


def test_describe_follows_blank_nodes(ld_app):
    """A resource with blank nodes (an ontology property's chain) is described with them."""
    with ld_app.test_request_context("/"):
        graph = descriptions.describe(PKG.partecipaACluster)
    (chain,) = graph.objects(PKG.partecipaACluster, OWL.propertyChainAxiom)
    assert list(graph.items(chain)) == [PKG.haPartecipazione, URIRef("http://www.w3.org/ns/org#organization")]
    assert (PKG.PoloDiInnovazione, RDFS.label, Literal("Polo di innovazione", lang="it")) in graph


@pytest.mark.parametrize("spec", ["memory", "oxigraph-memory"])
def test_pages_work_on_every_store_backend(build_dir, spec):
    from poli_kg.web import create_app

    app = create_app({"TESTING": True, "BUILD_DIR": str(build_dir), "STORE": spec,
                      "QUERY_TIMEOUT": 30})
    try:
        client = app.test_client()
        html = page(client.get("/id/polo/mesap"))
        assert MESAP_SENTENCE in html.text and "Centro Servizi Industrie S.r.l." in html.text
        graph = parse_rdf(client.get("/id/polo/mesap.ttl"), "ttl")
        assert (MESAP, PKG.haSoggettoGestore, MANAGER) in graph
        assert len(_svgs(client.get("/").get_data(as_text=True))) == 3
        assert client.get("/ontology").status_code == 200
        assert client.get("/sitemap.xml").status_code == 200
    finally:
        app.extensions["poli_kg.store"].close()


def test_turtle_starts_with_the_resource(ld):
    body = ld.get("/id/polo/mesap.ttl").get_data(as_text=True)
    statements = [line for line in body.splitlines() if line and not line.startswith("@prefix")]
    assert statements[0].startswith(f"<{MESAP}> a ")
    assert "pkg:PoloDiInnovazione" in statements[0]


def test_head_etag_and_conditional_get(ld):
    first = ld.get("/id/polo/mesap.ttl")
    etag = first.headers["ETag"]
    assert ld.get("/id/polo/mesap.ttl", headers={"If-None-Match": etag}).status_code == 304
    head = ld.head("/id/polo/mesap", headers={"Accept": "text/turtle"})
    assert head.status_code == 200 and head.mimetype == "text/turtle" and head.data == b""


def test_ontology_version_iri_is_served(ld):
    response = ld.get("/ontology/1.0.0", headers={"Accept": "text/turtle"})
    assert response.status_code == 200
    assert response.headers["Content-Location"] == "/ontology/1.0.0.ttl"
    graph = parse_rdf(response, "ttl")
    assert (ONTOLOGY, OWL.versionIRI, URIRef(ONTOLOGY_IRI + "/1.0.0")) in graph
    assert ld.get("/ontology/1.0.0.jsonld").mimetype == "application/ld+json"


@pytest.mark.parametrize("name", [str(g).rpartition("/")[2] for g in NAMED_GRAPHS])
def test_named_graphs_are_described_with_their_size(ld, ld_app, name):
    from poli_kg.store import get_store

    with ld_app.app_context():
        sizes = get_store().graph_sizes()
    iri = GRAPH[name]
    graph = parse_rdf(ld.get(f"/graph/{name}.ttl"), "ttl")
    assert (iri, VOID.triples, Literal(sizes[str(iri)])) in graph
    assert (iri, VOID.sparqlEndpoint, URIRef(BASE + "sparql")) in graph
    html = page(ld.get(f"/graph/{name}?lang=en"))
    assert f"{sizes[str(iri)]:,}" in html.text
    assert any(link.startswith("/sparql?") and "CONSTRUCT" in link for link in html.links())
    assert "/downloads/poli-kg.trig" in html.links()


def test_inferred_graph_links_its_dump(ld):
    graph = parse_rdf(ld.get("/graph/inferred.ttl"), "ttl")
    assert (GRAPH.inferred, VOID.dataDump, URIRef(BASE + "downloads/poli-kg-inferred.ttl")) in graph


def test_shapes_are_served(ld):
    graph = parse_rdf(ld.get("/shapes", headers={"Accept": "text/turtle"}), "ttl")
    shape = URIRef(BASE + "shapes#ObservationTotal_Shape")
    assert (shape, RDF.type, URIRef("http://www.w3.org/ns/shacl#NodeShape")) in graph
    html = page(ld.get("/shapes?lang=en"))
    assert html.find("section", id="ObservationTotal_Shape")


def test_dataset_metadata_iris_are_served(ld):
    """The catalogue's IRIs under the base (dataset, distributions, service) dereference too."""
    graph = parse_rdf(ld.get("/dataset", headers={"Accept": "text/turtle"}), "ttl")
    dataset = URIRef(BASE + "dataset")
    assert (dataset, RDF.type, VOID.Dataset) in graph
    assert ld.get("/dataset.jsonld").mimetype == "application/ld+json"
    distribution = ld.get("/dataset/distribution/poli-kg.ttl", headers={"Accept": "text/html"})
    assert distribution.status_code == 200 and distribution.mimetype == "text/html"
    nt = ld.get("/dataset/distribution/poli-kg.ttl.nt")
    assert nt.mimetype == "application/n-triples"
    assert (URIRef(BASE + "dataset/distribution/poli-kg.ttl"), None, None) in parse_rdf(nt, "nt")
    assert ld.get("/dataset/service/sparql.ttl").status_code == 200
    assert ld.get("/dataset/nothing-here").status_code == 404


# --- unknown IRIs ------------------------------------------------------------------------------

@pytest.mark.parametrize("path", [
    "/id/polo/nessuno", "/id/polo/mesap.xyz", "/id/polo/mesap/", "/id/polo/mesap%20x",
    "/id/polo/%3Cx%3E", "/graph/nessuno", "/graph/data.xyz", "/ontology/9.9.9", "/ontology/1.0.0.exe",
    "/id/nessuno.ttl",
])
def test_unknown_iris_are_404(ld, path):
    html = ld.get(path, headers={"Accept": "text/html"})
    assert html.status_code == 404
    if path.endswith(".ttl"):  # the suffix names the format, as for a resource
        assert html.mimetype == "text/turtle"
    else:
        assert html.mimetype == "text/html"
        assert "Risorsa non trovata" in html.get_data(as_text=True)
    rdf = ld.get(path, headers={"Accept": "text/turtle"})
    assert rdf.status_code == 404 and rdf.mimetype == "text/turtle"
    graph = parse_rdf(rdf, "ttl")
    assert (None, HTTP.statusCodeValue, Literal(404, datatype=XSD.int)) in graph
    if not path.endswith(".ttl"):
        plain = ld.get(path, headers={"Accept": "text/plain"})
        assert plain.status_code == 404 and plain.mimetype == "text/plain"
        assert plain.get_data(as_text=True).startswith("404 Not Found: no resource ")


def test_404_page_in_english(ld):
    response = ld.get("/id/polo/nessuno?lang=en", headers={"Accept": "text/html"})
    assert response.status_code == 404
    assert "Resource not found" in response.get_data(as_text=True)
    assert BASE + "id/polo/nessuno" in response.get_data(as_text=True)


# --- the HTML pages ------------------------------------------------------------------------------

def test_pole_page_in_italian_by_default(ld):
    response = ld.get("/id/polo/mesap")
    assert response.headers["Content-Language"] == "it"
    html = page(response)
    assert html.find("html")[0]["lang"] == "it"
    (h1,) = re.findall(r"<h1>(.*?)</h1>", response.get_data(as_text=True))
    assert h1 == "MESAP – Smart Products and Manufacturing"
    text = html.text
    for expected in ("Polo di innovazione", "ha soggetto gestore", "Centro Servizi Industrie S.r.l.",
                     "area tematica", "Smart Products and Manufacturing", "Fonte", MESAP_SENTENCE,
                     "righe 92–94", "I sette Poli di Innovazione", "dedotto",
                     "Collegamenti in entrata", "comprende il polo"):
        assert expected in text, expected
    links = html.links()
    assert "/id/organizzazione/centro-servizi-industrie" in links
    assert "/id/scheme/aree-tematiche/smart-products-and-manufacturing" in links
    assert "/id/fonte/poli-di-innovazione-piemonte-2017/estratto/polo-mesap" in links
    assert "/ontology#haSoggettoGestore" in links
    (website,) = html.find("a", href="http://www.mesap.it/")
    assert "external" in website["rel"]
    switch = html.find("a", hreflang="en")
    assert switch and switch[0]["href"] == "/id/polo/mesap?lang=en"


def test_pole_page_in_english_keeps_the_language_in_links(ld):
    response = ld.get("/id/polo/mesap?lang=en")
    assert response.headers["Content-Language"] == "en"
    assert response.headers["Content-Location"] == "/id/polo/mesap.html?lang=en"
    assert "Accept-Language" not in response.headers["Vary"]
    html = page(response)
    assert html.find("html")[0]["lang"] == "en"
    text = html.text
    for expected in ("MESAP – Smart Products and Manufacturing", "Innovation cluster",
                     "has managing body", "thematic area", "Source", MESAP_SENTENCE,
                     "lines 92–94", "inferred", "Incoming links", "includes cluster"):
        assert expected in text, expected
    assert "/id/organizzazione/centro-servizi-industrie?lang=en" in html.links()
    assert "/ontology?lang=en#haSoggettoGestore" in html.links()
    assert html.find("a", hreflang="it")[0]["href"] == "/id/polo/mesap?lang=it"


@pytest.mark.parametrize("header, lang", [
    ("en-GB,en;q=0.9", "en"), ("it-IT", "it"), ("fr, de;q=0.5", "it"), ("en;q=0.5, it", "it"),
])
def test_accept_language(ld, header, lang):
    response = ld.get("/id/polo/mesap", headers={"Accept-Language": header})
    assert response.headers["Content-Language"] == lang
    assert ld.get("/id/polo/mesap?lang=it", headers={"Accept-Language": "en"}).headers[
        "Content-Language"] == "it"


def test_pole_jsonld_is_a_schema_org_organization(ld):
    html = page(ld.get("/id/polo/mesap?lang=en"))
    (block,) = html.jsonld
    data = json.loads(block)
    assert data["@context"] == "https://schema.org"
    assert data["@type"] == "Organization"
    assert data["@id"] == str(MESAP)
    assert data["name"] == "MESAP – Smart Products and Manufacturing"
    assert data["url"] == "http://www.mesap.it/"
    assert data["mainEntityOfPage"] == "http://localhost/id/polo/mesap"
    assert data["parentOrganization"]["name"] == "Centro Servizi Industrie S.r.l."
    members = {m["@id"] for m in data["memberOf"]}
    assert str(ID["sistema/poli-di-innovazione-piemonte"]) in members
    assert str(ID["cluster-nazionale/fabbrica-intelligente"]) in members
    assert data["knowsAbout"] == "Smart Products and Manufacturing"


def test_managing_body_jsonld(ld):
    data = json.loads(page(ld.get("/id/organizzazione/torino-wireless")).jsonld[0])
    assert data["@type"] in ("Organization", "Corporation")
    assert data["legalName"] == "Fondazione Torino Wireless"
    assert {s["@id"] for s in data["subOrganization"]} == {str(ID["polo/ict"])}


def test_observation_page_formats_the_value(ld):
    """The figure is written for the page's language; <data value> holds the number."""
    body = ld.get("/id/osservazione/dotazione-finanziaria-linea-a").get_data(as_text=True)
    it = Page(body)
    assert '<data value="35000000">35 M€</data>' in body
    assert "Nella fonte" in it.text and "35 M€" in it.text
    assert "Dotazione finanziaria" in it.text and "Bando Linea A" in it.text
    assert '<data class="ld-literal" value="35000000">35.000.000</data>' in body  # the raw value
    body = ld.get("/id/osservazione/dotazione-finanziaria-linea-a?lang=en").get_data(as_text=True)
    assert '<data value="35000000">€35 M</data>' in body and "35,000,000" in Page(body).text
    body = ld.get("/id/osservazione/tasso-partecipazione-agende-2014-2020").get_data(as_text=True)
    assert '<data value="30">30 %</data>' in body and "in media" in Page(body).text
    body = ld.get("/id/osservazione/aderenti-totale-2017-06?lang=en").get_data(as_text=True)
    assert '<data value="1194">1,194</data>' in body
    more = page(ld.get("/id/osservazione/progetti-attivati-misure-poli-2007-2013"))
    assert "oltre" in more.text and more.find("data", value="600")
    assert not any(tag == "data" and not re.fullmatch(r"-?\d+(\.\d+)?", attrs["value"])
                   for tag, attrs in it.elements), "every <data value> is a number"


def test_excerpt_page_quotes_the_source(ld):
    html = page(ld.get("/id/fonte/poli-di-innovazione-piemonte-2017/estratto/polo-mesap?lang=en"))
    (quote,) = [a for t, a in html.elements if t == "blockquote"]
    assert quote["lang"] == "it"
    assert MESAP_SENTENCE in html.text
    assert "/id/polo/mesap?lang=en" in html.links()  # incoming: the resources resting on it


def test_external_terms_described_by_the_ontology_link_to_it(ld):
    html = page(ld.get("/id/osservazione/dotazione-finanziaria-linea-a"))
    assert "/ontology#sdmx-measure-obsValue" in html.links()
    assert "valore osservato" in html.text


def test_page_without_inferred_triples_has_no_legend(ld):
    text = page(ld.get("/id/scheme/modelli-di-riferimento/innovation-hub")).text
    assert "Innovation Hub" in text and "dedotto" not in text
    text = page(ld.get("/id/scheme/qualificatori-valore/esatto")).text
    assert "Le voci marcate «dedotto»" in text


# --- home page ------------------------------------------------------------------------------------

def test_home_page(ld):
    response = ld.get("/")
    assert response.status_code == 200 and response.mimetype == "text/html"
    html = page(response)
    links = html.links()
    for target in ("/query", "/downloads/", "/catalog", "/.well-known/void", "/ontology"):
        assert target in links, target
    text = html.text
    assert "CC BY 4.0" in text
    assert "https://creativecommons.org/licenses/by/4.0/" in links
    assert "Il sistema regionale dei Poli di Innovazione (Regione Piemonte, 2017)" in text
    for pole in ("agrifood", "biopmed", "cgreen", "clever", "mesap", "pointex", "ict"):
        assert f"/id/polo/{pole}" in links
    for manager in ("Centro Servizi Industrie S.r.l.", "Fondazione Torino Wireless", "Città Studi S.p.A."):
        assert manager in text
    assert "Smart Products and Manufacturing" in text and "Tessile" in text
    for name in ("ontology", "data", "provenance", "inferred"):
        assert f"/graph/{name}" in links
    (block,) = html.jsonld
    data = json.loads(block)
    assert data["@type"] == "Dataset"
    assert data["license"] == "https://creativecommons.org/licenses/by/4.0/"
    assert data["url"] == "http://localhost/"
    assert any(d["contentUrl"] == "http://localhost/downloads/poli-kg.ttl" for d in data["distribution"])
    assert not html.inline_scripts


def test_home_page_triple_counts(ld, ld_app):
    from poli_kg.store import get_store

    with ld_app.app_context():
        sizes = get_store().graph_sizes()
    text = page(ld.get("/?lang=en")).text
    assert f"{sum(sizes.values()):,} triples" in text
    for size in sizes.values():
        assert f"{size:,}" in text


def _svgs(html_text: str, layout: str = "wide") -> list[ET.Element]:
    """The page's charts drawn in ``layout`` (wide, or narrow for phones)."""
    svgs = re.findall(r"<svg\b.*?</svg>", html_text, flags=re.S)
    return [ET.fromstring(svg) for svg in svgs if f"chart--{layout}" in svg.partition(">")[0]]


SVG = "{http://www.w3.org/2000/svg}"


def _svg_texts(svg: ET.Element) -> list[str]:
    return ["".join(t.itertext()) for t in svg.iter(SVG + "text")]


def test_home_charts_show_the_figures(ld):
    it = ld.get("/").get_data(as_text=True)
    members, calls, patents = _svgs(it)
    for svg in (members, calls, patents):
        assert svg.get("role") == "img"
        title_id, desc_id = svg.get("aria-labelledby").split()
        assert svg.find(SVG + "title").get("id") == title_id
        assert svg.find(SVG + "desc").get("id") == desc_id
    texts = _svg_texts(members)
    for expected in ("PMI", "858", "Grandi imprese", "133", "Organismi di ricerca", "60",
                     "Altre tipologie di soggetti", "43", "Totale pubblicato", "1.194"):
        assert expected in texts, expected
    assert any("100" in t for t in texts)  # the gap between 1,194 and the types' 1,094
    assert any("1.094" in t for t in texts)
    assert "1.094" in members.find(SVG + "desc").text or "1.194" in members.find(SVG + "desc").text
    assert "la validazione SHACL lo segnala" in it
    texts = _svg_texts(calls)
    for expected in ("113", "75", "221", "53", "34", "70", "35 M€", "15 M€", "49,8 M€", "21,2 M€",
                     "23,7 M€", "9,3 M€", "Progetti presentati", "Progetti finanziati",
                     "Imprese coinvolte", "Dotazione finanziaria", "Investimento complessivo",
                     "Contributi concessi"):
        assert expected in texts, expected
    assert any("Linea A" in t for t in texts) and any("Linea B" in t for t in texts)
    texts = _svg_texts(patents)
    for expected in ("5", "36", "12", "Agrifood", "Energia e tecnologie pulite", "Biotecnologie"):
        assert expected in texts, expected
    # bars link to their observations
    assert "/id/osservazione/brevetti-agrifood-2007-2013" in Page(it).links()

    en = ld.get("/?lang=en").get_data(as_text=True)
    texts = [t for svg in _svgs(en) for t in _svg_texts(svg)]
    for expected in ("SMEs", "1,194", "€49.8 M", "Energy and clean technologies"):
        assert expected in texts, expected


def test_home_charts_come_from_the_store(ld_app, monkeypatch):
    """Change the store's answer: the chart changes (nothing is hard-coded)."""
    from poli_kg.store import get_store

    class Doubling:
        def __init__(self, store):
            self.store = store

        def select(self, query, **kwargs):
            rows = self.store.select(query, **kwargs)
            if query == figures.OBSERVATIONS_QUERY:
                for row in rows:
                    row["value"] = Literal(int(Decimal(str(row["value"]))) * 2 + 1)
            return rows

        def __getattr__(self, name):
            return getattr(self.store, name)

    with ld_app.test_request_context("/?lang=en"):
        monkeypatch.setattr(figures, "get_store", lambda: Doubling(get_store()))
        members, calls, patents = figures.home_charts("en")
    texts = _svg_texts(ET.fromstring(str(members["svg"])))
    assert "1,717" in texts and "2,389" in texts  # 858 -> 1717, 1194 -> 2389
    assert "73" in _svg_texts(ET.fromstring(str(patents["svg"])))  # 36 -> 73


# --- ontology documentation -------------------------------------------------------------------

def test_ontology_page_documents_every_term(ld):
    response = ld.get("/ontology")
    html = page(response)
    ids = {a.get("id") for _, a in html.elements}
    for name in PKG.__annotations__:
        assert name in ids, name
    for external in ("sdmx-dimension-refPeriod", "sdmx-measure-obsValue", "sdmx-attribute-unitMeasure"):
        assert external in ids
    text = html.text
    for expected in ("Ontologia dei Poli di Innovazione del Piemonte", "1.0.0", "CC BY 4.0",
                     "25 novembre 2026", "Polo di innovazione", "Innovation cluster",
                     "Raggruppamento di PMI", "org:Organization", "schema:Organization",
                     "Allineamenti a vocabolari esterni", "Catena di proprietà",
                     "funzionale", "dimensione (Data Cube)"):
        assert expected in text, expected
    links = html.links()
    assert "/ontology/1.0.0" in links
    assert "http://www.w3.org/ns/org#Organization" in links
    assert "#gestisce" in links and "#PoloDiInnovazione" in links
    assert "/id/polo/mesap" in links  # instances of the class


def test_ontology_term_details(ld):
    body = ld.get("/ontology?lang=en").get_data(as_text=True)
    section = re.search(r'<section[^>]*id="haSoggettoGestore".*?</section>', body, flags=re.S).group(0)
    text = Page(section).text
    for expected in ("has managing body", "ha soggetto gestore", "Links an innovation cluster to the "
                     "organisation that runs it.", "Domain", "Innovation cluster", "Range",
                     "Managing body", "Inverse of", "manages", "org:linkedTo", "functional"):
        assert expected in text, expected
    section = re.search(r'<section[^>]*id="PoloDiInnovazione".*?</section>', body, flags=re.S).group(0)
    text = Page(section).text
    assert "From the source" in text and "I Poli di Innovazione sono raggruppamenti" in text
    assert "Instances in the graph" in text and "MESAP" in text



def test_ontology_classes_count_their_instances(ld, store_rows):
    from urllib.parse import parse_qs

    counted = {str(row["c"]): int(row["n"]) for row in store_rows(
        "SELECT ?c (COUNT(DISTINCT ?s) AS ?n) WHERE { ?s a ?c } GROUP BY ?c")}
    html = page(ld.get("/ontology?lang=en"))
    shown = {}
    for tag, attrs in html.elements:
        if tag == "section" and "ld-term" in attrs.get("class", ""):
            term = attrs["about"]
        elif tag == "data" and "value" in attrs:
            shown[term] = int(attrs["value"])
    classes = [a["about"] for t, a in html.elements if t == "section" and a.get("id") in ("PoloDiInnovazione", "SoggettoGestore")]
    assert len(classes) == 2 and all(shown[c] > 0 for c in classes)
    for iri, count in shown.items():
        assert count == counted.get(iri, 0), iri
    assert "Instances in the graph: " in html.text and "list them in the SPARQL editor" in html.text
    link = next(href for href in html.links() if href.startswith("/query?")
                and f"<{PKG.PoloDiInnovazione}>" in parse_qs(href.split("?", 1)[1]).get("query", [""])[0])
    query = parse_qs(link.split("?", 1)[1])["query"][0]
    assert {str(row["instance"]) for row in store_rows(query)} == {
        str(row["s"]) for row in store_rows("SELECT DISTINCT ?s WHERE { ?s a ?c }", c=PKG.PoloDiInnovazione)}
    assert ld.get(link).status_code == 200


@pytest.mark.parametrize("path", ["/id/polo/mesap", "/id/organizzazione/centro-servizi-industrie"])
@pytest.mark.parametrize("lang, label, copied", [("it", "Copia l'IRI", "IRI copiato"),
                                                 ("en", "Copy the IRI", "IRI copied")])
def test_resource_pages_offer_to_copy_the_iri(ld, path, lang, label, copied):
    html = page(ld.get(f"{path}?lang={lang}"))
    iri = BASE + path[1:]
    assert html.find("code", id="ld-iri-value") and iri in html.text     # selectable text
    button, = html.find("button", class_="ld-copy")
    assert button["type"] == "button" and "hidden" in button            # shown by copy.js only
    assert button["data-copy"] == "ld-iri-value" and button["data-copied"] == copied
    assert label in html.text
    assert html.find("span", class_="ld-copy__status", role="status", **{"aria-live": "polite"})
    scripts = [a["src"] for t, a in html.elements if t == "script" and "src" in a]
    assert any("/static/js/copy.js" in src for src in scripts) and not html.inline_scripts
    assert all("defer" in a for t, a in html.elements if t == "script" and "copy.js" in a.get("src", ""))
    assert ld.get("/static/js/copy.js").status_code == 200


# --- robots.txt and sitemap.xml -------------------------------------------------------------------

def test_robots_txt(ld):
    response = ld.get("/robots.txt")
    assert response.mimetype == "text/plain"
    body = response.get_data(as_text=True)
    assert "User-agent: *" in body and "Allow: /" in body
    assert "Sitemap: http://localhost/sitemap.xml" in body


def test_sitemap_lists_every_resource(ld, store_rows):
    response = ld.get("/sitemap.xml")
    assert response.mimetype == "application/xml"
    root = ET.fromstring(response.get_data())
    ns = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}
    locs = [loc.text for loc in root.findall("s:url/s:loc", ns)]
    assert len(locs) == len(set(locs))
    assert all(loc.startswith("http://localhost/") for loc in locs)
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\d", m.text) for m in root.findall("s:url/s:lastmod", ns))
    subjects = store_rows("SELECT DISTINCT ?s WHERE { ?s ?p ?o FILTER(STRSTARTS(STR(?s), STR(?b))) }",
                          b=URIRef(BASE))
    expected = {"http://localhost/" + str(r["s"])[len(BASE):].partition("#")[0] for r in subjects}
    assert expected <= set(locs)
    for page_ in ("", "ontology", "query", "graph/data", "graph/inferred", "id/polo/mesap", "shapes",
                  "catalog", "dataset", "dataset/distribution/poli-kg.ttl", "dataset/service/sparql"):
        assert "http://localhost/" + page_ in locs


def test_public_url_is_used_for_absolute_urls(build_dir):
    from poli_kg.web import create_app

    app = create_app({"TESTING": True, "BUILD_DIR": str(build_dir),
                      "PUBLIC_URL": "https://data.example.org/poli-kg/"})
    try:
        client = app.test_client()
        assert "Sitemap: https://data.example.org/poli-kg/sitemap.xml" in client.get(
            "/robots.txt").get_data(as_text=True)
        sitemap = client.get("/sitemap.xml").get_data(as_text=True)
        assert "<loc>https://data.example.org/poli-kg/id/polo/mesap</loc>" in sitemap
        html = page(client.get("/id/polo/mesap"))
        assert json.loads(html.jsonld[0])["mainEntityOfPage"] == \
            "https://data.example.org/poli-kg/id/polo/mesap"
        assert "/id/organizzazione/centro-servizi-industrie" in html.links()  # links stay local
        graph = parse_rdf(client.get("/id/polo/mesap.ttl"), "ttl")
        assert (MESAP, RDF.type, PKG.PoloDiInnovazione) in graph  # RDF keeps canonical IRIs
    finally:
        app.extensions["poli_kg.store"].close()


# --- helpers -----------------------------------------------------------------------------------

@pytest.mark.parametrize("value, unit, lang, expected", [
    (Decimal("35000000"), "http://publications.europa.eu/resource/authority/currency/EUR", "it", "35 M€"),
    (Decimal("35000000"), "http://publications.europa.eu/resource/authority/currency/EUR", "en", "€35 M"),
    (Decimal("49800000"), "http://publications.europa.eu/resource/authority/currency/EUR", "it", "49,8 M€"),
    (Decimal("49800000"), "http://publications.europa.eu/resource/authority/currency/EUR", "en", "€49.8 M"),
    (Decimal("1500"), "http://publications.europa.eu/resource/authority/currency/EUR", "it", "1.500 €"),
    (Decimal("30"), "http://qudt.org/vocab/unit/PERCENT", "it", "30 %"),
    (Decimal("30"), "http://qudt.org/vocab/unit/PERCENT", "en", "30%"),
    (Decimal("1194"), "http://qudt.org/vocab/unit/NUM", "it", "1.194"),
    (Decimal("1194"), "http://qudt.org/vocab/unit/NUM", "en", "1,194"),
    (Decimal("1234567.5"), None, "it", "1.234.567,5"),
])
def test_format_amount(value, unit, lang, expected):
    assert numbers.format_amount(value, unit, lang) == expected


@pytest.mark.parametrize("path, expected", [
    ("id/polo/mesap.ttl", ("id/polo/mesap", "ttl")),
    ("id/polo/mesap.jsonld", ("id/polo/mesap", "jsonld")),
    ("id/polo/mesap", ("id/polo/mesap", None)),
    ("id/polo/mesap.txt", ("id/polo/mesap.txt", None)),
    ("1.0.0", ("1.0.0", None)),
    ("1.0.0.rdf", ("1.0.0", "rdf")),
    (".ttl", (".ttl", None)),
])
def test_split_suffix(path, expected):
    assert formats.split_suffix(path) == expected


def test_prefixed_names():
    assert labels.prefixed(str(PKG.PoloDiInnovazione)) == "pkg:PoloDiInnovazione"
    assert labels.prefixed("http://www.w3.org/ns/org#memberOf") == "org:memberOf"
    assert labels.prefixed(str(MESAP)) is None  # shown as a path, not poli:polo/mesap
    assert labels.prefixed("http://example.org/x") is None


def test_charts_are_accessible_svg():
    svg = charts.bar_chart("t", "Title <&>", "Desc", [
        charts.Bar("A & B", 10, "10", "/x?a=1&b=2"), charts.Bar("C", 0, "0")],
        total=charts.Total("Total", 12, "12", "2 missing"), caption_sum="sum 10")
    root = ET.fromstring(str(svg))
    assert root.get("role") == "img" and root.get("aria-labelledby") == "t-title t-desc"
    assert root.find(SVG + "title").text == "Title <&>"
    texts = _svg_texts(root)
    assert {"A & B", "10", "C", "0", "Total", "12", "2 missing", "sum 10"} <= set(texts)
    assert float(root.get("height")) > 0 and float(root.get("width")) > 0
    grouped = charts.grouped_bar_chart("g", "T", "D", ["A", "B"], [
        charts.Panel("P", [charts.Group("G", [charts.Bar("A", 1, "1"), charts.Bar("B", 2, "2")])])])
    texts = _svg_texts(ET.fromstring(str(grouped)))
    assert {"A", "B", "P", "G", "1", "2"} <= set(texts)


# --- one site: header, footer, head links on every page ----------------------------------------

SITE_PAGES = ["/", "/id/polo/mesap", "/ontology", "/graph/data", "/shapes", "/dataset",
              "/id/polo/nessuno", "/nowhere", "/query", "/downloads/", "/catalog"]


@pytest.mark.parametrize("path", SITE_PAGES)
def test_every_page_has_the_site_header_and_footer(ld, path):
    response = ld.get(path, headers={"Accept": "text/html", "Accept-Language": "en"})
    assert response.mimetype == "text/html", (path, response.status_code)
    html = Page(response.get_data(as_text=True))
    (switch,) = [a for t, a in html.elements if t == "a" and "site-nav__lang" in a.get("class", "")]
    assert switch["hreflang"] == "it" and switch["href"].endswith("lang=it")
    nav = [a["href"] for t, a in html.elements if t == "a"]
    for target in ("/?lang=en", "/ontology?lang=en", "/query?lang=en", "/downloads/?lang=en",
                   "/catalog?lang=en"):
        assert target in nav or target.replace("?lang=en", "") in nav, (path, target)
    assert html.find("footer", **{"class": "site-footer"})
    assert "https://creativecommons.org/licenses/by/4.0/" in nav
    assert html.find("meta", name="description")[0]["content"].strip()


def test_the_current_page_is_marked_in_the_navigation(ld):
    html = page(ld.get("/ontology?lang=en"))
    current = [a["href"] for t, a in html.elements if t == "a" and a.get("aria-current") == "page"]
    assert current == ["/ontology?lang=en"]


@pytest.mark.parametrize("path", ["/", "/id/polo/mesap", "/ontology", "/graph/data", "/shapes"])
def test_pages_name_their_language_versions_and_canonical_url(ld, path):
    html = page(ld.get(path + "?lang=en"))
    versions = {a["hreflang"]: a["href"] for t, a in html.elements
                if t == "link" and a.get("rel") == "alternate" and "hreflang" in a}
    base = "http://localhost" + path
    assert versions == {"it": base + "?lang=it", "en": base + "?lang=en", "x-default": base}
    assert html.find("link", rel="canonical")[0]["href"] == base + "?lang=en"
    negotiated = page(ld.get(path))
    assert negotiated.find("link", rel="canonical")[0]["href"] == base


def test_resource_descriptions_become_meta_descriptions(ld):
    system = page(ld.get("/id/sistema/poli-di-innovazione-piemonte?lang=en"))
    assert system.find("meta", name="description")[0]["content"].startswith(
        "A network of excellence of enterprises")
    pole = page(ld.get("/id/polo/mesap?lang=en"))
    assert pole.find("meta", name="description")[0]["content"].startswith(
        "MESAP – Smart Products and Manufacturing (Innovation cluster).")


def test_error_pages_are_not_indexed(ld):
    html = Page(ld.get("/nowhere", headers={"Accept": "text/html"}).get_data(as_text=True))
    assert html.find("meta", name="robots")[0]["content"] == "noindex"
    assert not html.find("link", rel="canonical")


# --- resource pages: asserted apart from inferred, the managing body's profile ------------------

def test_inferred_statements_are_apart_and_collapsed(ld):
    body = ld.get("/id/polo/mesap?lang=en").get_data(as_text=True)
    asserted = body.partition('id="ld-properties"')[2].partition("</table>")[0]
    assert "ld-badge--inferred" not in asserted and "has managing body" in asserted
    assert "part of system" not in asserted and "part of system" in body  # inferred
    details = re.search(r'<details class="ld-card ld-inferred" id="ld-inferred">.*?</details>',
                        body, flags=re.S).group(0)
    assert " open" not in details.partition(">")[0]                      # collapsed
    assert "ld-badge--inferred" in details.partition("</summary>")[0]     # marked
    inferred = Page(details)
    assert "/id/sistema/poli-di-innovazione-piemonte?lang=en" in inferred.links()
    assert "Inferred types" in inferred.text and "org:Organization" in inferred.text


def test_managing_body_page_shows_its_profile(ld):
    html = Page(ld.get("/id/organizzazione/proplast?lang=en").get_data(as_text=True))
    profile = html.text.partition("At a glance")[2].partition("Properties")[0]
    for expected in ("Manages, within the association", "CGreen – Green chemistry and new materials",
                     "Legal form", "Private-law consortium", "Member of",
                     "Temporary association of Proplast Consortium, Ibis Consortium and Pst S.p.A.",
                     "Website of the cluster", "www.cgreen.it", "Territory", "Piedmont"):
        assert expected in profile, expected
    ats = Page(ld.get("/id/organizzazione/ats-cgreen").get_data(as_text=True))
    for member in ("proplast", "ibis", "pst"):  # links both ways
        assert f"/id/organizzazione/{member}" in ats.links()
    assert "/id/organizzazione/ats-cgreen?lang=en" in html.links()
    assert "Componenti dell'associazione" in ats.text and "Gestisce" in ats.text
    manager = page(ld.get("/id/organizzazione/centro-servizi-industrie"))
    assert "In breve" in manager.text and "Società a responsabilità limitata" in manager.text
    assert "http://www.mesap.it/" in manager.links()
    assert "In breve" not in page(ld.get("/id/luogo/piemonte")).text


def test_numbers_and_dates_keep_their_machine_value(ld):
    body = ld.get("/id/evento/attivazione-poli-2009?lang=en").get_data(as_text=True)
    assert '<time class="ld-literal" datetime="2009">2009</time>' in body
    graph = ld.get("/graph/data?lang=it").get_data(as_text=True)
    assert re.search(r'<data value="\d+">\d{1,3}(\.\d{3})*</data>', graph)


# --- errors written for the client --------------------------------------------------------------

@pytest.fixture(scope="module")
def failing(build_dir):
    """The application with routes that fail with 400, 406 and 500."""
    from werkzeug.exceptions import BadRequest, NotAcceptable

    from poli_kg.web import create_app

    application = create_app({"TESTING": True, "BUILD_DIR": str(build_dir),
                              "PROPAGATE_EXCEPTIONS": False})

    def bad():
        raise BadRequest("the parameter x must be a number")

    def unacceptable():
        raise NotAcceptable("Available as text/csv.")

    def broken():
        raise RuntimeError("boom")

    application.add_url_rule("/test/400", view_func=bad)
    application.add_url_rule("/test/406", view_func=unacceptable)
    application.add_url_rule("/test/500", view_func=broken)
    yield application.test_client()
    application.extensions["poli_kg.store"].close()


BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


@pytest.mark.parametrize("path, status, title", [
    ("/test/400", 400, "Bad request"), ("/nowhere", 404, "Page not found"),
    ("/test/406", 406, "Format not available"), ("/test/500", 500, "Internal error"),
    ("/id/polo/nessuno", 404, "Resource not found"),
])
def test_errors_are_styled_pages_for_browsers(failing, path, status, title):
    response = failing.get(path + "?lang=en", headers={"Accept": BROWSER})
    assert response.status_code == status and response.mimetype == "text/html"
    html = Page(response.get_data(as_text=True))
    assert re.search(rf"<h1[^>]*>{title}</h1>", response.get_data(as_text=True))
    assert html.find("a", hreflang="it") and html.find("footer", **{"class": "site-footer"})
    assert "Traceback" not in html.text and "boom" not in html.text
    assert "Accept" in response.headers["Vary"]
    italian = failing.get(path, headers={"Accept": BROWSER, "Accept-Language": "it"})
    assert italian.status_code == status and italian.headers["Content-Language"] == "it"


@pytest.mark.parametrize("path, status", [("/test/400", 400), ("/nowhere", 404),
                                          ("/test/406", 406), ("/test/500", 500)])
def test_errors_are_json_or_plain_text_for_other_clients(failing, path, status):
    problem = failing.get(path, headers={"Accept": "application/json"})
    assert problem.status_code == status and problem.mimetype == "application/problem+json"
    body = problem.get_json()
    assert body["status"] == status and body["title"] and body["detail"]
    for accept in (None, "*/*", "text/plain", "application/sparql-results+json"):
        plain = failing.get(path, headers={"Accept": accept} if accept else {})
        assert plain.status_code == status and plain.mimetype == "text/plain"
        assert re.match(rf"{status} [A-Za-z ]+: \S", plain.get_data(as_text=True))


def test_a_store_failure_is_a_styled_503(ld_app, monkeypatch):
    from poli_kg.store.errors import QueryError
    from poli_kg.web.resources import page as resource_page

    def fail(iri):
        raise QueryError("the store is gone")

    monkeypatch.setattr(resource_page, "describe", fail)
    client = ld_app.test_client()
    html = client.get("/id/polo/mesap?lang=en", headers={"Accept": BROWSER})
    assert html.status_code == 503 and html.mimetype == "text/html"
    assert "Service unavailable" in html.get_data(as_text=True)
    assert int(html.headers["Retry-After"]) > 0
    plain = client.get("/id/polo/mesap", headers={"Accept": "text/plain, text/html;q=0.5"})
    assert plain.status_code == 503 and plain.mimetype == "text/plain"
    assert plain.get_data(as_text=True).startswith("503 Service Unavailable: Il grafo")


# --- compression and static assets --------------------------------------------------------------

def test_html_json_and_rdf_are_gzipped_when_the_client_accepts_it(ld):
    import gzip

    for path, headers in (("/?lang=en", {}), ("/id/polo/mesap.ttl", {}),
                          ("/id/polo/mesap.jsonld", {}), ("/ontology.ttl", {})):
        plain = ld.get(path, headers=headers)
        packed = ld.get(path, headers={**headers, "Accept-Encoding": "gzip, deflate, br"})
        assert packed.headers["Content-Encoding"] == "gzip", path
        assert "Accept-Encoding" in packed.headers["Vary"]
        assert gzip.decompress(packed.data) == plain.data, path
        assert int(packed.headers["Content-Length"]) == len(packed.data) < len(plain.data)
        assert "Content-Encoding" not in plain.headers
    refused = ld.get("/?lang=en", headers={"Accept-Encoding": "gzip;q=0, identity"})
    assert "Content-Encoding" not in refused.headers


def test_small_bodies_and_downloads_are_not_recompressed(ld):
    small = ld.get("/robots.txt", headers={"Accept-Encoding": "gzip"})
    assert "Content-Encoding" not in small.headers
    import gzip

    plain = ld.get("/downloads/poli-kg.ttl")
    download = ld.get("/downloads/poli-kg.ttl", headers={"Accept-Encoding": "gzip"})
    assert download.status_code == 200
    assert download.headers.get("Content-Encoding") in (None, "gzip")  # its own .gz twin, once
    body = gzip.decompress(download.data) if download.headers.get("Content-Encoding") else download.data
    assert body == plain.data


def test_compressed_pages_still_revalidate(ld):
    first = ld.get("/id/polo/mesap?lang=en", headers={"Accept-Encoding": "gzip"})
    assert first.headers["ETag"].startswith('W/"')
    again = ld.get("/id/polo/mesap?lang=en", headers={"Accept-Encoding": "gzip",
                                                      "If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304


def test_static_assets_are_versioned_cached_and_precompressed(ld):
    import gzip

    home = page(ld.get("/"))
    (css,) = [a["href"] for t, a in home.elements if t == "link"
              and a.get("href", "").startswith("/static/css/site.css")]
    assert re.fullmatch(r"/static/css/site\.css\?v=[0-9a-f]{12}", css)
    cached = ld.get(css, headers={"Accept-Encoding": "gzip"})
    assert cached.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert cached.headers["Content-Encoding"] == "gzip" and "Accept-Encoding" in cached.headers["Vary"]
    plain = ld.get("/static/css/site.css")
    assert plain.headers["Cache-Control"] == "no-cache" and "Content-Encoding" not in plain.headers
    assert gzip.decompress(cached.data) == plain.data
    assert ld.get(css, headers={"Accept-Encoding": "gzip",
                                "If-None-Match": cached.headers["ETag"]}).status_code == 304
    stale = ld.get("/static/css/site.css?v=000000000000")
    assert stale.headers["Cache-Control"] == "no-cache"
