"""The shapes compiled to SPARQL (poli_kg.graph.shaclsparql) report what pyshacl reports.

Compared on the real graph and on the real graph with every targeted break of test_shapes.py
(and more) applied at once; test_generate.py compares them on the real graph plus generated
data.  Oxigraph keeps numbers in
canonical form, so ``149.0`` may come back as ``149``: numbers are compared canonically.
"""

from __future__ import annotations

import json
import logging
import re

import pyoxigraph as ox
import pytest
from rdflib import Graph
from rdflib.namespace import SH

from tests.conftest import ROOT
from poli_kg.graph import reasoning
from poli_kg.graph import shaclsparql
from poli_kg.graph.rdfterms import to_ox
from poli_kg.graph.validation import validate
from tests.dataset.test_shapes import BREAKS, PROLOGUE

MORE_BREAKS = [
    'DELETE DATA { legal:1310 rdfs:label "Joint-stock company"@en }',
    'INSERT DATA { legal:1310 rdfs:label "Joint-stock company 2"@en, "Altro"@it, "x"@EN }',
    'INSERT DATA { polo:ict rdfs:label "ICT"^^xsd:string, <http://example.org/x> }',
    'INSERT DATA { obs:numero-poli-2009 sdmx-measure:obsValue "abc"^^xsd:decimal }',
    'INSERT DATA { obs:numero-poli-2011 sdmx-measure:obsValue "-5"^^xsd:integer, "x" }',
    'INSERT DATA { estratto:brevetti pkg:rigaIniziale "0"^^xsd:integer }',
    'INSERT DATA { estratto:brevetti prov:value "" , "x"@en }',
    'INSERT DATA { pkg:Nuovo a owl:Class }',
    'INSERT DATA { _:b a pkg:PoloDiInnovazione ; rdfs:label "x"@it }',
]


def canonical(text: str | None) -> str:
    return re.sub(r"(\d+)\.0\b", r"\1", text) if text is not None else ""


def results(report) -> list[str]:
    return sorted(json.dumps({k: canonical(v) for k, v in r.as_dict().items()}, sort_keys=True)
                  for r in report.results)


def store_of(graph: Graph) -> ox.Store:
    store = ox.Store()
    store.extend(ox.Quad(*(to_ox(t) for t in triple), ox.DefaultGraph())
                 for triple in graph)
    return store


def assert_same(graph: Graph, shapes: Graph):
    by_pyshacl = validate(graph, shapes)
    by_sparql = shaclsparql.validate(store_of(graph), shapes)
    assert results(by_sparql) == results(by_pyshacl)
    assert by_sparql.conforms == by_pyshacl.conforms
    return by_sparql


@pytest.fixture(scope="module")
def shapes() -> Graph:
    graph = Graph()
    for path in sorted(ROOT.glob("shapes/*.ttl")):
        graph.parse(path)
    return graph


@pytest.fixture(scope="module")
def closure() -> Graph:
    graph = Graph()
    for path in [*ROOT.glob("ontology/*.ttl"), *ROOT.glob("data/**/*.ttl")]:
        graph.parse(path)
    graph += reasoning.infer(graph)
    return graph


def test_real_graph(closure, shapes):
    report = assert_same(closure, shapes)
    (warning,) = report.results
    assert warning.severity == SH.Warning and "1094" in warning.message and "1194" in warning.message


def test_every_break_at_once(closure, shapes):
    broken = Graph()
    broken += closure
    for update in [b[1] for b in BREAKS] + MORE_BREAKS:
        broken.update(PROLOGUE + update)
    logging.disable(logging.CRITICAL)   # rdflib logs the ill-typed literals
    try:
        report = assert_same(broken, shapes)
    finally:
        logging.disable(logging.NOTSET)
    components = {r.constraint for r in report.results}
    assert len(report.violations) > 50 and len(components) >= 12


def test_reorder_keeps_the_answers(closure):
    store = store_of(closure)
    query = """PREFIX pkg: <https://w3id.org/poli-kg/ontology#>
        SELECT ?this ?o WHERE { ?x pkg:indicatore ?i . ?this pkg:indicatore ?i ;
            pkg:oggettoRilevazione ?o . FILTER (?x != ?this) OPTIONAL { ?o a ?t } } ORDER BY ?this ?o"""
    reordered = shaclsparql.reorder(query, store)
    assert reordered != query
    assert [tuple(r) for r in store.query(reordered)] == [tuple(r) for r in store.query(query)]
    assert shaclsparql.reorder("SELECT * WHERE { ?s ?p [ ?q ?o ] }", store) == \
        "SELECT * WHERE { ?s ?p [ ?q ?o ] }"   # outside the grammar: run as written


@pytest.mark.parametrize("shape, why", [
    ("[] a sh:NodeShape ; sh:targetClass ex:C ; sh:property [ sh:path ex:p ; sh:minCount 1 ] .",
     "no sh:message"),
    ("[] a sh:NodeShape ; sh:targetClass ex:C ; sh:property [ sh:path ( ex:p ex:q ) ; "
     "sh:minCount 1 ; sh:message 'm' ] .", "property path"),
    ("[] a sh:NodeShape ; sh:targetClass ex:C ; sh:node ex:S ; sh:message 'm' .", "shacl#node"),
])
def test_unsupported_shapes(shape, why):
    shapes = Graph().parse(data="@prefix sh: <http://www.w3.org/ns/shacl#> . "
                                "@prefix ex: <http://example.org/> . " + shape, format="turtle")
    with pytest.raises(shaclsparql.Unsupported, match=re.escape(why)):
        shaclsparql.validate(ox.Store(), shapes)
