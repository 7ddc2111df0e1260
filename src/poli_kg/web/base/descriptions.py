"""What the store says about a resource: the RDF its URL returns, and the questions the pages
ask before answering (is it an IRI, does the store know it, which statements are inferred).

A resource's RDF is its concise bounded description from the store's union graph (asserted
*and* inferred triples): every triple with it as subject, following blank nodes (up to
:data:`~poli_kg.web.base.publication.BNODE_DEPTH`
levels), its incoming links ``?s ?p <it>``, and the ``rdfs:label`` /
``skos:prefLabel`` of every resource these triples link to, so that the HTML page (and any
client) can name them.  The HTML page marks the statements that come from the inferred graph.
"""

from __future__ import annotations

import re

import pyoxigraph as ox
from rdflib import BNode, Graph, URIRef
from rdflib.term import Node

from poli_kg.namespaces import BASE, GRAPH_INFERRED, GRAPH_ONTOLOGY, sparql_prologue
from poli_kg.store.current import get_store
from poli_kg.web.base.publication import BNODE_DEPTH

_IRI_PATH = re.compile(r"[^\s<>\"{}|\\^`\x00-\x1f\x7f]+")


def valid_path(path: str) -> bool:
    """Whether ``BASE + path`` is an IRI (no spaces, brackets, quotes, controls, stray ``%``,
    U+FFFD from undecodable bytes …): the store refuses to look up anything else."""
    if not _IRI_PATH.fullmatch(path):
        return False
    try:
        ox.NamedNode(BASE + path)
    except ValueError:
        return False
    return True


def _chain(depth: int) -> str:
    """A group reaching a blank node ``?b{depth}`` from ``?r`` through blank nodes only.

    Each step is a group nested in the next, so that its FILTER prunes before the next
    join in every engine (a FILTER applies to its whole group: written flat, an engine
    that does not push filters down would join paths of any nodes first).
    """
    group = "{ ?r ?c1 ?b1 . FILTER(isBlank(?b1)) }"
    for i in range(2, depth + 1):
        group = f"{{ {group} ?b{i - 1} ?c{i} ?b{i} . FILTER(isBlank(?b{i})) }}"
    return group


LABELS_OF_N = "{ ?n rdfs:label ?l } UNION { ?n skos:prefLabel ?pl }"
DESCRIBE_QUERY = sparql_prologue() + f"""
CONSTRUCT {{ ?r ?p ?o . ?s ?ip ?r . ?n rdfs:label ?l . ?n skos:prefLabel ?pl . }}
WHERE {{
  {{ ?r ?p ?o }}
  UNION {{ ?s ?ip ?r }}
  UNION {{ {{ {{ ?r ?n ?x }} UNION {{ ?r ?x ?n }} UNION {{ ?x ?n ?r }} UNION {{ ?n ?x ?r }} }}
          {LABELS_OF_N} }}
}}"""
"""CONSTRUCT: the statements about ``?r`` and to ``?r``, and the labels of their terms."""


def bnodes_query(depth: int = BNODE_DEPTH) -> str:
    """CONSTRUCT: the blank nodes reachable from ``?r`` (up to ``depth``) and their terms' labels."""
    parts = []
    for k in range(1, depth + 1):
        parts.append(f"{{ {_chain(k)} ?b{k} ?bp ?bo . BIND(?b{k} AS ?b) }}")
        parts.append(f"{{ {_chain(k)} ?b{k} ?x ?n . {LABELS_OF_N} }}")
    return sparql_prologue() + (
        "CONSTRUCT { ?b ?bp ?bo . ?n rdfs:label ?l . ?n skos:prefLabel ?pl . }\nWHERE {\n  "
        + "\n  UNION ".join(parts) + "\n}")


BNODES_QUERY = bnodes_query()
EXISTS_QUERY = "SELECT ?x WHERE { { ?r ?p ?x } UNION { ?x ?p ?r } } LIMIT 1"
INFERRED_QUERY = """
SELECT ?s ?p ?o WHERE { GRAPH ?g { { ?r ?p ?o BIND(?r AS ?s) } UNION { ?s ?p ?r BIND(?r AS ?o) } } }
"""
GRAPH_QUERY = "CONSTRUCT { ?s ?p ?o } WHERE { GRAPH ?g { ?s ?p ?o } }"


def exists(iri: URIRef) -> bool:
    """Whether the store mentions ``iri`` (as subject or object)."""
    return bool(get_store().select(EXISTS_QUERY, bindings={"r": iri}))


def describe(iri: URIRef) -> Graph:
    """The RDF a resource's URL returns (see the module docstring).

    Two queries at most, both cheap in every engine: the statements about and to the
    resource with the labels of their terms, then, only if the resource has blank nodes,
    its blank nodes (blank node labels are the store's, so the two results join up).
    """
    store = get_store()
    graph = store.construct(DESCRIBE_QUERY, bindings={"r": iri})
    if any(isinstance(o, BNode) for o in graph.objects(iri, None)):
        for triple in store.construct(BNODES_QUERY, bindings={"r": iri}):
            graph.add(triple)
    return graph


def inferred_triples(iri: URIRef) -> set[tuple[Node, Node, Node]]:
    """The triples of the inferred graph with ``iri`` as subject or object."""
    rows = get_store().select(INFERRED_QUERY, bindings={"r": iri, "g": GRAPH_INFERRED})
    return {(row["s"], row["p"], row["o"]) for row in rows}


def graph_content(graph_iri: URIRef) -> Graph:
    """Every triple of one named graph."""
    return get_store().construct(GRAPH_QUERY, bindings={"g": graph_iri})


def ontology_graph() -> Graph:
    """The ontology as published: the ontology named graph (asserted triples only)."""
    return graph_content(GRAPH_ONTOLOGY)
