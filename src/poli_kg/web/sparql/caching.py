"""HTTP caching of query results: ETag, ``Cache-Control``, ``Vary``, 304, gzip.

The data change only with a new build, so a GET result is a function of the build and of the
request.  Its ETag (:func:`representation`) is a hash of

* the build's content hash (:func:`build_tag`: the SHA-256 of the build's N-Quads as
  ``build.json`` records it, else its inputs' hash and pipeline, else the build folder's
  name), and the application's version (the code that serialises);
* the normalised request: the query's text, the negotiated media type (so two ``Accept``
  headers choosing the same format share it), the base IRI, the sorted
  ``default-graph-uri`` / ``named-graph-uri``, the result cap, and the content coding.

It is known before the query runs, so ``If-None-Match`` is answered 304 without running it.
GET results carry ``Cache-Control: public, max-age=RESULT_MAX_AGE`` and ``Vary: Accept,
Accept-Encoding``; POST results, errors, and the results of a remote store (``sparql:URL``,
whose data may change without a build) carry neither ETag nor ``Cache-Control``.  A result is
gzipped when the request accepts gzip (GET and POST alike): the choice is made from the
request alone, and the gzipped bytes have their own ETag, as RFC 9110 asks of a strong one.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from flask import Response, request

from poli_kg import __version__
from poli_kg.buildfolder import read_build_info
from poli_kg.web.base.compression import accepts_gzip
from poli_kg.web.base.conneg import add_vary

GZIP_LEVEL = 6
NQUADS = "poli-kg.nq"
"""The build's N-Quads dump, whose SHA-256 (in ``build.json``) is the content hash."""


@dataclass(frozen=True)
class Representation:
    """How a result is sent: gzipped or not, and its ETag (None: not cacheable)."""

    gzip: bool
    etag: str | None = None


@functools.lru_cache(maxsize=16)
def build_tag(folder: Path) -> str:
    """The content hash of the build in ``folder`` (read once: a build never changes)."""
    info = read_build_info(folder) or {}
    files = info.get("files")
    dump = files.get(NQUADS) if isinstance(files, dict) else None
    if isinstance(dump, dict) and isinstance(dump.get("sha256"), str):
        return dump["sha256"]
    if isinstance(info.get("inputs_sha256"), str):
        return info["inputs_sha256"] + json.dumps(info.get("pipeline"), sort_keys=True)
    return folder.name


def representation(build: Path | None, parts: Sequence[str],
                   graphs: Sequence[Sequence[str]] = ()) -> Representation:
    """The representation of the current request's result; ``build`` None (or a POST): not
    cacheable.  ``parts`` and ``graphs`` are the normalised request (module docstring)."""
    req = request._get_current_object()  # (each read through the proxy costs ~0.5 µs)
    zipped = accepts_gzip(req)
    if build is None or req.method not in ("GET", "HEAD"):
        return Representation(zipped)
    digest = hashlib.sha256()
    for part in (build_tag(build), __version__, *parts, *(" ".join(sorted(g)) for g in graphs),
                 "gzip" if zipped else "identity"):
        digest.update(part.encode("utf-8", "surrogatepass") + b"\0")
    return Representation(zipped, digest.hexdigest()[:40])


def not_modified(rep: Representation) -> bool:
    """Whether the request's ``If-None-Match`` names ``rep``'s ETag (weak comparison)."""
    if rep.etag is None:
        return False
    tags = request.if_none_match
    return bool(tags.star_tag or tags.contains_weak(rep.etag))


def not_modified_response(rep: Representation, max_age: int) -> Response:
    """The 304 for a cached result still current."""
    response = Response(status=304)
    _describe(response, rep, max_age)
    return response


def apply(response: Response, rep: Representation, max_age: int) -> Response:
    """Compress ``response``'s body if ``rep`` says so, and add the caching headers."""
    if rep.gzip:
        response.set_data(gzip.compress(response.get_data(), GZIP_LEVEL, mtime=0))
        response.headers["Content-Encoding"] = "gzip"
    _describe(response, rep, max_age)
    return response


def _describe(response: Response, rep: Representation, max_age: int) -> None:
    """The ``Vary``, ``ETag`` and ``Cache-Control`` headers of ``rep``."""
    add_vary(response, "Accept", "Accept-Encoding")
    if rep.etag is not None:
        response.set_etag(rep.etag)
        response.headers["Cache-Control"] = f"public, max-age={max_age}"
