"""Releases through the production server on 127.0.0.1, read the way a harvester reads them.

Two releases of the fixture project are frozen beside its build (``releases/`` next to
``public/``, the default folder); ``python -m poli_kg.web.server`` serves that build.  The
test reads the DCAT 3 list at ``/releases/``, follows every distribution's download URL and
checks the size and the SHA-256 it announces, loads each RDF download, and checks the
caching headers, conditional requests and the 404 answers on the wire.
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
from urllib.parse import urlsplit

import pytest
import requests
from rdflib import Dataset, Graph, Literal, Namespace, URIRef

from poli_kg.namespaces import SPDX
from tests.conftest import ServerProcess
from tests.support.releases import History, make_history

DCAT = Namespace("http://www.w3.org/ns/dcat#")
RDFLIB_FORMATS = {"text/turtle": "turtle", "application/n-triples": "nt",
                  "application/ld+json": "json-ld", "application/rdf+xml": "xml",
                  "application/trig": "trig", "application/n-quads": "nquads"}


@pytest.fixture(scope="module")
def history(tmp_path_factory) -> History:
    return make_history(tmp_path_factory.mktemp("live-releases"))


@pytest.fixture(scope="module")
def server(history, tmp_path_factory):
    process = ServerProcess(history.out, tmp_path_factory.mktemp("live-releases-server"),
                            "--workers", "2")
    yield process
    process.stop()


def raw_get(url: str, path: str) -> int:
    """The status of GET ``path`` sent as it is (no client-side normalisation of dots)."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        connection.request("GET", path)
        return connection.getresponse().status
    finally:
        connection.close()


def test_a_harvester_reads_the_releases(server, history):
    response = requests.get(server.url + "/releases/", headers={"Accept": "text/turtle"},
                            timeout=30)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/turtle; charset=utf-8"
    catalogue = Graph().parse(data=response.text, format="turtle")
    versions = {str(v): r for r, v in catalogue.subject_objects(DCAT.version)}
    assert set(versions) == {"1.0.0", "1.1.0"}
    assert catalogue.value(versions["1.1.0"], DCAT.previousVersion) == versions["1.0.0"]
    checked = 0
    for release in versions.values():
        page = catalogue.value(release, DCAT.landingPage)
        assert str(page).startswith(server.url + "/releases/")
        assert requests.get(str(page), timeout=30).status_code == 200
        for dist in catalogue.objects(release, DCAT.distribution):
            url = str(catalogue.value(dist, DCAT.downloadURL))
            assert url.startswith(server.url + "/releases/")
            got = requests.get(url, timeout=60)
            assert got.status_code == 200, url
            media = str(catalogue.value(dist, DCAT.mediaType)).rsplit("media-types/", 1)[1]
            assert got.headers["Content-Type"].split(";")[0] == media
            assert int(catalogue.value(dist, DCAT.byteSize)) == len(got.content)
            checksum = catalogue.value(dist, SPDX.checksum)
            assert catalogue.value(checksum, SPDX.checksumValue) == Literal(
                hashlib.sha256(got.content).hexdigest(), datatype=URIRef(
                    "http://www.w3.org/2001/XMLSchema#hexBinary"))
            loaded = Dataset().parse(data=got.content, format=RDFLIB_FORMATS[media])
            assert len(loaded) > 0, url
            checked += 1
    assert checked == 14


def test_files_are_immutable_on_the_wire(server, history):
    url = server.url + "/releases/1.0.0/poli-kg.ttl.gz"
    first = requests.get(url, timeout=30)
    assert first.status_code == 200
    assert first.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert first.headers["Content-Type"] == "application/gzip"
    assert gzip.decompress(first.content) == (history.releases / "1.0.0" / "poli-kg.ttl").read_bytes()
    etag = first.headers["ETag"]
    assert etag == f'"{hashlib.sha256(first.content).hexdigest()}"'
    again = requests.get(url, headers={"If-None-Match": etag}, timeout=30)
    assert again.status_code == 304 and again.content == b""
    assert again.headers["ETag"] == etag
    notes = requests.get(server.url + "/releases/1.1.0/CHANGES.md", timeout=30)
    assert notes.headers["Content-Type"] == "text/markdown; charset=utf-8"
    assert notes.text.startswith("# poli-kg 1.1.0\n")


def test_the_release_page_and_the_list_on_the_wire(server):
    page = requests.get(server.url + "/releases/1.1.0/?lang=en", timeout=30)
    assert page.status_code == 200 and "Polo MESAP" in page.text
    listing = requests.get(server.url + "/releases/", timeout=30)
    assert listing.headers["Content-Type"] == "text/html; charset=utf-8"
    assert "1.1.0" in listing.text and "1.0.0" in listing.text


@pytest.mark.parametrize("path", [
    "/releases/1.1.0/../1.0.0/poli-kg.ttl", "/releases/1.1.0/%2e%2e/1.0.0/poli-kg.ttl",
    "/releases/..%2f..%2fetc/passwd", "/releases/1.1.0/%2Fetc%2Fpasswd",
    "/releases/9.9.9/poli-kg.ttl", "/releases/1.1.0/store", "/releases/1.1.0/nope",
    "/releases/1.1.0//poli-kg.ttl",
])
def test_odd_names_are_404_on_the_wire(server, path):
    assert raw_get(server.url, path) == 404, path
