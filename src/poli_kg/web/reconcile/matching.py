"""Reconciliation queries: reading a batch, finding and scoring the candidates of each query.

A batch is a JSON object of queries (``{"q0": {"query": "MIAC", "type": "pkg:Societa",
"limit": 3, "properties": [{"pid": "foaf:homepage", "v": "poloagrifood.it"}]}, …}``), as
the Reconciliation Service API 0.2 defines it.  Candidates come from the search index
(:mod:`poli_kg.store.search`, any word may match), their score (0–100) from how well the
query names them (:func:`poli_kg.store.search.similarity`) and, when the query gives
property values, from how many of them the candidate has (asked of the store, one query per
property for the whole batch).  ``match`` is true only for an unambiguous best candidate:
a score of at least :data:`MATCH_SCORE` and no other within :data:`MATCH_MARGIN` of it, or
of at least :data:`CLEAR_SCORE` and no other within :data:`CLEAR_MARGIN`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from rdflib import Literal, URIRef
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge

from poli_kg import textindex as ti
from poli_kg.store.search import MAX_LIMIT, MAX_QUERY_CHARS, Hit, SearchIndex, similarity
from poli_kg.web.base.labels import vocabulary_label

MAX_BATCH = 100          # queries per batch (413 beyond)
MAX_TYPES = 10           # types per query
MAX_PROPERTIES = 10      # property conditions per query, and distinct properties per batch
MAX_VALUES = 20          # values per property condition
DEFAULT_LIMIT = 10
MIN_SCORE = 20.0         # weaker candidates are left out
MATCH_SCORE = 90.0       # a match: this good and this far ahead of the next candidate …
MATCH_MARGIN = 10.0
CLEAR_SCORE = 70.0       # … or this good and this far ahead
CLEAR_MARGIN = 25.0
NAME_SHARE = 0.75        # with property values: the name's share of the score
TYPE_MISS = 10.0         # type_strict "should": less for a candidate of another type

Values = Callable[[str, list[str]], Mapping[str, list[tuple[Any, list[str]]]]]
"""``values(property, subjects)``: ``{subject: [(value, its labels)]}`` from the store."""


@dataclass
class Query:
    """One query of a batch, checked."""

    key: str
    text: str
    types: list[str]
    limit: int
    properties: list[tuple[str, list[Any]]]
    strict: str = "any"


@dataclass
class Candidate:
    hit: Hit
    name_score: float
    score: float = 0.0
    typed: bool = True
    matched: list[bool] = field(default_factory=list)


# --------------------------------------------------------------------------- reading

def load_json(text: str, what: str) -> Any:
    """``text`` as JSON (400 with a message when it is not)."""
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise BadRequest(f"{what} is not valid JSON: {str(exc)[:120]}") from None


def read_batch(batch: Any, index: SearchIndex) -> list[Query]:
    """The queries of a batch object (400 for a malformed one, 413 for one too large)."""
    if not isinstance(batch, dict):
        raise BadRequest("queries must be a JSON object of queries, e.g. "
                         '{"q0": {"query": "MESAP"}}.')
    if len(batch) > MAX_BATCH:
        raise RequestEntityTooLarge(f"A batch may hold at most {MAX_BATCH} queries; this one "
                                    f"holds {len(batch)}: send it in smaller batches.")
    return [read_query(str(key), value, index) for key, value in batch.items()]


def read_query(key: str, value: Any, index: SearchIndex) -> Query:
    where = f"queries[{key[:40]!r}]"
    if not isinstance(value, dict):
        raise BadRequest(f"{where} must be an object with a query and/or properties.")
    text = value.get("query", "")
    if not isinstance(text, str):
        raise BadRequest(f"{where}.query must be a string.")
    types = value.get("type", [])
    types = [types] if isinstance(types, str) else types
    if not isinstance(types, list) or not all(isinstance(t, str) for t in types):
        raise BadRequest(f"{where}.type must be a type id or a list of type ids.")
    if len(types) > MAX_TYPES:
        raise BadRequest(f"{where}.type: at most {MAX_TYPES} types.")
    limit = value.get("limit", DEFAULT_LIMIT)
    if isinstance(limit, bool) or not isinstance(limit, (int, float)) \
            or not math.isfinite(limit):
        raise BadRequest(f"{where}.limit must be a number.")
    strict = value.get("type_strict", "any")
    if strict not in ("any", "should", "all"):
        raise BadRequest(f"{where}.type_strict must be any, should or all.")
    return Query(key=key, text=text.strip()[:MAX_QUERY_CHARS],
                 types=[index.resolve_type(t) or ti.expand_name(t) for t in types if t.strip()],
                 limit=max(1, min(MAX_LIMIT, int(limit))),
                 properties=read_properties(where, value.get("properties", [])), strict=strict)


def read_properties(where: str, conditions: Any) -> list[tuple[str, list[Any]]]:
    """``[(property IRI, [values])]`` of a query's property conditions."""
    if not isinstance(conditions, list) or len(conditions) > MAX_PROPERTIES:
        raise BadRequest(f"{where}.properties must be a list of at most {MAX_PROPERTIES} "
                         '{"pid": …, "v": …} objects.')
    found = []
    for condition in conditions:
        if not isinstance(condition, dict) or not isinstance(condition.get("pid"), str) \
                or "v" not in condition:
            raise BadRequest(f'{where}.properties: each must be {{"pid": "…", "v": …}}.')
        values = condition["v"] if isinstance(condition["v"], list) else [condition["v"]]
        if len(values) > MAX_VALUES or not all(_is_value(v) for v in values):
            raise BadRequest(f"{where}.properties: at most {MAX_VALUES} values, each a string, "
                             'a number, a boolean or {"id": …}.')
        found.append((ti.expand_name(condition["pid"].strip()), values))
    return found


def _is_value(value: Any) -> bool:
    if isinstance(value, dict):
        return isinstance(value.get("id"), str)
    return isinstance(value, (str, int, float, bool))


# --------------------------------------------------------------------------- answering

def reconcile(queries: list[Query], index: SearchIndex, lang: str,
              property_values: Values) -> dict[str, dict]:
    """The result batch: ``{key: {"result": [candidate, …]}}``."""
    found = {q.key: candidates(q, index) for q in queries}
    conditions = {pid for q in queries for pid, _values in q.properties}
    if len(conditions) > MAX_PROPERTIES:
        raise BadRequest(f"A batch may use at most {MAX_PROPERTIES} distinct properties.")
    subjects = sorted({c.hit.iri for cs in found.values() for c in cs})
    values = {pid: property_values(pid, subjects) for pid in sorted(conditions)}
    answer = {}
    for q in queries:
        ranked = rank(q, found[q.key], values)
        answer[q.key] = {"result": [as_result(c, i == 0 and is_match(ranked), index, lang)
                                    for i, c in enumerate(ranked)]}
    return answer


def candidates(q: Query, index: SearchIndex) -> list[Candidate]:
    """The candidates of one query, scored by name (all the index finds, up to a margin)."""
    text = q.text or " ".join(_search_text(v) for _pid, values in q.properties for v in values)
    if not text.strip():
        return []
    wanted = max(q.limit * 3, 20)
    filtered = q.types and q.strict != "should"
    hits = index.search(text, types=q.types if filtered else (), limit=wanted,
                        every_word=False, every_type=q.strict == "all").hits
    typed = {h.iri for h in index.search(text, types=q.types, limit=wanted,
                                         every_word=False).hits} if q.types and not filtered \
        else None
    return [Candidate(hit, similarity(q.text, hit.names) if q.text else 0.0,
                      typed=typed is None or hit.iri in typed) for hit in hits]


def _search_text(value: Any) -> str:
    """What to search for a property value: its name, or the host of a website."""
    text = _value_text(value)
    if "." in text and " " not in text.strip():
        name = ti.host(text if "//" in text else "http://" + text.strip())
        if name:
            return " ".join(ti.host_terms(name))
    return text


def _value_text(value: Any) -> str:
    if isinstance(value, dict):
        return str(value.get("name") or value["id"])
    return str(value)


def rank(q: Query, found: list[Candidate], values: Mapping[str, dict]) -> list[Candidate]:
    """The candidates' final scores, best first (the index's order for equal scores)."""
    for c in found:
        c.matched = [has_value(values.get(pid, {}).get(c.hit.iri, []), wanted)
                     for pid, wanted in q.properties]
        share = sum(c.matched) / len(c.matched) if c.matched else None
        if share is None:
            c.score = c.name_score
        elif q.text:
            c.score = NAME_SHARE * c.name_score + (1 - NAME_SHARE) * 100 * share
        else:
            c.score = 100 * share
        if not c.typed:
            c.score -= TYPE_MISS
        c.score = round(max(c.score, 0.0), 1)
    kept = [c for c in found if c.score >= MIN_SCORE]
    kept.sort(key=lambda c: -c.score)   # stable: the index's order within a score
    return kept[:q.limit]


def is_match(ranked: list[Candidate]) -> bool:
    """An unambiguous best candidate: it has every property value asked for, and it is
    nearly exact and ahead of the next, or good and far ahead of it."""
    if not ranked or not all(ranked[0].matched):
        return False
    best = ranked[0].score
    following = ranked[1].score if len(ranked) > 1 else 0.0
    return (best >= MATCH_SCORE and following < best - MATCH_MARGIN) or \
        (best >= CLEAR_SCORE and following < best - CLEAR_MARGIN)


def as_result(c: Candidate, match: bool, index: SearchIndex, lang: str) -> dict[str, Any]:
    hit = c.hit
    result: dict[str, Any] = {
        "id": hit.iri, "name": hit.label(lang), "score": c.score, "match": match,
        "type": [{"id": t, "name": index.type_name(t, lang, vocabulary_label)}
                 for t in hit.data.get("types", ())],
        "features": [{"id": "name", "value": c.name_score},
                     {"id": "properties", "value": sum(c.matched)}],
    }
    description = hit.description(lang)
    if description:
        result["description"] = description
    return result


# --------------------------------------------------------------------------- property values

def has_value(values: Iterable[tuple[Any, list[str]]], wanted: list[Any]) -> bool:
    """Whether one of a candidate's values is one of those wanted (an id, a name, a text,
    a number, or a website of the same host)."""
    for value, labels in values:
        texts = [str(value), *labels]
        for w in wanted:
            w_id = w.get("id") if isinstance(w, dict) else None
            w_text = _value_text(w)
            if w_id is not None and w_id == str(value):
                return True
            if isinstance(value, URIRef) and _same_host(w_text, str(value)):
                return True
            if isinstance(value, Literal) and _same_literal(w, value):
                return True
            if similarity(w_text, texts) >= MATCH_SCORE:
                return True
    return False


def _same_host(given: str, iri: str) -> bool:
    mine = ti.host(iri)
    theirs = ti.host(given if "//" in given else "http://" + given.strip())
    return mine is not None and mine == theirs


def _same_literal(wanted: Any, value: Literal) -> bool:
    if isinstance(wanted, bool) or not isinstance(wanted, (int, float)):
        return False
    try:
        return float(value) == float(wanted)
    except (TypeError, ValueError):
        return False
