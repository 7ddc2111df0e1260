"""OWL 2 RL reasoning compiled to SPARQL rules that Oxigraph runs to a fixpoint.

owlrl (pure Python) applies every OWL 2 RL rule to every triple in every cycle: about 9 s for
20,000 triples.  This module computes the *same* closure (after :func:`is_noise`, the filter
:mod:`poli_kg.graph.reasoning` applies to owlrl's output) much faster:

1. **The schema (T-box) is read from the graph and closed in Python** — it is small
   (:mod:`poli_kg.graph.schema`): ``rdfs:subClassOf`` / ``owl:equivalentClass`` (with
   owlrl's scm-cls edges ``c ⊑ owl:Thing`` and ``owl:Nothing ⊑ c`` for every declared
   ``owl:Class``), ``rdfs:subPropertyOf`` / ``owl:equivalentProperty``, ``rdfs:domain`` and
   ``rdfs:range`` closed over both hierarchies (scm-sco, scm-eqc1/2, scm-spo, scm-eqp1/2,
   scm-dom1/2, scm-rng1/2).  The schema consequences are inferred triples themselves.
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
   messages (:mod:`poli_kg.graph.consistency`): cax-dw, cls-nothing2, prp-irp, prp-asyp,
   prp-pdw, eq-diff1, and owlrl's datatype checks (a literal whose lexical form does not match
   its OWL RL datatype; a literal typed, through ``rdfs:range``, with a class disjoint with its
   datatype).

Constructs outside this set — class expressions (``owl:intersectionOf``, ``owl:unionOf``,
``owl:complementOf``, ``owl:someValuesFrom``, ``owl:allValuesFrom``, ``owl:hasValue``,
``owl:maxCardinality``, ``owl:maxQualifiedCardinality``, ``owl:oneOf``), ``owl:hasKey``,
``owl:AllDifferent``, ``owl:AllDisjointClasses``, ``owl:AllDisjointProperties``, negative
property assertions, resources typed with a datatype, schema axioms about the RDF/OWL
vocabulary itself, equalities between literals (two values of a functional datatype
property) and inverse or symmetric properties with literal values — raise
:class:`Unsupported`; :func:`poli_kg.graph.reasoning.reason` then falls back to owlrl.

``tests/graph/test_rules.py`` proves the result equal to owlrl's on the real graph, on
generated graphs and on graphs built to exercise every rule.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from dataclasses import dataclass

# Bound at import: tests replace ``pyoxigraph.Store`` to break the build's on-disk store, and
# the reasoner's in-memory store must not be affected.
from pyoxigraph import DefaultGraph, Literal, NamedNode, Quad, Store, Triple

from poli_kg.graph.consistency import inconsistencies, rl_datatypes
from poli_kg.graph.schema import (
    DOMAIN, EQ_CLASS, EQ_PROPERTY, OWL, RANGE, RDF, RDFS, RESOURCE, SAME_AS, SUB_CLASS,
    SUB_PROPERTY, THING, TYPE, XSD, Schema, Term, Unsupported, read_schema, sparql_term,
)

__all__ = [
    "Unsupported", "Schema", "Rule", "Run", "read_schema", "compile_rules", "run",
    "closure", "is_noise", "describe",
]

BUILTIN_NAMESPACES = (RDF, RDFS, OWL, XSD)
REFLEXIVE_NOISE = frozenset({SAME_AS, EQ_CLASS, EQ_PROPERTY, SUB_CLASS, SUB_PROPERTY})
TOP = frozenset({THING, RESOURCE})
TRIVIAL_WITH_TOP = frozenset({TYPE, SUB_CLASS, DOMAIN, RANGE})

# Working graphs of the reasoning store.
G_NEW = NamedNode("urn:x-poli-kg:rules:new")
G_DELTA = NamedNode("urn:x-poli-kg:rules:delta")
G_INFERRED = NamedNode("urn:x-poli-kg:rules:inferred")


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


def _ask(store: Store, query: str) -> bool:
    return bool(store.query(query))


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
    disjoint_terms = {c for pair in schema.disjoint for c in pair}
    keep_top = not skip_top or bool(disjoint_terms & TOP)
    return (_class_rules(schema, keep_top) + _property_rules(schema, keep_top)
            + _chain_rules(schema) + _characteristic_rules(schema))


def _class_rules(schema: Schema, keep_top: bool) -> list[Rule]:
    """cax-sco, cax-eqc1/2 (and scm-cls): one rule per class with superclasses."""
    rules: list[Rule] = []
    t = sparql_term
    for c in sorted(schema.super_classes, key=str):
        supers = sorted((d for d in schema.super_classes[c] if keep_top or d not in TOP), key=str)
        if supers:
            rules.append(Rule(
                "cax-sco", f"?x a {_short(c)} → ?x a {_names(supers)}",
                (f"?x a {t(c)} .",), " ".join(f"?x a {t(d)} ." for d in supers)))
    return rules


def _property_rules(schema: Schema, keep_top: bool) -> list[Rule]:
    """prp-spo1, prp-eqp1/2, prp-inv1/2, prp-symp, prp-dom, prp-rng: one rule per property."""
    rules: list[Rule] = []
    t = sparql_term
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
        if ranges:   # a literal's types are noise (checked by poli_kg.graph.consistency)
            rules.append(Rule("prp-rng", f"?x {_short(p)} ?y → ?y a {_names(ranges)}", body,
                              " ".join(f"?y a {t(c)} ." for c in ranges),
                              "FILTER(!isLiteral(?y))", project="?y"))
    return rules


def _chain_rules(schema: Schema) -> list[Rule]:
    """prp-spo2: property chains of any length."""
    rules: list[Rule] = []
    t = sparql_term
    for q, chain in schema.chains:
        variables = [f"?u{i}" for i in range(len(chain) + 1)]
        body = tuple(f"{variables[i]} {t(p)} {variables[i + 1]} ." for i, p in enumerate(chain))
        rules.append(Rule("prp-spo2", " / ".join(_short(p) for p in chain) + f" → {_short(q)}",
                          body, f"?u0 {t(q)} {variables[-1]} ."))
    return rules


def _characteristic_rules(schema: Schema) -> list[Rule]:
    """prp-trp, prp-fp, prp-ifp: transitive, functional and inverse-functional properties."""
    rules: list[Rule] = []
    t = sparql_term
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
    datatypes = " ".join(f"<{iri}>" for iri in rl_datatypes())
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
