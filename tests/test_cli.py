"""`poli-kg build|query|serve`, run as a real process (and `serve` in-process)."""

import csv
import io
import json
import shutil
import subprocess
import sys
import types
from pathlib import Path

import pytest

import poli_kg.web
from poli_kg import cli

FIXTURES = Path(__file__).resolve().parent / "data" / "build"


def poli_kg_cmd(*args: str, cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "poli_kg.cli", *args], capture_output=True,
                          text=True, cwd=cwd, input=stdin, timeout=180)


@pytest.fixture
def project(tmp_path) -> Path:
    dest = tmp_path / "project"
    shutil.copytree(FIXTURES / "project", dest)
    return dest


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> tuple[Path, Path]:
    """(project, cwd) with the fixture project built into cwd/public by `poli-kg build`."""
    root = tmp_path_factory.mktemp("cli")
    project = root / "project"
    shutil.copytree(FIXTURES / "project", project)
    proc = poli_kg_cmd("build", "--project", str(project), cwd=root)
    assert proc.returncode == 0, proc.stderr
    return project, root


def query(site, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    project, cwd = site
    return poli_kg_cmd("query", "--project", str(project), *args, cwd=cwd, stdin=stdin)


# --------------------------------------------------------------------------- build

def test_build_prints_stages_and_counts(project, tmp_path):
    proc = poli_kg_cmd("build", "--project", str(project), "--out", "site/public", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    for stage in ("parse", "reason", "validate", "write"):
        assert any(line.startswith(stage) and line.endswith(" s") for line in out.splitlines()), out
    assert "ontology 36, data 24, provenance 4, inferred" in out
    assert (tmp_path / "site" / "public" / "build.json").is_file()


def test_build_default_out_is_public_in_cwd(site):
    _project, cwd = site
    assert (cwd / "public").is_symlink() and (cwd / "public" / "store").is_dir()


def test_build_exit_2_on_syntax_error(project, tmp_path):
    assert poli_kg_cmd("build", "--project", str(project), cwd=tmp_path).returncode == 0
    before = (tmp_path / "public" / "poli-kg.nt").read_bytes()
    shutil.copy(FIXTURES / "invalid" / "sintassi.ttl", project / "data" / "sintassi.ttl")
    proc = poli_kg_cmd("build", "--project", str(project), cwd=tmp_path)
    assert proc.returncode == 2
    assert "data/sintassi.ttl:5: bad syntax" in proc.stderr
    assert (tmp_path / "public" / "poli-kg.nt").read_bytes() == before


def test_build_exit_1_on_violation(project, tmp_path):
    shutil.copy(FIXTURES / "invalid" / "senza-nome.ttl", project / "data" / "senza-nome.ttl")
    proc = poli_kg_cmd("build", "--project", str(project), cwd=tmp_path)
    assert proc.returncode == 1
    assert "Violation: poli:impresa/anonima" in proc.stderr
    assert not (tmp_path / "public").exists()


def test_build_exit_3_on_unusable_out(project, tmp_path):
    (tmp_path / "public").mkdir()
    (tmp_path / "public" / "notes.txt").write_text("mine", encoding="utf-8")
    proc = poli_kg_cmd("build", "--project", str(project), cwd=tmp_path)
    assert proc.returncode == 3
    assert "not a poli-kg build" in proc.stderr


# --------------------------------------------------------------------------- query

SELECT = "SELECT ?polo ?nome WHERE { ?polo a pkg:Polo ; pkg:nome ?nome } ORDER BY ?nome"


def test_query_table(site):
    proc = query(site, SELECT)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].split() == ["polo", "|", "nome"]
    assert set(lines[1]) <= {"-", "+"}
    assert lines[2].split(" | ") == ["poli:polo/agrifood", '"Agrifood"']
    assert lines[3].split(" | ") == ["poli:polo/mesap   ", '"MESAP"']
    assert lines[-1] == "(2 rows)"


def test_query_json_sees_inferred_triples(site):
    proc = query(site, "SELECT ?t WHERE { poli:impresa\\/capofila pkg:operaIn ?t }", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    bindings = json.loads(proc.stdout)["results"]["bindings"]
    assert [b["t"]["value"] for b in bindings] == ["https://w3id.org/poli-kg/id/territorio/torino"]


def test_query_csv(site):
    proc = query(site, SELECT, "--format", "csv")
    assert proc.returncode == 0, proc.stderr
    rows = list(csv.reader(io.StringIO(proc.stdout)))
    assert rows == [["polo", "nome"], ["https://w3id.org/poli-kg/id/polo/agrifood", "Agrifood"],
                    ["https://w3id.org/poli-kg/id/polo/mesap", "MESAP"]]


def test_query_ask(site):
    proc = query(site, "ASK { ?s a pkg:Organizzazione }")
    assert (proc.returncode, proc.stdout) == (0, "true\n")


def test_query_construct_turtle(site):
    from rdflib import Graph

    proc = query(site, "CONSTRUCT { ?p a pkg:Polo } WHERE { ?p a pkg:Polo }", "--format", "turtle")
    assert proc.returncode == 0, proc.stderr
    assert len(Graph().parse(data=proc.stdout, format="turtle")) == 2


def test_query_from_file_and_stdin(site, tmp_path):
    rq = tmp_path / "q.rq"
    rq.write_text(SELECT, encoding="utf-8")
    from_file = query(site, "--file", str(rq))
    from_stdin = query(site, "-", stdin=SELECT)
    from_stdin_file = query(site, "--file", "-", stdin=SELECT)
    assert from_file.returncode == from_stdin.returncode == from_stdin_file.returncode == 0
    assert from_file.stdout == from_stdin.stdout == from_stdin_file.stdout
    assert "(2 rows)" in from_file.stdout


def test_query_graphs_are_named(site):
    proc = query(site, "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g ORDER BY ?g",
                 "--format", "csv")
    graphs = [row[0] for row in csv.reader(io.StringIO(proc.stdout))][1:]
    assert graphs == [f"https://w3id.org/poli-kg/graph/{g}"
                      for g in ("data", "inferred", "ontology", "provenance")]


def test_query_errors(site):
    bad = query(site, "SELECT WHERE {")
    assert bad.returncode == 2 and "bad query" in bad.stderr
    wrong_format = query(site, SELECT, "--format", "turtle")
    assert wrong_format.returncode == 2
    missing = query(site)
    assert missing.returncode == 2 and "no query" in missing.stderr


def test_query_builds_when_needed(project, tmp_path):
    proc = poli_kg_cmd("query", "--project", str(project), "ASK { ?s ?p ?o }", cwd=tmp_path)
    assert (proc.returncode, proc.stdout) == (0, "true\n")
    assert "parse" in proc.stderr  # progress goes to stderr, results to stdout
    again = poli_kg_cmd("query", "--project", str(project), "ASK { ?s ?p ?o }", cwd=tmp_path)
    assert again.returncode == 0 and "parse" not in again.stderr  # reused


# --------------------------------------------------------------------------- serve

def test_serve_builds_then_runs_server(project, tmp_path, monkeypatch):
    calls = []
    fake = types.ModuleType("poli_kg.web.server")
    fake.run = lambda **kwargs: calls.append(kwargs)
    monkeypatch.setitem(sys.modules, "poli_kg.web.server", fake)
    monkeypatch.setattr(poli_kg.web, "server", fake, raising=False)
    out = tmp_path / "public"
    code = cli.main(["serve", "--project", str(project), "--out", str(out), "--port", "8123",
                     "--query-timeout", "5", "--max-results", "50", "--workers", "2"])
    assert code == 0
    assert calls == [{"build_dir": out, "host": "127.0.0.1", "port": 8123, "query_timeout": 5.0,
                      "max_results": 50, "store": "oxigraph", "workers": 2,
                      "server": "gunicorn"}]
    assert (out / "build.json").is_file()


def test_help_lists_commands():
    proc = subprocess.run([sys.executable, "-m", "poli_kg.cli", "--help"], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0
    for command in ("build", "validate", "query", "serve"):
        assert command in proc.stdout
