"""The releases (blueprint :data:`bp`): the list at ``/releases/``, each release's page at
``/releases/X.Y.Z/`` and its files at ``/releases/X.Y.Z/<file>``.

The list and the release pages are HTML for browsers, or RDF: the releases as versions of
the dataset in DCAT 3 (:func:`poli_kg.store.releases.describe`), by content negotiation
(``Accept``, or ``?format=html|ttl|jsonld|nt|rdf``), cached for five minutes with an ETag.
A release's page shows its release notes: the changes since the previous release per named
graph, with labels, and the patch files.

A release's files never change, so each is served with ``Cache-Control: public,
max-age=31536000, immutable``, ``ETag`` = its SHA-256 from the release manifest (checked
against the bytes the first time the file is served), ``Last-Modified`` = the release date,
conditional GET, ``HEAD`` and ``Range`` (Werkzeug's :func:`~flask.send_file`).  A version or
a file name is only looked up among the releases and the names their manifests list
(:class:`~poli_kg.store.releases.ReleaseShelf`), never used to build a path: anything else
answers 404.

The releases folder is the config key ``RELEASES_DIR``, by default ``releases/`` beside
``BUILD_DIR`` (where ``poli-kg release`` writes them).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any

from flask import (
    Blueprint, Response, abort, current_app, make_response, render_template, request, send_file,
)
from flask.blueprints import BlueprintSetupState
from rdflib import Graph, URIRef
from werkzeug.exceptions import BadRequest, NotAcceptable

from poli_kg.buildfolder import (
    RELEASE_ADDED, RELEASE_INFO, RELEASE_NOTES, RELEASE_PATCH, RELEASE_REMOVED, releases_dir_for,
)
from poli_kg.store.releases import Release, ReleaseShelf, content_type, describe
from poli_kg.web.base.conneg import add_vary
from poli_kg.web.base.formats import BY_EXT, RDF_FORMATS, choose_format, rdf_body
from poli_kg.web.base.pages import page_context
from poli_kg.web.base.site import href_for, language, page_url, public_root

__all__ = ["IMMUTABLE", "bp", "shelf"]

bp = Blueprint("releases", __name__, template_folder="templates")

EXTENSION = "poli_kg.web.releases"
IMMUTABLE_AGE = 31_536_000
IMMUTABLE = f"public, max-age={IMMUTABLE_AGE}, immutable"
"""The Cache-Control of a release's files: a year, and RFC 8246 ``immutable``."""
PAGE_MAX_AGE = 300
PATCH_FILES = (RELEASE_NOTES, RELEASE_PATCH, RELEASE_ADDED, RELEASE_REMOVED, RELEASE_INFO)

TEXT = {
    "it": {
        "title": "Versioni", "release": "Versione",
        "intro": "Ogni versione è una copia immutabile del grafo così com'era quando è stata "
                 "pubblicata: i dump, le impronte SHA-256, i metadati della build, gli asset "
                 "semantici e le tabelle CSVW. Citate una versione per riferirvi a quei dati.",
        "live": "I dati correnti", "none": "Nessuna versione pubblicata.",
        "issued": "Pubblicata", "previous": "Versione precedente", "notes": "Note",
        "ontology": "Versione dell'ontologia", "files": "File", "size": "Dimensione",
        "changes": "Modifiche rispetto alla versione precedente", "contents": "Contenuto",
        "graph": "Grafo", "added": "aggiunte", "removed": "rimosse",
        "added_one": "aggiunta", "removed_one": "rimossa",
        "more": "altre modifiche in questo grafo: vedi la patch",
        "patch": "Le modifiche complete", "formats": "In RDF", "all": "Tutte le versioni",
    },
    "en": {
        "title": "Releases", "release": "Release",
        "intro": "Each release is an immutable copy of the graph as it was when it was "
                 "published: the dumps, the SHA-256 digests, the build's metadata, the "
                 "semantic assets and the CSVW tables. Cite a release to refer to that data.",
        "live": "The live data", "none": "No release yet.",
        "issued": "Released", "previous": "Previous release", "notes": "Notes",
        "ontology": "Ontology version", "files": "Files", "size": "Size",
        "changes": "Changes since the previous release", "contents": "Contents",
        "graph": "Graph", "added": "added", "removed": "removed",
        "added_one": "added", "removed_one": "removed",
        "more": "more changes in this graph: see the patch",
        "patch": "Every change", "formats": "As RDF", "all": "All releases",
    },
}


@bp.record_once
def _init_shelf(state: BlueprintSetupState) -> None:
    """Open the application's releases folder (``RELEASES_DIR``, or beside ``BUILD_DIR``)."""
    config = state.app.config
    folder = releases_dir_for(config.get("BUILD_DIR", "public"), config.get("RELEASES_DIR"))
    state.app.extensions[EXTENSION] = ReleaseShelf(Path(folder).absolute())


def shelf() -> ReleaseShelf:
    """The current application's releases."""
    return current_app.extensions[EXTENSION]


def _root() -> str:
    return public_root().rstrip("/")


def _respond(rdf: Callable[[], Graph], html: Callable[[str], str],
             primary: URIRef | None = None) -> Response:
    """HTML or RDF as negotiated (``?format=`` over ``Accept``), cacheable and conditional."""
    ext = request.args.get("format")
    if ext is not None and ext not in BY_EXT:
        raise BadRequest("format must be one of: " + ", ".join(BY_EXT))
    fmt = choose_format(ext)
    if fmt is None:
        raise NotAcceptable("Available as " + ", ".join(f.media_type for f in BY_EXT.values()))
    if fmt.is_rdf:
        charset = "; charset=utf-8" if fmt.ext in ("ttl", "nt") else ""
        response = Response(rdf_body(rdf(), fmt, primary), content_type=fmt.media_type + charset)
    else:
        lang = language()
        response = make_response(html(lang))
        response.headers["Content-Language"] = lang
        if "lang" not in request.args:
            add_vary(response, "Accept-Language")
    if ext is None:
        add_vary(response, "Accept")
    response.cache_control.public = True
    response.cache_control.max_age = PAGE_MAX_AGE
    response.add_etag()
    return response.make_conditional(request)


def _formats() -> list[dict[str, str]]:
    return [{"label": f.label, "media_type": f.media_type, "href": f"?format={f.ext}"}
            for f in RDF_FORMATS]


def _row(release: Release, lang: str) -> dict[str, Any]:
    """What the pages show of a release."""
    return {"version": release.version, "iri": str(release.iri),
            "href": page_url(f"{request.script_root}/releases/{release.version}/"),
            "issued": release.issued.strftime("%Y-%m-%d %H:%M UTC"),
            "issued_iso": release.issued.isoformat(), "previous": release.previous,
            "notes": release.notes.get(lang) or release.notes.get("en", ""),
            "ontology": release.ontology_version}


@bp.get("/releases/")
def index() -> Response:
    """The list of releases, newest first: HTML, or RDF (DCAT 3) by content negotiation."""
    releases = shelf().releases()

    def html(lang: str) -> str:
        return render_template("releases.html", tr=TEXT[lang], formats=_formats(),
                               releases=[_row(r, lang) for r in reversed(releases)],
                               **page_context(lang))

    return _respond(lambda: describe(releases, _root()), html)


def _file_rows(release: Release) -> list[dict[str, Any]]:
    return [{"name": f.name, "href": f.name, "bytes": f.size, "sha256": f.sha256,
             "media_type": f.media_type} for f in sorted(release.files.values(),
                                                         key=lambda f: (f.name.count("/"), f.name))]


def _link(iri: str) -> str:
    return href_for(iri)[0]


@bp.get("/releases/<version>/")
def release(version: str) -> Response:
    """One release: its notes, changes and files (HTML), or its description (RDF)."""
    found = shelf().get(version)
    if found is None:
        abort(404)

    def html(lang: str) -> str:
        patch = [name for name in PATCH_FILES if found.get(name) is not None]
        return render_template("release.html", tr=TEXT[lang], formats=_formats(),
                               release=_row(found, lang), changes=found.changes,
                               description=found.info.get("description"),
                               files=_file_rows(found), patch=patch, link=_link,
                               **page_context(lang))

    return _respond(lambda: describe([found], _root()), html, primary=found.iri)


@bp.get("/releases/<version>/<path:name>", merge_slashes=False)
def release_file(version: str, name: str) -> Response:
    """One file of a release, immutable (see the module docstring); anything else is 404."""
    found = shelf().get(version)
    file = found.get(name) if found is not None else None
    if file is None or not found.intact(file):
        abort(404)
    mimetype = content_type(file.name)
    response = send_file(file.path, mimetype=mimetype, as_attachment=True,
                         download_name=PurePosixPath(file.name).name, conditional=True,
                         etag=file.sha256, last_modified=found.issued, max_age=IMMUTABLE_AGE)
    # Werkzeug appends its own "; charset=utf-8" to a text/* mimetype that already has one.
    response.content_type = mimetype
    response.headers["Cache-Control"] = IMMUTABLE
    return response
