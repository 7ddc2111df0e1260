"""The inconsistencies of a closed graph, found with SPARQL and reported with owlrl's messages.

cax-dw, cls-nothing2, prp-irp, prp-asyp, prp-pdw, eq-diff1, and owlrl's datatype checks (a
literal whose lexical form does not match its OWL RL datatype; a literal typed, through
``rdfs:range``, with a class disjoint with its datatype).
"""

from __future__ import annotations

from collections.abc import Iterator

from pyoxigraph import BlankNode, Literal, NamedNode, Store

from poli_kg.graph.schema import (
    DIFFERENT, LANG_STRING, NOTHING, SAME_AS, XSD_STRING, Schema, Term, sparql_term,
)

__all__ = ["inconsistencies", "rl_datatypes"]


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


def rl_datatypes() -> list[str]:
    """The IRIs of the OWL RL datatypes, sorted."""
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

    rl = {d for d in rl_datatypes() if d not in (XSD_STRING, LANG_STRING)}
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
