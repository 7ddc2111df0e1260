"""The VoID description at ``/.well-known/void``.

The statistics are checked against build.json and against counts computed independently
from the ``poli-kg.nq`` download (pyoxigraph, in memory); every ``void:dataDump`` must answer
200 with the built bytes on a real server.
"""

from __future__ import annotations

from pathlib import Path

import pyoxigraph as ox
import pytest
import requests
from rdflib import Graph, Literal, URIRef
from rdflib.compare import isomorphic
from rdflib.namespace import DCTERMS, FOAF, RDF, VOID, XSD

from poli_kg.buildfolder import DOWNLOAD_FILES, read_build_info
from poli_kg.namespaces import BASE, GRAPH, ID, NAMED_GRAPHS, PKG, QB
from poli_kg.web.base import dataset_statistics
from poli_kg.web.base.dataset import DATASET
from tests.support.rapper import rapper_count

CC_BY = URIRef("https://creativecommons.org/licenses/by/4.0/")
RDF_DUMPS = sorted(n for n in [*DOWNLOAD_FILES, *(f + ".gz" for f in DOWNLOAD_FILES)]
                   if not n.startswith("validation-report"))


@pytest.fixture(scope="module")
def void_app(build_dir):
    from poli_kg.web import create_app

    app = create_app({"TESTING": True, "BUILD_DIR": str(build_dir), "QUERY_TIMEOUT": 10})
    yield app
    app.extensions["poli_kg.store"].close()


@pytest.fixture(scope="module")
def void_client(void_app):
    return void_app.test_client()


@pytest.fixture(scope="module")
def void(void_client) -> Graph:
    response = void_client.get("/.well-known/void")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/turtle; charset=utf-8"
    return Graph().parse(data=response.data, format="turtle")


@pytest.fixture(scope="module")
def info(build_dir) -> dict:
    data = read_build_info(build_dir)
    assert data is not None
    return data


@pytest.fixture(scope="module")
def nquads(build_dir) -> ox.Store:
    """The complete dataset read from the N-Quads download, independently of the service."""
    store = ox.Store()
    store.load(path=str(build_dir / "poli-kg.nq"), format=ox.RdfFormat.N_QUADS)
    return store


def count(store: ox.Store, query: str) -> int:
    rows = list(store.query(query, use_default_graph_as_union=True))
    return int(rows[0][0].value)


def number(graph: Graph, subject, predicate) -> int:
    value = graph.value(subject, predicate)
    assert isinstance(value, Literal) and value.datatype == XSD.integer, (subject, predicate, value)
    return int(value)


def partitions(graph: Graph, kind: URIRef, key: URIRef, measure: URIRef) -> dict[str, int]:
    return {str(graph.value(p, key)): number(graph, p, measure)
            for p in graph.objects(DATASET, kind)}


# ------------------------------------------------------------------ statistics

def test_counts_equal_the_builds(void, info):
    assert number(void, DATASET, VOID.triples) == info["triples"]["total"]
    for kind in ("ontology", "data", "provenance", "inferred"):
        graph = GRAPH[kind]
        assert (DATASET, VOID.subset, graph) in void
        assert (graph, RDF.type, VOID.Dataset) in void
        assert number(void, graph, VOID.triples) == info["triples"][kind], kind
    assert set(void.objects(DATASET, VOID.subset)) == set(NAMED_GRAPHS)
    assert sum(number(void, g, VOID.triples) for g in NAMED_GRAPHS) == info["triples"]["total"]


def test_partitions_sum_and_match_the_counts(void):
    properties = partitions(void, VOID.propertyPartition, VOID.property, VOID.triples)
    classes = partitions(void, VOID.classPartition, VOID["class"], VOID.entities)
    assert sum(properties.values()) == number(void, DATASET, VOID.triples)
    assert len(properties) == number(void, DATASET, VOID.properties)
    assert len(classes) == number(void, DATASET, VOID.classes)
    assert all(n > 0 for n in (*properties.values(), *classes.values()))


def test_statistics_agree_with_the_nquads_download(void, nquads):
    assert number(void, DATASET, VOID.triples) == count(nquads, "SELECT (COUNT(*) AS ?n) { ?s ?p ?o }")
    assert number(void, DATASET, VOID.distinctSubjects) == count(
        nquads, "SELECT (COUNT(DISTINCT ?s) AS ?n) { ?s ?p ?o }")
    assert number(void, DATASET, VOID.distinctObjects) == count(
        nquads, "SELECT (COUNT(DISTINCT ?o) AS ?n) { ?s ?p ?o }")
    assert number(void, DATASET, VOID.entities) == count(
        nquads, f'SELECT (COUNT(DISTINCT ?s) AS ?n) {{ ?s ?p ?o FILTER(isIRI(?s) && STRSTARTS(STR(?s), "{BASE}")) }}')
    properties = {str(r["p"].value): int(r["n"].value) for r in nquads.query(
        "SELECT ?p (COUNT(*) AS ?n) { ?s ?p ?o } GROUP BY ?p", use_default_graph_as_union=True)}
    assert partitions(void, VOID.propertyPartition, VOID.property, VOID.triples) == properties
    classes = {str(r["c"].value): int(r["n"].value) for r in nquads.query(
        "SELECT ?c (COUNT(DISTINCT ?s) AS ?n) { ?s a ?c } GROUP BY ?c", use_default_graph_as_union=True)}
    assert partitions(void, VOID.classPartition, VOID["class"], VOID.entities) == classes


def namespace(iri: str) -> str:
    cut = iri.rfind("#") if "#" in iri else iri.rfind("/")
    return iri[: cut + 1]


def test_every_external_vocabulary_is_listed(void, nquads):
    terms = {r["t"].value for r in nquads.query(
        "SELECT DISTINCT ?t { { ?s ?t ?o } UNION { ?s a ?t } FILTER(isIRI(?t)) }",
        use_default_graph_as_union=True)}
    external = {namespace(t) for t in terms if not t.startswith(BASE)}
    listed = {str(v) for v in void.objects(DATASET, VOID.vocabulary)}
    assert listed == external
    assert {"http://purl.org/dc/terms/", "http://purl.org/linked-data/cube#",
            "http://www.w3.org/ns/prov#", "http://www.w3.org/ns/org#"} <= listed


def test_examples_and_root_are_typed_in_the_data(void, nquads):
    def types(iri: URIRef) -> set[str]:
        return {r["t"].value for r in nquads.query(
            f"SELECT ?t {{ <{iri}> a ?t }}", use_default_graph_as_union=True)}

    examples = list(void.objects(DATASET, VOID.exampleResource))
    assert any(str(PKG.PoloDiInnovazione) in types(e) for e in examples)
    assert any(str(QB.Observation) in types(e) for e in examples)
    roots = list(void.objects(DATASET, VOID.rootResource))
    assert roots and all(str(PKG.SistemaRegionalePoli) in types(r) for r in roots)


# ------------------------------------------------------------------ metadata

def test_dataset_metadata(void):
    assert (DATASET, RDF.type, VOID.Dataset) in void
    for prop in (DCTERMS.title, DCTERMS.description):
        assert {t.language for t in void.objects(DATASET, prop)} == {"it", "en"}
    assert void.value(DATASET, DCTERMS.license) == CC_BY
    assert void.value(DATASET, DCTERMS.publisher) == ID["organizzazione/poli-kg"]
    assert void.value(DATASET, DCTERMS.source) == ID["fonte/poli-di-innovazione-piemonte-2017"]
    assert void.value(DATASET, VOID.uriSpace) == Literal(BASE)
    assert void.value(DATASET, VOID.sparqlEndpoint) == URIRef("http://localhost/sparql")
    assert void.value(DATASET, FOAF.homepage) == URIRef("http://localhost/")
    document = URIRef("http://localhost/.well-known/void")
    assert (document, RDF.type, VOID.DatasetDescription) in void
    assert void.value(document, FOAF.primaryTopic) == DATASET


def test_a_data_dump_per_rdf_download(void):
    dumps = sorted(str(u) for u in void.objects(DATASET, VOID.dataDump))
    assert dumps == [f"http://localhost/downloads/{name}" for name in RDF_DUMPS]
    inferred = {str(u) for u in void.objects(GRAPH.inferred, VOID.dataDump)}
    assert inferred == {"http://localhost/downloads/poli-kg-inferred.ttl",
                        "http://localhost/downloads/poli-kg-inferred.ttl.gz"}
    features = {str(f).rsplit("/", 1)[-1] for f in void.objects(DATASET, VOID.feature)}
    assert features == {"Turtle", "N-Triples", "JSON-LD", "RDF_XML", "TriG", "N-Quads"}


def test_the_tables_and_the_assets_are_not_data_dumps(void, build_dir):
    """A ``void:dataDump`` is an RDF dump of the dataset: the CSVW tables are not RDF, and the
    NDC asset files add the description of their own distributions, so VoID lists neither;
    the catalogue, which VoID points to, lists both."""
    assert any((build_dir / "csvw").iterdir()) and any((build_dir / "assets").iterdir())
    dumps = {str(u) for u in void.objects(None, VOID.dataDump)}
    assert dumps and not any("/csvw/" in u or "/assets/" in u or u.endswith(".csv") for u in dumps)
    assert not any(str(t).startswith(BASE + "dataset/distribution/")
                   for triple in void for t in triple)
    assert (DATASET, URIRef("http://www.w3.org/2000/01/rdf-schema#seeAlso"),
            URIRef("http://localhost/catalog")) in void


def test_public_url_config(build_dir):
    from poli_kg.web import create_app

    app = create_app({"TESTING": True, "BUILD_DIR": str(build_dir),
                      "PUBLIC_URL": "https://data.example.org/"})
    try:
        graph = Graph().parse(data=app.test_client().get("/.well-known/void").data, format="turtle")
    finally:
        app.extensions["poli_kg.store"].close()
    assert graph.value(DATASET, VOID.sparqlEndpoint) == URIRef("https://data.example.org/sparql")
    assert all(str(u).startswith("https://data.example.org/downloads/")
               for u in graph.objects(DATASET, VOID.dataDump))


def test_statistics_are_computed_once_per_process(build_dir, monkeypatch):
    from poli_kg.web import create_app

    calls = []
    original = dataset_statistics.compute_statistics

    def counting(store):
        calls.append(store)
        return original(store)

    monkeypatch.setattr(dataset_statistics, "compute_statistics", counting)
    app = create_app({"TESTING": True, "BUILD_DIR": str(build_dir)})
    try:
        client = app.test_client()
        for path in ("/.well-known/void", "/catalog", "/.well-known/void?format=nt"):
            assert client.get(path).status_code == 200
    finally:
        app.extensions["poli_kg.store"].close()
    assert len(calls) == 1


# ------------------------------------------------------------------ HTTP and formats

@pytest.mark.parametrize("accept, fmt", [("application/ld+json", "json-ld"),
                                         ("application/n-triples", "nt"),
                                         ("application/rdf+xml", "xml"),
                                         ("text/turtle;q=0.9, */*;q=0.1", "turtle")])
def test_content_negotiation(void_client, void, accept, fmt):
    response = void_client.get("/.well-known/void", headers={"Accept": accept})
    assert response.status_code == 200
    assert "Accept" in response.vary
    assert isomorphic(Graph().parse(data=response.data, format=fmt), void)


def test_json_ld_is_read_by_oxigraph(void_client, void):
    data = void_client.get("/.well-known/void?format=jsonld").data
    assert len(list(ox.parse(data, format=ox.RdfFormat.JSON_LD))) == len(void)


def test_html_and_errors(void_client):
    page = void_client.get("/.well-known/void", headers={"Accept": "text/html"})
    assert page.mimetype == "text/html" and "void:Dataset" in page.get_data(as_text=True)
    assert void_client.get("/.well-known/void?format=csv").status_code == 400
    assert void_client.get("/.well-known/void", headers={"Accept": "text/csv"}).status_code == 406
    first = void_client.get("/.well-known/void")
    assert void_client.get("/.well-known/void",
                           headers={"If-None-Match": first.headers["ETag"]}).status_code == 304


@pytest.mark.rapper
@pytest.mark.parametrize("fmt, syntax", [("turtle", "turtle"), ("nt", "ntriples"),
                                         ("rdfxml", "rdfxml")])
def test_rapper_reads_the_void(void_client, void, tmp_path, fmt, syntax):
    path = tmp_path / f"void.{fmt}"
    path.write_bytes(void_client.get(f"/.well-known/void?format={fmt}").data)
    assert rapper_count(path, syntax) == len(void)


def test_every_data_dump_answers_on_a_real_server(live_server, build_dir):
    response = requests.get(f"{live_server}/.well-known/void", timeout=30)
    assert response.status_code == 200
    graph = Graph().parse(data=response.content, format="turtle")
    dumps = {str(u) for u in graph.objects(None, VOID.dataDump)}
    assert len(dumps) == len(RDF_DUMPS)
    for url in sorted(dumps):
        assert url.startswith(f"{live_server}/downloads/")
        head = requests.head(url, timeout=30, headers={"Accept-Encoding": "identity"})
        assert head.status_code == 200, url
        got = requests.get(url, timeout=30, headers={"Accept-Encoding": "identity"})
        assert got.status_code == 200, url
        assert got.content == (build_dir / Path(url).name).read_bytes()
    endpoint = str(graph.value(DATASET, VOID.sparqlEndpoint))
    assert endpoint == f"{live_server}/sparql"
    answer = requests.get(endpoint, params={"query": "SELECT (COUNT(*) AS ?n) { ?s ?p ?o }"},
                          headers={"Accept": "application/sparql-results+json"}, timeout=30)
    assert answer.status_code == 200
    total = int(answer.json()["results"]["bindings"][0]["n"]["value"])
    assert total == int(graph.value(DATASET, VOID.triples))
