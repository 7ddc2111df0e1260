"""The full-text search index of a build: one document per named resource, written with tantivy.

:func:`write_index` is called by the build with the graph's triples (asserted and inferred)
and writes the folder :data:`poli_kg.textindex.INDEX_DIR` into the build folder being made,
so the index is published atomically with the rest of the build and always describes the
same graph as the store and the downloads.  :mod:`poli_kg.store.search` reads it.

Indexed per resource (an IRI with a name or a notation): its names (``rdfs:label``,
``skos:prefLabel``, ``skos:altLabel``, ``foaf:name``, ``schema:name``, ``dct:title``,
``cov:legalName`` … in every language), its notations, a short description, its website's
host and the names of its types; its classes, asserted and inferred, for the type filter; its
kind (:data:`~poli_kg.textindex.MAIN` for poles, organisations, national clusters, themes,
places, calls, programmes…, :data:`~poli_kg.textindex.RECORD` for participations,
observations, source excerpts…, else :data:`~poli_kg.textindex.OTHER`).

Documents are added in a fixed order (kind, folded label, IRI) by one thread into one
segment: tantivy returns equal scores in document order, so ties always come out the same.
``search.json`` beside the index lists the classes and properties the graph uses (names,
counts, and per property how many instances of each class have it), for the reconciliation
service's type and property suggestions.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox
import tantivy

from poli_kg import textindex as ti
from poli_kg.namespaces import (
    COV, DCAT, DCTERMS, FOAF, ORG, PKG, PROV, QB, RDF, RDFS, SCHEMA, SKOS,
)

LANGUAGES = ("it", "en")
DESCRIPTION_CHARS = 200

# Name properties, the preferred ones first (the label a hit shows is the first found).
NAMES = (RDFS.label, SKOS.prefLabel, FOAF.name, SCHEMA.name, DCTERMS.title,
         SKOS.altLabel, DCTERMS.alternative, SCHEMA.alternateName, COV.legalName,
         SKOS.hiddenLabel, SKOS.notation)
DESCRIPTIONS = (DCTERMS.description, SKOS.definition, RDFS.comment, PROV.value)
WEBSITES = (FOAF.homepage, SCHEMA.url, DCAT.landingPage)

# Main resources, in the order equal scores list them: poles, organisations, national
# clusters, themes, places, calls and programmes, then the rest.
MAIN_GROUPS = tuple(frozenset(str(t) for t in group) for group in (
    (PKG.PoloDiInnovazione,),
    (PKG.SoggettoGestore, PKG.Societa, PKG.Consorzio, PKG.Fondazione,
     PKG.AssociazioneTemporaneaDiImprese, ORG.FormalOrganization, COV.Organization),
    (PKG.ClusterTecnologicoNazionale,),
    (PKG.AreaTematica, PKG.AmbitoTecnologico),
    (SCHEMA.Place, SCHEMA.Country, SCHEMA.City, SCHEMA.AdministrativeArea, DCTERMS.Location),
    (PKG.Bando, PKG.ProgrammaOperativo, PKG.Misura, PKG.FondoEuropeo),
    (PKG.SistemaRegionalePoli, PKG.StrategiaDiSpecializzazioneIntelligente,
     PKG.AgendaStrategicaDiRicerca, ORG.Organization, FOAF.Organization, SCHEMA.Organization,
     SCHEMA.ResearchProject),
))
MAIN_TYPES = frozenset().union(*MAIN_GROUPS)
RECORD_TYPES = frozenset(str(t) for t in (
    PKG.PartecipazioneACluster, ORG.Membership, QB.Observation, PKG.Estratto,
    QB.ComponentSpecification, QB.DataStructureDefinition,
))

_ROLE_NAME, _ROLE_DESCRIPTION, _ROLE_WEBSITE, _ROLE_TYPE = range(4)
_ROLES = {ox.NamedNode(str(p)): (_ROLE_NAME, rank) for rank, p in enumerate(NAMES)}
_ROLES |= {ox.NamedNode(str(p)): (_ROLE_DESCRIPTION, rank) for rank, p in enumerate(DESCRIPTIONS)}
_ROLES |= {ox.NamedNode(str(p)): (_ROLE_WEBSITE, 0) for p in WEBSITES}
_ROLES[ox.NamedNode(str(RDF.type))] = (_ROLE_TYPE, 0)


@dataclass
class _Resource:
    """What the triples say about one IRI, as far as the index needs it."""

    names: list[tuple[int, str, str]] = field(default_factory=list)          # (rank, lang, text)
    descriptions: list[tuple[int, str, str]] = field(default_factory=list)
    hosts: set[str] = field(default_factory=set)
    asserted_types: set[str] = field(default_factory=set)
    types: set[str] = field(default_factory=set)
    predicates: set[str] = field(default_factory=set)


def collect(asserted: Iterable, inferred: Iterable) -> dict[str, _Resource]:
    """The resources of the triples (quads or triples; graph names are ignored)."""
    found: dict[str, _Resource] = {}
    for triples, is_asserted in ((asserted, True), (inferred, False)):
        for t in triples:
            subject = t.subject
            if type(subject) is not ox.NamedNode:
                continue
            resource = found.get(subject.value)
            if resource is None:
                resource = found[subject.value] = _Resource()
            predicate = t.predicate
            resource.predicates.add(predicate.value)
            role = _ROLES.get(predicate)
            if role is not None:
                _add(resource, role, t.object, is_asserted)
    for resource in found.values():   # best rank first: see pick()
        resource.names.sort()
        resource.descriptions.sort()
    return found


def _add(resource: _Resource, role: tuple[int, int], obj, is_asserted: bool) -> None:
    kind, rank = role
    if kind == _ROLE_TYPE:
        if type(obj) is ox.NamedNode:
            resource.types.add(obj.value)
            if is_asserted:
                resource.asserted_types.add(obj.value)
    elif kind == _ROLE_WEBSITE:
        name = ti.host(obj.value) if type(obj) in (ox.NamedNode, ox.Literal) else None
        if name:
            resource.hosts.add(name)
    elif type(obj) is ox.Literal:
        target = resource.names if kind == _ROLE_NAME else resource.descriptions
        entry = (rank, (obj.language or "").lower().split("-")[0], obj.value)
        if entry not in target:
            target.append(entry)


# --------------------------------------------------------------------------- documents

def kind_of(types: set[str]) -> tuple[int, int]:
    """``(kind, group)``: RECORD if any type is a record's, else MAIN if any is a main
    resource's (group: the first of :data:`MAIN_GROUPS` it is in), else OTHER."""
    if types & RECORD_TYPES:
        return ti.RECORD, 0
    for group, members in enumerate(MAIN_GROUPS):
        if types & members:
            return ti.MAIN, group
    return ti.OTHER, 0


def pick(entries: list[tuple[int, str, str]], lang: str) -> str | None:
    """The best-ranked text in ``lang``, else untagged, else in any language (``entries``
    sorted, as :func:`collect` leaves them)."""
    for wanted in (lang, ""):
        for _rank, entry_lang, text in entries:
            if entry_lang == wanted:
                return text
    return entries[0][2] if entries else None


def shorten(text: str, limit: int = DESCRIPTION_CHARS) -> str:
    """``text`` on one line, cut at a word boundary to at most ``limit`` characters."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0].rstrip(",;:.") + "…"


def names_of(iri: str, resources: dict[str, _Resource]) -> dict[str, str | None]:
    """``{lang: label}`` of a class or property (None where the graph gives it no label)."""
    resource = resources.get(iri)
    entries = resource.names if resource is not None else []
    return {lang: pick(entries, lang) for lang in LANGUAGES}


def primary_type(resource: _Resource) -> str | None:
    """The type a hit shows: an asserted class of the ontology first, then any asserted one."""
    ordered = sorted(resource.asserted_types or resource.types,
                     key=lambda t: (not t.startswith(str(PKG)), t))
    return ordered[0] if ordered else None


@dataclass
class Document:
    """One resource as the index holds it."""

    iri: str
    kind: int
    group: int
    data: dict
    terms: list[str]
    keys: set[str]
    text: list[str]
    types: list[str]



def document(iri: str, resource: _Resource, type_terms: dict[str, list[str]]) -> Document:
    """The document of a named resource (see :func:`documents`)."""
    shown = sorted(resource.asserted_types) or sorted(resource.types)
    texts = [text for _rank, _lang, text in resource.names]
    data = {
        "iri": iri,
        "label": {lang: pick(resource.names, lang) for lang in LANGUAGES},
        "names": list(dict.fromkeys(texts)),
        "type": primary_type(resource),
        "types": shown,
        "description": {lang: shorten(d) for lang in LANGUAGES
                        if (d := pick(resource.descriptions, lang))},
        "host": min(resource.hosts) if resource.hosts else None,
    }
    text: list[str] = []
    for _rank, _lang, description in resource.descriptions:
        text.extend(ti.index_terms(description))
    for name in sorted(resource.hosts):
        text.extend(ti.host_terms(name))
    for type_iri in shown:
        text.extend(type_terms.get(type_iri, ()))
    analysed = [ti.compounds(name) for name in data["names"]]
    kind, group = kind_of(resource.types)
    return Document(
        iri=iri, kind=kind, group=group, data=data,
        terms=[term for name in analysed for term in ti.index_terms(name)],
        keys={key for name in analysed for key in ti.keys(name)},
        text=list(dict.fromkeys(text)), types=sorted(resource.types))


def order_of(iri: str, resource: _Resource) -> tuple[int, int, str, str]:
    """Where a resource's document goes in the index: by kind, group, folded label, IRI."""
    kind, group = kind_of(resource.types)
    return (kind, group, ti.fold(pick(resource.names, "it") or ""), iri)


def in_order(resources: dict[str, _Resource]) -> list[tuple[str, _Resource]]:
    """The named resources in index order (the documents of :func:`documents`)."""
    keyed = sorted((order_of(iri, r), iri, r) for iri, r in resources.items() if r.names)
    return [(iri, r) for _key, iri, r in keyed]


def metadata(resources: dict[str, _Resource]) -> tuple[dict, dict[str, list[str]]]:
    """``search.json`` (the classes and properties used, without the document count) and the
    terms of each class's names (indexed with its instances)."""
    type_counts: Counter[str] = Counter()
    # Resources share a few sets of types: count the predicates per set, then spread the counts
    # over the set's types (a Counter update per resource and predicate is most of the time).
    per_types: dict[frozenset[str], Counter[str]] = defaultdict(Counter)
    for resource in resources.values():
        type_counts.update(resource.types)
        per_types[frozenset(resource.types)].update(resource.predicates)
    properties: dict[str, Counter[str]] = defaultdict(Counter)
    property_counts: Counter[str] = Counter()
    for types, counts in per_types.items():
        property_counts.update(counts)
        for predicate, n in counts.items():
            found = properties[predicate]
            for type_iri in types:
                found[type_iri] += n
    type_names = {iri: names_of(iri, resources) for iri in type_counts}
    type_terms = {iri: ti.index_terms(" ".join(n or ti.humanised(iri) for n in names.values()))
                  for iri, names in type_names.items()}
    meta = {
        "format": ti.FORMAT,
        "types": [{"iri": iri, "name": type_names[iri], "count": type_counts[iri]}
                  for iri in sorted(type_counts)],
        "properties": [{"iri": iri, "name": names_of(iri, resources),
                        "count": property_counts[iri], "types": dict(sorted(properties[iri].items()))}
                       for iri in sorted(property_counts)],
    }
    return meta, type_terms


def documents(resources: dict[str, _Resource]) -> tuple[list[Document], dict]:
    """The documents of the named resources, in index order, and the index's metadata."""
    meta, type_terms = metadata(resources)
    docs = [document(iri, r, type_terms) for iri, r in in_order(resources)]
    return docs, {**meta, "documents": len(docs)}


# --------------------------------------------------------------------------- writing

def schema() -> tantivy.Schema:
    """The index's fields (see :mod:`poli_kg.textindex`)."""
    builder = tantivy.SchemaBuilder()
    builder.add_text_field(ti.IRI, tokenizer_name="raw", index_option="basic")
    builder.add_text_field(ti.TERMS, tokenizer_name="whitespace", index_option="basic")
    builder.add_text_field(ti.KEYS, tokenizer_name="raw", index_option="basic")
    builder.add_text_field(ti.TEXT, tokenizer_name="whitespace", index_option="basic")
    builder.add_text_field(ti.TYPES, tokenizer_name="raw", index_option="basic")
    builder.add_unsigned_field(ti.KIND, indexed=True)
    builder.add_bytes_field(ti.DATA, stored=True)
    return builder.build()


def write_index(folder: Path, asserted: Iterable, inferred: Iterable = ()) -> dict[str, float]:
    """Write the search index of the triples into ``folder/INDEX_DIR`` (replacing it).

    ``asserted`` and ``inferred`` are pyoxigraph triples or quads (the inferred ones only
    add types: a resource is found by its inferred classes too).  Returns counts and the
    seconds taken.
    """
    started = time.perf_counter()
    resources = collect(asserted, inferred)
    meta, type_terms = metadata(resources)
    target = Path(folder) / ti.INDEX_DIR
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    index = tantivy.Index(schema(), path=str(target))
    writer = index.writer(heap_size=128_000_000, num_threads=1)
    count = 0
    for iri, resource in in_order(resources):   # tantivy indexes each in its own thread
        writer.add_document(_tantivy_document(document(iri, resource, type_terms)))
        count += 1
    writer.commit()
    writer.wait_merging_threads()
    del writer, index
    meta["documents"] = count
    (target / ti.META_FILE).write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
    for path in target.iterdir():
        os.chmod(path, 0o644)   # tantivy makes some files private; the build is public
    return {"documents": count, "seconds": time.perf_counter() - started}


def _tantivy_document(doc: Document) -> tantivy.Document:
    out = tantivy.Document()
    out.add_text(ti.IRI, doc.iri)
    out.add_text(ti.TERMS, " ".join(doc.terms))
    for key in sorted(doc.keys):
        out.add_text(ti.KEYS, key)
    out.add_text(ti.TEXT, " ".join(doc.text))
    for type_iri in doc.types:
        out.add_text(ti.TYPES, type_iri)
    out.add_unsigned(ti.KIND, ti.kind_code(doc.kind, doc.group))
    out.add_bytes(ti.DATA, json.dumps(doc.data, ensure_ascii=False).encode("utf-8"))
    return out
