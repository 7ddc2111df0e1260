"""The response to a query: the result's bytes, and the headers that say what they hold.

Every result carries ``X-Result-Count: <n>`` and ``X-Result-Truncated: true|false``.  A
result cut at the ``MAX_RESULTS`` cap says so wherever a client may look
(:func:`truncation_message` names the cap and how to page through the rest):

* a ``Warning: 199 - "…"`` header (RFC 9111's miscellaneous warning), beside
  ``X-Result-Truncated: true``;
* in SPARQL JSON results, a top-level member :data:`TRUNCATION_FIELD` (``{"limit": …,
  "message": …}``) next to ``head`` and ``results``: the JSON readers of SPARQLWrapper,
  rdflib and Comunica read only the members the format defines and ignore others;
* the query page shows the message (``static/js/query.js`` reads the headers).

:class:`Timings` measures the request's stages for the ``Server-Timing`` header: ``parse``
(reading and checking the request, preparing the query), ``execute`` (the store's call:
evaluation and serialisation in the query process, or the result cache) and ``serialise``
(what the web worker does to the bytes: the truncation notice, compression).
"""

from __future__ import annotations

import json
import time

from flask import Response

from poli_kg.store.results import SPARQL_RESULTS_JSON, QueryResult

TRUNCATION_FIELD = "truncation"
"""The member of SPARQL JSON results that says the result was cut (absent otherwise)."""


def truncation_message(result: QueryResult, limit: int) -> str:
    """What a client is told of a result cut at ``limit`` solutions or triples (ASCII)."""
    what = "triples" if result.form in ("CONSTRUCT", "DESCRIBE") else "solutions"
    return (f"Result truncated: this endpoint returns at most {limit} {what} per query, and "
            f"the query has more. Page through them with ORDER BY and LIMIT {limit} OFFSET 0, "
            f"then OFFSET {limit}, OFFSET {2 * limit} and so on.")


def with_truncation_field(body: bytes, limit: int, message: str) -> bytes:
    """SPARQL JSON ``body`` with the :data:`TRUNCATION_FIELD` member added at its end."""
    text = body.rstrip()
    if not text.endswith(b"}"):
        return body
    member = json.dumps({"limit": limit, "message": message}, ensure_ascii=True)
    return text[:-1] + f',"{TRUNCATION_FIELD}":{member}}}'.encode() + body[len(text):]


def result_response(result: QueryResult, limit: int) -> Response:
    """The 200 response carrying ``result`` (see the module docstring)."""
    body = result.body
    # the Content-Type among the headers: werkzeug then takes it as it is, without setting it
    headers = [("Content-Type", f"{result.media_type}; charset=utf-8"),
               ("X-Result-Count", str(result.count)),
               ("X-Result-Truncated", "true" if result.truncated else "false")]
    if result.truncated:
        message = truncation_message(result, limit)
        headers.append(("Warning", '199 - "' + message.replace('"', "'") + '"'))
        if result.media_type == SPARQL_RESULTS_JSON:
            body = with_truncation_field(body, limit, message)
    return Response(body, headers=headers)


class Timings:
    """Durations of a request's stages, for ``Server-Timing``."""

    def __init__(self) -> None:
        self._last = time.perf_counter()
        self._stages: list[tuple[str, float]] = []

    def mark(self, stage: str) -> None:
        """End ``stage`` now (it began where the previous one ended)."""
        now = time.perf_counter()
        self._stages.append((stage, (now - self._last) * 1000))
        self._last = now

    def header(self, cached: bool = False) -> str:
        """The ``Server-Timing`` value: ``parse;dur=0.41, execute;dur=3.2, …``."""
        parts = [f"{stage};dur={ms:.2f}" for stage, ms in self._stages]
        if cached:
            parts.append('cache;desc="result cache hit"')
        return ", ".join(parts)
