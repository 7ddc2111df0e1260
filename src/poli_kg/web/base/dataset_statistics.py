"""What the store says about the dataset: VoID statistics and the facts the metadata cite.

The statistics (``void:triples``, partitions, …) are computed with SPARQL over the store
(:func:`poli_kg.store.get_store`) the first time they are needed and cached for the life of
the process, keyed by the build: the data are immutable per build, the queries take a few
milliseconds, and computing them here (rather than in :mod:`poli_kg.graph`) keeps the numbers
those of the store the service actually answers from and needs no change to the build
format.  Facts about the ontology, the source document and the agents (titles, versions,
publishers, names) are read from the graph too, so the metadata never disagree with the data;
so are the parts of the dataset the catalogue describes as datasets of their own
(:class:`Part`): the statistical tables (each ``qb:DataSet``), the controlled vocabularies
(each ``skos:ConceptScheme`` that is a ``dcatapit:Dataset``) and the ontology, with their
titles, descriptions, dates and themes.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from string import Template
from typing import Any

from typing import TYPE_CHECKING

from flask import current_app
from rdflib import Literal, URIRef
from rdflib.namespace import DCAT, DCTERMS, OWL, RDFS
from rdflib.term import Node
from werkzeug.exceptions import ServiceUnavailable

from poli_kg.store.backend import sparql_term
from poli_kg.store.current import get_store
from poli_kg.store.errors import QueryError
from poli_kg.store.executor import ChildFailed, QueryTimeout
from poli_kg.namespaces import BASE, GRAPH_PROVENANCE, ONTOLOGY_IRI, PKG, QB, sparql_prologue

if TYPE_CHECKING:  # annotations only
    from poli_kg.store import Store

__all__ = ["Agent", "Part", "Statistics", "compute_statistics", "cached_statistics",
           "namespace_of"]

EXTENSION = "poli_kg.web.base.dataset_statistics"

# Example and root resources of the VoID description: the first instance (by IRI) of each class.
EXAMPLE_CLASSES = (PKG.PoloDiInnovazione, QB.Observation)
ROOT_CLASSES = (PKG.SistemaRegionalePoli,)


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
class Part:
    """A table or a semantic asset of the dataset, as the graph describes it."""

    kind: str                                # "table", "vocabulary" or "ontology"
    iri: str
    titles: Mapping[str, str]                # dct:title, else rdfs:label, by language
    descriptions: Mapping[str, str] = field(default_factory=dict)
    identifier: str | None = None
    issued: Literal | None = None
    modified: Literal | None = None
    version: str | None = None
    keywords: tuple[Literal, ...] = ()
    themes: tuple[str, ...] = ()             # dcat:theme IRIs
    frequency: str | None = None             # dct:accrualPeriodicity IRI

    @property
    def name(self) -> str:
        """The last segment of its IRI: the name of its files in the build."""
        return self.iri.rstrip("/").rsplit("/", 1)[-1]


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
    parts: tuple[Part, ...] = ()

    def part(self, kind: str, name: str) -> Part | None:
        """The part of kind ``kind`` (see :class:`Part`) whose IRI ends in ``name``, or None."""
        return next((p for p in self.parts if p.kind == kind and p.name == name), None)

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
Q_PARTS = _PROLOGUE + """SELECT ?s ?kind ?p ?o WHERE {
  { ?s a qb:DataSet BIND("table" AS ?kind) }
  UNION { ?s a skos:ConceptScheme , dcatapit:Dataset BIND("vocabulary" AS ?kind) }
  UNION { VALUES ?s { $ontology } ?s a owl:Ontology BIND("ontology" AS ?kind) }
  ?s ?p ?o
  FILTER(?p IN (dct:title, rdfs:label, dct:description, dct:identifier, dct:issued, dct:modified,
                owl:versionInfo, dcat:keyword, dcat:theme, dct:accrualPeriodicity))
} ORDER BY ?kind ?s ?p ?o"""

Rows = list[dict[str, Any]]


def _query(template: str, **terms: URIRef | Literal) -> str:
    """``template`` with each ``$name`` replaced by ``terms[name]`` in SPARQL syntax."""
    return Template(template).substitute({k: sparql_term(v) for k, v in terms.items()})


def _int(row: Mapping[str, Any], key: str) -> int:
    return int(row[key].toPython()) if key in row else 0


def _labels(rows: Iterable[Mapping[str, Any]], key: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for row in rows:
        value = row.get(key)
        if isinstance(value, Literal):
            out.setdefault(value.language or "", str(value))
    return out


def _first(rows: Iterable[Mapping[str, Any]], key: str) -> Any:
    """The value of ``key`` in the first row that binds it, else None."""
    return next((row[key] for row in rows if key in row), None)


def _agent(store: Store, iri: Node | None) -> Agent | None:
    if not isinstance(iri, URIRef):
        return None
    rows = store.select(_query(Q_AGENT, a=iri))
    homepage = next((str(r["homepage"]) for r in rows if "homepage" in r), None)
    return Agent(str(iri), _labels(rows, "label"), homepage)


def _first_instances(store: Store, classes: Iterable[URIRef]) -> list[str]:
    """The first instance (by IRI) of each of ``classes`` that has one."""
    found = []
    for cls in classes:
        rows = store.select(_query(Q_FIRST_INSTANCE, **{"class": cls}))
        found.extend(str(r["s"]) for r in rows)
    return found


def _source_rows(store: Store) -> Rows:
    """The rows of the first source document (by IRI) of the provenance graph."""
    rows = store.select(_query(Q_SOURCE, g=GRAPH_PROVENANCE))
    source = rows[0]["doc"] if rows else None
    return [r for r in rows if r["doc"] == source]


def _part(kind: str, iri: str, rows: Rows) -> Part:
    """One :class:`Part` from its rows of :data:`Q_PARTS`."""
    by_property: dict[str, Rows] = {}
    for row in rows:
        by_property.setdefault(str(row["p"]), []).append(row)

    def values(predicate: URIRef) -> Rows:
        return by_property.get(str(predicate), [])

    def text(predicate: URIRef) -> str | None:
        value = _first(values(predicate), "o")
        return str(value) if value is not None else None

    return Part(
        kind=kind, iri=iri,
        titles=_labels(values(DCTERMS.title), "o") or _labels(values(RDFS.label), "o"),
        descriptions=_labels(values(DCTERMS.description), "o"),
        identifier=text(DCTERMS.identifier), issued=_first(values(DCTERMS.issued), "o"),
        modified=_first(values(DCTERMS.modified), "o"), version=text(OWL.versionInfo),
        keywords=tuple(dict.fromkeys(r["o"] for r in values(DCAT.keyword)
                                     if isinstance(r["o"], Literal))),
        themes=tuple(dict.fromkeys(str(r["o"]) for r in values(DCAT.theme)
                                   if isinstance(r["o"], URIRef))),
        frequency=text(DCTERMS.accrualPeriodicity),
    )


def _parts(store: Store) -> tuple[Part, ...]:
    """The tables, vocabularies and ontology of the graph, in a fixed order (kind, IRI)."""
    grouped: dict[tuple[str, str], Rows] = {}
    for row in store.select(_query(Q_PARTS, ontology=URIRef(ONTOLOGY_IRI))):
        if isinstance(row.get("s"), URIRef):
            grouped.setdefault((str(row["kind"]), str(row["s"])), []).append(row)
    return tuple(_part(kind, iri, rows) for (kind, iri), rows in sorted(grouped.items()))


def compute_statistics(store: Store) -> Statistics:
    """Run the VoID statistics queries against ``store`` (over the union default graph)."""
    counts = store.select(Q_COUNTS)[0]
    entities = store.select(_query(Q_ENTITIES, space=Literal(BASE)))[0]
    classes = {str(r["class"]): _int(r, "n") for r in store.select(Q_CLASSES)
               if isinstance(r.get("class"), URIRef)}
    properties = {str(r["p"]): _int(r, "n") for r in store.select(Q_PROPERTIES)}
    onto_rows = store.select(_query(Q_ONTOLOGY, o=URIRef(ONTOLOGY_IRI)))
    source_rows = _source_rows(store)
    version = _first(onto_rows, "version")
    source = _first(source_rows, "doc")
    return Statistics(
        triples=_int(counts, "triples"),
        entities=_int(entities, "n"),
        distinct_subjects=_int(counts, "subjects"),
        distinct_objects=_int(counts, "objects"),
        classes=dict(sorted(classes.items())),
        properties=dict(sorted(properties.items())),
        graphs=dict(store.graph_sizes()),
        examples=_first_instances(store, EXAMPLE_CLASSES),
        roots=_first_instances(store, ROOT_CLASSES),
        ontology_titles=_labels(onto_rows, "title"),
        ontology_version=str(version) if version is not None else None,
        ontology_issued=_first(onto_rows, "issued"),
        publisher=_agent(store, _first(onto_rows, "publisher")),
        source=str(source) if source is not None else None,
        source_titles=_labels(source_rows, "title"),
        source_issued=_first(source_rows, "issued"),
        source_publisher=_agent(store, source_rows[0]["publisher"] if source_rows else None),
        parts=_parts(store),
    )


class _Cache:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.key: tuple[str, str] | None = None
        self.value: Statistics | None = None


def cached_statistics(key: tuple[str, str]) -> Statistics:
    """The statistics of the current store, computed once per process and build ``key``."""
    cache: _Cache = current_app.extensions.setdefault(EXTENSION, _Cache())
    with cache.lock:
        if cache.value is None or cache.key != key:
            try:
                cache.value = compute_statistics(get_store())
            except (QueryError, QueryTimeout, ChildFailed) as exc:
                raise ServiceUnavailable(f"The store is not available: {exc}") from exc
            cache.key = key
        return cache.value
