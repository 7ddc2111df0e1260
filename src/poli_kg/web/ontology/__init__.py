"""The ontology and the SHACL shapes (blueprint :data:`bp`): their documentation pages and
their RDF.

Routes (``{ext}`` is one of ``html``, ``ttl``, ``jsonld``, ``nt``, ``rdf``; without it the
``Accept`` header chooses, see :mod:`poli_kg.web.base.formats`)::

    /ontology[.{ext}]           the ontology (its terms are .../ontology#Term)
    /ontology/{version}[.{ext}] the ontology under its owl:versionIRI
    /shapes[.{ext}]             the SHACL shapes (.../shapes#Shape), when shapes/ is at hand

``/ontology`` returns the ontology graph as published (asserted triples only).
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response, request
from rdflib import URIRef

from poli_kg.namespaces import ONTOLOGY_IRI
from poli_kg.store.current import get_store
from poli_kg.web.base.anchors import ONTOLOGY_PATH
from poli_kg.web.base.descriptions import ontology_graph, valid_path
from poli_kg.web.base.formats import split_suffix
from poli_kg.web.base.pages import answer_store_failures, not_found, represent, share_site_shell
from poli_kg.web.base.shapes import SHAPES_IRI, shapes_graph
from poli_kg.web.base.site import local_path
from poli_kg.web.ontology.documentation import ONTOLOGY, ontology_page
from poli_kg.web.ontology.shapes import SHAPES_PATH, shapes_page

bp = Blueprint("ontology", __name__, template_folder=Path(__file__).parents[1] / "templates")
answer_store_failures(bp)
share_site_shell(bp)

VERSION_QUERY = "SELECT ?o WHERE { ?o <http://www.w3.org/2002/07/owl#versionIRI> ?v } LIMIT 1"


@bp.get("/ontology")
@bp.get("/ontology.<any(html, ttl, jsonld, nt, rdf):ext>")
def ontology(ext: str | None = None) -> Response:
    """The ontology document: documentation page or the ontology graph."""
    return represent(request.script_root + ONTOLOGY_PATH, ext, rdf=ontology_graph,
                     html=ontology_page, primary=ONTOLOGY)


@bp.get("/ontology/<path:version>")
def ontology_version(version: str) -> Response:
    """The ontology under its version IRI (``owl:versionIRI``), e.g. ``/ontology/1.0.0``."""
    stem, ext = split_suffix(version)
    for candidate, suffix in ((version, None), (stem, ext)):
        iri = URIRef(ONTOLOGY_IRI + "/" + candidate)
        if valid_path(candidate) and get_store().select(VERSION_QUERY, bindings={"v": iri}):
            path = local_path(str(iri)) or ""
            return represent(path, suffix, rdf=ontology_graph, html=ontology_page,
                             primary=ONTOLOGY)
    return not_found(ONTOLOGY_IRI + "/" + version)


@bp.get("/shapes")
@bp.get("/shapes.<any(html, ttl, jsonld, nt, rdf):ext>")
def shapes(ext: str | None = None) -> Response:
    """The SHACL shapes (``.../shapes#Shape`` IRIs)."""
    graph = shapes_graph()
    if graph is None:
        return not_found(SHAPES_IRI)
    return represent(request.script_root + SHAPES_PATH, ext, rdf=lambda: graph,
                     html=lambda: shapes_page(graph))
