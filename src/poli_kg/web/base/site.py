"""The site's languages and URLs: which language a page is in, and where an IRI is answered.

Pages are in Italian (default) or English: ``?lang=it|en``, else the best match of
``Accept-Language``; internal links keep an explicit ``?lang``.  Every IRI under
:data:`~poli_kg.namespaces.BASE` is answered at the same path of this service; absolute
URLs use the config key ``PUBLIC_URL`` (None: the URL the request came to).
"""

from __future__ import annotations

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
