"""A harvester's run against a real server (gunicorn on 127.0.0.1, the session's build).

The server is started with its public root at the base IRI (``POLI_KG_PUBLIC_URL``
``https://w3id.org/poli-kg/``), as in production behind the w3id.org redirect, so every URL
of the catalogue and of the semantic assets is the public one; the harvester reaches each at
the same path of the server, as w3id.org would send it there.  It reads ``/catalog``
(Turtle), follows every distribution's download and access URL, and checks what a
DCAT-AP_IT harvester and its users rely on:

* each file answers 200 with the media type, byte size and SHA-256 the catalogue gives;
* each RDF download loads with rdflib;
* each statistical table is valid CSV on the Web (the ``csvw`` package, metadata found from
  the CSV's ``Link`` header and from the metadata distribution), and its CSV-to-RDF
  conversion is exactly the observations of the harvested RDF;
* each NDC semantic asset parses, describes the catalogue's dataset, and the download URLs
  it gives its own distributions answer with the bytes the catalogue describes; each
  vocabulary's CSV lists its concepts;
* the release the server publishes (the session's build frozen as 1.0.0, in a releases
  folder of its own) is a dataset of the catalogue whose distributions answer the same way,
  and the live data name it as their current version.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
from pathlib import Path

import pytest
import requests
from csvw import CSVW
from rdflib import Dataset, Graph, URIRef
from rdflib.compare import isomorphic
from rdflib.namespace import DCAT, DCTERMS, OWL, QB, RDF, SKOS

from poli_kg.graph.release import freeze
from poli_kg.namespaces import BASE, DATASET, SPDX
from tests.conftest import ServerProcess
from tests.graph.test_csvw import csv2rdf

pytestmark = pytest.mark.slow

IANA = "http://www.iana.org/assignments/media-types/"
ADMSAPIT_DISTRIBUTION = URIRef("https://w3id.org/italia/onto/ADMS/hasSemanticAssetDistribution")
RDF_SYNTAXES = {"text/turtle": "turtle", "application/n-triples": "nt",
                "application/ld+json": "json-ld", "application/rdf+xml": "xml",
                "application/trig": "trig", "application/n-quads": "nquads"}
CSVW_METADATA = "application/csvm+json"
RELEASE = "1.0.0"   # the ontology's version in the session's build
RELEASE_IRI = URIRef(f"{BASE}releases/{RELEASE}")


class Harvester:
    """Fetches the public URLs of the catalogue from the server that answers them."""

    def __init__(self, server: str) -> None:
        self.server = server
        self.session = requests.Session()
        self.session.headers["Accept-Encoding"] = "identity"
        self.fetched: dict[str, requests.Response] = {}

    def local(self, url: str) -> str:
        """The server's URL for a public URL under the base IRI."""
        assert url.startswith(BASE), url
        return f"{self.server}/{url[len(BASE):]}"

    def get(self, url: str) -> requests.Response:
        """GET a public URL once (remembered)."""
        if url not in self.fetched:
            self.fetched[url] = self.session.get(self.local(url), timeout=30)
        return self.fetched[url]


@pytest.fixture(scope="module")
def server(build_dir, tmp_path_factory):
    """A real server over the session's build, public at the base IRI, with a contact and
    one release (the build itself)."""
    releases = tmp_path_factory.mktemp("harvest-releases")
    freeze(build_dir, RELEASE, releases)
    with pytest.MonkeyPatch.context() as env:
        env.setenv("POLI_KG_PUBLIC_URL", BASE)
        env.setenv("POLI_KG_CONTACT_EMAIL", "poli-kg@example.org")
        env.setenv("POLI_KG_RELEASES_DIR", str(releases))
        process = ServerProcess(build_dir, tmp_path_factory.mktemp("harvest"), "--workers", "2")
    yield process
    process.stop()


@pytest.fixture(scope="module")
def harvester(server) -> Harvester:
    return Harvester(server.url)


@pytest.fixture(scope="module")
def catalog(harvester) -> Graph:
    response = harvester.session.get(f"{harvester.server}/catalog", timeout=30,
                                     headers={"Accept": "text/turtle"})
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/turtle; charset=utf-8"
    return Graph().parse(data=response.content, format="turtle")


def distributions(catalog: Graph) -> dict[URIRef, URIRef]:
    """Every distribution of the catalogue and the dataset it belongs to."""
    return {dist: dataset for dataset, dist in catalog.subject_objects(DCAT.distribution)}


def media_type(catalog: Graph, dist: URIRef) -> str:
    return str(catalog.value(dist, DCAT.mediaType)).removeprefix(IANA)


def body(harvester: Harvester, catalog: Graph, dist: URIRef) -> bytes:
    """The distribution's content (decompressed when the catalogue says it is packed)."""
    data = harvester.get(str(catalog.value(dist, DCAT.downloadURL))).content
    return gzip.decompress(data) if catalog.value(dist, DCAT.compressFormat) else data


def test_every_distribution_answers_as_the_catalogue_describes_it(harvester, catalog):
    dists = distributions(catalog)
    # RDF dumps, CSVW tables and metadata, NDC assets, the release's RDF dumps
    assert len(dists) == 14 + 16 + 22 + 7
    for dist in dists:
        download = catalog.value(dist, DCAT.downloadURL)
        assert download is not None and catalog.value(dist, DCAT.accessURL) == download, dist
        url = str(download)
        response = harvester.get(url)
        assert response.status_code == 200, url
        packed = catalog.value(dist, DCAT.compressFormat)
        served = response.headers["Content-Type"].split(";")[0].strip()
        assert served == (str(packed).removeprefix(IANA) if packed else media_type(catalog, dist))
        assert len(response.content) == int(catalog.value(dist, DCAT.byteSize)), url
        assert response.headers["Content-Length"] == str(len(response.content))
        checksum = catalog.value(dist, SPDX.checksum)
        assert catalog.value(checksum, SPDX.algorithm) == SPDX.checksumAlgorithm_sha256
        digest = hashlib.sha256(response.content).hexdigest()
        assert str(catalog.value(checksum, SPDX.checksumValue)) == digest, url
        assert response.headers["ETag"] == f'"{digest}"'


def test_every_rdf_download_loads(harvester, catalog):
    sizes: dict[str, set[int]] = {}   # triples (quads) by file name, gzip copies alike
    for dist in distributions(catalog):
        syntax = RDF_SYNTAXES.get(media_type(catalog, dist))
        if syntax is None:
            continue
        data = body(harvester, catalog, dist)
        if syntax in ("trig", "nquads"):
            graph = Dataset()
            graph.parse(data=data, format=syntax)
            size = sum(1 for _ in graph.quads((None, None, None, None)))
        else:
            size = len(Graph().parse(data=data, format=syntax))
        assert size > 0, dist
        sizes.setdefault(str(dist).rsplit("/", 1)[-1].removesuffix(".gz"), set()).add(size)
    assert sum(1 for name in sizes if name.startswith("poli-kg")) == 7
    asserted = [sizes[f"poli-kg.{ext}"] for ext in ("ttl", "nt", "rdf", "jsonld")]
    assert len(set.union(*asserted)) == 1, asserted   # the same graph in every syntax
    assert sizes["poli-kg.trig"] == sizes["poli-kg.nq"]


@pytest.fixture(scope="module")
def harvested_rdf(harvester, catalog) -> Graph:
    """The asserted triples as harvested (the Turtle dump the catalogue lists)."""
    dist = URIRef(BASE + "dataset/distribution/poli-kg.ttl")
    assert dist in distributions(catalog)
    return Graph().parse(data=body(harvester, catalog, dist), format="turtle")


def table_distributions(catalog: Graph) -> dict[URIRef, tuple[URIRef, URIRef]]:
    """Each dataset with a CSV table and CSVW metadata: (CSV, metadata) distributions."""
    found: dict[URIRef, dict[str, URIRef]] = {}
    for dist, dataset in distributions(catalog).items():
        found.setdefault(dataset, {})[media_type(catalog, dist)] = dist
    return {dataset: (kinds["text/csv"], kinds[CSVW_METADATA])
            for dataset, kinds in found.items() if CSVW_METADATA in kinds}


def test_every_table_is_valid_csvw_and_converts_back_to_its_observations(
        harvester, catalog, harvested_rdf):
    tables = table_distributions(catalog)
    assert len(tables) == 8
    for dataset, (csv_dist, meta_dist) in tables.items():
        csv_url = harvester.local(str(catalog.value(csv_dist, DCAT.downloadURL)))
        meta_url = harvester.local(str(catalog.value(meta_dist, DCAT.downloadURL)))
        # the CSV alone leads to its metadata (Link: rel="describedby", CSVW §5.2)
        found = CSVW(csv_url, validate=True)
        assert found.is_valid, [str(w.message) for w in found.warnings]
        assert not found.no_metadata
        from_metadata = CSVW(meta_url, validate=True)
        assert from_metadata.is_valid, [str(w.message) for w in from_metadata.warnings]
        assert str(from_metadata.tables[0].url.resolve(from_metadata.tables[0].base)) == csv_url
        metadata = harvester.get(str(catalog.value(meta_dist, DCAT.downloadURL))).json()
        assert metadata["dc:isFormatOf"] == {"@id": str(dataset)}
        expected = Graph()
        for obs in harvested_rdf.subjects(QB.dataSet, dataset):
            for triple in harvested_rdf.triples((obs, None, None)):
                expected.add(triple)
        assert len(expected) > 0, dataset
        assert isomorphic(csv2rdf(meta_url), expected), dataset


def asset_distributions(catalog: Graph) -> dict[URIRef, list[URIRef]]:
    """The NDC semantic assets (their distributions under …/distribution/assets/) by dataset."""
    found: dict[URIRef, list[URIRef]] = {}
    for dist, dataset in distributions(catalog).items():
        if str(dist).startswith(BASE + "dataset/distribution/assets/"):
            found.setdefault(dataset, []).append(dist)
    return found


def test_every_ndc_asset_parses_and_its_own_download_urls_answer(harvester, catalog):
    assets = asset_distributions(catalog)
    assert len(assets) == 11 and URIRef(BASE + "ontology") in assets
    for dataset, dists in assets.items():
        for dist in dists:
            if media_type(catalog, dist) != "text/turtle":
                continue
            asset = Graph().parse(data=body(harvester, catalog, dist), format="turtle")
            kind = OWL.Ontology if dataset == URIRef(BASE + "ontology") else SKOS.ConceptScheme
            assert (dataset, RDF.type, kind) in asset, dist
            own = {*asset.objects(dataset, DCAT.distribution),
                   *asset.objects(dataset, ADMSAPIT_DISTRIBUTION)}
            assert dist in own, dist
            for item in own:
                url = str(asset.value(item, DCAT.downloadURL))
                assert url == str(catalog.value(item, DCAT.downloadURL)), item
                response = harvester.get(url)
                assert response.status_code == 200, url
                assert response.headers["Content-Type"].split(";")[0] == media_type(catalog, item)
                assert str(asset.value(item, DCTERMS["format"])) == str(
                    catalog.value(item, DCTERMS["format"]))


def test_every_vocabulary_csv_lists_its_concepts(harvester, catalog):
    checked = 0
    for dataset, dists in asset_distributions(catalog).items():
        by_type = {media_type(catalog, d): d for d in dists}
        if "text/csv" not in by_type:
            continue
        asset = Graph().parse(data=body(harvester, catalog, by_type["text/turtle"]),
                              format="turtle")
        concepts = {str(c) for c in asset.subjects(SKOS.inScheme, dataset)}
        text = body(harvester, catalog, by_type["text/csv"]).decode("utf-8")
        rows = list(csv.DictReader(io.StringIO(text)))
        assert {row["uri"] for row in rows} == concepts, dataset
        assert all(row["codice_1_livello"] and row["label_ITA_1_livello"] for row in rows)
        checked += 1
    assert checked == 10


def test_the_harvest_covers_the_build(harvester, catalog, build_dir: Path):
    """Nothing the build wrote for harvesters is left out of the catalogue."""
    listed = {str(catalog.value(d, DCAT.downloadURL)) for d in distributions(catalog)}
    for tree, prefix in (("csvw", "downloads/csvw/"), ("assets", "assets/")):
        for path in (build_dir / tree).rglob("*"):
            if path.is_file():
                url = BASE + prefix + path.relative_to(build_dir / tree).as_posix()
                assert url in listed, url
                assert harvester.get(url).content == path.read_bytes()


def test_the_release_is_harvested_as_a_version_of_the_dataset(harvester, catalog, build_dir):
    """The release's distributions are its frozen copies of the build's dumps."""
    assert (URIRef(BASE + "catalog"), DCAT.dataset, RELEASE_IRI) in catalog
    assert catalog.value(DATASET, URIRef(str(DCAT) + "hasCurrentVersion")) == RELEASE_IRI
    dists = [d for d, dataset in distributions(catalog).items() if dataset == RELEASE_IRI]
    assert len(dists) == 7
    for dist in dists:
        url = str(catalog.value(dist, DCAT.downloadURL))
        assert url.startswith(f"{BASE}releases/{RELEASE}/"), url
        name = url.rsplit("/", 1)[-1]
        response = harvester.get(url)
        assert response.content == (build_dir / name).read_bytes(), url
        assert "immutable" in response.headers["Cache-Control"]
