"""Cross-origin reads: every response may be read by any origin (the data are open).

Browsers may read the result headers of the SPARQL endpoint too (:data:`EXPOSED_HEADERS`:
the ETag, the result count and truncation, ``Warning``, ``Server-Timing``).  A preflight
(``OPTIONS``) answers the methods GET, POST and OPTIONS, and the request headers allowed: a
fixed safe list (:data:`ALLOWED_REQUEST_HEADERS`, which includes ``Authorization`` for
clients that send one to every endpoint) and the custom ``X-…`` headers the browser asks for
(``Access-Control-Request-Headers``); any other header it asks for is left out, and the
browser then refuses to send it.  No credentials are ever allowed (``Allow-Origin: *``).
:func:`init_app` is called by :func:`poli_kg.web.create_app`.
"""

from __future__ import annotations

import re

from flask import Flask, Response, request

from poli_kg.web.base.conneg import add_vary

ALLOWED_METHODS = "GET, POST, OPTIONS"
ALLOWED_REQUEST_HEADERS = (
    "Accept", "Accept-Language", "Authorization", "Cache-Control", "Content-Language",
    "Content-Type", "If-Modified-Since", "If-None-Match", "Pragma", "X-Requested-With",
)
"""Request headers a preflight may allow (besides custom ``X-…`` headers)."""
_CUSTOM_HEADER = re.compile(r"x-[a-z0-9][a-z0-9-]*")
_SAFE = frozenset(h.lower() for h in ALLOWED_REQUEST_HEADERS)
MAX_AGE = "86400"
EXPOSED_HEADERS = ("ETag, Link, Server-Timing, Warning, Retry-After, X-Result-Count, "
                   "X-Result-Truncated")
_EVERY_RESPONSE = (("Access-Control-Allow-Origin", "*"),
                   ("Access-Control-Expose-Headers", EXPOSED_HEADERS),
                   ("Timing-Allow-Origin", "*"))


def allowed_request_headers(requested: str | None) -> str:
    """The safe list, and the custom ``X-…`` headers among those of
    ``Access-Control-Request-Headers`` (lower case, in the order asked)."""
    names = dict.fromkeys(name.strip().lower() for name in (requested or "").split(","))
    custom = [name for name in names if name not in _SAFE and _CUSTOM_HEADER.fullmatch(name)]
    return ", ".join([*ALLOWED_REQUEST_HEADERS, *custom])


def add_cors_headers(response: Response) -> Response:
    """CORS: anyone may read; preflight answers the allowed methods and headers."""
    # added, not set: no view writes these, and setting each would search the headers
    response.headers.extend(_EVERY_RESPONSE)
    if request.method == "OPTIONS":
        response.headers["Access-Control-Allow-Methods"] = ALLOWED_METHODS
        response.headers["Access-Control-Allow-Headers"] = allowed_request_headers(
            request.headers.get("Access-Control-Request-Headers"))
        response.headers["Access-Control-Max-Age"] = MAX_AGE
        add_vary(response, "Access-Control-Request-Headers")
    return response


def init_app(app: Flask) -> None:
    """Add the CORS headers to every response."""
    app.after_request(add_cors_headers)
