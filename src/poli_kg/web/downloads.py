"""The downloads of the build: an index at ``/downloads/`` and the files at ``/downloads/<name>``.

The downloads are exactly the files named in the build's ``SHA256SUMS`` (the RDF dumps,
the inferred triples and the SHACL report, each also gzipped), served byte for byte as
``poli-kg build`` wrote them.  ``SHA256SUMS`` itself is served too, for ``sha256sum -c``.
No other name is served: the requested name is looked up in that list and never used to
build a path, so ``..``, encoded slashes, absolute paths, ``store/…`` or NUL bytes all
answer 404.

Each file is served with

* its media type (``text/turtle; charset=utf-8`` …, ``application/gzip`` for ``.gz``),
* ``Content-Disposition: attachment; filename=…``,
* ``ETag`` = the SHA-256 of the bytes sent, ``Last-Modified`` = the build time,
  ``Cache-Control: public, max-age=600``,
* conditional GET (``If-None-Match``, ``If-Modified-Since`` → 304), ``HEAD`` and ``Range``,
* gzip transfer: a client sending ``Accept-Encoding: gzip`` for ``poli-kg.ttl`` gets the
  precomputed ``poli-kg.ttl.gz`` bytes with ``Content-Encoding: gzip`` (and its own ETag);
  every file with a ``.gz`` twin answers ``Vary: Accept-Encoding``.

The build folder is the config key ``BUILD_DIR`` (a symlink swapped by each build).  It is
resolved **once** for the whole application — the store's
:class:`~poli_kg.buildfolder.ServedBuild`, when the application starts (or at the first request
that finds a build if nothing was built yet) — and every file is then read from that
resolved folder, so the downloads always belong to the build the queries and pages answer
from, and a rebuild while the server runs changes nothing (restart the server to serve
it; the folder is kept while the server holds it).  When the snapshot is taken each file's
size is checked against ``build.json`` (a million-triple build has a gigabyte of downloads:
hashing them all would delay the server's start by seconds); its SHA-256 is checked against
``SHA256SUMS`` the first time it is served (once per file).  A file that does not match is
not served (404, and logged).

:func:`current_build` gives the snapshot (:class:`BuildFiles`) to the VoID description and
the DCAT catalogue (:mod:`poli_kg.web.catalog`); :func:`public_root` is the absolute root URL
of the service (config ``PUBLIC_URL`` or the request's host).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from flask import (
    Blueprint, Flask, Response, abort, current_app, render_template, request, send_file,
)
from flask.blueprints import BlueprintSetupState
from werkzeug.exceptions import BadRequest, NotAcceptable, ServiceUnavailable

from poli_kg.buildfolder import ServedBuild
from poli_kg.web.base.conneg import negotiate
from poli_kg.store import get_store

__all__ = [
    "bp", "BuildFiles", "BuildUnavailable", "DownloadFile", "FileFormat", "FORMATS", "CONTENTS",
    "CHECKSUMS", "MAX_AGE", "current_build", "load_build", "public_root", "download_url",
]

log = logging.getLogger(__name__)

bp = Blueprint("downloads", __name__, template_folder="templates")

CHECKSUMS = "SHA256SUMS"
BUILD_INFO = "build.json"
MAX_AGE = 600
"""Seconds a client may reuse a download without revalidating it."""
EXTENSION = "poli_kg.web.downloads"

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_SUMS_LINE = re.compile(r"([0-9a-f]{64}) [ *](\S+)")
_CHUNK = 1 << 16

HTML = "text/html"
JSON = "application/json"


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
)}
"""Formats by file extension."""
_OTHER = FileFormat("", "application/octet-stream", "file", False, "BIN", None)

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
        return FORMATS.get(Path(self.name).suffix, _OTHER)

    @property
    def content_format(self) -> FileFormat:
        """The format of the content (the uncompressed bytes)."""
        return FORMATS.get(Path(self.base_name).suffix, _OTHER)

    @property
    def content(self) -> str:
        """What the file holds: ``complete``, ``asserted``, ``inferred``, ``report`` or ``other``."""
        return CONTENTS.get(self.base_name, "other")

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
    _intact: dict[str, bool] = field(default_factory=dict, compare=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, compare=False, repr=False)

    def intact(self, file: DownloadFile) -> bool:
        """Whether the file's SHA-256 is the one in SHA256SUMS (computed once per file)."""
        with self._lock:
            if file.name not in self._intact:
                actual = _sha256(file.path)
                if actual != file.sha256:
                    log.error("download %s not served: SHA-256 %s differs from %s",
                              file.path, actual, file.sha256)
                self._intact[file.name] = actual == file.sha256
            return self._intact[file.name]

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


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


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
    try:
        info: dict[str, Any] = json.loads((folder / BUILD_INFO).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        info = {}
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
    return BuildFiles(folder, _built_at(info, sums_mtime), info, files, folder / CHECKSUMS)


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


@bp.record_once
def _init_state(state: BlueprintSetupState) -> None:
    """Take the snapshot of the application's build when the application is created."""
    init_app(state.app)


def init_app(app: Flask) -> None:
    """Attach the download state to ``app`` and take the snapshot now if the build exists."""
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


def public_root() -> str:
    """Absolute root URL of the service, without a trailing slash.

    Config ``PUBLIC_URL`` when set, else the root the request came to (scheme, host and
    script root).
    """
    public = current_app.config.get("PUBLIC_URL")
    root = public if public else request.url_root
    return str(root).rstrip("/")


def download_url(root: str, name: str) -> str:
    """Absolute URL of the download ``name``."""
    return f"{root}/downloads/{name}"


# ------------------------------------------------------------------------------ routes

LABELS = {
    "it": {
        "title": "Scarica il grafo",
        "intro": "I file della build corrente del grafo, così come «poli-kg build» li ha scritti. "
                 "Ogni file esiste anche compresso con gzip; l'impronta SHA-256 permette di "
                 "verificarne l'integrità.",
        "built": "Build del",
        "version": "versione",
        "file": "File",
        "format": "Formato",
        "content": "Contenuto",
        "size": "Dimensione",
        "checksums": "Tutte le impronte (SHA256SUMS, per sha256sum -c)",
        "metadata": "Metadati",
        "catalog": "Catalogo DCAT-AP_IT",
        "void": "Descrizione VoID",
        "sparql": "Endpoint SPARQL",
        "other_language": "English",
        "bytes": "byte",
    },
    "en": {
        "title": "Download the graph",
        "intro": "The files of the current build of the graph, exactly as “poli-kg build” wrote "
                 "them. Each file also comes gzipped; the SHA-256 digest lets you check its "
                 "integrity.",
        "built": "Built on",
        "version": "version",
        "file": "File",
        "format": "Format",
        "content": "Content",
        "size": "Size",
        "checksums": "All digests (SHA256SUMS, for sha256sum -c)",
        "metadata": "Metadata",
        "catalog": "DCAT-AP_IT catalogue",
        "void": "VoID description",
        "sparql": "SPARQL endpoint",
        "other_language": "Italiano",
        "bytes": "bytes",
    },
}
LANGUAGES = ("it", "en")


def _language() -> str:
    lang = request.args.get("lang", "it")
    return lang if lang in LANGUAGES else "it"


def index_document(build: BuildFiles, root: str) -> dict[str, Any]:
    """The downloads index as a JSON-ready dict."""
    return {
        "built_at": build.built_at.isoformat(),
        "poli_kg_version": build.version,
        "inputs_sha256": build.info.get("inputs_sha256"),
        "checksums": download_url(root, CHECKSUMS),
        "catalog": f"{root}/catalog",
        "void": f"{root}/.well-known/void",
        "files": [
            {
                "name": f.name,
                "url": download_url(root, f.name),
                "bytes": f.size,
                "media_type": f.file_format.media_type,
                "content_type": f.file_format.content_type,
                "format": f.content_format.label,
                "compressed": f.compressed,
                "sha256": f.sha256,
                "content": f.content,
                "description": CONTENT_TEXT[f.content],
            }
            for f in build.files.values()
        ],
    }


def _human_size(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KiB"
    return f"{size / 1024 / 1024:.1f} MiB"


@bp.get("/downloads/")
def index() -> Response:
    """The list of downloads: HTML for browsers, JSON (``Accept`` or ``?format=json``)."""
    build = current_build()
    root = public_root()
    fmt = request.args.get("format")
    if fmt is not None:
        if fmt not in ("html", "json"):
            raise BadRequest("format must be html or json")
        chosen = HTML if fmt == "html" else JSON
    else:
        chosen = negotiate(request.headers.get("Accept"), [HTML, JSON])
        if chosen is None:
            raise NotAcceptable("The downloads index is available as text/html or application/json.")
    doc = index_document(build, root)
    if chosen == JSON:
        response = current_app.response_class(
            json.dumps(doc, indent=2, ensure_ascii=False) + "\n", content_type=JSON)
    else:
        lang = _language()
        rows = [
            {**entry, "size": _human_size(entry["bytes"]),
             "text": entry["description"][lang]}
            for entry in doc["files"]
        ]
        html = render_template("downloads.html", mode="index", lang=lang, t=LABELS[lang],
                               doc=doc, rows=rows, built=build.built_at.strftime("%Y-%m-%d %H:%M UTC"))
        response = current_app.response_class(html, content_type="text/html; charset=utf-8")
    response.vary.add("Accept")
    response.cache_control.public = True
    response.cache_control.max_age = MAX_AGE
    response.add_etag()
    return response.make_conditional(request)


def _accepts_gzip() -> bool:
    """Whether the request's Accept-Encoding allows gzip (q > 0)."""
    return request.accept_encodings["gzip"] > 0


@bp.get("/downloads/<path:name>", merge_slashes=False)
def download(name: str) -> Response:
    """One download (see the module docstring); anything not in SHA256SUMS is 404."""
    build = current_build()
    if name == CHECKSUMS:
        return _send(build.checksums, "text/plain; charset=utf-8", CHECKSUMS,
                     _sha256(build.checksums), build)
    file = build.get(name)
    if file is None:
        abort(404)
    twin = build.gzip_twin(file)
    served = twin if twin is not None and _accepts_gzip() else file
    if not build.intact(served):
        abort(404)
    response = _send(served.path, file.file_format.content_type, file.name, served.sha256, build)
    if served is not file:
        response.headers["Content-Encoding"] = "gzip"
    if twin is not None:
        response.vary.add("Accept-Encoding")
    return response


def _send(path: Path, content_type: str, filename: str, sha256: str,
          build: BuildFiles) -> Response:
    """``path`` as an attachment with validators, caching and Range support."""
    response = send_file(
        path, mimetype=content_type, as_attachment=True, download_name=filename,
        conditional=True, etag=sha256, last_modified=build.built_at, max_age=MAX_AGE,
    )
    response.content_type = content_type
    return response
