"""The prologue the endpoint adds to a query: its base IRI and the predefined prefixes.

Two conveniences of other public endpoints (Virtuoso, QLever, the Wikidata Query Service),
done on the query's text before the store sees it, so that every backend reads the same:

* **predefined prefixes** (:data:`PREDEFINED`, the project's prefixes of
  :data:`poli_kg.namespaces.PREFIXES`: ``rdf``, ``rdfs``, ``owl``, ``xsd``, ``skos``, ``dct``,
  ``dcat``, ``foaf``, ``org``, ``prov``, ``qb``, ``schema``, ``cov``, ``void``, ``pkg``,
  ``poli`` …) may be used without declaring them: a ``PREFIX`` line is added for each one the
  query uses and does not declare itself, so a query's own ``PREFIX`` always wins;
* **the base IRI** of a query is the endpoint's URL (as the protocol suggests): a query with a
  relative IRI gets a ``BASE`` line, which a ``BASE`` of its own overrides (later declarations
  win).

What is added goes on one line before the query (:class:`PreparedQuery`), so the positions
the parsers report are the user's own one line down (:attr:`PreparedQuery.added_lines`).
:func:`undeclared_prefixes` names the prefixes a query uses and nobody declares, for the
error message (:mod:`~poli_kg.web.sparql.diagnostics`); :data:`WELL_KNOWN` are further
common prefixes an error message can offer to declare.  The tokens come from
:func:`poli_kg.store.lexer.tokens`, which agrees with the parsers on where strings, IRIs and
comments are.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from poli_kg.namespaces import PREFIXES
from poli_kg.store.lexer import Token, tokens

PREDEFINED: dict[str, str] = {prefix: str(namespace) for prefix, namespace in PREFIXES.items()}
"""The prefixes every query may use without declaring them: label -> namespace IRI."""

WELL_KNOWN: dict[str, str] = {
    "dc": "http://purl.org/dc/elements/1.1/",
    "dcterms": "http://purl.org/dc/terms/",
    "dcmitype": "http://purl.org/dc/dcmitype/",
    "geo": "http://www.w3.org/2003/01/geo/wgs84_pos#",
    "geosparql": "http://www.opengis.net/ont/geosparql#",
    "locn": "http://www.w3.org/ns/locn#",
    "odrl": "http://www.w3.org/ns/odrl/2/",
    "vann": "http://purl.org/vocab/vann/",
    "wdt": "http://www.wikidata.org/prop/direct/",
}
"""Common prefixes that are not predefined (the dataset does not use them): an error about one
of them gives the ``PREFIX`` line to add."""

_ABSOLUTE_IRI = re.compile(r"<[A-Za-z][A-Za-z0-9+.\-]*:")


@dataclass(frozen=True)
class PreparedQuery:
    """The text sent to the store: the user's query after the line the endpoint added."""

    text: str
    added_lines: int = 0
    """How many lines were put before the user's first line (0 or 1)."""
    added_prefixes: tuple[str, ...] = ()
    """The predefined prefixes declared for the query."""


def prefixed_names(toks: list[Token]) -> list[Token]:
    """The prefixed-name tokens (``foaf:name``, ``xsd:``) outside the PREFIX declarations."""
    return [tok for i, tok in enumerate(toks)
            if tok.kind == "PNAME" and not (i > 0 and toks[i - 1].is_word("PREFIX"))]


def declared_prefixes(toks: list[Token]) -> set[str]:
    """The prefix labels the query declares (``PREFIX label: <iri>``)."""
    return {toks[i + 1].text[:-1] for i in range(len(toks) - 2)
            if toks[i].is_word("PREFIX") and toks[i + 1].kind == "PNAME"
            and toks[i + 1].text.endswith(":") and toks[i + 2].kind == "IRI"}


def label(tok: Token) -> str:
    """The prefix label of a prefixed-name token (``foaf`` of ``foaf:name``)."""
    return tok.text.split(":", 1)[0]


def undeclared_prefixes(query: str) -> list[Token]:
    """The first use of each prefix that neither the query nor :data:`PREDEFINED` declares."""
    toks = tokens(query)
    declared = declared_prefixes(toks) | set(PREDEFINED)
    first: dict[str, Token] = {}
    for tok in prefixed_names(toks):
        if label(tok) not in declared:
            first.setdefault(label(tok), tok)
    return list(first.values())


@functools.lru_cache(maxsize=256)
def prepare(query: str, base: str) -> PreparedQuery:
    """``query`` with a line declaring ``BASE <base>`` (when it has a relative IRI) and the
    predefined prefixes it uses without declaring them; ``query`` itself when it needs none."""
    toks = tokens(query)
    declared = declared_prefixes(toks)
    needed = dict.fromkeys(label(tok) for tok in prefixed_names(toks)
                           if label(tok) in PREDEFINED and label(tok) not in declared)
    relative = any(tok.kind == "IRI" and not _ABSOLUTE_IRI.match(tok.text) for tok in toks)
    if not needed and not relative:
        return PreparedQuery(query)
    line = [f"BASE <{base}>"] if relative else []
    line += [f"PREFIX {prefix}: <{PREDEFINED[prefix]}>" for prefix in needed]
    return PreparedQuery(" ".join(line) + "\n" + query.removeprefix("\ufeff"), 1, tuple(needed))
