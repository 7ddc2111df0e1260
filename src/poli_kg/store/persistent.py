"""The ``oxigraph:PATH`` backend's folder: a persistent pyoxigraph store outside the build.

:func:`prepare_persistent_store` makes the folder ``PATH`` hold the served build's graph:
loaded from the build's N-Quads once, when the folder does not hold this build yet; a
restart reopens it without loading.  ``PATH/poli-kg-store.json`` (the manifest,
:func:`read_persistent_manifest`) records which build it holds and how many loads there
were.  The build is read through :mod:`poli_kg.buildfolder` only (``build.json`` records
the N-Quads' SHA-256, which saves hashing them).  The store folder it returns is opened by
:class:`poli_kg.store.oxigraph.OxigraphBackend` in each query process.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import re
import shutil
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pyoxigraph as ox

from poli_kg.buildfolder import read_build_info, sha256_of
from poli_kg.store.errors import StoreUnavailable

__all__ = ["NQUADS_FILE", "PERSISTENT_MANIFEST", "prepare_persistent_store",
           "read_persistent_manifest"]

log = logging.getLogger(__name__)

NQUADS_FILE = "poli-kg.nq"
"""The build's N-Quads dump, which is loaded."""
PERSISTENT_MANIFEST = "poli-kg-store.json"
"""The manifest in ``PATH``: which store folder holds which build."""


def _source_digest(info: Mapping[str, Any], source: Path) -> str:
    """SHA-256 of the build's N-Quads: as ``build.json`` records it, else computed."""
    files = info.get("files")
    recorded = files.get(source.name) if isinstance(files, dict) else None
    digest = recorded.get("sha256") if isinstance(recorded, dict) else None
    if isinstance(digest, str) and re.fullmatch(r"[0-9a-f]{64}", digest):
        return digest
    return sha256_of(source)


def read_persistent_manifest(path: str | Path) -> dict[str, Any] | None:
    """The manifest of an ``oxigraph:PATH`` folder (which build it holds, loads), or None."""
    try:
        manifest = json.loads((Path(path) / PERSISTENT_MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if isinstance(manifest, dict) and isinstance(manifest.get("store"), str):
        return manifest
    return None


def _write_json_atomically(path: Path, data: Mapping[str, Any]) -> None:
    """Write JSON to ``path`` through a temporary file and a rename."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def prepare_persistent_store(path: str | Path, build_dir: str | Path) -> Path:
    """Make the folder ``path`` hold the build's graph; return the store folder to open.

    If ``path`` already holds this build (same SHA-256 of ``poli-kg.nq``, as recorded in
    ``PATH/poli-kg-store.json``) the store is reopened as it is: nothing is loaded.
    Otherwise the N-Quads are bulk-loaded into a new folder ``PATH/store-<sha>-<time>``,
    the manifest is switched to it atomically (its ``loads`` counter goes up by one), and
    store folders older than the previous one are deleted (a server still reading the
    previous one keeps working).  Servers starting together on the same ``path`` take
    turns (``PATH/.lock``): the second one reopens what the first loaded.  Without a build
    the store already in ``path`` is reopened; with neither, :class:`StoreUnavailable`.
    Call this before forking (the store is closed again when it returns).
    """
    root = Path(path).expanduser().absolute()
    with _locked(root):
        manifest = read_persistent_manifest(root)
        held = _held_store(root, manifest)
        build = Path(build_dir).resolve()  # one build, even if the symlink is swapped meanwhile
        source = build / NQUADS_FILE
        if not source.is_file():
            if held is None:
                raise StoreUnavailable(f"no store in {root} and no build to load into it "
                                       f"({source} does not exist): build the graph first")
            log.warning("%s does not exist: reopening the store in %s as it is (build %s)",
                        source, root, (manifest or {}).get("source_sha256", "?")[:12])
            return held
        info = read_build_info(build)
        info = info if isinstance(info, dict) else {}
        digest = _source_digest(info, source)
        if manifest and held is not None and manifest.get("source_sha256") == digest:
            log.info("store %s: reopened without loading (holds build %s, loaded %s; %d load%s)",
                     held, digest[:12], manifest.get("loaded_at", "?"),
                     manifest.get("loads", 0), "" if manifest.get("loads", 0) == 1 else "s")
            return held
        return _load(root, manifest, source, info, digest)


@contextmanager
def _locked(root: Path) -> Iterator[None]:
    """Create ``root`` and hold ``root/.lock`` exclusively: servers starting together on the
    same folder take turns."""
    try:
        root.mkdir(parents=True, exist_ok=True)
        lock = open(root / ".lock", "a+b")  # noqa: SIM115 - held until the end
    except OSError as exc:
        raise StoreUnavailable(f"cannot use {root} for the store: {exc.strerror or exc}") from exc
    with lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _held_store(root: Path, manifest: Mapping[str, Any] | None) -> Path | None:
    """The store folder the manifest names, if it exists."""
    current = root / manifest["store"] if manifest else None
    return current if current is not None and current.is_dir() else None


def _load(root: Path, manifest: Mapping[str, Any] | None, source: Path,
          info: Mapping[str, Any], digest: str) -> Path:
    """Load ``source`` into a new store folder of ``root``, switch the manifest to it and
    delete the store folders older than the previous one; return the new folder."""
    name, seconds = _bulk_load(root, source, digest)
    loads = int(manifest.get("loads", 0)) + 1 if manifest else 1
    previous = manifest["store"] if manifest else None
    _write_json_atomically(root / PERSISTENT_MANIFEST, {
        "store": name,
        "source": str(source),
        "source_sha256": digest,
        "inputs_sha256": info.get("inputs_sha256"),
        "triples": info.get("triples"),
        "loaded_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "load_seconds": round(seconds, 3),
        "loads": loads,
        "previous": previous,
    })
    keep = {name, previous or ""}
    for old in root.glob("store-*"):
        if old.name not in keep and old.is_dir():
            shutil.rmtree(old, ignore_errors=True)
    log.info("store %s: loaded build %s in %.2f s (load %d)", root / name, digest[:12],
             seconds, loads)
    return root / name


def _bulk_load(root: Path, source: Path, digest: str) -> tuple[str, float]:
    """Bulk-load ``source`` into ``root/store-<sha>-<time>``; its name and the seconds taken.

    The store is loaded under a ``.loading`` name and renamed when complete (and closed, so
    that no RocksDB handle is forked over).
    """
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    name = f"store-{digest[:16]}-{stamp}"
    loading = root / f"{name}.loading"
    started = time.perf_counter()
    try:
        store = ox.Store(str(loading))
        store.bulk_load(path=str(source), format=ox.RdfFormat.N_QUADS)
        store.flush()
        del store  # closes RocksDB before the folder is renamed and forked over
        os.rename(loading, root / name)
    except (OSError, SyntaxError) as exc:
        shutil.rmtree(loading, ignore_errors=True)
        raise StoreUnavailable(f"cannot load {source} into {root}: {exc}") from exc
    return name, time.perf_counter() - started
