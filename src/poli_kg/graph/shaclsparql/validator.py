"""Running the compiled shapes on a store and reading their rows into a SHACL report, as
pyshacl writes it (see :mod:`poli_kg.graph.shaclsparql`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from pyoxigraph import Literal as OxLiteral, NamedNode, Quad, Store
from rdflib import BNode, Graph, Literal
from rdflib.namespace import RDF, SH

from poli_kg.graph import validation
from poli_kg.graph.rdfterms import to_rdflib
from poli_kg.graph.shaclsparql.compiler import FOCUS, Check, Compiled, Unsupported, compile_shapes
from poli_kg.graph.validation import SEVERITY_ORDER, ValidationReport
from poli_kg.namespaces import bind_prefixes

__all__ = ["validate", "supported", "explain"]

_TEMPLATE = re.compile(r"\{[?$]([A-Za-z_][A-Za-z0-9_]*)\}")


def _text(term) -> str:
    """A bound value in a message: its lexical form or IRI (as pyshacl prints it)."""
    return term.value if hasattr(term, "value") else str(term)


def validate(store: Store, shapes: Graph) -> ValidationReport:
    """Validate the default graph of ``store`` against ``shapes`` (as pyshacl would).

    Scratch graphs are added to ``store`` while validating and dropped afterwards.
    """
    compiled = compile_shapes(shapes, store)
    try:
        focus_sets = _mark_focus_nodes(store, compiled)
        report = Graph()
        results = []
        for check in compiled.checks:
            for row in store.query(check.query):
                focus = row["this"]
                if check.focus_filter is not None and focus not in focus_sets[check.focus_filter]:
                    continue
                results.append(_result(report, check, row, focus))
    finally:
        for n, _queries in compiled.focus:
            store.update(f"DROP SILENT GRAPH <{FOCUS}/{n}>")
    return _report(report, shapes, results)


def _mark_focus_nodes(store: Store, compiled: Compiled) -> dict[int, set]:
    """The focus nodes of each node shape ``n``, also written to the scratch graph ``<FOCUS/n>``."""
    focus_sets: dict[int, set] = {}
    marker = NamedNode(FOCUS)
    for n, queries in compiled.focus:
        nodes = set()
        for query in queries:
            for row in store.query(query):
                nodes.add(row["this"])
        focus_sets[n] = nodes
        graph = NamedNode(f"{FOCUS}/{n}")
        store.extend(Quad(node, marker, marker, graph) for node in nodes
                     if not isinstance(node, OxLiteral))
        literal_focus = [node for node in nodes if isinstance(node, OxLiteral)]
        if literal_focus:
            raise Unsupported("a literal focus node")
    return focus_sets


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
    results = [validation.read_result(report, shapes, n) for n in nodes]
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
