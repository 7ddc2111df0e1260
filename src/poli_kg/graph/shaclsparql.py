"""SHACL validation compiled to SPARQL and run by Oxigraph: pyshacl's results, for large graphs.

pyshacl checks one focus node at a time in Python, and runs each SHACL-SPARQL constraint once per
focus node with rdflib's SPARQL engine: minutes for the observations of a million-triple graph.
Here every (shape, constraint) becomes *one* SPARQL query over all focus nodes at once, run on
the reasoner's Oxigraph store (whose default graph is the asserted + inferred graph):

* the focus nodes of each node shape (``sh:targetClass`` with ``rdfs:subClassOf*``, the
  subclasses read from the data first, as for ``sh:class``,
  ``sh:targetNode``, ``sh:targetSubjectsOf``, ``sh:targetObjectsOf``, SPARQL-based targets)
  are written once into a scratch named graph;
* core constraints on a property shape (``sh:path`` an IRI or ``sh:inversePath`` of one):
  ``sh:minCount``, ``sh:maxCount``, ``sh:datatype``, ``sh:class``, ``sh:nodeKind``,
  ``sh:pattern`` (+ ``sh:flags``), ``sh:in``, ``sh:hasValue``, ``sh:languageIn``,
  ``sh:uniqueLang``, ``sh:minLength``/``sh:maxLength``, ``sh:min/maxIn/Exclusive``,
  ``sh:lessThan``, ``sh:lessThanOrEquals``, ``sh:or`` and ``sh:qualifiedValueShape``
  (+ ``sh:qualifiedMin/MaxCount``) with shapes made of value constraints; the same value
  constraints on the focus node of a node shape; ``sh:sparql`` constraints (SELECT, ``$this``
  projected) evaluated once with ``$this`` free and kept for the shape's focus nodes — the
  pre-binding of SHACL-SPARQL then amounts to that join;
* results carry what pyshacl's do (focus node, path, value, message — ``{?var}`` templates
  filled — severity, source shape, constraint component), one per node shape that reaches a
  shared property shape, as pyshacl reports them.

A shapes graph using anything else (another constraint component, ``sh:node``, complex paths,
a shape without ``sh:message`` — pyshacl then writes its own messages — …) raises
:class:`Unsupported`: the caller uses pyshacl.  ``tests/test_shaclsparql.py`` compares the two
on the real graph, on every targeted break of ``tests/test_shapes.py`` and on generated data.

Oxigraph stores numbers and dates in canonical form (``"149.0"^^xsd:decimal`` is read back as
``"149"``), so a value or a message may spell a number differently from pyshacl's.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from pyoxigraph import Literal as OxLiteral, NamedNode, Quad, Store
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.namespace import RDF, RDFS, SH, XSD
from rdflib.term import Node

from poli_kg.graph import validation
from poli_kg.namespaces import bind_prefixes
from poli_kg.graph.reasoning import to_rdflib
from poli_kg.graph.validation import SEVERITY_ORDER, ValidationReport

__all__ = ["Unsupported", "validate", "compile_shapes"]

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
_TEMPLATE = re.compile(r"\{[?$]([A-Za-z_][A-Za-z0-9_]*)\}")


class Unsupported(Exception):
    """The shapes use SHACL features this compiler does not cover (use pyshacl)."""


# --------------------------------------------------------------------------- terms

def _sparql(term: Node) -> str:
    if isinstance(term, URIRef):
        return f"<{term}>"
    if isinstance(term, Literal):
        return term.n3()
    raise Unsupported(f"a blank node as a constraint parameter: {term}")


def _text(term) -> str:
    """A bound value in a message: its lexical form or IRI (as pyshacl prints it)."""
    return term.value if hasattr(term, "value") else str(term)


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
        g = self.g
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


# --------------------------------------------------------------------------- running

def _rows(store: Store, query: str) -> Iterator:
    yield from store.query(query)


def validate(store: Store, shapes: Graph) -> ValidationReport:
    """Validate the default graph of ``store`` against ``shapes`` (as pyshacl would).

    Scratch graphs are added to ``store`` while validating and dropped afterwards.
    """
    compiled = compile_shapes(shapes, store)
    focus_sets: dict[int, set] = {}
    try:
        for n, queries in compiled.focus:
            nodes = set()
            for query in queries:
                for row in store.query(query):
                    nodes.add(row["this"])
            focus_sets[n] = nodes
            graph = NamedNode(f"{FOCUS}/{n}")
            marker = NamedNode(FOCUS)
            store.extend(Quad(node, marker, marker, graph) for node in nodes
                         if not isinstance(node, OxLiteral))
            literal_focus = [node for node in nodes if isinstance(node, OxLiteral)]
            if literal_focus:
                raise Unsupported("a literal focus node")
        report = Graph()
        results = []
        for check in compiled.checks:
            for row in _rows(store, check.query):
                focus = row["this"]
                if check.focus_filter is not None and focus not in focus_sets[check.focus_filter]:
                    continue
                results.append(_result(report, check, row, focus))
    finally:
        for n, _queries in compiled.focus:
            store.update(f"DROP SILENT GRAPH <{FOCUS}/{n}>")
    return _report(report, shapes, results)


def _result(report: Graph, check: Check, row, focus) -> BNode:
    node = BNode()
    add = report.add
    add((node, RDF.type, SH.ValidationResult))
    add((node, SH.focusNode, to_rdflib(focus)))
    add((node, SH.resultSeverity, check.severity))
    add((node, SH.sourceShape, check.shape))
    add((node, SH.sourceConstraintComponent, check.component))
    if check.constraint is not None:
        add((node, SH.sourceConstraint, check.constraint))
    path = check.path
    value = None
    if check.value == "row":
        value = to_rdflib(row["value"])
    elif check.value == "focus":
        value = to_rdflib(focus)
    elif check.value == "sparql":
        bound = _get(row, "value")
        value = to_rdflib(bound) if bound is not None else to_rdflib(focus)
        bound_path = _get(row, "path")
        if bound_path is not None:
            path = to_rdflib(bound_path)
    if path is not None:
        add((node, SH.resultPath, path))
    if value is not None:
        add((node, SH.value, value))
    for message in check.messages:
        if check.template:
            message = _TEMPLATE.sub(lambda m: _fill(row, m.group(1), m.group(0)), message)
        add((node, SH.resultMessage, Literal(message)))
    return node


def _get(row, name: str):
    try:
        return row[name]
    except (KeyError, IndexError):
        return None


def _fill(row, name: str, original: str) -> str:
    value = _get(row, name)
    return _text(value) if value is not None else original


def _report(report: Graph, shapes: Graph, nodes: list[BNode]) -> ValidationReport:
    """The report graph (as pyshacl writes it) and its sorted results."""
    conforms = not any((n, SH.resultSeverity, SH.Violation) in report for n in nodes)
    root = BNode()
    report.add((root, RDF.type, SH.ValidationReport))
    report.add((root, SH.conforms, Literal(conforms)))
    for n in nodes:
        report.add((root, SH.result, n))
    bind_prefixes(report)
    results = [validation._result(report, shapes, n) for n in nodes]
    results.sort(key=lambda r: (SEVERITY_ORDER.get(r.severity, 9), validation.display_term(r.focus_node),
                                r.path_label, r.message, r.shape_label))
    return ValidationReport(results=tuple(results), graph=report)


def supported(shapes: Graph, store: Store) -> bool:
    """True when ``shapes`` compile (nothing is run)."""
    try:
        compile_shapes(shapes, store)
    except Unsupported:
        return False
    return True


def explain(shapes: Graph, store: Store) -> Iterable[str]:
    """The compiled queries, for reading."""
    compiled = compile_shapes(shapes, store)
    for n, queries in compiled.focus:
        yield f"# focus {n}\n" + "\n".join(queries)
    for check in compiled.checks:
        yield f"# {validation.display_term(check.shape)} {check.component}\n{check.query}"


# --------------------------------------------------------------------------- join order

# Oxigraph joins the triple patterns of a basic graph pattern mostly in the order written, so a
# SHACL-SPARQL query written for one focus node at a time (pyshacl pre-binds $this) can be
# quadratic when run for all focus nodes at once.  The patterns of the top-level group are
# reordered greedily: next the pattern with the fewest expected matches given the variables
# already bound (counts from the store).  The group keeps the same patterns and filters, so the
# query means the same; a query outside the small grammar below is run as written.

_TOKEN = re.compile(r'''
    (?P<ws>\s+|\#[^\n]*)
  | (?P<iri><[^<>"{}|^`\\\s]*>)
  | (?P<string>"""(?:[^"\\]|\\.|"(?!""))*"""|\'\'\'(?:[^'\\]|\\.|'(?!''))*\'\'\'|"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')
  | (?P<var>[?$][A-Za-z0-9_]+)
  | (?P<lang>@[A-Za-z]+(?:-[A-Za-z0-9]+)*)
  | (?P<dtype>\^\^)
  | (?P<number>[+-]?(?:\d+\.\d+|\.\d+|\d+)(?:[eE][+-]?\d+)?)
  | (?P<pname>(?:[A-Za-z][\w-]*(?:\.[\w-]+)*)?:(?:[\w-]+(?:\.[\w-]+)*)?)
  | (?P<word>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<punct>&&|\|\||!=|<=|>=|[{}().;,\[\]=<>!*+/|^?-])
''', re.X)


class _NoReorder(Exception):
    pass


def _tokens(text: str) -> list[tuple[str, str, int, int]]:
    out, pos = [], 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:
            raise _NoReorder(text[pos:pos + 20])
        if m.lastgroup != "ws":
            out.append((m.lastgroup, m.group(), m.start(), m.end()))
        pos = m.end()
    return out


def _balanced(toks: list, i: int, open_: str, close: str) -> int:
    """Index after the token closing the ``open_`` at ``toks[i]``."""
    if toks[i][1] != open_:
        raise _NoReorder(f"expected {open_}")
    depth = 0
    for j in range(i, len(toks)):
        if toks[j][0] == "punct" and toks[j][1] == open_:
            depth += 1
        elif toks[j][0] == "punct" and toks[j][1] == close:
            depth -= 1
            if depth == 0:
                return j + 1
    raise _NoReorder("unbalanced")


def _term(toks: list, i: int, text: str) -> tuple[str, int]:
    kind, value = toks[i][0], toks[i][1]
    if kind in ("iri", "pname", "var", "number") or (kind == "word" and value in ("a", "true", "false")):
        return value, i + 1
    if kind == "string":
        end = i + 1
        if end < len(toks) and toks[end][0] == "lang":
            end += 1
        elif end + 1 < len(toks) and toks[end][0] == "dtype" and toks[end + 1][0] in ("iri", "pname"):
            end += 2
        return text[toks[i][2]:toks[end - 1][3]], end
    raise _NoReorder(f"term {value}")


def _elements(toks: list, i: int, end: int, text: str) -> list[tuple[str, object]]:
    """The elements of a group body: ("triples", [(s, p, o)]), ("filter", text), ("other", text)."""
    elements = []
    while i < end:
        kind, value = toks[i][0], toks[i][1]
        upper = value.upper() if kind == "word" else ""
        if kind == "punct" and value == ".":
            i += 1
        elif upper == "FILTER":
            j = i + 1
            if toks[j][0] == "punct" and toks[j][1] == "(":
                j = _balanced(toks, j, "(", ")")
            elif toks[j][0] == "word" and toks[j][1].upper() in ("NOT", "EXISTS"):
                j += 2 if toks[j][1].upper() == "NOT" else 1
                j = _balanced(toks, j, "{", "}")
            elif toks[j][0] in ("word", "pname", "iri"):
                j = _balanced(toks, j + 1, "(", ")")
            else:
                raise _NoReorder("filter")
            elements.append(("filter", text[toks[i][2]:toks[j - 1][3]]))
            i = j
        elif upper in ("OPTIONAL", "MINUS", "BIND", "VALUES", "GRAPH", "SERVICE") or (
                kind == "punct" and value == "{"):
            j = i
            if upper in ("OPTIONAL", "MINUS"):
                j = _balanced(toks, i + 1, "{", "}")
            elif upper == "BIND":
                j = _balanced(toks, i + 1, "(", ")")
            elif upper == "VALUES":
                j = i + 1
                if toks[j][1] == "(":
                    j = _balanced(toks, j, "(", ")")
                else:
                    j += 1
                j = _balanced(toks, j, "{", "}")
            elif upper in ("GRAPH", "SERVICE"):
                j = i + 1
                if toks[j][0] == "word" and toks[j][1].upper() == "SILENT":
                    j += 1
                j = _balanced(toks, j + 1, "{", "}")
            else:
                j = _balanced(toks, i, "{", "}")
                while j < end and toks[j][0] == "word" and toks[j][1].upper() == "UNION":
                    j = _balanced(toks, j + 1, "{", "}")
            elements.append(("other", text[toks[i][2]:toks[j - 1][3]]))
            i = j
        else:
            triples = []
            subject, i = _term(toks, i, text)
            while True:
                predicate, i = _term(toks, i, text)
                while True:
                    obj, i = _term(toks, i, text)
                    triples.append((subject, predicate, obj))
                    if i < end and toks[i][1] == ",":
                        i += 1
                        continue
                    break
                if i < end and toks[i][1] == ";":
                    while i < end and toks[i][1] == ";":
                        i += 1
                    if i < end and toks[i][1] not in (".", "}") and toks[i][0] != "word" or (
                            i < end and toks[i][0] == "word" and toks[i][1] == "a"):
                        continue
                break
            elements.append(("triples", triples))
    return elements


class _Stats:
    """Triple counts of the store, per predicate (and predicate + object)."""

    def __init__(self, store: Store, prefixes: dict[str, str]) -> None:
        self.store = store
        self.prefixes = prefixes
        self.cache: dict = {}

    def iri(self, term: str) -> str | None:
        if term.startswith("<"):
            return term
        if term == "a":
            return f"<{RDF_TYPE}>"
        if ":" in term and not term.startswith(("?", "$", '"', "'")):
            prefix, local = term.split(":", 1)
            if prefix in self.prefixes:
                return f"<{self.prefixes[prefix]}{local}>"
        return None

    def count(self, query: str) -> tuple[int, ...]:
        if query not in self.cache:
            row = next(iter(self.store.query(query)))
            self.cache[query] = tuple(int(row[v].value) if row[v] is not None else 0
                                      for v in ("n", "s", "o"))
        return self.cache[query]

    def estimate(self, triple: tuple[str, str, str], bound: set[str]) -> float:
        s, p, o = triple
        is_var = lambda t: t[0] in "?$"  # noqa: E731
        s_bound = not is_var(s) or s[1:] in bound
        o_bound = not is_var(o) or o[1:] in bound
        predicate = self.iri(p) if not is_var(p) else None
        if predicate is None:
            n = self.count("SELECT (COUNT(*) AS ?n) (1 AS ?s) (1 AS ?o) WHERE { ?x ?y ?z }")[0]
            return n / (1000 if s_bound else 1) / (1000 if o_bound else 1)
        n, ds, do = self.count(f"SELECT (COUNT(*) AS ?n) (COUNT(DISTINCT ?x) AS ?s) "
                               f"(COUNT(DISTINCT ?z) AS ?o) WHERE {{ ?x {predicate} ?z }}")
        if not is_var(o):
            value = self.iri(o) or o
            n = self.count(f"SELECT (COUNT(*) AS ?n) (1 AS ?s) (1 AS ?o) WHERE {{ ?x {predicate} {value} }}")[0]
            return min(n, 1) if s_bound else n
        if s_bound and o_bound:
            return min(n, 1)
        if s_bound:
            return n / max(ds, 1)
        if o_bound:
            return n / max(do, 1)
        return n


def _order(triples: list, bound: set[str], stats: _Stats) -> list:
    remaining = list(triples)
    ordered = []
    bound = set(bound)
    names = lambda t: {x[1:] for x in t if x[0] in "?$"}  # noqa: E731
    while remaining:
        connected = [t for t in remaining if not names(t) or names(t) & bound] if bound else []
        pool = connected or remaining
        best = min(pool, key=lambda t: stats.estimate(t, bound))
        remaining.remove(best)
        ordered.append(best)
        bound |= names(best)
    return ordered


def reorder(query: str, store: Store) -> str:
    """``query`` with the triple patterns of its top-level group in a cheap join order."""
    try:
        toks = _tokens(query)
        prefixes = {m.group(1): m.group(2) for m in re.finditer(
            r"PREFIX\s+([\w-]*):\s*<([^>]*)>", query, re.I)}
        where = next(i for i, t in enumerate(toks) if t[0] == "word" and t[1].upper() == "WHERE")
        start = where + 1
        end = _balanced(toks, start, "{", "}")
        elements = _elements(toks, start + 1, end - 1, query)
        stats = _Stats(store, prefixes)
        parts, bound, run, filters = [], set(), [], []

        def flush() -> None:
            nonlocal run, filters
            for s, p, o in _order(run, bound, stats):
                parts.append(f"{s} {p} {o} .")
                bound.update(x[1:] for x in (s, p, o) if x[0] in "?$")
            parts.extend(filters)
            run, filters = [], []

        for kind, value in elements:
            if kind == "triples":
                run += value
            elif kind == "filter":
                filters.append(value)
            else:
                flush()
                parts.append(value)
                bound.update(re.findall(r"[?$]([A-Za-z0-9_]+)", value))
        flush()
        body = "{\n    " + "\n    ".join(parts) + "\n}"
        return query[:toks[start][2]] + body + query[toks[end - 1][3]:]
    except (_NoReorder, StopIteration, IndexError):
        return query
