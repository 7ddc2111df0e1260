"""``/releases/``: the list (HTML and RDF), a release's page, its immutable files, 404s."""

import hashlib
import json
import shutil
from contextlib import contextmanager
from pathlib import Path

import pytest
from rdflib import Graph, Literal, Namespace, URIRef

from poli_kg.namespaces import ADMS, SPDX
from poli_kg.web import create_app
from tests.support.releases import History, make_history

DATASET = URIRef("https://w3id.org/poli-kg/dataset")
R100 = URIRef("https://w3id.org/poli-kg/releases/1.0.0")
R110 = URIRef("https://w3id.org/poli-kg/releases/1.1.0")
# open namespaces (rdflib's closed DCAT has no DCAT 3 terms, and warns when pytest inspects it)
DCAT = Namespace("http://www.w3.org/ns/dcat#")
DCTERMS = Namespace("http://purl.org/dc/terms/")
XSD_DATETIME = URIRef("http://www.w3.org/2001/XMLSchema#dateTime")


@pytest.fixture(scope="module")
def history(tmp_path_factory) -> History:
    return make_history(tmp_path_factory.mktemp("web-releases"))


@pytest.fixture(scope="module")
def client(history):
    """The application over the fixture build; its releases beside it (the default folder)."""
    app = create_app({"TESTING": True, "BUILD_DIR": str(history.out), "QUERY_TIMEOUT": 10})
    yield app.test_client()
    app.extensions["poli_kg.store"].close()


def turtle(response) -> Graph:
    return Graph().parse(data=response.get_data(as_text=True), format="turtle")


# --------------------------------------------------------------------------- the list

def test_list_html(client):
    response = client.get("/releases/", headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert response.content_type == "text/html; charset=utf-8"
    assert response.headers["Content-Language"] == "it"
    assert {"Accept", "Accept-Language"} <= set(response.vary)
    html = response.get_data(as_text=True)
    assert html.index('href="/releases/1.1.0/"') < html.index('href="/releases/1.0.0/"')  # newest first
    assert "Modifiche rispetto alla 1.0.0" in html
    assert "https://w3id.org/poli-kg/ontology/1.1.0" in html
    english = client.get("/releases/?lang=en").get_data(as_text=True)
    assert "Releases" in english and "Changes since 1.0.0" in english
    assert "The first release. First release:" in english


def test_list_turtle(client):
    response = client.get("/releases/", headers={"Accept": "text/turtle"})
    assert response.status_code == 200
    assert response.content_type == "text/turtle; charset=utf-8"
    assert "Accept" in response.vary
    graph = turtle(response)
    assert set(graph.objects(DATASET, DCAT.hasVersion)) == {R100, R110}
    assert graph.value(R110, DCAT.version) == Literal("1.1.0")
    assert graph.value(R110, DCAT.isVersionOf) == DATASET
    assert graph.value(R110, DCAT.previousVersion) == R100
    assert graph.value(R100, DCAT.previousVersion) is None
    assert graph.value(R110, DCTERMS.issued).datatype == XSD_DATETIME
    assert graph.value(R110, DCTERMS.conformsTo) == URIRef("https://w3id.org/poli-kg/ontology/1.1.0")
    notes = {n.language: str(n) for n in graph.objects(R110, ADMS.versionNotes)}
    assert notes["en"].startswith("Changes since 1.0.0") and notes["it"].startswith("Modifiche")
    assert graph.value(R110, DCAT.landingPage) == URIRef("http://localhost/releases/1.1.0/")


def test_list_distributions_match_the_files(client, history):
    graph = turtle(client.get("/releases/?format=ttl"))
    dists = list(graph.objects(R110, DCAT.distribution))
    assert len(dists) == 7    # the RDF dumps and the inferred triples
    for dist in dists:
        url = str(graph.value(dist, DCAT.downloadURL))
        name = url.rsplit("/", 1)[1]
        data = (history.releases / "1.1.0" / name).read_bytes()
        assert int(graph.value(dist, DCAT.byteSize)) == len(data)
        checksum = graph.value(dist, SPDX.checksum)
        assert str(graph.value(checksum, SPDX.checksumValue)) == hashlib.sha256(data).hexdigest()
        assert client.get(url.removeprefix("http://localhost")).data == data


@pytest.mark.parametrize("accept,ext,media", [
    ("application/ld+json", "jsonld", "application/ld+json"),
    ("application/n-triples", "nt", "application/n-triples; charset=utf-8"),
    ("application/rdf+xml", "rdf", "application/rdf+xml"),
])
def test_list_other_rdf_formats(client, accept, ext, media):
    negotiated = client.get("/releases/", headers={"Accept": accept})
    assert negotiated.status_code == 200 and negotiated.content_type == media
    assert client.get(f"/releases/?format={ext}").data == negotiated.data


def test_list_refuses_what_it_cannot_give(client):
    assert client.get("/releases/", headers={"Accept": "image/png"}).status_code == 406
    assert client.get("/releases/?format=png").status_code == 400
    assert client.get("/releases").status_code == 308


def test_list_is_conditional(client):
    first = client.get("/releases/")
    assert first.headers["Cache-Control"] == "public, max-age=300" and first.headers["ETag"]
    again = client.get("/releases/", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304


@contextmanager
def client_over(history: History, releases: Path):
    """A test client of an application reading its releases from ``releases``."""
    app = create_app({"TESTING": True, "BUILD_DIR": str(history.out), "RELEASES_DIR": str(releases)})
    try:
        yield app.test_client()
    finally:
        app.extensions["poli_kg.store"].close()


def test_no_release_yet(history, tmp_path):
    with client_over(history, tmp_path / "none") as client:
        assert "Nessuna versione" in client.get("/releases/").get_data(as_text=True)
        assert len(turtle(client.get("/releases/?format=ttl"))) == 0
        assert client.get("/releases/1.0.0/").status_code == 404


# --------------------------------------------------------------------------- a release

def test_release_page(client):
    response = client.get("/releases/1.1.0/?lang=en")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "poli-kg 1.1.0" in html and 'href="/releases/1.0.0/?lang=en"' in html
    assert "Polo MESAP" in html and "poli:polo/mesap" in html          # labelled changes
    assert "&#34;Agrifood S.c.r.l.&#34;" in html
    for name in ("CHANGES.md", "changes.rdfp", "added.nq", "removed.nq", "poli-kg.ttl",
                 "assets/ontologies/ontology/v1.1.0/ontology.ttl"):
        assert f'href="{name}' in html, name


def test_release_page_rdf(client):
    graph = turtle(client.get("/releases/1.0.0/", headers={"Accept": "text/turtle"}))
    assert graph.value(R100, DCAT.version) == Literal("1.0.0")
    assert (R110, None, None) not in graph


# --------------------------------------------------------------------------- the files

def test_files_are_immutable(client, history):
    response = client.get("/releases/1.1.0/poli-kg.ttl")
    assert response.status_code == 200
    data = (history.releases / "1.1.0" / "poli-kg.ttl").read_bytes()
    assert response.data == data
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert response.headers["ETag"] == f'"{hashlib.sha256(data).hexdigest()}"'
    assert response.content_type == "text/turtle; charset=utf-8"
    assert response.headers["Last-Modified"]
    head = client.head("/releases/1.1.0/poli-kg.ttl")
    assert head.status_code == 200 and head.headers["Content-Length"] == str(len(data))


def test_conditional_get_answers_304(client):
    first = client.get("/releases/1.0.0/poli-kg.nq")
    again = client.get("/releases/1.0.0/poli-kg.nq", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""
    assert again.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    since = client.get("/releases/1.0.0/poli-kg.nq",
                       headers={"If-Modified-Since": first.headers["Last-Modified"]})
    assert since.status_code == 304
    ranged = client.get("/releases/1.0.0/poli-kg.nq", headers={"Range": "bytes=0-9"})
    assert ranged.status_code == 206 and ranged.data == first.data[:10]


@pytest.mark.parametrize("name,media", [
    ("release.json", "application/json"), ("CHANGES.md", "text/markdown; charset=utf-8"),
    ("changes.rdfp", "application/rdf-patch; charset=utf-8"), ("SHA256SUMS", "text/plain; charset=utf-8"),
    ("poli-kg.ttl.gz", "application/gzip"), ("added.nq", "application/n-quads; charset=utf-8"),
    ("assets/ontologies/ontology/latest/ontology.ttl", "text/turtle; charset=utf-8"),
])
def test_every_kind_of_file(client, history, name, media):
    response = client.get(f"/releases/1.1.0/{name}")
    assert response.status_code == 200, name
    assert response.content_type == media
    assert response.data == (history.releases / "1.1.0" / name).read_bytes()
    if name == "release.json":
        assert json.loads(response.data)["version"] == "1.1.0"


@pytest.mark.parametrize("path", [
    "/releases/9.9.9/", "/releases/9.9.9/poli-kg.ttl", "/releases/1.1/poli-kg.ttl",
    "/releases/x/", "/releases/1.1.0/nope.ttl", "/releases/1.1.0/store",
    "/releases/1.1.0/../1.0.0/poli-kg.ttl", "/releases/1.1.0/%2e%2e/1.0.0/poli-kg.ttl",
    "/releases/1.1.0/..%2f1.0.0%2fpoli-kg.ttl", "/releases/1.1.0//poli-kg.ttl",
    "/releases/1.1.0/%2Fetc%2Fpasswd", "/releases/..%2f..%2f/x", "/releases/1.1.0/assets",
    "/releases/1.1.0/poli-kg.ttl%00", "/releases/.1.1.0-tmp-x/poli-kg.ttl",
    "/releases/1.1.0/CHANGES.md/", "/releases/1.1.0/./poli-kg.ttl",
])
def test_odd_names_are_404(client, path):
    assert client.get(path).status_code == 404, path


def test_a_tampered_file_is_not_served(history, tmp_path):
    """A file whose bytes no longer match the manifest (same size) answers 404."""
    releases = tmp_path / "releases"
    shutil.copytree(history.releases / "1.0.0", releases / "1.0.0")
    target = releases / "1.0.0" / "poli-kg.nt"
    target.chmod(0o644)
    data = bytearray(target.read_bytes())
    data[0:1] = b"#"
    target.write_bytes(bytes(data))
    with client_over(history, releases) as client:
        assert client.get("/releases/1.0.0/poli-kg.nt").status_code == 404
        assert client.get("/releases/1.0.0/poli-kg.ttl").status_code == 200
