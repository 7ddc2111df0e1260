"""Two releases of the small fixture project (``tests/data/build/project``), for the release
tests of the build, the web layer and a real server.

:func:`make_history` copies the project, builds it with ontology version 1.0.0 and releases
it, then edits it (:func:`edit_project`: a changed literal, a new labelled triple, a removed
link and its inferences, a changed blank node) with ontology version 1.1.0, builds and
releases it again::

    history = make_history(tmp_path)
    history.out / "poli-kg.nq"              # the build of 1.1.0
    history.releases / "1.0.0" / "poli-kg.nq"
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from poli_kg.graph.pipeline import build
from poli_kg.graph.release import Released, freeze

PROJECT = Path(__file__).resolve().parents[1] / "data" / "build" / "project"
VERSION_FILE = """\
@prefix owl: <http://www.w3.org/2002/07/owl#> .
<https://w3id.org/poli-kg/ontology> owl:versionInfo "{v}" ;
    owl:versionIRI <https://w3id.org/poli-kg/ontology/{v}> .
"""
EDITS = {   # file of the project: (old text, new text)
    "data/poli.ttl": [('pkg:nome "Agrifood" ;', 'pkg:nome "Agrifood S.c.r.l." ;'),
                      ("    pkg:haCapofila impresa:capofila ;\n", ""),
                      ("polo:mesap a pkg:Polo ;",
                       'polo:mesap a pkg:Polo ;\n    rdfs:label "Polo MESAP"@it ;')],
    "data/sub/imprese.ttl": [('schema:postalCode "10100"', 'schema:postalCode "10121"')],
}
RDFS_PREFIX = "@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .\n"


@dataclass(frozen=True)
class History:
    """The project, its build folder (holding the last build) and its two releases."""

    project: Path
    out: Path
    releases: Path
    first: Released
    second: Released


def copy_project(dest: Path, version: str) -> Path:
    """A writable copy of the fixture project whose ontology has version ``version``."""
    shutil.copytree(PROJECT, dest)
    set_version(dest, version)
    return dest


def set_version(project: Path, version: str) -> None:
    """Give the project's ontology ``owl:versionInfo`` and ``owl:versionIRI`` ``version``."""
    (project / "ontology" / "version.ttl").write_text(VERSION_FILE.format(v=version),
                                                      encoding="utf-8")


def edit_project(project: Path) -> None:
    """The changes of release 1.1.0 (see the module docstring)."""
    for name, edits in EDITS.items():
        path = project / name
        text = path.read_text(encoding="utf-8")
        for old, new in edits:
            assert old in text, (name, old)
            text = text.replace(old, new)
        path.write_text(RDFS_PREFIX + text, encoding="utf-8")


def make_history(root: Path) -> History:
    """Release 1.0.0 and 1.1.0 of the fixture project under ``root``."""
    project = copy_project(root / "project", "1.0.0")
    out = root / "site" / "public"
    build(out, project)
    first = freeze(out, "1.0.0", description="The first release.")
    edit_project(project)
    set_version(project, "1.1.0")
    build(out, project)
    second = freeze(out, "1.1.0")
    return History(project, out, root / "site" / "releases", first, second)
