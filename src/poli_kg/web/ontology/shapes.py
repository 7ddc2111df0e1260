"""The page of the SHACL shapes: every node shape with the classes it applies to, its
severity and its messages."""

from __future__ import annotations

from typing import Any

from flask import render_template, request
from rdflib import Graph, URIRef
from rdflib.namespace import RDF, RDFS, SH

from poli_kg.namespaces import ONTOLOGY_IRI
from poli_kg.web.base.anchors import documentation_url
from poli_kg.web.base.descriptions import ontology_graph
from poli_kg.web.base.formats import downloads_for
from poli_kg.web.base.labels import Labels, pick
from poli_kg.web.base.pages import page_context
from poli_kg.web.base.render import Renderer
from poli_kg.web.base.shapes import SHAPES_IRI
from poli_kg.web.base.site import language

SHAPES_PATH = "/shapes"
SHAPES_TEXT = {
    "it": {"title": "Forme SHACL", "intro": "I vincoli SHACL che i dati devono rispettare: la pubblicazione si ferma alle violazioni; gli avvisi vengono segnalati ma i dati della fonte restano come pubblicati.",
           "targets": "Si applica a", "severity": "Gravità", "message": "Messaggio",
           "path": "Percorso", "report": "Rapporto di validazione dell'ultima pubblicazione"},
    "en": {"title": "SHACL shapes", "intro": "The SHACL constraints the data must meet: publishing stops on violations; warnings are reported while the source's figures are kept as published.",
           "targets": "Applies to", "severity": "Severity", "message": "Message",
           "path": "Path", "report": "Validation report of the latest build"},
}


def shapes_page(graph: Graph) -> str:
    """The HTML page of the SHACL shapes: every node shape with its targets and messages."""
    lang = language()
    labels = Labels(graph)
    labels.add_graph(ontology_graph())
    renderer = Renderer(graph, labels, lang)
    node_shapes = sorted({s for s in graph.subjects(RDF.type, SH.NodeShape)
                          if isinstance(s, URIRef)}, key=str)
    return render_template("shapes.html", st=SHAPES_TEXT[lang],
                           shapes=[shape_entry(shape, renderer) for shape in node_shapes],
                           iri=SHAPES_IRI, downloads=downloads_for(request.script_root + SHAPES_PATH),
                           **page_context(lang))


def shape_entry(shape: URIRef, renderer: Renderer) -> dict[str, Any]:
    """One node shape for the page: anchor, targets (linked to the ontology page), severity
    (the gravest of the shape and its constraints), messages, comment."""
    graph, lang = renderer.graph, renderer.lang
    targets = [renderer.iri(t) for t in graph.objects(shape, SH.targetClass)]
    for target in targets:
        if target.iri and target.iri.startswith(ONTOLOGY_IRI + "#"):
            target.href = documentation_url(target.iri)
    messages: list[tuple[str, str | None]] = []
    severities: set[str] = set()
    for node in [shape, *graph.objects(shape, SH.property), *graph.objects(shape, SH.sparql)]:
        severity = graph.value(node, SH.severity)
        if severity is not None:
            severities.add(str(severity).rpartition("#")[2])
        message = pick(list(graph.objects(node, SH.message)), lang)
        if message is not None and (str(message), message.language) not in messages:
            messages.append((str(message), message.language))
    comment = pick(list(graph.objects(shape, RDFS.comment)), lang)
    return {"iri": str(shape), "anchor": str(shape).rpartition("#")[2],
            "targets": targets, "messages": messages,
            "severity": ", ".join(sorted(severities)) or "Violation",
            "comment": str(comment) if comment is not None else None}
