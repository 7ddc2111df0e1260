"""The documentation page of the ontology, generated from the ontology graph on every
request: its metadata, every class and property with labels, definitions, relations, the
sentences of the source it rests on, its instances (how many, linked to the query that lists
them) or its use in the data, and the alignments to external vocabularies.

The instance counts come from one query for every class, kept for the store's build
(:func:`instance_counts`): they change only with the data.  The folder listings under ``/id/``
group resources by IRI folder, not by class (a folder may mix classes), so a class links to
the query editor with a SELECT of its instances instead."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
import threading
from dataclasses import dataclass, field
from urllib.parse import urlencode

from flask import current_app, render_template, request
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, OWL, QB, RDF, RDFS, SKOS
from rdflib.term import Node

from poli_kg.namespaces import BASE, GRAPH_ONTOLOGY, ONTOLOGY_IRI, PREFIXES, sparql_prologue
from poli_kg.store.current import get_store
from poli_kg.web.base.anchors import ONTOLOGY_PATH, anchor_of
from poli_kg.web.base.descriptions import ontology_graph
from poli_kg.web.base.formats import downloads_for
from poli_kg.web.base.labels import Labels, pick, prefixed
from poli_kg.web.base.pages import page_context
from poli_kg.web.base.render import Excerpt, Renderer, Value
from poli_kg.web.base.site import href_for, language, page_url

ONTOLOGY = URIRef(ONTOLOGY_IRI)
CLASS_TYPES = (OWL.Class, RDFS.Class)
PROPERTY_KINDS = (
    (OWL.ObjectProperty, {"it": "Proprietà di oggetto", "en": "Object property"}),
    (OWL.DatatypeProperty, {"it": "Proprietà di dati", "en": "Datatype property"}),
    (OWL.AnnotationProperty, {"it": "Proprietà di annotazione", "en": "Annotation property"}),
    (RDF.Property, {"it": "Proprietà", "en": "Property"}),
)
CHARACTERISTICS = {
    OWL.FunctionalProperty: {"it": "funzionale", "en": "functional"},
    OWL.InverseFunctionalProperty: {"it": "inversa funzionale", "en": "inverse functional"},
    OWL.TransitiveProperty: {"it": "transitiva", "en": "transitive"},
    OWL.SymmetricProperty: {"it": "simmetrica", "en": "symmetric"},
    QB.DimensionProperty: {"it": "dimensione (Data Cube)", "en": "dimension (Data Cube)"},
    QB.MeasureProperty: {"it": "misura (Data Cube)", "en": "measure (Data Cube)"},
    QB.AttributeProperty: {"it": "attributo (Data Cube)", "en": "attribute (Data Cube)"},
}
ONTOLOGY_TEXT = {
    "it": {
        "doc": "Documentazione dell'ontologia", "metadata": "Metadati", "version": "Versione",
        "version_iri": "IRI della versione", "license": "Licenza", "issued": "Pubblicata",
        "modified": "Modificata", "creator": "Autore", "publisher": "Editore",
        "languages": "Lingue", "see_also": "Vedi anche", "namespace": "Namespace",
        "prefix": "Prefisso preferito", "classes": "Classi", "properties": "Proprietà",
        "alignments": "Allineamenti a vocabolari esterni",
        "alignments_hint": "Come i termini dell'ontologia si collegano a vocabolari diffusi (W3C ORG, schema.org, PROV-O, SKOS, RDF Data Cube, OntoPiA COV, …).",
        "term": "Termine", "relation": "Relazione", "external_term": "Termine esterno",
        "contents": "Indice", "label": "Etichetta", "definition": "Definizione",
        "subclass_of": "Sottoclasse di", "superclass_of": "Superclasse di",
        "equivalent": "Equivalente a", "disjoint": "Disgiunta da",
        "subproperty_of": "Sottoproprietà di", "superproperty_of": "Superproprietà di",
        "domain": "Dominio", "range": "Codominio", "inverse": "Inversa di",
        "chain": "Catena di proprietà", "domain_of": "Dominio di", "range_of": "Codominio di",
        "concept": "Concetto (Data Cube)", "defined_by": "Definita in",
        "instances": "Istanze nel grafo", "usage": "Triple nel grafo",
        "count": "Istanze nel grafo: {n}", "list_instances": "elencale nell'editor SPARQL",
        "source": "Dalla fonte", "reused": "Termini di altri vocabolari descritti qui",
        "characteristics": "Caratteristiche", "class": "Classe",
        "generated": "Pagina generata dal grafo dell'ontologia a ogni richiesta.",
    },
    "en": {
        "doc": "Ontology documentation", "metadata": "Metadata", "version": "Version",
        "version_iri": "Version IRI", "license": "Licence", "issued": "Issued",
        "modified": "Modified", "creator": "Creator", "publisher": "Publisher",
        "languages": "Languages", "see_also": "See also", "namespace": "Namespace",
        "prefix": "Preferred prefix", "classes": "Classes", "properties": "Properties",
        "alignments": "Alignments to external vocabularies",
        "alignments_hint": "How the ontology's terms relate to widely used vocabularies (W3C ORG, schema.org, PROV-O, SKOS, RDF Data Cube, OntoPiA COV, …).",
        "term": "Term", "relation": "Relation", "external_term": "External term",
        "contents": "Contents", "label": "Label", "definition": "Definition",
        "subclass_of": "Subclass of", "superclass_of": "Superclass of",
        "equivalent": "Equivalent to", "disjoint": "Disjoint with",
        "subproperty_of": "Subproperty of", "superproperty_of": "Superproperty of",
        "domain": "Domain", "range": "Range", "inverse": "Inverse of",
        "chain": "Property chain", "domain_of": "Domain of", "range_of": "Range of",
        "concept": "Concept (Data Cube)", "defined_by": "Defined by",
        "instances": "Instances in the graph", "usage": "Triples in the graph",
        "count": "Instances in the graph: {n}", "list_instances": "list them in the SPARQL editor",
        "source": "From the source", "reused": "Terms of other vocabularies described here",
        "characteristics": "Characteristics", "class": "Class",
        "generated": "This page is generated from the ontology graph on every request.",
    },
}
PROPERTY_TYPES = [kind for kind, _ in PROPERTY_KINDS] + list(CHARACTERISTICS)
OUT, IN, BOTH = "out", "in", "both"
"""Which way a fact's links run from the term: its objects, its subjects, or both."""
CLASS_FACTS = (
    ("subclass_of", RDFS.subClassOf, OUT), ("superclass_of", RDFS.subClassOf, IN),
    ("equivalent", OWL.equivalentClass, OUT), ("disjoint", OWL.disjointWith, OUT),
    ("domain_of", RDFS.domain, IN), ("range_of", RDFS.range, IN),
)
PROPERTY_FACTS = (
    ("subproperty_of", RDFS.subPropertyOf, OUT), ("superproperty_of", RDFS.subPropertyOf, IN),
    ("domain", RDFS.domain, OUT), ("range", RDFS.range, OUT), ("inverse", OWL.inverseOf, BOTH),
    ("equivalent", OWL.equivalentProperty, OUT), ("chain", OWL.propertyChainAxiom, OUT),
    ("concept", QB.concept, OUT),
)
TERM_FACTS = (("see_also", RDFS.seeAlso, OUT),)
"""The facts of every term, after those of its kind."""
ALIGNMENTS = (("subclass_of", RDFS.subClassOf), ("equivalent", OWL.equivalentClass),
              ("subproperty_of", RDFS.subPropertyOf), ("equivalent", OWL.equivalentProperty),
              ("inverse", OWL.inverseOf))
"""The relations that align a term of the ontology to a term of another vocabulary."""
METADATA_FACTS = (
    ("version", OWL.versionInfo, OUT), ("version_iri", OWL.versionIRI, OUT),
    ("license", DCTERMS.license, OUT), ("issued", DCTERMS.issued, OUT),
    ("modified", DCTERMS.modified, OUT), ("creator", DCTERMS.creator, OUT),
    ("publisher", DCTERMS.publisher, OUT), ("languages", DCTERMS.language, OUT),
    ("see_also", RDFS.seeAlso, OUT),
)
LABELS_OF_GRAPH_OBJECTS = sparql_prologue() + """
CONSTRUCT { ?n rdfs:label ?l . ?n skos:prefLabel ?pl } WHERE {
  { SELECT DISTINCT ?n WHERE { GRAPH ?g { ?x ?y ?n } FILTER(isIRI(?n)) } }
  { ?n rdfs:label ?l } UNION { ?n skos:prefLabel ?pl }
}
"""
ONTOLOGY_SOURCES_QUERY = sparql_prologue() + """
SELECT ?t ?ex ?value ?section ?first ?last WHERE {
  GRAPH ?og { ?t dct:source ?ex }
  ?ex prov:value ?value .
  OPTIONAL { ?ex pkg:sezione ?section }
  OPTIONAL { ?ex pkg:rigaIniziale ?first }
  OPTIONAL { ?ex pkg:rigaFinale ?last }
} ORDER BY ?t ?first
"""
INSTANCES_QUERY = sparql_prologue() + """
SELECT ?c ?s ?label WHERE {
  { SELECT DISTINCT ?c WHERE { GRAPH ?og { ?c a owl:Class } } }
  ?s a ?c .
  OPTIONAL { ?s rdfs:label ?label FILTER(lang(?label) = ?lang) }
} ORDER BY ?c ?label ?s
"""
USAGE_QUERY = sparql_prologue() + """
SELECT ?p (COUNT(*) AS ?n) WHERE {
  { SELECT DISTINCT ?p WHERE { GRAPH ?og { ?p a ?k } VALUES ?k { owl:ObjectProperty owl:DatatypeProperty owl:AnnotationProperty rdf:Property } } }
  ?s ?p ?o .
} GROUP BY ?p
"""
INSTANCE_COUNT_QUERY = sparql_prologue() + """
SELECT ?c (COUNT(DISTINCT ?s) AS ?n) WHERE {
  { SELECT DISTINCT ?c WHERE { GRAPH ?og { ?c a owl:Class } } }
  ?s a ?c .
} GROUP BY ?c
"""
LIST_INSTANCES_QUERY = """PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
SELECT DISTINCT ?instance ?label WHERE {{
  ?instance a <{iri}> .
  OPTIONAL {{ ?instance rdfs:label ?label FILTER(lang(?label) = "{lang}") }}
}} ORDER BY ?label ?instance
"""
"""The query the documentation of a class links to: its instances, with their labels."""
MAX_INSTANCES = 120
COUNTS_EXTENSION = "poli_kg.web.ontology.counts"


@dataclass
class TermDoc:
    """One class or property of the ontology documentation."""

    iri: str
    anchor: str
    curie: str
    kind: str
    badges: list[str]
    labels: dict[str, str]
    definitions: dict[str, str]
    facts: list[tuple[str, list[Value]]]
    sources: list[Excerpt]
    usage: int | None = None
    count: int | None = None
    instances_url: str | None = None
    instances: list[Value] = field(default_factory=list)
    more_instances: int = 0

    def label(self, lang: str) -> str:
        return self.labels.get(lang) or self.labels.get("it") or self.labels.get("en") or self.curie



def ontology_page() -> str:
    """The HTML documentation of the ontology, generated from the ontology graph."""
    lang = language()
    ot = ONTOLOGY_TEXT[lang]
    doc = Documentation(ontology_graph(), lang)
    title = pick(list(doc.graph.objects(ONTOLOGY, DCTERMS.title)), lang)
    description = pick(list(doc.graph.objects(ONTOLOGY, DCTERMS.description)), lang)
    return render_template(
        "ontology.html",
        ot=ot, iri=ONTOLOGY_IRI, title=str(title) if title else ot["doc"],
        description=str(description) if description else None,
        meta_facts=doc.metadata(), namespaces=doc.namespaces(), classes=doc.class_docs(),
        property_groups=doc.property_groups(), alignments=doc.alignments(),
        downloads=downloads_for(request.script_root + ONTOLOGY_PATH),
        **page_context(lang),
    )


def terms_of(graph: Graph, types: Iterable[URIRef]) -> list[URIRef]:
    """The IRIs of ``graph`` typed with one of ``types``, in the order of their anchors."""
    found = {s for t in types for s in graph.subjects(RDF.type, t) if isinstance(s, URIRef)}
    return sorted(found, key=lambda s: anchor_of(str(s)).casefold())


def by_language(literals: Iterable[Node]) -> dict[str, str]:
    """The texts of the literals among ``literals`` by language tag (``""``: none)."""
    return {lit.language or "": str(lit) for lit in literals if isinstance(lit, Literal)}


def term_sources(lang: str) -> dict[str, list[Excerpt]]:
    """The sentences of the source each term of the ontology rests on (``dct:source``)."""
    sources: dict[str, list[Excerpt]] = defaultdict(list)
    for row in get_store().select(ONTOLOGY_SOURCES_QUERY, bindings={"og": GRAPH_ONTOLOGY}):
        sources[str(row["t"])].append(Excerpt.from_row(row, lang))
    return sources


def class_instances(lang: str) -> dict[str, list[Value]]:
    """The resources of the data typed with each class of the ontology."""
    instances: dict[str, list[Value]] = defaultdict(list)
    for row in get_store().select(INSTANCES_QUERY, bindings={"og": GRAPH_ONTOLOGY,
                                                             "lang": Literal(lang)}):
        iri = str(row["s"])
        href, external = href_for(iri)
        text = str(row["label"]) if "label" in row else (prefixed(iri) or iri[len(BASE):])
        instances[str(row["c"])].append(Value(text, kind="iri", href=href, external=external,
                                              iri=iri, title=iri))
    return instances


def instance_counts() -> dict[str, int]:
    """How many resources of the store each class of the ontology types, once per build."""
    store = get_store()
    key = (id(store), store.build.folder())
    holder = current_app.extensions.setdefault(COUNTS_EXTENSION, {"lock": threading.Lock()})
    with holder["lock"]:
        if holder.get("key") != key:
            rows = store.select(INSTANCE_COUNT_QUERY, bindings={"og": GRAPH_ONTOLOGY})
            holder["counts"] = {str(row["c"]): int(row["n"]) for row in rows}
            holder["key"] = key
        counts: dict[str, int] = holder["counts"]
    return counts


def instances_query_url(iri: str, lang: str) -> str:
    """The query editor, filled with the SELECT of the instances of class ``iri``."""
    query = LIST_INSTANCES_QUERY.format(iri=iri, lang=lang)
    return page_url(request.script_root + "/query?" + urlencode({"query": query}))


def property_usage() -> dict[str, int]:
    """How many triples of the store use each property of the ontology."""
    rows = get_store().select(USAGE_QUERY, bindings={"og": GRAPH_ONTOLOGY})
    return {str(row["p"]): int(row["n"]) for row in rows}


class Documentation:
    """The ontology graph read for its documentation page in one language: its terms, their
    labels (and those of the terms they link to), and what the store says of them."""

    def __init__(self, graph: Graph, lang: str) -> None:
        self.graph = graph
        self.lang = lang
        self.words = ONTOLOGY_TEXT[lang]
        labels = Labels(graph)
        labels.add_graph(get_store().construct(LABELS_OF_GRAPH_OBJECTS,
                                               bindings={"g": GRAPH_ONTOLOGY}))
        self.classes = terms_of(graph, CLASS_TYPES)
        self.properties = [p for p in terms_of(graph, PROPERTY_TYPES) if p not in self.classes]
        self.anchors = {str(t): "#" + anchor_of(str(t)) for t in self.classes + self.properties}
        self.renderer = Renderer(graph, labels, lang)
        self.sources = term_sources(lang)
        self.instances = class_instances(lang)
        self.usage = property_usage()
        self.counts = instance_counts()

    # -- values: links to the terms documented on the page stay on the page

    def _localise(self, v: Value) -> Value:
        if v.iri in self.anchors:
            v.href, v.external = self.anchors[v.iri], False
        elif v.external and v.iri and prefixed(v.iri):
            v.text, v.note = prefixed(v.iri) or v.text, None
        return v

    def value(self, node: Node) -> Value:
        """A term as a value, linked to its documentation when the page has it."""
        v = self._localise(self.renderer.term(node))
        v.items = [self._localise(item) for item in v.items]
        return v

    def values(self, nodes: Iterable[Node]) -> list[Value]:
        """Distinct terms as values, in reading order."""
        return [self.value(n) for n in sorted(set(nodes), key=self.renderer.sort_key)]

    # -- the terms

    def facts(self, term: URIRef,
              table: Iterable[tuple[str, URIRef, str]]) -> list[tuple[str, list[Value]]]:
        """The facts of ``table`` that ``term`` has: (heading, values)."""
        found = []
        for key, prop, direction in table:
            nodes: list[Node] = []
            if direction in (OUT, BOTH):
                nodes += self.graph.objects(term, prop)
            if direction in (IN, BOTH):
                nodes += self.graph.subjects(prop, term)
            values = self.values(nodes)
            if values:
                found.append((self.words[key], values))
        return found

    def term_doc(self, term: URIRef, kind: str) -> TermDoc:
        """The documentation of a class (``kind`` "class") or a property (its group's name)."""
        iri = str(term)
        types = set(self.graph.objects(term, RDF.type))
        definitions = by_language(self.graph.objects(term, SKOS.definition))
        comments = by_language(self.graph.objects(term, RDFS.comment))
        definitions |= {tag: text for tag, text in comments.items() if tag not in definitions}
        table = CLASS_FACTS if kind == "class" else PROPERTY_FACTS
        instances = self.instances.get(iri, [])
        return TermDoc(
            iri=iri, anchor=anchor_of(iri), curie=prefixed(iri) or iri, kind=kind,
            badges=[names[self.lang] for char, names in CHARACTERISTICS.items() if char in types],
            labels=by_language(self.graph.objects(term, RDFS.label)), definitions=definitions,
            facts=self.facts(term, table + TERM_FACTS), sources=self.sources.get(iri, []),
            usage=self.usage.get(iri) if kind != "class" else None,
            count=self.counts.get(iri, 0) if kind == "class" else None,
            instances_url=instances_query_url(iri, self.lang) if kind == "class" else None,
            instances=instances[:MAX_INSTANCES],
            more_instances=max(len(instances) - MAX_INSTANCES, 0),
        )

    def class_docs(self) -> list[TermDoc]:
        """Every class, by label."""
        docs = [self.term_doc(c, "class") for c in self.classes]
        docs.sort(key=lambda d: d.label(self.lang).casefold())
        return docs

    def property_groups(self) -> list[tuple[str, list[TermDoc]]]:
        """The properties grouped by kind (object, datatype, annotation, other), each group
        with the ontology's own properties first, by label."""
        groups: list[tuple[str, list[URIRef]]] = []
        grouped: set[URIRef] = set()
        for kind, names in PROPERTY_KINDS:
            members = [p for p in self.properties
                       if (p, RDF.type, kind) in self.graph and p not in grouped]
            grouped.update(members)
            groups.append((names[self.lang], members))
        groups.append((self.words["properties"], [p for p in self.properties if p not in grouped]))
        documented = []
        for title, members in groups:
            if members:
                docs = [self.term_doc(p, title) for p in members]
                docs.sort(key=lambda d: (not d.iri.startswith(ONTOLOGY_IRI),
                                         d.label(self.lang).casefold()))
                documented.append((title, docs))
        return documented

    def alignments(self) -> list[tuple[Value, str, list[Value]]]:
        """(term, relation, external terms) for every term of the ontology linked to another
        vocabulary, by term."""
        rows = []
        for term in self.classes + self.properties:
            for key, prop in ALIGNMENTS:
                targets = [o for o in self.graph.objects(term, prop)
                           if isinstance(o, URIRef) and not str(o).startswith(BASE)]
                if targets and str(term).startswith(BASE):
                    rows.append((self.value(term), self.words[key], self.values(targets)))
        rows.sort(key=lambda row: row[0].text.casefold())
        return rows

    def metadata(self) -> list[tuple[str, list[Value]]]:
        """The ontology's own facts: version, licence, dates, authors, languages."""
        return self.facts(ONTOLOGY, METADATA_FACTS)

    def namespaces(self) -> list[tuple[str, str]]:
        """(prefix, namespace) of every vocabulary a documented term belongs to."""
        terms = [str(t) for t in self.classes + self.properties]
        return sorted({(p, str(ns)) for p, ns in PREFIXES.items()
                       if any(t.startswith(str(ns)) for t in terms)})
