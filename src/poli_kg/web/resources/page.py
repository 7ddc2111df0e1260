"""The HTML page of a resource: its types, name and description, its statements and the
links pointing at it (the asserted ones first, the inferred ones apart), the sentences of the
source it rests on, for a statistical observation its figure and for a managing body its
profile (:mod:`poli_kg.web.resources.organisation`)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from urllib.parse import urlencode

from flask import render_template, request
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, PROV, QB, RDF, RDFS, SKOS

from poli_kg.namespaces import (
    BASE, GRAPH_ONTOLOGY, PKG, SDMX_ATTRIBUTE, SDMX_DIMENSION, SDMX_MEASURE, sparql_prologue,
)
from poli_kg.store.current import get_store
from poli_kg.web.base.anchors import documentation_url
from poli_kg.web.base.descriptions import describe, inferred_triples
from poli_kg.web.base.formats import downloads_for
from poli_kg.web.base.labels import Labels, in_language, pick
from poli_kg.web.base.numbers import format_amount
from poli_kg.web.base.pages import json_script, page_context
from poli_kg.web.base.render import Excerpt, Renderer, Row, Value, split_inferred
from poli_kg.web.base.site import language, page_url
from poli_kg.web.base.text import TEXT
from poli_kg.web.resources.organisation import organisation_profile
from poli_kg.web.resources.schemaorg import ORGANIZATION_TYPES, schema_org

SOURCES_QUERY = sparql_prologue() + """
SELECT ?ex ?value ?section ?first ?last ?doc ?docLabel WHERE {
  VALUES ?via { prov:wasDerivedFrom dct:source }
  ?r ?via ?ex .
  ?ex a pkg:Estratto ; prov:value ?value .
  OPTIONAL { ?ex pkg:sezione ?section }
  OPTIONAL { ?ex pkg:rigaIniziale ?first }
  OPTIONAL { ?ex pkg:rigaFinale ?last }
  OPTIONAL { ?ex dct:isPartOf ?doc OPTIONAL { ?doc rdfs:label ?docLabel } }
} ORDER BY ?first ?ex
"""
DESCRIBED_TERMS_QUERY = """
SELECT DISTINCT ?t WHERE { GRAPH ?g { ?t a ?k } FILTER(isIRI(?t) && !STRSTARTS(STR(?t), STR(?base))) }
"""
FIGURE_FACTS = (("indicator", PKG.indicatore), ("observed", PKG.oggettoRilevazione),
                ("breakdown", PKG.disaggregazione), ("period", SDMX_DIMENSION.refPeriod),
                ("dataset", QB.dataSet))
"""The dimensions of an observation shown in its figure box (keys of the page's words)."""
LEAD_PROPERTIES = (DCTERMS.description, SKOS.definition)
"""Where the text under a resource's title comes from, the first found."""
SUMMARY_LENGTH = 200
"""Longest meta description taken from a resource's description (in characters)."""


@dataclass
class Figure:
    """An observation's value, ready to show: as written for the page and as a number."""

    value: str
    machine: str
    qualifier: str | None
    wording: str | None
    facts: list[tuple[str, Value]]


@dataclass
class Statements:
    """What the store says of a resource, the asserted apart from the inferred."""

    types: list[Value]
    rows: list[Row]
    incoming: list[Row]
    inferred_types: list[Value]
    inferred_rows: list[Row]
    inferred_incoming: list[Row]

    @property
    def inferred_count(self) -> int:
        """How many inferred statements there are (types, properties and links)."""
        return len(self.inferred_types) + sum(
            len(row.values) for row in self.inferred_rows + self.inferred_incoming)


def resource_page(iri: URIRef, local: str, graph: Graph | None = None) -> str:
    """The HTML page of a resource: described by the store, or by ``graph`` when given."""
    lang = language()
    inferred = set()
    from_store = graph is None
    if graph is None:
        graph = describe(iri)
        inferred = inferred_triples(iri)
    labels = Labels(graph)
    renderer = Renderer(graph, labels, lang, inferred, ontology_links())
    lead = lead_text(graph, iri, lang)
    quote = quoted_sentence(graph, iri, lang)
    title = labels.text(iri, lang)
    other_label = labels.find(iri, "en" if lang == "it" else "it")
    statements = resource_statements(iri, renderer, lead, quote)
    return render_template(
        "resource.html",
        iri=str(iri), title=title,
        other_label=str(other_label) if other_label is not None and str(other_label) != title else None,
        lead=str(lead) if lead is not None else None, statements=statements,
        summary=page_summary(title, lead, statements.types, lang),
        sources=source_excerpts(iri, renderer),  # adds the source documents' labels
        figure=observation_figure(iri, renderer),
        profile=organisation_profile(iri, renderer)
        if from_store and set(graph.objects(iri, RDF.type)) & ORGANIZATION_TYPES else [],
        quote=str(quote) if quote is not None else None,
        downloads=downloads_for(local),
        query_url=page_url(request.script_root + "/query?"
                           + urlencode({"query": f"DESCRIBE <{iri}>"})),
        jsonld=json_script(schema_org(iri, graph, labels, lang)),
        **page_context(lang),
    )


def resource_statements(iri: URIRef, renderer: Renderer, lead: Literal | None,
                        quote: Literal | None) -> Statements:
    """The types, properties and incoming links of ``iri``, each split into asserted and
    inferred."""
    types = resource_types(iri, renderer)
    rows, inferred_rows = split_inferred(statement_rows(iri, renderer, lead, quote))
    incoming, inferred_incoming = split_inferred(renderer.incoming(iri))
    return Statements([t for t in types if not t.inferred], rows, incoming,
                      [t for t in types if t.inferred], inferred_rows, inferred_incoming)


def resource_types(iri: URIRef, renderer: Renderer) -> list[Value]:
    """The classes of ``iri``: asserted ones first, each group by name."""
    types = [renderer.iri(t) for t in sorted(renderer.graph.objects(iri, RDF.type),
                                             key=renderer.sort_key)]
    for value in types:
        value.inferred = (iri, RDF.type, URIRef(value.iri or "")) in renderer.inferred
    types.sort(key=lambda v: (v.inferred, v.text.casefold()))
    return types


def page_summary(title: str, lead: Literal | None, types: list[Value], lang: str) -> str:
    """The page's meta description: the resource's description (shortened), else its name
    and kinds."""
    if lead is not None:
        text = " ".join(str(lead).split())
        return text if len(text) <= SUMMARY_LENGTH else text[:SUMMARY_LENGTH].rsplit(" ", 1)[0] + " …"
    kinds = ", ".join(t.text for t in types)
    return f"{title}{' (' + kinds + ')' if kinds else ''}. {TEXT[lang]['summary']}"


def lead_text(graph: Graph, iri: URIRef, lang: str) -> Literal | None:
    """The description (else the definition) of ``iri`` shown under its title."""
    for prop in LEAD_PROPERTIES:
        lead = pick(in_language(list(graph.objects(iri, prop)), lang), lang)
        if lead is not None:
            return lead
    return None


def quoted_sentence(graph: Graph, iri: URIRef, lang: str) -> Literal | None:
    """The sentence an excerpt of the source quotes (None for other resources)."""
    if (iri, RDF.type, PKG.Estratto) not in graph:
        return None
    return pick(list(graph.objects(iri, PROV.value)), lang)


def statement_rows(iri: URIRef, renderer: Renderer, lead: Literal | None,
                   quote: Literal | None) -> list[Row]:
    """The statements about ``iri``, less those the page shows elsewhere (types, names,
    the lead text, the quoted sentence)."""
    skip = [RDF.type, RDFS.label, SKOS.prefLabel] + ([PROV.value] if quote is not None else [])
    rows = renderer.rows(iri, skip=skip)
    if lead is None:
        return rows
    lead_iris = {str(prop) for prop in LEAD_PROPERTIES}
    for row in rows:
        if row.prop.iri in lead_iris:
            row.values = [v for v in row.values if v.text != str(lead)]
    return [row for row in rows if row.values]


def source_excerpts(iri: URIRef, renderer: Renderer) -> list[Excerpt]:
    """The excerpts ``iri`` derives from (prov:wasDerivedFrom or dct:source); their
    documents' labels join the renderer's labels."""
    rows = get_store().select(SOURCES_QUERY, bindings={"r": iri})
    for row in rows:
        if "docLabel" in row:
            renderer.labels.add(row["doc"], RDFS.label, row["docLabel"])
    out: dict[str, Excerpt] = {}
    for row in rows:
        if str(row["ex"]) not in out:
            doc = row.get("doc")
            out[str(row["ex"])] = Excerpt.from_row(
                row, renderer.lang, renderer.iri(doc) if doc is not None else None)
    return list(out.values())


def observation_figure(iri: URIRef, renderer: Renderer) -> Figure | None:
    """The figure box of a qb:Observation (None for other resources)."""
    graph, lang = renderer.graph, renderer.lang
    value = graph.value(iri, SDMX_MEASURE.obsValue)
    if value is None or (iri, RDF.type, QB.Observation) not in graph:
        return None
    unit = graph.value(iri, SDMX_ATTRIBUTE.unitMeasure)
    try:
        text = format_amount(Decimal(str(value)), str(unit) if unit else None, lang)
    except InvalidOperation:
        text = str(value)
    qualifier_node = graph.value(iri, PKG.qualificatoreValore)
    qualifier = None
    if qualifier_node is not None and not str(qualifier_node).endswith("/esatto"):
        qualifier = renderer.labels.text(qualifier_node, lang)
    wording = pick(list(graph.objects(iri, PKG.espressioneOriginale)), lang)
    facts = []
    for key, prop in FIGURE_FACTS:
        node = graph.value(iri, prop)
        if node is not None:
            facts.append((TEXT[lang][key], renderer.term(node)))
    return Figure(text, str(value), qualifier, str(wording) if wording is not None else None,
                  facts)


def ontology_links() -> dict[str, str]:
    """Links to /ontology#… for the terms of other vocabularies the ontology describes."""
    rows = get_store().select(DESCRIBED_TERMS_QUERY,
                              bindings={"g": GRAPH_ONTOLOGY, "base": URIRef(BASE)})
    return {str(row["t"]): documentation_url(str(row["t"])) for row in rows}
