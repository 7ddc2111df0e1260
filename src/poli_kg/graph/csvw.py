"""The RDF Data Cube data sets as W3C CSV on the Web tables, for spreadsheets and CSV harvesters.

For every ``qb:DataSet`` of the graph :func:`write_csvw` writes ``{name}.csv`` (one row per
observation) and ``{name}.csv-metadata.json`` beside it (the CSVW default location of a table's
metadata), ``{name}`` being the last segment of the data set's IRI.  The metadata describe each
column (Italian and English titles, datatype, language) and say how a row turns into RDF, so
that CSV-to-RDF conversion (CSV2RDF, minimal mode) of the table and its metadata gives back
exactly the triples of the data set's observations:

* the observation IRI is the schema's ``aboutUrl``: a common namespace plus the suppressed key
  column ``osservazione``, the IRI's last segment;
* each predicate with each kind of object is one column with the predicate as ``propertyUrl``:
  IRIs through a ``valueUrl`` template (the column holds what follows the values' common
  namespace, e.g. ``aderenti`` for ``…/scheme/indicatori/aderenti``), language-tagged strings
  one column per language, typed literals one column per datatype (``sdmx-measure:obsValue`` is
  an ``xsd:integer`` for counts and an ``xsd:decimal`` for amounts and rates, so it fills two
  columns, one of them empty on each row), a predicate with several values one column per value;
* ``rdf:type`` and ``qb:dataSet``, the same IRI on every row, are virtual columns (no cells).

Columns come in the data structure's order (dimensions by ``qb:order``, then measures, then
attributes), then the other predicates.  The header row holds the column names (letters, digits
and ``_``, as the National Data Catalog asks of CSV headers), which are also each column's
``und`` title, so CSVW processors match the header to the metadata by name or by title; the
Italian and English titles say what a column holds.  A graph whose
observations cannot be written this way (a blank node, an empty or untyped literal, an IRI
that a URI template would percent-encode) raises :class:`ValueError` instead of writing a table
that converts back to something else.

The tables are made from a :class:`Description`, the triples about the few subjects they read,
indexed by subject: the build selects them from the parsed triples with :func:`cube_description`
(two passes, however large the graph), and an rdflib graph is read the same way.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, PROV, QB, RDF, RDFS, SKOS, XSD
from rdflib.term import Node

from poli_kg.graph.rdfterms import to_rdflib

__all__ = ["CC_BY", "MEDIA_TYPES", "Description", "cube_description", "table_files",
           "write_csvw"]

CC_BY = URIRef("https://creativecommons.org/licenses/by/4.0/")
MEDIA_TYPES = {".csv": "text/csv", ".json": "application/csvm+json"}
METADATA_SUFFIX = "-metadata.json"
KEY = "osservazione"
KEY_TITLES = {"it": "osservazione", "en": "observation", "und": KEY}
LANGUAGES = ("it", "en")
# What a row is and which table it is in: the same on every row, so no cells (virtual columns).
VIRTUAL = frozenset({RDF.type, QB.dataSet})

# Titles of the predicates the ontology does not declare (it declares the cube's components).
TITLES = {
    RDF.type: {"it": "tipo", "en": "type"},
    QB.dataSet: {"it": "insieme di dati", "en": "data set"},
    RDFS.label: {"it": "etichetta", "en": "label"},
    SKOS.note: {"it": "nota", "en": "note"},
    PROV.wasDerivedFrom: {"it": "estratto della fonte", "en": "source excerpt"},
}
DATATYPE_TITLES = {
    XSD.integer: {"it": "intero", "en": "integer"},
    XSD.decimal: {"it": "decimale", "en": "decimal"},
}
# The XSD datatypes CSVW names as they are (https://www.w3.org/TR/tabular-data-model/#datatypes),
# less xsd:string: rdflib keeps "x"^^xsd:string apart from the plain "x" a string cell becomes.
CSVW_DATATYPES = frozenset({
    "anyURI", "base64Binary", "boolean", "date", "dateTime", "dateTimeStamp", "decimal",
    "integer", "long", "int", "short", "byte", "nonNegativeInteger", "positiveInteger",
    "unsignedLong", "unsignedInt", "unsignedShort", "unsignedByte", "nonPositiveInteger",
    "negativeInteger", "double", "duration", "dayTimeDuration", "yearMonthDuration", "float",
    "gDay", "gMonth", "gMonthDay", "gYear", "gYearMonth", "hexBinary", "QName",
    "normalizedString", "token", "language", "Name", "NMTOKEN", "time",
})
UNRESERVED = re.compile(r"[A-Za-z0-9._~-]*")
RESERVED_OR_UNRESERVED = re.compile(r"[A-Za-z0-9._~:/?#\[\]@!$&'()*+,;=-]*")


class Description:
    """rdflib triples indexed by subject, then predicate: the few lookups the tables make.

    Each triple is kept once, as in an rdflib graph (two pyoxigraph terms rdflib takes as equal,
    such as ``"01"`` and ``"1"`` as ``xsd:integer``, count once), and a subject's objects of
    a predicate in the order first given.
    """

    def __init__(self, triples: Iterable[tuple[Node, Node, Node]] = ()) -> None:
        # subject → predicate → objects, a dict as an ordered set (keys only)
        self._about: dict[Node, dict[Node, dict[Node, None]]] = {}
        for s, p, o in triples:
            self.add(s, p, o)

    def add(self, s: Node, p: Node, o: Node) -> None:
        self._about.setdefault(s, {}).setdefault(p, {})[o] = None

    def objects(self, subject: Node | None, predicate: Node) -> list[Node]:
        return list(self._about.get(subject, {}).get(predicate, ()))

    def value(self, subject: Node | None, predicate: Node) -> Node | None:
        objects = self.objects(subject, predicate)
        return objects[0] if objects else None

    def predicate_objects(self, subject: Node) -> Iterator[tuple[Node, Node]]:
        for predicate, objects in self._about.get(subject, {}).items():
            for obj in objects:
                yield predicate, obj

    def subjects(self, predicate: Node, obj: Node) -> list[Node]:
        return [s for s, about in self._about.items() if obj in about.get(predicate, ())]


def _described(graph: Graph | Description) -> Description:
    return graph if isinstance(graph, Description) else Description(graph)


_OX_TYPE, _OX_DATASET_CLASS = ox.NamedNode(str(RDF.type)), ox.NamedNode(str(QB.DataSet))
_OX_LABEL = ox.NamedNode(str(RDFS.label))
# The predicates that lead from a data set to the subjects its table reads (an observation
# points to its data set, the data set to its structure, the structure to its components).
_OX_IN_DATASET, _OX_STRUCTURE, _OX_COMPONENT = (
    ox.NamedNode(str(p)) for p in (QB.dataSet, QB.structure, QB.component))
_OX_LINKS = frozenset({_OX_TYPE, _OX_IN_DATASET, _OX_STRUCTURE, _OX_COMPONENT, _OX_LABEL})


def cube_description(triples: Iterable[ox.Triple | ox.Quad]) -> Description:
    """What :func:`write_csvw` reads of ``triples`` (pyoxigraph triples or quads, graph names
    ignored), as the same tables would read it from the whole graph.

    That is every triple about a data set, its observations, its structure and the structure's
    components, and the ``rdfs:label`` of the predicates the observations use (the columns'
    titles), found in two passes over ``triples``: the tables then cost what the observations
    are, not what the graph is.
    """
    triples = triples if isinstance(triples, Sequence) else list(triples)   # read twice
    datasets, links, labels = set(), defaultdict(list), []
    for t in triples:   # the first pass: only the links (and the labels, for the titles)
        p = t.predicate
        if p in _OX_LINKS:
            if p == _OX_LABEL:
                labels.append(t)
            elif p != _OX_TYPE:
                links[p].append((t.subject, t.object))
            elif t.object == _OX_DATASET_CLASS:
                datasets.add(t.subject)
    observations = {s for s, o in links[_OX_IN_DATASET] if o in datasets}
    structures = {o for s, o in links[_OX_STRUCTURE] if s in datasets}
    components = {o for s, o in links[_OX_COMPONENT] if s in structures}
    wanted = datasets | observations | structures | components
    about = [t for t in triples if t.subject in wanted]
    columns = {t.predicate for t in about if t.subject in observations}
    about += [t for t in labels if t.subject in columns and t.subject not in wanted]
    return _to_description(about)


def _to_description(triples: Iterable[ox.Triple | ox.Quad]) -> Description:
    """The rdflib terms of ``triples``, each converted once (objects repeat across rows)."""
    terms: dict = {}
    found = Description()
    for t in triples:
        s, p, o = t.subject, t.predicate, t.object
        for term in (s, p, o):
            if term not in terms:
                terms[term] = to_rdflib(term)
        found.add(terms[s], terms[p], terms[o])
    return found


@dataclass(frozen=True)
class Column:
    """One column of a table: the cells of one predicate, one kind of object, one value index."""

    predicate: URIRef
    kind: str                  # "iri", "lang" or "typed"
    tag: str = ""              # the language (lang) or the datatype IRI (typed)
    index: int = 0             # which of a predicate's values, for predicates with several
    namespace: str = ""        # iri: what the cell value is appended to
    reserved: bool = False     # iri: the cell holds "/" and the template expands it as is
    constant: Node | None = None   # iri: the one value of a virtual column
    several: bool = False      # the predicate has several values of this kind on some row
    required: bool = False     # every row has a value

    @property
    def key(self) -> tuple[URIRef, str, str]:
        return (self.predicate, self.kind, self.tag)


def _local_name(iri: str) -> str:
    return re.split(r"[#/]", iri.rstrip("/#"))[-1]


def _namespace(values: Iterable[str]) -> str:
    """The longest common prefix of ``values`` ending in ``/`` or ``#`` (``""`` if only a scheme)."""
    values = list(values)
    prefix = values[0]
    for value in values[1:]:
        while not value.startswith(prefix):
            prefix = prefix[:-1]
    cut = max(prefix.rfind("/"), prefix.rfind("#")) + 1
    prefix = prefix[:cut]
    return prefix if prefix.count("/") >= 3 else ""


def _kind(obj: Node) -> tuple[str, str]:
    if isinstance(obj, URIRef):
        return "iri", ""
    if not isinstance(obj, Literal):
        raise ValueError(f"a blank node cannot be written as a CSVW cell: {obj!r}")
    if str(obj) == "":
        raise ValueError("an empty literal cannot be written as a CSVW cell (it reads as null)")
    if obj.language:
        return "lang", obj.language
    if obj.datatype is None or _local_name(obj.datatype) not in CSVW_DATATYPES \
            or not str(obj.datatype).startswith(str(XSD)):
        raise ValueError(f"no CSVW datatype for the literal {obj!r}")
    return "typed", str(obj.datatype)


def _values(graph: Description,
            observations: list[URIRef]) -> dict[URIRef, dict[tuple, list[Node]]]:
    """For each observation, its objects grouped by (predicate, kind, tag), sorted."""
    found: dict[URIRef, dict[tuple, list[Node]]] = {}
    for obs in observations:
        groups: dict[tuple, list[Node]] = defaultdict(list)
        for pred, obj in graph.predicate_objects(obs):
            groups[(pred, *_kind(obj))].append(obj)
        found[obs] = {key: sorted(objs) for key, objs in groups.items()}
    return found


def _iri_column(key: tuple, values: list[list[Node]], index: int, several: bool,
                rows: int) -> Column:
    cells = [str(v[index]) for v in values if len(v) > index]
    distinct = set(cells)
    if key[0] in VIRTUAL and len(distinct) == 1 and len(cells) == rows and not several:
        return Column(*key, constant=URIRef(cells[0]), required=True)
    namespace = _namespace(distinct)
    rests = [cell[len(namespace):] for cell in distinct]
    if not all(rest and RESERVED_OR_UNRESERVED.fullmatch(rest) for rest in rests):
        raise ValueError(f"{key[0]}: IRIs a URI template would percent-encode: {sorted(distinct)}")
    reserved = not all(UNRESERVED.fullmatch(rest) for rest in rests)
    return Column(*key, index=index, namespace=namespace, reserved=reserved, several=several,
                  required=len(cells) == rows)


def _rank(graph: Description, dataset: URIRef) -> dict[URIRef, tuple]:
    """Sort keys of the data structure's components: dimensions by qb:order, measures, attributes."""
    ranks: dict[URIRef, tuple] = {}
    structure = graph.value(dataset, QB.structure)
    for component in graph.objects(structure, QB.component) if structure is not None else ():
        for group, prop in enumerate((QB.dimension, QB.measure, QB.attribute)):
            target = graph.value(component, prop)
            if target is not None:
                order = graph.value(component, QB.order)
                ranks[target] = (group, int(order) if order is not None else 0)
    return ranks


def _columns(graph: Description, dataset: URIRef, values: dict[URIRef, dict]) -> list[Column]:
    ranks = _rank(graph, dataset)
    keys = sorted({key for groups in values.values() for key in groups},
                  key=lambda k: (ranks.get(k[0], (3, 0)), str(k[0]), k[1],
                                 LANGUAGES.index(k[2]) if k[2] in LANGUAGES else 9, k[2]))
    columns = []
    for key in keys:
        per_row = [groups.get(key, []) for groups in values.values()]
        width = max(len(v) for v in per_row)
        for index in range(width):
            if key[1] == "iri":
                columns.append(_iri_column(key, per_row, index, width > 1, len(per_row)))
            else:
                required = all(len(v) > index for v in per_row)
                columns.append(Column(*key, index=index, several=width > 1, required=required))
    virtual = [c for c in columns if c.constant is not None]
    return [c for c in columns if c.constant is None] + virtual


def _name(column: Column) -> str:
    """The column's name: a URI template variable (letters, digits, ``_``), also its header."""
    name = _local_name(column.predicate)
    if column.kind != "iri":
        name += "_" + (column.tag if column.kind == "lang" else _local_name(column.tag))
    name += f"_{column.index + 1}" if column.several else ""
    return re.sub(r"[^A-Za-z0-9_]", "_", name)


def _titles(graph: Description, column: Column) -> dict[str, str]:
    labels = {lit.language: str(lit) for lit in graph.objects(column.predicate, RDFS.label)
              if isinstance(lit, Literal) and lit.language in LANGUAGES}
    base = TITLES.get(column.predicate) or labels
    titles = {}
    for lang in LANGUAGES:
        title = base.get(lang) or _local_name(column.predicate)
        if column.kind == "lang":
            title += f" ({column.tag})"
        elif column.kind == "typed":
            dt = DATATYPE_TITLES.get(URIRef(column.tag), {})
            title += f" ({dt.get(lang) or _local_name(column.tag)})"
        titles[lang] = title + (f" {column.index + 1}" if column.several else "")
    return titles | {"und": _name(column)}


def _column_metadata(graph: Description, column: Column) -> dict:
    name = _name(column)
    meta: dict = {"name": name, "titles": _titles(graph, column),
                  "propertyUrl": str(column.predicate)}
    if column.constant is not None:
        return {**meta, "virtual": True, "valueUrl": str(column.constant)}
    if column.kind == "iri":
        meta["valueUrl"] = column.namespace + ("{+" if column.reserved else "{") + name + "}"
    elif column.kind == "lang":
        meta |= {"datatype": "string", "lang": column.tag}
    else:
        meta["datatype"] = _local_name(column.tag)
    if column.required:
        meta["required"] = True
    return meta


def _cell(column: Column, objects: list[Node]) -> str:
    if len(objects) <= column.index:
        return ""
    value = str(objects[column.index])
    return value[len(column.namespace):] if column.kind == "iri" else value


def _observations(graph: Description, dataset: URIRef) -> tuple[str, list[URIRef]]:
    observations = sorted(s for s in graph.subjects(QB.dataSet, dataset))
    if not all(isinstance(s, URIRef) for s in observations) or not observations:
        raise ValueError(f"{dataset}: a data set needs observations with IRIs")
    namespace = _namespace(str(s) for s in observations) if len(observations) > 1 \
        else str(observations[0])[:str(observations[0]).rfind("/") + 1]
    for obs in observations:
        if not UNRESERVED.fullmatch(str(obs)[len(namespace):]):
            raise ValueError(f"{obs}: not a namespace plus one plain segment")
    return namespace, observations


def _metadata(graph: Description, dataset: URIRef, name: str, namespace: str,
              columns: list[Column], licence: URIRef | None) -> dict:
    titles = [{"@value": str(lit), "@language": lang} for lang in LANGUAGES
              for lit in sorted(graph.objects(dataset, RDFS.label))
              if isinstance(lit, Literal) and lit.language == lang]
    meta: dict = {"@context": ["http://www.w3.org/ns/csvw", {"@language": "it"}],
                  "url": f"{name}.csv", "dc:title": titles, "dc:isFormatOf": {"@id": str(dataset)}}
    source = graph.value(dataset, DCTERMS.source)
    if isinstance(source, URIRef):
        meta["dc:source"] = {"@id": str(source)}
    if licence is not None:
        meta["dc:license"] = {"@id": str(licence)}
    key = {"name": KEY, "titles": KEY_TITLES, "required": True, "suppressOutput": True}
    meta |= {"dialect": {"trim": False}, "tableSchema": {
        "columns": [key] + [_column_metadata(graph, c) for c in columns],
        "primaryKey": KEY, "aboutUrl": namespace + "{" + KEY + "}"}}
    return meta


def _csv(graph: Description, namespace: str, observations: list[URIRef],
         values: dict[URIRef, dict], columns: list[Column]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    cells = [c for c in columns if c.constant is None]
    writer.writerow([KEY] + [_name(c) for c in cells])
    for obs in observations:
        writer.writerow([str(obs)[len(namespace):]]
                        + [_cell(c, values[obs].get(c.key, [])) for c in cells])
    return out.getvalue()


def table_files(graph: Graph | Description, dataset: URIRef,
                licence: URIRef | None = CC_BY) -> dict[str, str]:
    """The CSV table and its CSVW metadata for one data set: ``{file name: text}``."""
    graph = _described(graph)
    name = _local_name(dataset)
    namespace, observations = _observations(graph, dataset)
    values = _values(graph, observations)
    columns = _columns(graph, dataset, values)
    names = [KEY] + [_name(c) for c in columns]
    if len(set(names)) != len(names):
        raise ValueError(f"{dataset}: two columns would have the same name: {names}")
    metadata = _metadata(graph, dataset, name, namespace, columns, licence)
    return {f"{name}.csv": _csv(graph, namespace, observations, values, columns),
            f"{name}.csv{METADATA_SUFFIX}": json.dumps(metadata, ensure_ascii=False, indent=2) + "\n"}


def write_csvw(folder: Path, graph: Graph | Description,
               licence: URIRef | None = CC_BY) -> list[Path]:
    """Write a CSV table and its CSVW metadata for every ``qb:DataSet`` of ``graph`` into ``folder``.

    ``graph`` holds the asserted observations (not the OWL RL closure: inferred triples would
    become columns) and the ontology, whose ``rdfs:label`` of each component titles its column:
    an rdflib graph, or what :func:`cube_description` selects of a large one.
    Returns the files written, tables and metadata alternately, in the data sets' IRI order.
    """
    graph = _described(graph)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for dataset in sorted(graph.subjects(RDF.type, QB.DataSet)):
        for file_name, text in table_files(graph, dataset, licence).items():
            path = folder / file_name
            path.write_text(text, encoding="utf-8", newline="")
            written.append(path)
    return written
