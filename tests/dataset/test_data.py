"""The instance data against the source document: provenance quotes it exactly, every figure is in."""

import re
from collections import Counter

import pytest
from rdflib import Literal, URIRef
from rdflib.namespace import PROV, QB, RDF, RDFS

from poli_kg.namespaces import ID, PKG
from tests.conftest import SHARED

SOURCE = SHARED / "sources" / "poli-di-innovazione-piemonte-2017.txt"
needs_source = pytest.mark.skipif(not SOURCE.exists(), reason="../shared/sources is not beside the repository")


@pytest.fixture(scope="module")
def source_lines():
    return SOURCE.read_text(encoding="utf-8").split("\n")


def fold(text):
    return re.sub(r"\s+", " ", text).strip()


@needs_source
def test_every_excerpt_quotes_its_lines_exactly(data, source_lines):
    excerpts = list(data.subjects(RDF.type, PKG.Estratto))
    assert len(excerpts) >= 30
    for excerpt in excerpts:
        first = int(data.value(excerpt, PKG.rigaIniziale))
        last = int(data.value(excerpt, PKG.rigaFinale))
        quoted = str(data.value(excerpt, PROV.value))
        lines = fold(" ".join(source_lines[first - 1:last]))
        assert quoted in lines, f"{excerpt}: {quoted!r} not in lines {first}-{last}"
        # the excerpt starts on its first line and ends on its last one
        assert fold(source_lines[first - 1]) and quoted.split(" ")[0] in fold(source_lines[first - 1])
        assert quoted.split(" ")[-1] in fold(source_lines[last - 1])


@needs_source
def test_every_number_of_the_results_is_an_observation_wording(data, source_lines):
    """Each figure written in the source (outside years and section numbers) appears in some
    observation's original wording, so no figure of the report is missing from the graph."""
    wordings = " ".join(str(o) for o in data.objects(None, PKG.espressioneOriginale))
    text = fold(" ".join(source_lines[27:193]))
    text = re.sub(r"\b(19|20)\d\d\b", " ", text)          # years
    text = re.sub(r"(^|\s)[1-5]\. ", " ", text)            # section numbers "1. Gli aderenti"
    text = text.replace("R&S", "").replace("S3", "")
    in_source = Counter(re.findall(r"\d+(?:[.,]\d+)?", text))
    in_graph = Counter(re.findall(r"\d+(?:[.,]\d+)?", wordings))
    assert {"1.194", "858", "49,8", "9,3", "487", "195", "47"} <= set(in_source)
    missing = {n: count - in_graph[n] for n, count in in_source.items() if in_graph[n] < count}
    assert missing == {}


def test_every_observation_and_described_resource_has_provenance(data):
    observations = set(data.subjects(RDF.type, QB.Observation))
    assert len(observations) == 33
    for obs in observations:
        assert data.value(obs, PROV.wasDerivedFrom) is not None, obs
    for kind in (PKG.PoloDiInnovazione, PKG.Bando, PKG.PartecipazioneACluster, PKG.EventoStorico):
        for resource in data.subjects(RDF.type, kind):
            assert data.value(resource, PROV.wasDerivedFrom) is not None, resource


def test_every_resource_under_the_base_has_italian_and_english_labels(data):
    subjects = {s for s in data.subjects() if isinstance(s, URIRef) and str(s).startswith(str(ID))}
    assert len(subjects) > 150
    for s in subjects:
        langs = {o.language for o in data.objects(s, RDFS.label) if isinstance(o, Literal)}
        assert {"it", "en"} <= langs, s


def test_members_figures_are_kept_as_published(data):
    """The source's breakdown (858 + 133 + 60 + 43 = 1,094) does not add up to its total (1,194):
    both are stored as published."""
    from rdflib import Namespace
    obs = Namespace(str(ID) + "osservazione/")
    value = Namespace("http://purl.org/linked-data/sdmx/2009/measure#").obsValue
    assert int(data.value(obs["aderenti-totale-2017-06"], value)) == 1194
    parts = ["pmi", "grandi-imprese", "organismi-di-ricerca", "altre-tipologie"]
    assert sum(int(data.value(obs[f"aderenti-{p}-2017-06"], value)) for p in parts) == 1094
