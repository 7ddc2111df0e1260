"""OWL RL reasoning: real consequences are inferred, asserted triples and noise are not."""


import pytest
from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib import namespace as ns

from poli_kg.namespaces import ID, ONTOLOGY_IRI
from poli_kg.graph.reasoning import infer, is_noise, reason
from tests.conftest import TEST_DATA

# (closed rdflib namespaces are not module globals here: pytest's collector probes them)
OWL, RDF, RDFS = ns.OWL, ns.RDF, ns.RDFS
# the fixture ontology's terms (not the project's closed PKG namespace)
PKG = Namespace(ONTOLOGY_IRI + "#")
PROJECT = TEST_DATA / "build" / "project"

MESAP, AGRIFOOD = ID["polo/mesap"], ID["polo/agrifood"]
CAPOFILA, SOCIA = ID["impresa/capofila"], ID["impresa/socia"]
TORINO, CUNEO = ID["territorio/torino"], ID["territorio/cuneo"]


@pytest.fixture(scope="module")
def asserted() -> Graph:
    graph = Graph()
    for path in sorted(PROJECT.glob("ontology/*.ttl")) + sorted(PROJECT.glob("data/**/*.ttl")):
        graph.parse(path, format="turtle")
    return graph


@pytest.fixture(scope="module")
def inferred(asserted) -> Graph:
    return infer(asserted)


def test_superclass_typing(inferred):
    assert (MESAP, RDF.type, PKG.Organizzazione) in inferred
    assert (CAPOFILA, RDF.type, PKG.Organizzazione) in inferred


def test_subproperty(inferred):
    # polo:mesap pkg:haCapofila impresa:capofila, haCapofila ⊑ haMembro
    assert (MESAP, PKG.haMembro, CAPOFILA) in inferred


def test_inverse_both_ways(inferred):
    # via the subproperty, then owl:inverseOf
    assert (CAPOFILA, PKG.membroDi, MESAP) in inferred
    # asserted membroDi gives the inverse haMembro
    assert (AGRIFOOD, PKG.haMembro, SOCIA) in inferred


def test_property_chain(inferred):
    # operaIn = membroDi o sedeIn
    assert (CAPOFILA, PKG.operaIn, TORINO) in inferred
    assert (SOCIA, PKG.operaIn, CUNEO) in inferred
    # capofila is not a member of agrifood, so it does not operate in Cuneo
    assert (CAPOFILA, PKG.operaIn, CUNEO) not in inferred


def test_schema_consequences_kept(inferred):
    # domain Polo and Polo ⊑ Organizzazione
    assert (PKG.haMembro, RDFS.domain, PKG.Organizzazione) in inferred


def test_asserted_triples_are_not_inferred(asserted, inferred):
    assert len(inferred) > 0
    assert not [t for t in inferred if t in asserted]


def test_no_noise(inferred):
    for s, p, o in inferred:
        assert not isinstance(s, Literal), (s, p, o)
        assert not (p == OWL.sameAs and s == o), (s, p, o)
        assert not (p in (RDFS.subClassOf, RDFS.subPropertyOf, OWL.equivalentClass,
                          OWL.equivalentProperty) and s == o), (s, p, o)
        assert o not in (OWL.Thing, RDFS.Resource), (s, p, o)
        assert not str(s).startswith((str(RDF), str(RDFS), str(OWL), str(ns.XSD))), (s, p, o)
    assert not list(inferred.triples((None, OWL.sameAs, None)))


def test_input_not_modified(asserted):
    before = len(asserted)
    infer(asserted)
    assert len(asserted) == before


def test_inconsistency_is_reported_not_inferred(asserted):
    graph = Graph()
    graph += asserted
    graph.add((PKG.Polo, OWL.disjointWith, PKG.Impresa))
    graph.add((CAPOFILA, RDF.type, PKG.Polo))
    result = reason(graph)
    assert result.errors
    assert any("capofila" in e for e in result.errors)
    # owlrl's error-message nodes do not leak into the inferred graph
    assert not [t for t in result.inferred if "daml.org" in " ".join(map(str, t))]
    assert reason(asserted).errors == ()


@pytest.mark.parametrize("triple, noise", [
    ((Literal("x"), OWL.sameAs, Literal("x")), True),
    ((ns.XSD.int, RDF.type, RDFS.Datatype), True),
    ((OWL.Nothing, RDFS.subClassOf, PKG.Polo), True),
    ((PKG.Polo, RDFS.subClassOf, PKG.Polo), True),
    ((PKG.nome, RDFS.subPropertyOf, PKG.nome), True),
    ((PKG.Polo, OWL.equivalentClass, PKG.Polo), True),
    ((BNode("b"), OWL.sameAs, BNode("b")), True),
    ((MESAP, RDF.type, OWL.Thing), True),
    ((MESAP, RDF.type, RDFS.Resource), True),
    ((PKG.Polo, RDFS.subClassOf, OWL.Thing), True),
    ((PKG.haMembro, RDFS.range, OWL.Thing), True),
    ((MESAP, RDF.type, PKG.Organizzazione), False),
    ((MESAP, OWL.sameAs, URIRef("http://www.wikidata.org/entity/Q1")), False),
    ((PKG.Polo, RDFS.subClassOf, PKG.Organizzazione), False),
])
def test_is_noise(triple, noise):
    assert is_noise(triple) is noise
