"""What the linked-data pages share around their content: the negotiated response of a
resource (:func:`represent`), the template context every page gets (language, words,
navigation), JSON-LD blocks, the 404 page and the 503 answer when the store cannot answer."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, current_app, make_response, render_template, request
from markupsafe import Markup
from rdflib import Graph, URIRef

from poli_kg.store.errors import QueryError
from poli_kg.store.executor import ChildFailed, QueryTimeout
from poli_kg.web.base.conneg import negotiate
from poli_kg.web.base.formats import (
    RDF_FORMATS, alternates_header, choose_format, not_acceptable, rdf_body,
)
from poli_kg.web.base.site import explicit_language, language, page_url
from poli_kg.web.base.text import TEXT


def represent(path: str, ext: str | None, *, rdf: Callable[[], Graph],
              html: Callable[[], str], primary: URIRef | None = None) -> Response:
    """The response for a resource at local ``path`` (no suffix): negotiated or by suffix.

    Generic URLs get ``Vary`` and ``Content-Location``; suffix URLs return their format
    whatever the Accept header says.
    """
    fmt = choose_format(ext)
    if fmt is None:
        return not_acceptable(path)
    if fmt.is_rdf:
        body = rdf_body(rdf(), fmt, primary)
        response = Response(body, content_type=fmt.media_type
                            + ("; charset=utf-8" if fmt.ext in ("ttl", "nt") else ""))
    else:
        response = make_response(html())
        response.headers["Content-Language"] = language()
    vary = [] if ext else ["Accept"]
    if not fmt.is_rdf and "lang" not in request.args:
        vary.append("Accept-Language")
    if vary:
        response.headers["Vary"] = ", ".join(vary)
    if ext is None:
        location = f"{path}.{fmt.ext}"
        if not fmt.is_rdf and explicit_language():
            location += f"?lang={explicit_language()}"
        response.headers["Content-Location"] = location
    response.headers["Link"] = alternates_header(path)
    response.headers["Cache-Control"] = "public, max-age=300"
    response.add_etag()
    return response.make_conditional(request)


def page_context(lang: str) -> dict[str, Any]:
    """What every page template gets: language, strings, navigation, switch links."""
    other = "en" if lang == "it" else "it"
    args = {k: v for k, v in request.args.items() if k != "lang"}
    args["lang"] = other
    return {
        "lang": lang,
        "other_lang": other,
        "t": TEXT[lang],
        "other_lang_url": request.path + "?" + urlencode(args),
        "url": page_url,
        "nav": [
            (TEXT[lang]["home"], page_url(request.script_root + "/")),
            (TEXT[lang]["ontology"], page_url(request.script_root + "/ontology")),
            (TEXT[lang]["query"], page_url(request.script_root + "/query")),
            (TEXT[lang]["downloads"], request.script_root + "/downloads/"),
            (TEXT[lang]["catalog"], request.script_root + "/catalog"),
        ],
    }


def json_script(data: Mapping[str, Any] | None) -> Markup | None:
    """JSON for a ``<script type="application/ld+json">`` block (``<`` escaped)."""
    if not data:
        return None
    text = json.dumps(data, ensure_ascii=False, indent=2)
    return Markup(text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


def answer_store_failures(bp: Blueprint) -> None:
    """Make ``bp`` answer 503 (:func:`store_unavailable`) when the store fails a page."""
    for failure in (QueryError, QueryTimeout, ChildFailed):
        bp.register_error_handler(failure, store_unavailable)


def store_unavailable(exc: Exception) -> Response:
    """503 when the store cannot answer (not built, timed out, ...)."""
    current_app.logger.warning("linked-data page failed: %s", exc)
    lang = language()
    return Response(f"503 Service Unavailable: {TEXT[lang]['unavailable']}\n", status=503,
                    content_type="text/plain; charset=utf-8",
                    headers={"Retry-After": "30"})


def not_found(iri: str) -> Response:
    """404: an HTML page for browsers, plain text for everyone else."""
    lang = language()
    wants = negotiate(request.headers.get("Accept"), ("text/html", "text/plain"))
    if wants == "text/html" and not request.path.endswith(tuple(f".{f.ext}" for f in RDF_FORMATS)):
        body = render_template("notfound.html", iri=iri, **page_context(lang))
        response = Response(body, status=404, content_type="text/html; charset=utf-8")
    else:
        response = Response(f"404 Not Found: no resource {iri}\n", status=404,
                            content_type="text/plain; charset=utf-8")
    response.headers["Vary"] = "Accept"
    return response
