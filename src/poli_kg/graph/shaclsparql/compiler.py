"""The shapes graph compiled to SPARQL: the focus-node queries of each node shape and one
query per (shape, constraint), over all focus nodes at once (see :mod:`poli_kg.graph.shaclsparql`).

A shapes graph outside the compiled fragment raises :class:`Unsupported`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from pyoxigraph import Store
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.namespace import RDF, RDFS, SH, XSD
from rdflib.term import Node

from poli_kg.graph.rdfterms import to_rdflib
from poli_kg.graph.shaclsparql.joinorder import reorder

__all__ = ["Unsupported", "Check", "Compiled", "compile_shapes", "FOCUS"]

SH_NS = str(SH)
FOCUS = "urn:x-poli-kg:shacl:focus"   # scratch graphs: <FOCUS/n> { ?this <FOCUS> <FOCUS> }
RDF_TYPE = str(RDF.type)
SUBCLASS = str(RDFS.subClassOf)

# Parameters a shape may carry (anything else in sh: is unsupported).
COMMON = {SH.severity, SH.message, SH.deactivated, SH.name, SH.description, SH.order, SH.group,
          SH.defaultValue}
TARGETS = {SH.targetClass, SH.targetNode, SH.targetSubjectsOf, SH.targetObjectsOf, SH.target}
VALUE_PARAMS = {SH.datatype, SH["class"], SH.nodeKind, SH.pattern, SH.flags, getattr(SH, "in"),
                SH.hasValue, SH.languageIn, SH.minLength, SH.maxLength, SH.minInclusive,
                SH.maxInclusive, SH.minExclusive, SH.maxExclusive}
PROPERTY_PARAMS = VALUE_PARAMS | COMMON | {
    SH.path, SH.minCount, SH.maxCount, SH.uniqueLang, SH.lessThan, SH.lessThanOrEquals, SH["or"],
    SH.qualifiedValueShape, SH.qualifiedMinCount, SH.qualifiedMaxCount}
NODE_PARAMS = VALUE_PARAMS | COMMON | TARGETS | {SH.property, SH.sparql}
COMPONENT = {
    SH.datatype: "Datatype", SH["class"]: "Class", SH.nodeKind: "NodeKind", SH.pattern: "Pattern",
    getattr(SH, "in"): "In", SH.hasValue: "HasValue", SH.languageIn: "LanguageIn",
    SH.minLength: "MinLength", SH.maxLength: "MaxLength", SH.minInclusive: "MinInclusive",
    SH.maxInclusive: "MaxInclusive", SH.minExclusive: "MinExclusive",
    SH.maxExclusive: "MaxExclusive", SH.minCount: "MinCount", SH.maxCount: "MaxCount",
    SH.uniqueLang: "UniqueLang", SH.lessThan: "LessThan", SH.lessThanOrEquals: "LessThanOrEquals",
    SH["or"]: "Or", SH.qualifiedMinCount: "QualifiedMinCount",
    SH.qualifiedMaxCount: "QualifiedMaxCount",
}
COMPARISONS = {SH.minInclusive: ">=", SH.maxInclusive: "<=", SH.minExclusive: ">",
               SH.maxExclusive: "<"}
NODE_KINDS = {
    SH.IRI: "isIRI({v})", SH.BlankNode: "isBlank({v})", SH.Literal: "isLiteral({v})",
    SH.BlankNodeOrIRI: "(isBlank({v}) || isIRI({v}))",
    SH.BlankNodeOrLiteral: "(isBlank({v}) || isLiteral({v}))",
    SH.IRIOrLiteral: "(isIRI({v}) || isLiteral({v}))",
}


class Unsupported(Exception):
    """The shapes use SHACL features this compiler does not cover (use pyshacl)."""


# --------------------------------------------------------------------------- terms

def _sparql(term: Node) -> str:
    if isinstance(term, URIRef):
        return f"<{term}>"
    if isinstance(term, Literal):
        return term.n3()
    raise Unsupported(f"a blank node as a constraint parameter: {term}")


def _datatype_matches(value: Node, datatype: URIRef) -> bool:
    """pyshacl's DatatypeConstraintComponent test for one literal."""
    from pyshacl.constraints.core.value_constraints import DatatypeConstraintComponent

    if not isinstance(value, Literal):
        return False
    check = DatatypeConstraintComponent._assert_actual_datatype
    if value.datatype == datatype:
        return getattr(value, "ill_typed", None) is not True and check(None, value, datatype)
    if datatype == RDFS.Literal:
        return True
    if datatype == RDFS.Datatype and value.datatype:
        return True
    if value.datatype is None and value.language is None and datatype == XSD.string:
        return check(None, value, datatype)
    if datatype == RDF.langString and value.language:
        return check(None, value, datatype)
    return False


# --------------------------------------------------------------------------- the compiled form

@dataclass
class Check:
    """One query: rows of ``?this`` (and ``?value``, ``?path`` or message variables)."""

    query: str
    shape: Node                    # sh:sourceShape
    component: URIRef | None       # sh:sourceConstraintComponent
    severity: URIRef
    messages: tuple[str, ...]
    path: Node | None = None
    value: str | None = None       # "row": ?value of the row; "focus": the focus node; None
    constraint: Node | None = None  # sh:sourceConstraint (SPARQL constraints)
    template: bool = False          # fill {?var} from the row
    focus_filter: int | None = None  # SPARQL constraints: keep rows whose ?this is a focus node


@dataclass
class Compiled:
    """The node shapes' focus queries and the checks."""

    focus: list[tuple[int, list[str]]] = field(default_factory=list)   # (n, SELECT ?this …)
    checks: list[Check] = field(default_factory=list)
    datatype_paths: list[tuple[str, URIRef]] = field(default_factory=list)


class _Compiler:
    def __init__(self, shapes: Graph, store: Store) -> None:
        self.g = shapes
        self.store = store
        self.out = Compiled()
        self.bad_literals: dict[tuple[str, URIRef], list[str]] = {}

    # ---------------------------------------------------------------- helpers

    def one(self, node: Node, predicate: URIRef) -> Node | None:
        values = list(self.g.objects(node, predicate))
        if len(values) > 1:
            raise Unsupported(f"{node} has several {predicate}")
        return values[0] if values else None

    def items(self, node: Node) -> list[Node]:
        return list(Collection(self.g, node))

    def check_params(self, node: Node, allowed: set[URIRef]) -> None:
        for p in set(self.g.predicates(node, None)):
            if str(p).startswith(SH_NS) and p not in allowed:
                raise Unsupported(f"{node} uses {p}")

    def severity(self, node: Node) -> URIRef:
        return self.one(node, SH.severity) or SH.Violation

    def messages(self, node: Node) -> tuple[str, ...]:
        messages = tuple(sorted({str(m) for m in self.g.objects(node, SH.message)}))
        if not messages:
            raise Unsupported(f"{node} has no sh:message (pyshacl would write its own)")
        return messages

    def path(self, node: Node) -> tuple[str, Node]:
        path = self.one(node, SH.path)
        if isinstance(path, URIRef):
            return f"<{path}>", path
        if isinstance(path, BNode):
            inverse = self.one(path, SH.inversePath)
            if isinstance(inverse, URIRef) and len(set(self.g.predicate_objects(path))) == 1:
                return f"^<{inverse}>", path
        raise Unsupported(f"property path {path} of {node}")

    # ---------------------------------------------------------------- value constraints

    def value_conditions(self, shape: Node, var: str, path: str | None) -> list[tuple[URIRef, str]]:
        """(parameter, SPARQL condition on ``var`` that holds when the value conforms)."""
        conditions = []
        g = self.g
        for param in sorted(VALUE_PARAMS & set(g.predicates(shape, None)), key=str):
            if param == SH.flags:
                continue
            values = list(g.objects(shape, param))
            if len(values) != 1:
                raise Unsupported(f"{shape} has {len(values)} values of {param}")
            (arg,) = values
            if param == SH.datatype:
                conditions.append((param, self.datatype_condition(arg, var, path)))
            elif param == SH["class"]:
                conditions.append((param, f"EXISTS {{ VALUES ?class_ {{ {self.subclasses(arg)} }} "
                                          f"{var} <{RDF_TYPE}> ?class_ }}"))
            elif param == SH.nodeKind:
                if arg not in NODE_KINDS:
                    raise Unsupported(f"sh:nodeKind {arg}")
                conditions.append((param, NODE_KINDS[arg].format(v=var)))
            elif param == SH.pattern:
                flags = self.one(shape, SH.flags)
                flags_arg = f", {_sparql(Literal(str(flags)))}" if flags is not None else ""
                conditions.append((param, f"(!isBlank({var}) && REGEX(STR({var}), "
                                          f"{_sparql(Literal(str(arg)))}{flags_arg}))"))
            elif param == getattr(SH, "in"):
                members = self.items(arg)
                cond = " || ".join(f"sameTerm({var}, {_sparql(m)})" for m in members) or "false"
                conditions.append((param, f"({cond})"))
            elif param == SH.hasValue:
                conditions.append((param, f"sameTerm({var}, {_sparql(arg)})"))
            elif param == SH.languageIn:
                tags = [str(t) for t in self.items(arg)]
                cond = " || ".join(f"langMatches(lang({var}), {_sparql(Literal(t))})" for t in tags)
                conditions.append((param, f"(isLiteral({var}) && ({cond or 'false'}))"))
            elif param in (SH.minLength, SH.maxLength):
                op = ">=" if param == SH.minLength else "<="
                conditions.append((param, f"(!isBlank({var}) && STRLEN(STR({var})) {op} {int(arg)})"))
            elif param in COMPARISONS:
                conditions.append((param, f"COALESCE({var} {COMPARISONS[param]} {_sparql(arg)}, false)"))
        return conditions

    def subclasses(self, cls: Node) -> str:
        """``cls`` and its subclasses in the data (``rdfs:subClassOf*``), in SPARQL."""
        query = f"SELECT DISTINCT ?c WHERE {{ ?c <{SUBCLASS}>* {_sparql(cls)} }}"
        found = {str(row["c"]) for row in self.store.query(query)} | {_sparql(cls)}
        return " ".join(sorted(found))

    def datatype_condition(self, datatype: Node, var: str, path: str | None) -> str:
        if not isinstance(datatype, URIRef):
            raise Unsupported(f"sh:datatype {datatype}")
        if datatype == RDF.langString:
            return f"(isLiteral({var}) && lang({var}) != \"\")"
        if datatype == XSD.string:
            return f"(isLiteral({var}) && lang({var}) = \"\" && sameTerm(datatype({var}), <{XSD.string}>))"
        if datatype == RDFS.Literal:
            return f"isLiteral({var})"
        if path is None:
            raise Unsupported(f"sh:datatype {datatype} on a focus node")
        bad = self.ill_typed(path, datatype)
        exclude = "".join(f" && !sameTerm({var}, {b})" for b in bad)
        return f"(isLiteral({var}) && sameTerm(datatype({var}), <{datatype}>){exclude})"

    def ill_typed(self, path: str, datatype: URIRef) -> list[str]:
        """Values along ``path`` with ``datatype`` that pyshacl rejects (ill-typed literals)."""
        key = (path, datatype)
        if key not in self.bad_literals:
            bad = []
            query = (f"SELECT DISTINCT ?v WHERE {{ ?s {path} ?v "
                     f"FILTER(isLiteral(?v) && sameTerm(datatype(?v), <{datatype}>)) }}")
            for row in self.store.query(query):
                value = row["v"]
                if not _datatype_matches(to_rdflib(value), datatype):
                    bad.append(str(value))
            self.bad_literals[key] = bad
        return self.bad_literals[key]

    def shape_condition(self, shape: Node, var: str, path: str) -> str:
        """The condition for a value to conform to ``shape`` (made of value constraints only)."""
        self.check_params(shape, VALUE_PARAMS | {SH.message, SH.severity, SH.name, SH.description})
        conditions = [c for _p, c in self.value_conditions(shape, var, path)]
        return "(" + " && ".join(conditions) + ")" if conditions else "true"

    # ---------------------------------------------------------------- shapes

    def node_shapes(self) -> list[Node]:
        shapes = set(self.g.subjects(RDF.type, SH.NodeShape))
        for target in TARGETS:
            shapes |= set(self.g.subjects(target, None))
        for shape in shapes:
            if (shape, RDF.type, SH.PropertyShape) in self.g or self.one(shape, SH.path) is not None:
                if any(self.g.objects(shape, t) for t in TARGETS):
                    raise Unsupported(f"property shape {shape} with targets")
        for shape in set(self.g.subjects(RDF.type, SH.NodeShape)):
            if (shape, RDF.type, RDFS.Class) in self.g or (shape, RDF.type, URIRef(
                    "http://www.w3.org/2002/07/owl#Class")) in self.g:
                raise Unsupported(f"implicit class target of {shape}")
        return sorted((s for s in shapes if self.one(s, SH.path) is None),
                      key=lambda s: (isinstance(s, BNode), str(s)))

    def focus_queries(self, shape: Node) -> list[str]:
        """SELECT ?this queries whose union is the focus nodes of ``shape``."""
        plain = []
        for cls in self.g.objects(shape, SH.targetClass):
            plain.append(f"{{ VALUES ?class_ {{ {self.subclasses(cls)} }} ?this <{RDF_TYPE}> ?class_ }}")
        for node in self.g.objects(shape, SH.targetNode):
            plain.append(f"{{ VALUES ?this {{ {_sparql(node)} }} }}")
        for p in self.g.objects(shape, SH.targetSubjectsOf):
            plain.append(f"{{ ?this {_sparql(p)} ?any }}")
        for p in self.g.objects(shape, SH.targetObjectsOf):
            plain.append(f"{{ ?any {_sparql(p)} ?this }}")
        queries = [f"SELECT DISTINCT ?this WHERE {{ {' UNION '.join(plain)} }}"] if plain else []
        for target in self.g.objects(shape, SH.target):
            if (target, RDF.type, SH.SPARQLTarget) not in self.g:
                raise Unsupported(f"target {target} of {shape}")
            self.check_params(target, {SH.select, SH.prefixes})
            queries.append(reorder(self.prefixes(target) + str(self.one(target, SH.select)), self.store))
        return queries

    def prefixes(self, node: Node) -> str:
        lines = []
        for ontology in self.g.objects(node, SH.prefixes):
            for declaration in self.g.objects(ontology, SH.declare):
                prefix = self.one(declaration, SH.prefix)
                namespace = self.one(declaration, SH.namespace)
                lines.append(f"PREFIX {prefix}: <{namespace}>\n")
        return "".join(sorted(set(lines)))

    def compile(self) -> Compiled:
        for n, shape in enumerate(self.node_shapes()):
            if self.one(shape, SH.deactivated) == Literal(True):
                continue
            self.check_params(shape, NODE_PARAMS)
            focus = self.focus_queries(shape)
            if not focus:
                continue
            self.out.focus.append((n, focus))
            graph = f"<{FOCUS}/{n}>"
            this = f"GRAPH {graph} {{ ?this <{FOCUS}> <{FOCUS}> }}"
            self.node_constraints(shape, this)
            for prop in self.g.objects(shape, SH.property):
                self.property_constraints(shape, prop, this)
            for constraint in self.g.objects(shape, SH.sparql):
                self.sparql_constraint(shape, constraint, n)
        return self.out

    def node_constraints(self, shape: Node, this: str) -> None:
        severity = self.severity(shape)
        conditions = self.value_conditions(shape, "?this", None)
        if conditions:
            messages = self.messages(shape)
        for param, cond in conditions:
            self.out.checks.append(Check(
                f"SELECT ?this WHERE {{ {this} FILTER(!({cond})) }}", shape,
                SH[COMPONENT[param] + "ConstraintComponent"], severity, messages, value="focus"))

    def property_constraints(self, owner: Node, prop: Node, this: str) -> None:
        if self.one(prop, SH.deactivated) == Literal(True):
            return
        self.check_params(prop, PROPERTY_PARAMS)
        path, path_node = self.path(prop)
        severity = self.severity(prop)
        messages = self.messages(prop)

        def add(query: str, param: URIRef, value: str | None) -> None:
            self.out.checks.append(Check(query, prop, SH[COMPONENT[param] + "ConstraintComponent"],
                                         severity, messages, path=path_node, value=value))

        min_count = self.one(prop, SH.minCount)
        if min_count is not None and int(min_count) > 0:
            if int(min_count) == 1:
                add(f"SELECT ?this WHERE {{ {this} FILTER NOT EXISTS {{ ?this {path} ?v }} }}",
                    SH.minCount, None)
            else:
                add(f"SELECT ?this WHERE {{ {this} OPTIONAL {{ ?this {path} ?v }} }} "
                    f"GROUP BY ?this HAVING (COUNT(DISTINCT ?v) < {int(min_count)})", SH.minCount, None)
        max_count = self.one(prop, SH.maxCount)
        if max_count is not None:
            add(f"SELECT ?this WHERE {{ {this} ?this {path} ?v }} "
                f"GROUP BY ?this HAVING (COUNT(DISTINCT ?v) > {int(max_count)})", SH.maxCount, None)
        for param, cond in self.value_conditions(prop, "?value", path):
            if param == SH.hasValue:
                add(f"SELECT ?this WHERE {{ {this} FILTER NOT EXISTS {{ ?this {path} ?value "
                    f"FILTER({cond}) }} }}", param, None)
            else:
                add(f"SELECT DISTINCT ?this ?value WHERE {{ {this} ?this {path} ?value "
                    f"FILTER(!({cond})) }}", param, "row")
        if self.one(prop, SH.uniqueLang) == Literal(True):
            add(f"SELECT DISTINCT ?this ?lang WHERE {{ {this} ?this {path} ?v1 . ?this {path} ?v2 "
                f"FILTER(!sameTerm(?v1, ?v2) && lang(?v1) != \"\" && LCASE(lang(?v1)) = LCASE(lang(?v2))) "
                f"BIND(LCASE(lang(?v1)) AS ?lang) }}", SH.uniqueLang, None)
        for param, op in ((SH.lessThan, "<"), (SH.lessThanOrEquals, "<=")):
            other = self.one(prop, param)
            if other is not None:
                add(f"SELECT ?this ?value ?other WHERE {{ {this} ?this {path} ?value . "
                    f"?this {_sparql(other)} ?other FILTER(!COALESCE(?value {op} ?other, false)) }}",
                    param, "row")
        alternatives = self.one(prop, SH["or"])
        if alternatives is not None:
            conds = [self.shape_condition(s, "?value", path) for s in self.items(alternatives)]
            add(f"SELECT DISTINCT ?this ?value WHERE {{ {this} ?this {path} ?value "
                f"FILTER(!({' || '.join(conds) or 'false'})) }}", SH["or"], "row")
        qualified = self.one(prop, SH.qualifiedValueShape)
        if qualified is not None:
            cond = self.shape_condition(qualified, "?v", path)
            low, high = self.one(prop, SH.qualifiedMinCount), self.one(prop, SH.qualifiedMaxCount)
            if low is not None:
                add(f"SELECT ?this WHERE {{ {this} OPTIONAL {{ ?this {path} ?v FILTER({cond}) }} }} "
                    f"GROUP BY ?this HAVING (COUNT(DISTINCT ?v) < {int(low)})", SH.qualifiedMinCount, None)
            if high is not None:
                add(f"SELECT ?this WHERE {{ {this} ?this {path} ?v FILTER({cond}) }} "
                    f"GROUP BY ?this HAVING (COUNT(DISTINCT ?v) > {int(high)})", SH.qualifiedMaxCount, None)
        elif self.one(prop, SH.qualifiedMinCount) is not None or self.one(prop, SH.qualifiedMaxCount) is not None:
            raise Unsupported(f"{prop}: qualified count without a qualified value shape")

    def sparql_constraint(self, shape: Node, constraint: Node, n: int) -> None:
        if self.one(constraint, SH.deactivated) == Literal(True):
            return
        self.check_params(constraint, {SH.select, SH.prefixes, SH.message, SH.severity,
                                       SH.deactivated, SH.name, SH.description})
        select = self.one(constraint, SH.select)
        if select is None:
            raise Unsupported(f"SPARQL constraint {constraint} without sh:select")
        text = str(select)
        if re.search(r"\$(PATH|currentShape|shapesGraph|value)\b", text):
            raise Unsupported(f"SPARQL constraint {constraint} uses a pre-bound variable other than $this")
        head = text[: text.upper().find("WHERE")]
        if "$this" not in head and "?this" not in head:
            raise Unsupported(f"SPARQL constraint {constraint} does not project $this")
        query = reorder(self.prefixes(constraint) + text.replace("$this", "?this"), self.store)
        messages = tuple(sorted({str(m) for m in self.g.objects(constraint, SH.message)})) \
            or self.messages(shape)
        severity = self.one(constraint, SH.severity) or self.severity(shape)
        self.out.checks.append(Check(query, shape, SH.SPARQLConstraintComponent, severity, messages,
                                     value="sparql", constraint=constraint, template=True,
                                     focus_filter=n))


def compile_shapes(shapes: Graph, store: Store) -> Compiled:
    """The SPARQL form of ``shapes`` (raises :class:`Unsupported`)."""
    return _Compiler(shapes, store).compile()
