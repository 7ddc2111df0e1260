"""SHACL validation: the structured report, its text, and `poli-kg validate` exit codes."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from rdflib import Graph, Literal, Namespace, URIRef

from poli_kg.graph.pipeline import check
from poli_kg.graph.sources import Sources, load
from poli_kg.namespaces import ID, ONTOLOGY_IRI, SHAPES
from poli_kg.graph.reasoning import infer
from poli_kg.graph.validation import (
    ValidationReport, compact_iri, display_term, format_report, inconsistency_results, validate,
)

FIXTURES = Path(__file__).resolve().parent / "data" / "build"
PROJECT = FIXTURES / "project"
INVALID = FIXTURES / "invalid"
PKG = Namespace(ONTOLOGY_IRI + "#")  # the fixture ontology's terms
SH = Namespace("http://www.w3.org/ns/shacl#")


def reasoned(extra: Path | None = None) -> tuple[Graph, Graph]:
    """(asserted + inferred, shapes) of the fixture project, plus an optional data file."""
    inputs = load(Sources(PROJECT), extra_data=[extra] if extra else [])
    union = inputs.asserted()
    union += infer(union)
    return union, inputs.graphs["shapes"]


def run_validate(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "poli_kg.cli", "validate", *args],
                          capture_output=True, text=True, cwd=cwd, timeout=120)


# --------------------------------------------------------------------------- the API

def test_fixture_conforms_with_a_warning():
    report = validate(*reasoned())
    assert isinstance(report, ValidationReport)
    assert report.conforms
    assert report.counts() == {"violations": 0, "warnings": 1, "infos": 0}
    (warning,) = report.results
    assert warning.severity == SH.Warning
    assert warning.focus_node == ID["polo/agrifood"]
    assert warning.path == PKG.descrizione
    assert warning.message == "Un polo dovrebbe avere una descrizione."
    assert warning.shape_label == "shapes:PoloShape (property pkg:descrizione)"
    assert (None, SH.conforms, Literal(True)) in report.graph


def test_violation_fields():
    report = validate(*reasoned(INVALID / "senza-nome.ttl"))
    assert not report.conforms
    (violation,) = report.violations
    assert violation.focus_node == ID["impresa/anonima"]
    assert violation.path == PKG.nome
    assert violation.message == "Ogni organizzazione ha esattamente un nome."
    assert violation.constraint == SH.MinCountConstraintComponent
    assert violation.as_dict()["focusNode"] == "poli:impresa/anonima"


def test_validation_sees_inferred_triples():
    # operaIn only exists through the property chain membroDi o sedeIn
    union, shapes = reasoned(INVALID / "doppio-territorio.ttl")
    report = validate(union, shapes)
    messages = [r.message for r in report.violations]
    assert messages == ["Un membro opera in un solo territorio."]
    assert report.violations[0].focus_node == ID["impresa/doppia"]


def test_sparql_target_needs_advanced_features():
    report = validate(*reasoned(INVALID / "sede-senza-nome.ttl"))
    (violation,) = report.violations
    assert violation.focus_node == ID["territorio/asti"]
    assert violation.message == "Ogni sede ha un nome."


def test_format_report():
    report = validate(*reasoned(INVALID / "senza-nome.ttl"))
    text = format_report(report.results)
    assert "Violation: poli:impresa/anonima\n  path:    pkg:nome\n" in text
    assert "  message: Ogni organizzazione ha esattamente un nome.\n" in text
    assert "Warning: poli:polo/agrifood" in text
    assert text.index("Violation:") < text.index("Warning:")
    assert text.rstrip().endswith("does not conform: 1 violation, 1 warning, 0 infos.")
    assert format_report([]).strip() == "SHACL validation conforms: 0 violations, 0 warnings, 0 infos."


def test_inconsistencies_become_violations():
    (result,) = inconsistency_results(["x is defined of type 'Nothing'"])
    assert result.severity == SH.Violation
    assert "Violation: (the graph)" in format_report([result])


@pytest.mark.parametrize("term, shown", [
    (URIRef(ONTOLOGY_IRI + "#Polo"), "pkg:Polo"),
    (ID["polo/mesap"], "poli:polo/mesap"),
    (SHAPES.PoloShape, "shapes:PoloShape"),
    (URIRef("http://example.org/x"), "<http://example.org/x>"),
    (Literal("ciao", lang="it"), '"ciao"@it'),
    (Literal('a "b"'), '"a \\"b\\""'),
    (Literal(3), "3"),
    (Literal("2017-06-30", datatype=URIRef("http://www.w3.org/2001/XMLSchema#date")),
     '"2017-06-30"^^xsd:date'),
])
def test_display_term(term, shown):
    assert display_term(term) == shown


def test_compact_iri_longest_namespace():
    assert compact_iri("https://w3id.org/poli-kg/ontology") == "<https://w3id.org/poli-kg/ontology>"
    assert compact_iri("http://www.w3.org/2001/XMLSchema#string") == "xsd:string"


def test_check_whole_project_and_files():
    assert check(project=PROJECT).conforms
    report = check([INVALID / "senza-nome.ttl"], PROJECT)
    # the given file is the data graph: only its own problems are reported
    assert [display_term(r.focus_node) for r in report.violations] == ["poli:impresa/anonima"]


# --------------------------------------------------------------------------- `poli-kg validate`

def test_cli_project_conforms():
    proc = run_validate("--project", str(PROJECT))
    assert proc.returncode == 0, proc.stderr
    assert "Warning: poli:polo/agrifood" in proc.stdout  # warnings are printed too
    assert "conforms: 0 violations, 1 warning" in proc.stdout


def test_cli_file_with_violation():
    proc = run_validate("--project", str(PROJECT), str(INVALID / "senza-nome.ttl"))
    assert proc.returncode == 1, proc.stderr
    assert "Violation: poli:impresa/anonima" in proc.stdout
    assert "path:    pkg:nome" in proc.stdout


def test_cli_valid_file():
    proc = run_validate("--project", str(PROJECT), str(FIXTURES / "valid" / "impresa.ttl"))
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_cli_unreadable_file_names_file_and_line(tmp_path):
    shutil.copy(INVALID / "sintassi.ttl", tmp_path / "sintassi.ttl")
    proc = run_validate("--project", str(PROJECT), "sintassi.ttl", cwd=tmp_path)
    assert proc.returncode == 2
    assert "sintassi.ttl:5: bad syntax" in proc.stderr


def test_cli_missing_file(tmp_path):
    proc = run_validate("--project", str(PROJECT), str(tmp_path / "nope.ttl"))
    assert proc.returncode == 2
    assert "nope.ttl: cannot read" in proc.stderr


def test_cli_broken_project_file(tmp_path):
    project = tmp_path / "project"
    shutil.copytree(PROJECT, project)
    (project / "shapes" / "shapes.ttl").write_text("@prefix sh: <http://www.w3.org/ns/shacl#> .\n"
                                                   "[] a sh:NodeShape ;\n", encoding="utf-8")
    proc = run_validate("--project", str(project))
    assert proc.returncode == 2
    assert "shapes/shapes.ttl:3: bad syntax" in proc.stderr  # end of file, after line 2
