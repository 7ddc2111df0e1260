"""The compiled OWL 2 RL rules (poli_kg.graph.rules) infer exactly what owlrl infers.

The proof is by comparison with owlrl, the reference, after the same noise filter: on the real
graph, on the real graph plus generated data, on graphs built to exercise each rule, and on
seeded random ontologies with random data.  Inconsistency messages must agree too.
"""

from __future__ import annotations

import importlib.util
import logging
import random

import pytest
from rdflib import BNode, Graph, Literal, Namespace
from rdflib import namespace as ns
from rdflib.collection import Collection

from tests.conftest import ROOT
from poli_kg.graph import reasoning
from poli_kg.graph import rules
from poli_kg.graph.rdfterms import to_ox, to_rdflib
from poli_kg.graph.schema import read_schema
from poli_kg.graph.sources import Sources, load

OWL, RDF, RDFS, XSD = ns.OWL, ns.RDF, ns.RDFS, ns.XSD
EX = Namespace("http://example.org/")


def generated(triples: int, seed: int = 0) -> list:
    spec = importlib.util.spec_from_file_location("bench_generate", ROOT / "bench" / "generate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.generate(triples, seed)


def as_set(graph: Graph) -> set:
    return {tuple(to_ox(t) for t in triple) for triple in graph}


def assert_same(graph: Graph) -> reasoning.Inference:
    """owlrl and the rules infer the same triples and report the same inconsistencies."""
    reference = reasoning.reason(graph, "owlrl")
    compiled = reasoning.reason(graph, "rules")
    assert compiled.reasoner == "rules", compiled.note
    missing = as_set(reference.inferred) - as_set(compiled.inferred)
    extra = as_set(compiled.inferred) - as_set(reference.inferred)
    assert not missing and not extra, (sorted(map(str, missing))[:10], sorted(map(str, extra))[:10])
    assert compiled.errors == reference.errors
    return compiled


@pytest.fixture(scope="module")
def real() -> Graph:
    return load(Sources(ROOT)).asserted()


# --------------------------------------------------------------------------- the real graph

def test_rules_equal_owlrl_on_the_real_graph(real):
    result = assert_same(real)
    assert len(result.inferred) > 300 and result.errors == ()


def test_rules_equal_owlrl_on_real_plus_generated_data(real, tmp_path):
    graph = Graph()
    graph += real
    for t in generated(2000):
        graph.add((to_rdflib(t.subject), to_rdflib(t.predicate), to_rdflib(t.object)))
    result = assert_same(graph)
    assert len(result.inferred) > len(reasoning.reason(real).inferred)


def test_close_keeps_the_closure_in_the_store(real):
    triples = reasoning._ox_triples(real)
    closure = reasoning.close(triples)
    assert closure.reasoner == "rules" and closure.errors == ()
    assert set(closure.inferred) == set(reasoning._ox_triples(reasoning.infer(real)))
    assert len(closure.store) == len(set(triples) | set(closure.inferred))


def test_the_rules_come_from_the_ontology(real):
    store = rules.Store()
    store.bulk_extend(rules.Quad(t.subject, t.predicate, t.object, rules.DefaultGraph())
                      for t in reasoning._ox_triples(real))
    text = rules.describe(read_schema(store))
    for expected in ("[cax-sco] ?x a pkg:Societa → ?x a cov:Organization, org:FormalOrganization, "
                     "schema:Corporation",
                     "[prp-spo2] pkg:haPartecipazione / org:organization → pkg:partecipaACluster",
                     "[prp-inv] ?x org:member ?y → ?y pkg:haPartecipazione ?x",
                     "[prp-fp] pkg:haSoggettoGestore functional"):
        assert expected in text
    assert "prp-trp" not in text  # no transitive property in the ontology: no such rule


# --------------------------------------------------------------------------- each rule

def ontology(*triples) -> Graph:
    graph = Graph()
    for t in triples:
        graph.add(t)
    return graph


def chain(graph: Graph, head: BNode, *properties) -> BNode:
    Collection(graph, head, list(properties))
    return head


def test_class_and_property_hierarchies():
    g = ontology(
        (EX.A, RDF.type, OWL.Class), (EX.B, RDF.type, OWL.Class),
        (EX.A, RDFS.subClassOf, EX.B), (EX.B, RDFS.subClassOf, EX.C), (EX.C, OWL.equivalentClass, EX.D),
        (EX.D, RDFS.subClassOf, EX.A),                       # a cycle: all equivalent
        (EX.p, RDFS.subPropertyOf, EX.q), (EX.q, OWL.equivalentProperty, EX.r),
        (EX.r, RDFS.domain, EX.A), (EX.q, RDFS.range, EX.B),
        (EX.x, EX.p, EX.y), (EX.z, RDF.type, EX.D))
    result = assert_same(g)
    assert (EX.A, OWL.equivalentClass, EX.C) in result.inferred
    assert (EX.x, EX.r, EX.y) in result.inferred and (EX.y, RDF.type, EX.D) in result.inferred


def test_inverse_symmetric_transitive_and_chains():
    g = ontology(
        (EX.parent, OWL.inverseOf, EX.child), (EX.sibling, RDF.type, OWL.SymmetricProperty),
        (EX.ancestor, RDF.type, OWL.TransitiveProperty), (EX.parent, RDFS.subPropertyOf, EX.ancestor),
        (EX.x1, EX.parent, EX.x2), (EX.x2, EX.parent, EX.x3), (EX.x3, EX.parent, EX.x4),
        (EX.x2, EX.sibling, EX.y2), (EX.y2, EX.livesIn, EX.town), (EX.town, EX.partOf, EX.region))
    g.add((EX.uncleLivesIn, OWL.propertyChainAxiom, chain(g, BNode(), EX.parent, EX.sibling,
                                                            EX.livesIn, EX.partOf)))
    result = assert_same(g)
    assert (EX.x1, EX.ancestor, EX.x4) in result.inferred
    assert (EX.x1, EX.uncleLivesIn, EX.region) in result.inferred
    assert (EX.x4, EX.child, EX.x3) in result.inferred


def test_equality_from_functional_properties_spreads():
    g = ontology(
        (EX.hasMayor, RDF.type, OWL.FunctionalProperty), (EX.code, RDF.type, OWL.InverseFunctionalProperty),
        (EX.town, EX.hasMayor, EX.m1), (EX.town, EX.hasMayor, EX.m2), (EX.m1, EX.bornIn, EX.turin),
        (EX.a, EX.code, Literal("X1")), (EX.b, EX.code, Literal("X1")), (EX.b, EX.knows, EX.m2),
        (EX.m2, OWL.sameAs, EX.m3))
    result = assert_same(g)
    assert (EX.m3, EX.bornIn, EX.turin) in result.inferred
    assert (EX.a, EX.knows, EX.m3) in result.inferred


def test_equality_between_classes_changes_the_schema():
    """The data entail a schema axiom (through owl:sameAs): the rules are compiled again."""
    g = ontology((EX.A, RDFS.subClassOf, EX.B), (EX.A2, OWL.sameAs, EX.A), (EX.x, RDF.type, EX.A2))
    result = assert_same(g)
    assert (EX.A2, RDFS.subClassOf, EX.B) in result.inferred
    assert (EX.x, RDF.type, EX.B) in result.inferred


def test_inconsistencies_are_owlrls_messages():
    g = ontology(
        (EX.A, OWL.disjointWith, EX.B), (EX.x, RDF.type, EX.A), (EX.x, RDF.type, EX.B),
        (EX.n, RDF.type, OWL.Nothing),
        (EX.p, RDF.type, OWL.IrreflexiveProperty), (EX.y, EX.p, EX.y),
        (EX.q, RDF.type, OWL.AsymmetricProperty), (EX.y, EX.q, EX.z), (EX.z, EX.q, EX.y),
        (EX.r, OWL.propertyDisjointWith, EX.s), (EX.y, EX.r, EX.z), (EX.y, EX.s, EX.z),
        (EX.u, OWL.sameAs, EX.v), (EX.u, OWL.differentFrom, EX.v),
        (EX.w, EX["count"], Literal("many", datatype=XSD.integer)),
        (EX.when, RDFS.range, XSD.dateTime), (EX.w, EX.when, Literal(3)))
    result = assert_same(g)
    assert len(result.errors) >= 7


@pytest.mark.parametrize("triple, why", [
    ((EX.A, OWL.intersectionOf, EX.list), "intersectionOf"),
    ((EX.R, OWL.someValuesFrom, EX.B), "someValuesFrom"),
    ((EX.x, RDF.type, XSD.integer), "typed with a datatype"),
])
def test_unsupported_axioms_fall_back_to_owlrl(triple, why):
    g = ontology(triple, (EX.A, RDFS.subClassOf, EX.B))
    result = reasoning.reason(g)
    assert result.reasoner == "owlrl" and why in result.note
    assert as_set(result.inferred) == as_set(reasoning.reason(g, "owlrl").inferred)


def test_literal_equalities_fall_back_to_owlrl():
    g = ontology((EX.age, RDF.type, OWL.FunctionalProperty),
                 (EX.x, EX.age, Literal(3)), (EX.x, EX.age, Literal(4)))
    result = reasoning.reason(g)
    assert result.reasoner == "owlrl" and "literal" in result.note


# --------------------------------------------------------------------------- random graphs

def random_graph(rng: random.Random) -> Graph:
    """A small random ontology over 5 classes and 5 properties, with random data."""
    g = Graph()
    C = [EX[f"C{i}"] for i in range(5)]
    P = [EX[f"p{i}"] for i in range(5)]
    objects, literal_properties = P[:3], P[3:]
    individuals = [EX[f"i{i}"] for i in range(6)]
    pick = rng.choice
    for c in C:
        if rng.random() < 0.7:
            g.add((c, RDF.type, OWL.Class))
    for _ in range(rng.randint(0, 6)):
        g.add((pick(C), RDFS.subClassOf, pick(C + [OWL.Thing])))
    for _ in range(rng.randint(0, 2)):
        g.add((pick(C), OWL.equivalentClass, pick(C)))
    for _ in range(rng.randint(0, 4)):
        g.add((pick(P), RDFS.subPropertyOf, pick(P)))
    for _ in range(rng.randint(0, 2)):
        g.add((pick(P), OWL.equivalentProperty, pick(P)))
    for _ in range(rng.randint(0, 3)):
        g.add((pick(P), RDFS.domain, pick(C)))
    for _ in range(rng.randint(0, 3)):
        g.add((pick(P), RDFS.range, pick(C + [XSD.integer, XSD.string])))
    for _ in range(rng.randint(0, 2)):
        g.add((pick(objects), OWL.inverseOf, pick(objects)))
    if rng.random() < 0.25:
        g.add((pick(objects), RDF.type, OWL.SymmetricProperty))
    for kind in (OWL.TransitiveProperty, OWL.FunctionalProperty, OWL.InverseFunctionalProperty,
                 OWL.AsymmetricProperty, OWL.IrreflexiveProperty, OWL.ObjectProperty):
        if rng.random() < 0.25:
            g.add((pick(P), RDF.type, kind))
    if rng.random() < 0.3:
        g.add((pick(C), OWL.disjointWith, pick(C)))
    if rng.random() < 0.2:
        g.add((pick(P), OWL.propertyDisjointWith, pick(P)))
    if rng.random() < 0.4:
        g.add((pick(P), OWL.propertyChainAxiom,
               chain(g, BNode(), *(pick(P) for _ in range(rng.randint(1, 3))))))
    for _ in range(rng.randint(0, 12)):
        g.add((pick(individuals), pick(P), pick(individuals)))
    for _ in range(rng.randint(0, 4)):
        g.add((pick(individuals), RDF.type, pick(C)))
    for _ in range(rng.randint(0, 3)):
        g.add((pick(individuals), pick(literal_properties),
               pick([Literal(1), Literal("a"), Literal("x", datatype=XSD.integer), Literal("b", lang="it")])))
    if rng.random() < 0.2:
        g.add((pick(individuals), OWL.sameAs, pick(individuals)))
    if rng.random() < 0.2:
        g.add((pick(individuals), OWL.differentFrom, pick(individuals)))
    return g


def test_rules_equal_owlrl_on_random_graphs():
    logging.disable(logging.CRITICAL)   # rdflib logs every ill-typed literal it converts
    try:
        compared, fallbacks, names = 0, 0, set()
        for seed in range(100):
            graph = random_graph(random.Random(seed))
            triples = reasoning._ox_triples(graph)
            try:
                inferred, errors = rules.closure(triples)
            except rules.Unsupported:
                fallbacks += 1
                continue
            reference = reasoning.reason(graph, "owlrl")
            assert set(inferred) == set(reasoning._ox_triples(reference.inferred)), seed
            assert errors == reference.errors, seed
            compared += 1
            store = rules.Store()
            store.bulk_extend(rules.Quad(t.subject, t.predicate, t.object, rules.DefaultGraph())
                              for t in triples)
            names |= {rule.names for rule in rules.compile_rules(read_schema(store))}
    finally:
        logging.disable(logging.NOTSET)
    assert compared >= 50, (compared, fallbacks)
    for family in ("cax-sco", "prp-spo2", "prp-trp", "prp-fp", "prp-ifp"):
        assert family in names
    assert any("prp-inv" in n for n in names) and any("prp-dom" in n for n in names)
