"""Releases: the frozen copy, refusals, the RDF diff between releases, version order, the CLI."""

import hashlib
import json
import stat
from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib import BNode, Graph
from rdflib.compare import graph_diff, isomorphic, to_canonical_graph

from poli_kg import cli
from poli_kg.buildfolder import (
    ASSETS_DIR, BUILD_INFO, CHECKSUMS, CSVW_DIR, DOWNLOAD_FILES, RELEASE_ADDED, RELEASE_INFO,
    RELEASE_NOTES, RELEASE_PATCH, RELEASE_REMOVED, release_versions, version_key,
)
from poli_kg.graph.rdfterms import to_rdflib
from poli_kg.graph.release import ReleaseError, ReleaseExists, freeze
from poli_kg.namespaces import GRAPH_DATA, GRAPH_INFERRED, GRAPH_ONTOLOGY, NAMED_GRAPHS
from tests.support.releases import History, make_history


@pytest.fixture(scope="module")
def history(tmp_path_factory) -> History:
    return make_history(tmp_path_factory.mktemp("releases"))


def manifest(folder: Path) -> dict:
    return json.loads((folder / RELEASE_INFO).read_text(encoding="utf-8"))


def tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def graphs(path: Path) -> dict[str, Graph]:
    """The named graphs of an N-Quads file, by IRI (blank node labels kept)."""
    found: dict[str, Graph] = {}
    for q in ox.parse(path=str(path), format=ox.RdfFormat.N_QUADS):
        found.setdefault(q.graph_name.value, Graph()).add(
            (to_rdflib(q.subject), to_rdflib(q.predicate), to_rdflib(q.object)))
    return found


def canonical(graph: Graph) -> set:
    """The triples of ``graph``, the blank nodes canonically relabelled (as the diff does)."""
    ground = {t for t in graph if not any(isinstance(x, BNode) for x in t)}
    blank = Graph()
    for t in graph:
        if any(isinstance(x, BNode) for x in t):
            blank.add(t)
    return ground | set(to_canonical_graph(blank))


# --------------------------------------------------------------------------- the frozen copy

def test_the_first_release_is_the_build_byte_for_byte(history):
    folder = history.releases / "1.0.0"
    assert history.first.folder == folder and history.first.previous is None
    files = tree(folder)
    for name in (*DOWNLOAD_FILES, *(f"{n}.gz" for n in DOWNLOAD_FILES), CHECKSUMS, BUILD_INFO):
        assert name in files, name
    for line in files[CHECKSUMS].decode().splitlines():
        digest, name = line.split("  ")
        assert hashlib.sha256(files[name]).hexdigest() == digest
    assert any(n.startswith(f"{ASSETS_DIR}/ontologies/ontology/v1.0.0/") for n in files)
    assert not (folder / "store").exists() and not any(n.startswith("store/") for n in files)
    info = json.loads(files[BUILD_INFO])
    assert info["triples"]["provenance"] == 4


def test_the_manifest_lists_every_file_with_its_digest(history):
    info = manifest(history.releases / "1.1.0")
    files = tree(history.releases / "1.1.0")
    assert set(info["files"]) == set(files) - {RELEASE_INFO}
    for name, entry in info["files"].items():
        assert entry == {"bytes": len(files[name]), "sha256": hashlib.sha256(files[name]).hexdigest()}
    assert info["version"] == "1.1.0" and info["previous"] == "1.0.0"
    assert info["iri"] == "https://w3id.org/poli-kg/releases/1.1.0"
    assert info["previous_iri"] == "https://w3id.org/poli-kg/releases/1.0.0"
    assert info["ontology"] == {"iri": "https://w3id.org/poli-kg/ontology",
                                "version_iri": "https://w3id.org/poli-kg/ontology/1.1.0",
                                "version_info": "1.1.0"}
    assert info["issued"].endswith("+00:00")
    assert set(info["notes"]) == {"it", "en"}
    assert manifest(history.releases / "1.0.0")["description"] == "The first release."


def test_a_release_holds_the_csvw_tables_and_assets_of_its_build(history):
    built = {p.relative_to(history.out).as_posix() for tree_dir in (ASSETS_DIR, CSVW_DIR)
             for p in (history.out / tree_dir).rglob("*") if p.is_file()}
    released = set(manifest(history.releases / "1.1.0")["files"])
    assert built and built <= released
    assert f"{ASSETS_DIR}/ontologies/ontology/v1.1.0/ontology.ttl" in released


def test_release_files_are_read_only(history):
    for path in (history.releases / "1.1.0").rglob("*"):
        if path.is_file():
            assert not path.stat().st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH), path


def test_the_first_release_has_no_patch(history):
    folder = history.releases / "1.0.0"
    for name in (RELEASE_PATCH, RELEASE_ADDED, RELEASE_REMOVED):
        assert not (folder / name).exists()
    notes = (folder / RELEASE_NOTES).read_text(encoding="utf-8")
    assert notes.startswith("# poli-kg 1.0.0\n") and "The first release." in notes
    assert "First release:" in notes


# --------------------------------------------------------------------------- refusals

def test_an_existing_release_is_never_replaced(history):
    before = tree(history.releases)
    with pytest.raises(ReleaseExists, match="already exists"):
        freeze(history.out, "1.1.0")
    with pytest.raises(ReleaseExists):
        freeze(history.out, "1.0.0")
    assert tree(history.releases) == before
    assert sorted(p.name for p in history.releases.iterdir()) == ["1.0.0", "1.1.0"]


def test_versions_only_increase(history):
    with pytest.raises(ReleaseError, match="not above the latest release 1.1.0"):
        freeze(history.out, "1.0.1")
    with pytest.raises(ReleaseError, match="not above"):
        freeze(history.out, "1.1.0-rc.1")


def test_the_ontology_version_must_be_the_release_version(history):
    before = tree(history.releases)
    with pytest.raises(ReleaseError) as caught:
        freeze(history.out, "1.2.0")
    message = str(caught.value)
    assert 'owl:versionInfo "1.1.0"' in message
    assert "owl:versionIRI <https://w3id.org/poli-kg/ontology/1.2.0>" in message
    assert tree(history.releases) == before          # nothing written, no temporary folder left
    assert sorted(p.name for p in history.releases.iterdir()) == ["1.0.0", "1.1.0"]


@pytest.mark.parametrize("version", ["1.2", "v1.2.0", "01.2.0", "1.2.0+build.5", "../1.2.0",
                                     "1.2.0/x", "", "1.2.0-", "1.2.0-01", "9" * 70 + ".0.0"])
def test_bad_versions_are_refused(history, version, tmp_path):
    with pytest.raises(ReleaseError, match="not a version"):
        freeze(history.out, version, tmp_path / "releases")
    assert not any(tmp_path.iterdir())


def test_releases_inside_the_build_are_refused(history):
    with pytest.raises(ReleaseError, match="inside the build folder"):
        freeze(history.out, "1.2.0", history.out / "releases")
    assert not (history.out / "releases").exists()


def test_no_build_no_release(tmp_path):
    with pytest.raises(ReleaseError, match="holds no build"):
        freeze(tmp_path / "public", "1.0.0")
    assert not (tmp_path / "releases").exists()


# --------------------------------------------------------------------------- the diff

def test_the_changes_turn_the_previous_release_into_this_one(history):
    old = graphs(history.releases / "1.0.0" / "poli-kg.nq")
    new = graphs(history.releases / "1.1.0" / "poli-kg.nq")
    added = graphs(history.releases / "1.1.0" / RELEASE_ADDED)
    removed = graphs(history.releases / "1.1.0" / RELEASE_REMOVED)
    assert set(added) | set(removed) <= {str(g) for g in NAMED_GRAPHS}
    for name in set(old) | set(new):
        before, after = canonical(old.get(name, Graph())), canonical(new.get(name, Graph()))
        plus, minus = set(added.get(name, Graph())), set(removed.get(name, Graph()))
        assert minus <= before and not plus & before, name
        assert (before - minus) | plus == after, name          # the same canonical triples
        result = Graph()
        for t in (before - minus) | plus:
            result.add(t)
        assert isomorphic(result, new.get(name, Graph())), name


def test_the_changes_are_the_difference_of_the_graphs(history):
    """Compared with rdflib.compare.graph_diff of the whole graphs, graph by graph."""
    old = graphs(history.releases / "1.0.0" / "poli-kg.nq")
    new = graphs(history.releases / "1.1.0" / "poli-kg.nq")
    added = graphs(history.releases / "1.1.0" / RELEASE_ADDED)
    removed = graphs(history.releases / "1.1.0" / RELEASE_REMOVED)
    counts = {g["graph"]: g for g in manifest(history.releases / "1.1.0")["changes"]["graphs"]}
    for name in (str(GRAPH_ONTOLOGY), str(GRAPH_DATA), str(GRAPH_INFERRED)):
        _both, only_old, only_new = graph_diff(old[name], new[name])
        assert isomorphic(Graph() + removed.get(name, Graph()), only_old), name
        assert isomorphic(Graph() + added.get(name, Graph()), only_new), name
        assert (counts[name]["added"], counts[name]["removed"]) == (len(only_new), len(only_old))


def test_what_changed_in_the_data(history):
    added = {(s.n3(), p.n3(), o.n3()) for s, p, o in graphs(
        history.releases / "1.1.0" / RELEASE_ADDED)[str(GRAPH_DATA)]}
    removed = {(s.n3(), p.n3(), o.n3()) for s, p, o in graphs(
        history.releases / "1.1.0" / RELEASE_REMOVED)[str(GRAPH_DATA)]}
    polo, pkg = "<https://w3id.org/poli-kg/id/polo/", "<https://w3id.org/poli-kg/ontology#"
    assert (f"{polo}agrifood>", f"{pkg}nome>", '"Agrifood S.c.r.l."') in added
    assert (f"{polo}agrifood>", f"{pkg}nome>", '"Agrifood"') in removed
    assert (f"{polo}mesap>", "<http://www.w3.org/2000/01/rdf-schema#label>", '"Polo MESAP"@it') in added
    assert (f"{polo}mesap>", f"{pkg}haCapofila>", "<https://w3id.org/poli-kg/id/impresa/capofila>") \
        in removed
    # the changed blank node: its triples leave with one canonical label and come back with another
    assert sum('"10100"' in t[2] for t in removed) == 1 and sum('"10121"' in t[2] for t in added) == 1
    # the unchanged rdf:List of the ontology's property chain is not a change
    ontology = graphs(history.releases / "1.1.0" / RELEASE_ADDED)[str(GRAPH_ONTOLOGY)]
    assert {str(p) for p in ontology.predicates()} == {"http://www.w3.org/2002/07/owl#versionInfo",
                                                       "http://www.w3.org/2002/07/owl#versionIRI"}


def test_the_rdf_patch_holds_the_same_changes(history):
    folder = history.releases / "1.1.0"
    lines = (folder / RELEASE_PATCH).read_text(encoding="utf-8").splitlines()
    assert lines[:3] == ["H id <https://w3id.org/poli-kg/releases/1.1.0> .",
                         "H prev <https://w3id.org/poli-kg/releases/1.0.0> .", "TX ."]
    assert lines[-1] == "TC ."
    rows = lines[3:-1]
    deletes = [r[2:] for r in rows if r.startswith("D ")]
    adds = [r[2:] for r in rows if r.startswith("A ")]
    assert len(deletes) + len(adds) == len(rows)
    assert rows == [f"D {r}" for r in deletes] + [f"A {r}" for r in adds]   # deletions first
    for body, name in ((adds, RELEASE_ADDED), (deletes, RELEASE_REMOVED)):
        assert "".join(f"{row}\n" for row in body) == (folder / name).read_text(encoding="utf-8")


def test_the_release_notes_name_the_changes_with_labels(history):
    notes = (history.releases / "1.1.0" / RELEASE_NOTES).read_text(encoding="utf-8")
    assert notes.startswith("# poli-kg 1.1.0\n")
    assert "Previous release: 1.0.0." in notes
    assert "| data |" in notes and "| ontology | 2 | 2 |" in notes
    assert "#### Polo MESAP (`poli:polo/mesap`)" in notes          # labelled by the new release
    assert '- added: `rdfs:label` "Polo MESAP"@it' in notes
    assert "- removed: `pkg:nome` \"Agrifood\"" in notes
    assert f"`{RELEASE_PATCH}`" in notes
    info = manifest(history.releases / "1.1.0")
    assert info["notes"]["en"].startswith("Changes since 1.0.0: ")
    assert info["notes"]["it"].startswith("Modifiche rispetto alla 1.0.0: ")
    data = next(g for g in info["changes"]["graphs"] if g["name"] == "data")
    assert data["subjects"] and data["more"] == 0
    assert history.second.added == info["changes"]["added"] > 0
    assert history.second.removed == info["changes"]["removed"] > 0


# --------------------------------------------------------------------------- versions

def test_semantic_version_precedence():
    ordered = ["0.9.9", "1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta",
               "1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0", "1.0.1", "1.2.0",
               "1.10.0", "2.0.0"]
    assert sorted(ordered[::-1], key=version_key) == ordered
    assert sorted(["1.0.0-2", "1.0.0-10", "1.0.0-a"], key=version_key) == ["1.0.0-2", "1.0.0-10",
                                                                          "1.0.0-a"]
    for bad in ("1.0", "1.0.0.0", "01.0.0", "1.0.0+meta", "1.0.0-", "1.0.0-01", "a.b.c"):
        with pytest.raises(ValueError):
            version_key(bad)


def test_release_versions_lists_releases_in_version_order(tmp_path):
    for name in ("1.10.0", "1.2.0", "1.2.0-rc.1", ".1.3.0-tmp-x", "notes", "2.0.0"):
        (tmp_path / name).mkdir()
        if name != "2.0.0":       # no manifest: not a release
            (tmp_path / name / RELEASE_INFO).write_text("{}")
    (tmp_path / "3.0.0").symlink_to(tmp_path / "1.2.0")
    assert release_versions(tmp_path) == ["1.2.0-rc.1", "1.2.0", "1.10.0"]
    assert release_versions(tmp_path / "missing") == []


# --------------------------------------------------------------------------- the command

def test_the_release_command(history, tmp_path, capsys):
    releases = tmp_path / "elsewhere"
    args = ["release", "1.1.0", "--out", str(history.out), "--releases", str(releases),
            "--project", str(history.project)]
    assert cli.main(args) == 0
    count = len(manifest(releases / "1.1.0")["files"]) + 1
    assert capsys.readouterr().out == (f"released 1.1.0 -> {releases / '1.1.0'} ({count} files; "
                                       "the first release)\n")
    assert cli.main(args) == 3
    assert "already exists" in capsys.readouterr().err
    assert cli.main([*args[:1], "1.1", *args[2:]]) == 2
    assert "not a version" in capsys.readouterr().err
    assert cli.main([*args[:1], "1.2.0", *args[2:]]) == 2
    assert "owl:versionIRI" in capsys.readouterr().err
    assert release_versions(releases) == ["1.1.0"]


def test_the_release_command_defaults_to_releases_beside_out(history, tmp_path, capsys):
    out = tmp_path / "public"
    out.symlink_to(history.out.resolve())
    assert cli.main(["release", "1.1.0", "--out", str(out), "-m", "Again.",
                     "--project", str(history.project)]) == 0
    assert manifest(tmp_path / "releases" / "1.1.0")["description"] == "Again."
    assert "warning" not in capsys.readouterr().err
