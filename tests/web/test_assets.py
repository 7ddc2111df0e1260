"""The build's files for harvesters over HTTP: the NDC semantic assets at ``/assets/<path>``
(the build's ``assets/``: the base IRI's ``assets/…``, the download URLs the assets give
themselves) and the statistical tables with their CSV on the Web metadata at
``/downloads/csvw/<name>`` (the build's ``csvw/``).

Flask's test client (``client``) and, for raw requests and CSVW processing, a real server
(``live_server``).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from datetime import datetime, timezone
from email.utils import format_datetime
from pathlib import Path
from urllib.parse import urljoin

import pytest
import requests
from csvw import CSVW
from rdflib import Graph
from rdflib.namespace import DCAT

from poli_kg.buildfolder import read_build_info
from poli_kg.namespaces import BASE
from tests.web.test_downloads import raw_get

TYPES = {".ttl": "text/turtle; charset=utf-8", ".csv": "text/csv; charset=utf-8",
         ".json": "application/csvm+json"}


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def tree(build_dir: Path, name: str) -> list[Path]:
    """The files of the build's ``assets/`` or ``csvw/``."""
    return sorted(p for p in (build_dir / name).rglob("*") if p.is_file())


def url_path(build_dir: Path, path: Path) -> str:
    """Where the service answers a file of the trees."""
    relative = path.relative_to(build_dir).as_posix()
    return f"/{relative}" if relative.startswith("assets/") else f"/downloads/{relative}"


@pytest.fixture(scope="module")
def built_at(build_dir) -> str:
    stamp = datetime.fromisoformat(read_build_info(build_dir)["built_at"])
    return format_datetime(stamp.astimezone(timezone.utc), usegmt=True)


def assert_served(response, path: Path, built_at: str) -> None:
    """``response`` is the file at ``path``, as the downloads are served."""
    assert response.status_code == 200, path
    data = path.read_bytes()
    assert response.data == data
    assert response.headers["Content-Type"] == TYPES[path.suffix]
    assert response.headers["Content-Disposition"] == f"attachment; filename={path.name}"
    assert response.headers["ETag"] == f'"{sha256(data)}"'
    assert response.headers["Last-Modified"] == built_at
    assert response.headers["Content-Length"] == str(len(data))
    assert "public" in response.headers["Cache-Control"]
    assert "max-age=" in response.headers["Cache-Control"]


# ------------------------------------------------------------------ the files

def test_the_build_has_the_trees(build_dir):
    assert len(tree(build_dir, "assets")) == 22
    assert len(tree(build_dir, "csvw")) == 16


def test_every_asset_is_served_at_its_path(client, build_dir, built_at):
    for path in tree(build_dir, "assets"):
        response = client.get(url_path(build_dir, path))
        assert_served(response, path, built_at)
        assert "Link" not in response.headers


def test_every_table_is_served_and_the_csv_links_its_metadata(client, build_dir, built_at):
    for path in tree(build_dir, "csvw"):
        response = client.get(url_path(build_dir, path))
        assert_served(response, path, built_at)
        if path.suffix == ".csv":
            assert response.headers["Link"] == (
                f'<{path.name}-metadata.json>; rel="describedby"; type="application/csvm+json"')
        else:
            assert "Link" not in response.headers
            assert json.loads(response.data)["url"] == path.name.removesuffix("-metadata.json")


def test_the_download_urls_inside_the_assets_answer(client, build_dir):
    """Each asset names its files ``https://w3id.org/poli-kg/assets/{path}``: the same path here."""
    named = 0
    for path in tree(build_dir, "assets"):
        if path.suffix != ".ttl":
            continue
        asset = Graph().parse(path, format="turtle")
        for url in {*asset.objects(None, DCAT.downloadURL), *asset.objects(None, DCAT.accessURL)}:
            assert str(url).startswith(BASE + "assets/"), url
            response = client.get("/" + str(url)[len(BASE):])
            assert response.status_code == 200, url
            assert response.data == (build_dir / str(url)[len(BASE):]).read_bytes()
            named += 1
    assert named == 22


@pytest.mark.parametrize("path", ["/assets/ontologies/ontology/latest/ontology.ttl",
                                  "/downloads/csvw/aderenti.csv"])
def test_conditional_get_head_and_range(client, path):
    first = client.get(path)
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    for headers in ({"If-None-Match": etag}, {"If-None-Match": f"W/{etag}"},
                    {"If-Modified-Since": modified}):
        again = client.get(path, headers=headers)
        assert again.status_code == 304 and again.data == b""
        assert again.headers["ETag"] == etag
        assert again.headers.get("Link") == first.headers.get("Link")
    assert client.get(path, headers={"If-None-Match": '"other"'}).data == first.data
    head = client.head(path)
    assert head.status_code == 200 and head.data == b""
    for header in ("Content-Type", "Content-Length", "Content-Disposition", "ETag",
                   "Last-Modified", "Cache-Control", "Link"):
        assert head.headers.get(header) == first.headers.get(header), header
    part = client.get(path, headers={"Range": "bytes=5-24"})
    assert part.status_code == 206 and part.data == first.data[5:25]


def test_no_gzip_coding_for_the_trees(client, build_dir):
    path = tree(build_dir, "csvw")[0]
    response = client.get(url_path(build_dir, path), headers={"Accept-Encoding": "gzip"})
    assert "Content-Encoding" not in response.headers
    assert response.data == path.read_bytes()


TRAVERSALS = [
    "/assets/", "/assets", "/assets/ontologies", "/assets/ontologies/ontology/latest",
    "/assets/ontologies/ontology/latest/", "/assets/../SHA256SUMS", "/assets/%2e%2e/build.json",
    "/assets/..%2fbuild.json", "/assets/ontologies/../../build.json",
    "/assets/ontologies/ontology/latest/ontology.ttl%00",
    "/assets/ontologies/ontology/latest/ontology.ttl/",
    "/assets//ontologies/ontology/latest/ontology.ttl",
    "/assets/ontologies/ontology/latest/ONTOLOGY.TTL",
    "/assets/ontologies/ontology/latest/ontology.ttl.gz",
    "/assets/assets/ontologies/ontology/latest/ontology.ttl", "/assets/csvw/aderenti.csv",
    "/assets/%2Fetc%2Fpasswd", "/assets//etc/passwd", "/assets/store/CURRENT",
    "/downloads/csvw/", "/downloads/csvw", "/downloads/csvw/../build.json",
    "/downloads/csvw/%2e%2e%2fbuild.json", "/downloads/csvw/aderenti.csv%00",
    "/downloads/csvw//aderenti.csv", "/downloads/csvw/aderenti.csv.gz",
    "/downloads/csvw/ADERENTI.CSV", "/downloads/aderenti.csv",
    "/downloads/assets/ontologies/ontology/latest/ontology.ttl",
    "/csvw/aderenti.csv", "/downloads/csvw/aderenti.csv/..",
]


@pytest.mark.parametrize("path", TRAVERSALS)
def test_only_listed_files_are_served(client, path):
    response = client.get(path)
    assert response.status_code in (404, 308), (path, response.status_code)
    if response.status_code == 308:   # werkzeug's redirect of a folder path to its slash form
        assert client.get(response.headers["Location"]).status_code == 404
    assert b"root:" not in response.data and b"inputs_sha256" not in response.data


@pytest.mark.parametrize("path", ["/assets/../build.json", "/assets/%2e%2e%2fbuild.json",
                                  "/assets/..%2f..%2fetc%2fpasswd",
                                  "/downloads/csvw/../../etc/passwd",
                                  "/downloads/csvw/%2e%2e/build.json"])
def test_traversal_over_real_http(live_server, path):
    """Raw requests (no client-side normalisation of ``..``) to a real server."""
    status, body = raw_get(live_server, path)
    assert status in (400, 404), body[:200]
    assert b"root:" not in body and b"inputs_sha256" not in body


def test_a_csvw_processor_finds_the_metadata_from_the_csv(live_server, build_dir):
    """CSVW §5.2: the CSV's Link header names its metadata, which describe that CSV."""
    for path in tree(build_dir, "csvw"):
        if path.suffix != ".csv":
            continue
        url = f"{live_server}/downloads/csvw/{path.name}"
        response = requests.get(url, timeout=30)
        link = response.links["describedby"]
        assert link["type"] == "application/csvm+json"
        metadata = requests.get(urljoin(url, link["url"]), timeout=30)
        assert metadata.headers["Content-Type"] == "application/csvm+json"
        assert urljoin(metadata.url, metadata.json()["url"]) == url
        table = CSVW(url, validate=True)
        assert table.is_valid, [str(w.message) for w in table.warnings]
        assert not table.no_metadata


# ------------------------------------------------------------------ the build snapshot

def copy_build(build_dir: Path, target: Path, trees: bool = True) -> Path:
    """A copy of the build's files (without the store), with its trees unless ``trees`` is false."""
    target.mkdir(parents=True)
    for entry in build_dir.iterdir():
        if entry.is_file():
            shutil.copyfile(entry, target / entry.name)
        elif trees and entry.name in ("assets", "csvw"):
            shutil.copytree(entry, target / entry.name)
    return target


@pytest.fixture
def app_for():
    """Factory of applications over a given build folder, closed at the end of the test."""
    from poli_kg.web import create_app

    apps = []

    def make(build: Path):
        apps.append(create_app({"TESTING": True, "BUILD_DIR": str(build)}))
        return apps[-1]

    yield make
    for app in apps:
        app.extensions["poli_kg.store"].close()


VOCABULARY = "assets/controlled-vocabularies/aree-tematiche/aree-tematiche.ttl"


def test_symlinks_unsafe_names_and_other_files_are_not_listed(build_dir, tmp_path, app_for):
    build = copy_build(build_dir, tmp_path / "build")
    (build / VOCABULARY).unlink()
    (build / VOCABULARY).symlink_to(build_dir / VOCABULARY)
    os.symlink(build / "assets" / "ontologies",
               build / "assets" / "controlled-vocabularies" / "link")
    (build / "assets" / "README.md").write_text("notes\n", encoding="utf-8")
    (build / "assets" / "extra.json").write_text("{}\n", encoding="utf-8")
    (build / "csvw" / "bad name.csv").write_text("a\n1\n", encoding="utf-8")
    (build / "csvw" / ".hidden.csv").write_text("a\n1\n", encoding="utf-8")
    (build / "csvw" / "notes.txt").write_text("notes\n", encoding="utf-8")
    client = app_for(build).test_client()
    for path in (f"/{VOCABULARY}",
                 "/assets/controlled-vocabularies/link/ontology/latest/ontology.ttl",
                 "/assets/README.md", "/assets/extra.json", "/downloads/csvw/bad%20name.csv",
                 "/downloads/csvw/.hidden.csv", "/downloads/csvw/notes.txt"):
        assert client.get(path).status_code == 404, path
    doc = client.get("/downloads/?format=json").get_json()
    names = {f["name"] for f in doc["tables"] + doc["assets"]}
    assert VOCABULARY not in names and len(names) == 16 + 21
    assert not any("link" in n or "README" in n or "bad" in n or "notes" in n for n in names)
    assert client.get("/assets/ontologies/ontology/latest/ontology.ttl").status_code == 200


def test_a_tree_file_altered_after_the_start_is_not_served(build_dir, tmp_path, app_for):
    build = copy_build(build_dir, tmp_path / "build")
    client = app_for(build).test_client()
    table = build / "csvw" / "aderenti.csv"
    table.write_bytes(table.read_bytes().replace(b"858", b"859"))
    assert client.get("/downloads/csvw/aderenti.csv").status_code == 404
    assert client.get("/downloads/csvw/aderenti.csv").status_code == 404   # remembered
    assert client.get("/downloads/csvw/aderenti.csv-metadata.json").status_code == 200


def test_a_build_without_the_trees_serves_none(build_dir, tmp_path, app_for):
    client = app_for(copy_build(build_dir, tmp_path / "build", trees=False)).test_client()
    assert client.get("/assets/ontologies/ontology/latest/ontology.ttl").status_code == 404
    assert client.get("/downloads/csvw/aderenti.csv").status_code == 404
    doc = client.get("/downloads/?format=json").get_json()
    assert doc["tables"] == [] and doc["assets"] == [] and len(doc["files"]) == 16


def test_the_index_lists_the_trees_even_when_the_store_does_not_answer(build_dir, tmp_path,
                                                                        app_for):
    """A copy without its store: the files are listed by name, without titles."""
    client = app_for(copy_build(build_dir, tmp_path / "build")).test_client()
    response = client.get("/downloads/?format=json")
    assert response.status_code == 200
    doc = response.get_json()
    assert len(doc["tables"]) == 16 and len(doc["assets"]) == 22
    assert not any("title" in entry for entry in doc["tables"] + doc["assets"])
    assert client.get("/downloads/").status_code == 200
