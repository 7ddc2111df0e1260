"""Resource pages (blueprint :data:`bp`): every IRI under ``https://w3id.org/poli-kg/id/`` and
the dataset's own description, dereferenceable at the same path of this service, and what
crawlers read to find them all.

Routes (``{ext}`` is one of ``html``, ``ttl``, ``jsonld``, ``nt``, ``rdf``; without it the
``Accept`` header chooses, see :mod:`poli_kg.web.base.formats`)::

    /id/{path}[.{ext}]         any resource https://w3id.org/poli-kg/id/{path}
    /dataset[.{ext}]           the dataset, as the DCAT catalogue and VoID describe it
    /dataset/{path}[.{ext}]    its distributions and its SPARQL service
    /sitemap.xml               every page of the service, as absolute URLs of its public root
    /robots.txt                everyone may crawl everything

The RDF of a resource is its description from the store (:mod:`poli_kg.web.base.descriptions`);
the RDF of the dataset's resources comes from the DCAT catalogue and the VoID description
(:mod:`poli_kg.web.base.dataset`).  Both have the same HTML page
(:mod:`poli_kg.web.resources.page`).
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import quote
from xml.sax.saxutils import escape as xml_escape

from flask import Blueprint, Response, current_app
from rdflib import BNode, Graph, URIRef
from rdflib.namespace import FOAF, RDFS
from rdflib.term import Node

from poli_kg.buildfolder import read_build_info
from poli_kg.namespaces import BASE, PREFIXES, bind_prefixes
from poli_kg.store.current import get_store
from poli_kg.web.base.dataset import catalog_document, void_document
from poli_kg.web.base.dataset_documents import cached
from poli_kg.web.base.descriptions import describe, exists, valid_path
from poli_kg.web.base.formats import split_suffix
from poli_kg.web.base.labels import LABEL_PROPERTIES
from poli_kg.web.base.pages import answer_store_failures, not_found, represent, share_site_shell
from poli_kg.web.base.shapes import shapes_graph
from poli_kg.web.base.site import local_path, public_root
from poli_kg.web.resources.page import resource_page

bp = Blueprint("resources", __name__, template_folder=Path(__file__).parents[1] / "templates")
answer_store_failures(bp)
share_site_shell(bp)


@bp.get("/id/<path:rest>")
def resource(rest: str) -> Response:
    """Any resource ``BASE + "id/" + rest``, negotiated (or by suffix)."""
    path = "id/" + rest
    if not valid_path(path):
        return not_found(BASE + path)
    iri = URIRef(BASE + path)
    ext: str | None = None
    if not exists(iri):
        stem, ext = split_suffix(path)
        iri = URIRef(BASE + stem)
        if ext is None or not exists(iri):
            return not_found(BASE + path)
    local = local_path(str(iri)) or ""
    return represent(local, ext, rdf=lambda: describe(iri),
                     html=lambda: resource_page(iri, local), primary=iri)


@bp.get("/dataset")
@bp.get("/dataset.<any(html, ttl, jsonld, nt, rdf):ext>")
@bp.get("/dataset/<path:rest>")
def dataset_metadata(rest: str | None = None, ext: str | None = None) -> Response:
    """The dataset, its distributions and its SPARQL service, as the catalogue describes them."""
    path = "dataset" + (f"/{rest}" if rest is not None else f".{ext}" if ext else "")
    graph = metadata_graph() if valid_path(path) else None
    if graph is None:
        return not_found(BASE + path)
    iri, ext = URIRef(BASE + path), None
    if (iri, None, None) not in graph:
        stem, ext = split_suffix(path)
        iri = URIRef(BASE + stem)
        if ext is None or (iri, None, None) not in graph:
            return not_found(BASE + path)
    local = local_path(str(iri)) or ""
    description = describe_in(graph, iri)
    return represent(local, ext, rdf=lambda: description,
                     html=lambda: resource_page(iri, local, description), primary=iri)


# -- the dataset's own description: the DCAT catalogue and the VoID description

def metadata_graph() -> Graph | None:
    """The DCAT catalogue and the VoID description, merged (made once per build, public root,
    contact e-mail and releases, like the catalogue itself); None where the application does
    not publish them (no ``catalog`` blueprint).  Shared, so never to be changed."""
    if "catalog" not in current_app.blueprints:
        return None
    return cached("metadata", _merged_metadata)


def _merged_metadata() -> Graph:
    graph = bind_prefixes(Graph())
    for part in (catalog_document(), void_document()):
        for prefix, namespace in part.namespaces():
            if prefix not in PREFIXES:
                graph.bind(prefix, namespace, override=False)
        for triple in part:
            graph.add(triple)
    return graph


def describe_in(graph: Graph, iri: URIRef) -> Graph:
    """The description of ``iri`` in an in-memory graph, as
    :func:`~poli_kg.web.base.descriptions.describe` makes it from the store."""
    out = bind_prefixes(Graph())
    for prefix, namespace in graph.namespaces():
        out.bind(prefix, namespace, override=False)
    todo: list[Node] = [iri]
    seen: set[Node] = {iri}
    while todo:
        subject = todo.pop()
        for p, o in graph.predicate_objects(subject):
            out.add((subject, p, o))
            if isinstance(o, BNode) and o not in seen:
                seen.add(o)
                todo.append(o)
    for s_, p in graph.subject_predicates(iri):
        out.add((s_, p, iri))
    nodes = {n for triple in out for n in triple if isinstance(n, URIRef)}
    for node in nodes:
        for prop in LABEL_PROPERTIES + (FOAF.name,):
            for label in graph.objects(node, prop):
                out.add((node, RDFS.label if prop == FOAF.name else prop, label))
    return out


# -- robots.txt and sitemap.xml

SUBJECTS_QUERY = """
SELECT DISTINCT ?s WHERE { ?s ?p ?o FILTER(isIRI(?s) && STRSTARTS(STR(?s), STR(?base))) } ORDER BY ?s
"""


def sitemap_paths() -> list[str]:
    """Paths of every page: home, ontology, named graphs, shapes, query page, every resource
    of the store and every IRI under the base the catalogue describes (dataset, distributions)."""
    paths = ["", "ontology", "query"]
    paths += [g[len(BASE):] for g in get_store().named_graphs if g.startswith(BASE)]
    if shapes_graph() is not None:
        paths.append("shapes")
    subjects = [str(row["s"]) for row in
                get_store().select(SUBJECTS_QUERY, bindings={"base": URIRef(BASE)})]
    metadata = metadata_graph()
    if metadata is not None:
        subjects += sorted({str(s_) for s_ in metadata.subjects()
                            if isinstance(s_, URIRef) and str(s_).startswith(BASE)})
    for iri in subjects:
        path = iri[len(BASE):].partition("#")[0]
        if valid_path(path) or path == "":
            paths.append(path)
    return list(dict.fromkeys(paths))  # each once, in order


@bp.get("/sitemap.xml")
def sitemap() -> Response:
    """Every page of the service, as absolute URLs of its public root (sitemaps.org)."""
    root = public_root()
    folder = get_store().build.folder()  # the build the server answers from
    info = (read_build_info(folder) if folder is not None else None) or {}
    built = str(info.get("built_at", ""))[:10]
    lastmod = f"<lastmod>{xml_escape(built)}</lastmod>" if re.fullmatch(r"\d{4}-\d\d-\d\d", built) else ""
    entries = [f"  <url><loc>{xml_escape(root + quote(path, safe='/:@!$&()*+,;=-._~'))}</loc>{lastmod}</url>"
               for path in sitemap_paths()]
    body = ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
            + "\n".join(entries) + "\n</urlset>\n")
    response = Response(body, content_type="application/xml; charset=utf-8")
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response


@bp.get("/robots.txt")
def robots() -> Response:
    """Everyone may crawl everything; the sitemap lists the pages."""
    body = f"User-agent: *\nAllow: /\n\nSitemap: {public_root()}sitemap.xml\n"
    return Response(body, content_type="text/plain; charset=utf-8")

