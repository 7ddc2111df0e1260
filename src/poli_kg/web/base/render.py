"""RDF terms made ready for the page templates: a term becomes a :class:`Value` (its text in
the page's language, its link, its note), a resource's statements become :class:`Row` objects
ordered for reading, a sentence of the source an :class:`Excerpt`, the store's named graphs a
list (:func:`named_graph_list`)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.namespace import DCTERMS, FOAF, PROV, RDF, RDFS, SKOS, XSD
from rdflib.term import Node

from poli_kg.namespaces import GRAPH, PKG
from poli_kg.web.base.labels import Labels, external_name, in_language, prefixed, vocabulary_label
from poli_kg.web.base.numbers import format_date, format_number
from poli_kg.web.base.publication import BNODE_DEPTH, graph_text
from poli_kg.web.base.site import href_for
from poli_kg.web.base.text import TEXT

NUMERIC_TYPES = {XSD.integer, XSD.decimal, XSD.int, XSD.long, XSD.positiveInteger,
                 XSD.nonNegativeInteger, XSD.double, XSD.float, XSD.short}
TEMPORAL_TYPES = {XSD.date, XSD.dateTime, XSD.gYear, XSD.gYearMonth}


@dataclass
class Value:
    """An RDF term ready for a template."""

    text: str
    kind: str = "literal"            # literal | iri | bnode | list
    href: str | None = None
    external: bool = False
    iri: str | None = None
    title: str | None = None         # tooltip: prefixed name or IRI
    lang: str | None = None
    note: str | None = None          # datatype or authority, shown small
    machine: str | None = None       # the lexical form of a number or date (<data>, <time>)
    temporal: bool = False           # ``machine`` is a date or year (<time datetime>)
    inferred: bool = False
    rows: list[Row] = field(default_factory=list)      # blank node description
    items: list[Value] = field(default_factory=list)   # rdf:List members


@dataclass
class Row:
    """A property and its values (outgoing) or subjects (incoming)."""

    prop: Value
    values: list[Value]

    @property
    def inferred(self) -> bool:
        return bool(self.values) and all(v.inferred for v in self.values)


def split_inferred(rows: Iterable[Row]) -> tuple[list[Row], list[Row]]:
    """The rows' asserted values and their inferred ones, as two lists of rows (a property
    shows up in both when it has both kinds of values)."""
    asserted: list[Row] = []
    inferred: list[Row] = []
    for row in rows:
        own = [v for v in row.values if not v.inferred]
        entailed = [v for v in row.values if v.inferred]
        if own or not entailed:
            asserted.append(Row(row.prop, own))
        if entailed:
            inferred.append(Row(row.prop, entailed))
    return asserted, inferred


@dataclass
class Excerpt:
    """A sentence of the source that a resource rests on."""

    iri: str
    href: str
    text: str
    section: str | None
    lines: str | None
    document: Value | None

    @classmethod
    def from_row(cls, row: Mapping[str, Node], lang: str, document: Value | None = None) -> Excerpt:
        """The excerpt of a query solution binding ``ex``, ``value`` (``section``, ``first``,
        ``last`` when known)."""
        iri = str(row["ex"])
        return cls(iri=iri, href=href_for(iri)[0], text=str(row["value"]),
                   section=str(row["section"]) if "section" in row else None,
                   lines=line_span(row.get("first"), row.get("last"), lang), document=document)


def line_span(first: Node | None, last: Node | None, lang: str) -> str | None:
    """``riga 92`` / ``righe 92–94`` (``line`` / ``lines`` in English); None without a first line."""
    if first is None:
        return None
    t = TEXT[lang]
    return f"{t['line']} {first}" if last is None or last == first else f"{t['lines']} {first}–{last}"


def named_graph_list(graphs: Iterable[str], sizes: Mapping[str, int], lang: str,
                     current: str | None = None) -> list[dict[str, object]]:
    """The named graphs ``graphs`` (IRIs) for a list: link, IRI, title, size (from ``sizes``),
    whether it is ``current``."""
    found = []
    for iri in graphs:
        name = iri.removeprefix(str(GRAPH))
        found.append({"href": href_for(iri)[0], "iri": iri, "current": iri == current,
                      "title": graph_text(name, lang)[0],
                      "size": format_number(sizes.get(iri, 0), lang)})
    return found


def literal_text(literal: Literal, lang: str) -> tuple[str, str | None]:
    """(text, note) for a literal: numbers, dates and booleans written for ``lang``."""
    datatype = literal.datatype
    lexical = str(literal)
    try:
        if datatype in NUMERIC_TYPES:
            return format_number(Decimal(lexical), lang), None
        if datatype == XSD.date:
            return format_date(date.fromisoformat(lexical), lang), None
    except (InvalidOperation, ValueError):
        return lexical, prefixed(str(datatype)) if datatype else None
    if datatype == XSD.boolean:
        yes = lexical in ("true", "1")
        return (("sì" if yes else "no") if lang == "it" else ("yes" if yes else "no")), None
    if datatype in (XSD.gYear, XSD.gYearMonth, XSD.string) or datatype is None:
        return lexical, None
    return lexical, prefixed(str(datatype)) or str(datatype)


class Renderer:
    """Turns the terms of a description graph into :class:`Value` objects for one language."""

    def __init__(self, graph: Graph, labels: Labels, lang: str,
                 inferred: set[tuple[Node, Node, Node]] | None = None,
                 links: Mapping[str, str] | None = None) -> None:
        self.graph = graph
        self.labels = labels
        self.lang = lang
        self.inferred = inferred or set()
        self.links = dict(links or {})
        """Local pages of external IRIs (terms of other vocabularies described by /ontology)."""

    def term(self, node: Node, *, depth: int = 0) -> Value:
        """A value for any term (blank nodes described, rdf:Lists as lists)."""
        if isinstance(node, Literal):
            text, note = literal_text(node, self.lang)
            machine = str(node) if node.datatype in NUMERIC_TYPES | TEMPORAL_TYPES else None
            return Value(text, lang=node.language, note=note, machine=machine,
                         temporal=node.datatype in TEMPORAL_TYPES)
        if isinstance(node, BNode):
            return self.bnode(node, depth=depth)
        return self.iri(node)

    def iri(self, node: Node) -> Value:
        iri = str(node)
        href, external = href_for(iri)
        if iri in self.links:
            href, external = self.links[iri], False
        label = self.labels.find(node, self.lang)
        vocabulary_name = vocabulary_label(iri, self.lang)
        note = None
        if label is not None:
            text = str(label)
        elif vocabulary_name is not None:
            text = vocabulary_name
        elif external:
            text, note = external_name(iri)
        else:
            text = self.labels.text(node, self.lang)
        title = prefixed(iri) or iri
        return Value(text, kind="iri", href=href, external=external, iri=iri, title=title,
                     note=note)

    def bnode(self, node: BNode, *, depth: int) -> Value:
        if depth > BNODE_DEPTH:
            return Value("…", kind="bnode")
        if (node, RDF.first, None) in self.graph:
            items = [self.term(item, depth=depth + 1) for item in Collection(self.graph, node)]
            return Value("", kind="list", items=items)
        rows = self.rows(node, depth=depth + 1)
        return Value("", kind="bnode", rows=rows)

    def prop(self, node: Node) -> Value:
        """A property as a value: its label, linked to its definition."""
        value = self.iri(node)
        if value.note and not self.labels.find(node, self.lang):
            value.note = None
        return value

    def rows(self, subject: Node, *, depth: int = 0,
             skip: Iterable[Node] = ()) -> list[Row]:
        """The properties of ``subject`` with their values, ordered for reading."""
        skipped = set(skip)
        by_prop: dict[Node, list[Node]] = defaultdict(list)
        for p, o in self.graph.predicate_objects(subject):
            if p not in skipped:
                by_prop[p].append(o)
        rows = []
        for p, objects in by_prop.items():
            literals = [o for o in objects if isinstance(o, Literal)]
            shown = set(in_language(literals, self.lang))
            values = []
            for o in sorted(objects, key=self.sort_key):
                if isinstance(o, Literal) and o not in shown:
                    continue
                value = self.term(o, depth=depth)
                value.inferred = (subject, p, o) in self.inferred
                values.append(value)
            rows.append(Row(self.prop(p), values))
        rows.sort(key=lambda row: (_prop_rank(row.prop.iri), row.inferred, row.prop.text.casefold()))
        return rows

    def incoming(self, obj: Node) -> list[Row]:
        """The links pointing at ``obj``, grouped by property."""
        by_prop: dict[Node, list[Node]] = defaultdict(list)
        for s, p in self.graph.subject_predicates(obj):
            if s != obj:
                by_prop[p].append(s)
        rows = []
        for p, subjects in by_prop.items():
            values = []
            for s in sorted(subjects, key=self.sort_key):
                value = self.term(s)
                value.inferred = (s, p, obj) in self.inferred
                values.append(value)
            rows.append(Row(self.prop(p), values))
        rows.sort(key=lambda row: row.prop.text.casefold())
        return rows

    def sort_key(self, node: Node) -> tuple[int, str]:
        """Reading order of terms: literals, then IRIs by label, then blank nodes."""
        if isinstance(node, Literal):
            return (0, str(node))
        if isinstance(node, BNode):
            return (2, str(node))
        return (1, self.labels.text(node, self.lang).casefold())


_FIRST = [RDFS.label, SKOS.prefLabel, SKOS.altLabel, DCTERMS.title, DCTERMS.description,
          SKOS.definition, PKG.missione, PROV.value, PKG.sezione, PKG.rigaIniziale,
          PKG.rigaFinale, PKG.areaTematica, PKG.haSoggettoGestore, FOAF.homepage, PKG.gestisce]
_LAST = [RDFS.seeAlso, PROV.wasDerivedFrom, DCTERMS.source, RDFS.isDefinedBy]


def _prop_rank(iri: str | None) -> int:
    node = URIRef(iri or "")
    if node in _FIRST:
        return _FIRST.index(node)
    if node in _LAST:
        return 100 + _LAST.index(node)
    return 50
