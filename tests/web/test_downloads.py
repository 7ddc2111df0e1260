"""The downloads: the build's files parsed by independent parsers, and ``/downloads/`` over HTTP.

Parsers: Debian's ``rapper`` (raptor2, C; tests marked ``rapper``), rdflib and pyoxigraph.
HTTP: Flask's test client (``client`` fixture) and a real gunicorn server (``live_server``).
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import json
import os
import re
import shutil
from datetime import datetime, timezone
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path
from urllib.parse import urlsplit

import pyoxigraph as ox
import pytest
import requests
from rdflib import BNode, Dataset, Graph, Literal
from rdflib.compare import isomorphic

from poli_kg.graph.pipeline import DOWNLOAD_FILES, read_build_info
from tests.support.rapper import rapper_count

# Files of the build: name -> (rapper syntax, rdflib format, what build.json counts them as).
RDF_FILES = {
    "poli-kg.ttl": ("turtle", "turtle", "asserted"),
    "poli-kg.nt": ("ntriples", "nt", "asserted"),
    "poli-kg.rdf": ("rdfxml", "xml", "asserted"),
    "poli-kg.jsonld": (None, "json-ld", "asserted"),   # raptor2 has no JSON-LD parser
    "poli-kg.trig": ("trig", "trig", "total"),
    "poli-kg.nq": ("nquads", "nquads", "total"),
    "poli-kg-inferred.ttl": ("turtle", "turtle", "inferred"),
    "validation-report.ttl": ("turtle", "turtle", None),
}
MEDIA_TYPES = {
    ".ttl": "text/turtle; charset=utf-8",
    ".nt": "application/n-triples; charset=utf-8",
    ".jsonld": "application/ld+json",
    ".rdf": "application/rdf+xml; charset=utf-8",
    ".trig": "application/trig; charset=utf-8",
    ".nq": "application/n-quads; charset=utf-8",
    ".gz": "application/gzip",
}
ALL_FILES = sorted([*DOWNLOAD_FILES, *(f + ".gz" for f in DOWNLOAD_FILES)])


def rdflib_count(path: Path, fmt: str) -> int:
    """Triples (or quads, for dataset syntaxes) rdflib reads from ``path``."""
    if fmt in ("trig", "nquads"):
        dataset = Dataset()
        dataset.parse(path, format=fmt)
        return sum(1 for _ in dataset.quads((None, None, None, None)))
    return len(Graph().parse(path, format=fmt))


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture(scope="module")
def sums(build_dir: Path) -> dict[str, str]:
    """SHA256SUMS of the build: name -> digest."""
    lines = (build_dir / "SHA256SUMS").read_text(encoding="utf-8").splitlines()
    return {name: digest for digest, name in (line.split("  ", 1) for line in lines)}


@pytest.fixture(scope="module")
def info(build_dir: Path) -> dict:
    """build.json of the build."""
    data = read_build_info(build_dir)
    assert data is not None
    return data


# ------------------------------------------------------------------ the files themselves

def test_sha256sums_lists_exactly_the_downloads_and_matches(build_dir, sums, info):
    assert sorted(sums) == ALL_FILES
    for name, digest in sums.items():
        data = (build_dir / name).read_bytes()
        assert sha256(data) == digest, name
        assert info["files"][name] == {"bytes": len(data), "sha256": digest}


@pytest.mark.parametrize("name", DOWNLOAD_FILES)
def test_gzip_copy_decompresses_to_identical_bytes(build_dir, name):
    assert gzip.decompress((build_dir / f"{name}.gz").read_bytes()) == (build_dir / name).read_bytes()


@pytest.mark.rapper
@pytest.mark.parametrize("name", [n for n, (syntax, _f, _c) in RDF_FILES.items() if syntax])
def test_rapper_parses_every_download_with_rdflibs_count(build_dir, info, name):
    syntax, fmt, counted = RDF_FILES[name]
    count = rapper_count(build_dir / name, syntax)
    assert count == rdflib_count(build_dir / name, fmt)
    if counted:
        assert count == info["triples"][counted]


@pytest.mark.rapper
@pytest.mark.parametrize("name", [n for n, (syntax, _f, _c) in RDF_FILES.items() if syntax])
def test_rapper_parses_the_decompressed_gzip_copy(build_dir, tmp_path, name):
    syntax, _fmt, _counted = RDF_FILES[name]
    plain = tmp_path / name
    plain.write_bytes(gzip.decompress((build_dir / f"{name}.gz").read_bytes()))
    assert rapper_count(plain, syntax) == rapper_count(build_dir / name, syntax)


@pytest.mark.parametrize("name", list(RDF_FILES))
def test_rdflib_and_oxigraph_agree_on_every_download(build_dir, info, name):
    _syntax, fmt, counted = RDF_FILES[name]
    ox_format = {"turtle": ox.RdfFormat.TURTLE, "nt": ox.RdfFormat.N_TRIPLES,
                 "xml": ox.RdfFormat.RDF_XML, "json-ld": ox.RdfFormat.JSON_LD,
                 "trig": ox.RdfFormat.TRIG, "nquads": ox.RdfFormat.N_QUADS}[fmt]
    quads = list(ox.parse(path=str(build_dir / name), format=ox_format))
    assert len(quads) == rdflib_count(build_dir / name, fmt)
    if counted:
        assert len(quads) == info["triples"][counted]


@pytest.mark.parametrize("name", ["poli-kg.ttl", "poli-kg.rdf", "poli-kg.jsonld"])
def test_every_graph_syntax_holds_the_same_graph_as_ntriples(build_dir, name):
    reference = Graph().parse(build_dir / "poli-kg.nt", format="nt")
    assert isomorphic(Graph().parse(build_dir / name, format=RDF_FILES[name][1]), reference)


def test_turtle_and_ntriples_hold_equal_values(build_dir):
    """Up to the lexical form of literals (see DECIMAL_DEFECT), Turtle and N-Triples agree."""
    def values(name: str) -> set[tuple]:
        graph = Graph().parse(build_dir / name, format=RDF_FILES[name][1])
        return {(s, p, o.toPython() if isinstance(o, Literal) and o.datatype else o)
                for s, p, o in graph if not isinstance(s, BNode) and not isinstance(o, BNode)}

    assert values("poli-kg.ttl") == values("poli-kg.nt")


def test_trig_and_nquads_hold_the_same_quads(build_dir):
    def quads(name: str, fmt: ox.RdfFormat) -> set[str]:
        return {str(q) for q in ox.parse(path=str(build_dir / name), format=fmt)
                if not isinstance(q.subject, ox.BlankNode) and not isinstance(q.object, ox.BlankNode)}

    assert quads("poli-kg.trig", ox.RdfFormat.TRIG) == quads("poli-kg.nq", ox.RdfFormat.N_QUADS)


# ------------------------------------------------------------------ the index

def test_index_json_lists_every_download(client, build_dir, sums, info):
    response = client.get("/downloads/", headers={"Accept": "application/json"})
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    doc = response.get_json()
    assert [f["name"] for f in doc["files"]] == sorted(sums)
    for entry in doc["files"]:
        assert entry["sha256"] == sums[entry["name"]]
        assert entry["bytes"] == (build_dir / entry["name"]).stat().st_size
        assert entry["url"] == f"http://localhost/downloads/{entry['name']}"
        suffix = Path(entry["name"]).suffix
        assert entry["content_type"] == MEDIA_TYPES[suffix]
    assert doc["built_at"] == info["built_at"]
    assert doc["catalog"] == "http://localhost/catalog"
    assert doc["void"] == "http://localhost/.well-known/void"


def test_index_html_links_every_download_and_the_metadata(client, sums):
    response = client.get("/downloads/", headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    for name, digest in sums.items():
        assert f'href="http://localhost/downloads/{name}"' in page
        assert digest in page
    assert 'href="http://localhost/catalog"' in page
    assert 'href="http://localhost/.well-known/void"' in page
    english = client.get("/downloads/?lang=en").get_data(as_text=True)
    assert "Download the graph" in english and '<html lang="en">' in english


def test_index_html_is_grouped_the_way_people_choose(client, sums):
    """The whole graph in Turtle first, then each graph in each format, then the tables and
    the assets; in the site's shell, with captions and headers for screen readers."""
    response = client.get("/downloads/", headers={"Accept": "text/html"})
    page = response.get_data(as_text=True)
    assert 'class="site-header"' in page and "css/catalog.css" in page
    order = ['id="whole"', 'id="by-graph"', 'id="graph-complete"', 'id="graph-asserted"',
             'id="graph-inferred"', 'id="tables"', 'id="assets"', 'id="metadata"']
    positions = [page.index(marker) for marker in order]
    assert positions == sorted(positions)
    whole = page[positions[0]:positions[1]]
    assert 'href="http://localhost/downloads/poli-kg.ttl"' in whole
    assert 'href="http://localhost/downloads/poli-kg.ttl.gz"' in whole
    assert sums["poli-kg.ttl"] in whole and "poli-kg.nq" not in whole
    complete = page[positions[2]:positions[3]]
    assert complete.index("poli-kg.trig") < complete.index("poli-kg.nq")   # by format
    assert complete.index('poli-kg.nq"') < complete.index('poli-kg.nq.gz"')
    assert page.count("<caption>") >= 6 and page.count("<h1") == 1
    assert 'href="/releases/"' in page
    assert response.headers["Content-Language"] == "it"
    assert "Accept-Language" in response.vary


def test_index_html_follows_accept_language(client):
    response = client.get("/downloads/", headers={"Accept": "text/html", "Accept-Language": "en"})
    page = response.get_data(as_text=True)
    assert response.headers["Content-Language"] == "en" and '<html lang="en">' in page
    assert "The whole graph in Turtle" in page and "By graph and by format" in page
    explicit = client.get("/downloads/?lang=it", headers={"Accept-Language": "en"})
    assert explicit.headers["Content-Language"] == "it"
    assert "Accept-Language" not in explicit.vary


def tree_files(build_dir: Path) -> dict[str, Path]:
    """The files of the build's trees for harvesters, by their name in the build folder."""
    return {p.relative_to(build_dir).as_posix(): p
            for name in ("csvw", "assets") for p in sorted((build_dir / name).rglob("*"))
            if p.is_file()}


def test_index_json_lists_the_tables_and_the_assets(client, build_dir):
    doc = client.get("/downloads/", headers={"Accept": "application/json"}).get_json()
    files = tree_files(build_dir)
    tables = [n for n in files if n.startswith("csvw/")]
    assets = [n for n in files if n.startswith("assets/")]
    assert [e["name"] for e in doc["tables"]] == sorted(tables) and len(tables) == 16
    assert [e["name"] for e in doc["assets"]] == sorted(assets) and len(assets) == 22
    for entry in doc["tables"] + doc["assets"]:
        path = files[entry["name"]]
        assert entry["bytes"] == path.stat().st_size
        assert entry["sha256"] == sha256(path.read_bytes())
        assert entry["compressed"] is False
        assert {"it", "en"} <= set(entry["title"]) and entry["description"]["en"]
        if entry["name"].startswith("assets/"):
            assert entry["url"] == f"http://localhost/{entry['name']}"
        else:
            assert entry["url"] == f"http://localhost/downloads/{entry['name']}"
    kinds = {(e["name"].rsplit(".", 1)[-1], e["media_type"], e["content"])
             for e in doc["tables"] + doc["assets"]}
    assert kinds == {("csv", "text/csv", "table"), ("json", "application/csvm+json", "table-metadata"),
                     ("ttl", "text/turtle", "vocabulary"), ("csv", "text/csv", "vocabulary-table"),
                     ("ttl", "text/turtle", "ontology")}
    aderenti = next(e for e in doc["tables"] if e["name"] == "csvw/aderenti.csv")
    assert aderenti["dataset"] == "https://w3id.org/poli-kg/id/dataset/aderenti"
    assert aderenti["title"]["en"] == "Cluster members by type (June 2017)"
    ontology = [e for e in doc["assets"] if e["content"] == "ontology"]
    assert {e["dataset"] for e in ontology} == {"https://w3id.org/poli-kg/ontology"}


def test_index_html_lists_the_tables_and_the_assets(client, build_dir):
    page = client.get("/downloads/", headers={"Accept": "text/html"}).get_data(as_text=True)
    for name, path in tree_files(build_dir).items():
        url = f"http://localhost/{name}" if name.startswith("assets/") else \
            f"http://localhost/downloads/{name}"
        assert f'href="{url}"' in page
        assert sha256(path.read_bytes()) in page
    assert "Tabelle statistiche (CSV on the Web)" in page and 'id="tables"' in page
    assert "Ontologia e vocabolari controllati" in page and 'id="assets"' in page
    assert "Aderenti ai Poli per tipologia (giugno 2017)" in page
    english = client.get("/downloads/?lang=en").get_data(as_text=True)
    assert "Statistical tables (CSV on the Web)" in english
    assert "Cluster members by type (June 2017)" in english


def test_index_formats_and_errors(client):
    assert client.get("/downloads/?format=json").mimetype == "application/json"
    assert client.get("/downloads/?format=yaml").status_code == 400
    assert client.get("/downloads/", headers={"Accept": "image/png"}).status_code == 406
    assert client.get("/downloads").status_code in (301, 308)
    response = client.get("/downloads/", headers={"Accept": "application/json"})
    again = client.get("/downloads/", headers={"Accept": "application/json",
                                               "If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304
    assert "Accept" in response.vary


def test_public_url_makes_the_links_absolute_for_that_host(build_dir):
    from poli_kg.web import create_app

    app = create_app({"TESTING": True, "BUILD_DIR": str(build_dir),
                      "PUBLIC_URL": "https://data.example.org/poli-kg/"})
    try:
        doc = app.test_client().get("/downloads/?format=json").get_json()
    finally:
        app.extensions["poli_kg.store"].close()
    assert doc["files"][0]["url"].startswith("https://data.example.org/poli-kg/downloads/")


# ------------------------------------------------------------------ the files over HTTP

def http_date(stamp: str) -> str:
    return format_datetime(datetime.fromisoformat(stamp).astimezone(timezone.utc), usegmt=True)


@pytest.mark.parametrize("name", ALL_FILES)
def test_download_is_the_built_file_with_its_headers(client, build_dir, sums, info, name):
    response = client.get(f"/downloads/{name}")
    assert response.status_code == 200
    assert response.data == (build_dir / name).read_bytes()
    assert response.headers["Content-Type"] == MEDIA_TYPES[Path(name).suffix]
    assert response.headers["Content-Disposition"] == f"attachment; filename={name}"
    assert response.headers["ETag"] == f'"{sums[name]}"'
    assert response.headers["Last-Modified"] == http_date(info["built_at"])
    assert response.headers["Content-Length"] == str(len(response.data))
    assert "public" in response.headers["Cache-Control"]
    assert "max-age=" in response.headers["Cache-Control"]
    assert "Content-Encoding" not in response.headers


def test_checksum_list_is_served_for_sha256sum(client, build_dir):
    response = client.get("/downloads/SHA256SUMS")
    assert response.status_code == 200
    assert response.data == (build_dir / "SHA256SUMS").read_bytes()
    assert response.mimetype == "text/plain"


@pytest.mark.parametrize("name", ["poli-kg.ttl", "poli-kg.nq.gz"])
def test_conditional_get_with_either_validator(client, name):
    first = client.get(f"/downloads/{name}")
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    assert client.get(f"/downloads/{name}", headers={"If-None-Match": etag}).status_code == 304
    assert client.get(f"/downloads/{name}", headers={"If-None-Match": f"W/{etag}"}).status_code == 304
    assert client.get(f"/downloads/{name}", headers={"If-Modified-Since": modified}).status_code == 304
    later = format_datetime(parsedate_to_datetime(modified).replace(year=2100), usegmt=True)
    assert client.get(f"/downloads/{name}", headers={"If-Modified-Since": later}).status_code == 304
    earlier = format_datetime(parsedate_to_datetime(modified).replace(year=2000), usegmt=True)
    assert client.get(f"/downloads/{name}", headers={"If-Modified-Since": earlier}).status_code == 200
    # If-None-Match wins over If-Modified-Since (RFC 9110 §13.2.2)
    stale = client.get(f"/downloads/{name}", headers={"If-None-Match": '"other"',
                                                      "If-Modified-Since": modified})
    assert stale.status_code == 200 and stale.data == first.data
    not_modified = client.get(f"/downloads/{name}", headers={"If-None-Match": etag})
    assert not_modified.data == b""
    assert not_modified.headers["ETag"] == etag


@pytest.mark.parametrize("name", ["poli-kg.ttl", "poli-kg.jsonld", "poli-kg.trig.gz"])
def test_head_has_the_headers_of_get_and_no_body(client, name):
    get = client.get(f"/downloads/{name}")
    head = client.head(f"/downloads/{name}")
    assert head.status_code == 200
    assert head.data == b""
    for header in ("Content-Type", "Content-Length", "Content-Disposition", "ETag",
                   "Last-Modified", "Cache-Control", "Accept-Ranges"):
        assert head.headers.get(header) == get.headers.get(header), header
    assert head.headers.get("Vary") == get.headers.get("Vary")


def test_range_request(client, build_dir):
    response = client.get("/downloads/poli-kg.nt", headers={"Range": "bytes=10-109"})
    assert response.status_code == 206
    assert response.data == (build_dir / "poli-kg.nt").read_bytes()[10:110]
    size = (build_dir / "poli-kg.nt").stat().st_size
    assert response.headers["Content-Range"] == f"bytes 10-109/{size}"


@pytest.mark.parametrize("name", DOWNLOAD_FILES)
def test_gzip_transfer_encoding_serves_the_precomputed_gzip(client, build_dir, sums, name):
    response = client.get(f"/downloads/{name}", headers={"Accept-Encoding": "gzip, deflate"})
    assert response.status_code == 200
    assert response.headers["Content-Encoding"] == "gzip"
    assert response.data == (build_dir / f"{name}.gz").read_bytes()
    assert gzip.decompress(response.data) == (build_dir / name).read_bytes()
    assert response.headers["Content-Type"] == MEDIA_TYPES[Path(name).suffix]
    assert response.headers["Content-Disposition"] == f"attachment; filename={name}"
    assert response.headers["ETag"] == f'"{sums[name + ".gz"]}"'
    assert "Accept-Encoding" in response.vary
    identity = client.get(f"/downloads/{name}")
    assert "Accept-Encoding" in identity.vary
    assert identity.headers["ETag"] != response.headers["ETag"]


@pytest.mark.parametrize("header", ["identity", "gzip;q=0", "br", "*;q=0"])
def test_no_gzip_unless_the_client_accepts_it(client, build_dir, header):
    response = client.get("/downloads/poli-kg.ttl", headers={"Accept-Encoding": header})
    assert "Content-Encoding" not in response.headers
    assert response.data == (build_dir / "poli-kg.ttl").read_bytes()


def test_gz_file_is_served_as_is(client, build_dir):
    response = client.get("/downloads/poli-kg.ttl.gz", headers={"Accept-Encoding": "gzip"})
    assert response.headers["Content-Type"] == "application/gzip"
    assert "Content-Encoding" not in response.headers
    assert response.data == (build_dir / "poli-kg.ttl.gz").read_bytes()


TRAVERSALS = [
    "../build.json",
    "%2e%2e%2fbuild.json",
    "%2E%2E/build.json",
    "..%2fbuild.json",
    "..%2f..%2fetc%2fpasswd",
    "../../../../etc/passwd",
    "/etc/passwd",
    "%2Fetc%2Fpasswd",
    "store/CURRENT",
    "store",
    "build.json",
    "./poli-kg.ttl",
    "poli-kg.ttl/../build.json",
    "poli-kg.ttl%00",
    "poli-kg.ttl%00.gz",
    "%00",
    "POLI-KG.TTL",
    "poli-kg.ttl.gz.gz",
    "poli-kg.ttl%2f",
    "..",
    "%2e%2e",
    "~",
]


@pytest.mark.parametrize("path", TRAVERSALS)
def test_only_listed_names_are_served(client, path):
    response = client.get(f"/downloads/{path}")
    assert response.status_code == 404, response.data[:200]
    assert b"root:" not in response.data and b"inputs_sha256" not in response.data


@pytest.mark.parametrize("path", ["../build.json", "%2e%2e%2fbuild.json", "..%2f..%2fetc%2fpasswd",
                                  "/etc/passwd", "store/CURRENT", "poli-kg.ttl%00"])
def test_traversal_over_real_http(live_server, path):
    """Raw requests (no client-side normalisation of ``..``) to a real server."""
    status, body = raw_get(live_server, f"/downloads/{path}")
    assert status in (400, 404), body[:200]
    assert b"root:" not in body and b"inputs_sha256" not in body


def raw_get(server: str, path: str) -> tuple[int, bytes]:
    """``GET path`` sent as it is (no normalisation of ``..`` nor of encodings): status, body."""
    parts = urlsplit(server)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def test_real_server_serves_the_downloads(live_server, build_dir, sums):
    for name in ("poli-kg.ttl", "poli-kg.nq.gz", "poli-kg.jsonld"):
        response = requests.get(f"{live_server}/downloads/{name}", timeout=30,
                                headers={"Accept-Encoding": "identity"})
        assert response.status_code == 200
        assert response.content == (build_dir / name).read_bytes()
        assert response.headers["ETag"] == f'"{sums[name]}"'
    # requests asks for gzip by default and decodes it transparently
    response = requests.get(f"{live_server}/downloads/poli-kg.nt", timeout=30)
    assert response.headers["Content-Encoding"] == "gzip"
    assert response.headers["Content-Length"] == str((build_dir / "poli-kg.nt.gz").stat().st_size)
    assert response.content == (build_dir / "poli-kg.nt").read_bytes()
    head = requests.head(f"{live_server}/downloads/poli-kg.nt", timeout=30,
                         headers={"Accept-Encoding": "identity"})
    assert head.status_code == 200 and head.content == b""
    assert head.headers["Content-Length"] == str((build_dir / "poli-kg.nt").stat().st_size)
    index = requests.get(f"{live_server}/downloads/", timeout=30,
                         headers={"Accept": "application/json"}).json()
    assert index["files"][0]["url"].startswith(f"{live_server}/downloads/")


# ------------------------------------------------------------------ the build snapshot

def copy_build(build_dir: Path, target: Path) -> Path:
    """A copy of the build's files (without the store) in ``target``."""
    target.mkdir(parents=True)
    for entry in build_dir.iterdir():
        if entry.is_file():
            shutil.copyfile(entry, target / entry.name)
    return target


def app_for(build: Path):
    from poli_kg.web import create_app

    return create_app({"TESTING": True, "BUILD_DIR": str(build)})


def test_a_symlink_or_a_tampered_file_is_not_served(build_dir, tmp_path):
    build = copy_build(build_dir, tmp_path / "build")
    (build / "poli-kg.nt").unlink()
    (build / "poli-kg.nt").symlink_to(build_dir / "poli-kg.nt")
    (build / "poli-kg.rdf").write_bytes(b"<rdf:RDF/>")
    app = app_for(build)
    try:
        client = app.test_client()
        assert client.get("/downloads/poli-kg.nt").status_code == 404
        assert client.get("/downloads/poli-kg.rdf").status_code == 404
        assert client.get("/downloads/poli-kg.ttl").status_code == 200
        names = [f["name"] for f in client.get("/downloads/?format=json").get_json()["files"]]
        assert "poli-kg.nt" not in names and "poli-kg.rdf" not in names
    finally:
        app.extensions["poli_kg.store"].close()


def test_a_file_altered_in_place_is_not_served(build_dir, tmp_path):
    """Same size, other bytes: listed (sizes are checked at start), refused when asked for."""
    build = copy_build(build_dir, tmp_path / "build")
    data = bytearray((build / "poli-kg.nt").read_bytes())
    data[-2:-1] = b"!" if data[-2:-1] != b"!" else b"?"
    (build / "poli-kg.nt").write_bytes(bytes(data))
    app = app_for(build)
    try:
        client = app.test_client()
        assert client.get("/downloads/poli-kg.nt").status_code == 404
        assert client.get("/downloads/poli-kg.nt").status_code == 404  # remembered
        assert client.get("/downloads/poli-kg.nt.gz").status_code == 200
    finally:
        app.extensions["poli_kg.store"].close()


def test_a_rebuild_does_not_mix_files_of_two_builds(build_dir, tmp_path):
    """BUILD_DIR is resolved when the app starts; swapping the symlink later changes nothing
    (a new application serves the new build)."""
    first = copy_build(build_dir, tmp_path / ".public-1")
    second = copy_build(build_dir, tmp_path / ".public-2")
    (second / "poli-kg.ttl").write_bytes(b"# another build\n")
    digest = sha256(b"# another build\n")
    sums_text = (second / "SHA256SUMS").read_text(encoding="utf-8")
    (second / "SHA256SUMS").write_text(
        re.sub(r"^[0-9a-f]{64}(  poli-kg\.ttl)$", digest + r"\1", sums_text, flags=re.M),
        encoding="utf-8")
    info = json.loads((second / "build.json").read_text(encoding="utf-8"))
    info["files"]["poli-kg.ttl"] = {"bytes": len(b"# another build\n"), "sha256": digest}
    (second / "build.json").write_text(json.dumps(info), encoding="utf-8")
    link = tmp_path / "public"
    link.symlink_to(first.name)
    app = app_for(link)
    try:
        client = app.test_client()
        before = client.get("/downloads/poli-kg.ttl")
        tmp = tmp_path / "public.tmp"
        tmp.symlink_to(second.name)
        os.replace(tmp, link)
        after = client.get("/downloads/poli-kg.ttl")
        assert after.data == before.data == (first / "poli-kg.ttl").read_bytes()
        assert after.headers["ETag"] == before.headers["ETag"]
        # a new application (a restarted server) serves the new build as a whole
        fresh = app_for(link)
        try:
            renewed = fresh.test_client().get("/downloads/poli-kg.ttl")
            assert renewed.data == b"# another build\n"
            assert renewed.headers["ETag"] == f'"{digest}"'
        finally:
            fresh.extensions["poli_kg.store"].close()
        # ... while the running one stays on its own
        assert client.get("/downloads/poli-kg.ttl").data == before.data
    finally:
        app.extensions["poli_kg.store"].close()


def test_no_build_answers_503(tmp_path):
    app = app_for(tmp_path / "nothing")
    try:
        client = app.test_client()
        assert client.get("/downloads/").status_code == 503
        assert client.get("/downloads/poli-kg.ttl").status_code == 503
    finally:
        app.extensions["poli_kg.store"].close()


def test_index_json_is_valid_utf8_json(client):
    body = client.get("/downloads/?format=json").data
    json.loads(body.decode("utf-8"))
