"""Searching the build's full-text index (:mod:`poli_kg.store.search`): name variants of every
kind of resource, the ranking rules, type filters, look-ups and the reconciliation score."""

from __future__ import annotations

import gc
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from poli_kg import textindex as ti
from poli_kg.namespaces import BASE, ONTOLOGY_IRI
from poli_kg.store.search import MAX_WORDS, SearchIndex, SearchUnavailable, similarity

PKG = ONTOLOGY_IRI + "#"
ID = BASE + "id/"
LEGAL = "https://w3id.org/italia/controlled-vocabulary/classifications-for-organizations/legal-status/"

# (query, the resource it must find first): accents, abbreviations, punctuation, typos,
# prefixes and English names, for every kind of resource of the graph.
VARIANTS = [
    # poles
    ("mesap", "polo/mesap"), ("Pointex", "polo/pointex"), ("polo agrifood", "polo/agrifood"),
    ("ICT cluster", "polo/ict"), ("biopmed", "polo/biopmed"), ("C-Green", "polo/cgreen"),
    ("c green", "polo/cgreen"), ("cgreen", "polo/cgreen"), ("clevr", "polo/clever"),
    ("pointe", "polo/pointex"),
    # managing bodies and member organisations
    ("Torino Wireless", "organizzazione/torino-wireless"),
    ("torino wirless", "organizzazione/torino-wireless"),
    ("Torino Wireless Foundation", "organizzazione/torino-wireless"),
    ("citta studi", "organizzazione/citta-studi"), ("CITTÀ STUDI S.P.A.", "organizzazione/citta-studi"),
    ("MIAC", "organizzazione/miac"), ("M.I.A.C.", "organizzazione/miac"),
    ("m.i.a.c. scpa", "organizzazione/miac"), ("bioind", "organizzazione/bioindustry-park"),
    ("Bioindustry Park Silvano Fumero", "organizzazione/bioindustry-park"),
    ("envirnment park", "organizzazione/environment-park"),
    ("UN.I.VER", "organizzazione/univer"), ("univer", "organizzazione/univer"),
    ("Proplast", "organizzazione/proplast"), ("Ibis Consortium", "organizzazione/ibis"),
    ("consorzio ibis", "organizzazione/ibis"), ("pst spa", "organizzazione/pst"),
    ("centro servizi industrie", "organizzazione/centro-servizi-industrie"),
    ("Piedmont Region", "organizzazione/regione-piemonte"),
    ("regione piemonte", "organizzazione/regione-piemonte"),
    # national technology clusters
    ("fabrica inteligente", "cluster-nazionale/fabbrica-intelligente"),
    ("Intelligent Factory", "cluster-nazionale/fabbrica-intelligente"),
    ("smart communities", "cluster-nazionale/smart-communities"),
    ("chimica verde", "cluster-nazionale/chimica-verde"),
    ("Scienze della vita", "cluster-nazionale/scienze-della-vita"),
    ("mobilita di superficie", "cluster-nazionale/mobilita-di-superficie"),
    # themes and technology domains
    ("agroalimentare", "scheme/aree-tematiche/agroalimentare"),
    ("Life sciences and health", "scheme/aree-tematiche/scienze-della-vita-e-salute"),
    ("tessile", "scheme/aree-tematiche/tessile"), ("Textiles", "scheme/aree-tematiche/tessile"),
    ("Tecnologie dell'Informazione e della Comunicazione", "scheme/aree-tematiche/ict"),
    # places
    ("Turin", "luogo/torino"), ("torino", "luogo/torino"), ("Regno Unito", "luogo/regno-unito"),
    ("United Kingdom", "luogo/regno-unito"), ("UK", "luogo/regno-unito"),
    ("Piedmont", "luogo/piemonte"), ("Germany", "luogo/germania"), ("spagna", "luogo/spagna"),
    # calls, programmes, funds, strategy
    ("linea a", "bando/linea-a"), ("line a call", "bando/linea-a"),
    ("bando linea b", "bando/linea-b"), ("POR FESR 2014-2020", "programma/por-fesr-2014-2020"),
    ("ERDF ROP 2007-2013", "programma/por-fesr-2007-2013"),
    ("por fesr 2007/2013", "programma/por-fesr-2007-2013"), ("FESR", "fondo/fesr"),
    ("S3", "sistema/s3-piemonte"),
    # figures and the other concepts
    ("aderenti pmi", "osservazione/aderenti-pmi-2017-06"),
    ("cluster members smes", "osservazione/aderenti-pmi-2017-06"),
    ("grandi imprese", "scheme/tipologie-aderenti/grandi-imprese"),
    ("PPP", "scheme/approcci/partenariato-pubblico-privato"),
    ("innovation hub", "scheme/modelli-di-riferimento/innovation-hub"),
]


@pytest.fixture(scope="module")
def index(build_dir) -> SearchIndex:
    return SearchIndex(build_dir)


@pytest.mark.parametrize("query, expected", VARIANTS, ids=[q for q, _e in VARIANTS])
def test_name_variants_find_the_resource_first(index, query, expected):
    hits = index.search(query, limit=3).hits
    assert hits, f"{query!r} finds nothing"
    assert hits[0].iri == ID + expected, [h.iri for h in hits]


@pytest.mark.parametrize("query", ["Società per azioni", "joint stock company", "S.p.A."])
def test_concepts_of_other_vocabularies_are_found(index, query):
    assert index.search(query, limit=1).hits[0].iri == LEGAL + "1310"


def test_both_languages_are_searched_and_labelled(index):
    hit = index.search("Intelligent Factory", limit=1).hits[0]
    assert hit.label("it") == "Cluster Tecnologico Nazionale Fabbrica Intelligente"
    assert hit.label("en") == "Intelligent Factory National Technology Cluster"


# --------------------------------------------------------------------------- ranking

def test_an_exact_name_ranks_before_a_prefix_and_a_prefix_before_a_typo(index):
    exact = index.search("Agrifood", limit=1).hits[0]
    prefix = index.search("Agrifoo", limit=1).hits[0]
    typo = index.search("Agrifod", limit=1).hits[0]
    assert exact.score > 50 > prefix.score > typo.score > 0
    assert index.search("torino").hits[0].iri == ID + "luogo/torino"   # "Torino" is its name


def test_main_resources_come_before_the_records_about_them(index):
    iris = [h.iri for h in index.search("mesap", limit=10).hits]
    assert iris[0] == ID + "polo/mesap"
    records = [i for i in iris if "/partecipazione/" in i or "/estratto/" in i]
    assert records and all(iris.index(r) > 0 for r in records)
    iris = [h.iri for h in index.search("cluster tecnologico nazionale", limit=40).hits]
    clusters = [i for i, iri in enumerate(iris) if "/cluster-nazionale/" in iri]
    participations = [i for i, iri in enumerate(iris) if "/partecipazione/" in iri]
    assert len(clusters) == 6 and max(clusters) < min(participations)


def test_a_pole_comes_first_among_equal_names(index):
    iris = [h.iri for h in index.search("agrifood", limit=4).hits]
    assert iris[0] == ID + "polo/agrifood"
    assert set(iris[1:]) >= {ID + "cluster-nazionale/agrifood", ID + "scheme/ambiti-tecnologici/agrifood"}


def test_the_order_is_stable(index, build_dir):
    again = SearchIndex(build_dir)
    for query in ("polo", "cluster", "spa", "2017", "aderenti"):
        first = [(h.iri, h.score) for h in index.search(query, limit=50).hits]
        assert first == [(h.iri, h.score) for h in again.search(query, limit=50).hits]
        scores = [s for _i, s in first]
        assert scores == sorted(scores, reverse=True)


def test_pages_follow_each_other(index):
    everything = [h.iri for h in index.search("poli", limit=60).hits]
    pages = [h.iri for offset in (0, 20, 40) for h in index.search("poli", limit=20, offset=offset).hits]
    assert pages == everything and len(set(everything)) == len(everything)
    assert index.search("poli", limit=20).total == index.search("poli", limit=1).total


def test_every_word_must_match_unless_any_may(index):
    assert index.search("mesap pointex").total == 0
    found = {h.iri for h in index.search("mesap pointex", every_word=False, limit=20).hits}
    assert {ID + "polo/mesap", ID + "polo/pointex"} <= found


# --------------------------------------------------------------------------- filters, look-ups

def test_type_filters(index):
    poles = index.search("agrifood", types=[PKG + "PoloDiInnovazione"]).hits
    assert [h.iri for h in poles] == [ID + "polo/agrifood"]
    organisations = index.search("consorzio", types=["http://www.w3.org/ns/org#Organization"],
                                 limit=20).hits   # an inferred class
    assert {ID + "organizzazione/ibis", ID + "organizzazione/proplast"} <= {h.iri for h in organisations}
    both = index.search("consorzio", types=[PKG + "Consorzio", PKG + "Societa"], every_type=True)
    assert both.total == 0
    assert index.search("mesap", types=["https://example.org/NoSuchClass"]).total == 0


@pytest.mark.parametrize("name", [
    PKG + "PoloDiInnovazione", "pkg:PoloDiInnovazione", "PoloDiInnovazione", "polodiinnovazione",
    "Polo di innovazione", "innovation cluster", " pkg:PoloDiInnovazione ",
])
def test_types_are_named_many_ways(index, name):
    assert index.resolve_type(name) == PKG + "PoloDiInnovazione"


@pytest.mark.parametrize("name", ["", "nothing", "pkg:Nothing", "\ud800", "x" * 5000])
def test_unknown_types(index, name):
    assert index.resolve_type(name) is None


def test_type_and_property_names(index):
    assert index.type_name(PKG + "Bando", "en") == "Call for proposals"
    assert index.type_name("http://schema.org/City", "en") == "City"
    assert index.type_name("http://schema.org/City", "it", lambda iri, lang: "città") == "città"
    assert index.property_name(PKG + "gestisce", "en") == "manages"


def test_get_by_iri(index):
    found = index.get([ID + "polo/mesap", ID + "nothing", 42, "\udc00"])
    assert list(found) == [ID + "polo/mesap"]
    hit = found[ID + "polo/mesap"]
    assert hit.type == PKG + "PoloDiInnovazione" and hit.data["host"] == "mesap.it"
    assert "MESAP" in hit.names and index.get([]) == {}


# --------------------------------------------------------------------------- hostile text

@pytest.mark.parametrize("query", [
    '"', "'", ":", "*", "?", "~", "^", "(", ")", "[", "]", "{", "}", "\\", "/", "AND", "OR NOT",
    'title:"x" AND (y OR z*)~2^3', "mesap*", "mes?p", "\x00", "\ud800", "🙂", "\u202e", "‮mesap",
    "a" * 200, " ".join(["fondazione"] * 50), "日本語", "%00%FF", "<script>alert(1)</script>",
])
def test_hostile_text_is_just_text(index, query):
    results = index.search(query, limit=5)
    assert results.total >= 0
    assert len(ti.compounds(query)[:MAX_WORDS]) <= MAX_WORDS


def test_syntax_characters_do_not_change_the_answer(index):
    plain = [h.iri for h in index.search("mesap").hits]
    assert [h.iri for h in index.search('"mesap"*').hits] == plain
    assert [h.iri for h in index.search("(mesap)").hits] == plain


def test_a_build_without_an_index(tmp_path):
    with pytest.raises(SearchUnavailable):
        SearchIndex(tmp_path)
    (tmp_path / ti.INDEX_DIR).mkdir()
    (tmp_path / ti.INDEX_DIR / ti.META_FILE).write_text('{"format": -1}', encoding="utf-8")
    with pytest.raises(SearchUnavailable, match="rebuild"):
        SearchIndex(tmp_path)


def test_searching_writes_nothing(build_dir):
    folder = build_dir / ti.INDEX_DIR
    before = {p.name: (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.iterdir()}
    index = SearchIndex(build_dir)
    index.search("fabrica inteligente")
    index.get([ID + "polo/mesap"])
    del index
    assert {p.name: (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.iterdir()} == before


def test_an_index_that_cannot_be_opened_in_place_is_read_from_a_copy(build_dir, monkeypatch):
    """tantivy writes a lock file even to read: a read-only folder is copied (and the copy
    removed with the index)."""
    import tantivy

    opened = []
    real_open = tantivy.Index.open

    def open_(path):
        opened.append(path)
        if len(opened) == 1:
            raise ValueError("Failed to acquire Lockfile: Read-only file system")
        return real_open(path)

    monkeypatch.setattr(tantivy.Index, "open", staticmethod(open_))
    index = SearchIndex(build_dir)
    assert index.search("mesap").hits[0].iri == ID + "polo/mesap"
    copy = Path(opened[1])
    assert copy != build_dir / ti.INDEX_DIR and copy.is_dir()
    del index
    gc.collect()
    assert not copy.exists()


def test_a_read_only_file_system(build_dir):
    """The index on a read-only mount (a private mount namespace: needs root and unshare)."""
    if os.geteuid() != 0 or not shutil.which("unshare"):
        pytest.skip("needs root and unshare(1) to mount the build read-only")
    script = (f"mount --bind {build_dir} /mnt && mount -o remount,bind,ro /mnt && "
              f"{sys.executable} -c 'from poli_kg.store.search import SearchIndex; "
              f"print(SearchIndex(\"/mnt\").search(\"mesap\").hits[0].iri)'")
    done = subprocess.run(["unshare", "-m", "sh", "-c", script], capture_output=True, text=True,
                          timeout=120)
    if done.returncode and "unshare" in done.stderr and "ermission" in done.stderr:
        pytest.skip(f"mount namespaces are not allowed here: {done.stderr.strip()[:200]}")
    assert done.stdout.strip() == ID + "polo/mesap", done.stderr[-2000:]


# --------------------------------------------------------------------------- similarity

@pytest.mark.parametrize("query, names, low, high", [
    ("M.I.A.C. S.c.p.a.", ["M.I.A.C. S.c.p.a."], 100, 100),
    ("miac scpa", ["M.I.A.C. S.c.p.a."], 100, 100),
    ("Città Studi S.p.A.", ["Citta Studi SpA"], 100, 100),
    ("MIAC", ["M.I.A.C. S.c.p.a."], 90, 90),           # a name without its legal form
    ("Citta Studi", ["Città Studi S.p.A."], 90, 90),
    ("Torino Wireless", ["Fondazione Torino Wireless"], 60, 89),
    ("torino wirless", ["Fondazione Torino Wireless"], 40, 80),
    ("Bioindustry Park", ["Bioindustry Park Silvano Fumero S.p.A."], 40, 80),
    ("bioind", ["Bioindustry Park Silvano Fumero S.p.A."], 10, 60),
    ("Pointex", ["MESAP"], 0, 0), ("", ["MESAP"], 0, 0), ("MESAP", [], 0, 0),
])
def test_similarity(query, names, low, high):
    assert low <= similarity(query, names) <= high
