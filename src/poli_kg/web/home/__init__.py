"""The home page (blueprint :data:`bp`, ``/``): the dataset, where to explore and download
it, the seven clusters, the figures as charts (:mod:`poli_kg.web.home.figures`) and the named
graphs, with schema.org ``Dataset`` JSON-LD for search engines."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Blueprint, Response, make_response, render_template, request
from rdflib import Graph

from poli_kg.namespaces import BASE, ID, sparql_prologue
from poli_kg.store.current import get_store
from poli_kg.web.base.anchors import ONTOLOGY_PATH
from poli_kg.web.base.labels import Labels
from poli_kg.web.base.numbers import format_number
from poli_kg.web.base.pages import (
    answer_store_failures, json_script, page_context, share_site_shell,
)
from poli_kg.web.base.publication import DOWNLOAD_DUMPS, LICENSE
from poli_kg.web.base.render import Renderer, Value, named_graph_list
from poli_kg.web.base.site import language, page_url, public_root, public_url
from poli_kg.web.base.text import TEXT
from poli_kg.web.home.figures import home_charts

bp = Blueprint("home", __name__, template_folder=Path(__file__).parents[1] / "templates")
answer_store_failures(bp)
share_site_shell(bp)

SOURCE_DOCUMENT = ID["fonte/poli-di-innovazione-piemonte-2017"]
HOME_TEXT = {
    "it": {
        "title": "Poli di Innovazione del Piemonte",
        "subtitle": "Un grafo di conoscenza in dati aperti collegati",
        "description": "poli-kg descrive i sette Poli di Innovazione della Regione Piemonte — le loro aree tematiche, i soggetti gestori, la partecipazione ai Cluster Tecnologici Nazionali, i programmi POR FESR e i bandi — e i dati pubblicati nel rapporto regionale del 2017. Ogni fatto e ogni cifra rimanda alla frase della fonte da cui deriva.",
        "license": "Licenza", "source": "Fonte", "triples": "triple",
        "explore": "Esplora e scarica",
        "query_desc": "Interroga il grafo con SPARQL, con domande di esempio.",
        "downloads_desc": "Il grafo completo in Turtle, JSON-LD, N-Triples, RDF/XML, TriG e N-Quads.",
        "catalog_desc": "Il catalogo DCAT-AP_IT del dataset e delle sue distribuzioni.",
        "void_desc": "La descrizione VoID del dataset: grafi, dimensioni, vocabolari.",
        "ontology_desc": "Classi e proprietà, con definizioni e allineamenti.",
        "poles": "I sette Poli di Innovazione", "pole": "Polo", "area": "Area tematica",
        "manager": "Soggetto gestore", "website": "Sito web",
        "figures": "I dati in sintesi",
        "figures_hint": "Grafici generati dal grafo con SPARQL a ogni richiesta; nella tabella di ogni grafico ciascuna cifra apre la sua osservazione e la frase della fonte.",
        "figures_table": "Le cifre in tabella",
        "graphs": "Grafi con nome", "graph": "Grafo", "total": "Totale",
    },
    "en": {
        "title": "Innovation Clusters of Piedmont",
        "subtitle": "A linked open data knowledge graph",
        "description": "poli-kg describes the seven innovation clusters (Poli di Innovazione) of the Piedmont Region — their thematic areas, managing bodies, participation in the Italian National Technology Clusters, the ERDF programmes and calls — and the figures published in the Region's 2017 report. Every fact and figure points to the sentence of the source it rests on.",
        "license": "Licence", "source": "Source", "triples": "triples",
        "explore": "Explore and download",
        "query_desc": "Query the graph with SPARQL, with example questions.",
        "downloads_desc": "The whole graph as Turtle, JSON-LD, N-Triples, RDF/XML, TriG and N-Quads.",
        "catalog_desc": "The DCAT-AP_IT catalogue of the dataset and its distributions.",
        "void_desc": "The VoID description of the dataset: graphs, sizes, vocabularies.",
        "ontology_desc": "Classes and properties, with definitions and alignments.",
        "poles": "The seven innovation clusters", "pole": "Cluster", "area": "Thematic area",
        "manager": "Managing body", "website": "Website",
        "figures": "Key figures",
        "figures_hint": "Charts drawn from the graph with SPARQL on every request; in each chart's table every figure opens its observation and the sentence of the source.",
        "figures_table": "The figures as a table",
        "graphs": "Named graphs", "graph": "Graph", "total": "Total",
    },
}
POLES_QUERY = sparql_prologue() + """
SELECT ?polo ?area ?manager ?site WHERE {
  ?polo a pkg:PoloDiInnovazione .
  OPTIONAL { ?polo pkg:areaTematica ?area }
  OPTIONAL { ?polo pkg:haSoggettoGestore ?manager }
  OPTIONAL { ?polo foaf:homepage ?site }
}
"""
POLES_LABELS_QUERY = sparql_prologue() + """
CONSTRUCT { ?n rdfs:label ?l . ?n skos:prefLabel ?pl } WHERE {
  ?polo a pkg:PoloDiInnovazione .
  { BIND(?polo AS ?n) } UNION { ?polo pkg:areaTematica ?n } UNION { ?polo pkg:haSoggettoGestore ?n }
  { ?n rdfs:label ?l } UNION { ?n skos:prefLabel ?pl }
}
"""
SOURCE_LABEL_QUERY = sparql_prologue() + "CONSTRUCT { ?d rdfs:label ?l } WHERE { ?d rdfs:label ?l }"
SOURCE_QUERY = sparql_prologue() + """
SELECT ?title ?year WHERE { OPTIONAL { ?d dct:title ?title } OPTIONAL { ?d dct:issued ?year } } LIMIT 1
"""


@bp.get("/")
def home() -> Response:
    """The home page: the dataset, links, the seven clusters, the figures as charts."""
    lang = language()
    ht = HOME_TEXT[lang]
    store = get_store()
    labels = Labels(store.construct(POLES_LABELS_QUERY))
    renderer = Renderer(Graph(), labels, lang)
    poles = pole_rows(renderer)
    sizes = store.graph_sizes()
    labels.add_graph(store.construct(SOURCE_LABEL_QUERY, bindings={"d": SOURCE_DOCUMENT}))
    html = render_template(
        "home.html", ht=ht, poles=poles, graphs=named_graph_list(store.named_graphs, sizes, lang),
        total=format_number(sum(sizes.values()), lang),
        source=renderer.iri(SOURCE_DOCUMENT), links=explore_links(lang),
        license={"href": str(LICENSE), "text": "CC BY 4.0"},
        charts=home_charts(lang),
        jsonld=json_script(home_dataset_jsonld(lang, ht["title"], ht["description"])),
        **page_context(lang),
    )
    response = make_response(html)
    response.headers["Content-Language"] = lang
    if "lang" not in request.args:
        response.headers["Vary"] = "Accept-Language"
    response.headers["Link"] = (f'<{request.script_root}/.well-known/void>; rel="describedby"; '
                                'type="text/turtle"')
    response.headers["Cache-Control"] = "public, max-age=300"
    response.add_etag()
    return response.make_conditional(request)


def pole_rows(renderer: Renderer) -> list[dict[str, Value | None]]:
    """The seven clusters with their thematic area, managing body and website, by name."""
    poles = []
    for row in get_store().select(POLES_QUERY):
        poles.append({
            "pole": renderer.iri(row["polo"]),
            "area": renderer.iri(row["area"]) if "area" in row else None,
            "manager": renderer.iri(row["manager"]) if "manager" in row else None,
            "site": renderer.iri(row["site"]) if "site" in row else None,
        })
    poles.sort(key=lambda p: p["pole"].text.casefold())
    return poles


def explore_links(lang: str) -> list[tuple[str, str, str]]:
    """(title, link, description) of the ways to explore and download the dataset."""
    ht = HOME_TEXT[lang]
    root = request.script_root
    return [
        (TEXT[lang]["query"], page_url(root + "/query"), ht["query_desc"]),
        (TEXT[lang]["downloads"], root + "/downloads/", ht["downloads_desc"]),
        (TEXT[lang]["catalog"], root + "/catalog", ht["catalog_desc"]),
        ("VoID", root + "/.well-known/void", ht["void_desc"]),
        (TEXT[lang]["ontology"], page_url(root + ONTOLOGY_PATH), ht["ontology_desc"]),
    ]


def home_dataset_jsonld(lang: str, title: str, description: str) -> dict[str, Any]:
    """schema.org Dataset for the home page."""
    root = public_root()
    store = get_store()
    source = store.select(SOURCE_QUERY, bindings={"d": SOURCE_DOCUMENT})
    based_on: dict[str, Any] = {"@type": "Report", "@id": str(SOURCE_DOCUMENT),
                                "url": public_url(str(SOURCE_DOCUMENT)),
                                "publisher": {"@type": "GovernmentOrganization",
                                              "name": "Regione Piemonte"}}
    if source and "title" in source[0]:
        based_on["name"] = str(source[0]["title"])
    if source and "year" in source[0]:
        based_on["datePublished"] = str(source[0]["year"])
    return {
        "@context": "https://schema.org",
        "@type": "Dataset",
        "name": title,
        "alternateName": "poli-kg",
        "description": description,
        "url": root,
        "sameAs": BASE,
        "license": str(LICENSE),
        "isAccessibleForFree": True,
        "inLanguage": ["it", "en"],
        "keywords": ["Poli di Innovazione", "Piemonte", "innovation clusters", "POR FESR",
                     "linked open data", "RDF"],
        "spatialCoverage": {"@type": "Place", "name": "Piemonte"},
        "temporalCoverage": "2007/2017",
        "isBasedOn": based_on,
        "creator": {"@type": "Organization", "name": "poli-kg",
                    "url": public_url(str(ID["organizzazione/poli-kg"]))},
        "includedInDataCatalog": {"@type": "DataCatalog", "url": root + "catalog"},
        "distribution": [
            {"@type": "DataDownload", "name": label, "contentUrl": root + "downloads/" + file,
             "encodingFormat": media}
            for file, label, media in DOWNLOAD_DUMPS
        ],
    }
