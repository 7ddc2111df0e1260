"""The result formats of the SPARQL endpoint, and how a request chooses one.

A query's form decides the formats it may be answered in (:data:`FORMATS_BY_FORM`):
SELECT and ASK results as SPARQL JSON, XML, CSV or TSV; CONSTRUCT and DESCRIBE graphs
(and the service description) as Turtle, N-Triples, JSON-LD or RDF/XML.  A ``format``
parameter (a name such as ``json`` or ``ttl``, or a media type) wins over ``Accept``.

The names and aliases are those clients send: a name means the format of its kind for the
query's form (``json`` is SPARQL JSON for SELECT and JSON-LD for CONSTRUCT, ``xml`` SPARQL
XML or RDF/XML); N3 is asked for as ``n3``, ``text/n3`` or ``text/rdf+n3`` (SPARQLWrapper's
``N3`` return format) and answered in Turtle, which is N3 without its extensions; the
Turtle media types before its registration (``application/x-turtle``,
``application/turtle``) are Turtle too.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

from werkzeug.exceptions import NotAcceptable

from poli_kg.store.results import (
    CSV, JSON_LD, N_TRIPLES, RDF_XML, SPARQL_RESULTS_JSON, SPARQL_RESULTS_XML, TSV, TURTLE,
)
from poli_kg.web.base.conneg import negotiate


@dataclass(frozen=True)
class Format:
    """A result format: its media type, ``format=`` names, and media types that alias it."""

    media_type: str
    names: tuple[str, ...]
    aliases: tuple[str, ...] = ()
    w3c: str = ""
    """Its IRI under http://www.w3.org/ns/formats/ (for the service description)."""
    rdflib_name: str = ""
    """rdflib's serializer name (RDF formats only)."""


RESULT_FORMATS: tuple[Format, ...] = (
    Format(SPARQL_RESULTS_JSON, ("json", "srj", "sparql-results+json"), ("application/json",),
           "SPARQL_Results_JSON"),
    Format(SPARQL_RESULTS_XML, ("xml", "srx", "sparql-results+xml"), (), "SPARQL_Results_XML"),
    Format(CSV, ("csv",), (), "SPARQL_Results_CSV"),
    Format(TSV, ("tsv",), (), "SPARQL_Results_TSV"),
)
"""Formats of SELECT and ASK results, the default first."""
GRAPH_FORMATS: tuple[Format, ...] = (
    Format(TURTLE, ("turtle", "ttl", "n3"),
           ("application/x-turtle", "application/turtle", "text/n3", "text/rdf+n3",
            "application/n3", "application/rdf+n3"), "Turtle", "turtle"),
    Format(N_TRIPLES, ("nt", "ntriples", "n-triples"), ("text/plain",), "N-Triples", "nt"),
    Format(JSON_LD, ("jsonld", "json-ld", "json"), ("application/json", "application/x-json+ld"),
           "JSON-LD", "json-ld"),
    Format(RDF_XML, ("rdfxml", "rdf+xml", "rdf", "xml"), (), "RDF_XML", "xml"),
)
"""Formats of CONSTRUCT and DESCRIBE results (and of the service description), the default first."""
FORMATS_BY_FORM: dict[str, tuple[Format, ...]] = {
    "SELECT": RESULT_FORMATS, "ASK": RESULT_FORMATS,
    "CONSTRUCT": GRAPH_FORMATS, "DESCRIBE": GRAPH_FORMATS,
}


def offers(formats: Sequence[Format]) -> list[tuple[str, Format]]:
    """(media type, format) pairs to negotiate over: canonical types first, then aliases."""
    return ([(f.media_type, f) for f in formats]
            + [(alias, f) for f in formats for alias in f.aliases])


def available(formats: Sequence[Format]) -> str:
    """Plain-text list of formats, for error messages."""
    return "\n".join(f"  {f.media_type}  (format={f.names[0]})" for f in formats)


def choose_format(
    form: str, accept: str | None, format_param: str | Sequence[str] | None = None
) -> Format:
    """The result format for a query of ``form``: by ``format_param`` if given, else by ``accept``.

    ``format_param`` may hold several values (SPARQLWrapper sends ``format=tsv&format=
    text/tab-separated-values``): the first that names a format of ``form`` wins.
    Raises NotAcceptable (406) with the list of acceptable types.
    """
    formats = FORMATS_BY_FORM[form]
    values = [format_param] if isinstance(format_param, str) else list(format_param or [])
    values = [v.strip().lower() for v in values if v and v.strip()]
    if values:
        for wanted in values:
            for fmt in formats:
                if wanted in fmt.names or wanted == fmt.media_type or wanted in fmt.aliases:
                    return fmt
        raise NotAcceptable(
            f"format={values[0]} is not available for {form} queries. Available:\n"
            + available(formats))
    chosen = _negotiated(form, accept)
    if chosen is None:
        raise NotAcceptable(
            f"None of the media types in the Accept header ({accept}) is available for "
            f"{form} queries. Available:\n" + available(formats)
            + "\n(or choose with the format parameter)")
    return chosen


@functools.lru_cache(maxsize=512)
def _negotiated(form: str, accept: str | None) -> Format | None:
    """The format ``accept`` prefers for ``form`` (clients send the same few headers again
    and again: remembered)."""
    pairs = offers(FORMATS_BY_FORM[form])
    chosen = negotiate(accept, [media_type for media_type, _ in pairs])
    return None if chosen is None else dict(pairs)[chosen]
