"""The downloads of the build: an index at ``/downloads/`` and the files at ``/downloads/<name>``.

The files are those of the build snapshot (:mod:`poli_kg.web.base.files`: exactly the names
in ``SHA256SUMS``, each checked against its digest the first time it is served), sent byte
for byte as ``poli-kg build`` wrote them; ``SHA256SUMS`` itself is served too, for
``sha256sum -c``.  A requested name is only looked up in that list, never used to build a
path, so ``..``, encoded slashes, absolute paths, ``store/…`` or NUL bytes all answer 404.

Each file is served with

* its media type (``text/turtle; charset=utf-8`` …, ``application/gzip`` for ``.gz``),
* ``Content-Disposition: attachment; filename=…``,
* ``ETag`` = the SHA-256 of the bytes sent, ``Last-Modified`` = the build time,
  ``Cache-Control: public, max-age=600``,
* conditional GET (``If-None-Match``, ``If-Modified-Since`` → 304), ``HEAD`` and ``Range``,
  all by Werkzeug's :func:`~flask.send_file` (``conditional=True``; bench/downloads.py
  measured it against hand-written conditional code),
* gzip transfer: a client sending ``Accept-Encoding: gzip`` for ``poli-kg.ttl`` gets the
  precomputed ``poli-kg.ttl.gz`` bytes with ``Content-Encoding: gzip`` (and its own ETag);
  every file with a ``.gz`` twin answers ``Vary: Accept-Encoding``.  Werkzeug has no
  choice between precompressed variants, so this one is made here.

The index is HTML for browsers (``?lang=it|en``, Italian by default) or JSON (``Accept`` or
``?format=json``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, abort, current_app, render_template, request, send_file
from flask.blueprints import BlueprintSetupState
from werkzeug.exceptions import BadRequest, NotAcceptable

from poli_kg.web.base import files
from poli_kg.web.base.conneg import negotiate
from poli_kg.web.base.files import (
    CHECKSUMS, CONTENT_TEXT, MAX_AGE, BuildFiles, current_build, download_url, sha256_of,
)
from poli_kg.web.base.site import DEFAULT_LANGUAGE, explicit_language, public_root

__all__ = ["bp", "index_document"]

bp = Blueprint("downloads", __name__, template_folder="templates")

HTML = "text/html"
JSON = "application/json"

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


@bp.record_once
def _init_state(state: BlueprintSetupState) -> None:
    """Take the snapshot of the application's build when the application is created."""
    files.init_app(state.app)


def index_document(build: BuildFiles, root: str) -> dict[str, Any]:
    """The downloads index as a JSON-ready dict (``root``: the service's root, no final slash)."""
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


def _index_format() -> str:
    """HTML or JSON: ``?format=`` over ``Accept``."""
    fmt = request.args.get("format")
    if fmt is not None:
        if fmt not in ("html", "json"):
            raise BadRequest("format must be html or json")
        return HTML if fmt == "html" else JSON
    chosen = negotiate(request.headers.get("Accept"), [HTML, JSON])
    if chosen is None:
        raise NotAcceptable("The downloads index is available as text/html or application/json.")
    return chosen


def _index_page(build: BuildFiles, doc: dict[str, Any]) -> str:
    lang = explicit_language() or DEFAULT_LANGUAGE
    rows = [{**entry, "size": _human_size(entry["bytes"]), "text": entry["description"][lang]}
            for entry in doc["files"]]
    return render_template("downloads.html", lang=lang, t=LABELS[lang], doc=doc, rows=rows,
                           built=build.built_at.strftime("%Y-%m-%d %H:%M UTC"))


@bp.get("/downloads/")
def index() -> Response:
    """The list of downloads: HTML for browsers, JSON (``Accept`` or ``?format=json``)."""
    build = current_build()
    chosen = _index_format()
    doc = index_document(build, public_root().rstrip("/"))
    if chosen == JSON:
        response = current_app.response_class(
            json.dumps(doc, indent=2, ensure_ascii=False) + "\n", content_type=JSON)
    else:
        response = current_app.response_class(_index_page(build, doc),
                                               content_type="text/html; charset=utf-8")
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
                     sha256_of(build.checksums), build)
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
    """``path`` as an attachment with validators, caching, conditional GET, HEAD and Range."""
    response = send_file(
        path, mimetype=content_type, as_attachment=True, download_name=filename,
        conditional=True, etag=sha256, last_modified=build.built_at, max_age=MAX_AGE,
    )
    # Werkzeug appends its own "; charset=utf-8" to a text/* mimetype that already has one.
    response.content_type = content_type
    return response
