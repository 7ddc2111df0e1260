"""Each SHACL shape catches what it is for: the real data pass; a small, targeted break of the
real data (a SPARQL Update) makes exactly that shape report it."""

import pytest
from rdflib import Graph
from rdflib.namespace import SH

from poli_kg.namespaces import PREFIXES, SHAPES
from poli_kg.graph.reasoning import infer
from poli_kg.graph.validation import validate
from tests.conftest import ROOT

PROLOGUE = "".join(f"PREFIX {p}: <{ns}>\n" for p, ns in PREFIXES.items()) + """
PREFIX ente: <https://w3id.org/poli-kg/id/organizzazione/>
PREFIX polo: <https://w3id.org/poli-kg/id/polo/>
PREFIX ctn: <https://w3id.org/poli-kg/id/cluster-nazionale/>
PREFIX obs: <https://w3id.org/poli-kg/id/osservazione/>
PREFIX area: <https://w3id.org/poli-kg/id/scheme/aree-tematiche/>
PREFIX programma: <https://w3id.org/poli-kg/id/programma/>
PREFIX legal: <https://w3id.org/italia/controlled-vocabulary/classifications-for-organizations/legal-status/>
PREFIX estratto: <https://w3id.org/poli-kg/id/fonte/poli-di-innovazione-piemonte-2017/estratto/>
PREFIX unit: <http://qudt.org/vocab/unit/>
"""


@pytest.fixture(scope="module")
def shapes():
    graph = Graph()
    for path in ROOT.glob("shapes/*.ttl"):
        graph.parse(path)
    return graph


@pytest.fixture(scope="module")
def closure():
    """Ontology + data + their OWL RL inferences, as the build validates them."""
    graph = Graph()
    for path in [*ROOT.glob("ontology/*.ttl"), *ROOT.glob("data/**/*.ttl")]:
        graph.parse(path)
    graph += infer(graph)
    return graph


def only(shapes: Graph, name: str) -> Graph:
    """The shapes graph with every node shape but ``name`` disarmed (targets removed)."""
    kept = Graph()
    kept += shapes
    for shape in set(shapes.subjects(None, SH.NodeShape)):
        if shape != SHAPES[name]:
            for target in (SH.targetClass, SH.targetNode, SH.targetSubjectsOf, SH.targetObjectsOf, SH.target):
                kept.remove((shape, target, None))
    return kept


def test_real_data_conform_with_only_the_members_warning(closure, shapes):
    report = validate(closure, shapes)
    assert [r for r in report.results if r.severity == SH.Violation] == []
    warnings = [r for r in report.results if r.severity == SH.Warning]
    assert len(warnings) == 1
    assert "1094" in warnings[0].message and "1194" in warnings[0].message


BREAKS = [
    ("PoloDiInnovazione_Shape", "DELETE WHERE { polo:mesap foaf:homepage ?h }", "website"),
    ("PoloDiInnovazione_Shape", "DELETE WHERE { polo:ict pkg:areaTematica ?a }", "thematic area"),
    ("PoloDiInnovazione_Shape", "INSERT DATA { polo:ict pkg:haSoggettoGestore ente:miac }", "managing body"),
    ("PoloDiInnovazione_Shape", 'DELETE DATA { polo:pointex rdfs:label "Pointex – Textiles"@en }', "English"),
    ("PoloDiInnovazione_IRI_Shape", "INSERT DATA { <https://example.org/polo> a pkg:PoloDiInnovazione }", "IRI must be"),
    ("SistemaRegionalePoli_Shape", "DELETE { ?s pkg:missione ?m } WHERE { ?s pkg:missione ?m FILTER (lang(?m) = 'en') }", "mission"),
    ("SoggettoGestore_Shape", "DELETE DATA { ente:miac a pkg:Societa }", "company, a consortium"),
    ("Societa_Shape", "DELETE { ente:citta-studi cov:hasLegalStatus ?l } INSERT { ente:citta-studi cov:hasLegalStatus legal:1720 } WHERE { ente:citta-studi cov:hasLegalStatus ?l }", "legal form"),
    ("Consorzio_Shape", "DELETE WHERE { ente:proplast cov:hasLegalStatus ?l }", "Consorzio di diritto privato"),
    ("Fondazione_Shape", "DELETE { ente:torino-wireless cov:hasLegalStatus ?l } INSERT { ente:torino-wireless cov:hasLegalStatus legal:1310 } WHERE { ente:torino-wireless cov:hasLegalStatus ?l }", "Fondazione"),
    ("AssociazioneTemporaneaDiImprese_Shape", "DELETE DATA { ente:ats-clever pkg:haComponente ente:univer }", "at least two"),
    ("LegalStatus_Shape", "DELETE WHERE { legal:1310 skos:notation ?n }", "ISTAT code"),
    ("ClusterTecnologicoNazionale_Shape", "DELETE WHERE { ctn:agrifood pkg:haPoloPartecipante ?p }", "participating"),
    ("PartecipazioneACluster_Shape", "DELETE { ?m org:role ?r } WHERE { ?m org:member polo:ict ; org:role ?r }", "role"),
    ("ConceptScheme_Shape", "DELETE { ?s skos:hasTopConcept ?c } WHERE { ?s skos:hasTopConcept ?c ; rdfs:label \"Tipologie di aderenti\"@it }", "top concept"),
    ("Concept_Shape", "DELETE { area:tessile skos:notation ?n } INSERT { area:tessile skos:notation \"textile\" } WHERE { area:tessile skos:notation ?n }", "scheme IRI + '/' + code"),
    ("ProgrammaOperativo_Shape", "DELETE WHERE { programma:por-fesr-2014-2020 pkg:periodo ?p }", "programming period"),
    ("Misura_Shape", "DELETE { obs:contributi-concessi-misure-poli-2007-2013 sdmx-measure:obsValue ?v } INSERT { obs:contributi-concessi-misure-poli-2007-2013 sdmx-measure:obsValue 300000000.0 } WHERE { obs:contributi-concessi-misure-poli-2007-2013 sdmx-measure:obsValue ?v }", "exceed the investment"),
    ("Bando_Shape", "DELETE { obs:progetti-finanziati-linea-b sdmx-measure:obsValue ?v } INSERT { obs:progetti-finanziati-linea-b sdmx-measure:obsValue 60 } WHERE { obs:progetti-finanziati-linea-b sdmx-measure:obsValue ?v }", "exceed projects submitted"),
    ("Bando_Shape", "DELETE { obs:contributi-concessi-linea-a sdmx-measure:obsValue ?v } INSERT { obs:contributi-concessi-linea-a sdmx-measure:obsValue 60000000.0 } WHERE { obs:contributi-concessi-linea-a sdmx-measure:obsValue ?v }", "exceed the investment"),
    ("EventoStorico_Shape", "DELETE { ?e schema:startDate ?d } INSERT { ?e schema:startDate \"duemilanove\" } WHERE { ?e a pkg:EventoStorico ; schema:startDate ?d FILTER (STR(?d) = '2009') }", "year"),
    ("Periodo_Shape", "DELETE { ?p schema:endDate ?d } INSERT { ?p schema:endDate \"2000-01-01\"^^xsd:date } WHERE { ?p rdfs:label \"2009\"@it ; schema:endDate ?d }", "start date"),
    ("StrategiaDiSpecializzazioneIntelligente_Shape", "DELETE { ?s prov:wasDerivedFrom ?e } WHERE { ?s a pkg:StrategiaDiSpecializzazioneIntelligente ; prov:wasDerivedFrom ?e }", "source"),
    ("Country_Shape", "DELETE DATA { <https://w3id.org/poli-kg/id/luogo/francia> skos:exactMatch <http://www.wikidata.org/entity/Q142> }", "Wikidata"),
    ("DataSet_Shape", "DELETE { ?d qb:structure ?s } WHERE { ?d a qb:DataSet ; qb:structure ?s }", "structure"),
    ("Observation_Shape", "DELETE { obs:brevetti-agrifood-2007-2013 sdmx-attribute:unitMeasure ?u } INSERT { obs:brevetti-agrifood-2007-2013 sdmx-attribute:unitMeasure unit:KiloGM } WHERE { obs:brevetti-agrifood-2007-2013 sdmx-attribute:unitMeasure ?u }", "unit"),
    ("Observation_Shape", "DELETE { obs:tasso-partecipazione-agende-2007-2013 sdmx-measure:obsValue ?v } INSERT { obs:tasso-partecipazione-agende-2007-2013 sdmx-measure:obsValue 149.0 } WHERE { obs:tasso-partecipazione-agende-2007-2013 sdmx-measure:obsValue ?v }", "between 0 and 100"),
    ("Observation_Shape", "DELETE WHERE { obs:numero-poli-2009 sdmx-dimension:refPeriod ?p }", "reference period"),
    ("Observation_Shape", "DELETE WHERE { obs:numero-poli-2009 prov:wasDerivedFrom ?e }", "source"),
    ("Observation_IRI_Shape", "INSERT DATA { <urn:x-obs:1> a qb:Observation }", "IRI must be"),
    ("Estratto_Shape", "DELETE { estratto:brevetti pkg:rigaFinale ?l } INSERT { estratto:brevetti pkg:rigaFinale 2 } WHERE { estratto:brevetti pkg:rigaFinale ?l }", "first line"),
    ("Ontology_Shape", "DELETE { ?o dct:license ?l } WHERE { ?o a owl:Ontology ; dct:license ?l }", "licence"),
    ("Term_Shape", "DELETE { pkg:Bando skos:definition ?d } WHERE { pkg:Bando skos:definition ?d FILTER (lang(?d) = 'en') }", "definition"),
]


@pytest.mark.parametrize("shape, update, message", BREAKS, ids=[f"{b[0]}-{i}" for i, b in enumerate(BREAKS)])
def test_shape_catches_a_break(closure, shapes, shape, update, message):
    broken = Graph()
    broken += closure
    broken.update(PROLOGUE + update)
    assert set(broken) != set(closure), "the update changed nothing: the test would prove nothing"
    results = [r for r in validate(broken, only(shapes, shape)).results if r.severity == SH.Violation]
    assert results, f"{shape} did not report the break"
    assert any(message in r.message for r in results), [r.message for r in results]
    # the same shape has nothing to say about the unbroken data
    assert [r for r in validate(closure, only(shapes, shape)).results if r.severity == SH.Violation] == []


def test_members_warning_disappears_when_the_sum_matches(closure, shapes):
    fixed = Graph()
    fixed += closure
    fixed.update(PROLOGUE + """
        DELETE { obs:aderenti-totale-2017-06 sdmx-measure:obsValue ?v }
        INSERT { obs:aderenti-totale-2017-06 sdmx-measure:obsValue 1094 }
        WHERE { obs:aderenti-totale-2017-06 sdmx-measure:obsValue ?v }""")
    assert validate(fixed, only(shapes, "ObservationTotal_Shape")).results == ()
    assert len(validate(closure, only(shapes, "ObservationTotal_Shape")).results) == 1
