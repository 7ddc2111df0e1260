"""The names the pages give to RDF terms: labels from the graph (per language), names of the
common terms of reused vocabularies, prefixed names (``pkg:PoloDiInnovazione``) and short
names of external IRIs (``Q1216``, noted as from Wikidata)."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, FOAF, ORG, OWL, PROV, QB, RDF, RDFS, SKOS
from rdflib.term import Node

from poli_kg.namespaces import (
    BASE, EU_COUNTRY, EU_CURRENCY, EU_FILE_TYPE, EU_LANGUAGE, PREFIXES, SCHEMA, WD,
)
from poli_kg.web.base.publication import LICENSE, PRIVATE_PREFIXES


def prefixed(iri: str) -> str | None:
    """``pkg:PoloDiInnovazione`` for an IRI in a project namespace (longest match), else None."""
    best: tuple[str, str] | None = None
    for prefix, namespace in PREFIXES.items():
        ns = str(namespace)
        if iri.startswith(ns) and (best is None or len(ns) > len(best[1])):
            best = (prefix, ns)
    if best is None:
        return None
    local = iri[len(best[1]):]
    if best[0] in PRIVATE_PREFIXES or not re.fullmatch(r"[\w.-]*", local):
        return None
    return f"{best[0]}:{local}"


_AUTHORITIES = (
    (str(WD), "Wikidata"),
    (str(EU_COUNTRY), "EU country"),
    (str(EU_LANGUAGE), "EU language"),
    (str(EU_FILE_TYPE), "EU file type"),
    (str(EU_CURRENCY), "EU currency"),
    ("http://data.europa.eu/nuts/code/", "NUTS"),
)


def external_name(iri: str) -> tuple[str, str | None]:
    """(text, authority) for an external IRI without a label in the store."""
    if iri == str(LICENSE):
        return "CC BY 4.0", None
    for namespace, authority in _AUTHORITIES:
        if iri.startswith(namespace) and len(iri) > len(namespace):
            return iri[len(namespace):], authority
    name = prefixed(iri)
    if name:
        return name, None
    text = re.sub(r"^https?://", "", iri)
    return (text[:-1] if text.endswith("/") and text.count("/") == 1 else text), None


LABEL_PROPERTIES = (RDFS.label, SKOS.prefLabel, DCTERMS.title)

VOCABULARY_LABELS: dict[str, tuple[str, str]] = {
    str(RDF.type): ("tipo", "type"),
    str(RDFS.label): ("etichetta", "label"),
    str(RDFS.comment): ("commento", "comment"),
    str(RDFS.seeAlso): ("vedi anche", "see also"),
    str(RDFS.isDefinedBy): ("definito in", "defined by"),
    str(RDFS.subClassOf): ("sottoclasse di", "subclass of"),
    str(RDFS.subPropertyOf): ("sottoproprietà di", "subproperty of"),
    str(RDFS.domain): ("dominio", "domain"),
    str(RDFS.range): ("codominio", "range"),
    str(OWL.inverseOf): ("inversa di", "inverse of"),
    str(OWL.sameAs): ("stessa risorsa di", "same as"),
    str(SKOS.prefLabel): ("etichetta preferita", "preferred label"),
    str(SKOS.altLabel): ("etichetta alternativa", "alternative label"),
    str(SKOS.definition): ("definizione", "definition"),
    str(SKOS.note): ("nota", "note"),
    str(SKOS.notation): ("codice", "notation"),
    str(SKOS.inScheme): ("nello schema", "in scheme"),
    str(SKOS.topConceptOf): ("concetto di vertice di", "top concept of"),
    str(SKOS.hasTopConcept): ("ha concetto di vertice", "has top concept"),
    str(SKOS.exactMatch): ("corrispondenza esatta", "exact match"),
    str(SKOS.closeMatch): ("corrispondenza stretta", "close match"),
    str(SKOS.broader): ("più generale", "broader"),
    str(SKOS.narrower): ("più specifico", "narrower"),
    str(DCTERMS.title): ("titolo", "title"),
    str(DCTERMS.alternative): ("titolo alternativo", "alternative title"),
    str(DCTERMS.description): ("descrizione", "description"),
    str(DCTERMS.source): ("fonte", "source"),
    str(DCTERMS.publisher): ("editore", "publisher"),
    str(DCTERMS.creator): ("autore", "creator"),
    str(DCTERMS.issued): ("data di pubblicazione", "issued"),
    str(DCTERMS.modified): ("data di modifica", "modified"),
    str(DCTERMS.license): ("licenza", "licence"),
    str(DCTERMS.language): ("lingua", "language"),
    str(DCTERMS.format): ("formato", "format"),
    str(DCTERMS.identifier): ("identificativo", "identifier"),
    str(DCTERMS.isPartOf): ("parte di", "part of"),
    str(DCTERMS.hasPart): ("comprende", "has part"),
    str(DCTERMS.spatial): ("copertura spaziale", "spatial coverage"),
    str(DCTERMS.temporal): ("copertura temporale", "temporal coverage"),
    str(FOAF.homepage): ("sito web", "website"),
    str(PROV.wasDerivedFrom): ("derivato da", "derived from"),
    str(PROV.value): ("testo", "value"),
    str(PROV.wasAttributedTo): ("attribuito a", "attributed to"),
    str(PROV.wasAssociatedWith): ("associato a", "associated with"),
    str(PROV.generated): ("ha generato", "generated"),
    str(PROV.used): ("ha usato", "used"),
    str(ORG.memberOf): ("membro di", "member of"),
    str(ORG.hasMember): ("ha membro", "has member"),
    str(ORG.linkedTo): ("collegato a", "linked to"),
    str(ORG.classification): ("classificazione", "classification"),
    str(ORG.member): ("membro", "member"),
    str(ORG.organization): ("organizzazione", "organization"),
    str(ORG.role): ("ruolo", "role"),
    str(QB.dataSet): ("insieme di dati", "data set"),
    str(QB.structure): ("struttura", "structure"),
    str(QB.component): ("componente", "component"),
    str(QB.dimension): ("dimensione", "dimension"),
    str(QB.measure): ("misura", "measure"),
    str(QB.attribute): ("attributo", "attribute"),
    str(QB.order): ("ordine", "order"),
    str(QB.concept): ("concetto", "concept"),
    str(QB.componentRequired): ("obbligatorio", "required"),
    str(QB.componentAttachment): ("si applica a", "attachment"),
    str(SCHEMA.startDate): ("data di inizio", "start date"),
    str(SCHEMA.endDate): ("data di fine", "end date"),
    str(SCHEMA.about): ("riguarda", "about"),
    str(SCHEMA.areaServed): ("area servita", "area served"),
    str(SCHEMA.location): ("sede", "location"),
    str(SCHEMA.containedInPlace): ("si trova in", "contained in place"),
    str(QB.Observation): ("osservazione", "observation"),
    str(QB.DataSet): ("insieme di dati", "data set"),
    str(SKOS.Concept): ("concetto", "concept"),
    str(SKOS.ConceptScheme): ("schema di concetti", "concept scheme"),
    str(SCHEMA.Country): ("paese", "country"),
    str(DCTERMS.Location): ("luogo", "location"),
    "https://w3id.org/italia/onto/COV/legalName": ("ragione sociale", "legal name"),
    "https://w3id.org/italia/onto/COV/hasLegalStatus": ("forma giuridica", "legal status"),
    "http://www.w3.org/2006/time#hasBeginning": ("inizio", "beginning"),
    "http://www.w3.org/2006/time#hasEnd": ("fine", "end"),
}
"""Names of common terms of reused vocabularies, whose labels the store does not hold."""


def vocabulary_label(iri: str, lang: str) -> str | None:
    """The name of a common term of a reused vocabulary (:data:`VOCABULARY_LABELS`), or None."""
    names = VOCABULARY_LABELS.get(iri)
    return None if names is None else names[0 if lang == "it" else 1]


class Labels:
    """Labels of the nodes of a graph, per language; falls back to prefixed names."""

    def __init__(self, graph: Graph | None = None) -> None:
        self._by_node: dict[Node, dict[URIRef, list[Literal]]] = defaultdict(dict)
        if graph is not None:
            self.add_graph(graph)

    def add_graph(self, graph: Graph) -> None:
        for prop in LABEL_PROPERTIES:
            for node, label in graph.subject_objects(prop):
                if isinstance(label, Literal):
                    self.add(node, prop, label)

    def add(self, node: Node, prop: URIRef, label: Literal) -> None:
        values = self._by_node[node].setdefault(prop, [])
        if label not in values:
            values.append(label)

    def find(self, node: Node, lang: str) -> Literal | None:
        """The best label of ``node`` in ``lang`` (else in the other language), or None."""
        found = self._by_node.get(node, {})
        for prop in LABEL_PROPERTIES:
            chosen = pick(found.get(prop, ()), lang)
            if chosen is not None:
                return chosen
        return None

    def text(self, node: Node, lang: str) -> str:
        """The label of ``node`` as text; unlabelled IRIs get a prefixed or short name."""
        label = self.find(node, lang)
        if label is not None:
            return str(label)
        if isinstance(node, URIRef):
            iri = str(node)
            name = vocabulary_label(iri, lang)
            if name is not None:
                return name
            if iri.startswith(BASE):
                return prefixed(iri) or iri[len(BASE):]
            return external_name(iri)[0]
        return str(node)


def pick(literals: Iterable[Literal], lang: str) -> Literal | None:
    """The literal in ``lang``, else one without language, else in the other language."""
    items = list(literals)
    for wanted in (lang, None):
        for literal in items:
            if literal.language == wanted:
                return literal
    return items[0] if items else None


def in_language(literals: Sequence[Literal], lang: str) -> list[Literal]:
    """Literals to show: those in ``lang`` (and untagged) when there is one in ``lang``."""
    if any(lit.language == lang for lit in literals):
        return [lit for lit in literals if lit.language in (lang, None)]
    return list(literals)
