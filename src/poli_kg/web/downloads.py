"""The downloads of the build: an index at ``/downloads/``, the files at ``/downloads/<name>``,
the semantic assets at ``/assets/<path>``.

The files are those of the build snapshot (:mod:`poli_kg.web.base.files`: exactly the names
in ``SHA256SUMS``, each checked against its digest the first time it is served), sent byte
for byte as ``poli-kg build`` wrote them; ``SHA256SUMS`` itself is served too, for
``sha256sum -c``.  So are the files the snapshot lists in the build's two trees for
harvesters: the statistical tables at ``/downloads/csvw/{name}.csv`` and their CSV on the Web
metadata at ``/downloads/csvw/{name}.csv-metadata.json`` (``application/csvm+json``; the CSV
answers ``Link: <{name}.csv-metadata.json>; rel="describedby"``, CSVW §5.2, relative so that
it holds behind any proxy), and the ontology and controlled vocabularies for Italy's National
Data Catalog at ``/assets/{path}`` (the base IRI's ``assets/{path}``, the download URL their
own metadata give).  A requested name is only looked up in those lists, never used to build a
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
  choice between precompressed variants, so this one is made here.  (The tables and the
  assets have no ``.gz`` twins: they are small.)

The index is HTML for browsers or JSON (``Accept`` or ``?format=json``); beside the
downloads (``files``) it lists the ``tables`` and the ``assets``, each file with the IRI and
the titles of the table or asset it belongs to.  The HTML page (in the language of the
request: ``?lang=it|en``, else ``Accept-Language``) groups them the way people choose: the
whole graph in Turtle first (:data:`FEATURED`), then each graph in each format
(:data:`GRAPHS`), then the tables and the assets, every file with its size and SHA-256.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import Any

from flask import Blueprint, Response, abort, current_app, render_template, request, send_file
from flask.blueprints import BlueprintSetupState
from werkzeug.exceptions import BadRequest, NotAcceptable, ServiceUnavailable

from poli_kg.buildfolder import ASSETS_DIR
from poli_kg.web.base import files
from poli_kg.web.base.compression import accepts_gzip
from poli_kg.web.base.conneg import add_vary, negotiate
from poli_kg.web.base.dataset import statistics
from poli_kg.web.base.dataset_statistics import Part
from poli_kg.web.base.dataset_terms import CONTENT_TITLE
from poli_kg.web.base.files import (
    CHECKSUMS, CONTENT_TEXT, CSVW_METADATA, FORMATS, MAX_AGE, BuildFiles, DownloadFile,
    current_build, download_url, file_url, human_size, sha256_of,
)
from poli_kg.web.base.pages import page_context
from poli_kg.web.base.site import language, public_root

__all__ = ["bp", "index_document"]

bp = Blueprint("downloads", __name__, template_folder="templates")
log = logging.getLogger(__name__)

HTML = "text/html"
JSON = "application/json"
FEATURED = ("poli-kg.ttl", "poli-kg.ttl.gz")
"""The downloads the page shows first: the whole graph in Turtle (and its gzip copy)."""
GRAPHS = ("complete", "asserted", "inferred")
"""The graphs the downloads hold, in the order the page groups them."""

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
        "whole": "Il grafo intero in Turtle",
        "whole_intro": "Ontologia, dati e provenienza in un solo file Turtle, leggibile da ogni "
                       "strumento RDF: il file da cui partire. Le triple inferite sono a parte, "
                       "qui sotto.",
        "by_graph": "Per grafo e per formato",
        "by_graph_intro": "Ogni grafo in ogni sintassi RDF, anche compresso con gzip.",
        "others": "Altri file",
        "files_of": "File: {title}",
        "releases": "Versioni pubblicate, immutabili e da citare",
        "tables": "Tabelle statistiche (CSV on the Web)",
        "tables_intro": "Ogni insieme di osservazioni RDF Data Cube anche come tabella CSV, da "
                        "aprire con un foglio di calcolo, con i metadati CSV on the Web (CSVW) "
                        "che ne descrivono le colonne e la riportano alle stesse triple RDF.",
        "assets": "Ontologia e vocabolari controllati",
        "assets_intro": "Gli asset semantici come li raccoglie il Catalogo Nazionale dei Dati "
                        "(schema.gov.it): l'ontologia e ogni vocabolario controllato in Turtle, "
                        "con i metadati ADMS-AP_IT / DCAT-AP_IT, e i concetti in CSV.",
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
        "whole": "The whole graph in Turtle",
        "whole_intro": "Ontology, data and provenance in one Turtle file, which every RDF tool "
                       "reads: the file to start with. The inferred triples come apart, below.",
        "by_graph": "By graph and by format",
        "by_graph_intro": "Each graph in each RDF syntax, also gzip-compressed.",
        "others": "Other files",
        "files_of": "Files: {title}",
        "releases": "Published releases, immutable and citable",
        "tables": "Statistical tables (CSV on the Web)",
        "tables_intro": "Each set of RDF Data Cube observations also as a CSV table, to open "
                        "in a spreadsheet, with the CSV on the Web (CSVW) metadata that describe "
                        "its columns and turn it back into the same RDF triples.",
        "assets": "Ontology and controlled vocabularies",
        "assets_intro": "The semantic assets as Italy's National Data Catalog (schema.gov.it) "
                        "harvests them: the ontology and each controlled vocabulary in Turtle, "
                        "with their ADMS-AP_IT / DCAT-AP_IT metadata, and the concepts as CSV.",
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


def index_document(build: BuildFiles, root: str,
                   parts: Mapping[tuple[str, str], Part] | None = None) -> dict[str, Any]:
    """The downloads index as a JSON-ready dict (``root``: the service's root, no final slash;
    ``parts``: the tables and assets of the graph by ``(kind, name)``, which name the files)."""
    parts = parts or {}
    return {
        "built_at": build.built_at.isoformat(),
        "poli_kg_version": build.version,
        "inputs_sha256": build.info.get("inputs_sha256"),
        "checksums": download_url(root, CHECKSUMS),
        "catalog": f"{root}/catalog",
        "void": f"{root}/.well-known/void",
        "files": [_entry(root, f) for f in build.files.values()],
        "tables": [_entry(root, f, parts) for f in build.tables.values()],
        "assets": [_entry(root, f, parts) for f in build.assets.values()],
    }


def _entry(root: str, file: DownloadFile,
           parts: Mapping[tuple[str, str], Part] | None = None) -> dict[str, Any]:
    """One file of the index; a file of the trees also names its table or asset."""
    entry = {
        "name": file.name,
        "url": file_url(root, file),
        "bytes": file.size,
        "media_type": file.file_format.media_type,
        "content_type": file.file_format.content_type,
        "format": file.content_format.label,
        "compressed": file.compressed,
        "sha256": file.sha256,
        "content": file.content,
        "description": CONTENT_TEXT[file.content],
    }
    part = (parts or {}).get(file.part) if file.part is not None else None
    if part is not None:
        entry |= {"dataset": part.iri, "title": dict(part.titles)}
    return entry


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


def _rows(entries: list[dict[str, Any]], lang: str) -> list[dict[str, Any]]:
    """The index entries as rows of the page, in ``lang``."""
    return [{**entry, "size": human_size(entry["bytes"], lang), "text": entry["description"][lang],
             "title": entry.get("title", {}).get(lang)}
            for entry in entries]


def _by_graph(rows: list[dict[str, Any]], lang: str) -> list[dict[str, Any]]:
    """The downloads grouped by the graph they hold (:data:`GRAPHS` first, in that order, then
    any other content), each group's files by format, the gzip copy after its file."""
    order = {fmt.label: n for n, fmt in enumerate(FORMATS.values())}
    contents = [*GRAPHS, *sorted({r["content"] for r in rows} - set(GRAPHS))]
    groups = []
    for content in contents:
        listed = sorted((r for r in rows if r["content"] == content),
                        key=lambda r: (order.get(r["format"], len(order)), r["compressed"]))
        if listed:
            title = CONTENT_TITLE.get(content, {}).get(lang) or LABELS[lang]["others"]
            groups.append({"content": content, "title": title,
                           "text": CONTENT_TEXT[content][lang], "rows": listed})
    return groups


def _index_page(build: BuildFiles, doc: dict[str, Any], lang: str) -> str:
    rows = _rows(doc["files"], lang)
    return render_template("downloads.html", tr=LABELS[lang], doc=doc, rows=rows,
                           featured=[r for r in rows if r["name"] in FEATURED],
                           groups=_by_graph(rows, lang), tables=_rows(doc["tables"], lang),
                           assets=_rows(doc["assets"], lang),
                           built=build.built_at.strftime("%Y-%m-%d %H:%M UTC"),
                           built_iso=build.built_at.isoformat(),
                           releases=f"{request.script_root}/releases/"
                           if "releases" in current_app.blueprints else None,
                           **page_context(lang))


def _parts(build: BuildFiles) -> dict[tuple[str, str], Part]:
    """The tables and assets of the graph by ``(kind, name)``, which title the files of the
    trees; none when there are no such files, or when the store does not answer (the files
    are listed all the same, by name: the index never waits on the store)."""
    if not build.tables and not build.assets:
        return {}
    try:
        parts = statistics(build).parts
    except ServiceUnavailable as exc:
        log.error("downloads index without titles: %s", exc.description)
        return {}
    return {(part.kind, part.name): part for part in parts}


@bp.get("/downloads/")
def index() -> Response:
    """The list of downloads: HTML for browsers, JSON (``Accept`` or ``?format=json``)."""
    build = current_build()
    chosen = _index_format()
    doc = index_document(build, public_root().rstrip("/"), _parts(build))
    if chosen == JSON:
        response = current_app.response_class(
            json.dumps(doc, indent=2, ensure_ascii=False) + "\n", content_type=JSON)
    else:
        lang = language()
        response = current_app.response_class(_index_page(build, doc, lang),
                                               content_type="text/html; charset=utf-8")
        response.headers["Content-Language"] = lang
        if "lang" not in request.args:
            add_vary(response, "Accept-Language")
    add_vary(response, "Accept")
    response.cache_control.public = True
    response.cache_control.max_age = MAX_AGE
    response.add_etag()
    return response.make_conditional(request)


@bp.get("/downloads/<path:name>", merge_slashes=False)
def download(name: str) -> Response:
    """One download (see the module docstring); anything not in SHA256SUMS nor among the
    tables is 404."""
    build = current_build()
    if name == CHECKSUMS:
        return _send(build.checksums, "text/plain; charset=utf-8", CHECKSUMS,
                     sha256_of(build.checksums), build)
    table = build.tables.get(name)
    if table is not None:
        return _send_tree_file(table, build)
    file = build.get(name)
    if file is None:
        abort(404)
    twin = build.gzip_twin(file)
    served = twin if twin is not None and accepts_gzip() else file
    if not build.intact(served):
        abort(404)
    response = _send(served.path, file.file_format.content_type, file.name, served.sha256, build)
    if served is not file:
        response.headers["Content-Encoding"] = "gzip"
    if twin is not None:
        add_vary(response, "Accept-Encoding")
    return response


@bp.get("/assets/<path:path>", merge_slashes=False)
def asset(path: str) -> Response:
    """One file of the semantic assets (see the module docstring); anything not listed is 404."""
    build = current_build()
    file = build.assets.get(f"{ASSETS_DIR}/{path}")
    if file is None:
        abort(404)
    return _send_tree_file(file, build)


def _send_tree_file(file: DownloadFile, build: BuildFiles) -> Response:
    """A listed table or asset file; a table's CSV links its CSVW metadata."""
    if not build.intact(file):
        abort(404)
    response = _send(file.path, file.file_format.content_type, PurePosixPath(file.name).name,
                     file.sha256, build)
    metadata = (build.tables.get(file.name.removesuffix(".csv") + CSVW_METADATA.extension)
                if file.content == "table" else None)
    if metadata is not None:
        response.headers["Link"] = (f'<{PurePosixPath(metadata.name).name}>; rel="describedby"; '
                                    f'type="{CSVW_METADATA.media_type}"')
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
