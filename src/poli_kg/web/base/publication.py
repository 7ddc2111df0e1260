"""How the linked-data pages publish the dataset: its licence, its dump files, the titles of
its named graphs, how deep a resource's description follows blank nodes, and which prefix
names the dataset's own resources.  Plain data, for every page and serialisation."""

from __future__ import annotations

from rdflib import URIRef

BNODE_DEPTH = 6
"""How deep blank nodes are followed in a resource's description (rdf:Lists: one per item)."""
PRIVATE_PREFIXES = {"poli"}
"""Prefixes of the dataset's own resources, shown as paths rather than as prefixed names
(``/id/polo/mesap``, not ``poli:polo/mesap``) and left out of serialisations."""
LICENSE = URIRef("https://creativecommons.org/licenses/by/4.0/")
DOWNLOAD_DUMPS = (
    ("poli-kg.ttl", "Turtle", "text/turtle"),
    ("poli-kg.jsonld", "JSON-LD", "application/ld+json"),
    ("poli-kg.nt", "N-Triples", "application/n-triples"),
    ("poli-kg.rdf", "RDF/XML", "application/rdf+xml"),
    ("poli-kg.trig", "TriG", "application/trig"),
    ("poli-kg.nq", "N-Quads", "application/n-quads"),
)
"""The whole dataset's files under ``/downloads/``: (file, format, media type)."""

GRAPH_TEXT = {
    "ontology": {
        "it": ("Grafo dell'ontologia", "L'ontologia OWL 2 di poli-kg: classi e proprietà con etichette e definizioni in italiano e in inglese."),
        "en": ("Ontology graph", "The poli-kg OWL 2 ontology: classes and properties with labels and definitions in Italian and English."),
    },
    "data": {
        "it": ("Grafo dei dati", "I dati: i sette Poli, i soggetti gestori, il sistema regionale, i programmi e i bandi, le osservazioni statistiche e i vocabolari SKOS."),
        "en": ("Data graph", "The data: the seven clusters, their managing bodies, the regional system, programmes and calls, statistical observations and SKOS vocabularies."),
    },
    "provenance": {
        "it": ("Grafo della provenienza", "Il documento fonte (Regione Piemonte, 2017) e le sue frasi, citate esattamente con sezione e righe."),
        "en": ("Provenance graph", "The source document (Piedmont Region, 2017) and its sentences, quoted exactly with section and lines."),
    },
    "inferred": {
        "it": ("Grafo delle inferenze", "Le triple dedotte dal ragionamento OWL 2 RL sull'ontologia e sui dati (tipi, proprietà inverse e super-proprietà, catene)."),
        "en": ("Inferred graph", "The triples entailed by OWL 2 RL reasoning over the ontology and the data (types, inverse and super-properties, chains)."),
    },
}
"""Title and description of each named graph (``…/graph/{name}``), per language."""


def graph_text(name: str, lang: str) -> tuple[str, str]:
    """(title, description) of the named graph ``name``; unknown graphs are titled by name."""
    return GRAPH_TEXT.get(name, {}).get(lang, (name, ""))

