"""The application's HTTP errors, for every blueprint, written the way the client reads them.

:func:`plain_error` is registered by :func:`poli_kg.web.create_app` for every
:class:`~werkzeug.exceptions.HTTPException`.  The status line and one sentence saying what to
fix come in the representation the ``Accept`` header prefers:

* ``text/plain`` (the default, and whatever ``*/*`` asks for): ``404 Not Found: …`` — what
  SPARQL clients, scripts and ``curl`` read;
* ``text/html`` when the client prefers it to plain text (a browser): the site's error page
  (``error.html``) in the page language, with the site's header and footer;
* ``application/problem+json`` (RFC 9457) for a client that prefers JSON;
* for a resource of the graph that is not there (:class:`~poli_kg.web.base.pages.ResourceNotFound`)
  also RDF — the formats a resource has, or the one its suffix URL names — describing the
  response with the W3C HTTP vocabulary.  There ``*/*`` gets the HTML page, as the resource
  itself would.

Headers of the exception's response (``Allow``, ``Retry-After`` …) are kept.
"""

from __future__ import annotations

import json

from flask import Response, render_template, request
from jinja2 import TemplateError
from rdflib import BNode, Graph, Literal, Namespace
from rdflib.namespace import RDF, RDFS, XSD
from werkzeug.exceptions import HTTPException, InternalServerError

from poli_kg.web.base.conneg import add_vary, negotiate
from poli_kg.web.base.formats import BY_EXT, BY_MEDIA, RDF_FORMATS, rdf_body
from poli_kg.web.base.pages import ResourceNotFound, page_context
from poli_kg.web.base.site import explicit_language, language

HTTP = Namespace("http://www.w3.org/2011/http#")
PLAIN, HTML, PROBLEM_JSON = "text/plain", "text/html", "application/problem+json"
OFFERS = (PLAIN, HTML, PROBLEM_JSON, "application/json")
"""What an error can be written as; the first wins ties (``*/*``)."""
RESOURCE_OFFERS = (HTML, PLAIN, PROBLEM_JSON, "application/json") + tuple(
    f.media_type for f in RDF_FORMATS)
"""What a missing resource's 404 can be written as: HTML first, as for the resource."""
ERROR_TEXT = {
    "it": {
        400: ("Richiesta non valida", "Il servizio non ha potuto eseguire la richiesta: controlla l'indirizzo e i suoi parametri."),
        404: ("Pagina non trovata", "A questo indirizzo non c'è nessuna pagina."),
        405: ("Metodo non consentito", "Questo indirizzo non accetta il metodo della richiesta."),
        406: ("Formato non disponibile", "La pagina non è disponibile nei formati che il client accetta."),
        413: ("Richiesta troppo grande", "La richiesta supera la dimensione massima accettata."),
        415: ("Tipo di contenuto non supportato", "Il corpo della richiesta è in un formato che questo indirizzo non accetta."),
        429: ("Troppe richieste", "Sono arrivate troppe richieste in poco tempo: riprova tra poco."),
        500: ("Errore interno", "Qualcosa non ha funzionato nel servizio; l'errore è stato registrato."),
        503: ("Servizio non disponibile", "Il grafo non è disponibile in questo momento. Riprova tra poco."),
    },
    "en": {
        400: ("Bad request", "The service could not carry out the request: check the address and its parameters."),
        404: ("Page not found", "There is no page at this address."),
        405: ("Method not allowed", "This address does not accept the request's method."),
        406: ("Format not available", "The page is not available in any format the client accepts."),
        413: ("Request too large", "The request is larger than the service accepts."),
        415: ("Unsupported media type", "The request's body is in a format this address does not accept."),
        429: ("Too many requests", "Too many requests arrived in a short time: please try again shortly."),
        500: ("Internal error", "Something went wrong in the service; the incident has been logged."),
        503: ("Service unavailable", "The graph is not available right now. Please try again shortly."),
    },
}
"""Title and explanation of the error page, per language and status (others: the reason phrase)."""
SHOWN_DETAILS = frozenset({400, 405, 406, 413, 415, 429, 500})
"""Statuses whose page also shows the message of the error (in English, as raised)."""


def plain_error(exc: HTTPException) -> Response:
    """An HTTP error as a response in the client's preferred representation (see the module
    docstring); keeps the headers of the exception's response, such as Allow."""
    response = exc.get_response()
    code = exc.code or 500
    message = exc.description or exc.name
    if code == 404 and not isinstance(exc, ResourceNotFound):
        message = f"Not found: {request.path}"
    elif code == 405:
        allowed = response.headers.get("Allow", "")
        message = f"Method {request.method} is not allowed for {request.path}. Allowed: {allowed}."
    elif code == 500 and isinstance(exc, InternalServerError) and exc.original_exception:
        message = "Internal server error; the incident has been logged."
    media_type = representation(exc)
    add_vary(response, "Accept")
    if media_type == HTML:
        page = error_page(exc, code, message)
        if page is not None:
            response.set_data(page)
            response.content_type = "text/html; charset=utf-8"
            response.headers["Content-Language"] = language()
            if explicit_language() is None:
                add_vary(response, "Accept-Language")
            return response
        media_type = PLAIN
    if media_type in (PROBLEM_JSON, "application/json"):
        body = {"type": "about:blank", "title": exc.name, "status": code, "detail": message}
        response.set_data(json.dumps(body, ensure_ascii=False))
        response.content_type = PROBLEM_JSON
    elif media_type in BY_MEDIA:
        fmt = BY_MEDIA[media_type]
        response.set_data(rdf_body(error_graph(exc, code, message), fmt))
        response.content_type = fmt.media_type + ("; charset=utf-8" if fmt.ext in ("ttl", "nt") else "")
    else:
        response.set_data(f"{code} {exc.name}: {message}\n")
        response.content_type = "text/plain; charset=utf-8"
    return response


def representation(exc: HTTPException) -> str:
    """The media type the error is written as: the one a suffix URL names, else the client's
    preferred one among those offered (plain text when none is acceptable)."""
    if isinstance(exc, ResourceNotFound):
        if exc.suffix is not None:
            return BY_EXT[exc.suffix].media_type
        offers = RESOURCE_OFFERS
    else:
        offers = OFFERS
    return negotiate(request.headers.get("Accept"), offers) or PLAIN


def error_page(exc: HTTPException, code: int, message: str) -> str | None:
    """The site's error page in the page language (None if it cannot be drawn)."""
    lang = language()
    title, hint = ERROR_TEXT[lang].get(code, (exc.name, ""))
    context = page_context(lang)
    if isinstance(exc, ResourceNotFound):
        title, hint = context["t"]["not_found_title"], context["t"]["not_found"]
    try:
        return render_template("error.html", code=code, title=title, hint=hint,
                               iri=getattr(exc, "iri", None), path=request.path,
                               details=message if code in SHOWN_DETAILS else None, **context)
    except TemplateError:
        return None


def error_graph(exc: HTTPException, code: int, message: str) -> Graph:
    """The error in RDF: the request, its URL and the response's status (W3C HTTP vocabulary)."""
    graph = Graph()
    graph.bind("http", HTTP)
    exchange, answer = BNode(), BNode()
    graph.add((exchange, RDF.type, HTTP.Request))
    graph.add((exchange, HTTP.absoluteURI, Literal(request.url)))
    graph.add((exchange, HTTP.resp, answer))
    graph.add((answer, RDF.type, HTTP.Response))
    graph.add((answer, HTTP.statusCodeValue, Literal(code, datatype=XSD.int)))
    graph.add((answer, HTTP.reasonPhrase, Literal(exc.name)))
    graph.add((answer, RDFS.comment, Literal(message, lang="en")))
    return graph
