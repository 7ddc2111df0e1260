"""IRIs of poli-kg and of the vocabularies it reuses, bound once.

The base IRI is set here and nowhere else in the code; the Turtle files under
ontology/, data/ and shapes/ spell it in their prefix declarations, and a test
checks that they agree with ``BASE``.
"""

from rdflib import Graph, Namespace, URIRef
from rdflib.namespace import DefinedNamespace
from rdflib.namespace import (
    DCAT, DCTERMS, FOAF, ORG, OWL, PROV, QB, RDF, RDFS, SH, SKOS, TIME, VOID, XSD,
)

BASE = "https://w3id.org/poli-kg/"

ONTOLOGY_IRI = BASE + "ontology"
DATASET = URIRef(BASE + "dataset")
"""The dataset: the live data, which the catalogue and VoID describe and the releases version."""


class PKG(DefinedNamespace):
    """The poli-kg ontology (ontology/poli-kg.ttl); a test keeps this list equal to the file."""

    _NS = Namespace(ONTOLOGY_IRI + "#")
    _fail = True

    # classes
    AgendaStrategicaDiRicerca: URIRef
    AmbitoTecnologico: URIRef
    AreaTematica: URIRef
    AssociazioneTemporaneaDiImprese: URIRef
    Bando: URIRef
    CategoriaDestinatari: URIRef
    ClusterTecnologicoNazionale: URIRef
    Consorzio: URIRef
    Estratto: URIRef
    EventoStorico: URIRef
    Fondazione: URIRef
    FondoEuropeo: URIRef
    Indicatore: URIRef
    Misura: URIRef
    PartecipazioneACluster: URIRef
    Periodo: URIRef
    PoloDiInnovazione: URIRef
    ProgrammaOperativo: URIRef
    QualificatoreValore: URIRef
    RuoloNelCluster: URIRef
    SistemaRegionalePoli: URIRef
    Societa: URIRef
    SoggettoGestore: URIRef
    StrategiaDiSpecializzazioneIntelligente: URIRef
    TipologiaAderente: URIRef
    # properties
    approccio: URIRef
    areaTematica: URIRef
    collaboraConPaese: URIRef
    componenteDi: URIRef
    comprendePolo: URIRef
    destinatari: URIRef
    disaggregazione: URIRef
    espressioneOriginale: URIRef
    fondo: URIRef
    gestisce: URIRef
    haComponente: URIRef
    haPartecipazione: URIRef
    haPoloPartecipante: URIRef
    haSoggettoGestore: URIRef
    inLineaCon: URIRef
    indicatore: URIRef
    istituitoDa: URIRef
    missione: URIRef
    modelloDiRiferimento: URIRef
    nelProgramma: URIRef
    oggettoRilevazione: URIRef
    parteDelSistema: URIRef
    partecipaACluster: URIRef
    periodo: URIRef
    prevede: URIRef
    primoInItalia: URIRef
    qualificatoreValore: URIRef
    rigaFinale: URIRef
    rigaIniziale: URIRef
    sezione: URIRef
    territorio: URIRef


ID = Namespace(BASE + "id/")              # instance data
GRAPH = Namespace(BASE + "graph/")        # named graphs
SHAPES = Namespace(BASE + "shapes#")      # SHACL shapes

# Named graphs of the dataset; their union is the default graph.
GRAPH_ONTOLOGY = GRAPH.ontology
GRAPH_DATA = GRAPH.data
GRAPH_PROVENANCE = GRAPH.provenance
GRAPH_INFERRED = GRAPH.inferred
NAMED_GRAPHS = (GRAPH_ONTOLOGY, GRAPH_DATA, GRAPH_PROVENANCE, GRAPH_INFERRED)

SCHEMA = Namespace("http://schema.org/")  # as in OntoPiA
COV = Namespace("https://w3id.org/italia/onto/COV/")
L0 = Namespace("https://w3id.org/italia/onto/l0/")
DCATAPIT = Namespace("http://dati.gov.it/onto/dcatapit#")
SDMX_DIMENSION = Namespace("http://purl.org/linked-data/sdmx/2009/dimension#")
SDMX_MEASURE = Namespace("http://purl.org/linked-data/sdmx/2009/measure#")
SDMX_ATTRIBUTE = Namespace("http://purl.org/linked-data/sdmx/2009/attribute#")
SD = Namespace("http://www.w3.org/ns/sparql-service-description#")
VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")
ADMS = Namespace("http://www.w3.org/ns/adms#")
SPDX = Namespace("http://spdx.org/rdf/terms#")
UNIT = Namespace("http://qudt.org/vocab/unit/")
WD = Namespace("http://www.wikidata.org/entity/")
EU_COUNTRY = Namespace("http://publications.europa.eu/resource/authority/country/")
EU_CURRENCY = Namespace("http://publications.europa.eu/resource/authority/currency/")
EU_LANGUAGE = Namespace("http://publications.europa.eu/resource/authority/language/")
EU_FILE_TYPE = Namespace("http://publications.europa.eu/resource/authority/file-type/")
EU_THEME = Namespace("http://publications.europa.eu/resource/authority/data-theme/")
EU_FREQUENCY = Namespace("http://publications.europa.eu/resource/authority/frequency/")
LEGAL_STATUS = Namespace(
    "https://w3id.org/italia/controlled-vocabulary/classifications-for-organizations/legal-status/"
)

PREFIXES = {
    "pkg": PKG, "poli": ID, "rdf": RDF, "rdfs": RDFS, "owl": OWL, "xsd": XSD,
    "skos": SKOS, "dct": DCTERMS, "foaf": FOAF, "org": ORG, "prov": PROV,
    "qb": QB, "schema": SCHEMA, "dcat": DCAT, "time": TIME, "void": VOID, "sh": SH,
    "cov": COV, "l0": L0, "dcatapit": DCATAPIT, "sdmx-dimension": SDMX_DIMENSION,
    "sdmx-measure": SDMX_MEASURE, "sdmx-attribute": SDMX_ATTRIBUTE, "sd": SD,
    "vcard": VCARD, "adms": ADMS, "spdx": SPDX, "unit": UNIT, "wd": WD,
    "eu-country": EU_COUNTRY, "eu-currency": EU_CURRENCY, "legal-status": LEGAL_STATUS,
}


def bind_prefixes(graph: Graph) -> Graph:
    """Bind the project's prefixes on ``graph`` (replacing rdflib's defaults) and return it."""
    for prefix, namespace in PREFIXES.items():
        graph.bind(prefix, namespace, override=True, replace=True)
    return graph


def sparql_prologue() -> str:
    """PREFIX declarations for every project prefix, for queries and the query page."""
    return "".join(f"PREFIX {p}: <{ns}>\n" for p, ns in PREFIXES.items())
