"""Releases: the current build frozen as an immutable, versioned copy, with its release notes.

:func:`freeze` copies the build in ``out_dir`` into ``releases/X.Y.Z/`` (the releases folder
beside the output by default: :func:`poli_kg.buildfolder.releases_dir_for`): the downloads
and their ``.gz`` copies, ``SHA256SUMS``, ``build.json``, ``assets/``, ``csvw/`` and a
catalogue snapshot when the build folder holds one (:data:`~poli_kg.buildfolder.CATALOG_FILE`),
byte for byte, each copy checked against ``SHA256SUMS``.  Beside them it writes what changed
since the previous release (:mod:`poli_kg.graph.changes`): the notes ``CHANGES.md``, and
(from the second release on) the RDF Patch ``changes.rdfp`` and ``added.nq`` /
``removed.nq``; and the manifest
``release.json``: the version, the date, the previous release, the summary of the changes
and every file with its size and SHA-256.  The release is written into a temporary folder
and renamed into place under a lock, and its files are made read-only.

A release is never replaced: a version that exists is refused (:class:`ReleaseExists`), and
so is a version not above the latest release (the previous release of each is then fixed,
and the release notes stay true).  Versions follow Semantic Versioning
(:func:`~poli_kg.buildfolder.version_key`).

**The ontology's version follows the release.**  Release X.Y.Z requires the build's ontology
to declare ``owl:versionInfo "X.Y.Z"`` and ``owl:versionIRI <…/ontology/X.Y.Z>``.  The version
is set in ``ontology/`` and built, not rewritten in the copy: the release's files stay the
build's files (the checksums the catalogue publishes hold for both), the live data and the
latest release name the same ontology version, and the NDC assets of the build already hold
that version's folder (``assets/ontologies/ontology/vX.Y.Z/``).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from poli_kg.buildfolder import (
    ASSETS_DIR, BUILD_INFO, CATALOG_FILE, CHECKSUMS, CSVW_DIR, DOWNLOAD_FILES, RELEASE_ADDED,
    RELEASE_INFO, RELEASE_NOTES, RELEASE_PATCH, RELEASE_REMOVED, ServedBuild, locked,
    read_build_info, release_versions, releases_dir_for, split_out_dir, version_key,
)
from poli_kg.graph import changes
from poli_kg.graph.changes import Dataset, GraphChanges
from poli_kg.namespaces import BASE, GRAPH_ONTOLOGY, ONTOLOGY_IRI

__all__ = ["ReleaseError", "ReleaseExists", "Released", "freeze", "ontology_version",
           "release_iri"]

COMPLETE_DUMP = "poli-kg.nq"          # the four named graphs: what the changes compare
DUMPS = (*DOWNLOAD_FILES, *(f"{name}.gz" for name in DOWNLOAD_FILES))
BUILD_TREES = (ASSETS_DIR, CSVW_DIR)
_OWL = "http://www.w3.org/2002/07/owl#"
_SUMS_LINE = re.compile(r"([0-9a-f]{64}) [ *](\S+)")
_CHUNK = 1 << 16


class ReleaseError(Exception):
    """The build cannot be released with this version (the message says why)."""


class ReleaseExists(ReleaseError):
    """The version is already released: releases are never replaced."""


@dataclass(frozen=True)
class Released:
    """What :func:`freeze` wrote."""

    version: str
    folder: Path
    previous: str | None
    changes: tuple[GraphChanges, ...]
    files: int

    @property
    def added(self) -> int:
        return sum(len(c.added) for c in self.changes)

    @property
    def removed(self) -> int:
        return sum(len(c.removed) for c in self.changes)


def release_iri(version: str) -> str:
    """The IRI of release ``version`` (answered by the service at ``/releases/X.Y.Z``)."""
    return f"{BASE}releases/{version}"


def ontology_version(dataset: Dataset) -> tuple[str | None, str | None]:
    """``(owl:versionInfo, owl:versionIRI)`` of the project's ontology in ``dataset``."""
    info = iri = None
    for t in dataset.get(str(GRAPH_ONTOLOGY), ()):
        if t.subject.value != ONTOLOGY_IRI:
            continue
        if t.predicate.value == _OWL + "versionInfo":
            info = t.object.value
        elif t.predicate.value == _OWL + "versionIRI":
            iri = t.object.value
    return info, iri


def _check_ontology(dataset: Dataset, version: str) -> dict[str, str]:
    """The ontology's version, which must be ``version`` (see the module docstring)."""
    info, iri = ontology_version(dataset)
    wanted = f"{ONTOLOGY_IRI}/{version}"
    if (info, iri) != (version, wanted):
        declared = (f'owl:versionInfo {json.dumps(info) if info else "(none)"} and '
                    f'owl:versionIRI {f"<{iri}>" if iri else "(none)"}')
        raise ReleaseError(
            f"the build's ontology <{ONTOLOGY_IRI}> declares {declared}; release {version} "
            f'needs owl:versionInfo "{version}" and owl:versionIRI <{wanted}>: set them in '
            "the ontology (ontology/*.ttl), rebuild with 'poli-kg build', then release")
    return {"iri": ONTOLOGY_IRI, "version_iri": iri, "version_info": info}


def _version_key(version: str) -> tuple:
    try:
        return version_key(version)
    except ValueError as exc:
        raise ReleaseError(str(exc)) from None


def _check_version(version: str, existing: list[str], releases: Path) -> str | None:
    """The previous release of ``version``; refuses an existing or a lower version."""
    key = _version_key(version)
    target = releases / version
    if version in existing or target.exists() or target.is_symlink():
        raise ReleaseExists(f"release {version} already exists ({target}); releases are "
                            "never replaced: choose a new version")
    if existing and version_key(existing[-1]) >= key:
        raise ReleaseError(f"{version} is not above the latest release {existing[-1]}: "
                           "the versions of releases only increase")
    return existing[-1] if existing else None


# --------------------------------------------------------------------------- copying

def _copy(source: Path, target: Path) -> dict[str, Any]:
    """Copy one file, hashing it on the way; its size and SHA-256."""
    digest = hashlib.sha256()
    size = 0
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(source, "rb") as src, open(target, "xb") as dst:
        while chunk := src.read(_CHUNK):
            digest.update(chunk)
            dst.write(chunk)
            size += len(chunk)
    return {"bytes": size, "sha256": digest.hexdigest()}


def _build_sums(folder: Path) -> dict[str, str]:
    """The SHA-256 of each file SHA256SUMS lists."""
    try:
        text = (folder / CHECKSUMS).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ReleaseError(f"{folder}: no readable {CHECKSUMS} ({exc}): rebuild, then release"
                           ) from None
    return {m.group(2): m.group(1) for line in text.splitlines()
            if (m := _SUMS_LINE.fullmatch(line.strip()))}


def _build_files(folder: Path, sums: Mapping[str, str]) -> list[str]:
    """The paths of the files to copy from the build ``folder``; refuses an incomplete build."""
    names = [n for n in DUMPS if n in sums] + [CHECKSUMS, BUILD_INFO]
    missing = [n for n in DOWNLOAD_FILES if n not in sums]
    missing += [n for n in names if not (folder / n).is_file()]
    if missing:
        raise ReleaseError(f"{folder} is not a complete build (missing: {', '.join(missing)}): "
                           "rebuild, then release")
    if (folder / CATALOG_FILE).is_file():
        names.append(CATALOG_FILE)
    for tree in BUILD_TREES:
        names += sorted(p.relative_to(folder).as_posix() for p in (folder / tree).rglob("*")
                        if p.is_file() and not p.is_symlink())
    return names


def _copy_build(folder: Path, staging: Path, names: list[str], sums: Mapping[str, str]
                ) -> dict[str, dict[str, Any]]:
    """Copy the build's files into ``staging``; each file's size and SHA-256 by its path."""
    files = {}
    for name in names:
        files[name] = _copy(folder / name, staging / name)
        if name in sums and files[name]["sha256"] != sums[name]:
            raise ReleaseError(f"{folder / name} does not match its SHA-256 in {CHECKSUMS}: "
                               "rebuild, then release")
    return files


# --------------------------------------------------------------------------- the release

def _write(path: Path, data: bytes) -> dict[str, Any]:
    with open(path, "xb") as f:
        f.write(data)
    return {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def _write_changes(staging: Path, version: str, previous: str,
                   diff: list[GraphChanges]) -> dict[str, dict[str, Any]]:
    """The patch files of the changes since ``previous``."""
    return {
        RELEASE_PATCH: _write(staging / RELEASE_PATCH, changes.rdf_patch(
            diff, release_iri(version), release_iri(previous))),
        RELEASE_ADDED: _write(staging / RELEASE_ADDED, changes.nquads(diff, added=True)),
        RELEASE_REMOVED: _write(staging / RELEASE_REMOVED, changes.nquads(diff, added=False)),
    }


def _manifest(version: str, issued: datetime, previous: str | None, description: str | None,
              ontology: Mapping[str, str], build: Mapping[str, Any],
              listed: list[dict[str, Any]], diff: list[GraphChanges]) -> dict[str, Any]:
    """The contents of ``release.json`` (without ``files``)."""
    return {
        "version": version,
        "issued": issued.isoformat(timespec="seconds"),
        "previous": previous,
        "iri": release_iri(version),
        "previous_iri": release_iri(previous) if previous else None,
        "description": description or None,
        "notes": changes.summary(diff, previous),
        "ontology": dict(ontology),
        "build": {key: build.get(key) for key in
                  ("built_at", "poli_kg_version", "inputs_sha256", "triples")},
        "changes": {"since": previous, "added": sum(len(c.added) for c in diff),
                    "removed": sum(len(c.removed) for c in diff), "graphs": listed},
    }


def _make_read_only(folder: Path) -> None:
    for path in folder.rglob("*"):
        if path.is_file():
            os.chmod(path, 0o444)
    os.chmod(folder, 0o755)


def _remove_leftovers(releases: Path) -> None:
    """Delete the temporary folders of releases never completed (called with the lock held)."""
    for entry in releases.iterdir():
        if entry.name.startswith(".") and "-tmp-" in entry.name and entry.is_dir():
            shutil.rmtree(entry, ignore_errors=True)


def _write_release(folder: Path, staging: Path, version: str, previous: str | None,
                   releases: Path, description: str | None, now: datetime
                   ) -> tuple[list[GraphChanges], int]:
    """Write every file of the release into ``staging``; the changes and the file count."""
    sums = _build_sums(folder)
    names = _build_files(folder, sums)
    new = changes.read_dataset(folder / COMPLETE_DUMP)   # checked before anything is copied
    ontology = _check_ontology(new, version)
    files = _copy_build(folder, staging, names, sums)
    old = changes.read_dataset(releases / previous / COMPLETE_DUMP) if previous else {}
    diff = changes.diff(old, new)
    listed = changes.listing(diff, changes.labels(new, old),
                             limit=changes.MAX_LISTED if previous else 0)
    manifest = _manifest(version, now, previous, description, ontology,
                         read_build_info(folder) or {}, listed, diff)
    if previous is not None:   # the first release's patch would be the dump itself
        files |= _write_changes(staging, version, previous, diff)
    files[RELEASE_NOTES] = _write(staging / RELEASE_NOTES,
                                  changes.markdown(manifest).encode("utf-8"))
    manifest["files"] = dict(sorted(files.items()))
    _write(staging / RELEASE_INFO, (json.dumps(manifest, indent=2, ensure_ascii=False)
                                    + "\n").encode("utf-8"))
    return diff, len(files) + 1


def freeze(out_dir: Path | str, version: str, releases_dir: Path | str | None = None, *,
           description: str | None = None, now: datetime | None = None) -> Released:
    """Freeze the build in ``out_dir`` as release ``version`` (see the module docstring).

    ``releases_dir``: the releases folder (default: ``releases/`` beside ``out_dir``);
    ``description``: a text of the release's own, put first in its notes.  Raises
    :class:`ReleaseExists`, :class:`ReleaseError` (a bad version, no complete build, an
    ontology of another version) or ``OSError``; nothing is left behind on failure.
    """
    _version_key(version)
    releases = releases_dir_for(out_dir, releases_dir)
    now = (now or datetime.now(timezone.utc)).astimezone(timezone.utc).replace(microsecond=0)
    held = ServedBuild(out_dir)   # a build meanwhile cannot prune the folder being copied
    try:
        folder = held.folder()
        if folder is None or read_build_info(folder) is None:
            raise ReleaseError(f"{out_dir} holds no build: run 'poli-kg build' first")
        if Path(os.path.realpath(releases)).is_relative_to(folder):
            raise ReleaseError(f"{releases} is inside the build folder, which the next build "
                               "replaces: keep releases beside it")
        releases.mkdir(parents=True, exist_ok=True)
        with locked(*split_out_dir(releases)):
            _remove_leftovers(releases)
            previous = _check_version(version, release_versions(releases), releases)
            staging = Path(tempfile.mkdtemp(prefix=f".{version}-tmp-", dir=releases))
            try:
                diff, count = _write_release(folder, staging, version, previous, releases,
                                             description, now)
                _make_read_only(staging)
                os.rename(staging, releases / version)
            except BaseException:
                _remove_leftovers(releases)
                raise
    finally:
        held.close()
    return Released(version, releases / version, previous, tuple(diff), count)
