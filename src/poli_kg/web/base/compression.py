"""How responses travel light: gzip for whatever is text, and static assets cached for a year.

:func:`init_app` is called by :func:`poli_kg.web.create_app`; it registers two hooks.

Compression (``after_request``)
    HTML, JSON, JavaScript, CSS, SVG, XML, CSV and every RDF syntax are sent gzip-compressed
    when the request's ``Accept-Encoding`` allows it, with ``Vary: Accept-Encoding``.  Left
    alone: responses that already carry a ``Content-Encoding``, streamed or direct-passthrough
    responses (the downloads are files sent by ``send_file``, with precomputed ``.gz`` twins),
    bodies under :data:`MIN_SIZE` bytes, partial content and 304s.  A compressed response's
    ETag becomes weak (``W/"…"``): the same entity, another encoding; ``If-None-Match`` is
    compared weakly, so conditional requests still end in 304.

Static assets (``url_defaults`` and the same hook)
    Every ``url_for`` of a static file (``static`` or a blueprint's ``….static``) gets
    ``?v=`` and the first characters of the file's SHA-256, so a changed file has a new URL.
    A request with the current ``v`` is cached for a year (``immutable``); any other is
    revalidated with its ETag (``no-cache``).  The gzip of a static file is computed once
    and kept in memory until the file changes.
"""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path
from typing import Any

from flask import Flask, Request, Response, current_app, request
from werkzeug.security import safe_join

from poli_kg.web.base.conneg import add_vary

MIN_SIZE = 1024
"""Bodies smaller than this (bytes) are sent as they are: gzip would not pay off."""
YEAR = 365 * 24 * 3600
VERSION_LENGTH = 12
COMPRESSIBLE = frozenset({
    "application/javascript", "application/json", "application/xml", "image/svg+xml",
    "application/n-triples", "application/n-quads", "application/trig",
})
"""Media types compressed besides ``text/*``, ``*+json`` and ``*+xml`` (JSON-LD, RDF/XML,
SPARQL results, problem details)."""

_versions: dict[str, tuple[tuple[int, int], str]] = {}
_gzipped: dict[str, tuple[tuple[int, int], bytes]] = {}


def init_app(app: Flask) -> None:
    """Version the static files' URLs and compress responses (see the module docstring)."""
    app.url_defaults(version_static_url)
    app.after_request(compress)


def is_static(endpoint: str | None) -> bool:
    """Whether ``endpoint`` serves static files (the app's or a blueprint's)."""
    return endpoint is not None and (endpoint == "static" or endpoint.endswith(".static"))


def static_file(endpoint: str, filename: str) -> Path | None:
    """The file ``filename`` of ``endpoint``'s static folder, None if there is none."""
    if endpoint == "static":
        folder = current_app.static_folder
    else:
        blueprint = current_app.blueprints.get(endpoint.rpartition(".")[0])
        folder = blueprint.static_folder if blueprint is not None else None
    joined = safe_join(folder, filename) if folder else None
    path = Path(joined) if joined else None
    return path if path is not None and path.is_file() else None


def _stamp(path: Path) -> tuple[int, int]:
    stat = path.stat()
    return stat.st_mtime_ns, stat.st_size


def version(path: Path) -> str:
    """The first characters of the file's SHA-256 (kept until the file changes)."""
    stamp = _stamp(path)
    known = _versions.get(str(path))
    if known is None or known[0] != stamp:
        known = (stamp, hashlib.sha256(path.read_bytes()).hexdigest()[:VERSION_LENGTH])
        _versions[str(path)] = known
    return known[1]


def gzipped(path: Path) -> bytes:
    """The file compressed (kept in memory until it changes)."""
    stamp = _stamp(path)
    known = _gzipped.get(str(path))
    if known is None or known[0] != stamp:
        known = (stamp, gzip.compress(path.read_bytes(), compresslevel=9, mtime=0))
        _gzipped[str(path)] = known
    return known[1]


def version_static_url(endpoint: str, values: dict[str, Any]) -> None:
    """``url_defaults``: add ``v=<content hash>`` to the URL of a static file."""
    if not is_static(endpoint) or "filename" not in values or "v" in values:
        return
    path = static_file(endpoint, str(values["filename"]))
    if path is not None:
        values["v"] = version(path)


def compressible(mimetype: str | None) -> bool:
    """Whether responses of this media type are worth compressing."""
    if not mimetype:
        return False
    return (mimetype.startswith("text/") or mimetype in COMPRESSIBLE
            or mimetype.endswith(("+json", "+xml")))


def accepts_gzip(req: Request | None = None) -> bool:
    """Whether the ``Accept-Encoding`` of ``req`` (default: the current request) allows gzip."""
    return (req or request).accept_encodings["gzip"] > 0


def _weaken_etag(response: Response) -> None:
    tag, weak = response.get_etag()
    if tag and not weak:
        response.set_etag(tag, weak=True)


def _encode(response: Response, body: bytes) -> Response:
    """``response`` with ``body`` (already gzip-compressed) as its content."""
    previous = response.response
    if hasattr(previous, "close"):
        previous.close()
    response.direct_passthrough = False
    response.set_data(body)
    response.headers["Content-Encoding"] = "gzip"
    _weaken_etag(response)
    return response


def _asked_weakly() -> bool:
    """Whether the client's ``If-None-Match`` names a weak ETag (the one of a compressed body);
    a strong one came from an uncompressed body (a file, a ``.gz`` download), kept as it is."""
    return "W/" in request.headers.get("If-None-Match", "")


def compress(response: Response) -> Response:
    """``after_request``: gzip the response when it is worth it and the client allows it."""
    if is_static(request.endpoint):
        return static_response(response)
    if (response.status_code in (204, 206, 304) or response.headers.getlist("Content-Encoding")
            or response.direct_passthrough or response.is_streamed
            or not compressible(response.mimetype)):
        if response.status_code == 304 and accepts_gzip() and _asked_weakly():
            _weaken_etag(response)  # the client holds the compressed variant: name it so
        return response
    body = response.get_data()
    if len(body) < MIN_SIZE:
        return response
    add_vary(response, "Accept-Encoding")
    if not accepts_gzip():
        return response
    return _encode(response, gzip.compress(body, compresslevel=6, mtime=0))


def static_response(response: Response) -> Response:
    """A static file: cached for a year under its current version, revalidated otherwise,
    and sent gzip-compressed (from memory) when the client allows it."""
    filename = (request.view_args or {}).get("filename")
    path = static_file(request.endpoint or "", str(filename)) if filename else None
    if path is None or response.status_code not in (200, 304):
        return response
    if request.args.get("v") == version(path):
        response.headers["Cache-Control"] = f"public, max-age={YEAR}, immutable"
    else:
        response.headers["Cache-Control"] = "no-cache"
    if not compressible(response.mimetype) or path.stat().st_size < MIN_SIZE:
        return response
    add_vary(response, "Accept-Encoding")
    if not accepts_gzip() or "Content-Encoding" in response.headers:
        return response
    if response.status_code == 304:
        _weaken_etag(response)
        return response
    return _encode(response, gzipped(path))
