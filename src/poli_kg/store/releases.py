"""The releases folder as the service reads it: the releases, their files, and their
description as versions of the dataset (DCAT 3).

``poli-kg release`` (:mod:`poli_kg.graph.release`) writes one folder per version, each with
its manifest ``release.json`` (layout: :mod:`poli_kg.buildfolder`).  :func:`list_releases`
lists them in version order, :func:`read_release` reads one; :class:`ReleaseShelf` keeps the
ones read (a release never changes) and looks for new ones at each listing.

No path is ever built from a request: a version is only looked up among the folders
:func:`~poli_kg.buildfolder.release_versions` lists, and a file among the names its manifest
lists (each a relative path of safe segments, a regular file, not a symlink, of the size the
manifest says).  :meth:`Release.intact` checks a file's SHA-256 once before it is served.

:func:`describe` says what the releases are in RDF: each a ``dcat:Dataset`` with its
``dcat:version``, ``dct:issued``, ``adms:versionNotes``, ``dcat:isVersionOf`` the dataset
(which ``dcat:hasVersion`` it), ``dcat:previousVersion``, ``dct:conformsTo`` the ontology
version, and a distribution per RDF dump with its download URL, size and checksum.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath
from typing import Any

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import DCAT, DCTERMS, RDF, XSD

from poli_kg.buildfolder import (
    DOWNLOAD_FILES, RELEASE_INFO, is_version, release_versions, ChecksumMemo,
)
from poli_kg.namespaces import ADMS, BASE, DATASET, SPDX, bind_prefixes

__all__ = ["DATASET", "Release", "ReleaseFile", "ReleaseShelf", "content_type", "describe",
           "distribution_iri", "list_releases", "read_release"]

log = logging.getLogger(__name__)

DISTRIBUTION = BASE + "dataset/distribution/releases/"
DCAT3 = {name: URIRef(str(DCAT) + name)   # DCAT 3 terms, not in rdflib's closed DCAT namespace
         for name in ("version", "hasVersion", "isVersionOf", "previousVersion")}
IANA = "http://www.iana.org/assignments/media-types/"
RDF_DUMPS = tuple(name for name in DOWNLOAD_FILES if name.startswith("poli-kg"))
"""The files of a release described as its distributions (the dataset in an RDF syntax)."""

MEDIA_TYPES = {
    ".ttl": "text/turtle", ".nt": "application/n-triples", ".nq": "application/n-quads",
    ".trig": "application/trig", ".jsonld": "application/ld+json",
    ".rdf": "application/rdf+xml", ".gz": "application/gzip", ".csv": "text/csv",
    ".json": "application/json", ".md": "text/markdown", ".rdfp": "application/rdf-patch",
}
"""Media types by file suffix (``application/octet-stream`` otherwise)."""
SPECIAL_MEDIA_TYPES = {"SHA256SUMS": "text/plain", ".csv-metadata.json": "application/csvm+json"}
UNICODE_TYPES = {"text/turtle", "application/n-triples", "application/n-quads", "application/trig",
                 "application/rdf+xml", "text/csv", "text/markdown", "text/plain",
                 "application/rdf-patch"}
"""Text formats whose Content-Type names the charset (JSON is UTF-8 by definition)."""

_SEGMENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def media_type(name: str) -> str:
    """The media type of the release file ``name``."""
    for ending, special in SPECIAL_MEDIA_TYPES.items():
        if name.endswith(ending):
            return special
    return MEDIA_TYPES.get(PurePosixPath(name).suffix, "application/octet-stream")


def content_type(name: str) -> str:
    """The Content-Type of the release file ``name`` (``; charset=utf-8`` for text)."""
    media = media_type(name)
    return f"{media}; charset=utf-8" if media in UNICODE_TYPES else media


@dataclass(frozen=True)
class ReleaseFile:
    """One file of a release."""

    name: str        # its path in the release folder, e.g. ``csvw/aderenti.csv``
    path: Path
    size: int
    sha256: str

    @property
    def media_type(self) -> str:
        return media_type(self.name)


@dataclass(frozen=True)
class Release:
    """One release, as its manifest describes it."""

    version: str
    iri: URIRef
    folder: Path
    issued: datetime
    previous: str | None
    info: Mapping[str, Any]                  # the manifest
    files: Mapping[str, ReleaseFile]         # by name; the manifest itself included
    _checks: ChecksumMemo = field(default_factory=lambda: ChecksumMemo("release file"),
                                  compare=False, repr=False)

    @property
    def notes(self) -> Mapping[str, str]:
        """The summary of the changes per language (``adms:versionNotes``), the release's own
        text first when it has one."""
        own = self.info.get("description")
        return {lang: f"{own} {text}" if own else text
                for lang, text in (self.info.get("notes") or {}).items()}

    @property
    def changes(self) -> Mapping[str, Any]:
        """The changes since the previous release: counts, and per graph the listed changes."""
        return self.info.get("changes") or {}

    @property
    def previous_iri(self) -> URIRef | None:
        """The IRI of the previous release."""
        value = self.info.get("previous_iri")
        return URIRef(value) if self.previous and value else None

    @property
    def ontology_version(self) -> str | None:
        """The ``owl:versionIRI`` of the ontology in this release."""
        return (self.info.get("ontology") or {}).get("version_iri")

    def get(self, name: str) -> ReleaseFile | None:
        """The file called ``name`` in the release, or None."""
        return self.files.get(name)

    def intact(self, file: ReleaseFile) -> bool:
        """Whether the file's SHA-256 is the one in the manifest (computed once per file)."""
        return self._checks.intact(file.name, file.path, file.sha256)


def _safe_name(name: Any) -> bool:
    """Whether ``name`` is a relative path of safe segments (no ``..``, no absolute path)."""
    return isinstance(name, str) and all(_SEGMENT.fullmatch(s) for s in name.split("/"))


def _files(folder: Path, listed: Any, manifest: bytes) -> dict[str, ReleaseFile]:
    """The manifest's files that are safe to serve and have the size it says, and the manifest."""
    files = {RELEASE_INFO: ReleaseFile(RELEASE_INFO, folder / RELEASE_INFO, len(manifest),
                                       hashlib.sha256(manifest).hexdigest())}
    for name, entry in (listed.items() if isinstance(listed, dict) else ()):
        path = folder / name if _safe_name(name) else None
        if (path is None or not isinstance(entry, dict) or path.is_symlink()
                or not path.is_file() or path.stat().st_size != entry.get("bytes")):
            log.error("release file %r of %s skipped: unsafe name, missing or wrong size",
                      name, folder)
            continue
        files[name] = ReleaseFile(name, path, entry["bytes"], str(entry.get("sha256")))
    return files


def _issued(value: Any, folder: Path) -> datetime:
    try:
        stamp = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return datetime.fromtimestamp(int((folder / RELEASE_INFO).stat().st_mtime), timezone.utc)
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=timezone.utc)


def read_release(releases_dir: Path | str, version: str) -> Release | None:
    """Release ``version`` of ``releases_dir``, or None if there is none (or it is unreadable)."""
    if not is_version(version) or version not in release_versions(releases_dir):
        return None
    folder = Path(releases_dir) / version
    try:
        manifest = (folder / RELEASE_INFO).read_bytes()
        info = json.loads(manifest)
    except (OSError, ValueError) as exc:
        log.error("release %s: unreadable %s (%s)", folder, RELEASE_INFO, exc)
        return None
    if not isinstance(info, dict) or info.get("version") != version or not info.get("iri"):
        log.error("release %s: %s is not the manifest of %s", folder, RELEASE_INFO, version)
        return None
    previous = info.get("previous")
    return Release(version=version, iri=URIRef(info["iri"]), folder=folder,
                   issued=_issued(info.get("issued"), folder),
                   previous=previous if isinstance(previous, str) else None, info=info,
                   files=_files(folder, info.get("files"), manifest))


def list_releases(releases_dir: Path | str) -> list[Release]:
    """The releases of ``releases_dir``, lowest version first (see :func:`describe`)."""
    releases = (read_release(releases_dir, v) for v in release_versions(releases_dir))
    return [r for r in releases if r is not None]


class ReleaseShelf:
    """The releases of one folder, each read once (a release never changes)."""

    def __init__(self, releases_dir: Path | str) -> None:
        self.folder = Path(releases_dir)
        self._lock = threading.Lock()
        self._read: dict[str, Release] = {}

    def releases(self) -> list[Release]:
        """The releases, lowest version first (new ones are read, removed ones dropped)."""
        versions = release_versions(self.folder)
        with self._lock:
            for version in versions:
                if version not in self._read:
                    release = read_release(self.folder, version)
                    if release is not None:
                        self._read[version] = release
            return [self._read[v] for v in versions if v in self._read]

    def get(self, version: str) -> Release | None:
        """Release ``version``, or None."""
        if not is_version(version):
            return None
        return next((r for r in self.releases() if r.version == version), None)


# --------------------------------------------------------------------------- description

def release_url(root: str, version: str, name: str = "") -> str:
    """The URL of release ``version``'s page (or of its file ``name``) under ``root``."""
    return f"{root}/releases/{version}/{name}"


def distribution_iri(version: str, name: str) -> URIRef:
    """The IRI of the distribution of file ``name`` of release ``version``."""
    return URIRef(f"{DISTRIBUTION}{version}/{name}")


def _describe_file(graph: Graph, release: Release, file: ReleaseFile, root: str) -> None:
    dist = distribution_iri(release.version, file.name)
    graph.add((release.iri, DCAT.distribution, dist))
    graph.add((dist, RDF.type, DCAT.Distribution))
    graph.add((dist, DCTERMS.title, Literal(f"{file.name} (poli-kg {release.version})")))
    url = URIRef(release_url(root, release.version, file.name))
    graph.add((dist, DCAT.accessURL, url))
    graph.add((dist, DCAT.downloadURL, url))
    graph.add((dist, DCAT.mediaType, URIRef(IANA + file.media_type)))
    graph.add((dist, DCAT.byteSize, Literal(file.size, datatype=XSD.nonNegativeInteger)))
    graph.add((dist, DCTERMS.issued, Literal(release.issued.isoformat(), datatype=XSD.dateTime)))
    checksum = BNode(f"sha256-{release.version}-{file.name}")
    graph.add((dist, SPDX.checksum, checksum))
    graph.add((checksum, RDF.type, SPDX.Checksum))
    graph.add((checksum, SPDX.algorithm, SPDX.checksumAlgorithm_sha256))
    graph.add((checksum, SPDX.checksumValue, Literal(file.sha256, datatype=XSD.hexBinary)))


def _describe_release(graph: Graph, release: Release, root: str) -> None:
    iri = release.iri
    graph.add((DATASET, DCAT3["hasVersion"], iri))
    graph.add((iri, RDF.type, DCAT.Dataset))
    graph.add((iri, DCAT3["isVersionOf"], DATASET))
    graph.add((iri, DCAT3["version"], Literal(release.version)))
    for lang in ("it", "en"):
        graph.add((iri, DCTERMS.title, Literal(f"poli-kg {release.version}", lang=lang)))
    graph.add((iri, DCTERMS.issued, Literal(release.issued.isoformat(), datatype=XSD.dateTime)))
    for lang, text in release.notes.items():
        graph.add((iri, ADMS.versionNotes, Literal(text, lang=lang)))
    if release.previous_iri is not None:
        graph.add((iri, DCAT3["previousVersion"], release.previous_iri))
    if release.ontology_version:
        graph.add((iri, DCTERMS.conformsTo, URIRef(release.ontology_version)))
    graph.add((iri, DCAT.landingPage, URIRef(release_url(root, release.version))))
    for name in RDF_DUMPS:
        file = release.get(name)
        if file is not None:
            _describe_file(graph, release, file, root)


def describe(releases: Iterable[Release], root: str) -> Graph:
    """The releases as versions of the dataset, in DCAT 3 (``root``: the service's public
    root, no final slash)."""
    graph = bind_prefixes(Graph())
    for release in releases:
        _describe_release(graph, release, root)
    return graph
