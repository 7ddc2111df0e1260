"""The search index a build writes (:mod:`poli_kg.graph.index`) and the text rules it shares
with the reader (:mod:`poli_kg.textindex`)."""

from __future__ import annotations

import json
import stat

import pyoxigraph as ox
import pytest

from poli_kg import textindex as ti
from poli_kg.graph import index as builder
from poli_kg.namespaces import BASE, ONTOLOGY_IRI
from poli_kg.store.search import SearchIndex

PKG = ONTOLOGY_IRI + "#"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
SKOS = "http://www.w3.org/2004/02/skos/core#"


# --------------------------------------------------------------------------- text rules

@pytest.mark.parametrize("text, folded", [
    ("Città Studi", "citta studi"), ("MESAP", "mesap"), ("Straße", "strasse"),
    ("Øresund Æbleskiver", "oresund aebleskiver"), ("Ⅸ", "ix"), ("ﬁne", "fine"),
    ("Società consortile", "societa consortile"),
])
def test_fold_drops_case_and_accents(text, folded):
    assert ti.fold(text) == folded


@pytest.mark.parametrize("text, parts", [
    ("M.I.A.C. S.c.p.a.", [["m", "i", "a", "c"], ["s", "c", "p", "a"]]),
    ("C-Green", [["c", "green"]]),
    ("Tecnologie dell’Informazione", [["tecnologie"], ["dell", "informazione"]]),
    ("POR FESR 2007/2013", [["por"], ["fesr"], ["2007", "2013"]]),
    ("Agrifood – Agri-food", [["agrifood"], ["agri", "food"]]),
    ('"torino" AND (x*) OR y~2 ^3 a:b', [["torino"], ["and"], ["x"], ["or"], ["y"], ["2"],
                                          ["3"], ["a"], ["b"]]),
    ("", []), ("*?~^()[]{}:\"'", []), ("a" * 65, []),
])
def test_compounds_are_words_joined_by_punctuation(text, parts):
    assert ti.compounds(text) == parts


def test_a_compound_is_indexed_as_its_parts_and_run_together():
    assert ti.index_terms("M.I.A.C.") == ["m", "i", "a", "c", "miac"]
    assert ti.keys("C-Green") == {"c green", "cgreen"}
    assert ti.keys("MIAC") & ti.keys("m.i.a.c.")
    assert not ti.keys("  ")


def test_lone_surrogates_are_not_text():
    assert ti.fold("\ud800mesap\udfff") == "mesap"
    assert ti.compounds("\udc00") == []


@pytest.mark.parametrize("word, distance", [("ict", 0), ("pole", 0), ("clevr", 1),
                                            ("wirless", 1), ("fabbrica", 2), ("inteligente", 2)])
def test_typo_tolerance_grows_with_the_word(word, distance):
    assert ti.fuzzy_distance(word) == distance


@pytest.mark.parametrize("a, b, limit, distance", [
    ("fabrica", "fabbrica", 2, 1), ("wirless", "wireless", 2, 1), ("ab", "ba", 1, 1),
    ("inteligente", "intelligente", 2, 1), ("kitten", "sitting", 3, 3), ("abc", "xyz", 1, 2),
    ("", "abcd", 2, 3),
])
def test_edit_distance(a, b, limit, distance):
    assert ti.edit_distance(a, b, limit) == distance


@pytest.mark.parametrize("url, host", [
    ("http://www.mesap.it/", "mesap.it"), ("https://Pointex.EU/x?y", "pointex.eu"),
    ("mailto:x@y", None), ("not a url", None), ("http://[::1", None),
])
def test_host(url, host):
    assert ti.host(url) == host


def test_names_of_terms():
    assert ti.expand_name("pkg:Bando") == PKG + "Bando"
    assert ti.expand_name("https://x/y") == "https://x/y"
    assert ti.short_name(PKG + "Bando") == "pkg:Bando"
    assert ti.short_name("urn:x") == "urn:x"
    assert ti.humanised("http://schema.org/GovernmentOrganization") == "Government Organization"
    assert ti.humanised("https://w3id.org/italia/onto/COV/legalName") == "legal name"


# --------------------------------------------------------------------------- documents

def n(iri: str) -> ox.NamedNode:
    return ox.NamedNode(iri)


def lit(text: str, lang: str | None = None) -> ox.Literal:
    return ox.Literal(text, language=lang) if lang else ox.Literal(text)


def triples_of_a_small_graph() -> tuple[list[ox.Triple], list[ox.Triple]]:
    pole, body = n(BASE + "id/polo/p1"), n(BASE + "id/organizzazione/o1")
    record = n(BASE + "id/partecipazione/x")
    asserted = [
        ox.Triple(pole, n(RDF_TYPE), n(PKG + "PoloDiInnovazione")),
        ox.Triple(pole, n(RDFS + "label"), lit("Polo Zeta – Città", "it")),
        ox.Triple(pole, n(RDFS + "label"), lit("Zeta cluster", "en")),
        ox.Triple(pole, n(SKOS + "altLabel"), lit("Z.E.T.A.")),
        ox.Triple(pole, n("http://xmlns.com/foaf/0.1/homepage"), n("http://www.zeta.example/")),
        ox.Triple(pole, n(PKG + "haSoggettoGestore"), body),
        ox.Triple(body, n(RDF_TYPE), n(PKG + "Societa")),
        ox.Triple(body, n(RDFS + "label"), lit("Zeta S.p.A.", "it")),
        ox.Triple(body, n("http://purl.org/dc/terms/description"), lit("Una " + "parola " * 80, "it")),
        ox.Triple(record, n(RDF_TYPE), n(PKG + "PartecipazioneACluster")),
        ox.Triple(record, n(RDFS + "label"), lit("Zeta nel cluster", "it")),
        ox.Triple(n(PKG + "PoloDiInnovazione"), n(RDFS + "label"), lit("Polo di innovazione", "it")),
        ox.Triple(ox.BlankNode("b"), n(RDFS + "label"), lit("not indexed")),
        ox.Triple(n(BASE + "id/unnamed"), n(RDF_TYPE), n(PKG + "Bando")),
    ]
    inferred = [ox.Triple(body, n(RDF_TYPE), n(PKG + "SoggettoGestore")),
                ox.Triple(body, n(RDF_TYPE), n("http://www.w3.org/ns/org#Organization"))]
    return asserted, inferred


def test_documents_of_named_resources_in_index_order():
    docs, meta = builder.documents(builder.collect(*triples_of_a_small_graph()))
    iris = [d.iri for d in docs]
    assert iris[:2] == [BASE + "id/polo/p1", BASE + "id/organizzazione/o1"]   # main, by group
    assert iris[-1] == BASE + "id/partecipazione/x"                             # the record last
    assert BASE + "id/unnamed" not in iris and len(docs) == 4
    pole = docs[0]
    assert pole.kind == ti.MAIN and pole.data["label"] == {"it": "Polo Zeta – Città",
                                                           "en": "Zeta cluster"}
    assert {"zeta", "citta", "zeta", "z", "e", "t", "a"} <= set(pole.terms) and "zeta" in pole.terms
    assert "z e t a" in pole.keys and "zeta" in pole.keys
    assert pole.data["host"] == "zeta.example" and "zeta" in pole.text
    body = docs[1]
    assert PKG + "SoggettoGestore" in body.types            # inferred types are indexed
    assert body.data["types"] == [PKG + "Societa"]           # the asserted ones are shown
    assert len(body.data["description"]["it"]) <= builder.DESCRIPTION_CHARS + 1
    types = {t["iri"]: t for t in meta["types"]}
    assert types[PKG + "PoloDiInnovazione"]["name"]["it"] == "Polo di innovazione"
    assert types[PKG + "Societa"]["name"] == {"it": None, "en": None}   # no label in the graph
    gestore = {p["iri"]: p for p in meta["properties"]}[PKG + "haSoggettoGestore"]
    assert gestore["types"] == {PKG + "PoloDiInnovazione": 1}


def test_the_metadata_counts_each_property_per_class():
    """Per property: the resources that have it, and of those how many are of each class (also
    for a resource of no class), as counted one resource at a time."""
    asserted, inferred = triples_of_a_small_graph()
    untyped = [ox.Triple(n(BASE + "id/untyped"), n(RDFS + "label"), lit("senza tipo", "it"))]
    resources = builder.collect(asserted + untyped, inferred)
    meta, _terms = builder.metadata(resources)
    assert len(meta["properties"]) == len({p for r in resources.values() for p in r.predicates})
    for found in meta["properties"]:
        having = [r for r in resources.values() if found["iri"] in r.predicates]
        classes = sorted({t for r in having for t in r.types})
        assert found["count"] == len(having)
        assert found["types"] == {t: sum(t in r.types for r in having) for t in classes}
    label = {p["iri"]: p for p in meta["properties"]}[RDFS + "label"]
    assert label["count"] == 5 and label["types"][PKG + "Societa"] == 1


def test_write_index(tmp_path):
    written = builder.write_index(tmp_path, *triples_of_a_small_graph())
    folder = tmp_path / ti.INDEX_DIR
    assert written["documents"] == 4
    meta = json.loads((folder / ti.META_FILE).read_text(encoding="utf-8"))
    assert meta["format"] == ti.FORMAT and meta["documents"] == 4
    for path in folder.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o644, path.name
    index = SearchIndex(tmp_path)
    assert [h.iri for h in index.search("zeta").hits][0] == BASE + "id/polo/p1"
    builder.write_index(tmp_path, triples_of_a_small_graph()[0][:3])   # replaces the index
    assert SearchIndex(tmp_path).documents == 1


def test_the_same_triples_give_the_same_order(tmp_path):
    asserted, inferred = triples_of_a_small_graph()
    builder.write_index(tmp_path / "a", asserted, inferred)
    builder.write_index(tmp_path / "b", list(reversed(asserted)), inferred)
    first = [h.iri for h in SearchIndex(tmp_path / "a").search("zeta", limit=10).hits]
    assert first == [h.iri for h in SearchIndex(tmp_path / "b").search("zeta", limit=10).hits]


# --------------------------------------------------------------------------- the build

def test_the_build_writes_the_search_index(build_dir):
    index = SearchIndex(build_dir)
    assert index.documents > 200
    assert PKG + "PoloDiInnovazione" in index.types
    assert index.types[PKG + "PoloDiInnovazione"]["count"] == 7
    assert index.get([BASE + "id/polo/mesap"])
