"""The named graphs of the dataset (blueprint :data:`bp`): ``/graph/{name}[.{ext}]`` for
``ontology``, ``data``, ``provenance`` and ``inferred`` (``{ext}`` one of ``html``, ``ttl``,
``jsonld``, ``nt``, ``rdf``; without it the ``Accept`` header chooses).  The page says what
the graph holds (classes, properties, size) and where to get it; the RDF describes it as a
``sd:Graph`` and ``void:Dataset``.
"""

from __future__ import annotations

from urllib.parse import urlencode

from flask import Blueprint, Response, render_template, request
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, RDF, RDFS, VOID

from poli_kg.namespaces import BASE, GRAPH, ONTOLOGY_IRI, SD, sparql_prologue
from poli_kg.store.current import get_store
from poli_kg.web.base.descriptions import describe
from poli_kg.web.base.formats import downloads_for, split_suffix
from poli_kg.web.base.labels import Labels
from poli_kg.web.base.numbers import format_number
from poli_kg.web.base.pages import (
    answer_store_failures, not_found, page_context, represent, share_site_shell,
)
from poli_kg.web.base.publication import DOWNLOAD_DUMPS, LICENSE, graph_text
from poli_kg.web.base.render import Renderer, named_graph_list
from poli_kg.web.base.site import LANGUAGES, language, local_path

bp = Blueprint("graphs", __name__, template_folder="templates")
answer_store_failures(bp)
share_site_shell(bp)

GRAPH_PAGE_TEXT = {
    "it": {"triples": "Triple", "graphs": "Grafi con nome", "classes": "Classi nel grafo",
           "predicates": "Proprietà più usate", "instances": "Risorse", "uses": "Triple",
           "get_graph": "Ottieni il grafo", "construct": "Tutte le triple del grafo (CONSTRUCT sull'endpoint SPARQL, Turtle)",
           "dumps": "Il dataset completo, con i grafi con nome", "union": "L'unione dei grafi con nome è il grafo di default dell'endpoint SPARQL.",
           "dump": "File del grafo"},
    "en": {"triples": "Triples", "graphs": "Named graphs", "classes": "Classes in the graph",
           "predicates": "Most used properties", "instances": "Resources", "uses": "Triples",
           "get_graph": "Get the graph", "construct": "Every triple of the graph (CONSTRUCT on the SPARQL endpoint, Turtle)",
           "dumps": "The whole dataset, with its named graphs", "union": "The union of the named graphs is the SPARQL endpoint's default graph.",
           "dump": "File of the graph"},
}
GRAPH_DUMPS = {"inferred": "poli-kg-inferred.ttl"}
GRAPH_CLASSES_QUERY = """
SELECT ?c (COUNT(DISTINCT ?s) AS ?n) WHERE { GRAPH ?g { ?s a ?c } } GROUP BY ?c ORDER BY DESC(?n) ?c LIMIT 25
"""
GRAPH_PREDICATES_QUERY = """
SELECT ?p (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?p ORDER BY DESC(?n) ?p LIMIT 15
"""
LABELS_QUERY = sparql_prologue() + """
CONSTRUCT { ?n rdfs:label ?l . ?n skos:prefLabel ?pl } WHERE {
  { SELECT DISTINCT ?n WHERE { GRAPH ?g { { ?s a ?n } UNION { ?s ?n ?o } } } }
  { ?n rdfs:label ?l } UNION { ?n skos:prefLabel ?pl }
}
"""


@bp.get("/graph/<name>")
def named_graph(name: str) -> Response:
    """A named graph of the dataset: its description (HTML or RDF)."""
    known = set(get_store().named_graphs)
    stem, ext = name, None
    if str(GRAPH[name]) not in known:
        stem, ext = split_suffix(name)
        if ext is None or str(GRAPH[stem]) not in known:
            return not_found(str(GRAPH) + name)
    iri = GRAPH[stem]
    path = local_path(str(iri)) or ""
    return represent(path, ext, rdf=lambda: graph_description(stem, iri),
                     html=lambda: graph_page(stem, iri), primary=iri)


def graph_description(name: str, iri: URIRef) -> Graph:
    """RDF about a named graph: labels, description, size, where to get it."""
    graph = describe(iri)
    graph.add((iri, RDF.type, SD.Graph))
    graph.add((iri, RDF.type, VOID.Dataset))
    for lang in LANGUAGES:
        title, description = graph_text(name, lang)
        graph.add((iri, RDFS.label, Literal(title, lang=lang)))
        if description:
            graph.add((iri, DCTERMS.description, Literal(description, lang=lang)))
    size = get_store().graph_sizes().get(str(iri))
    if size is not None:
        graph.add((iri, VOID.triples, Literal(size)))
    graph.add((iri, VOID.sparqlEndpoint, URIRef(BASE + "sparql")))
    graph.add((iri, DCTERMS.license, LICENSE))
    if name in GRAPH_DUMPS:
        graph.add((iri, VOID.dataDump, URIRef(BASE + "downloads/" + GRAPH_DUMPS[name])))
    if name == "ontology":
        graph.add((iri, VOID.rootResource, URIRef(ONTOLOGY_IRI)))
    return graph


def graph_page(name: str, iri: URIRef) -> str:
    """The HTML page of a named graph."""
    lang = language()
    store = get_store()
    labels = Labels(store.construct(LABELS_QUERY, bindings={"g": iri}))
    renderer = Renderer(Graph(), labels, lang)
    classes = [(renderer.iri(row["c"]), format_number(int(row["n"]), lang))
               for row in store.select(GRAPH_CLASSES_QUERY, bindings={"g": iri})]
    predicates = [(renderer.iri(row["p"]), format_number(int(row["n"]), lang))
                  for row in store.select(GRAPH_PREDICATES_QUERY, bindings={"g": iri})]
    title, description = graph_text(name, lang)
    construct = f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{iri}> {{ ?s ?p ?o }} }}"
    sizes = store.graph_sizes()
    root = request.script_root
    return render_template(
        "namedgraph.html", gt=GRAPH_PAGE_TEXT[lang], iri=str(iri), title=title,
        description=description, size=format_number(sizes.get(str(iri), 0), lang),
        size_value=sizes.get(str(iri), 0),
        classes=classes, predicates=predicates,
        others=named_graph_list(store.named_graphs, sizes, lang, current=str(iri)),
        downloads=downloads_for(local_path(str(iri)) or ""),
        construct_url=f"{root}/sparql?" + urlencode({"query": construct, "format": "turtle"}),
        dump_url=f"{root}/downloads/{GRAPH_DUMPS[name]}" if name in GRAPH_DUMPS else None,
        dumps=[(label, f"{root}/downloads/{file}") for file, label, _media in DOWNLOAD_DUMPS
               if file.endswith((".trig", ".nq"))],
        **page_context(lang),
    )
