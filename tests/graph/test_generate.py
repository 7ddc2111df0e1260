"""bench/generate.py: deterministic, realistic scale data that extends the real graph and
conforms to its shapes; the build accepts it as extra data."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pyoxigraph as ox
import pytest

from tests.conftest import ROOT
from poli_kg.buildfolder import DOWNLOAD_FILES
from poli_kg.graph.pipeline import build, check
from poli_kg.graph.sources import Sources

SCRIPT = ROOT / "bench" / "generate.py"
PREFIXES = """
PREFIX pkg: <https://w3id.org/poli-kg/ontology#>
PREFIX org: <http://www.w3.org/ns/org#>
PREFIX cov: <https://w3id.org/italia/onto/COV/>
PREFIX schema: <http://schema.org/>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX sdmx-measure: <http://purl.org/linked-data/sdmx/2009/measure#>
PREFIX ind: <https://w3id.org/poli-kg/id/scheme/indicatori/>
PREFIX bando: <https://w3id.org/poli-kg/id/bando/>
"""


def module():
    spec = importlib.util.spec_from_file_location("bench_generate", SCRIPT)
    loaded = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(loaded)
    return loaded


@pytest.fixture(scope="module")
def gen():
    return module()


@pytest.fixture(scope="module")
def data_file(tmp_path_factory, gen) -> Path:
    path = tmp_path_factory.mktemp("generated") / "gen-2000.nt"
    gen.write(gen.generate(2000), path)
    return path


@pytest.fixture(scope="module")
def store(gen) -> ox.Store:
    """The real data plus 6,000 generated triples, for checks by SPARQL."""
    result = ox.Store()
    for path in sorted(ROOT.glob("data/**/*.ttl")):
        result.load(path=str(path), format=ox.RdfFormat.TURTLE)
    result.extend(ox.Quad(t.subject, t.predicate, t.object, ox.DefaultGraph())
                  for t in gen.generate(6000, seed=7))
    return result


def ask(store: ox.Store, query: str) -> bool:
    return bool(store.query(PREFIXES + query))


# --------------------------------------------------------------------------- the generator

def test_deterministic(gen):
    a = ox.serialize(gen.generate(3000, seed=1), format=ox.RdfFormat.N_TRIPLES)
    assert a == ox.serialize(gen.generate(3000, seed=1), format=ox.RdfFormat.N_TRIPLES)
    assert a != ox.serialize(gen.generate(3000, seed=2), format=ox.RdfFormat.N_TRIPLES)


@pytest.mark.parametrize("size", [2000, 5000, 20000])
def test_size(gen, size):
    triples = gen.generate(size)
    assert size <= len(triples) <= size + 40
    assert len(set(triples)) == len(triples)


def test_command_line_writes_turtle_and_ntriples(tmp_path):
    for name in ("g.ttl", "g.nt"):
        out = tmp_path / name
        subprocess.run([sys.executable, str(SCRIPT), "--triples", "1500", "--out", str(out)],
                       check=True, capture_output=True)
        fmt = ox.RdfFormat.TURTLE if name.endswith(".ttl") else ox.RdfFormat.N_TRIPLES
        assert len(list(ox.parse(path=str(out), format=fmt))) >= 1500


# --------------------------------------------------------------------------- realism

def test_every_organisation_has_a_legal_form_of_its_class(store):
    assert not ask(store, """ASK { ?o a pkg:Societa ; cov:hasLegalStatus ?l
        FILTER (STRAFTER(STR(?l), "legal-status/") NOT IN ("1310", "1320", "1520")) }""")
    assert not ask(store, """ASK { ?o a ?c FILTER (?c IN (pkg:Societa, pkg:Consorzio, pkg:Fondazione))
        FILTER STRSTARTS(STR(?o), "https://w3id.org/poli-kg/id/organizzazione/gen-")
        FILTER NOT EXISTS { ?o cov:hasLegalStatus ?l ; schema:location ?city ;
                               org:classification ?sector . ?city schema:containedInPlace ?region } }""")
    assert ask(store, "ASK { ?o org:memberOf ?polo . ?polo a pkg:PoloDiInnovazione }")


def test_vat_numbers_have_valid_check_digits(store):
    numbers = [row["v"].value for row in store.query(
        "SELECT ?v WHERE { ?o <http://schema.org/vatID> ?v }")]
    assert len(numbers) > 100
    for number in numbers:
        digits = [int(c) for c in number]
        total = sum(d if i % 2 == 0 else (2 * d if d < 5 else 2 * d - 9)
                    for i, d in enumerate(digits[:10]))
        assert (10 - total % 10) % 10 == digits[10], number


def test_grants_never_exceed_the_investment(store):
    assert ask(store, "ASK { ?o pkg:indicatore ind:contributi-concessi }")
    assert not ask(store, """ASK {
        ?g pkg:oggettoRilevazione ?p ; pkg:indicatore ind:contributi-concessi ; sdmx-measure:obsValue ?grant .
        ?i pkg:oggettoRilevazione ?p ; pkg:indicatore ind:investimento-complessivo ; sdmx-measure:obsValue ?budget .
        FILTER (?grant > ?budget) }""")


def test_partners_match_the_call(store):
    # Linea A: enterprises already members of the cluster; Linea B: never members of one
    assert ask(store, "ASK { ?p schema:funding bando:linea-b ; schema:member ?m }")
    assert not ask(store, """ASK { ?p schema:funding bando:linea-a ; org:linkedTo ?polo ; schema:member ?m
                                   FILTER NOT EXISTS { ?m org:memberOf ?polo } }""")
    assert not ask(store, "ASK { ?p schema:funding bando:linea-b ; schema:member ?m . ?m org:memberOf ?any }")


def test_concepts_follow_the_iri_rule(store):
    assert not ask(store, """ASK { ?c skos:inScheme ?s ; skos:notation ?n
        FILTER (STRSTARTS(STR(?c), "https://w3id.org/poli-kg/id/scheme/"))
        FILTER (STR(?c) != CONCAT(STR(?s), "/", STR(?n))) }""")


# --------------------------------------------------------------------------- with the real graph

def test_generated_data_conform_to_the_shapes(data_file):
    sources = Sources(ROOT, extra_data=[data_file])
    report = check(sources=sources, validator="pyshacl")
    assert report.conforms
    assert [w.focus_node.split("/")[-1] for w in report.warnings] == ["aderenti-totale-2017-06"]
    compiled = check(sources=sources, validator="sparql")
    assert [r.as_dict() for r in compiled.results] == [r.as_dict() for r in report.results]


def test_build_with_extra_data(data_file, tmp_path):
    out = tmp_path / "site" / "public"
    sources = Sources(ROOT, extra_data=[data_file])
    first = build(out, sources=sources)
    info = json.loads((out / "build.json").read_text(encoding="utf-8"))
    assert str(data_file) in info["inputs"]
    assert info["validation"] == {"conforms": True, "violations": 0, "warnings": 1, "infos": 0}
    assert info["engines"] == {"reasoner": "rules", "validator": "pyshacl"}
    assert first.counts["data"] > 3000 and first.counts["inferred"] > 500
    store = ox.Store.read_only(str(out / "store"))
    assert len(store) == first.counts["total"]
    assert bool(store.query("ASK { GRAPH <https://w3id.org/poli-kg/graph/inferred> { "
                            "?p <https://w3id.org/poli-kg/ontology#prevede> "
                            "<https://w3id.org/poli-kg/id/progetto/gen-000001> } }"))
    del store

    # same ontology, data and provenance: the reasoning is reused; the SPARQL validator
    # gives the same report; the outputs are identical
    second = build(out, sources=sources, validator="sparql")
    assert second.reasoner.startswith("reused")
    assert second.validator == "sparql"
    assert [r.as_dict() for r in second.report.results] == [r.as_dict() for r in first.report.results]
    for name in DOWNLOAD_FILES:
        if name != "validation-report.ttl":   # the report names the shapes' blank nodes
            assert (first.path / name).read_bytes() == (second.path / name).read_bytes(), name
