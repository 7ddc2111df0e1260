"""OWL 2 RL reasoning compiled to SPARQL rules that Oxigraph runs to a fixpoint.

owlrl (pure Python) applies every OWL 2 RL rule to every triple in every cycle: about 9 s for
20,000 triples.  This module computes the *same* closure (after :func:`is_noise`, the filter
:mod:`poli_kg.graph.reasoning` applies to owlrl's output) much faster:

1. **The schema (T-box) is read from the graph and closed in Python** — it is small:
   ``rdfs:subClassOf`` / ``owl:equivalentClass`` (with owlrl's scm-cls edges
   ``c ⊑ owl:Thing`` and ``owl:Nothing ⊑ c`` for every declared ``owl:Class``),
   ``rdfs:subPropertyOf`` / ``owl:equivalentProperty``, ``rdfs:domain`` and ``rdfs:range``
   closed over both hierarchies (scm-sco, scm-eqc1/2, scm-spo, scm-eqp1/2, scm-dom1/2,
   scm-rng1/2).  The schema consequences are inferred triples themselves.
2. **Only the instance rules the schema triggers are generated**, as SPARQL updates with the
   schema's terms written in: one rule per class with superclasses (cax-sco, cax-eqc1/2), one
   per property with super-properties, inverses, domains or ranges (prp-spo1, prp-eqp1/2,
   prp-inv1/2, prp-symp, prp-dom, prp-rng), one per property chain (prp-spo2, any length),
   transitive (prp-trp), functional (prp-fp) and inverse-functional (prp-ifp) property, and the
   equality rules (eq-sym, eq-trans, eq-rep-s/p/o) only once an ``owl:sameAs`` between
   different nodes exists.  A graph with other axioms gets other rules; nothing is specific to
   poli-kg's data.  ``python -m poli_kg.graph.rules`` prints the rules for the project's ontology.
3. **Oxigraph runs them semi-naively** in an in-memory store: round 1 on the whole graph, every
   later round only on the triples the previous round added (a rule with several body atoms
   runs once per atom, that atom on the new triples, the others on all), until a round adds
   nothing.  If the instance rules derive schema triples, the schema is closed again and the
   rules regenerated.
4. **Inconsistencies** are found with SPARQL queries on the closure and reported with owlrl's
   messages: cax-dw, cls-nothing2, prp-irp, prp-asyp, prp-pdw, eq-diff1, and owlrl's datatype
   checks (a literal whose lexical form does not match its OWL RL datatype; a literal typed,
   through ``rdfs:range``, with a class disjoint with its datatype).

Constructs outside this set — class expressions (``owl:intersectionOf``, ``owl:unionOf``,
``owl:complementOf``, ``owl:someValuesFrom``, ``owl:allValuesFrom``, ``owl:hasValue``,
``owl:maxCardinality``, ``owl:maxQualifiedCardinality``, ``owl:oneOf``), ``owl:hasKey``,
``owl:AllDifferent``, ``owl:AllDisjointClasses``, ``owl:AllDisjointProperties``, negative
property assertions, resources typed with a datatype, schema axioms about the RDF/OWL
vocabulary itself, equalities between literals (two values of a functional datatype
property) and inverse or symmetric properties with literal values — raise
:class:`Unsupported`; :func:`poli_kg.graph.reasoning.reason` then falls back to owlrl.

``tests/test_rules.py`` proves the result equal to owlrl's on the real graph, on generated
graphs and on graphs built to exercise every rule.
"""

from __future__ import annotations

import sys
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

# Bound at import: tests replace ``pyoxigraph.Store`` to break the build's on-disk store, and
# the reasoner's in-memory store must not be affected.
from pyoxigraph import BlankNode, DefaultGraph, Literal, NamedNode, Quad, Store, Triple

__all__ = [
    "Unsupported", "Schema", "Rule", "Run", "read_schema", "compile_rules", "run",
    "closure", "is_noise", "describe",
]

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

BUILTIN_NAMESPACES = (RDF, RDFS, OWL, XSD)
REFLEXIVE_NOISE = frozenset({SAME_AS, EQ_CLASS, EQ_PROPERTY, SUB_CLASS, SUB_PROPERTY})
TOP = frozenset({THING, RESOURCE})
TRIVIAL_WITH_TOP = frozenset({TYPE, SUB_CLASS, DOMAIN, RANGE})

# Working graphs of the reasoning store.
G_NEW = _n("urn:x-poli-kg:rules:new")
G_DELTA = _n("urn:x-poli-kg:rules:delta")
G_INFERRED = _n("urn:x-poli-kg:rules:inferred")

Term = NamedNode | BlankNode | Literal


class Unsupported(Exception):
    """The graph uses OWL RL features the compiled rules do not cover (use owlrl)."""


def is_noise(triple: Triple) -> bool:
    """:func:`poli_kg.graph.reasoning.is_noise` for pyoxigraph triples."""
    s, p, o = triple.subject, triple.predicate, triple.object
    if isinstance(s, Literal):
        return True
    if isinstance(s, NamedNode) and s.value.startswith(BUILTIN_NAMESPACES):
        return True
    if s == o and p in REFLEXIVE_NOISE:
        return True
    return p in TRIVIAL_WITH_TOP and o in TOP


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


def _ask(store: Store, query: str) -> bool:
    return bool(store.query(query))


def read_schema(store: Store) -> Schema:
    """Read and close the T-box of the default graph of ``store``.

    Raises :class:`Unsupported` for axioms outside the compiled fragment.
    """
    for predicate in UNSUPPORTED_PREDICATES:
        if next(store.quads_for_pattern(None, predicate, None, DefaultGraph()), None) is not None:
            raise Unsupported(f"{predicate} is not compiled to rules")
    for kind in UNSUPPORTED_TYPES:
        if next(store.quads_for_pattern(None, TYPE, kind, DefaultGraph()), None) is not None:
            raise Unsupported(f"{kind} is not compiled to rules")
    axioms: dict[NamedNode, list[tuple[Term, Term]]] = {
        p: list(_objects(store, p)) for p in SCHEMA_PREDICATES}
    typed: dict[NamedNode, set[Term]] = {
        t: {q.subject for q in store.quads_for_pattern(None, TYPE, t, DefaultGraph())}
        for t in (OWL_CLASS, *PROPERTY_TYPES)}
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

    schema = Schema()
    consequences = schema.consequences

    # classes: subClassOf, equivalentClass, and owlrl's scm-cls edges
    edges = _hierarchy_edges(axioms[SUB_CLASS], axioms[EQ_CLASS])
    for c in typed[OWL_CLASS] | {THING, NOTHING}:
        if c != THING:
            edges[c].add(THING)
        if c != NOTHING:
            edges[NOTHING].add(c)
    schema.super_classes = _closure(edges)
    _state_hierarchy(schema.super_classes, SUB_CLASS, EQ_CLASS, consequences)

    # properties: subPropertyOf, equivalentProperty
    schema.super_properties = _closure(
        _hierarchy_edges(axioms[SUB_PROPERTY], axioms[EQ_PROPERTY]))
    _state_hierarchy(schema.super_properties, SUB_PROPERTY, EQ_PROPERTY, consequences)

    # domains and ranges, closed over both hierarchies (scm-dom1/2, scm-rng1/2)
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
                consequences.add(Triple(p, predicate, c))

    for p, q in axioms[INVERSE]:
        schema.inverses.setdefault(p, set()).add(q)
        schema.inverses.setdefault(q, set()).add(p)
    for p in typed[SYMMETRIC]:
        schema.inverses.setdefault(p, set()).add(p)
    for p, head in axioms[CHAIN]:
        chain = tuple(_list_items(store, head))
        if any(isinstance(t, Literal) or t in META_TERMS for t in chain):
            raise Unsupported(f"a property chain over the RDF/OWL vocabulary: {p}")
        if chain:
            schema.chains.append((p, chain))
    schema.chains.sort(key=lambda item: (str(item[0]), tuple(map(str, item[1]))))
    schema.transitive = typed[TRANSITIVE]
    schema.functional = typed[FUNCTIONAL]
    schema.inverse_functional = typed[INV_FUNCTIONAL]
    schema.asymmetric = typed[ASYMMETRIC]
    schema.irreflexive = typed[IRREFLEXIVE]
    schema.disjoint = set(axioms[DISJOINT])
    schema.property_disjoint = set(axioms[PROP_DISJOINT])
    _check_terms(schema)
    return schema


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


# --------------------------------------------------------------------------- the rules

@dataclass(frozen=True)
class Rule:
    """One SPARQL rule: its OWL 2 RL names, a readable form, and its update per round."""

    names: str
    text: str
    body: tuple[str, ...]          # body triple patterns
    head: str                      # template
    filters: str = ""
    project: str = ""              # the head's variables, when fewer than the body's

    def update(self, first_round: bool) -> str:
        """``INSERT … WHERE …`` (one per body atom after round 1: semi-naive evaluation)."""
        parts = []
        for j in ([None] if first_round else range(len(self.body))):
            where = []
            for i, atom in enumerate(self.body):
                if i == j:
                    where.append(f"GRAPH <{G_DELTA.value}> {{ {atom} }}")
                else:
                    where.append(atom)
            pattern = f"{' '.join(where)} {self.filters}"
            if self.project:   # each binding of the head's variables once
                pattern = f"{{ SELECT DISTINCT {self.project} WHERE {{ {pattern} }} }}"
            parts.append(f"INSERT {{ GRAPH <{G_NEW.value}> {{ {self.head} }} }} WHERE {{ {pattern} }}")
        return " ;\n".join(parts)


def _names(terms: Iterable[Term]) -> str:
    return ", ".join(sorted(_short(t) for t in terms))


def _short(term: Term) -> str:
    value = str(term)
    for prefix, ns in _PREFIXES:
        if isinstance(term, NamedNode) and term.value.startswith(ns):
            return prefix + ":" + term.value[len(ns):]
    return value


_PREFIXES = (("rdf", RDF), ("rdfs", RDFS), ("owl", OWL), ("xsd", XSD),
             ("pkg", "https://w3id.org/poli-kg/ontology#"), ("org", "http://www.w3.org/ns/org#"),
             ("schema", "http://schema.org/"), ("prov", "http://www.w3.org/ns/prov#"),
             ("skos", "http://www.w3.org/2004/02/skos/core#"), ("dct", "http://purl.org/dc/terms/"),
             ("cov", "https://w3id.org/italia/onto/COV/"), ("time", "http://www.w3.org/2006/time#"))


def compile_rules(schema: Schema, *, skip_top: bool = True) -> list[Rule]:
    """The instance rules ``schema`` triggers (see the module docstring)."""
    rules: list[Rule] = []
    t = sparql_term
    disjoint_terms = {c for pair in schema.disjoint for c in pair}
    keep_top = not skip_top or bool(disjoint_terms & TOP)

    # cax-sco, cax-eqc1/2 (and scm-cls): one rule per class with superclasses
    for c in sorted(schema.super_classes, key=str):
        supers = sorted((d for d in schema.super_classes[c] if keep_top or d not in TOP), key=str)
        if supers:
            rules.append(Rule(
                "cax-sco", f"?x a {_short(c)} → ?x a {_names(supers)}",
                (f"?x a {t(c)} .",), " ".join(f"?x a {t(d)} ." for d in supers)))

    # prp-spo1, prp-eqp1/2, prp-inv1/2, prp-symp, prp-dom, prp-rng: one rule per property
    properties = set(schema.super_properties) | set(schema.inverses) | set(schema.domains) | set(
        schema.ranges)
    for p in sorted(properties, key=str):
        body = (f"?x {t(p)} ?y .",)
        head, names, parts = [], [], []
        supers = sorted(schema.super_properties.get(p, ()), key=str)
        if supers:
            head += [f"?x {t(q)} ?y ." for q in supers]
            names.append("prp-spo1")
            parts.append(f"?x {_names(supers)} ?y")
        inverses = sorted(schema.inverses.get(p, ()), key=str)
        if inverses:
            # a literal ?y would make a triple with a literal subject: SPARQL Update skips it
            # (owlrl derives it as a generalised triple; run() refuses such graphs)
            head += [f"?y {t(q)} ?x ." for q in inverses]
            names.append("prp-inv")
            parts.append(f"?y {_names(inverses)} ?x")
        if head:
            rules.append(Rule(", ".join(names), f"?x {_short(p)} ?y → " + " ; ".join(parts),
                              body, " ".join(head)))
        domains = sorted((c for c in schema.domains.get(p, ()) if keep_top or c not in TOP), key=str)
        if domains:
            rules.append(Rule("prp-dom", f"?x {_short(p)} ?y → ?x a {_names(domains)}", body,
                              " ".join(f"?x a {t(c)} ." for c in domains), project="?x"))
        ranges = sorted((c for c in schema.ranges.get(p, ()) if keep_top or c not in TOP), key=str)
        if ranges:   # a literal's types are noise (checked by _datatype_errors)
            rules.append(Rule("prp-rng", f"?x {_short(p)} ?y → ?y a {_names(ranges)}", body,
                              " ".join(f"?y a {t(c)} ." for c in ranges),
                              "FILTER(!isLiteral(?y))", project="?y"))

    # prp-spo2: property chains of any length
    for q, chain in schema.chains:
        variables = [f"?u{i}" for i in range(len(chain) + 1)]
        body = tuple(f"{variables[i]} {t(p)} {variables[i + 1]} ." for i, p in enumerate(chain))
        rules.append(Rule("prp-spo2", " / ".join(_short(p) for p in chain) + f" → {_short(q)}",
                          body, f"?u0 {t(q)} {variables[-1]} ."))
    for p in sorted(schema.transitive, key=str):
        rules.append(Rule("prp-trp", f"{_short(p)} transitive",
                          (f"?x {t(p)} ?y .", f"?y {t(p)} ?z ."), f"?x {t(p)} ?z ."))
    for p in sorted(schema.functional, key=str):
        rules.append(Rule("prp-fp", f"{_short(p)} functional → owl:sameAs",
                          (f"?x {t(p)} ?y1 .", f"?x {t(p)} ?y2 ."), f"?y1 {t(SAME_AS)} ?y2 .",
                          "FILTER(!sameTerm(?y1, ?y2) && !isLiteral(?y1) && !isLiteral(?y2))"))
    for p in sorted(schema.inverse_functional, key=str):
        rules.append(Rule("prp-ifp", f"{_short(p)} inverse functional → owl:sameAs",
                          (f"?x1 {t(p)} ?y .", f"?x2 {t(p)} ?y ."), f"?x1 {t(SAME_AS)} ?x2 .",
                          "FILTER(!sameTerm(?x1, ?x2))"))
    return rules


def equality_rules() -> list[Rule]:
    """eq-sym, eq-trans, eq-rep-s/p/o (added once some ``owl:sameAs`` links different nodes)."""
    same = sparql_term(SAME_AS)
    differ = "FILTER(!sameTerm(?a, ?b))"
    return [
        Rule("eq-sym", "?a owl:sameAs ?b → ?b owl:sameAs ?a",
             (f"?a {same} ?b .",), f"?b {same} ?a .", differ),
        Rule("eq-trans", "?a owl:sameAs ?b ; ?b owl:sameAs ?c → ?a owl:sameAs ?c",
             (f"?a {same} ?b .", f"?b {same} ?c ."), f"?a {same} ?c .",
             "FILTER(!sameTerm(?a, ?b) && !sameTerm(?b, ?c) && !sameTerm(?a, ?c))"),
        Rule("eq-rep-s", "?a owl:sameAs ?b ; ?a ?p ?o → ?b ?p ?o",
             (f"?a {same} ?b .", "?a ?p ?o ."), "?b ?p ?o .", differ),
        Rule("eq-rep-p", "?a owl:sameAs ?b ; ?s ?a ?o → ?s ?b ?o",
             (f"?a {same} ?b .", "?s ?a ?o ."), "?s ?b ?o .", differ),
        Rule("eq-rep-o", "?a owl:sameAs ?b ; ?s ?p ?a → ?s ?p ?b",
             (f"?a {same} ?b .", "?s ?p ?a ."), "?s ?p ?b .", differ),
    ]


# --------------------------------------------------------------------------- running

@dataclass
class Run:
    """What :func:`run` did: the rules, the rounds, the inconsistencies found."""

    rules: list[Rule]
    rounds: int
    errors: tuple[str, ...]
    schema: Schema


def _has_new(store: Store) -> bool:
    return next(store.quads_for_pattern(None, None, None, G_DELTA), None) is not None


def _settle(store: Store) -> None:
    """Keep the genuinely new triples of this round: add them to the graph, make them the delta."""
    store.update(f"""
        DELETE {{ GRAPH <{G_NEW.value}> {{ ?s ?p ?o }} }}
        WHERE {{ GRAPH <{G_NEW.value}> {{ ?s ?p ?o }} ?s ?p ?o }} ;
        DROP SILENT GRAPH <{G_DELTA.value}> ;
        INSERT {{ ?s ?p ?o . GRAPH <{G_INFERRED.value}> {{ ?s ?p ?o }}
                  GRAPH <{G_DELTA.value}> {{ ?s ?p ?o }} }}
        WHERE {{ GRAPH <{G_NEW.value}> {{ ?s ?p ?o }} }} ;
        DROP SILENT GRAPH <{G_NEW.value}>
    """)


def _has_equalities(store: Store) -> bool:
    return _ask(store, f"ASK {{ ?a <{SAME_AS.value}> ?b FILTER(!sameTerm(?a, ?b)) }}")


def run(store: Store, *, progress: bool = False) -> Run:
    """Close the default graph of ``store`` in place; new triples also go to :data:`G_INFERRED`.

    Raises :class:`Unsupported` (the store is then partly closed: discard it).
    """
    datatypes = " ".join(f"<{iri}>" for iri in _rl_datatypes())
    if _ask(store, f"ASK {{ VALUES ?d {{ {datatypes} }} ?s a ?d }}"):
        raise Unsupported("a resource is typed with a datatype")  # owlrl's dt-type2 on it
    schema = read_schema(store)
    rounds = 0
    while True:
        for triple in sorted(schema.consequences, key=str):
            s, p, o = triple.subject, triple.predicate, triple.object
            if not is_noise(triple) and next(
                    store.quads_for_pattern(s, p, o, DefaultGraph()), None) is None:
                store.add(Quad(s, p, o, DefaultGraph()))
                store.add(Quad(s, p, o, G_INFERRED))
        compiled = compile_rules(schema)
        first = True
        while True:
            rounds += 1
            active = compiled + (equality_rules() if _has_equalities(store) else [])
            if active:
                store.update(" ;\n".join(rule.update(first) for rule in active))
            _settle(store)
            first = False
            if progress:
                print(f"round {rounds}: {sum(1 for _ in store.quads_for_pattern(None, None, None, G_DELTA))} new",
                      file=sys.stderr)
            if not _has_new(store):
                break
        _check_literals_in_equalities(store, schema)
        again = read_schema(store)
        if again.key() == schema.key():
            break
        schema = again   # the data entailed new schema axioms: close again, rerun the rules
    store.update(f"DROP SILENT GRAPH <{G_DELTA.value}>")
    return Run(rules=compiled, rounds=rounds, errors=inconsistencies(store, schema), schema=schema)


def _check_literals_in_equalities(store: Store, schema: Schema) -> None:
    """Literals in owl:sameAs or as subjects through an inverse: owlrl's generalised triples."""
    if schema.functional:
        props = " ".join(sparql_term(p) for p in sorted(schema.functional, key=str))
        if _ask(store, f"ASK {{ VALUES ?p {{ {props} }} ?x ?p ?y1 . ?x ?p ?y2 "
                       f"FILTER(!sameTerm(?y1, ?y2) && (isLiteral(?y1) || isLiteral(?y2))) }}"):
            raise Unsupported("a functional property with two values, one a literal "
                              "(owlrl would equate literals)")
    if schema.inverses:
        props = " ".join(sparql_term(p) for p in sorted(schema.inverses, key=str))
        if _ask(store, f"ASK {{ VALUES ?p {{ {props} }} ?x ?p ?y FILTER isLiteral(?y) }}"):
            raise Unsupported("an inverse or symmetric property with a literal value")
    if _ask(store, f"ASK {{ ?a <{SAME_AS.value}> ?b FILTER(isLiteral(?b)) }}"):
        raise Unsupported("owl:sameAs with a literal")


# --------------------------------------------------------------------------- inconsistencies

def _text(term: Term) -> str:
    """How owlrl prints a term in its messages (rdflib's ``str``)."""
    return term.value if isinstance(term, (NamedNode, BlankNode, Literal)) else str(term)


def inconsistencies(store: Store, schema: Schema) -> tuple[str, ...]:
    """owlrl's inconsistency messages for the closed default graph of ``store``."""
    errors: set[str] = set()

    def select(query: str) -> Iterator:
        yield from store.query(query)

    for c1, c2 in schema.disjoint:
        for row in select(f"SELECT ?x WHERE {{ ?x a {sparql_term(c1)} . ?x a {sparql_term(c2)} }}"):
            errors.add("Disjoint classes %s and %s have a common individual %s"
                       % (_text(c1), _text(c2), _text(row["x"])))
    for row in select(f"SELECT ?x WHERE {{ ?x a <{NOTHING.value}> }}"):
        errors.add("%s is defined of type 'Nothing'" % _text(row["x"]))
    for p in schema.irreflexive:
        for row in select(f"SELECT ?x WHERE {{ ?x {sparql_term(p)} ?x }}"):
            errors.add("Irreflexive property used on %s with %s" % (_text(row["x"]), _text(p)))
    for p in schema.asymmetric:
        for row in select(f"SELECT ?x ?y WHERE {{ ?x {sparql_term(p)} ?y . ?y {sparql_term(p)} ?x }}"):
            errors.add("Erroneous usage of asymmetric property %s on %s and %s"
                       % (_text(p), _text(row["x"]), _text(row["y"])))
    for p1, p2 in schema.property_disjoint:
        for row in select(f"SELECT ?x ?y WHERE {{ ?x {sparql_term(p1)} ?y . ?x {sparql_term(p2)} ?y }}"):
            errors.add("Erroneous usage of disjoint properties %s and %s on %s and %s"
                       % (_text(p1), _text(p2), _text(row["x"]), _text(row["y"])))
    for row in select(f"""SELECT ?a ?b WHERE {{
            {{ ?a <{DIFFERENT.value}> ?b }} UNION {{ ?b <{DIFFERENT.value}> ?a }}
            FILTER(sameTerm(?a, ?b) || EXISTS {{ ?a <{SAME_AS.value}> ?b }}) }}"""):
        errors.add("'sameAs' and 'differentFrom' cannot be used on the same subject-object pair: (%s, %s)"
                   % (_text(row["a"]), _text(row["b"])))
    errors |= _datatype_errors(store, schema)
    return tuple(sorted(errors))


def _rl_datatypes() -> list[str]:
    from owlrl.XsdDatatypes import OWL_RL_Datatypes
    return sorted(str(d) for d in OWL_RL_Datatypes)


def _datatype_errors(store: Store, schema: Schema) -> set[str]:
    """owlrl's one-time datatype rules: lexical forms, and literals typed with disjoint classes.

    A literal is typed with its datatype and the datatypes subsuming it (dt-type2), with the
    ranges of the properties it is a value of (prp-rng) and with their superclasses (cax-sco);
    owlrl reports it when two of its types are disjoint (cax-dw), the disjointness of datatypes
    holding between those used in the graph.  Literals of ``xsd:string`` and language-tagged
    literals are plain for owlrl (they reach it as rdflib literals without datatype).
    """
    from owlrl.AxiomaticTriples import OWLRL_Datatypes_Disjointness
    from owlrl.DatatypeHandling import AltXSDToPYTHON
    from owlrl.XsdDatatypes import OWL_Datatype_Subsumptions

    rl = {d for d in _rl_datatypes() if d not in (XSD_STRING, LANG_STRING)}
    # (an IN list in the filter makes Oxigraph's scan twice as slow: filter in Python)
    typed_literals = [lit for lit in (row["o"] for row in store.query(
        f"SELECT DISTINCT ?o WHERE {{ ?s ?p ?o FILTER(isLiteral(?o) && lang(?o) = \"\" "
        f"&& !sameTerm(datatype(?o), <{XSD_STRING}>)) }}")) if lit.datatype.value in rl]
    converters = {str(k): v for k, v in AltXSDToPYTHON.items()}
    subsumptions = {NamedNode(str(k)): {NamedNode(str(x)) for x in v}
                    for k, v in OWL_Datatype_Subsumptions.items()}
    errors: set[str] = set()
    used: set[Term] = set()
    types_of: dict[Literal, set[Term]] = {}
    for lit in typed_literals:
        dt = lit.datatype
        types = {dt} | subsumptions.get(dt, set())
        used |= types
        types_of[lit] = types
        try:
            converters.get(dt.value, lambda v: v)(lit.value)
        except ValueError:
            errors.add("Lexical value of the literal '%s' does not match its datatype (%s)"
                       % (lit.value, dt.value))
    pairs = {(NamedNode(str(a)), NamedNode(str(b))) for a, _p, b in OWLRL_Datatypes_Disjointness
             if NamedNode(str(a)) in used and NamedNode(str(b)) in used}
    for a, b in pairs:   # resources typed with two disjoint datatypes (through ranges)
        for row in store.query(f"SELECT ?x WHERE {{ ?x a <{a.value}> . ?x a <{b.value}> }}"):
            errors.add("Disjoint classes %s and %s have a common individual %s"
                       % (a.value, b.value, _text(row["x"])))
    pairs |= schema.disjoint
    if not pairs:
        return errors
    involved = {c for pair in pairs for c in pair}
    for p, classes in schema.ranges.items():
        if classes & involved:
            for row in store.query(
                    f"SELECT DISTINCT ?o WHERE {{ ?s {sparql_term(p)} ?o FILTER isLiteral(?o) }}"):
                types_of.setdefault(row["o"], set()).update(classes)
    for lit, types in types_of.items():
        closed = set(types)
        for c in types:
            closed |= schema.super_classes.get(c, set())
        for a, b in pairs:
            if a in closed and b in closed:
                errors.add("Disjoint classes %s and %s have a common individual %s"
                           % (_text(a), _text(b), lit.value))
    return errors


# --------------------------------------------------------------------------- entry points

def closure(triples: Iterable[Triple]) -> tuple[list[Triple], tuple[str, ...]]:
    """The inferred triples (noise removed, asserted ones excluded) and the inconsistencies."""
    store = Store()
    store.extend([Quad(t.subject, t.predicate, t.object, DefaultGraph()) for t in triples])
    result = run(store)
    inferred = [q.triple for q in store.quads_for_pattern(None, None, None, G_INFERRED)
                if not is_noise(q.triple)]
    return inferred, result.errors


def describe(schema: Schema) -> str:
    """The compiled rules of ``schema``, one per line."""
    lines = [f"schema: {len(schema.consequences)} entailed schema triples"]
    for rule in compile_rules(schema):
        lines.append(f"[{rule.names}] {rule.text}")
    lines.append("[eq-sym, eq-trans, eq-rep-s/p/o] added when owl:sameAs links different nodes")
    checks = ["cls-nothing2", "datatypes"]
    if schema.disjoint:
        checks.append(f"cax-dw ({len(schema.disjoint)} pairs)")
    if schema.asymmetric:
        checks.append("prp-asyp")
    if schema.irreflexive:
        checks.append("prp-irp")
    if schema.property_disjoint:
        checks.append("prp-pdw")
    lines.append("checks: " + ", ".join(checks + ["eq-diff1"]))
    return "\n".join(lines)


def main() -> int:
    """Print the rules compiled from the project's ontology (``python -m poli_kg.graph.rules``)."""
    import pyoxigraph

    from poli_kg.config import ROOT as root
    store = Store()
    for path in sorted(root.glob("ontology/*.ttl")):
        store.load(path=str(path), format=pyoxigraph.RdfFormat.TURTLE)
    print(describe(read_schema(store)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
