"""What the query page looks up on this server: the dataset's classes and properties (the
editor's completion) and the labels of the graph's IRIs (the results, written for reading).

Both answer from the build's search index (:mod:`poli_kg.store.search`), never from a
service elsewhere, on every store backend:

``GET /query/terms.json``
    ``{"classes": [...], "properties": [...]}``: every class and property the graph uses, most
    used first, each as ``{"iri", "prefixed", "label": {"it", "en"}, "count"}`` (``prefixed``:
    its name with a project prefix, or null).  The same for every language, made once per
    build and process; an ETag names the body (``If-None-Match`` answers 304).

``GET /query/labels.json?iri=…&iri=…[&lang=it|en]`` or ``POST`` a JSON body
``{"iris": [...], "lang": "en"}``
    ``{"lang": "en", "labels": {iri: label}}`` for the IRIs the graph gives a name (its own
    resources, classes and properties, and the external resources it labels), in ``lang`` (default: the page's,
    :func:`~poli_kg.web.base.site.language`).  At most :data:`MAX_IRIS` IRIs of at most
    :data:`MAX_IRI_CHARS` characters each, in a body of at most :data:`MAX_BODY_BYTES`; anything
    else answers 400 (413 for a larger body) with a message, never a 5xx.

The query page's blueprint routes both and hands them the index (a build without one answers
503: the page then completes only prefixes and shows the results' IRIs by their prefixed
names); this module only reads the index it is given, so it needs no store.
"""

from __future__ import annotations

import hashlib
import json
import weakref
from typing import TYPE_CHECKING, Any

from flask import Response, request
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge

from poli_kg.web.base.conneg import add_vary
from poli_kg.web.base.labels import prefixed, vocabulary_label
from poli_kg.web.base.site import LANGUAGES, language

if TYPE_CHECKING:  # annotations only: the index is handed over by the page's views
    from poli_kg.store.search import SearchIndex

MAX_IRIS = 500
MAX_IRI_CHARS = 2_000
MAX_BODY_BYTES = 256 * 1024
TERMS_MAX_AGE = 300
"""Seconds a browser may keep ``terms.json`` without asking again (it changes with the build)."""

_TERMS: weakref.WeakKeyDictionary[SearchIndex, tuple[bytes, str]] = weakref.WeakKeyDictionary()
"""The body of ``terms.json`` and its ETag, per index (one per build and process)."""


def _term(index: SearchIndex, iri: str, count: int, kind: str) -> dict[str, Any]:
    name = index.type_name if kind == "class" else index.property_name
    return {"iri": iri, "prefixed": prefixed(iri),
            "label": {lang: name(iri, lang, vocabulary_label) for lang in LANGUAGES},
            "count": count}


def dataset_terms(index: SearchIndex) -> dict[str, list[dict[str, Any]]]:
    """The classes and properties of the graph, most used first (then by IRI)."""
    def listed(entries: dict[str, dict], kind: str) -> list[dict[str, Any]]:
        ordered = sorted(entries.values(), key=lambda entry: (-entry["count"], entry["iri"]))
        return [_term(index, entry["iri"], entry["count"], kind) for entry in ordered]

    return {"classes": listed(index.types, "class"),
            "properties": listed(index.properties, "property")}


def _json(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def terms_response(index: SearchIndex) -> Response:
    """``/query/terms.json``: the dataset's classes and properties, cached per build."""
    if index not in _TERMS:
        body = _json(dataset_terms(index))
        _TERMS[index] = (body, hashlib.sha256(body).hexdigest()[:32])
    body, etag = _TERMS[index]
    response = Response(body, content_type="application/json; charset=utf-8")
    response.set_etag(etag)
    response.cache_control.public = True
    response.cache_control.max_age = TERMS_MAX_AGE
    return response.make_conditional(request)


def requested_labels() -> tuple[list[str], str]:
    """The IRIs and language a labels request asks for (400/413 when it is not one)."""
    if request.method == "GET":
        iris: Any = request.args.getlist("iri")
        lang: Any = request.args.get("lang")
    else:
        data = _json_body()
        if not isinstance(data, dict):
            raise BadRequest('Send a JSON object: {"iris": [IRI, ...], "lang": "it"|"en"}.')
        iris, lang = data.get("iris", []), data.get("lang")
    if not isinstance(iris, list) or not all(isinstance(iri, str) for iri in iris):
        raise BadRequest('"iris" must be a list of IRIs (strings).')
    if len(iris) > MAX_IRIS:
        raise BadRequest(f"At most {MAX_IRIS} IRIs per request.")
    if any(len(iri) > MAX_IRI_CHARS for iri in iris):
        raise BadRequest(f"An IRI may have at most {MAX_IRI_CHARS} characters.")
    if lang is not None and lang not in LANGUAGES:
        raise BadRequest(f"lang must be one of: {', '.join(LANGUAGES)}.")
    return iris, lang or language()


def _json_body() -> Any:
    if (request.content_length or 0) > MAX_BODY_BYTES:
        raise RequestEntityTooLarge(f"The body may have at most {MAX_BODY_BYTES} bytes.")
    body = request.stream.read(MAX_BODY_BYTES + 1)
    if len(body) > MAX_BODY_BYTES:
        raise RequestEntityTooLarge(f"The body may have at most {MAX_BODY_BYTES} bytes.")
    try:
        return json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadRequest(f"The body is not JSON in UTF-8: {exc}.") from exc


def graph_labels(index: SearchIndex, iris: list[str], lang: str) -> dict[str, str]:
    """The labels in ``lang`` of those of ``iris`` the graph gives a name."""
    wanted = set(iris)
    labels = {iri: hit.label(lang) for iri, hit in index.get(wanted).items()}
    for iri in wanted - labels.keys():
        entry = index.types.get(iri) or index.properties.get(iri)
        if entry is not None:  # a class or property: named only by a label, never humanised
            names = entry.get("name") or {}
            other = "en" if lang == "it" else "it"
            labels[iri] = names.get(lang) or vocabulary_label(iri, lang) or names.get(other)
    return {iri: label for iri, label in labels.items() if label and label != iri}


def labels_response(index: SearchIndex) -> Response:
    """``/query/labels.json``: labels of a batch of the graph's IRIs (read from the request)."""
    iris, lang = requested_labels()
    body = _json({"lang": lang, "labels": graph_labels(index, iris, lang)})
    response = Response(body, content_type="application/json; charset=utf-8")
    response.headers["Content-Language"] = lang
    if request.method == "GET":
        add_vary(response, "Accept-Language")
    return response
