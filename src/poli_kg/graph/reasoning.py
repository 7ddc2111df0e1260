"""OWL RL reasoning: the triples the ontology entails beyond what the Turtle files assert.

Two reasoners compute the same closure:

* ``"rules"`` (the default): the OWL 2 RL rules the ontology triggers, compiled to SPARQL and
  run by Oxigraph to a fixpoint (:mod:`poli_kg.graph.rules`) — a few seconds for a million triples
  (``bench/build.py``), where owlrl needs about as long for ten thousand.  A graph using OWL RL features the rules do not cover falls
  back to owlrl (:attr:`Inference.note` says why).
* ``"owlrl"``: owlrl's ``OWLRL_Semantics`` (without axiomatic or datatype triples), the
  reference; ``tests/graph/test_rules.py`` proves the two equal.

A forward-chaining closure also derives a lot of triples that are true in every graph and say
nothing about poli-kg; both reasoners drop them so the inferred graph holds only *real*
consequences, e.g.

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

:func:`reason` works on rdflib graphs; :func:`close` on pyoxigraph triples and returns the
Oxigraph store holding the closure (the build validates it with SPARQL when it is large).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import owlrl
from owlrl.Namespaces import ERRNS
from pyoxigraph import DefaultGraph, Quad, Store, Triple
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import OWL, RDF, RDFS, XSD

from poli_kg.graph import rules
from poli_kg.graph.rdfterms import to_ox, to_rdflib

__all__ = [
    "REASONERS", "DEFAULT_REASONER", "Inference", "Closure", "reason", "infer", "close",
    "is_noise",
]

REASONERS = ("rules", "owlrl")
DEFAULT_REASONER = "rules"

BUILTIN_NAMESPACES = (str(RDF), str(RDFS), str(OWL), str(XSD))
REFLEXIVE_NOISE = frozenset({
    OWL.sameAs, OWL.equivalentClass, OWL.equivalentProperty, RDFS.subClassOf, RDFS.subPropertyOf,
})
TOP = frozenset({OWL.Thing, RDFS.Resource})
TRIVIAL_WITH_TOP = frozenset({RDF.type, RDFS.subClassOf, RDFS.domain, RDFS.range})


@dataclass(frozen=True)
class Inference:
    """Result of :func:`reason`: the inferred-only graph and the inconsistency messages."""

    inferred: Graph
    errors: tuple[str, ...]
    reasoner: str = "owlrl"   # the reasoner that computed it
    note: str = ""            # why the rules reasoner fell back to owlrl


@dataclass
class Closure:
    """Result of :func:`close`: the store (default graph = asserted + inferred) and more."""

    store: Store
    inferred: list[Triple]
    errors: tuple[str, ...]
    reasoner: str
    note: str = ""


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


# --------------------------------------------------------------------------- conversions

def _ox_triples(graph: Graph) -> list[Triple]:
    return [Triple(to_ox(s), to_ox(p), to_ox(o)) for s, p, o in graph]


def _rdflib_graph(triples: Iterable[Triple]) -> Graph:
    graph = Graph()
    for t in triples:
        graph.add((to_rdflib(t.subject), to_rdflib(t.predicate), to_rdflib(t.object)))
    return graph


# --------------------------------------------------------------------------- reasoners

def _check(reasoner: str) -> None:
    if reasoner not in REASONERS:
        raise ValueError(f"unknown reasoner {reasoner!r}: use one of {', '.join(REASONERS)}")


def _owlrl(asserted: Graph) -> Inference:
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
    return Inference(inferred=inferred, errors=errors, reasoner="owlrl")


def reason(asserted: Graph, reasoner: str = DEFAULT_REASONER) -> Inference:
    """Compute the OWL RL closure of ``asserted`` and return the filtered inferred triples.

    ``asserted`` is not modified.  Inconsistencies (e.g. an individual of two disjoint classes)
    are returned as messages rather than as triples.
    """
    _check(reasoner)
    if reasoner == "rules":
        try:
            inferred, errors = rules.closure(_ox_triples(asserted))
        except rules.Unsupported as exc:
            return _fallback(asserted, str(exc))
        return Inference(inferred=_rdflib_graph(inferred), errors=errors, reasoner="rules")
    return _owlrl(asserted)


def _fallback(asserted: Graph, why: str) -> Inference:
    result = _owlrl(asserted)
    return Inference(inferred=result.inferred, errors=result.errors, reasoner="owlrl",
                     note=f"rules not applicable ({why}); used owlrl")


def infer(asserted: Graph, reasoner: str = DEFAULT_REASONER) -> Graph:
    """The triples entailed by ``asserted`` under OWL 2 RL, minus asserted ones and noise.

    Inconsistency messages are dropped here; use :func:`reason` to get them.
    """
    return reason(asserted, reasoner).inferred


def close(asserted: Iterable[Triple | Quad], reasoner: str = DEFAULT_REASONER) -> Closure:
    """:func:`reason` for pyoxigraph triples, keeping the Oxigraph store of the closure.

    ``asserted``: triples, or quads in the default graph (as the build parses them).

    The store's default graph holds the asserted and the inferred triples (Oxigraph keeps
    numbers and dates in canonical form); the returned ``inferred`` list is filtered.
    """
    _check(reasoner)
    triples = asserted if isinstance(asserted, list) else list(asserted)
    note = ""
    if reasoner == "rules":
        store = Store()
        # (for an in-memory store, extend() from a list is the fastest way in)
        if triples and type(triples[0]) is Quad:   # the build's parsed default-graph quads
            store.extend(triples)
        else:
            store.extend([Quad(t.subject, t.predicate, t.object, DefaultGraph()) for t in triples])
        try:
            result = rules.run(store)
        except rules.Unsupported as exc:
            note = f"rules not applicable ({exc}); used owlrl"
        else:
            inferred, noise = [], []
            for q in store.quads_for_pattern(None, None, None, rules.G_INFERRED):
                (noise if rules.is_noise(q.triple) else inferred).append(q.triple)
            for t in noise:   # the closure in the store is what the build validates
                store.remove(Quad(t.subject, t.predicate, t.object, DefaultGraph()))
            store.update(f"DROP SILENT GRAPH <{rules.G_INFERRED.value}>")
            return Closure(store=store, inferred=inferred, errors=result.errors, reasoner="rules")
    graph = _rdflib_graph(triples)
    result = _owlrl(graph)
    inferred = _ox_triples(result.inferred)
    store = Store()
    store.extend([Quad(t.subject, t.predicate, t.object, DefaultGraph())
                  for t in [*triples, *inferred]])
    return Closure(store=store, inferred=inferred, errors=result.errors, reasoner="owlrl",
                   note=note)
