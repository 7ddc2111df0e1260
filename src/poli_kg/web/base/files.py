"""The build's files as the web layer serves and describes them: one snapshot per application.

The downloads are exactly the files named in the build's ``SHA256SUMS`` (the RDF dumps,
the inferred triples and the SHACL report, each also gzipped).  Beside them the snapshot
lists the build's two trees of files for harvesters, which ``SHA256SUMS`` does not name:
``csvw/`` (:attr:`BuildFiles.tables`: each statistical table as ``{name}.csv`` with its CSV
on the Web metadata ``{name}.csv-metadata.json``) and ``assets/`` (:attr:`BuildFiles.assets`:
the ontology and the controlled vocabularies laid out for Italy's National Data Catalog,
``.ttl`` and ``.csv``).  They are listed by walking the two folders when the snapshot is
taken: every segment of the path a safe name, no symlink (file or folder), a regular file of a
known type (:func:`format_of`); their SHA-256 is computed then (they are small), so the
catalogue can publish it.  No other name is ever served: a requested name is looked up in
these lists (:meth:`BuildFiles.get`, :attr:`~BuildFiles.tables`, :attr:`~BuildFiles.assets`)
and never used to build a path.  Each listed file is named by its path in the build folder
(``poli-kg.ttl``, ``csvw/aderenti.csv``, ``assets/ontologies/ontology/latest/ontology.ttl``).

The build folder is the config key ``BUILD_DIR`` (a symlink swapped by each build).  It is
resolved **once** for the whole application — the store's
:class:`~poli_kg.buildfolder.ServedBuild`, when the application starts (or at the first request
that finds a build if nothing was built yet) — and every file is then read from that
resolved folder, so the downloads always belong to the build the queries and pages answer
from, and a rebuild while the server runs changes nothing (restart the server to serve
it; the folder is kept while the server holds it).  When the snapshot is taken each file's
size is checked against ``build.json`` (a million-triple build has a gigabyte of downloads:
hashing them all would delay the server's start by seconds); its SHA-256 is checked against
``SHA256SUMS`` the first time it is served (:meth:`BuildFiles.intact`, once per file).  A file
that does not match is not served.

:func:`current_build` gives the snapshot to the downloads, the VoID description and the DCAT
catalogue; :data:`FORMATS` and :data:`CONTENTS` say what each file is and holds,
:attr:`DownloadFile.part` which table or semantic asset a file of the trees belongs to, and
:func:`file_url` where it is served (``/downloads/{name}``; ``/{name}`` for ``assets/…``, the
path its own metadata give under the base IRI).
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath
from typing import Any

from flask import Flask, current_app
from werkzeug.exceptions import ServiceUnavailable

from poli_kg.buildfolder import (
    ASSETS_DIR, CHECKSUMS, CSVW_DIR, ServedBuild, read_build_info, sha256_of, ChecksumMemo,
)
from poli_kg.store.current import get_store

__all__ = [
    "BuildFiles", "BuildUnavailable", "DownloadFile", "FileFormat", "FORMATS", "CONTENTS",
    "CONTENT_TEXT", "CHECKSUMS", "CSVW_METADATA", "MAX_AGE", "current_build", "download_url",
    "file_url", "format_of", "human_size", "init_app", "load_build", "sha256_of",
]

log = logging.getLogger(__name__)

MAX_AGE = 600
"""Seconds a client may reuse a download or a metadata document without revalidating it."""
EXTENSION = "poli_kg.web.base.files"

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_SUMS_LINE = re.compile(r"([0-9a-f]{64}) [ *](\S+)")


@dataclass(frozen=True)
class FileFormat:
    """An RDF syntax (or gzip) as the downloads, VoID and DCAT name it."""

    extension: str        # ".ttl"
    media_type: str       # "text/turtle"
    label: str            # "Turtle"
    charset: bool         # whether Content-Type carries "; charset=utf-8"
    eu_file_type: str     # code in http://publications.europa.eu/resource/authority/file-type/
    w3c_format: str | None  # name in http://www.w3.org/ns/formats/ (None: not an RDF syntax)
    quads: bool = False   # a dataset syntax (named graphs)

    @property
    def content_type(self) -> str:
        """The Content-Type header value."""
        return f"{self.media_type}; charset=utf-8" if self.charset else self.media_type


FORMATS: dict[str, FileFormat] = {f.extension: f for f in (
    FileFormat(".ttl", "text/turtle", "Turtle", True, "RDF_TURTLE", "Turtle"),
    FileFormat(".nt", "application/n-triples", "N-Triples", True, "RDF_N_TRIPLES", "N-Triples"),
    # JSON has no charset parameter (RFC 8259 §11); it is UTF-8 by definition.
    FileFormat(".jsonld", "application/ld+json", "JSON-LD", False, "JSON_LD", "JSON-LD"),
    FileFormat(".rdf", "application/rdf+xml", "RDF/XML", True, "RDF_XML", "RDF_XML"),
    FileFormat(".trig", "application/trig", "TriG", True, "RDF_TRIG", "TriG", quads=True),
    FileFormat(".nq", "application/n-quads", "N-Quads", True, "RDF_N_QUADS", "N-Quads", quads=True),
    FileFormat(".gz", "application/gzip", "gzip", False, "GZIP", None),
    FileFormat(".csv", "text/csv", "CSV", True, "CSV", None),
)}
"""Formats by file extension."""
CSVW_METADATA = FileFormat(".csv-metadata.json", "application/csvm+json", "CSVW", False, "JSON",
                           None)
"""The CSV on the Web metadata of a table (``{name}.csv-metadata.json``, the CSVW default
location beside ``{name}.csv``); JSON, so UTF-8 by definition and no charset parameter."""
_OTHER = FileFormat("", "application/octet-stream", "file", False, "BIN", None)
TREES = {CSVW_DIR: (FORMATS[".csv"], CSVW_METADATA),
         ASSETS_DIR: (FORMATS[".ttl"], FORMATS[".csv"])}
"""The trees of the build listed beside ``SHA256SUMS``, and the formats of the files each holds."""
ASSET_KINDS = {"ontologies": "ontology", "controlled-vocabularies": "vocabulary"}
"""The folders of ``assets/`` (``{folder}/{name}/…``) and the kind of semantic asset in each."""

# What each download holds (by the name of the uncompressed file): a key and it/en text.
CONTENTS: dict[str, str] = {
    "poli-kg.ttl": "asserted", "poli-kg.nt": "asserted", "poli-kg.jsonld": "asserted",
    "poli-kg.rdf": "asserted", "poli-kg.trig": "complete", "poli-kg.nq": "complete",
    "poli-kg-inferred.ttl": "inferred", "validation-report.ttl": "report",
}
CONTENT_TEXT: dict[str, dict[str, str]] = {
    "complete": {
        "it": "Il dataset completo: i quattro grafi con nome (ontologia, dati, provenienza, "
              "triple inferite).",
        "en": "The complete dataset: the four named graphs (ontology, data, provenance, "
              "inferred triples).",
    },
    "asserted": {
        "it": "Le triple asserite (ontologia, dati e provenienza) in un solo grafo, senza le "
              "triple inferite.",
        "en": "The asserted triples (ontology, data and provenance) as one graph, without the "
              "inferred triples.",
    },
    "inferred": {
        "it": "Solo le triple dedotte dal ragionamento OWL 2 RL (il grafo inferito).",
        "en": "Only the triples entailed by OWL 2 RL reasoning (the inferred graph).",
    },
    "report": {
        "it": "Il rapporto di validazione SHACL del grafo (non fa parte del dataset).",
        "en": "The SHACL validation report of the graph (not part of the dataset).",
    },
    "table": {
        "it": "Le osservazioni di una tabella statistica (RDF Data Cube) in CSV, una riga per "
              "osservazione.",
        "en": "The observations of one statistical table (RDF Data Cube) as CSV, one row per "
              "observation.",
    },
    "table-metadata": {
        "it": "I metadati CSV on the Web (CSVW) della tabella: titoli delle colonne in italiano "
              "e in inglese, tipi di dato e come ogni riga torna a essere le triple RDF "
              "dell'osservazione.",
        "en": "The CSV on the Web (CSVW) metadata of the table: column titles in Italian and "
              "English, datatypes, and how each row turns back into the observation's RDF "
              "triples.",
    },
    "ontology": {
        "it": "L'ontologia come asset semantico del Catalogo Nazionale dei Dati (schema.gov.it), "
              "con i metadati ADMS-AP_IT.",
        "en": "The ontology as a semantic asset of Italy's National Data Catalog "
              "(schema.gov.it), with its ADMS-AP_IT metadata.",
    },
    "vocabulary": {
        "it": "Un vocabolario controllato (SKOS) come asset semantico del Catalogo Nazionale "
              "dei Dati (schema.gov.it), con i metadati DCAT-AP_IT.",
        "en": "A controlled vocabulary (SKOS) as a semantic asset of Italy's National Data "
              "Catalog (schema.gov.it), with its DCAT-AP_IT metadata.",
    },
    "vocabulary-table": {
        "it": "I concetti del vocabolario controllato, uno per riga (CSV).",
        "en": "The concepts of the controlled vocabulary, one per row (CSV).",
    },
    "other": {"it": "File della build.", "en": "A file of the build."},
}


class BuildUnavailable(Exception):
    """The build folder (or its SHA256SUMS) cannot be read."""


@dataclass(frozen=True)
class DownloadFile:
    """One file of the build that may be downloaded."""

    name: str
    path: Path
    size: int
    sha256: str

    @property
    def compressed(self) -> bool:
        """Whether this is a gzip file."""
        return self.name.endswith(".gz")

    @property
    def base_name(self) -> str:
        """The name of the uncompressed file (the name itself when not compressed)."""
        return self.name[:-3] if self.compressed else self.name

    @property
    def file_format(self) -> FileFormat:
        """The format of the bytes (gzip for ``.gz``)."""
        return format_of(self.name)

    @property
    def content_format(self) -> FileFormat:
        """The format of the content (the uncompressed bytes)."""
        return format_of(self.base_name)

    @property
    def content(self) -> str:
        """What the file holds: ``complete``, ``asserted``, ``inferred``, ``report``, for a file
        of the trees ``table``, ``table-metadata``, ``ontology``, ``vocabulary`` or
        ``vocabulary-table``, else ``other``."""
        part = self.part
        if part is None:
            return CONTENTS.get(self.base_name, "other")
        kind = part[0]
        if self.content_format is CSVW_METADATA:
            return "table-metadata"
        if kind == "vocabulary" and self.content_format.extension == ".csv":
            return "vocabulary-table"
        return kind

    @property
    def part(self) -> tuple[str, str] | None:
        """``(kind, name)`` of the table or semantic asset a file of the trees belongs to.

        ``("table", "aderenti")`` for ``csvw/aderenti.csv`` and its metadata,
        ``("vocabulary", "aree-tematiche")`` for
        ``assets/controlled-vocabularies/aree-tematiche/…``,
        ``("ontology", "ontology")`` for ``assets/ontologies/ontology/…``; ``name`` is the last
        segment of the table's or asset's IRI.  None for the downloads and anything else.
        """
        parts = self.name.split("/")
        if parts[0] == CSVW_DIR and len(parts) == 2:
            for fmt in TREES[CSVW_DIR]:
                if parts[1].endswith(fmt.extension):
                    return "table", parts[1][: -len(fmt.extension)]
        if parts[0] == ASSETS_DIR and len(parts) >= 4 and parts[1] in ASSET_KINDS:
            return ASSET_KINDS[parts[1]], parts[2]
        return None

    @property
    def version_folder(self) -> str | None:
        """The version folder of an ontology file (``latest``, ``v1.0.0``), else None."""
        parts = self.name.split("/")
        if self.part is not None and self.part[0] == "ontology" and len(parts) == 5:
            return parts[3]
        return None

    @property
    def is_rdf_dump(self) -> bool:
        """Whether the file is (a part of) the dataset in an RDF syntax."""
        return self.content in ("complete", "asserted", "inferred")


@dataclass(frozen=True)
class BuildFiles:
    """A snapshot of one build folder: its downloads and metadata."""

    folder: Path                       # the resolved build folder
    built_at: datetime                 # when the build was written (UTC, whole seconds)
    info: Mapping[str, Any]            # build.json ({} when missing)
    files: dict[str, DownloadFile]     # in SHA256SUMS order
    checksums: Path = field(default=Path())
    tables: dict[str, DownloadFile] = field(default_factory=dict)   # csvw/…, by name
    assets: dict[str, DownloadFile] = field(default_factory=dict)   # assets/…, by name
    _checks: ChecksumMemo = field(default_factory=lambda: ChecksumMemo("download"),
                                  compare=False, repr=False)

    def intact(self, file: DownloadFile) -> bool:
        """Whether the file's SHA-256 is the one in SHA256SUMS (computed once per file)."""
        return self._checks.intact(file.name, file.path, file.sha256)

    def get(self, name: str) -> DownloadFile | None:
        """The download called ``name``, or None."""
        return self.files.get(name)

    def gzip_twin(self, file: DownloadFile) -> DownloadFile | None:
        """The ``.gz`` copy of an uncompressed download, if the build has one."""
        return None if file.compressed else self.files.get(file.name + ".gz")

    @property
    def version(self) -> str | None:
        """The poli-kg version that wrote the build."""
        value = self.info.get("poli_kg_version")
        return str(value) if value else None

    @property
    def key(self) -> tuple[str, str]:
        """Identifies the build (folder name and time), e.g. to key caches."""
        return (self.folder.name, self.built_at.isoformat())


def load_build(build_dir: str | Path) -> BuildFiles:
    """Resolve ``build_dir`` and read its SHA256SUMS and build.json (see the module docstring).

    Files whose name is unsafe, that are missing, are symlinks or whose size differs from
    build.json are left out (and logged); checksums are checked when a file is first served
    (:meth:`BuildFiles.intact`).  Raises :class:`BuildUnavailable` when the
    folder or its SHA256SUMS cannot be read.
    """
    try:
        folder = Path(build_dir).resolve(strict=True)
        sums_text = (folder / CHECKSUMS).read_text(encoding="utf-8")
        sums_mtime = (folder / CHECKSUMS).stat().st_mtime
    except (OSError, UnicodeDecodeError) as exc:
        raise BuildUnavailable(f"{build_dir}: no readable build ({exc})") from None
    info: dict[str, Any] = read_build_info(folder) or {}
    files = _listed_files(folder, sums_text, info)
    return BuildFiles(folder, _built_at(info, sums_mtime), info, files, folder / CHECKSUMS,
                      tables=_tree_files(folder, CSVW_DIR), assets=_tree_files(folder, ASSETS_DIR))


def _listed_files(folder: Path, sums_text: str, info: Mapping[str, Any]) -> dict[str, DownloadFile]:
    """The files SHA256SUMS lists that are safe to serve and have the size build.json says."""
    sizes = {name: entry.get("bytes") for name, entry in info.get("files", {}).items()
             if isinstance(entry, dict)}
    files: dict[str, DownloadFile] = {}
    for line in sums_text.splitlines():
        match = _SUMS_LINE.fullmatch(line.strip())
        if match is None:
            continue
        sha, name = match.groups()
        path = folder / name
        if not _NAME.fullmatch(name) or path.is_symlink() or not path.is_file():
            log.error("download %r of %s skipped: unsafe name, symlink or missing", name, folder)
            continue
        size = path.stat().st_size
        if sizes.get(name, size) != size:
            log.error("download %s skipped: %d bytes, build.json says %s", path, size, sizes[name])
            continue
        files[name] = DownloadFile(name, path, size, sha)
    return files


def _tree_files(folder: Path, tree: str) -> dict[str, DownloadFile]:
    """The files of ``folder/tree`` that are safe to serve, by name, with their SHA-256 now.

    Symlinked folders are not entered (``os.walk`` does not follow them) and neither are
    folders with unsafe names; symlinks, unsafe names and files of other types are skipped.
    """
    top = folder / tree
    if top.is_symlink() or not top.is_dir():
        return {}
    formats = TREES[tree]
    files: dict[str, DownloadFile] = {}
    for here, dirs, names in os.walk(top):
        dirs[:] = [d for d in dirs if _NAME.fullmatch(d)]
        for entry in names:
            path = Path(here, entry)
            name = path.relative_to(folder).as_posix()
            if (not _NAME.fullmatch(entry) or path.is_symlink() or not path.is_file()
                    or format_of(name) not in formats):
                log.error("file %s of %s skipped: unsafe name, symlink or unknown type",
                          name, folder)
                continue
            files[name] = DownloadFile(name, path, path.stat().st_size, sha256_of(path))
    return dict(sorted(files.items()))


def _built_at(info: Mapping[str, Any], fallback: float) -> datetime:
    """The build time from build.json (``built_at``), else the SHA256SUMS mtime."""
    value = info.get("built_at")
    if isinstance(value, str):
        try:
            stamp = datetime.fromisoformat(value)
        except ValueError:
            stamp = None
        if stamp is not None:
            if stamp.tzinfo is None:
                stamp = stamp.replace(tzinfo=timezone.utc)
            return stamp.astimezone(timezone.utc).replace(microsecond=0)
    return datetime.fromtimestamp(int(fallback), timezone.utc)


class _State:
    """Per-application holder of the build snapshot."""

    def __init__(self, build: ServedBuild) -> None:
        self.build = build
        self.lock = threading.Lock()
        self.snapshot: BuildFiles | None = None

    def get(self) -> BuildFiles:
        with self.lock:
            if self.snapshot is None:
                folder = self.build.folder()
                if folder is None:
                    raise BuildUnavailable(f"{self.build.out_dir}: not built yet")
                self.snapshot = load_build(folder)
            return self.snapshot


def init_app(app: Flask) -> None:
    """Attach the snapshot holder to ``app`` and take the snapshot now if the build exists."""
    if EXTENSION in app.extensions:
        return
    holder = _State(get_store(app).build)
    app.extensions[EXTENSION] = holder
    try:
        holder.get()
    except BuildUnavailable as exc:
        log.warning("downloads: %s; will retry at the first request", exc)


def current_build() -> BuildFiles:
    """The current application's build snapshot; 503 when there is no build."""
    holder = current_app.extensions.get(EXTENSION)
    if holder is None:
        init_app(current_app)
        holder = current_app.extensions[EXTENSION]
    try:
        return holder.get()
    except BuildUnavailable as exc:
        log.error("downloads: %s", exc)
        raise ServiceUnavailable("The graph has not been built yet.") from None


def format_of(name: str) -> FileFormat:
    """The format of the file called ``name`` (by its extension)."""
    if name.endswith(CSVW_METADATA.extension):
        return CSVW_METADATA
    return FORMATS.get(PurePosixPath(name).suffix, _OTHER)


def download_url(root: str, name: str) -> str:
    """Absolute URL of the download ``name`` (``root``: the service's root, no final slash)."""
    return f"{root}/downloads/{name}"


def file_url(root: str, file: DownloadFile) -> str:
    """Absolute URL of a listed file: under ``/downloads/``, the semantic assets at ``/assets/…``
    (the base IRI's ``assets/…``, which their own metadata name as their download URLs)."""
    if file.name.startswith(ASSETS_DIR + "/"):
        return f"{root}/{file.name}"
    return download_url(root, file.name)


def human_size(size: int, lang: str) -> str:
    """A file's size for reading: ``812 B``, ``1,5 KiB`` (it) / ``1.5 KiB`` (en), ``2.3 MiB``."""
    if size < 1024:
        return f"{size} B"
    value, unit = size / 1024, "KiB"
    for bigger in ("MiB", "GiB"):
        if value < 1024:
            break
        value, unit = value / 1024, bigger
    text = f"{value:.1f}"
    return f"{text.replace('.', ',') if lang == 'it' else text} {unit}"
