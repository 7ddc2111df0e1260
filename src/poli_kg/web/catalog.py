"""Dataset metadata: VoID at ``/.well-known/void`` and the DCAT-AP_IT catalogue at ``/catalog``.

Both documents are content-negotiated (``Accept`` or ``?format=``): Turtle (the default),
JSON-LD, N-Triples, RDF/XML, and an HTML page showing the Turtle for browsers.  Every URL
of the service inside them is absolute for the host it runs on (config ``PUBLIC_URL``, else
the request's host); the IRIs of the things described live under the dataset's base IRI:

==========================================  ===========================================
``https://w3id.org/poli-kg/dataset``        the dataset (``void:Dataset``, ``dcat:Dataset``)
``https://w3id.org/poli-kg/catalog``        the catalogue (``dcat:Catalog``)
``…/dataset/distribution/{file}``           one distribution per RDF download
``…/dataset/service/sparql``                the SPARQL endpoint (``dcat:DataService``)
``…/graph/{ontology,data,provenance,inferred}``  the named graphs, VoID subsets
==========================================  ===========================================

**Statistics** (``void:triples``, partitions, …) are computed with SPARQL over the store
(:func:`poli_kg.store.get_store`) the first time they are needed and cached for the life of
the process, keyed by the build: the data are immutable per build, the queries take a few
milliseconds, and computing them here (rather than in :mod:`poli_kg.graph`) keeps the numbers
those of the store the service actually answers from and needs no change to the build
format.  Facts about the ontology, the source document and the agents (titles, versions,
publishers, names) are read from the graph too, so the metadata never disagree with the data.

**DCAT-AP_IT 2.0 / DCAT-AP 3.0.1 modelling** — the poli-kg project publishes the dataset and
holds its rights (``dct:publisher``, ``dct:rightsHolder``, ``dct:creator``); Regione Piemonte
is the publisher of the source report the dataset is derived from (``prov:wasDerivedFrom``
the report, whose ``dct:publisher`` is the Region).  Values from controlled vocabularies
(EU data themes, file types, languages, frequency, IANA media types, ADMS types) carry their
``rdf:type`` and ``skos:inScheme`` in the catalogue itself, because the DCAT-AP range shapes
check ``sh:class`` on the data graph.  A ``.gz`` distribution has the ``dct:format`` and
``dcat:mediaType`` of its content and ``dcat:compressFormat`` ``application/gzip`` (DCAT-AP_IT:
give the original format of a compressed file; DCAT-AP: compressFormat is an IANA media type).
The contact point gets ``vcard:hasEmail`` only when config ``CONTACT_EMAIL`` is set (the
project publishes no mailbox; none is invented) and always ``vcard:hasURL``.
"""

from __future__ import annotations

import threading
from string import Template
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, Response, current_app, render_template, request
from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, OWL, PROV, RDF, RDFS, SKOS, VOID, XSD
from rdflib.term import Node
from werkzeug.exceptions import BadRequest, NotAcceptable, ServiceUnavailable

from poli_kg import store as store_module
from poli_kg.web.base.conneg import negotiate
from poli_kg.web.downloads import (
    CONTENT_TEXT, MAX_AGE, BuildFiles, DownloadFile, current_build, download_url, public_root,
)
from poli_kg.namespaces import (
    BASE, DCATAPIT, EU_FILE_TYPE, EU_FREQUENCY, EU_LANGUAGE, EU_THEME, GRAPH_DATA, GRAPH_INFERRED,
    GRAPH_ONTOLOGY, GRAPH_PROVENANCE, ID, NAMED_GRAPHS, ONTOLOGY_IRI, PKG, QB, SPDX, VCARD,
    bind_prefixes, sparql_prologue,
)

__all__ = [
    "bp", "Statistics", "compute_statistics", "statistics", "void_graph", "catalog_graph",
    "DATASET", "CATALOG", "SERVICE", "CONTACT_POINT", "RDF_FORMATS",
]

bp = Blueprint("catalog", __name__, template_folder="templates")

DATASET = URIRef(BASE + "dataset")
CATALOG = URIRef(BASE + "catalog")
SERVICE = URIRef(BASE + "dataset/service/sparql")
CONTACT_POINT = URIRef(BASE + "catalog#contact-point")
EXTENSION = "poli_kg.web.catalog"

DCATAP = Namespace("http://data.europa.eu/r5r/")
IANA = Namespace("http://www.iana.org/assignments/media-types/")
W3C_FORMATS = Namespace("http://www.w3.org/ns/formats/")
ADMS_LICENCE_TYPE = Namespace("http://purl.org/adms/licencetype/")
ADMS_PUBLISHER_TYPE = Namespace("http://purl.org/adms/publishertype/")
EU_AVAILABILITY = Namespace("http://publications.europa.eu/resource/authority/planned-availability/")
DCAT_VERSION = URIRef(str(DCAT) + "version")  # DCAT 3; not in rdflib's closed DCAT namespace
NUTS_PIEMONTE = URIRef("http://data.europa.eu/nuts/code/ITC1")
PIEMONTE = ID["luogo/piemonte"]
CC_BY = URIRef("https://creativecommons.org/licenses/by/4.0/")
SPARQL_PROTOCOL = URIRef("https://www.w3.org/TR/sparql11-protocol/")
SCHEMES = {
    EU_THEME: URIRef("http://publications.europa.eu/resource/authority/data-theme"),
    EU_FILE_TYPE: URIRef("http://publications.europa.eu/resource/authority/file-type"),
    EU_LANGUAGE: URIRef("http://publications.europa.eu/resource/authority/language"),
    EU_FREQUENCY: URIRef("http://publications.europa.eu/resource/authority/frequency"),
    EU_AVAILABILITY: URIRef("http://publications.europa.eu/resource/authority/planned-availability"),
    ADMS_LICENCE_TYPE: URIRef("http://purl.org/adms/licencetype/1.0"),
    ADMS_PUBLISHER_TYPE: URIRef("http://purl.org/adms/publishertype/1.0"),
}
EXTRA_PREFIXES = {
    "dcatap": DCATAP, "iana": IANA, "formats": W3C_FORMATS, "eu-theme": EU_THEME,
    "eu-file-type": EU_FILE_TYPE, "eu-language": EU_LANGUAGE, "eu-frequency": EU_FREQUENCY,
}

# Temporal coverage: the two ERDF regional operational programmes of the source
# (POR FESR 2007-2013 and 2014-2020).
COVERAGE_START = "2007-01-01"
COVERAGE_END = "2020-12-31"

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
CATALOG_TITLE = {"it": "Catalogo dei dati di poli-kg", "en": "poli-kg data catalogue"}
CATALOG_DESCRIPTION = {
    "it": "Il catalogo DCAT-AP_IT dei dati pubblicati dal progetto poli-kg: il grafo dei Poli di "
          "Innovazione del Piemonte, le sue distribuzioni scaricabili e l'endpoint SPARQL.",
    "en": "The DCAT-AP_IT catalogue of the data published by the poli-kg project: the graph of "
          "Piedmont's innovation clusters, its downloadable distributions and the SPARQL endpoint.",
}
KEYWORDS = (
    ("poli di innovazione", "it"), ("innovation clusters", "en"), ("Piemonte", "it"),
    ("Piedmont", "en"), ("S3", None), ("specializzazione intelligente", "it"),
    ("smart specialisation", "en"), ("POR FESR", "it"), ("ERDF", "en"),
    ("cluster tecnologici nazionali", "it"), ("linked open data", "en"),
)
THEMES = {
    "ECON": {"it": "Economia e finanze", "en": "Economy and finance"},
    "TECH": {"it": "Scienza e tecnologia", "en": "Science and technology"},
    "GOVE": {"it": "Governo e settore pubblico", "en": "Government and public sector"},
}
LANGUAGES = {
    "ITA": {"it": "italiano", "en": "Italian"},
    "ENG": {"it": "inglese", "en": "English"},
}
CONTENT_TITLE = {
    "complete": {"it": "Dataset completo", "en": "Complete dataset"},
    "asserted": {"it": "Triple asserite", "en": "Asserted triples"},
    "inferred": {"it": "Triple inferite", "en": "Inferred triples"},
}
GRAPH_TITLES = {
    GRAPH_ONTOLOGY: {"it": "Ontologia", "en": "Ontology"},
    GRAPH_DATA: {"it": "Dati", "en": "Data"},
    GRAPH_PROVENANCE: {"it": "Provenienza: il documento fonte e le sue frasi",
                       "en": "Provenance: the source document and its sentences"},
    GRAPH_INFERRED: {"it": "Triple inferite (OWL 2 RL)", "en": "Inferred triples (OWL 2 RL)"},
}
# Example and root resources of the VoID description: the first instance (by IRI) of each class.
EXAMPLE_CLASSES = (PKG.PoloDiInnovazione, QB.Observation)
ROOT_CLASSES = (PKG.SistemaRegionalePoli,)


# ------------------------------------------------------------------------------ statistics

@dataclass(frozen=True)
class Agent:
    """An organisation named in the graph."""

    iri: str
    labels: Mapping[str, str]
    homepage: str | None = None

    def name(self, lang: str = "it") -> str:
        """Its label in ``lang`` (else any)."""
        return self.labels.get(lang) or next(iter(self.labels.values()), self.iri)


@dataclass(frozen=True)
class Statistics:
    """VoID statistics and metadata facts of the dataset, read from the store."""

    triples: int
    entities: int
    distinct_subjects: int
    distinct_objects: int
    classes: Mapping[str, int]       # class IRI -> number of instances
    properties: Mapping[str, int]    # property IRI -> number of triples
    graphs: Mapping[str, int]        # named graph IRI -> number of triples
    examples: Sequence[str]
    roots: Sequence[str]
    ontology_titles: Mapping[str, str] = field(default_factory=dict)
    ontology_version: str | None = None
    ontology_issued: Literal | None = None
    publisher: Agent | None = None           # of the dataset (the ontology's publisher)
    source: str | None = None                # the source document
    source_titles: Mapping[str, str] = field(default_factory=dict)
    source_issued: Literal | None = None
    source_publisher: Agent | None = None

    @property
    def vocabularies(self) -> list[str]:
        """Namespaces of the classes and properties used, other than the project's own."""
        found = {namespace_of(iri) for iri in (*self.classes, *self.properties)}
        return sorted(ns for ns in found if not ns.startswith(BASE))


def namespace_of(iri: str) -> str:
    """The namespace of a term IRI: up to its last ``#``, else its last ``/``."""
    cut = iri.rfind("#")
    if cut < 0:
        cut = iri.rfind("/")
    return iri[: cut + 1]


_PROLOGUE = sparql_prologue()
Q_COUNTS = _PROLOGUE + """SELECT (COUNT(*) AS ?triples) (COUNT(DISTINCT ?s) AS ?subjects)
       (COUNT(DISTINCT ?o) AS ?objects) WHERE { ?s ?p ?o }"""
Q_ENTITIES = _PROLOGUE + """SELECT (COUNT(DISTINCT ?s) AS ?n)
WHERE { ?s ?p ?o FILTER(isIRI(?s) && STRSTARTS(STR(?s), $space)) }"""
Q_CLASSES = _PROLOGUE + "SELECT ?class (COUNT(DISTINCT ?s) AS ?n) WHERE { ?s a ?class } GROUP BY ?class"
Q_PROPERTIES = _PROLOGUE + "SELECT ?p (COUNT(*) AS ?n) WHERE { ?s ?p ?o } GROUP BY ?p"
Q_FIRST_INSTANCE = _PROLOGUE + "SELECT ?s WHERE { ?s a $class FILTER(isIRI(?s)) } ORDER BY ?s LIMIT 1"
Q_ONTOLOGY = _PROLOGUE + """SELECT ?title ?version ?issued ?publisher WHERE {
  $o dct:title ?title .
  OPTIONAL { $o owl:versionInfo ?version } OPTIONAL { $o dct:issued ?issued }
  OPTIONAL { $o dct:publisher ?publisher } }"""
Q_SOURCE = _PROLOGUE + """SELECT ?doc ?title ?issued ?publisher WHERE { GRAPH $g {
  ?doc a foaf:Document ; dct:title ?title ; dct:publisher ?publisher .
  OPTIONAL { ?doc dct:issued ?issued } } } ORDER BY ?doc"""
Q_AGENT = _PROLOGUE + """SELECT ?label ?homepage WHERE {
  $a rdfs:label ?label OPTIONAL { $a foaf:homepage ?homepage } }"""


def _query(template: str, **terms: URIRef | Literal) -> str:
    """``template`` with each ``$name`` replaced by ``terms[name]`` in SPARQL syntax."""
    return Template(template).substitute({k: store_module.sparql_term(v) for k, v in terms.items()})


def _int(row: Mapping[str, Any], key: str) -> int:
    return int(row[key].toPython()) if key in row else 0


def _labels(rows: Iterable[Mapping[str, Any]], key: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for row in rows:
        value = row.get(key)
        if isinstance(value, Literal):
            out.setdefault(value.language or "", str(value))
    return out


def _agent(store: store_module.Store, iri: Node | None) -> Agent | None:
    if not isinstance(iri, URIRef):
        return None
    rows = store.select(_query(Q_AGENT, a=iri))
    homepage = next((str(r["homepage"]) for r in rows if "homepage" in r), None)
    return Agent(str(iri), _labels(rows, "label"), homepage)


def compute_statistics(store: store_module.Store) -> Statistics:
    """Run the VoID statistics queries against ``store`` (over the union default graph)."""
    counts = store.select(Q_COUNTS)[0]
    entities = store.select(_query(Q_ENTITIES, space=Literal(BASE)))[0]
    classes = {str(r["class"]): _int(r, "n") for r in store.select(Q_CLASSES)
               if isinstance(r.get("class"), URIRef)}
    properties = {str(r["p"]): _int(r, "n") for r in store.select(Q_PROPERTIES)}

    def first(classes_: Iterable[URIRef]) -> list[str]:
        found = []
        for cls in classes_:
            rows = store.select(_query(Q_FIRST_INSTANCE, **{"class": cls}))
            found.extend(str(r["s"]) for r in rows)
        return found

    onto_rows = store.select(_query(Q_ONTOLOGY, o=URIRef(ONTOLOGY_IRI)))
    source_rows = store.select(_query(Q_SOURCE, g=GRAPH_PROVENANCE))
    source = source_rows[0]["doc"] if source_rows else None
    source_rows = [r for r in source_rows if r["doc"] == source]
    return Statistics(
        triples=_int(counts, "triples"),
        entities=_int(entities, "n"),
        distinct_subjects=_int(counts, "subjects"),
        distinct_objects=_int(counts, "objects"),
        classes=dict(sorted(classes.items())),
        properties=dict(sorted(properties.items())),
        graphs=dict(store.graph_sizes()),
        examples=first(EXAMPLE_CLASSES),
        roots=first(ROOT_CLASSES),
        ontology_titles=_labels(onto_rows, "title"),
        ontology_version=next((str(r["version"]) for r in onto_rows if "version" in r), None),
        ontology_issued=next((r["issued"] for r in onto_rows if "issued" in r), None),
        publisher=_agent(store, next((r["publisher"] for r in onto_rows if "publisher" in r), None)),
        source=str(source) if source is not None else None,
        source_titles=_labels(source_rows, "title"),
        source_issued=next((r["issued"] for r in source_rows if "issued" in r), None),
        source_publisher=_agent(store, source_rows[0]["publisher"] if source_rows else None),
    )


class _Cache:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.key: tuple[str, str] | None = None
        self.value: Statistics | None = None


def statistics(build: BuildFiles) -> Statistics:
    """The statistics of the current store, computed once per process and build."""
    cache: _Cache = current_app.extensions.setdefault(EXTENSION, _Cache())
    with cache.lock:
        if cache.value is None or cache.key != build.key:
            try:
                cache.value = compute_statistics(store_module.get_store())
            except (store_module.QueryError, store_module.QueryTimeout,
                    store_module.ChildFailed) as exc:
                raise ServiceUnavailable(f"The store is not available: {exc}") from exc
            cache.key = build.key
        return cache.value


# ------------------------------------------------------------------------------ helpers

def _graph() -> Graph:
    graph = bind_prefixes(Graph())
    for prefix, ns in EXTRA_PREFIXES.items():
        graph.bind(prefix, ns, override=True)
    graph.bind("dcatapit", DCATAPIT, override=True)
    return graph


def _texts(graph: Graph, subject: Node, predicate: URIRef, texts: Mapping[str, str]) -> None:
    for lang, text in texts.items():
        graph.add((subject, predicate, Literal(text, lang=lang or None)))


def _int_literal(value: int) -> Literal:
    return Literal(value, datatype=XSD.integer)


def _date(build: BuildFiles) -> Literal:
    return Literal(build.built_at.date().isoformat(), datatype=XSD.date)


def _scheme(iri: URIRef) -> URIRef | None:
    for ns, scheme in SCHEMES.items():
        if str(iri).startswith(str(ns)):
            return scheme
    return None


def _concept(graph: Graph, iri: URIRef, labels: Mapping[str, str], *types: URIRef) -> URIRef:
    """Type a controlled-vocabulary value as a skos:Concept (+ ``types``) with its scheme."""
    graph.add((iri, RDF.type, SKOS.Concept))
    for cls in types:
        graph.add((iri, RDF.type, cls))
    _texts(graph, iri, SKOS.prefLabel, labels)
    scheme = _scheme(iri)
    if scheme is not None:
        graph.add((iri, SKOS.inScheme, scheme))
    return iri


def _media_type(graph: Graph, media_type: str) -> URIRef:
    iri = IANA[media_type]
    graph.add((iri, RDF.type, DCTERMS.MediaType))
    graph.add((iri, RDF.type, DCTERMS.MediaTypeOrExtent))
    return iri


def _file_type(graph: Graph, code: str) -> URIRef:
    iri = EU_FILE_TYPE[code]
    graph.add((iri, RDF.type, DCTERMS.MediaTypeOrExtent))
    graph.add((iri, SKOS.inScheme, SCHEMES[EU_FILE_TYPE]))
    return iri


def _agent_node(graph: Graph, agent: Agent, identifier: str,
                agent_type: tuple[str, Mapping[str, str]] | None = None) -> URIRef:
    """An agent as DCAT-AP_IT wants it: dcatapit:Agent + foaf:Agent, one name, an identifier."""
    iri = URIRef(agent.iri)
    for cls in (DCATAPIT.Agent, FOAF.Agent, FOAF.Organization):
        graph.add((iri, RDF.type, cls))
    graph.add((iri, FOAF.name, Literal(agent.name("it"), lang="it")))
    graph.add((iri, DCTERMS.identifier, Literal(identifier)))
    if agent.homepage:
        page = URIRef(agent.homepage)
        graph.add((iri, FOAF.homepage, page))
        graph.add((page, RDF.type, FOAF.Document))
    if agent_type is not None:
        code, labels = agent_type
        graph.add((iri, DCTERMS.type, _concept(graph, ADMS_PUBLISHER_TYPE[code], labels)))
    return iri


def _licence(graph: Graph) -> URIRef:
    graph.add((CC_BY, RDF.type, DCTERMS.LicenseDocument))
    graph.add((CC_BY, RDF.type, DCATAPIT.LicenseDocument))
    graph.add((CC_BY, FOAF.name, Literal("Creative Commons Attribuzione 4.0 Internazionale (CC BY 4.0)", lang="it")))
    graph.add((CC_BY, OWL.versionInfo, Literal("4.0")))
    graph.add((CC_BY, DCTERMS.type,
               _concept(graph, ADMS_LICENCE_TYPE.Attribution, {"en": "Attribution"})))
    return CC_BY


def _rdf_dumps(build: BuildFiles) -> list[DownloadFile]:
    return [f for f in build.files.values() if f.is_rdf_dump]


def _agents(stats: Statistics) -> tuple[Agent, Agent | None]:
    publisher = stats.publisher or Agent(str(ID["organizzazione/poli-kg"]), {"it": "poli-kg"})
    return publisher, stats.source_publisher


# ------------------------------------------------------------------------------ VoID

def void_graph(root: str, build: BuildFiles, stats: Statistics) -> Graph:
    """The VoID description of the dataset, with the service's URLs under ``root``."""
    graph = _graph()
    doc = URIRef(f"{root}/.well-known/void")
    graph.add((doc, RDF.type, VOID.DatasetDescription))
    _texts(graph, doc, DCTERMS.title, {"it": "Descrizione VoID di poli-kg",
                                       "en": "VoID description of poli-kg"})
    graph.add((doc, FOAF.primaryTopic, DATASET))

    ds = DATASET
    publisher, _region = _agents(stats)
    graph.add((ds, RDF.type, VOID.Dataset))
    _texts(graph, ds, DCTERMS.title, TITLE)
    _texts(graph, ds, DCTERMS.description, DESCRIPTION)
    graph.add((ds, DCTERMS.license, CC_BY))
    graph.add((ds, DCTERMS.publisher, URIRef(publisher.iri)))
    graph.add((ds, DCTERMS.creator, URIRef(publisher.iri)))
    if stats.source:
        graph.add((ds, DCTERMS.source, URIRef(stats.source)))
    graph.add((ds, DCTERMS.modified, _date(build)))
    graph.add((ds, DCTERMS.conformsTo, URIRef(ONTOLOGY_IRI)))
    graph.add((ds, FOAF.homepage, URIRef(f"{root}/")))
    graph.add((ds, RDFS.seeAlso, URIRef(f"{root}/catalog")))
    graph.add((ds, VOID.sparqlEndpoint, URIRef(f"{root}/sparql")))
    for file in _rdf_dumps(build):
        graph.add((ds, VOID.dataDump, URIRef(download_url(root, file.name))))
        w3c = file.content_format.w3c_format
        if w3c:
            graph.add((ds, VOID.feature, W3C_FORMATS[w3c]))
    graph.add((ds, VOID.uriSpace, Literal(BASE)))
    for iri in stats.examples:
        graph.add((ds, VOID.exampleResource, URIRef(iri)))
    for iri in stats.roots:
        graph.add((ds, VOID.rootResource, URIRef(iri)))
    for ns in stats.vocabularies:
        graph.add((ds, VOID.vocabulary, URIRef(ns)))

    graph.add((ds, VOID.triples, _int_literal(stats.triples)))
    graph.add((ds, VOID.entities, _int_literal(stats.entities)))
    graph.add((ds, VOID.distinctSubjects, _int_literal(stats.distinct_subjects)))
    graph.add((ds, VOID.distinctObjects, _int_literal(stats.distinct_objects)))
    graph.add((ds, VOID.classes, _int_literal(len(stats.classes))))
    graph.add((ds, VOID.properties, _int_literal(len(stats.properties))))
    for n, (cls, count) in enumerate(stats.classes.items(), 1):
        part = BNode(f"class{n}")
        graph.add((ds, VOID.classPartition, part))
        graph.add((part, VOID["class"], URIRef(cls)))
        graph.add((part, VOID.entities, _int_literal(count)))
    for n, (prop, count) in enumerate(stats.properties.items(), 1):
        part = BNode(f"property{n}")
        graph.add((ds, VOID.propertyPartition, part))
        graph.add((part, VOID.property, URIRef(prop)))
        graph.add((part, VOID.triples, _int_literal(count)))

    own = [str(g) for g in NAMED_GRAPHS]
    for name in own + sorted(g for g in stats.graphs if g not in own):
        subset = URIRef(name)
        graph.add((ds, VOID.subset, subset))
        graph.add((subset, RDF.type, VOID.Dataset))
        _texts(graph, subset, DCTERMS.title, GRAPH_TITLES.get(subset, {"": name}))
        graph.add((subset, VOID.triples, _int_literal(stats.graphs.get(name, 0))))
        if subset == GRAPH_INFERRED:
            for file in _rdf_dumps(build):
                if file.content == "inferred":
                    graph.add((subset, VOID.dataDump, URIRef(download_url(root, file.name))))
    return graph


# ------------------------------------------------------------------------------ DCAT-AP_IT

def catalog_graph(root: str, build: BuildFiles, stats: Statistics,
                  contact_email: str | None = None) -> Graph:
    """The DCAT-AP_IT 2.0 catalogue (also valid DCAT-AP 3.0.1) of the dataset."""
    graph = _graph()
    publisher_agent, region_agent = _agents(stats)
    publisher = _agent_node(graph, publisher_agent, "poli-kg")
    licence = _licence(graph)
    modified = _date(build)
    issued = stats.ontology_issued if stats.ontology_issued is not None else modified
    homepage = URIRef(f"{root}/")
    graph.add((homepage, RDF.type, FOAF.Document))

    themes = [_concept(graph, EU_THEME[code], labels) for code, labels in THEMES.items()]
    languages = [_concept(graph, EU_LANGUAGE[code], labels, DCTERMS.LinguisticSystem)
                 for code, labels in LANGUAGES.items()]
    taxonomy = SCHEMES[EU_THEME]
    graph.add((taxonomy, RDF.type, SKOS.ConceptScheme))
    _texts(graph, taxonomy, DCTERMS.title, {"it": "Temi dei dati", "en": "Data theme"})
    _texts(graph, taxonomy, SKOS.prefLabel, {"it": "Temi dei dati", "en": "Data theme"})

    # -- the catalogue
    cat = CATALOG
    graph.add((cat, RDF.type, DCATAPIT.Catalog))
    graph.add((cat, RDF.type, DCAT.Catalog))
    _texts(graph, cat, DCTERMS.title, CATALOG_TITLE)
    _texts(graph, cat, DCTERMS.description, CATALOG_DESCRIPTION)
    graph.add((cat, DCTERMS.publisher, publisher))
    graph.add((cat, DCTERMS.issued, issued))
    graph.add((cat, DCTERMS.modified, modified))
    graph.add((cat, FOAF.homepage, homepage))
    graph.add((cat, DCTERMS.license, licence))
    graph.add((cat, DCTERMS.spatial, NUTS_PIEMONTE))
    for language in languages:
        graph.add((cat, DCTERMS.language, language))
    graph.add((cat, DCAT.themeTaxonomy, taxonomy))
    graph.add((cat, DCAT.dataset, DATASET))
    graph.add((cat, DCAT.service, SERVICE))

    # -- contact point
    contact = CONTACT_POINT
    for cls in (DCATAPIT.Organization, VCARD.Organization, VCARD.Kind):
        graph.add((contact, RDF.type, cls))
    graph.add((contact, VCARD.fn, Literal(f"{publisher_agent.name('it')}")))
    graph.add((contact, VCARD.hasURL, URIRef(publisher_agent.homepage or f"{root}/")))
    if contact_email:
        graph.add((contact, VCARD.hasEmail, URIRef(f"mailto:{contact_email}")))

    # -- places and period
    graph.add((NUTS_PIEMONTE, RDF.type, DCTERMS.Location))
    _texts(graph, NUTS_PIEMONTE, SKOS.prefLabel, {"it": "Piemonte"})
    graph.add((PIEMONTE, RDF.type, DCTERMS.Location))
    _texts(graph, PIEMONTE, SKOS.prefLabel, {"it": "Piemonte", "en": "Piedmont"})
    period = BNode("coverage")
    graph.add((period, RDF.type, DCTERMS.PeriodOfTime))
    for start_end, value in ((DCAT.startDate, COVERAGE_START), (DCAT.endDate, COVERAGE_END),
                             (DCATAPIT.startDate, COVERAGE_START), (DCATAPIT.endDate, COVERAGE_END)):
        graph.add((period, start_end, Literal(value, datatype=XSD.date)))

    # -- the ontology the data conform to
    ontology = URIRef(ONTOLOGY_IRI)
    for cls in (DCTERMS.Standard, DCATAPIT.Standard):
        graph.add((ontology, RDF.type, cls))
    graph.add((ontology, DCTERMS.identifier, Literal(ONTOLOGY_IRI)))
    _texts(graph, ontology, DCTERMS.title, stats.ontology_titles)
    if stats.ontology_version:
        graph.add((ontology, OWL.versionInfo, Literal(stats.ontology_version)))

    # -- the dataset
    ds = DATASET
    graph.add((ds, RDF.type, DCATAPIT.Dataset))
    graph.add((ds, RDF.type, DCAT.Dataset))
    graph.add((ds, DCTERMS.identifier, Literal("poli-kg")))
    _texts(graph, ds, DCTERMS.title, TITLE)
    _texts(graph, ds, DCTERMS.description, DESCRIPTION)
    for theme in themes:
        graph.add((ds, DCAT.theme, theme))
    for keyword, lang in KEYWORDS:
        graph.add((ds, DCAT.keyword, Literal(keyword, lang=lang)))
    graph.add((ds, DCTERMS.publisher, publisher))
    graph.add((ds, DCTERMS.rightsHolder, publisher))
    graph.add((ds, DCTERMS.creator, publisher))
    graph.add((ds, DCAT.contactPoint, contact))
    graph.add((ds, DCTERMS.accrualPeriodicity,
               _concept(graph, EU_FREQUENCY.IRREG, {"it": "irregolare", "en": "irregular"},
                        DCTERMS.Frequency)))
    for language in languages:
        graph.add((ds, DCTERMS.language, language))
    graph.add((ds, DCTERMS.spatial, NUTS_PIEMONTE))
    graph.add((ds, DCTERMS.spatial, PIEMONTE))
    graph.add((ds, DCTERMS.temporal, period))
    graph.add((ds, DCTERMS.issued, issued))
    graph.add((ds, DCTERMS.modified, modified))
    graph.add((ds, DCTERMS.conformsTo, ontology))
    graph.add((ds, DCAT.landingPage, homepage))
    graph.add((ds, RDFS.seeAlso, URIRef(f"{root}/.well-known/void")))
    if build.version:
        graph.add((ds, DCAT_VERSION, Literal(build.version)))
        graph.add((ds, OWL.versionInfo, Literal(build.version)))
    if stats.source:
        source = URIRef(stats.source)
        graph.add((ds, PROV.wasDerivedFrom, source))
        graph.add((source, RDF.type, FOAF.Document))
        _texts(graph, source, DCTERMS.title, stats.source_titles)
        if stats.source_issued is not None:
            graph.add((source, DCTERMS.issued, stats.source_issued))
        if region_agent is not None:
            region = _agent_node(graph, region_agent, "r_piemon",
                                 ("RegionalAuthority", {"en": "Regional authority"}))
            graph.add((source, DCTERMS.publisher, region))

    for file in _rdf_dumps(build):
        graph.add((ds, DCAT.distribution, _distribution(graph, root, file, build, licence)))
    report = build.get("validation-report.ttl")
    if report is not None:
        page = URIRef(download_url(root, report.name))
        graph.add((ds, DCTERMS.relation, page))
        graph.add((page, RDF.type, FOAF.Document))
        _texts(graph, page, DCTERMS.title, {"it": "Rapporto di validazione SHACL",
                                            "en": "SHACL validation report"})

    # -- the SPARQL endpoint
    service = SERVICE
    graph.add((service, RDF.type, DCAT.DataService))
    _texts(graph, service, DCTERMS.title, {"it": "Endpoint SPARQL di poli-kg",
                                           "en": "poli-kg SPARQL endpoint"})
    _texts(graph, service, DCTERMS.description, {
        "it": "Endpoint SPARQL 1.1 (sola lettura) sul grafo completo: il grafo di default è "
              "l'unione dei quattro grafi con nome.",
        "en": "Read-only SPARQL 1.1 endpoint over the complete graph: the default graph is the "
              "union of the four named graphs.",
    })
    endpoint = URIRef(f"{root}/sparql")
    graph.add((service, DCAT.endpointURL, endpoint))
    graph.add((service, DCAT.endpointDescription, endpoint))
    graph.add((service, DCAT.servesDataset, ds))
    graph.add((service, DCTERMS.conformsTo, SPARQL_PROTOCOL))
    graph.add((SPARQL_PROTOCOL, RDF.type, DCTERMS.Standard))
    _texts(graph, SPARQL_PROTOCOL, DCTERMS.title, {"en": "SPARQL 1.1 Protocol"})
    graph.add((service, DCAT.landingPage, URIRef(f"{root}/query")))
    graph.add((URIRef(f"{root}/query"), RDF.type, FOAF.Document))
    graph.add((service, DCTERMS.publisher, publisher))
    graph.add((service, DCAT.contactPoint, contact))
    graph.add((service, DCTERMS.license, licence))
    for theme in themes:
        graph.add((service, DCAT.theme, theme))
    for keyword, lang in (("SPARQL", None), ("linked open data", "en")):
        graph.add((service, DCAT.keyword, Literal(keyword, lang=lang)))
    return graph


def _distribution(graph: Graph, root: str, file: DownloadFile, build: BuildFiles,
                  licence: URIRef) -> URIRef:
    """One dcatapit:Distribution for a download file."""
    dist = URIRef(f"{BASE}dataset/distribution/{file.name}")
    fmt = file.content_format
    graph.add((dist, RDF.type, DCATAPIT.Distribution))
    graph.add((dist, RDF.type, DCAT.Distribution))
    packed = ", gzip" if file.compressed else ""
    titles = CONTENT_TITLE[file.content]
    _texts(graph, dist, DCTERMS.title, {lang: f"{text} ({fmt.label}{packed})"
                                        for lang, text in titles.items()})
    _texts(graph, dist, DCTERMS.description, CONTENT_TEXT[file.content])
    url = URIRef(download_url(root, file.name))
    graph.add((dist, DCAT.accessURL, url))
    graph.add((dist, DCAT.downloadURL, url))
    graph.add((dist, DCAT.mediaType, _media_type(graph, fmt.media_type)))
    graph.add((dist, DCTERMS["format"], _file_type(graph, fmt.eu_file_type)))
    if file.compressed:
        graph.add((dist, DCAT.compressFormat, _media_type(graph, "application/gzip")))
    graph.add((dist, DCAT.byteSize, Literal(file.size, datatype=XSD.nonNegativeInteger)))
    checksum = BNode(f"sha256-{file.name}")
    graph.add((dist, SPDX.checksum, checksum))
    graph.add((checksum, RDF.type, SPDX.Checksum))
    graph.add((checksum, SPDX.algorithm, SPDX.checksumAlgorithm_sha256))
    graph.add((SPDX.checksumAlgorithm_sha256, RDF.type, SPDX.ChecksumAlgorithm))
    graph.add((checksum, SPDX.checksumValue, Literal(file.sha256, datatype=XSD.hexBinary)))
    graph.add((dist, DCTERMS.license, licence))
    graph.add((dist, DCTERMS.issued, _date(build)))
    graph.add((dist, DCTERMS.modified, _date(build)))
    graph.add((dist, DCATAP.availability,
               _concept(graph, EU_AVAILABILITY.AVAILABLE, {"en": "available"})))
    return dist


# ------------------------------------------------------------------------------ HTTP

@dataclass(frozen=True)
class RdfFormat:
    """A representation the metadata documents are offered in."""

    media_type: str
    rdflib_name: str
    label: str
    params: tuple[str, ...]

    @property
    def content_type(self) -> str:
        """The Content-Type header value."""
        if self.media_type == "application/ld+json":
            return self.media_type
        return f"{self.media_type}; charset=utf-8"


RDF_FORMATS = (
    RdfFormat("text/turtle", "turtle", "Turtle", ("turtle", "ttl")),
    RdfFormat("application/ld+json", "json-ld", "JSON-LD", ("jsonld", "json-ld", "json")),
    RdfFormat("application/n-triples", "nt", "N-Triples", ("nt", "ntriples", "n-triples")),
    RdfFormat("application/rdf+xml", "xml", "RDF/XML", ("rdfxml", "rdf", "xml")),
)
"""Offered RDF formats, the default first (HTML is offered too, after them)."""
HTML = "text/html"
_BY_PARAM = {param: fmt for fmt in RDF_FORMATS for param in fmt.params}


def _choose() -> RdfFormat | None:
    """The requested format (``?format=`` over ``Accept``); None means HTML."""
    param = request.args.get("format")
    if param is not None:
        if param == "html":
            return None
        if param not in _BY_PARAM:
            raise BadRequest("format must be one of: " + ", ".join([*_BY_PARAM, "html"]))
        return _BY_PARAM[param]
    offers = [f.media_type for f in RDF_FORMATS] + [HTML]
    chosen = negotiate(request.headers.get("Accept"), offers)
    if chosen is None:
        raise NotAcceptable("Available as " + ", ".join(offers) + ".")
    if chosen == HTML:
        return None
    return next(f for f in RDF_FORMATS if f.media_type == chosen)


def serialize(graph: Graph, fmt: RdfFormat) -> bytes:
    """``graph`` in ``fmt`` (N-Triples lines sorted, so equal graphs give equal bytes)."""
    if fmt.rdflib_name == "nt":
        lines = sorted(set(graph.serialize(format="nt", encoding="utf-8").splitlines()))
        return b"".join(line + b"\n" for line in lines if line.strip())
    if fmt.rdflib_name == "json-ld":
        used = {p: str(ns) for p, ns in graph.namespaces()
                if any(str(t).startswith(str(ns)) for triple in graph for t in triple)}
        return graph.serialize(format="json-ld", context=used, auto_compact=True, encoding="utf-8")
    return graph.serialize(format=fmt.rdflib_name, encoding="utf-8")


def _respond(graph: Graph, title: Mapping[str, str], intro: Mapping[str, str]) -> Response:
    fmt = _choose()
    if fmt is None:
        lang = request.args.get("lang", "it")
        lang = lang if lang in ("it", "en") else "it"
        formats = [{"media_type": f.media_type, "label": f.label,
                    "url": f"?format={f.params[0]}"} for f in RDF_FORMATS]
        body = serialize(graph, RDF_FORMATS[0]).decode("utf-8")
        labels = {"title": title[lang], "intro": intro[lang],
                  "other_language": "English" if lang == "it" else "Italiano"}
        anchors = sorted({str(s).split("#", 1)[1] for s in graph.subjects()
                          if isinstance(s, URIRef) and str(s).startswith(BASE) and "#" in str(s)})
        html = render_template("downloads.html", mode="document", lang=lang, t=labels,
                               formats=formats, body=body, anchors=anchors)
        response = current_app.response_class(html, content_type="text/html; charset=utf-8")
    else:
        response = current_app.response_class(serialize(graph, fmt), content_type=fmt.content_type)
    response.vary.add("Accept")
    response.cache_control.public = True
    response.cache_control.max_age = MAX_AGE
    response.add_etag()
    return response.make_conditional(request)


@bp.get("/.well-known/void")
def void() -> Response:
    """The VoID description (RFC 5785 well-known location, VoID §7.2)."""
    build = current_build()
    graph = void_graph(public_root(), build, statistics(build))
    return _respond(graph, {"it": "Descrizione VoID del dataset", "en": "VoID description of the dataset"},
                    {"it": "Statistiche, sottoinsiemi (grafi con nome), dump ed endpoint SPARQL del "
                           "dataset, nel vocabolario VoID.",
                     "en": "Statistics, subsets (named graphs), dumps and SPARQL endpoint of the "
                           "dataset, in the VoID vocabulary."})


@bp.get("/catalog")
def catalog() -> Response:
    """The DCAT-AP_IT catalogue."""
    build = current_build()
    graph = catalog_graph(public_root(), build, statistics(build),
                          current_app.config.get("CONTACT_EMAIL") or None)
    return _respond(graph, {"it": "Catalogo DCAT-AP_IT", "en": "DCAT-AP_IT catalogue"},
                    {"it": "Il catalogo, il dataset, le sue distribuzioni e l'endpoint SPARQL "
                           "secondo il profilo DCAT-AP_IT (compatibile con DCAT-AP 3).",
                     "en": "The catalogue, the dataset, its distributions and the SPARQL "
                           "endpoint following the DCAT-AP_IT profile (compatible with DCAT-AP 3)."})
