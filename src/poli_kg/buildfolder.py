"""The build folder: its layout, its manifest, its atomic replacement and the holds on it.

This is the one interface between the graph build (:mod:`poli_kg.graph`, which writes a
folder) and its readers (:mod:`poli_kg.store` and the web layer, which serve one): the file
names, ``build.json``, and the locks that let a build replace the published folder while
servers keep answering from the one they started with.  It knows nothing of RDF.

Layout on disk::

    public -> .public-20250101T120000000000Z     (relative symlink)
    .public-20250101T120000000000Z/               current build
    .public-20241231T090000000000Z/               previous build
    .public-20241230T080000000000Z/               older, kept while a server holds it
    .public-lock/                                 flock()ed while building

Each build folder holds the downloads (:data:`DOWNLOAD_FILES`, each with a ``.gz`` copy and a
line in :data:`CHECKSUMS`), the on-disk store (:data:`STORE_DIR`) and the manifest
:data:`BUILD_INFO` (read with :func:`read_build_info`).

A build replaces the published folder under :func:`locked`: :func:`check_replaceable`,
a :func:`new_folder` beside it, :func:`swap` of the symlink, :func:`prune` of the old ones.

A running server answers from one build only: :class:`ServedBuild` resolves the symlink
once and holds the resolved folder with a shared ``flock`` on the folder itself for the
server's lifetime; :func:`prune` deletes a folder only while it holds an exclusive
``flock`` on it (taken with ``LOCK_NB``: a folder a server holds is skipped).

Releases are frozen copies of a build, one folder per semantic version, in a releases
folder beside the output (:func:`releases_dir_for`; ``releases/`` next to ``public/``)::

    releases/1.0.0/       poli-kg.ttl …, SHA256SUMS, build.json, assets/, csvw/ as built,
                          the release notes and the changes since the previous release,
                          and the release manifest (:data:`RELEASE_INFO`)
    releases/.1.1.0-tmp-… a release being written (renamed into place when complete)
    .releases-lock/       flock()ed while a release is written

:func:`version_key` orders versions by Semantic Versioning 2.0.0 precedence and
:func:`release_versions` lists the releases in that order.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import re
import shutil
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

_log = logging.getLogger(__name__)

# Files of a build folder.  The RDF downloads get a .gz copy and a line in SHA256SUMS.
DOWNLOAD_FILES = (
    "poli-kg.ttl", "poli-kg-inferred.ttl", "validation-report.ttl",
    "poli-kg.nt", "poli-kg.jsonld", "poli-kg.rdf", "poli-kg.trig", "poli-kg.nq",
)
BUILD_INFO = "build.json"
STORE_DIR = "store"
ASSETS_DIR = "assets"      # the NDC semantic assets (ontology, controlled vocabularies)
CSVW_DIR = "csvw"          # the statistics as CSV tables with CSV on the Web metadata
CHECKSUMS = "SHA256SUMS"
STAMP_FORMAT = "%Y%m%dT%H%M%S%fZ"   # build folders are named .{name}-{stamp}[-n]
STAMP_RE = r"\d{8}T\d{12}Z(?:-\d+)?"

# Files of a release folder (see the module docstring), beside the build's own files.
RELEASES_DIR = "releases"          # its default name, beside the build output
RELEASE_INFO = "release.json"      # the release manifest: version, date, changes, files
RELEASE_NOTES = "CHANGES.md"       # what changed since the previous release, readable
RELEASE_PATCH = "changes.rdfp"     # the same as an RDF Patch
RELEASE_ADDED = "added.nq"         # the quads added since the previous release
RELEASE_REMOVED = "removed.nq"     # the quads removed since the previous release
CATALOG_FILE = "catalog.ttl"       # a catalogue snapshot, copied when a build folder holds one


class BuildError(Exception):
    """The output folder cannot be used (e.g. it is a non-build directory or a file)."""


# --------------------------------------------------------------------------- the manifest

def sha256_of(path: Path) -> str:
    """The SHA-256 of the file at ``path`` (hex), read in chunks: how a build folder's files
    are checked against ``SHA256SUMS``, ``build.json`` and a release's manifest."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 16):
            digest.update(chunk)
    return digest.hexdigest()


class ChecksumMemo:
    """Which files of a folder match the SHA-256 recorded for them, each hashed once.

    A build or a release never changes, so a file found intact stays intact; a file that
    does not match is logged once and never served.
    """

    def __init__(self, what: str) -> None:
        self.what = what                   # how the log names the files ("download", …)
        self._lock = threading.Lock()
        self._intact: dict[str, bool] = {}

    def intact(self, name: str, path: Path, sha256: str) -> bool:
        """Whether the file ``name`` at ``path`` has the SHA-256 ``sha256``."""
        with self._lock:
            if name not in self._intact:
                actual = sha256_of(path)
                if actual != sha256:
                    _log.error("%s %s not served: SHA-256 %s differs from %s",
                               self.what, path, actual, sha256)
                self._intact[name] = actual == sha256
            return self._intact[name]


def read_build_info(out_dir: Path | str) -> dict | None:
    """``out_dir/build.json`` as a dict, or None when missing or unreadable."""
    try:
        return json.loads((Path(out_dir) / BUILD_INFO).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


# --------------------------------------------------------------------------- atomic swap

def split_out_dir(out_dir: Path | str) -> tuple[Path, str]:
    """``(parent, name)`` of the output folder ``out_dir``, the parent made absolute."""
    out_dir = Path(out_dir)
    parent = Path(os.path.abspath(out_dir.parent))
    if not out_dir.name or out_dir.name in (".", ".."):
        raise BuildError(f"{out_dir}: not a usable output folder name")
    return parent, out_dir.name


@contextmanager
def locked(parent: Path, name: str) -> Iterator[None]:
    """Hold an exclusive flock on ``.{name}-lock`` (one build per output folder at a time)."""
    parent.mkdir(parents=True, exist_ok=True)
    lock_dir = parent / f".{name}-lock"
    lock_dir.mkdir(exist_ok=True)
    fd = os.open(lock_dir, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def check_replaceable(out: Path) -> None:
    """Refuse to replace something that is not a previous build (or an empty folder)."""
    if out.is_symlink():
        return
    if out.is_dir():
        if (out / BUILD_INFO).exists() or not any(out.iterdir()):
            return
        raise BuildError(f"{out} exists and is not a poli-kg build (no {BUILD_INFO}); "
                         "move it away or choose another --out")
    if out.exists():
        raise BuildError(f"{out} exists and is not a folder")


def new_folder(parent: Path, name: str) -> Path:
    """A fresh, unused build folder path beside ``parent/name``, named by the time now."""
    return _unique(parent, name, datetime.now(timezone.utc).strftime(STAMP_FORMAT))


def _unique(parent: Path, name: str, stamp: str) -> Path:
    candidate = parent / f".{name}-{stamp}"
    n = 1
    while candidate.exists() or candidate.is_symlink():
        candidate = parent / f".{name}-{stamp}-{n}"
        n += 1
    return candidate


def swap(parent: Path, name: str, target: Path) -> None:
    """Point ``parent/name`` at ``target`` atomically (first time: migrate a real folder)."""
    out = parent / name
    link = parent / f".{name}-link-{os.getpid()}-{time.monotonic_ns()}"
    os.symlink(target.name, link)
    try:
        if out.is_dir() and not out.is_symlink():
            if any(out.iterdir()):
                mtime = datetime.fromtimestamp((out / BUILD_INFO).stat().st_mtime, timezone.utc)
                os.rename(out, _unique(parent, name, mtime.strftime(STAMP_FORMAT)))
            else:
                out.rmdir()
        os.replace(link, out)
    finally:
        if link.is_symlink():
            link.unlink()


def prune(parent: Path, name: str, keep: int = 2) -> None:
    """Delete stale temporary folders and all build folders but the newest ``keep``.

    Called with the lock held, so every temporary folder found is a leftover.
    """
    out = parent / name
    current = Path(os.readlink(out)).name if out.is_symlink() else None
    builds = re.compile(rf"\.{re.escape(name)}-({STAMP_RE})")
    leftovers = re.compile(rf"\.{re.escape(name)}-(tmp|link)-.*")
    found = []
    for entry in parent.iterdir():
        if leftovers.fullmatch(entry.name):
            _remove(entry)
        elif builds.fullmatch(entry.name) and entry.is_dir() and not entry.is_symlink():
            found.append(entry)
    found.sort(key=lambda p: p.name, reverse=True)
    for old in found[keep:]:
        if old.name != current:
            _remove_unless_served(old)


def _remove_unless_served(folder: Path) -> None:
    """Delete a build folder unless a server holds it (see :class:`ServedBuild`).

    The exclusive lock is held while deleting, so a server starting meanwhile waits for it
    and then finds the folder gone (and resolves the symlink again).
    """
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return  # a running server answers from it: kept until it stops
    else:
        _remove(folder)
    finally:
        os.close(fd)


def _remove(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink(missing_ok=True)
    else:
        shutil.rmtree(path, ignore_errors=True)


# --------------------------------------------------------------------------- servers

class ServedBuild:
    """The one build folder a running server answers from.

    ``out_dir`` (the symlink :func:`build` swaps) is resolved once: when this object is
    made, or, if nothing is built yet, by the first :meth:`folder` call that finds a build.
    From then on :meth:`folder` always returns that folder, whatever later builds do to the
    symlink, and the folder is held with a shared ``flock`` (on the folder itself, nothing
    is written into it) until :meth:`close` or garbage collection, so :func:`prune` of
    later builds keeps it.  Forked processes share the lock.
    """

    def __init__(self, out_dir: Path | str) -> None:
        self.out_dir = Path(out_dir)
        self._lock = threading.Lock()
        self._folder: Path | None = None
        self._release: weakref.finalize | None = None
        self.folder()

    def folder(self) -> Path | None:
        """The resolved build folder, or None while ``out_dir`` does not exist."""
        with self._lock:
            if self._folder is None:
                held = _hold(self.out_dir)
                if held is not None:
                    self._folder, fd = held
                    self._release = weakref.finalize(self, os.close, fd)
            return self._folder

    def close(self) -> None:
        """Release the lock (the folder keeps being returned)."""
        if self._release is not None:
            self._release()


def _hold(out_dir: Path, attempts: int = 5) -> tuple[Path, int] | None:
    """``(folder, fd)``: ``out_dir`` resolved and locked shared, or None if it does not exist.

    A folder deleted by a concurrent prune between resolving and locking is detected (it is
    gone, or no longer the folder at that path) and the symlink is resolved again.
    """
    for _ in range(attempts):
        try:
            folder = out_dir.resolve(strict=True)
            fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        except FileNotFoundError:
            continue  # not built yet, or pruned right after resolving: look again
        except OSError:
            return None
        fcntl.flock(fd, fcntl.LOCK_SH)
        try:
            now = os.stat(folder)
        except OSError:
            now = None
        held = os.fstat(fd)
        if now is not None and (now.st_dev, now.st_ino) == (held.st_dev, held.st_ino):
            return folder, fd
        os.close(fd)
    return None


# --------------------------------------------------------------------------- releases

_IDENTIFIER = r"(?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*)"
VERSION_RE = re.compile(
    rf"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-({_IDENTIFIER}(?:\.{_IDENTIFIER})*))?")
"""A release version: ``MAJOR.MINOR.PATCH`` with an optional pre-release (``1.0.0-rc.1``).

Semantic Versioning 2.0.0 without build metadata (``+…``): two versions that differ only
there would have the same precedence, and ``+`` reads as a space in a query string."""
MAX_VERSION_LENGTH = 64


def is_version(text: str) -> bool:
    """Whether ``text`` is a release version (see :data:`VERSION_RE`)."""
    return len(text) <= MAX_VERSION_LENGTH and VERSION_RE.fullmatch(text) is not None


def version_key(version: str) -> tuple:
    """A sort key giving Semantic Versioning precedence (``1.0.0-rc.1 < 1.0.0 < 1.0.1``).

    Raises ``ValueError`` when ``version`` is not a release version.
    """
    match = VERSION_RE.fullmatch(version) if len(version) <= MAX_VERSION_LENGTH else None
    if match is None:
        raise ValueError(f"{version!r} is not a version MAJOR.MINOR.PATCH[-PRERELEASE] "
                         "(Semantic Versioning 2.0.0, e.g. 1.2.0 or 1.2.0-rc.1)")
    major, minor, patch, pre = match.groups()
    if pre is None:
        return (int(major), int(minor), int(patch), 1, ())
    # numeric identifiers sort numerically and before alphanumeric ones (SemVer §11)
    ids = tuple((0, int(i), "") if i.isdigit() else (1, 0, i) for i in pre.split("."))
    return (int(major), int(minor), int(patch), 0, ids)


def releases_dir_for(out_dir: Path | str, releases: Path | str | None = None) -> Path:
    """The releases folder: ``releases`` if given, else :data:`RELEASES_DIR` beside ``out_dir``."""
    if releases is not None:
        return Path(releases)
    return Path(out_dir).parent / RELEASES_DIR


def release_versions(releases_dir: Path | str) -> list[str]:
    """The versions released in ``releases_dir``, lowest first.

    A release is a real folder (not a symlink) named by its version and holding its
    manifest; anything else (a release being written, a stray file) is not listed.
    """
    try:
        entries = list(os.scandir(releases_dir))
    except OSError:
        return []
    found = [e.name for e in entries
             if is_version(e.name) and e.is_dir(follow_symlinks=False)
             and os.path.isfile(os.path.join(e.path, RELEASE_INFO))]
    return sorted(found, key=version_key)

