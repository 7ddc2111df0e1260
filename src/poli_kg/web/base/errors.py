"""The application's HTTP errors: short ``text/plain`` messages, for every blueprint.

:func:`plain_error` is registered by :func:`poli_kg.web.create_app` for every
:class:`~werkzeug.exceptions.HTTPException`: SPARQL clients and scripts read the status
line and one sentence saying what to fix, never an HTML page.
"""

from __future__ import annotations

from flask import Response, request
from werkzeug.exceptions import HTTPException, InternalServerError


def plain_error(exc: HTTPException) -> Response:
    """An HTTP error as a short text/plain response (keeps headers such as Allow)."""
    response = exc.get_response()
    code = exc.code or 500
    message = exc.description or exc.name
    if code == 404:
        message = f"Not found: {request.path}"
    elif code == 405:
        allowed = response.headers.get("Allow", "")
        message = f"Method {request.method} is not allowed for {request.path}. Allowed: {allowed}."
    elif code == 500 and isinstance(exc, InternalServerError) and exc.original_exception:
        message = "Internal server error; the incident has been logged."
    response.set_data(f"{code} {exc.name}: {message}\n")
    response.content_type = "text/plain; charset=utf-8"
    return response
