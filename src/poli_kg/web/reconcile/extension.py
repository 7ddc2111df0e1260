"""Data extension: the values of chosen properties for a batch of reconciled ids, and the
properties worth proposing for a type (Reconciliation Service API 0.2, "data extension").

Any property of the graph can be fetched (``{"id": "https://w3id.org/poli-kg/ontology#gestisce"}``
or by prefixed name, ``pkg:gestisce``): the website (``foaf:homepage``), the managing body
(``pkg:haSoggettoGestore``) and the poles it manages (``pkg:gestisce``), the national clusters
(``pkg:partecipaACluster``), the member organisations (``pkg:haComponente``), the thematic
area, the legal name and status, … inferred values included.  Values that are resources come
as ``{"id", "name"}`` (ids of this service), literals as ``{"str"}``, ``{"int"}``,
``{"float"}`` or ``{"date"}``.  Each property's setting ``limit`` keeps its first values.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from typing import TYPE_CHECKING, Any

from rdflib import Literal, URIRef
from rdflib.namespace import XSD
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge

from poli_kg import textindex as ti
from poli_kg.namespaces import ONTOLOGY_IRI
from poli_kg.store.search import SearchIndex
from poli_kg.web.base.labels import vocabulary_label

if TYPE_CHECKING:   # an annotation only (an import would lengthen the import chain)
    from poli_kg.web.reconcile.matching import Values

MAX_IDS = 500
MAX_EXTEND_PROPERTIES = 20
INTEGERS = {XSD.integer, XSD.int, XSD.long, XSD.short, XSD.nonNegativeInteger,
            XSD.positiveInteger, XSD.gYear}
DECIMALS = {XSD.decimal, XSD.double, XSD.float}
SCHEMA_SPACE = ONTOLOGY_IRI + "#"
_DATE = re.compile(r"-?(?:[1-9][0-9]*)?[0-9]{4}-(1[0-2]|0[1-9])-(3[01]|0[1-9]|[12][0-9])")
_TIME = re.compile(r"T(2[0-3]|[01][0-9]):[0-5][0-9]:[0-5][0-9](\.[0-9]+)?"
                   r"(Z|[+-](2[0-3]|[01][0-9]):[0-5][0-9])?")


def read_extension(body: Any) -> tuple[list[str], list[tuple[str, int]]]:
    """``(ids, [(property IRI, limit)])`` of a data extension query (400/413 when malformed)."""
    if not isinstance(body, dict) or not isinstance(body.get("ids"), list) \
            or not isinstance(body.get("properties"), list):
        raise BadRequest('extend must be {"ids": [...], "properties": [{"id": ...}, ...]}.')
    ids, properties = body["ids"], body["properties"]
    if len(ids) > MAX_IDS or len(properties) > MAX_EXTEND_PROPERTIES:
        raise RequestEntityTooLarge(f"A data extension query may ask for at most {MAX_IDS} ids "
                                    f"and {MAX_EXTEND_PROPERTIES} properties.")
    if not all(isinstance(i, str) for i in ids):
        raise BadRequest("extend.ids must be strings.")
    wanted = []
    for prop in properties:
        if not isinstance(prop, dict) or not isinstance(prop.get("id"), str):
            raise BadRequest('extend.properties: each must be {"id": "…"}.')
        wanted.append((ti.expand_name(prop["id"].strip()), _limit(prop.get("settings"))))
    return list(dict.fromkeys(ids)), wanted


def _limit(settings: Any) -> int:
    """The ``limit`` setting (0: every value); a setting that is not a number counts as 0."""
    raw = settings.get("limit", 0) if isinstance(settings, dict) else 0
    try:
        value = float(raw)
    except (TypeError, ValueError):
        return 0
    return int(value) if math.isfinite(value) and value > 0 else 0


def extend(ids: list[str], properties: list[tuple[str, int]], index: SearchIndex,
           lang: str, property_values: Values) -> dict[str, Any]:
    """The data extension response: ``{"meta": [...], "rows": {id: {property: [values]}}}``."""
    present = index.get(ids)
    known = [i for i in ids if i in present]
    rows: dict[str, dict[str, list]] = {i: {} for i in ids}
    meta = []
    for pid, limit in properties:
        found = property_values(pid, known)
        objects = index.get(str(v) for vs in found.values() for v, _l in vs
                            if isinstance(v, URIRef))
        entry: dict[str, Any] = {"id": pid, "name": index.property_name(pid, lang,
                                                                       vocabulary_label)}
        types = Counter(h.type for h in objects.values() if h.type)
        if types:
            common = min(types, key=lambda t: (-types[t], t))
            entry["type"] = {"id": common, "name": index.type_name(common, lang,
                                                                   vocabulary_label)}
        meta.append(entry)
        for i in ids:
            cells = [cell(v, objects, lang) for v, _labels in found.get(i, [])]
            rows[i][pid] = cells[:limit] if limit else cells
    return {"meta": meta, "rows": rows}


def cell(value: Any, objects: dict, lang: str) -> dict[str, Any]:
    """One value as the protocol writes it."""
    if isinstance(value, URIRef):
        hit = objects.get(str(value))
        if hit is None:   # a website, or a term of another vocabulary: not an id of this service
            return {"str": str(value)}
        return {"id": hit.iri, "name": hit.label(lang)}
    if isinstance(value, Literal):
        return literal_cell(value)
    return {"str": str(value)}


def literal_cell(value: Literal) -> dict[str, Any]:
    text = str(value)
    try:
        if value.datatype in INTEGERS and re.fullmatch(r"[+-]?\d{1,18}", text):
            return {"int": int(text)}
        if value.datatype in DECIMALS and math.isfinite(float(text)):
            return {"float": float(text)}
    except ValueError:
        pass
    if value.datatype == XSD.date and _DATE.fullmatch(text):
        return {"date": f"{text}T00:00:00Z"}
    day = _DATE.match(text)
    if value.datatype == XSD.dateTime and day and _TIME.fullmatch(text[day.end():]):
        return {"date": text}
    return {"str": text}


def propose(index: SearchIndex, type_iri: str | None, limit: int, lang: str) -> dict[str, Any]:
    """The properties the instances of ``type_iri`` have: the ontology's first, then by how
    many instances have them."""
    def uses(p: dict) -> int:
        return p.get("types", {}).get(type_iri, 0) if type_iri else p.get("count", 0)

    entries = [p for p in index.properties.values() if uses(p)]
    entries.sort(key=lambda p: (not p["iri"].startswith(SCHEMA_SPACE), -uses(p), p["iri"]))
    proposals = [{"id": p["iri"], "name": index.property_name(p["iri"], lang, vocabulary_label),
                  "description": ti.short_name(p["iri"])} for p in entries[:limit]]
    answer: dict[str, Any] = {"properties": proposals, "limit": limit}
    if type_iri:
        answer["type"] = type_iri
    return answer
