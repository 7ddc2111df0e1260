"""The schema (T-box) of a graph, read from an Oxigraph store and closed in Python.

The schema is small, so it is closed here rather than by rules: ``rdfs:subClassOf`` /
``owl:equivalentClass`` (with owlrl's scm-cls edges ``c ⊑ owl:Thing`` and ``owl:Nothing ⊑ c``
for every declared ``owl:Class``), ``rdfs:subPropertyOf`` / ``owl:equivalentProperty``,
``rdfs:domain`` and ``rdfs:range`` closed over both hierarchies (scm-sco, scm-eqc1/2, scm-spo,
scm-eqp1/2, scm-dom1/2, scm-rng1/2).  The schema consequences are inferred triples themselves;
the rest of :class:`Schema` (inverses, chains, property characteristics, disjointness) is what
:mod:`poli_kg.graph.rules` compiles into instance rules.

Axioms outside the compiled fragment raise :class:`Unsupported` (see :mod:`poli_kg.graph.rules`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from pyoxigraph import BlankNode, DefaultGraph, Literal, NamedNode, Store, Triple

__all__ = ["Unsupported", "Term", "Schema", "read_schema", "sparql_term"]

RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
OWL = "http://www.w3.org/2002/07/owl#"
XSD = "http://www.w3.org/2001/XMLSchema#"


def _n(iri: str) -> NamedNode:
    return NamedNode(iri)


TYPE = _n(RDF + "type")
FIRST, REST, NIL = _n(RDF + "first"), _n(RDF + "rest"), _n(RDF + "nil")
SUB_CLASS, SUB_PROPERTY = _n(RDFS + "subClassOf"), _n(RDFS + "subPropertyOf")
DOMAIN, RANGE = _n(RDFS + "domain"), _n(RDFS + "range")
EQ_CLASS, EQ_PROPERTY = _n(OWL + "equivalentClass"), _n(OWL + "equivalentProperty")
INVERSE, CHAIN = _n(OWL + "inverseOf"), _n(OWL + "propertyChainAxiom")
DISJOINT, PROP_DISJOINT = _n(OWL + "disjointWith"), _n(OWL + "propertyDisjointWith")
SAME_AS, DIFFERENT = _n(OWL + "sameAs"), _n(OWL + "differentFrom")
OWL_CLASS, THING, NOTHING = _n(OWL + "Class"), _n(OWL + "Thing"), _n(OWL + "Nothing")
RESOURCE = _n(RDFS + "Resource")
TRANSITIVE, SYMMETRIC = _n(OWL + "TransitiveProperty"), _n(OWL + "SymmetricProperty")
FUNCTIONAL, INV_FUNCTIONAL = _n(OWL + "FunctionalProperty"), _n(OWL + "InverseFunctionalProperty")
ASYMMETRIC, IRREFLEXIVE = _n(OWL + "AsymmetricProperty"), _n(OWL + "IrreflexiveProperty")
XSD_STRING, LANG_STRING = XSD + "string", RDF + "langString"

# Triples whose predicate is one of these are schema (T-box) axioms.
SCHEMA_PREDICATES = (SUB_CLASS, EQ_CLASS, SUB_PROPERTY, EQ_PROPERTY, DOMAIN, RANGE, INVERSE,
                     CHAIN, DISJOINT, PROP_DISJOINT)
PROPERTY_TYPES = (TRANSITIVE, SYMMETRIC, FUNCTIONAL, INV_FUNCTIONAL, ASYMMETRIC, IRREFLEXIVE)
# OWL RL constructs the compiled rules do not cover (owlrl is used instead).
UNSUPPORTED_PREDICATES = tuple(_n(OWL + n) for n in (
    "intersectionOf", "unionOf", "complementOf", "someValuesFrom", "allValuesFrom", "hasValue",
    "maxCardinality", "maxQualifiedCardinality", "oneOf", "hasKey", "sourceIndividual",
    "members", "distinctMembers"))
UNSUPPORTED_TYPES = tuple(_n(OWL + n) for n in (
    "AllDifferent", "AllDisjointClasses", "AllDisjointProperties", "NegativePropertyAssertion"))
# Terms that may not appear as properties or classes in a schema axiom we compile.
META_TERMS = frozenset({TYPE, SAME_AS, DIFFERENT, *SCHEMA_PREDICATES, FIRST, REST})

Term = NamedNode | BlankNode | Literal


class Unsupported(Exception):
    """The graph uses OWL RL features the compiled rules do not cover (use owlrl)."""


def sparql_term(term: Term) -> str:
    """``term`` in SPARQL syntax (blank nodes cannot be written in a query: see :func:`_check_terms`)."""
    return str(term)


# --------------------------------------------------------------------------- the schema

def _hierarchy_edges(sub_pairs: Iterable[tuple[Term, Term]],
                     equivalent_pairs: Iterable[tuple[Term, Term]]) -> dict[Term, set[Term]]:
    """Edges of a hierarchy: each term to its direct supers, both ways for equivalents."""
    edges: dict[Term, set[Term]] = defaultdict(set)
    for s, o in sub_pairs:
        if s != o:
            edges[s].add(o)
    for s, o in equivalent_pairs:
        if s != o:
            edges[s].add(o)
            edges[o].add(s)
    return edges


def _state_hierarchy(supers: dict[Term, set[Term]], sub: Term, equivalent: Term,
                     consequences: set[Triple]) -> None:
    """``x sub y`` for every super ``y`` of ``x``, and ``x equivalent y`` where both ways."""
    for x, ups in supers.items():
        for y in ups:
            consequences.add(Triple(x, sub, y))
            if x in supers.get(y, ()):
                consequences.add(Triple(x, equivalent, y))


def _closure(edges: dict[Term, set[Term]]) -> dict[Term, set[Term]]:
    """Reachable nodes of every node (the node itself only through a cycle) — then removed."""
    result: dict[Term, set[Term]] = {}
    for start in edges:
        seen: set[Term] = set()
        stack = list(edges[start])
        while stack:
            node = stack.pop()
            if node not in seen:
                seen.add(node)
                stack.extend(edges.get(node, ()))
        seen.discard(start)
        if seen:
            result[start] = seen
    return result


@dataclass
class Schema:
    """The closed T-box: everything the instance rules need, and the schema consequences."""

    super_classes: dict[Term, set[Term]] = field(default_factory=dict)
    super_properties: dict[Term, set[Term]] = field(default_factory=dict)
    domains: dict[Term, set[Term]] = field(default_factory=dict)
    ranges: dict[Term, set[Term]] = field(default_factory=dict)
    inverses: dict[Term, set[Term]] = field(default_factory=dict)   # x p y -> y q x (symmetric: q = p)
    chains: list[tuple[Term, tuple[Term, ...]]] = field(default_factory=list)
    transitive: set[Term] = field(default_factory=set)
    functional: set[Term] = field(default_factory=set)
    inverse_functional: set[Term] = field(default_factory=set)
    asymmetric: set[Term] = field(default_factory=set)
    irreflexive: set[Term] = field(default_factory=set)
    disjoint: set[tuple[Term, Term]] = field(default_factory=set)
    property_disjoint: set[tuple[Term, Term]] = field(default_factory=set)
    consequences: set[Triple] = field(default_factory=set)   # the closed schema triples

    def key(self) -> frozenset:
        """Everything the rules depend on (to notice when the data entail new axioms)."""
        return frozenset(self.consequences) | frozenset(
            ("inverse", p, q) for p, qs in self.inverses.items() for q in qs) | frozenset(
            ("chain", p, c) for p, c in self.chains) | frozenset(
            (name, p) for name in ("transitive", "functional", "inverse_functional",
                                   "asymmetric", "irreflexive") for p in getattr(self, name)) | frozenset(
            ("disjoint", *pair) for pair in self.disjoint) | frozenset(
            ("property_disjoint", *pair) for pair in self.property_disjoint)


def _objects(store: Store, predicate: NamedNode) -> Iterator[tuple[Term, Term]]:
    for quad in store.quads_for_pattern(None, predicate, None, DefaultGraph()):
        yield quad.subject, quad.object


def _list_items(store: Store, head: Term) -> list[Term]:
    items: list[Term] = []
    seen = set()
    while head != NIL and head not in seen:
        seen.add(head)
        first = [q.object for q in store.quads_for_pattern(head, FIRST, None, DefaultGraph())]
        rest = [q.object for q in store.quads_for_pattern(head, REST, None, DefaultGraph())]
        if len(first) != 1 or len(rest) != 1:
            raise Unsupported(f"malformed RDF list in a property chain at {head}")
        items.append(first[0])
        head = rest[0]
    return items


Axioms = dict[NamedNode, list[tuple[Term, Term]]]


def read_schema(store: Store) -> Schema:
    """Read and close the T-box of the default graph of ``store``.

    Raises :class:`Unsupported` for axioms outside the compiled fragment.
    """
    _refuse_unsupported_constructs(store)
    axioms: Axioms = {p: list(_objects(store, p)) for p in SCHEMA_PREDICATES}
    typed: dict[NamedNode, set[Term]] = {
        t: {q.subject for q in store.quads_for_pattern(None, TYPE, t, DefaultGraph())}
        for t in (OWL_CLASS, *PROPERTY_TYPES)}
    _check_axioms(axioms, typed)

    schema = Schema()
    _close_hierarchies(schema, axioms, typed[OWL_CLASS])
    _close_domains_and_ranges(schema, axioms)
    _read_inverses_and_chains(schema, store, axioms, typed[SYMMETRIC])
    schema.transitive = typed[TRANSITIVE]
    schema.functional = typed[FUNCTIONAL]
    schema.inverse_functional = typed[INV_FUNCTIONAL]
    schema.asymmetric = typed[ASYMMETRIC]
    schema.irreflexive = typed[IRREFLEXIVE]
    schema.disjoint = set(axioms[DISJOINT])
    schema.property_disjoint = set(axioms[PROP_DISJOINT])
    _check_terms(schema)
    return schema


def _refuse_unsupported_constructs(store: Store) -> None:
    for predicate in UNSUPPORTED_PREDICATES:
        if next(store.quads_for_pattern(None, predicate, None, DefaultGraph()), None) is not None:
            raise Unsupported(f"{predicate} is not compiled to rules")
    for kind in UNSUPPORTED_TYPES:
        if next(store.quads_for_pattern(None, TYPE, kind, DefaultGraph()), None) is not None:
            raise Unsupported(f"{kind} is not compiled to rules")


def _check_axioms(axioms: Axioms, typed: dict[NamedNode, set[Term]]) -> None:
    """No literals in schema axioms, and no axioms about the RDF/OWL vocabulary itself."""
    for p, pairs in axioms.items():
        for s, o in pairs:
            if isinstance(s, Literal) or (p is not CHAIN and isinstance(o, Literal)):
                raise Unsupported(f"a literal in a schema axiom: {s} {p} {o}")
            if p in (SUB_PROPERTY, EQ_PROPERTY, INVERSE, PROP_DISJOINT, DOMAIN, RANGE, CHAIN) and (
                    s in META_TERMS or (p in (SUB_PROPERTY, EQ_PROPERTY, INVERSE, PROP_DISJOINT)
                                        and o in META_TERMS)):
                raise Unsupported(f"a schema axiom about the RDF/OWL vocabulary: {s} {p} {o}")
    for t in PROPERTY_TYPES:
        if typed[t] & META_TERMS:
            raise Unsupported(f"an RDF/OWL property declared {t}")


def _close_hierarchies(schema: Schema, axioms: Axioms, classes: set[Term]) -> None:
    """The class and property hierarchies, closed, and their consequences."""
    # classes: subClassOf, equivalentClass, and owlrl's scm-cls edges
    edges = _hierarchy_edges(axioms[SUB_CLASS], axioms[EQ_CLASS])
    for c in classes | {THING, NOTHING}:
        if c != THING:
            edges[c].add(THING)
        if c != NOTHING:
            edges[NOTHING].add(c)
    schema.super_classes = _closure(edges)
    _state_hierarchy(schema.super_classes, SUB_CLASS, EQ_CLASS, schema.consequences)

    # properties: subPropertyOf, equivalentProperty
    schema.super_properties = _closure(
        _hierarchy_edges(axioms[SUB_PROPERTY], axioms[EQ_PROPERTY]))
    _state_hierarchy(schema.super_properties, SUB_PROPERTY, EQ_PROPERTY, schema.consequences)


def _close_domains_and_ranges(schema: Schema, axioms: Axioms) -> None:
    """Domains and ranges, closed over both hierarchies (scm-dom1/2, scm-rng1/2)."""
    for predicate, target in ((DOMAIN, schema.domains), (RANGE, schema.ranges)):
        direct: dict[Term, set[Term]] = defaultdict(set)
        for p, c in axioms[predicate]:
            direct[p].add(c)
        properties = set(direct) | {p for p, supers in schema.super_properties.items()
                                    if supers & direct.keys()}
        for p in properties:
            base = set(direct.get(p, ()))
            for q in schema.super_properties.get(p, ()):
                base |= direct.get(q, set())
            closed = set(base)
            for c in base:
                closed |= schema.super_classes.get(c, set())
            target[p] = closed
            for c in closed:
                schema.consequences.add(Triple(p, predicate, c))


def _read_inverses_and_chains(schema: Schema, store: Store, axioms: Axioms,
                              symmetric: set[Term]) -> None:
    for p, q in axioms[INVERSE]:
        schema.inverses.setdefault(p, set()).add(q)
        schema.inverses.setdefault(q, set()).add(p)
    for p in symmetric:
        schema.inverses.setdefault(p, set()).add(p)
    for p, head in axioms[CHAIN]:
        chain = tuple(_list_items(store, head))
        if any(isinstance(t, Literal) or t in META_TERMS for t in chain):
            raise Unsupported(f"a property chain over the RDF/OWL vocabulary: {p}")
        if chain:
            schema.chains.append((p, chain))
    schema.chains.sort(key=lambda item: (str(item[0]), tuple(map(str, item[1]))))


def _check_terms(schema: Schema) -> None:
    """The compiled rules write schema terms into SPARQL: they must be IRIs."""
    terms: set[Term] = set()
    for mapping in (schema.super_classes, schema.super_properties, schema.domains,
                    schema.ranges, schema.inverses):
        for key, values in mapping.items():
            terms.add(key)
            terms |= values
    for p, chain in schema.chains:
        terms.add(p)
        terms.update(chain)
    terms |= schema.transitive | schema.functional | schema.inverse_functional
    terms |= schema.asymmetric | schema.irreflexive
    for pair in schema.disjoint | schema.property_disjoint:
        terms.update(pair)
    blank = [t for t in terms if not isinstance(t, NamedNode)]
    if blank:
        raise Unsupported(f"anonymous classes or properties in the schema: {blank[0]}")
