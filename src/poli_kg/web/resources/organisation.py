"""What a managing body's page shows first: the cluster or clusters it manages (itself or
within a temporary association), its legal form, the members of an association and the
association an organisation belongs to (links both ways), websites and the territory.

The facts are a few hops away from the organisation (the website of the cluster it manages,
the territory of the regional system the cluster belongs to), so they come from one query of
the store rather than from the resource's description."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rdflib import Literal, URIRef
from rdflib.namespace import RDFS

from poli_kg.namespaces import sparql_prologue
from poli_kg.store.current import get_store

if TYPE_CHECKING:
    from poli_kg.web.base.render import Renderer, Value

MANAGED = "{ ?o pkg:gestisce ?p } UNION { ?p pkg:haSoggettoGestore ?o }"
MANAGED_THROUGH = ("{ ?ats pkg:haComponente ?o } UNION { ?o pkg:componenteDi ?ats } "
                   "{ ?ats pkg:gestisce ?p } UNION { ?p pkg:haSoggettoGestore ?ats }")
PROFILE_QUERY = sparql_prologue() + f"""
SELECT DISTINCT ?fact ?x ?label WHERE {{
  {{ {{ {MANAGED} }} BIND(?p AS ?x) BIND("manages" AS ?fact) }}
  UNION {{ {MANAGED_THROUGH} BIND(?p AS ?x) BIND("manages_through" AS ?fact) }}
  UNION {{ ?o cov:hasLegalStatus ?x BIND("legal_form" AS ?fact) }}
  UNION {{ ?o pkg:haComponente ?x BIND("members" AS ?fact) }}
  UNION {{ {{ ?x pkg:haComponente ?o }} UNION {{ ?o pkg:componenteDi ?x }} BIND("member_of" AS ?fact) }}
  UNION {{ ?o foaf:homepage ?x BIND("website" AS ?fact) }}
  UNION {{ {{ {MANAGED} }} UNION {{ {MANAGED_THROUGH} }}
          ?p foaf:homepage ?x BIND("cluster_website" AS ?fact) }}
  UNION {{ {{ {MANAGED} }} UNION {{ {MANAGED_THROUGH} }}
          {{ ?p pkg:parteDelSistema ?s }} UNION {{ ?s pkg:comprendePolo ?p }}
          ?s pkg:territorio ?x BIND("territory" AS ?fact) }}
  OPTIONAL {{ ?x rdfs:label ?label FILTER(lang(?label) = ?lang) }}
}}"""
FACTS = ("manages", "manages_through", "legal_form", "members", "member_of", "website",
         "cluster_website", "territory")
"""The facts of a profile, in reading order."""
ROLES = {"manages", "manages_through", "members", "member_of"}
"""An organisation has a profile when it has one of these (it manages or takes part)."""
PROFILE_TEXT = {
    "it": {"manages": "Gestisce", "manages_through": "Gestisce, nell'associazione",
           "legal_form": "Forma giuridica", "members": "Componenti dell'associazione",
           "member_of": "Componente di", "website": "Sito web",
           "cluster_website": "Sito web del polo", "territory": "Territorio"},
    "en": {"manages": "Manages",
           "manages_through": "Manages, within the association", "legal_form": "Legal form",
           "members": "Members of the association", "member_of": "Member of",
           "website": "Website", "cluster_website": "Website of the cluster",
           "territory": "Territory"},
}


def organisation_profile(iri: URIRef, renderer: Renderer) -> list[tuple[str, list[Value]]]:
    """(heading, values) of the profile of the organisation ``iri``; empty when it neither
    manages a cluster nor belongs to (or is) an association that does."""
    rows = get_store().select(PROFILE_QUERY, bindings={"o": iri, "lang": Literal(renderer.lang)})
    found: dict[str, list[URIRef]] = {}
    for row in rows:
        nodes = found.setdefault(str(row["fact"]), [])
        if row["x"] not in nodes:
            nodes.append(row["x"])
        if "label" in row:
            renderer.labels.add(row["x"], RDFS.label, row["label"])
    if not ROLES & found.keys():
        return []
    words = PROFILE_TEXT[renderer.lang]
    return [(words[fact], [renderer.iri(node) for node in sorted(found[fact], key=renderer.sort_key)])
            for fact in FACTS if fact in found]
