"""The fixed terms of the dataset's description: the IRIs it describes, the controlled
vocabularies it cites, and its titles and descriptions in Italian and English.

Everything here is a constant; :mod:`poli_kg.web.base.dataset` puts it into the VoID and DCAT
graphs together with what the build and the store say.
"""

from __future__ import annotations

from rdflib import Namespace, URIRef
from rdflib.namespace import DCAT

from poli_kg.namespaces import (
    BASE, EU_FILE_TYPE, EU_FREQUENCY, EU_LANGUAGE, EU_THEME, GRAPH_DATA, GRAPH_INFERRED,
    GRAPH_ONTOLOGY, GRAPH_PROVENANCE, ID,
)

# -- what the documents describe
CATALOG = URIRef(BASE + "catalog")
SERVICE = URIRef(BASE + "dataset/service/sparql")
CONTACT_POINT = URIRef(BASE + "catalog#contact-point")
DISTRIBUTION = BASE + "dataset/distribution/"
"""Prefix of the distributions' IRIs: one per listed file of the build, by its name there
(``poli-kg.ttl``, ``csvw/aderenti.csv``, ``assets/controlled-vocabularies/…/….ttl``: the IRIs the
semantic assets give their own distributions)."""
PUBLISHER = ID["organizzazione/poli-kg"]
"""The publisher when the ontology names none."""

# -- the vocabularies cited
DCATAP = Namespace("http://data.europa.eu/r5r/")
IANA = Namespace("http://www.iana.org/assignments/media-types/")
W3C_FORMATS = Namespace("http://www.w3.org/ns/formats/")
ADMS_LICENCE_TYPE = Namespace("http://purl.org/adms/licencetype/")
ADMS_PUBLISHER_TYPE = Namespace("http://purl.org/adms/publishertype/")
EU_AVAILABILITY = Namespace("http://publications.europa.eu/resource/authority/planned-availability/")
# DCAT 3 terms, not in rdflib's closed DCAT namespace
DCAT_VERSION = URIRef(str(DCAT) + "version")
DCAT_HAS_CURRENT_VERSION = URIRef(str(DCAT) + "hasCurrentVersion")
DCAT_PREVIOUS_VERSION = URIRef(str(DCAT) + "previousVersion")
NUTS_PIEMONTE = URIRef("http://data.europa.eu/nuts/code/ITC1")
PIEMONTE = ID["luogo/piemonte"]
CC_BY = URIRef("https://creativecommons.org/licenses/by/4.0/")
SPARQL_PROTOCOL = URIRef("https://www.w3.org/TR/sparql11-protocol/")
CSVW = URIRef("http://www.w3.org/ns/csvw")
"""The standard a table's CSVW metadata conform to (the vocabulary their ``@context`` names)."""
CSVW_TITLE = {"en": "CSV on the Web: Metadata Vocabulary for Tabular Data"}
SCHEMES = {
    EU_THEME: URIRef("http://publications.europa.eu/resource/authority/data-theme"),
    EU_FILE_TYPE: URIRef("http://publications.europa.eu/resource/authority/file-type"),
    EU_LANGUAGE: URIRef("http://publications.europa.eu/resource/authority/language"),
    EU_FREQUENCY: URIRef("http://publications.europa.eu/resource/authority/frequency"),
    EU_AVAILABILITY: URIRef("http://publications.europa.eu/resource/authority/planned-availability"),
    ADMS_LICENCE_TYPE: URIRef("http://purl.org/adms/licencetype/1.0"),
    ADMS_PUBLISHER_TYPE: URIRef("http://purl.org/adms/publishertype/1.0"),
}
"""The concept scheme of each controlled vocabulary, by namespace."""
EXTRA_PREFIXES = {
    "dcatap": DCATAP, "iana": IANA, "formats": W3C_FORMATS, "eu-theme": EU_THEME,
    "eu-file-type": EU_FILE_TYPE, "eu-language": EU_LANGUAGE, "eu-frequency": EU_FREQUENCY,
}

# Temporal coverage: the two ERDF regional operational programmes of the source
# (POR FESR 2007-2013 and 2014-2020).
COVERAGE_START = "2007-01-01"
COVERAGE_END = "2020-12-31"

# -- titles and descriptions
TITLE = {
    "it": "Poli di Innovazione del Piemonte (poli-kg)",
    "en": "Innovation clusters of Piedmont (poli-kg)",
}
DESCRIPTION = {
    "it": "Grafo di conoscenza in formato linked open data sui sette Poli di Innovazione della "
          "Regione Piemonte: i poli e le loro aree tematiche, i soggetti gestori, la Strategia di "
          "Specializzazione Intelligente S3, i Cluster Tecnologici Nazionali, i programmi POR FESR "
          "e i loro bandi, e gli indicatori come osservazioni RDF Data Cube. Ogni fatto è "
          "collegato alla frase del rapporto della Regione Piemonte (2017) da cui deriva.",
    "en": "Linked-open-data knowledge graph of the seven innovation clusters (Poli di "
          "Innovazione) of the Piedmont Region: the clusters and their thematic areas, their "
          "managing bodies, the S3 Smart Specialisation Strategy, the Italian National Technology "
          "Clusters, the ERDF regional operational programmes and their calls, and the reported "
          "figures as RDF Data Cube observations. Every fact is linked to the sentence of the "
          "Piedmont Region's 2017 report it rests on.",
}
VOID_TITLE = {"it": "Descrizione VoID di poli-kg", "en": "VoID description of poli-kg"}
CATALOG_TITLE = {"it": "Catalogo dei dati di poli-kg", "en": "poli-kg data catalogue"}
CATALOG_DESCRIPTION = {
    "it": "Il catalogo DCAT-AP_IT dei dati pubblicati dal progetto poli-kg: il grafo dei Poli di "
          "Innovazione del Piemonte, le sue distribuzioni scaricabili e l'endpoint SPARQL.",
    "en": "The DCAT-AP_IT catalogue of the data published by the poli-kg project: the graph of "
          "Piedmont's innovation clusters, its downloadable distributions and the SPARQL endpoint.",
}
SERVICE_TITLE = {"it": "Endpoint SPARQL di poli-kg", "en": "poli-kg SPARQL endpoint"}
SERVICE_DESCRIPTION = {
    "it": "Endpoint SPARQL 1.1 (sola lettura) sul grafo completo: il grafo di default è "
          "l'unione dei quattro grafi con nome.",
    "en": "Read-only SPARQL 1.1 endpoint over the complete graph: the default graph is the "
          "union of the four named graphs.",
}
REPORT_TITLE = {"it": "Rapporto di validazione SHACL", "en": "SHACL validation report"}
THEME_SCHEME_TITLE = {"it": "Temi dei dati", "en": "Data theme"}
LICENCE_NAME = "Creative Commons Attribuzione 4.0 Internazionale (CC BY 4.0)"
KEYWORDS = (
    ("poli di innovazione", "it"), ("innovation clusters", "en"), ("Piemonte", "it"),
    ("Piedmont", "en"), ("S3", None), ("specializzazione intelligente", "it"),
    ("smart specialisation", "en"), ("POR FESR", "it"), ("ERDF", "en"),
    ("cluster tecnologici nazionali", "it"), ("linked open data", "en"),
)
SERVICE_KEYWORDS = (("SPARQL", None), ("linked open data", "en"))
THEMES = {
    "ECON": {"it": "Economia e finanze", "en": "Economy and finance"},
    "TECH": {"it": "Scienza e tecnologia", "en": "Science and technology"},
    "GOVE": {"it": "Governo e settore pubblico", "en": "Government and public sector"},
}
FREQUENCIES = {"IRREG": {"it": "irregolare", "en": "irregular"},
               "NEVER": {"it": "mai", "en": "never"}}
"""Update frequencies the catalogue can name (EU frequency codes), with their labels."""
LANGUAGES = {
    "ITA": {"it": "italiano", "en": "Italian"},
    "ENG": {"it": "inglese", "en": "English"},
}
RELEASE_DESCRIPTION = {
    "it": "Versione {version} di poli-kg, pubblicata il {issued}: una copia immutabile del grafo "
          "così com'era allora (i dump RDF, con le loro impronte SHA-256), da citare per "
          "riferirsi a quei dati.",
    "en": "Release {version} of poli-kg, published on {issued}: an immutable copy of the graph "
          "as it was then (the RDF dumps, with their SHA-256 digests), to cite when referring "
          "to that data.",
}
"""Description of a release (``{version}``, ``{issued}``: its version and date); its notes
(``adms:versionNotes``) say what changed."""
CONTENT_TITLE = {
    "complete": {"it": "Dataset completo", "en": "Complete dataset"},
    "asserted": {"it": "Triple asserite", "en": "Asserted triples"},
    "inferred": {"it": "Triple inferite", "en": "Inferred triples"},
}
PART_DESCRIPTION = {
    "table": {
        "it": "«{title}»: una tabella statistica di poli-kg (osservazioni RDF Data Cube) come file "
              "CSV, con i metadati CSV on the Web (CSVW) che ne descrivono le colonne e la "
              "riportano alle triple RDF.",
        "en": "“{title}”: a statistical table of poli-kg (RDF Data Cube observations) as a CSV "
              "file, with the CSV on the Web (CSVW) metadata that describe its columns and turn "
              "it back into the RDF triples.",
    },
    "vocabulary": {
        "it": "«{title}»: un vocabolario controllato (SKOS) di poli-kg.",
        "en": "“{title}”: a controlled vocabulary (SKOS) of poli-kg.",
    },
    "ontology": {
        "it": "«{title}»: l'ontologia di poli-kg.",
        "en": "“{title}”: the ontology of poli-kg.",
    },
}
"""Description of a table or semantic asset whose graph gives none (``{title}``: its title)."""
PART_KEYWORDS = (("statistiche", "it"), ("statistics", "en"), ("poli di innovazione", "it"),
                 ("innovation clusters", "en"), ("CSV", None), ("CSV on the Web", None))
"""Keywords of a table or semantic asset whose graph gives none."""
GRAPH_TITLES = {
    GRAPH_ONTOLOGY: {"it": "Ontologia", "en": "Ontology"},
    GRAPH_DATA: {"it": "Dati", "en": "Data"},
    GRAPH_PROVENANCE: {"it": "Provenienza: il documento fonte e le sue frasi",
                       "en": "Provenance: the source document and its sentences"},
    GRAPH_INFERRED: {"it": "Triple inferite (OWL 2 RL)", "en": "Inferred triples (OWL 2 RL)"},
}
