"""The ontology file: parses, documents every term in Italian and English, matches namespaces.PKG."""


import pytest
from rdflib import Graph, Literal
from rdflib.namespace import OWL, RDF, RDFS, SKOS

from tests.conftest import ROOT
from poli_kg.namespaces import BASE, ONTOLOGY_IRI, PKG



@pytest.fixture(scope="module")
def ontology():
    return Graph().parse(ROOT / "ontology" / "poli-kg.ttl")


def own_terms(graph):
    return {s for s in graph.subjects(RDF.type, None) if str(s).startswith(ONTOLOGY_IRI + "#")}


def test_ontology_header(ontology):
    onto = next(ontology.subjects(RDF.type, OWL.Ontology))
    assert str(onto) == ONTOLOGY_IRI
    assert ontology.value(onto, OWL.versionIRI) is not None
    assert ontology.value(onto, OWL.versionInfo) is not None


def test_defined_namespace_lists_exactly_the_ontology_terms(ontology):
    declared = {PKG[name] for name in PKG.__annotations__}
    assert declared == own_terms(ontology)


def test_every_term_has_italian_and_english_label_and_definition(ontology):
    terms = own_terms(ontology)
    assert len(terms) > 40
    for term in terms:
        for prop in (RDFS.label, SKOS.definition):
            langs = sorted(o.language for o in ontology.objects(term, prop) if isinstance(o, Literal))
            assert langs == ["en", "it"], f"{term} {prop}: {langs}"


@pytest.mark.parametrize(
    "term, superclass",
    [
        (PKG.PoloDiInnovazione, "http://www.w3.org/ns/org#Organization"),
        (PKG.Societa, "https://w3id.org/italia/onto/COV/Organization"),
        (PKG.PartecipazioneACluster, "http://www.w3.org/ns/org#Membership"),
        (PKG.AreaTematica, "http://www.w3.org/2004/02/skos/core#Concept"),
        (PKG.Estratto, "http://www.w3.org/ns/prov#Entity"),
    ],
)
def test_classes_are_aligned_to_standard_vocabularies(ontology, term, superclass):
    assert superclass in {str(o) for o in ontology.objects(term, RDFS.subClassOf)}


def test_turtle_files_spell_the_base_iri_from_namespaces():
    """Every prefix declaration under our domain agrees with namespaces.BASE."""
    for path in [*ROOT.glob("ontology/*.ttl"), *ROOT.glob("data/**/*.ttl"), *ROOT.glob("shapes/*.ttl")]:
        graph = Graph().parse(path)
        for prefix, namespace in graph.namespaces():
            if "poli-kg" in str(namespace):
                assert str(namespace).startswith(BASE), f"{path.name}: {prefix} -> {namespace}"
