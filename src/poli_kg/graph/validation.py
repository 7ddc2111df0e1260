"""SHACL validation of the (asserted + inferred) graph, and a readable report.

:func:`validate` runs pyshacl with SHACL advanced features (SPARQL-based targets and
constraints), no inference (the build has already computed the OWL RL closure) and
warnings allowed: the graph *conforms* when no result has severity ``sh:Violation``.
:func:`format_report` renders the results as text with the project's prefixes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

import pyshacl
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.namespace import RDF, SH, XSD
from rdflib.term import Node

from poli_kg.namespaces import PREFIXES, SHAPES, bind_prefixes

__all__ = [
    "ValidationResult", "ValidationReport", "ValidationFailed", "validate", "format_report",
    "compact_iri", "display_term", "inconsistency_results", "read_result",
]

SEVERITY_ORDER = {SH.Violation: 0, SH.Warning: 1, SH.Info: 2}
# Characters that may not appear in the local part of a displayed prefixed name.
_NOT_LOCAL = set(' <>"{}|^`\\#?')
_BARE_DATATYPES = {XSD.integer, XSD.decimal, XSD.double, XSD.boolean}
# Prefixes for display: the project's, plus shapes: for the names of SHACL shapes.
_DISPLAY_PREFIXES = {**{"shapes": SHAPES}, **PREFIXES}


class ValidationFailed(Exception):
    """The graph has SHACL violations (or is inconsistent); ``str()`` is the readable report."""

    def __init__(self, report_text: str, report: ValidationReport | None = None) -> None:
        super().__init__(report_text)
        self.report_text = report_text
        self.report = report


@dataclass(frozen=True)
class ValidationResult:
    """One ``sh:ValidationResult`` of a report.

    ``path_label`` and ``shape_label`` are display forms (prefixed names, SPARQL-like
    property paths, the node shape owning a blank property shape).
    """

    severity: URIRef
    focus_node: Node | None
    path: Node | None
    message: str
    value: Node | None
    source_shape: Node | None
    constraint: URIRef | None
    path_label: str = ""
    shape_label: str = ""

    @property
    def severity_label(self) -> str:
        """``Violation``, ``Warning``, ``Info`` (or the compacted severity IRI)."""
        if str(self.severity).startswith(str(SH)):
            return str(self.severity)[len(str(SH)):]
        return compact_iri(str(self.severity))

    def as_dict(self) -> dict[str, str | None]:
        """A JSON-friendly dict (terms in their display form)."""
        return {
            "severity": self.severity_label,
            "focusNode": display_term(self.focus_node),
            "path": self.path_label or None,
            "message": self.message,
            "value": display_term(self.value) if self.value is not None else None,
            "sourceShape": self.shape_label or None,
            "constraint": compact_iri(str(self.constraint)) if self.constraint else None,
        }


@dataclass(frozen=True)
class ValidationReport:
    """The SHACL report: structured results plus pyshacl's report graph."""

    results: tuple[ValidationResult, ...]
    graph: Graph

    @property
    def conforms(self) -> bool:
        """True when no result is a ``sh:Violation`` (warnings and infos are allowed)."""
        return not self.violations

    @property
    def violations(self) -> tuple[ValidationResult, ...]:
        return tuple(r for r in self.results if r.severity == SH.Violation)

    @property
    def warnings(self) -> tuple[ValidationResult, ...]:
        return tuple(r for r in self.results if r.severity == SH.Warning)

    @property
    def infos(self) -> tuple[ValidationResult, ...]:
        return tuple(r for r in self.results if r.severity == SH.Info)

    def counts(self) -> dict[str, int]:
        """Number of results per severity: ``{"violations": n, "warnings": n, "infos": n}``."""
        return {"violations": len(self.violations), "warnings": len(self.warnings),
                "infos": len(self.infos)}


def validate(data: Graph, shapes: Graph) -> ValidationReport:
    """Validate ``data`` (already reasoned: asserted + inferred) against ``shapes``.

    ``data`` must be a plain :class:`~rdflib.Graph` (a Dataset would be validated graph by
    graph).  Results are sorted by severity, focus node, path and message.
    """
    _conforms, report_graph, _text = pyshacl.validate(
        data,
        shacl_graph=shapes,
        inference="none",
        advanced=True,
        allow_warnings=True,
        abort_on_first=False,
    )
    bind_prefixes(report_graph)
    results = [read_result(report_graph, shapes, node)
               for node in report_graph.subjects(RDF.type, SH.ValidationResult)]
    results.sort(key=lambda r: (SEVERITY_ORDER.get(r.severity, 9), display_term(r.focus_node),
                                r.path_label, r.message, r.shape_label))
    return ValidationReport(results=tuple(results), graph=report_graph)


def inconsistency_results(errors: Iterable[str]) -> tuple[ValidationResult, ...]:
    """OWL RL inconsistencies (see :func:`poli_kg.graph.reasoning.reason`) as violations."""
    return tuple(
        ValidationResult(severity=SH.Violation, focus_node=None, path=None,
                         message=f"inconsistent with the ontology: {error}", value=None,
                         source_shape=None, constraint=None, shape_label="OWL 2 RL reasoner")
        for error in errors
    )


def read_result(report: Graph, shapes: Graph, node: Node) -> ValidationResult:
    """Read one ``sh:ValidationResult`` node of ``report``."""
    messages = sorted({str(m) for m in report.objects(node, SH.resultMessage)})
    path = report.value(node, SH.resultPath)
    shape = report.value(node, SH.sourceShape)
    return ValidationResult(
        severity=report.value(node, SH.resultSeverity) or SH.Violation,
        focus_node=report.value(node, SH.focusNode),
        path=path,
        message="; ".join(messages),
        value=report.value(node, SH.value),
        source_shape=shape,
        constraint=report.value(node, SH.sourceConstraintComponent),
        path_label=_path_label(report, path) if path is not None else "",
        shape_label=_shape_label(shapes, shape) if shape is not None else "",
    )


def _path_label(graph: Graph, path: Node, depth: int = 0) -> str:
    """A SHACL property path in SPARQL syntax (``^p``, ``p/q``, ``p|q``, ``p*``, …)."""
    if depth > 20:
        return "…"
    if not isinstance(path, BNode):
        return display_term(path)
    unary = {SH.inversePath: "^{}", SH.zeroOrMorePath: "({})*", SH.oneOrMorePath: "({})+",
             SH.zeroOrOnePath: "({})?"}
    for predicate, template in unary.items():
        inner = graph.value(path, predicate)
        if inner is not None:
            return template.format(_path_label(graph, inner, depth + 1))
    alternatives = graph.value(path, SH.alternativePath)
    if alternatives is not None:
        items = [_path_label(graph, p, depth + 1) for p in Collection(graph, alternatives)]
        return "(" + "|".join(items) + ")"
    if graph.value(path, RDF.first) is not None:
        return "/".join(_path_label(graph, p, depth + 1) for p in Collection(graph, path))
    return display_term(path)


def _shape_label(shapes: Graph, shape: Node) -> str:
    """The shape's name; a blank property shape is named after its node shape and path."""
    if not isinstance(shape, BNode):
        return display_term(shape)
    owner = next(iter(shapes.subjects(SH.property, shape)), None)
    path = shapes.value(shape, SH.path)
    path_text = _path_label(shapes, path) if path is not None else ""
    if owner is not None and not isinstance(owner, BNode):
        return f"{display_term(owner)} (property {path_text})" if path_text else display_term(owner)
    return f"[property shape on {path_text}]" if path_text else "[blank shape]"


def compact_iri(iri: str) -> str:
    """``iri`` as a prefixed name with the project's prefixes (longest match), else ``<iri>``.

    This is a *display* form: the local part may contain ``/`` (``poli:polo/mesap``).
    """
    best = ""
    best_prefix = ""
    for prefix, namespace in _DISPLAY_PREFIXES.items():
        ns = str(namespace)
        if iri.startswith(ns) and len(ns) > len(best):
            local = iri[len(ns):]
            if local and not (set(local) & _NOT_LOCAL):
                best, best_prefix = ns, prefix
    if best:
        return f"{best_prefix}:{iri[len(best):]}"
    return f"<{iri}>"


def display_term(term: Node | None) -> str:
    """A readable Turtle-like form of an RDF term: prefixed names, quoted literals."""
    if term is None:
        return ""
    if isinstance(term, URIRef):
        return compact_iri(str(term))
    if isinstance(term, BNode):
        return f"_:{term}"
    if isinstance(term, Literal):
        if term.datatype in _BARE_DATATYPES:
            return str(term)
        quoted = json.dumps(str(term), ensure_ascii=False)
        if term.language:
            return f"{quoted}@{term.language}"
        if term.datatype is not None and term.datatype != XSD.string:
            return f"{quoted}^^{compact_iri(str(term.datatype))}"
        return quoted
    return str(term)


def format_report(results: Iterable[ValidationResult]) -> str:
    """Readable text: one block per result (severity, focus node, path, message, …), then a summary."""
    results = list(results)
    blocks = []
    for r in results:
        focus = display_term(r.focus_node) if r.focus_node is not None else "(the graph)"
        lines = [f"{r.severity_label}: {focus}"]
        if r.path_label:
            lines.append(f"  path:    {r.path_label}")
        lines.append(f"  message: {r.message}")
        if r.value is not None:
            lines.append(f"  value:   {display_term(r.value)}")
        if r.shape_label:
            lines.append(f"  shape:   {r.shape_label}")
        blocks.append("\n".join(lines))
    counts = {label: sum(1 for r in results if r.severity == sev)
              for sev, label in ((SH.Violation, "violation"), (SH.Warning, "warning"),
                                 (SH.Info, "info"))}
    summary = ", ".join(f"{n} {label}{'s' if n != 1 else ''}" for label, n in counts.items())
    verdict = "does not conform" if counts["violation"] else "conforms"
    blocks.append(f"SHACL validation {verdict}: {summary}.")
    return "\n\n".join(blocks) + "\n"
