"""schema.org JSON-LD for the pages of organisations (the poles, their managing bodies, the
regional system …), so that search engines read them as organisations."""

from __future__ import annotations

from typing import Any

from rdflib import Graph, URIRef
from rdflib.namespace import DCTERMS, FOAF, ORG, RDF, SKOS
from rdflib.term import Node

from poli_kg.namespaces import PKG, SCHEMA
from poli_kg.web.base.labels import Labels, pick
from poli_kg.web.base.site import public_url

ORGANIZATION_TYPES = {ORG.Organization, ORG.FormalOrganization, SCHEMA.Organization,
                      FOAF.Organization, PKG.PoloDiInnovazione, PKG.SoggettoGestore}
LEGAL_NAME = URIRef("https://w3id.org/italia/onto/COV/legalName")
PARENTS = (PKG.parteDelSistema, PKG.partecipaACluster)
"""Links to what an organisation is a member of (schema.org ``memberOf``)."""
PARTS = (PKG.gestisce, PKG.comprendePolo, PKG.haComponente)
"""Links to the organisations it comprises (schema.org ``subOrganization``)."""


def schema_org(iri: URIRef, graph: Graph, labels: Labels, lang: str) -> dict[str, Any] | None:
    """schema.org JSON-LD for organisations (poles, managing bodies, ...), else None."""
    types = set(graph.objects(iri, RDF.type))
    if not types & ORGANIZATION_TYPES:
        return None
    schema_type = "Organization"
    if SCHEMA.GovernmentOrganization in types:
        schema_type = "GovernmentOrganization"
    elif SCHEMA.Corporation in types:
        schema_type = "Corporation"
    data: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": schema_type,
        "@id": str(iri),
        "name": labels.text(iri, lang),
        "mainEntityOfPage": public_url(str(iri)),
    }
    _add_names(data, iri, graph, labels, lang)
    _add_relations(data, iri, graph, labels, lang)
    return data


def _add_names(data: dict[str, Any], iri: URIRef, graph: Graph, labels: Labels,
               lang: str) -> None:
    """Other names, website, legal name, description and field of an organisation."""
    alternate = sorted({str(v) for v in graph.objects(iri, SKOS.altLabel)} - {data["name"]})
    if alternate:
        data["alternateName"] = alternate
    homepage = graph.value(iri, FOAF.homepage)
    if homepage is not None:
        data["url"] = str(homepage)
    legal = graph.value(iri, LEGAL_NAME)
    if legal is not None:
        data["legalName"] = str(legal)
    description = pick(list(graph.objects(iri, DCTERMS.description)), lang)
    if description is not None:
        data["description"] = str(description)
    area = graph.value(iri, PKG.areaTematica)
    if area is not None:
        data["knowsAbout"] = labels.text(area, lang)


def _add_relations(data: dict[str, Any], iri: URIRef, graph: Graph, labels: Labels,
                   lang: str) -> None:
    """The organisations it is managed by, a member of, and comprises."""
    def ref(node: Node) -> dict[str, str]:
        return {"@type": "Organization", "@id": str(node), "name": labels.text(node, lang),
                "url": public_url(str(node))}

    manager = graph.value(iri, PKG.haSoggettoGestore)
    if manager is not None:
        data["parentOrganization"] = ref(manager)
    members = [ref(n) for prop in PARENTS for n in graph.objects(iri, prop)]
    if members:
        data["memberOf"] = members
    subs = [ref(n) for prop in PARTS for n in graph.objects(iri, prop)]
    if subs:
        data["subOrganization"] = subs
