"""The site's languages and URLs: which language a page is in, and where an IRI is answered.

Pages are in Italian (default) or English: ``?lang=it|en``, else the best match of
``Accept-Language``; internal links keep an explicit ``?lang``.  Each page names its two
language versions (:func:`language_url`): the switch between them and the ``hreflang``
alternates and canonical link search engines read (:func:`public_page_url`).  Every IRI under
:data:`~poli_kg.namespaces.BASE` is answered at the same path of this service; absolute
URLs use the config key ``PUBLIC_URL`` (None: the URL the request came to).
"""

from __future__ import annotations

from urllib.parse import urlencode

from flask import current_app, request

from poli_kg.namespaces import BASE

LANGUAGES = ("it", "en")
DEFAULT_LANGUAGE = "it"


def language() -> str:
    """The page language: ``?lang``, else ``Accept-Language``, else Italian."""
    lang = request.args.get("lang")
    if lang in LANGUAGES:
        return lang
    return request.accept_languages.best_match(LANGUAGES) or DEFAULT_LANGUAGE


def explicit_language() -> str | None:
    """The ``?lang`` of the request when valid (links keep it)."""
    lang = request.args.get("lang")
    return lang if lang in LANGUAGES else None


def local_path(iri: str) -> str | None:
    """The path of this service that answers ``iri`` (fragment kept), None if not ours."""
    if not iri.startswith(BASE):
        return None
    return request.script_root + "/" + iri[len(BASE):]


def page_url(path: str, lang: str | None = None) -> str:
    """``path`` (may carry a ``#fragment``) with ``?lang=`` when a language was chosen."""
    lang = lang or explicit_language()
    if not lang:
        return path
    base, hash_, fragment = path.partition("#")
    joiner = "&" if "?" in base else "?"
    return f"{base}{joiner}lang={lang}{hash_}{fragment}"


def href_for(iri: str) -> tuple[str, bool]:
    """(link, is_external) for an IRI: local pages for our IRIs, the IRI itself otherwise."""
    path = local_path(iri)
    if path is None:
        return iri, True
    return page_url(path), False


def public_root() -> str:
    """The public root URL of the service, with a final slash (``PUBLIC_URL`` or the host)."""
    configured = current_app.config.get("PUBLIC_URL")
    if configured:
        return str(configured).rstrip("/") + "/"
    return request.url_root


def public_url(iri: str) -> str:
    """The absolute URL of this service that answers ``iri`` (its fragment dropped)."""
    path = iri[len(BASE):] if iri.startswith(BASE) else ""
    return public_root() + path.partition("#")[0]


def _query_with(lang: str | None) -> str:
    """The request's query string with ``lang`` set (or dropped when None), ``?``-prefixed."""
    args = [(key, value) for key, value in request.args.items(multi=True) if key != "lang"]
    if lang is not None:
        args.append(("lang", lang))
    return "?" + urlencode(args) if args else ""


def _page_path() -> str:
    """The path of the page asked for, without the ``.html`` suffix that names the variant."""
    return request.path.removesuffix(".html")


def language_url(lang: str) -> str:
    """The local URL of this page in ``lang`` (its other parameters kept): the switch."""
    return request.script_root + request.path + _query_with(lang)


def public_page_url(lang: str | None) -> str:
    """The absolute URL of this page in ``lang`` (None: negotiated by ``Accept-Language``),
    for ``<link rel="canonical">`` and ``hreflang`` alternates."""
    return public_root() + _page_path().lstrip("/") + _query_with(lang)
