"""OWL 2 RL reasoning: the triples the ontology entails beyond what the Turtle files assert.

The closure is computed by owlrl (``OWLRL_Semantics``, without axiomatic or datatype
triples).  A forward-chaining closure also derives a lot of triples that are true in
every graph and say nothing about poli-kg; :func:`infer` drops them so the inferred
graph holds only *real* consequences, e.g.

* typing by superclass (``rdfs:subClassOf``, ``owl:equivalentClass``, domain, range),
* inverse properties (``owl:inverseOf``), symmetric and transitive properties,
* super-property triples (``rdfs:subPropertyOf``) and property chains
  (``owl:propertyChainAxiom``),
* schema consequences between the project's own terms (transitive ``rdfs:subClassOf``,
  domains and ranges inherited by sub-properties, …),
* ``owl:sameAs`` between *different* nodes.

Filter rules — an inferred triple ``s p o`` is dropped when:

1. ``s`` is a literal (owlrl's ``"x" owl:sameAs "x"``, ``"x" rdf:type xsd:string``);
2. ``s`` is an IRI of the built-in vocabularies (rdf:, rdfs:, owl:, xsd:), e.g.
   ``xsd:int rdf:type rdfs:Datatype``, ``owl:Nothing rdfs:subClassOf pkg:Polo``,
   ``rdfs:label rdf:type owl:AnnotationProperty`` — re-typings of built-in terms;
3. it is reflexive (``s == o``) and ``p`` is one of ``owl:sameAs``,
   ``owl:equivalentClass``, ``owl:equivalentProperty``, ``rdfs:subClassOf``,
   ``rdfs:subPropertyOf``;
4. it is a trivial typing: ``rdf:type owl:Thing`` or ``rdf:type rdfs:Resource``;
5. it is a trivial axiom: ``rdfs:subClassOf owl:Thing``/``rdfs:Resource``,
   ``rdfs:domain owl:Thing``/``rdfs:Resource``, ``rdfs:range owl:Thing``/``rdfs:Resource``;
6. it belongs to one of owlrl's inconsistency reports (a blank node typed
   ``err:ErrorMessage``) — those are returned separately by :func:`reason` as
   :attr:`Inference.errors`.

Triples already asserted are never part of the inferred graph.
"""

from __future__ import annotations

from dataclasses import dataclass

import owlrl
from owlrl.Namespaces import ERRNS
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import OWL, RDF, RDFS, XSD

__all__ = ["Inference", "reason", "infer", "is_noise"]

BUILTIN_NAMESPACES = (str(RDF), str(RDFS), str(OWL), str(XSD))
REFLEXIVE_NOISE = frozenset({
    OWL.sameAs, OWL.equivalentClass, OWL.equivalentProperty, RDFS.subClassOf, RDFS.subPropertyOf,
})
TOP = frozenset({OWL.Thing, RDFS.Resource})
TRIVIAL_WITH_TOP = frozenset({RDF.type, RDFS.subClassOf, RDFS.domain, RDFS.range})


@dataclass(frozen=True)
class Inference:
    """Result of :func:`reason`: the inferred-only graph and owlrl's inconsistency messages."""

    inferred: Graph
    errors: tuple[str, ...]


def is_noise(triple: tuple) -> bool:
    """True if ``triple`` is an uninformative by-product of the closure (see module docstring)."""
    s, p, o = triple
    if isinstance(s, Literal):
        return True
    if isinstance(s, URIRef) and str(s).startswith(BUILTIN_NAMESPACES):
        return True
    if s == o and p in REFLEXIVE_NOISE:
        return True
    return p in TRIVIAL_WITH_TOP and o in TOP


def reason(asserted: Graph) -> Inference:
    """Compute the OWL RL closure of ``asserted`` and return the filtered inferred triples.

    ``asserted`` is not modified.  Inconsistencies detected by owlrl (e.g. an individual of
    two disjoint classes) are returned as messages rather than as triples.
    """
    closure = Graph()
    closure += asserted
    owlrl.DeductiveClosure(
        owlrl.OWLRL_Semantics, axiomatic_triples=False, datatype_axioms=False
    ).expand(closure)

    error_nodes = set(closure.subjects(RDF.type, ERRNS.ErrorMessage)) - set(
        asserted.subjects(RDF.type, ERRNS.ErrorMessage)
    )
    errors = tuple(sorted(str(m) for node in error_nodes for m in closure.objects(node, ERRNS.error)))

    inferred = Graph()
    for triple in closure:
        if triple[0] in error_nodes or is_noise(triple) or triple in asserted:
            continue
        inferred.add(triple)
    return Inference(inferred=inferred, errors=errors)


def infer(asserted: Graph) -> Graph:
    """The triples entailed by ``asserted`` under OWL 2 RL, minus asserted ones and noise.

    Inconsistency messages are dropped here; use :func:`reason` to get them.
    """
    return reason(asserted).inferred
