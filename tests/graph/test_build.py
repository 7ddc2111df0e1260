"""The build: outputs, atomic replacement on failure, the input cache, the real project."""

import errno
import gc
import gzip
import hashlib
import json
import os
import shutil
from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib import Dataset, Graph

from poli_kg.buildfolder import DOWNLOAD_FILES, BuildError
from poli_kg.graph import output
from poli_kg.graph import pipeline as building
from poli_kg.graph.pipeline import build, ensure_built
from poli_kg.graph.sources import InputError, Sources, inputs_digest
from poli_kg.graph.validation import ValidationFailed
from poli_kg.namespaces import GRAPH_DATA, GRAPH_INFERRED, GRAPH_ONTOLOGY, GRAPH_PROVENANCE, NAMED_GRAPHS
from tests.conftest import ROOT, TEST_DATA

FIXTURES = TEST_DATA / "build"


@pytest.fixture
def project(tmp_path) -> Path:
    """A writable copy of the fixture project."""
    dest = tmp_path / "project"
    shutil.copytree(FIXTURES / "project", dest)
    return dest


@pytest.fixture
def built(project, tmp_path) -> Path:
    out = tmp_path / "site" / "public"
    build(out, project)
    return out


def snapshot(out: Path) -> dict[str, bytes]:
    """Every file reachable from ``out`` (through the symlink), with its bytes."""
    return {p.relative_to(out).as_posix(): p.read_bytes()
            for p in sorted(out.rglob("*")) if p.is_file()}


def siblings(out: Path) -> list[str]:
    return sorted(p.name for p in out.parent.iterdir())


# --------------------------------------------------------------------------- outputs

def test_outputs(built):
    assert built.is_symlink()
    target = built.resolve()
    assert target.parent == built.parent.resolve() and target.name.startswith(".public-")
    for name in DOWNLOAD_FILES:
        assert (built / name).is_file(), name
        assert gzip.decompress((built / f"{name}.gz").read_bytes()) == (built / name).read_bytes()
    assert (built / "store").is_dir()
    info = json.loads((built / "build.json").read_text(encoding="utf-8"))
    assert info["triples"]["ontology"] > 0 and info["triples"]["data"] > 0
    assert info["triples"]["provenance"] == 4
    assert info["triples"]["inferred"] > 0
    assert set(info["timings"]) == {"parse", "reason", "validate", "write"}
    assert info["validation"] == {"conforms": True, "violations": 0, "warnings": 1, "infos": 0}
    assert info["inputs"] == ["data/fonte/documento.ttl", "data/poli.ttl", "data/sub/imprese.ttl",
                              "ontology/ontology.ttl", "shapes/shapes.ttl"]
    assert len(info["inputs_sha256"]) == 64


def test_checksums(built):
    lines = (built / "SHA256SUMS").read_text(encoding="utf-8").splitlines()
    names = set()
    for line in lines:
        digest, name = line.split("  ")
        assert hashlib.sha256((built / name).read_bytes()).hexdigest() == digest
        names.add(name)
    assert names == set(DOWNLOAD_FILES) | {f"{n}.gz" for n in DOWNLOAD_FILES}


def test_formats_agree(built, project):
    info = json.loads((built / "build.json").read_text(encoding="utf-8"))
    counts = info["triples"]
    asserted = counts["asserted"]
    for name, fmt in (("poli-kg.ttl", "turtle"), ("poli-kg.nt", "nt"),
                      ("poli-kg.jsonld", "json-ld"), ("poli-kg.rdf", "xml")):
        assert len(Graph().parse(built / name, format=fmt)) == asserted, name
    assert len(Graph().parse(built / "poli-kg-inferred.ttl")) == counts["inferred"]
    for name, fmt in (("poli-kg.trig", "trig"), ("poli-kg.nq", "nquads")):
        ds = Dataset()
        ds.parse(built / name, format=fmt)
        sizes = {str(g.identifier): len(g) for g in ds.graphs() if len(g)}
        assert sizes == {str(GRAPH_ONTOLOGY): counts["ontology"], str(GRAPH_DATA): counts["data"],
                         str(GRAPH_PROVENANCE): counts["provenance"],
                         str(GRAPH_INFERRED): counts["inferred"]}, name
    text = (built / "poli-kg.ttl").read_text(encoding="utf-8")
    assert "@prefix pkg: <https://w3id.org/poli-kg/ontology#> ." in text
    assert str(project) not in text and "file:" not in text  # no machine paths leak


def test_store(built):
    store = ox.Store.read_only(str(built / "store"))
    info = json.loads((built / "build.json").read_text(encoding="utf-8"))
    assert len(list(store.quads_for_pattern(None, None, None, ox.DefaultGraph()))) == 0
    assert {g.value for g in store.named_graphs()} == {str(g) for g in NAMED_GRAPHS}
    assert len(store) == info["triples"]["total"]
    ask = "ASK { <https://w3id.org/poli-kg/id/impresa/capofila> " \
          "<https://w3id.org/poli-kg/ontology#operaIn> ?where }"
    assert bool(store.query(ask, use_default_graph_as_union=True))


def test_reproducible(project, tmp_path):
    a = build(tmp_path / "a" / "public", project).path
    b = build(tmp_path / "b" / "public", project).path
    for name in (*DOWNLOAD_FILES, "SHA256SUMS"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def test_readable_report_in_result(project, tmp_path):
    result = build(tmp_path / "public", project)
    assert result.report.conforms
    assert [r.severity_label for r in result.report.results] == ["Warning"]


# --------------------------------------------------------------------------- atomicity

def test_syntax_error_leaves_previous_build(project, built):
    before, names = snapshot(built), siblings(built)
    path = project / "data" / "poli.ttl"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[8] = '    pkg:nome "MESAP ;\n'  # line 9: unterminated string
    path.write_text("".join(lines), encoding="utf-8")
    with pytest.raises(InputError) as info:
        build(built, project)
    assert str(info.value).startswith("data/poli.ttl:9: bad syntax:")
    assert info.value.path == "data/poli.ttl" and info.value.line == 9
    assert snapshot(built) == before
    assert siblings(built) == names


@pytest.mark.parametrize("content, line", [
    (b"", 1),                                            # empty
    (b"@prefix pkg: <https://w3id.org/poli-kg/ontology#> .\n", 1),  # no triples
    (b"@prefix pkg: <https://w3id.org/poli-kg/ontology#> .\n\n"
     b"<https://w3id.org/poli-kg/id/polo/x> a pkg:Polo ;\n    pkg:nome", 4),  # half written
    (b"@prefix pkg: <https://w3id.org/poli-kg/ontology#> .\n"
     b"<https://w3id.org/poli-kg/id/polo/a b> a pkg:Polo .\n", 2),  # IRI rdflib accepts
    (b"@prefix pkg: <https://w3id.org/poli-kg/ontology#> .\n\n"
     b"<https://w3id.org/poli-kg/id/polo/x> pkg:nome \"Citt\xe0\" .\n", 3),  # not UTF-8
])
def test_broken_file_names_file_and_line(project, built, content, line):
    before = snapshot(built)
    (project / "data" / "sub" / "rotto.ttl").write_bytes(content)
    with pytest.raises(InputError) as info:
        build(built, project)
    assert str(info.value).startswith(f"data/sub/rotto.ttl:{line}:"), str(info.value)
    assert snapshot(built) == before


def test_violation_leaves_previous_build(project, built):
    before, names = snapshot(built), siblings(built)
    shutil.copy(FIXTURES / "invalid" / "senza-nome.ttl", project / "data" / "senza-nome.ttl")
    with pytest.raises(ValidationFailed) as info:
        build(built, project)
    text = str(info.value)
    assert "Violation: poli:impresa/anonima" in text and "pkg:nome" in text
    assert not info.value.report.conforms
    assert snapshot(built) == before
    assert siblings(built) == names


def test_violation_seen_only_after_reasoning(project, tmp_path):
    shutil.copy(FIXTURES / "invalid" / "doppio-territorio.ttl", project / "data" / "doppio.ttl")
    with pytest.raises(ValidationFailed) as info:
        build(tmp_path / "public", project)
    assert "Un membro opera in un solo territorio." in str(info.value)
    assert not (tmp_path / "public").exists()


def test_write_failure_leaves_previous_build(project, built, monkeypatch):
    before, names = snapshot(built), siblings(built)
    (project / "data" / "poli.ttl").write_text(
        (project / "data" / "poli.ttl").read_text(encoding="utf-8") + "\n# changed\n",
        encoding="utf-8")
    real_write = output.write_file
    calls = []

    def failing_write(path: Path, data: bytes) -> None:
        calls.append(path.name)
        if len(calls) == 5:
            real_write(path, data[: len(data) // 2])
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        real_write(path, data)

    monkeypatch.setattr(output, "write_file", failing_write)
    with pytest.raises(OSError) as info:
        build(built, project)
    assert info.value.errno == errno.ENOSPC
    assert len(calls) == 5
    assert snapshot(built) == before
    assert siblings(built) == names  # no temporary folder left behind


def test_the_garbage_collector_is_back_on_after_a_build(project, tmp_path, monkeypatch):
    """The write stage pauses the cyclic collector; a build gives it back, failed or not."""
    out = tmp_path / "site" / "public"
    build(out, project)
    assert gc.isenabled()

    def failing_index(*args, **kwargs):
        assert not gc.isenabled()   # paused while the files are written
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(building, "write_index", failing_index)
    with pytest.raises(OSError):
        build(out, project)
    assert gc.isenabled()


def test_store_failure_leaves_previous_build(project, built, monkeypatch):
    before, names = snapshot(built), siblings(built)

    class BrokenStore:
        def __init__(self, path: str) -> None:
            Path(path).mkdir()
            (Path(path) / "partial").write_bytes(b"x")
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(output.ox, "Store", BrokenStore)
    with pytest.raises(OSError):
        build(built, project)
    assert snapshot(built) == before
    assert siblings(built) == names


def test_keeps_previous_build_for_open_readers(project, built):
    first = built.resolve()
    reader = ox.Store.read_only(str(first / "store"))
    for n in range(3):
        (project / "data" / "poli.ttl").write_text(
            (project / "data" / "poli.ttl").read_text(encoding="utf-8") + f"\n# edit {n}\n",
            encoding="utf-8")
        build(built, project)
    builds = [n for n in siblings(built) if n.startswith(".public-2")]
    assert len(builds) == 2  # the current one and the previous one
    assert built.resolve().name == builds[-1]
    assert bool(reader.query("ASK { ?s ?p ?o }", use_default_graph_as_union=True))
    assert not [n for n in siblings(built) if "-tmp-" in n or "-link-" in n]


def test_migrates_a_real_directory(project, tmp_path):
    out = tmp_path / "public"
    out.mkdir()
    (out / "build.json").write_text("{}", encoding="utf-8")
    (out / "old.txt").write_text("old", encoding="utf-8")
    build(out, project)
    assert out.is_symlink() and (out / "build.json").is_file()
    moved = [p for p in tmp_path.iterdir() if (p / "old.txt").is_file()]
    assert len(moved) == 1 and moved[0].name.startswith(".public-")


def test_refuses_to_replace_a_foreign_directory(project, tmp_path):
    out = tmp_path / "public"
    out.mkdir()
    (out / "precious.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(BuildError):
        build(out, project)
    assert (out / "precious.txt").read_text(encoding="utf-8") == "mine"
    assert not out.is_symlink()


def test_empty_project_builds(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    result = build(tmp_path / "public", empty)
    assert result.counts["total"] == 0
    assert ox.Store.read_only(str(tmp_path / "public" / "store")).query(
        "ASK { ?s ?p ?o }", use_default_graph_as_union=True).__bool__() is False


# --------------------------------------------------------------------------- inputs and cache

def test_sources_table(project):
    files = Sources(project).files()
    rel = {k: [p.relative_to(project).as_posix() for p in v] for k, v in files.items()}
    assert rel == {
        "ontology": ["ontology/ontology.ttl"],
        "provenance": ["data/fonte/documento.ttl"],
        "data": ["data/poli.ttl", "data/sub/imprese.ttl"],
        "shapes": ["shapes/shapes.ttl"],
    }
    custom = Sources(project, globs={"data": "data/*.ttl"}).files()["data"]
    assert [p.name for p in custom] == ["poli.ttl"]


def test_ensure_built_reuses_then_rebuilds(project, tmp_path, monkeypatch):
    out = tmp_path / "public"
    assert ensure_built(out, project) == out
    first = out.resolve()

    calls = []
    real = building._build_locked
    monkeypatch.setattr(building, "_build_locked", lambda *a, **k: calls.append(1) or real(*a, **k))
    ensure_built(out, project)
    assert calls == [] and out.resolve() == first

    path = project / "data" / "poli.ttl"
    os.utime(path, (1, 1))  # a new mtime alone is not a change
    ensure_built(out, project)
    assert calls == []

    path.write_text(path.read_text(encoding="utf-8").replace('"Agrifood"', '"Agrifood!"'),
                    encoding="utf-8")
    ensure_built(out, project)
    assert calls == [1] and out.resolve() != first
    assert '"Agrifood!"' in (out / "poli-kg.nt").read_text(encoding="utf-8")


def test_ensure_built_rebuilds_incomplete_output(project, tmp_path):
    out = tmp_path / "public"
    ensure_built(out, project)
    first = out.resolve()
    (out / "poli-kg.nq").unlink()
    ensure_built(out, project)
    assert out.resolve() != first and (out / "poli-kg.nq").is_file()


def test_renaming_an_input_changes_the_digest(project):
    digest = inputs_digest(Sources(project))
    (project / "data" / "poli.ttl").rename(project / "data" / "poli2.ttl")
    assert inputs_digest(Sources(project)) != digest


# --------------------------------------------------------------------------- the real project

def test_real_project_build(build_dir):
    info = json.loads((build_dir / "build.json").read_text(encoding="utf-8"))
    for kind in ("ontology", "data", "provenance", "inferred"):
        assert info["triples"][kind] > 0, kind
    assert info["validation"]["conforms"] is True
    store = ox.Store.read_only(str(build_dir / "store"))
    assert {g.value for g in store.named_graphs()} == {str(g) for g in NAMED_GRAPHS}
    assert len(list(store.quads_for_pattern(None, None, None, ox.DefaultGraph()))) == 0
    for line in (build_dir / "SHA256SUMS").read_text(encoding="utf-8").splitlines():
        digest, name = line.split("  ")
        assert hashlib.sha256((build_dir / name).read_bytes()).hexdigest() == digest


def test_real_project_is_current(build_dir):
    # the session build is reused: same inputs, same pipeline
    target = build_dir.resolve()
    assert ensure_built(build_dir) == build_dir
    assert build_dir.resolve() == target


def test_real_project_build_has_the_harvesters_files(build_dir):
    """Every build carries the NDC assets (as committed in assets/) and a CSVW table per cube."""
    committed = ROOT / "assets"
    built_assets = build_dir / "assets"
    expected = sorted(p.relative_to(committed) for p in committed.rglob("*") if p.is_file())
    assert expected, "the repository's assets/ is empty"
    for path in expected:
        assert (built_assets / path).read_bytes() == (committed / path).read_bytes(), path
    tables = sorted((build_dir / "csvw").glob("*.csv"))
    assert tables and all(t.with_name(t.name + "-metadata.json").is_file() for t in tables)
