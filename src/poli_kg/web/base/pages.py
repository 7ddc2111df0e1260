"""What the site's pages share around their content: the negotiated response of a resource
(:func:`represent`), the site's header and footer every template gets (:func:`site_shell`),
the template context of the linked-data pages (:func:`page_context`), JSON-LD blocks, and the
errors they answer with: a resource that is not there (:func:`not_found`) and a store that
cannot answer (:func:`answer_store_failures`).  Both errors go through the application's
error handler (:func:`poli_kg.web.base.errors.plain_error`), which writes them for the client.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from flask import Blueprint, Response, current_app, make_response, request
from flask.sansio.blueprints import BlueprintSetupState
from markupsafe import Markup
from rdflib import Graph, URIRef
from werkzeug.exceptions import NotFound, ServiceUnavailable

from poli_kg.store.errors import QueryError
from poli_kg.store.executor import ChildFailed, QueryTimeout
from poli_kg.web.base.formats import (
    RDF_FORMATS, alternates_header, choose_format, not_acceptable, rdf_body,
)
from poli_kg.web.base.site import (
    explicit_language, language, language_url, page_url, public_page_url,
)
from poli_kg.web.base.text import TEXT

NAVIGATION = (("home", "/"), ("ontology", "/ontology"), ("query", "/query"),
              ("downloads", "/downloads/"), ("catalog", "/catalog"))
"""The site's navigation: (word of :data:`~poli_kg.web.base.text.TEXT`, path), shown when routed."""
STORE_RETRY_SECONDS = 30


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


def navigation(lang: str) -> list[tuple[str, str, bool]]:
    """(text, link, is the current page) of the site's pages the application routes."""
    routed = {rule.rule for rule in current_app.url_map.iter_rules()}
    return [(TEXT[lang][word], page_url(request.script_root + path), request.path == path)
            for word, path in NAVIGATION if path in routed]


def site_shell() -> dict[str, Any]:
    """The ``site`` every template gets: navigation, language switch, the page's language
    versions (``hreflang``) and canonical URL, for the header and head of ``base.html``."""
    lang = language()
    other = "en" if lang == "it" else "it"
    return {"site": {
        "lang": lang,
        "t": TEXT[lang],
        "nav": navigation(lang),
        "switch": {"href": language_url(other), "lang": other,
                   "text": TEXT[lang]["other_language"]},
        "canonical": public_page_url(explicit_language()),  # this URL, as the alternates name it
        "versions": [("it", public_page_url("it")), ("en", public_page_url("en")),
                     ("x-default", public_page_url(None))],
        "footer": [(TEXT[lang]["endpoint"], page_url(request.script_root + "/sparql")),
                   ("VoID", request.script_root + "/.well-known/void"),
                   (TEXT[lang]["sitemap"], request.script_root + "/sitemap.xml")],
    }}


def share_site_shell(bp: Blueprint) -> None:
    """Give every template of the application :func:`site_shell` (once, however many
    blueprints ask), when ``bp`` is registered."""
    def register(state: BlueprintSetupState) -> None:
        processors = state.app.template_context_processors.setdefault(None, [])
        if site_shell not in processors:
            processors.append(site_shell)

    bp.record_once(register)


def page_context(lang: str) -> dict[str, Any]:
    """What every linked-data page template gets: language, strings, navigation, switch link."""
    other = "en" if lang == "it" else "it"
    return {
        "lang": lang,
        "other_lang": other,
        "t": TEXT[lang],
        "other_lang_url": language_url(other),
        "url": page_url,
        "nav": [(text, href) for text, href, _current in navigation(lang)],
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
    """503 when the store cannot answer (not built, timed out, ...), with ``Retry-After``."""
    current_app.logger.warning("linked-data page failed: %s", exc)
    unavailable = ServiceUnavailable(TEXT[language()]["unavailable"],
                                     retry_after=STORE_RETRY_SECONDS)
    return current_app.handle_http_exception(unavailable)  # type: ignore[return-value]


class ResourceNotFound(NotFound):
    """No resource of the graph has the IRI asked for: browsers get a page naming it, RDF
    clients an RDF description of the error (in the format a suffix URL names)."""

    def __init__(self, iri: str, suffix: str | None = None) -> None:
        super().__init__(f"no resource {iri}")
        self.iri = iri
        self.suffix = suffix


def not_found(iri: str) -> Response:
    """404 for ``iri`` (see :class:`ResourceNotFound`), written by the application's handler."""
    suffix = next((f.ext for f in RDF_FORMATS if request.path.endswith(f".{f.ext}")), None)
    return current_app.handle_http_exception(  # type: ignore[return-value]
        ResourceNotFound(iri, suffix))
