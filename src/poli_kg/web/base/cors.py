"""Cross-origin reads: every response may be read by any origin (the data are open).

Browsers may read the result headers of the SPARQL endpoint too; a preflight (``OPTIONS``)
answers the methods and request headers allowed.  :func:`init_app` is called by
:func:`poli_kg.web.create_app`.
"""

from __future__ import annotations

from flask import Flask, Response, request

CORS_HEADERS = {
    "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
    "Access-Control-Allow-Headers": "Content-Type, Accept",
    "Access-Control-Max-Age": "86400",
}
EXPOSED_HEADERS = "X-Result-Count, X-Result-Truncated"


def add_cors_headers(response: Response) -> Response:
    """CORS: anyone may read; preflight answers the allowed methods and headers."""
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Access-Control-Expose-Headers"] = EXPOSED_HEADERS
    if request.method == "OPTIONS":
        response.headers.update(CORS_HEADERS)
    return response


def init_app(app: Flask) -> None:
    """Add the CORS headers to every response."""
    app.after_request(add_cors_headers)
