"""Linked-data publishing: dereferenceable IRIs, HTML pages, ontology documentation, home page,
``robots.txt`` and ``sitemap.xml`` (blueprint :data:`bp`).

Routes (``{ext}`` is one of ``html``, ``ttl``, ``jsonld``, ``nt``, ``rdf``)::

    /                          home page: the dataset, the seven clusters, charts (HTML)
    /id/{path}[.{ext}]         any resource https://w3id.org/poli-kg/id/{path}
    /ontology[.{ext}]          the ontology (its terms are .../ontology#Term)
    /ontology/{version}[.{ext}] the ontology under its owl:versionIRI
    /graph/{name}[.{ext}]      the named graphs ontology, data, provenance, inferred
    /shapes[.{ext}]            the SHACL shapes (.../shapes#Shape), when shapes/ is at hand
    /robots.txt, /sitemap.xml

IRIs and hosts
    Every IRI under :data:`~poli_kg.namespaces.BASE` (``https://w3id.org/poli-kg/``) is
    answered at the same path of this service: ``BASE + "id/polo/mesap"`` at
    ``/id/polo/mesap``.  The service's public root is the config key ``PUBLIC_URL``
    (None: the URL the request came to); HTML pages link to local paths, absolute URLs
    (``sitemap.xml``, ``robots.txt``, ``url`` in the pages' schema.org JSON-LD) use the
    public root, and every RDF response keeps the canonical ``https://w3id.org/poli-kg/``
    IRIs of the data.

Content negotiation, not 303 redirects
    A generic URL (``/id/polo/mesap``) answers directly with the representation the
    ``Accept`` header prefers (``text/html`` for browsers and ``*/*``, else Turtle, JSON-LD,
    N-Triples or RDF/XML; ``406`` when none is acceptable), with ``Vary: Accept,
    Accept-Language`` and ``Content-Location`` naming the suffix URL of the variant sent
    (``/id/polo/mesap.ttl``), which always returns that format.  Why not the classic
    "303 See Other" dance (httpRange-14)?

    * one round trip instead of two for every client and crawler, and no redirect chain on
      top of w3id.org's own redirect to this service;
    * hash IRIs (``.../ontology#PoloDiInnovazione``) never reach the server with their
      fragment, so for them a 303 would say nothing anyway; slash IRIs behave the same way;
    * the thing and the document stay distinct without the redirect: the RDF is about the
      canonical ``https://w3id.org/poli-kg/...`` IRI, while ``Content-Location`` names the
      document actually sent (a URL of this host, with its format's suffix);
    * caches and crawlers behave: ``Vary`` names the headers the choice depends on and
      every variant also has a stable URL of its own to link to and cache.

What a resource's RDF holds
    Its concise bounded description from the store's union graph (asserted *and* inferred
    triples): every triple with it as subject, following blank nodes (up to
    :data:`BNODE_DEPTH` levels), its incoming links ``?s ?p <it>``, and the ``rdfs:label`` /
    ``skos:prefLabel`` of every resource these triples link to, so that the HTML page (and
    any client) can name them.  The HTML page marks the statements that come from the
    inferred graph.  ``/ontology`` returns the ontology graph as published (asserted).

Language
    HTML pages are in Italian (default) or English: ``?lang=it|en``, else the best match of
    ``Accept-Language``; internal links keep an explicit ``?lang``.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode
from xml.sax.saxutils import escape as xml_escape

from flask import Blueprint, Response, current_app, make_response, render_template, request
from markupsafe import Markup
import pyoxigraph as ox
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.namespace import DCTERMS, FOAF, ORG, OWL, PROV, QB, RDF, RDFS, SH, SKOS, VOID, XSD
from rdflib.term import Node

from poli_kg.web import charts
from poli_kg.buildfolder import read_build_info
from poli_kg.config import ROOT
from poli_kg.web.base.conneg import negotiate
from poli_kg.web.base.site import (
    LANGUAGES, explicit_language, href_for, language, local_path, page_url,
    public_root, public_url,
)
from poli_kg.namespaces import (
    BASE, EU_COUNTRY, EU_CURRENCY, EU_FILE_TYPE, EU_LANGUAGE, GRAPH, GRAPH_INFERRED,
    GRAPH_ONTOLOGY, ID, ONTOLOGY_IRI, PKG, PREFIXES, SCHEMA, SD, SDMX_ATTRIBUTE, SDMX_MEASURE,
    UNIT, WD, bind_prefixes, sparql_prologue,
)
from poli_kg.store import ChildFailed, QueryError, QueryTimeout, get_store

__all__ = [
    "bp", "FORMATS", "Format", "local_path", "public_root", "format_number", "format_amount",
    "home_charts", "BNODE_DEPTH",
]

bp = Blueprint("linkeddata", __name__, template_folder="templates")

BNODE_DEPTH = 6
"""How deep blank nodes are followed in a resource's description (rdf:Lists: one per item)."""
SHAPES_IRI = BASE + "shapes"
LICENSE = URIRef("https://creativecommons.org/licenses/by/4.0/")
SOURCE_DOCUMENT = ID["fonte/poli-di-innovazione-piemonte-2017"]
DOWNLOAD_DUMPS = (
    ("poli-kg.ttl", "Turtle"), ("poli-kg.jsonld", "JSON-LD"), ("poli-kg.nt", "N-Triples"),
    ("poli-kg.rdf", "RDF/XML"), ("poli-kg.trig", "TriG"), ("poli-kg.nq", "N-Quads"),
)
_IRI_PATH = re.compile(r"[^\s<>\"{}|\\^`\x00-\x1f\x7f]+")
_PRIVATE_PREFIXES = {"poli"}  # shown as paths, not as prefixed names


# -- formats and content negotiation ----------------------------------------------------

@dataclass(frozen=True)
class Format:
    """A representation of a resource: suffix, media type, rdflib serializer, display name."""

    ext: str
    media_type: str
    rdflib_format: str | None
    label: str

    @property
    def is_rdf(self) -> bool:
        return self.rdflib_format is not None


FORMATS: tuple[Format, ...] = (
    Format("html", "text/html", None, "HTML"),
    Format("ttl", "text/turtle", "turtle", "Turtle"),
    Format("jsonld", "application/ld+json", "json-ld", "JSON-LD"),
    Format("nt", "application/n-triples", "nt", "N-Triples"),
    Format("rdf", "application/rdf+xml", "xml", "RDF/XML"),
)
"""The representations of every resource, the default (for ``*/*``) first."""
RDF_FORMATS = tuple(f for f in FORMATS if f.is_rdf)
BY_EXT = {f.ext: f for f in FORMATS}
BY_MEDIA = {f.media_type: f for f in FORMATS} | {"application/json": BY_EXT["jsonld"]}
OFFERS = tuple(f.media_type for f in FORMATS) + ("application/json",)


def split_suffix(path: str) -> tuple[str, str | None]:
    """``("id/polo/mesap", "ttl")`` for ``"id/polo/mesap.ttl"``; no known suffix: ``(path, None)``."""
    stem, dot, ext = path.rpartition(".")
    if dot and ext in BY_EXT and stem and "/" not in ext:
        return stem, ext
    return path, None


def choose_format(ext: str | None) -> Format | None:
    """The suffix's format, else the one the Accept header prefers (None: 406)."""
    if ext is not None:
        return BY_EXT[ext]
    media = negotiate(request.headers.get("Accept"), OFFERS)
    return BY_MEDIA[media] if media else None


def not_acceptable(path: str) -> Response:
    """406 listing the variants (plain text, with a Link header per variant)."""
    lines = [f"406 Not Acceptable: {path} is available as"]
    lines += [f"  {f.media_type}  {path}.{f.ext}" for f in FORMATS]
    response = Response("\n".join(lines) + "\n", status=406,
                        content_type="text/plain; charset=utf-8")
    response.headers["Vary"] = "Accept"
    response.headers["Link"] = alternates_header(path)
    return response


def alternates_header(path: str) -> str:
    """A ``Link`` header value naming every suffix URL of ``path``."""
    return ", ".join(f'<{path}.{f.ext}>; rel="alternate"; type="{f.media_type}"' for f in FORMATS)


def rdf_body(graph: Graph, fmt: Format, primary: URIRef | None = None) -> bytes:
    """``graph`` serialised as ``fmt``, literals exactly as stored (lexical forms kept).

    Turtle, N-Triples and RDF/XML are written by pyoxigraph, the statements about
    ``primary`` (the resource asked for) first; JSON-LD by rdflib, compacted with the
    project's prefixes.
    """
    bind_prefixes(graph)
    if fmt.ext == "jsonld":
        return graph.serialize(format="json-ld", context=_used_prefixes(graph),
                               auto_compact=True, encoding="utf-8")
    bnodes: dict[BNode, ox.BlankNode] = {}
    triples = [ox.Triple(_to_ox(s_, bnodes), _to_ox(p, bnodes), _to_ox(o, bnodes))
               for s_, p, o in _ordered(graph, primary)]
    formats = {"ttl": ox.RdfFormat.TURTLE, "nt": ox.RdfFormat.N_TRIPLES,
               "rdf": ox.RdfFormat.RDF_XML}
    if fmt.ext == "nt":
        return ox.serialize(triples, format=formats["nt"])
    prefixes = {p: ns for p, ns in _used_prefixes(graph).items() if p not in _PRIVATE_PREFIXES}
    return ox.serialize(triples, format=formats[fmt.ext], prefixes=prefixes)


def _to_ox(term: Node, bnodes: dict[BNode, ox.BlankNode]) -> Any:
    """An rdflib term as a pyoxigraph term (blank nodes renamed b0, b1, ...)."""
    if isinstance(term, URIRef):
        return ox.NamedNode(str(term))
    if isinstance(term, BNode):
        if term not in bnodes:
            bnodes[term] = ox.BlankNode(f"b{len(bnodes)}")
        return bnodes[term]
    if isinstance(term, Literal):
        if term.language:
            return ox.Literal(str(term), language=term.language)
        if term.datatype is not None:
            return ox.Literal(str(term), datatype=ox.NamedNode(str(term.datatype)))
        return ox.Literal(str(term))
    raise TypeError(f"not an RDF term: {term!r}")


def _ordered(graph: Graph, primary: URIRef | None) -> list[tuple[Node, Node, Node]]:
    """The triples of ``graph``: ``primary`` and its blank nodes first, then by subject."""
    def key(triple: tuple[Node, Node, Node]) -> tuple[bool, str, str, str]:
        return (triple[1] != RDF.type, str(triple[1]), type(triple[2]).__name__, str(triple[2]))

    first: list[tuple[Node, Node, Node]] = []
    done: set[Node] = set()
    todo: list[Node] = [primary] if primary is not None else []
    while todo:
        subject = todo.pop(0)
        if subject in done:
            continue
        done.add(subject)
        own = sorted(graph.triples((subject, None, None)), key=key)
        first += own
        todo += [o for _s, _p, o in own if isinstance(o, BNode) and o not in done]
    rest = sorted((t for t in graph if t[0] not in done),
                  key=lambda t: (isinstance(t[0], BNode), str(t[0])) + key(t))
    return first + rest


def _used_prefixes(graph: Graph) -> dict[str, str]:
    """The project prefixes whose namespace some IRI of ``graph`` starts with."""
    iris = {str(t) for triple in graph for t in triple if isinstance(t, URIRef)}
    iris |= {str(t.datatype) for _s, _p, t in graph if isinstance(t, Literal) and t.datatype}
    return {p: str(ns) for p, ns in PREFIXES.items() if any(i.startswith(str(ns)) for i in iris)}


def represent(path: str, ext: str | None, *, rdf: Callable[[], Graph],
              html: Callable[[], str], primary: URIRef | None = None) -> Response:
    """The response for a resource at local ``path`` (no suffix): negotiated or by suffix.

    Generic URLs get ``Vary`` and ``Content-Location``; suffix URLs return their format
    whatever the Accept header says.
    """
    fmt = choose_format(ext)
    if fmt is None:
        return not_acceptable(path)
    if fmt.is_rdf:
        body = rdf_body(rdf(), fmt, primary)
        response = Response(body, content_type=fmt.media_type
                            + ("; charset=utf-8" if fmt.ext in ("ttl", "nt") else ""))
    else:
        response = make_response(html())
        response.headers["Content-Language"] = language()
    vary = [] if ext else ["Accept"]
    if not fmt.is_rdf and "lang" not in request.args:
        vary.append("Accept-Language")
    if vary:
        response.headers["Vary"] = ", ".join(vary)
    if ext is None:
        location = f"{path}.{fmt.ext}"
        if not fmt.is_rdf and explicit_language():
            location += f"?lang={explicit_language()}"
        response.headers["Content-Location"] = location
    response.headers["Link"] = alternates_header(path)
    response.headers["Cache-Control"] = "public, max-age=300"
    response.add_etag()
    return response.make_conditional(request)


# -- IRIs, paths, languages -------------------------------------------------------------

def prefixed(iri: str) -> str | None:
    """``pkg:PoloDiInnovazione`` for an IRI in a project namespace (longest match), else None."""
    best: tuple[str, str] | None = None
    for prefix, namespace in PREFIXES.items():
        ns = str(namespace)
        if iri.startswith(ns) and (best is None or len(ns) > len(best[1])):
            best = (prefix, ns)
    if best is None:
        return None
    local = iri[len(best[1]):]
    if best[0] in _PRIVATE_PREFIXES or not re.fullmatch(r"[\w.-]*", local):
        return None
    return f"{best[0]}:{local}"


_AUTHORITIES = (
    (str(WD), "Wikidata"),
    (str(EU_COUNTRY), "EU country"),
    (str(EU_LANGUAGE), "EU language"),
    (str(EU_FILE_TYPE), "EU file type"),
    (str(EU_CURRENCY), "EU currency"),
    ("http://data.europa.eu/nuts/code/", "NUTS"),
)


def external_name(iri: str) -> tuple[str, str | None]:
    """(text, authority) for an external IRI without a label in the store."""
    if iri == str(LICENSE):
        return "CC BY 4.0", None
    for namespace, authority in _AUTHORITIES:
        if iri.startswith(namespace) and len(iri) > len(namespace):
            return iri[len(namespace):], authority
    name = prefixed(iri)
    if name:
        return name, None
    text = re.sub(r"^https?://", "", iri)
    return (text[:-1] if text.endswith("/") and text.count("/") == 1 else text), None


# -- labels and values --------------------------------------------------------------------

LABEL_PROPERTIES = (RDFS.label, SKOS.prefLabel, DCTERMS.title)

VOCABULARY_LABELS: dict[str, tuple[str, str]] = {
    str(RDF.type): ("tipo", "type"),
    str(RDFS.label): ("etichetta", "label"),
    str(RDFS.comment): ("commento", "comment"),
    str(RDFS.seeAlso): ("vedi anche", "see also"),
    str(RDFS.isDefinedBy): ("definito in", "defined by"),
    str(RDFS.subClassOf): ("sottoclasse di", "subclass of"),
    str(RDFS.subPropertyOf): ("sottoproprietà di", "subproperty of"),
    str(RDFS.domain): ("dominio", "domain"),
    str(RDFS.range): ("codominio", "range"),
    str(OWL.inverseOf): ("inversa di", "inverse of"),
    str(OWL.sameAs): ("stessa risorsa di", "same as"),
    str(SKOS.prefLabel): ("etichetta preferita", "preferred label"),
    str(SKOS.altLabel): ("etichetta alternativa", "alternative label"),
    str(SKOS.definition): ("definizione", "definition"),
    str(SKOS.note): ("nota", "note"),
    str(SKOS.notation): ("codice", "notation"),
    str(SKOS.inScheme): ("nello schema", "in scheme"),
    str(SKOS.topConceptOf): ("concetto di vertice di", "top concept of"),
    str(SKOS.hasTopConcept): ("ha concetto di vertice", "has top concept"),
    str(SKOS.exactMatch): ("corrispondenza esatta", "exact match"),
    str(SKOS.closeMatch): ("corrispondenza stretta", "close match"),
    str(SKOS.broader): ("più generale", "broader"),
    str(SKOS.narrower): ("più specifico", "narrower"),
    str(DCTERMS.title): ("titolo", "title"),
    str(DCTERMS.alternative): ("titolo alternativo", "alternative title"),
    str(DCTERMS.description): ("descrizione", "description"),
    str(DCTERMS.source): ("fonte", "source"),
    str(DCTERMS.publisher): ("editore", "publisher"),
    str(DCTERMS.creator): ("autore", "creator"),
    str(DCTERMS.issued): ("data di pubblicazione", "issued"),
    str(DCTERMS.modified): ("data di modifica", "modified"),
    str(DCTERMS.license): ("licenza", "licence"),
    str(DCTERMS.language): ("lingua", "language"),
    str(DCTERMS.format): ("formato", "format"),
    str(DCTERMS.identifier): ("identificativo", "identifier"),
    str(DCTERMS.isPartOf): ("parte di", "part of"),
    str(DCTERMS.hasPart): ("comprende", "has part"),
    str(DCTERMS.spatial): ("copertura spaziale", "spatial coverage"),
    str(DCTERMS.temporal): ("copertura temporale", "temporal coverage"),
    str(FOAF.homepage): ("sito web", "website"),
    str(PROV.wasDerivedFrom): ("derivato da", "derived from"),
    str(PROV.value): ("testo", "value"),
    str(PROV.wasAttributedTo): ("attribuito a", "attributed to"),
    str(PROV.wasAssociatedWith): ("associato a", "associated with"),
    str(PROV.generated): ("ha generato", "generated"),
    str(PROV.used): ("ha usato", "used"),
    str(ORG.memberOf): ("membro di", "member of"),
    str(ORG.hasMember): ("ha membro", "has member"),
    str(ORG.linkedTo): ("collegato a", "linked to"),
    str(ORG.classification): ("classificazione", "classification"),
    str(ORG.member): ("membro", "member"),
    str(ORG.organization): ("organizzazione", "organization"),
    str(ORG.role): ("ruolo", "role"),
    str(QB.dataSet): ("insieme di dati", "data set"),
    str(QB.structure): ("struttura", "structure"),
    str(QB.component): ("componente", "component"),
    str(QB.dimension): ("dimensione", "dimension"),
    str(QB.measure): ("misura", "measure"),
    str(QB.attribute): ("attributo", "attribute"),
    str(QB.order): ("ordine", "order"),
    str(QB.concept): ("concetto", "concept"),
    str(QB.componentRequired): ("obbligatorio", "required"),
    str(QB.componentAttachment): ("si applica a", "attachment"),
    str(SCHEMA.startDate): ("data di inizio", "start date"),
    str(SCHEMA.endDate): ("data di fine", "end date"),
    str(SCHEMA.about): ("riguarda", "about"),
    str(SCHEMA.areaServed): ("area servita", "area served"),
    str(SCHEMA.location): ("sede", "location"),
    str(SCHEMA.containedInPlace): ("si trova in", "contained in place"),
    str(QB.Observation): ("osservazione", "observation"),
    str(QB.DataSet): ("insieme di dati", "data set"),
    str(SKOS.Concept): ("concetto", "concept"),
    str(SKOS.ConceptScheme): ("schema di concetti", "concept scheme"),
    str(SCHEMA.Country): ("paese", "country"),
    str(DCTERMS.Location): ("luogo", "location"),
    "https://w3id.org/italia/onto/COV/legalName": ("ragione sociale", "legal name"),
    "https://w3id.org/italia/onto/COV/hasLegalStatus": ("forma giuridica", "legal status"),
    "http://www.w3.org/2006/time#hasBeginning": ("inizio", "beginning"),
    "http://www.w3.org/2006/time#hasEnd": ("fine", "end"),
}
"""Names of common terms of reused vocabularies, whose labels the store does not hold."""


class Labels:
    """Labels of the nodes of a graph, per language; falls back to prefixed names."""

    def __init__(self, graph: Graph | None = None) -> None:
        self._by_node: dict[Node, dict[URIRef, list[Literal]]] = defaultdict(dict)
        if graph is not None:
            self.add_graph(graph)

    def add_graph(self, graph: Graph) -> None:
        for prop in LABEL_PROPERTIES:
            for node, label in graph.subject_objects(prop):
                if isinstance(label, Literal):
                    self.add(node, prop, label)

    def add(self, node: Node, prop: URIRef, label: Literal) -> None:
        values = self._by_node[node].setdefault(prop, [])
        if label not in values:
            values.append(label)

    def find(self, node: Node, lang: str) -> Literal | None:
        """The best label of ``node`` in ``lang`` (else in the other language), or None."""
        found = self._by_node.get(node, {})
        for prop in LABEL_PROPERTIES:
            chosen = pick(found.get(prop, ()), lang)
            if chosen is not None:
                return chosen
        return None

    def text(self, node: Node, lang: str) -> str:
        """The label of ``node`` as text; unlabelled IRIs get a prefixed or short name."""
        label = self.find(node, lang)
        if label is not None:
            return str(label)
        if isinstance(node, URIRef):
            iri = str(node)
            if iri in VOCABULARY_LABELS:
                return VOCABULARY_LABELS[iri][0 if lang == "it" else 1]
            if iri.startswith(BASE):
                return prefixed(iri) or iri[len(BASE):]
            return external_name(iri)[0]
        return str(node)


def pick(literals: Iterable[Literal], lang: str) -> Literal | None:
    """The literal in ``lang``, else one without language, else in the other language."""
    items = list(literals)
    for wanted in (lang, None):
        for literal in items:
            if literal.language == wanted:
                return literal
    return items[0] if items else None


def in_language(literals: Sequence[Literal], lang: str) -> list[Literal]:
    """Literals to show: those in ``lang`` (and untagged) when there is one in ``lang``."""
    if any(lit.language == lang for lit in literals):
        return [lit for lit in literals if lit.language in (lang, None)]
    return list(literals)


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


MONTHS = {
    "it": ("gennaio", "febbraio", "marzo", "aprile", "maggio", "giugno", "luglio", "agosto",
           "settembre", "ottobre", "novembre", "dicembre"),
    "en": ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December"),
}
NUMERIC_TYPES = {XSD.integer, XSD.decimal, XSD.int, XSD.long, XSD.positiveInteger,
                 XSD.nonNegativeInteger, XSD.double, XSD.float, XSD.short}


def format_number(value: Decimal | int | float, lang: str, *, decimals: int | None = None) -> str:
    """``1.194`` / ``49,8`` (it), ``1,194`` / ``49.8`` (en); integers without decimals."""
    number = Decimal(str(value))
    if decimals is not None:
        number = round(number, decimals)
    if number == number.to_integral_value():
        text = f"{int(number):,}"
    else:
        text = f"{number.normalize():,f}"
    if lang == "it":
        text = text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")
    return text


def format_amount(value: Decimal | int | float, unit: str | None, lang: str) -> str:
    """A measured value with its unit: ``35 M€`` / ``€35 M``, ``30 %`` / ``30%``, ``1.194``."""
    number = Decimal(str(value))
    if unit == str(EU_CURRENCY.EUR):
        if abs(number) >= 1_000_000:
            millions = format_number(number / 1_000_000, lang, decimals=1)
            return f"{millions} M€" if lang == "it" else f"€{millions} M"
        amount = format_number(number, lang, decimals=2)
        return f"{amount} €" if lang == "it" else f"€{amount}"
    if unit == str(UNIT.PERCENT):
        return f"{format_number(number, lang)} %" if lang == "it" else f"{format_number(number, lang)}%"
    return format_number(number, lang)


def literal_text(literal: Literal, lang: str) -> tuple[str, str | None]:
    """(text, note) for a literal: numbers, dates and booleans written for ``lang``."""
    datatype = literal.datatype
    lexical = str(literal)
    try:
        if datatype in NUMERIC_TYPES:
            return format_number(Decimal(lexical), lang), None
        if datatype == XSD.date:
            day = date.fromisoformat(lexical)
            return f"{day.day} {MONTHS[lang][day.month - 1]} {day.year}", None
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
            return Value(text, lang=node.language, note=note)
        if isinstance(node, BNode):
            return self.bnode(node, depth=depth)
        return self.iri(node)

    def iri(self, node: Node) -> Value:
        iri = str(node)
        href, external = href_for(iri)
        if iri in self.links:
            href, external = self.links[iri], False
        label = self.labels.find(node, self.lang)
        note = None
        if label is not None:
            text = str(label)
        elif iri in VOCABULARY_LABELS:
            text = VOCABULARY_LABELS[iri][0 if self.lang == "it" else 1]
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
            for o in sorted(objects, key=self._sort_key):
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
            for s in sorted(subjects, key=self._sort_key):
                value = self.term(s)
                value.inferred = (s, p, obj) in self.inferred
                values.append(value)
            rows.append(Row(self.prop(p), values))
        rows.sort(key=lambda row: row.prop.text.casefold())
        return rows

    def _sort_key(self, node: Node) -> tuple[int, str]:
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


# -- store queries ----------------------------------------------------------------------

def _chain(depth: int) -> str:
    """A group reaching a blank node ``?b{depth}`` from ``?r`` through blank nodes only.

    Each step is a group nested in the next, so that its FILTER prunes before the next
    join in every engine (a FILTER applies to its whole group: written flat, an engine
    that does not push filters down would join paths of any nodes first).
    """
    group = "{ ?r ?c1 ?b1 . FILTER(isBlank(?b1)) }"
    for i in range(2, depth + 1):
        group = f"{{ {group} ?b{i - 1} ?c{i} ?b{i} . FILTER(isBlank(?b{i})) }}"
    return group


LABELS_OF_N = "{ ?n rdfs:label ?l } UNION { ?n skos:prefLabel ?pl }"
DESCRIBE_QUERY = sparql_prologue() + f"""
CONSTRUCT {{ ?r ?p ?o . ?s ?ip ?r . ?n rdfs:label ?l . ?n skos:prefLabel ?pl . }}
WHERE {{
  {{ ?r ?p ?o }}
  UNION {{ ?s ?ip ?r }}
  UNION {{ {{ {{ ?r ?n ?x }} UNION {{ ?r ?x ?n }} UNION {{ ?x ?n ?r }} UNION {{ ?n ?x ?r }} }}
          {LABELS_OF_N} }}
}}"""
"""CONSTRUCT: the statements about ``?r`` and to ``?r``, and the labels of their terms."""


def bnodes_query(depth: int = BNODE_DEPTH) -> str:
    """CONSTRUCT: the blank nodes reachable from ``?r`` (up to ``depth``) and their terms' labels."""
    parts = []
    for k in range(1, depth + 1):
        parts.append(f"{{ {_chain(k)} ?b{k} ?bp ?bo . BIND(?b{k} AS ?b) }}")
        parts.append(f"{{ {_chain(k)} ?b{k} ?x ?n . {LABELS_OF_N} }}")
    return sparql_prologue() + (
        "CONSTRUCT { ?b ?bp ?bo . ?n rdfs:label ?l . ?n skos:prefLabel ?pl . }\nWHERE {\n  "
        + "\n  UNION ".join(parts) + "\n}")


BNODES_QUERY = bnodes_query()
EXISTS_QUERY = "SELECT ?x WHERE { { ?r ?p ?x } UNION { ?x ?p ?r } } LIMIT 1"
INFERRED_QUERY = """
SELECT ?s ?p ?o WHERE { GRAPH ?g { { ?r ?p ?o BIND(?r AS ?s) } UNION { ?s ?p ?r BIND(?r AS ?o) } } }
"""
SOURCES_QUERY = sparql_prologue() + """
SELECT ?ex ?value ?section ?first ?last ?doc ?docLabel WHERE {
  VALUES ?via { prov:wasDerivedFrom dct:source }
  ?r ?via ?ex .
  ?ex a pkg:Estratto ; prov:value ?value .
  OPTIONAL { ?ex pkg:sezione ?section }
  OPTIONAL { ?ex pkg:rigaIniziale ?first }
  OPTIONAL { ?ex pkg:rigaFinale ?last }
  OPTIONAL { ?ex dct:isPartOf ?doc OPTIONAL { ?doc rdfs:label ?docLabel } }
} ORDER BY ?first ?ex
"""
GRAPH_QUERY = "CONSTRUCT { ?s ?p ?o } WHERE { GRAPH ?g { ?s ?p ?o } }"
DESCRIBED_TERMS_QUERY = """
SELECT DISTINCT ?t WHERE { GRAPH ?g { ?t a ?k } FILTER(isIRI(?t) && !STRSTARTS(STR(?t), STR(?base))) }
"""
LABELS_OF_GRAPH_OBJECTS = sparql_prologue() + """
CONSTRUCT { ?n rdfs:label ?l . ?n skos:prefLabel ?pl } WHERE {
  { SELECT DISTINCT ?n WHERE { GRAPH ?g { ?x ?y ?n } FILTER(isIRI(?n)) } }
  { ?n rdfs:label ?l } UNION { ?n skos:prefLabel ?pl }
}
"""


def exists(iri: URIRef) -> bool:
    """Whether the store mentions ``iri`` (as subject or object)."""
    return bool(get_store().select(EXISTS_QUERY, bindings={"r": iri}))


def describe(iri: URIRef) -> Graph:
    """The RDF a resource's URL returns (see the module docstring).

    Two queries at most, both cheap in every engine: the statements about and to the
    resource with the labels of their terms, then, only if the resource has blank nodes,
    its blank nodes (blank node labels are the store's, so the two results join up).
    """
    store = get_store()
    graph = store.construct(DESCRIBE_QUERY, bindings={"r": iri})
    if any(isinstance(o, BNode) for o in graph.objects(iri, None)):
        for triple in store.construct(BNODES_QUERY, bindings={"r": iri}):
            graph.add(triple)
    return graph


def inferred_triples(iri: URIRef) -> set[tuple[Node, Node, Node]]:
    """The triples of the inferred graph with ``iri`` as subject or object."""
    rows = get_store().select(INFERRED_QUERY, bindings={"r": iri, "g": GRAPH_INFERRED})
    return {(row["s"], row["p"], row["o"]) for row in rows}


def graph_content(graph_iri: URIRef) -> Graph:
    """Every triple of one named graph."""
    return get_store().construct(GRAPH_QUERY, bindings={"g": graph_iri})


def ontology_links() -> dict[str, str]:
    """Links to /ontology#… for the terms of other vocabularies the ontology describes."""
    rows = get_store().select(DESCRIBED_TERMS_QUERY,
                              bindings={"g": GRAPH_ONTOLOGY, "base": URIRef(BASE)})
    return {str(row["t"]): page_url(request.script_root + "/ontology#" + anchor_of(str(row["t"])))
            for row in rows}


# -- views: shared bits ---------------------------------------------------------------------

TEXT: dict[str, dict[str, str]] = {
    "it": {
        "site": "Poli di Innovazione del Piemonte",
        "home": "Home", "ontology": "Ontologia", "query": "Query SPARQL",
        "downloads": "Download", "catalog": "Catalogo", "void": "VoID",
        "language": "Lingua", "other_language": "English",
        "iri": "IRI", "types": "Tipi", "properties": "Proprietà",
        "incoming": "Collegamenti in entrata", "incoming_hint": "Risorse che rimandano a questa.",
        "sources": "Fonte", "sources_hint": "Le frasi del documento fonte su cui si basa questa risorsa.",
        "lines": "righe", "line": "riga", "section": "sezione",
        "download": "Scarica questa risorsa",
        "inferred": "dedotto",
        "inferred_hint": "Dedotto dal ragionamento OWL 2 RL (grafo …/graph/inferred), non asserito.",
        "inferred_legend": "Le voci marcate «dedotto» vengono dal ragionamento OWL 2 RL sull'ontologia (grafo inferred).",
        "query_it": "Interroga questa risorsa con SPARQL",
        "external": "link esterno",
        "figure": "Il dato", "wording": "Nella fonte", "indicator": "Indicatore",
        "observed": "Oggetto della rilevazione", "breakdown": "Disaggregazione",
        "period": "Periodo", "dataset": "Insieme di dati",
        "quote": "Estratto della fonte", "document": "Documento",
        "no_properties": "Nessuna proprietà.",
        "not_found_title": "Risorsa non trovata",
        "not_found": "Nessuna risorsa del grafo ha questo IRI:",
        "not_found_hint": "Forse cercavi una di queste pagine:",
        "unavailable": "Il grafo non è disponibile in questo momento. Riprova tra poco.",
        "values": "Valori", "property": "Proprietà",
        "other_label": "In inglese",
    },
    "en": {
        "site": "Innovation Clusters of Piedmont",
        "home": "Home", "ontology": "Ontology", "query": "SPARQL query",
        "downloads": "Downloads", "catalog": "Catalogue", "void": "VoID",
        "language": "Language", "other_language": "Italiano",
        "iri": "IRI", "types": "Types", "properties": "Properties",
        "incoming": "Incoming links", "incoming_hint": "Resources that point to this one.",
        "sources": "Source", "sources_hint": "The sentences of the source document this resource rests on.",
        "lines": "lines", "line": "line", "section": "section",
        "download": "Download this resource",
        "inferred": "inferred",
        "inferred_hint": "Inferred by OWL 2 RL reasoning (graph …/graph/inferred), not asserted.",
        "inferred_legend": "Entries marked “inferred” come from OWL 2 RL reasoning over the ontology (the inferred graph).",
        "query_it": "Query this resource with SPARQL",
        "external": "external link",
        "figure": "The figure", "wording": "In the source", "indicator": "Indicator",
        "observed": "Observed resource", "breakdown": "Breakdown",
        "period": "Period", "dataset": "Data set",
        "quote": "Source excerpt", "document": "Document",
        "no_properties": "No properties.",
        "not_found_title": "Resource not found",
        "not_found": "No resource of the graph has this IRI:",
        "not_found_hint": "Perhaps you were looking for one of these pages:",
        "unavailable": "The graph is not available right now. Please try again shortly.",
        "values": "Values", "property": "Property",
        "other_label": "In Italian",
    },
}


def page_context(lang: str) -> dict[str, Any]:
    """What every page template gets: language, strings, navigation, switch links."""
    other = "en" if lang == "it" else "it"
    args = {k: v for k, v in request.args.items() if k != "lang"}
    args["lang"] = other
    return {
        "lang": lang,
        "other_lang": other,
        "t": TEXT[lang],
        "other_lang_url": request.path + "?" + urlencode(args),
        "url": page_url,
        "nav": [
            (TEXT[lang]["home"], page_url(request.script_root + "/")),
            (TEXT[lang]["ontology"], page_url(request.script_root + "/ontology")),
            (TEXT[lang]["query"], page_url(request.script_root + "/query")),
            (TEXT[lang]["downloads"], request.script_root + "/downloads/"),
            (TEXT[lang]["catalog"], request.script_root + "/catalog"),
        ],
    }


def downloads_for(path: str) -> list[dict[str, str]]:
    """Links to the RDF variants of the resource at ``path``."""
    return [{"href": f"{path}.{f.ext}", "label": f.label, "media_type": f.media_type,
             "ext": f.ext} for f in RDF_FORMATS]


def json_script(data: Mapping[str, Any] | None) -> Markup | None:
    """JSON for a ``<script type="application/ld+json">`` block (``<`` escaped)."""
    if not data:
        return None
    text = json.dumps(data, ensure_ascii=False, indent=2)
    return Markup(text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


@bp.errorhandler(QueryError)
@bp.errorhandler(QueryTimeout)
@bp.errorhandler(ChildFailed)
def store_unavailable(exc: Exception) -> Response:
    """503 when the store cannot answer (not built, timed out, ...)."""
    current_app.logger.warning("linked-data page failed: %s", exc)
    lang = language()
    return Response(f"503 Service Unavailable: {TEXT[lang]['unavailable']}\n", status=503,
                    content_type="text/plain; charset=utf-8",
                    headers={"Retry-After": "30"})


def not_found(iri: str) -> Response:
    """404: an HTML page for browsers, plain text for everyone else."""
    lang = language()
    wants = negotiate(request.headers.get("Accept"), ("text/html", "text/plain"))
    if wants == "text/html" and not request.path.endswith(tuple(f".{f.ext}" for f in RDF_FORMATS)):
        body = render_template("notfound.html", iri=iri, **page_context(lang))
        response = Response(body, status=404, content_type="text/html; charset=utf-8")
    else:
        response = Response(f"404 Not Found: no resource {iri}\n", status=404,
                            content_type="text/plain; charset=utf-8")
    response.headers["Vary"] = "Accept"
    return response


def valid_path(path: str) -> bool:
    """Whether ``BASE + path`` is an IRI (no spaces, brackets, quotes, controls, stray ``%``,
    U+FFFD from undecodable bytes …): the store refuses to look up anything else."""
    if not _IRI_PATH.fullmatch(path):
        return False
    try:
        ox.NamedNode(BASE + path)
    except ValueError:
        return False
    return True


# -- views: resources under /id/ ----------------------------------------------------------

@bp.get("/id/")
def resource_root() -> Response:
    """``BASE + "id/"`` names no resource."""
    return not_found(BASE + "id/")


@bp.get("/id/<path:rest>")
def resource(rest: str) -> Response:
    """Any resource ``BASE + "id/" + rest``, negotiated (or by suffix)."""
    path = "id/" + rest
    if not valid_path(path):
        return not_found(BASE + path)
    iri = URIRef(BASE + path)
    ext: str | None = None
    if not exists(iri):
        stem, ext = split_suffix(path)
        iri = URIRef(BASE + stem)
        if ext is None or not exists(iri):
            return not_found(BASE + path)
    local = local_path(str(iri)) or ""
    return represent(local, ext, rdf=lambda: describe(iri),
                     html=lambda: resource_page(iri, local), primary=iri)


@dataclass
class Excerpt:
    """A sentence of the source that a resource rests on."""

    iri: str
    href: str
    text: str
    section: str | None
    lines: str | None
    document: Value | None


def source_excerpts(iri: URIRef, renderer: Renderer) -> list[Excerpt]:
    """The excerpts ``iri`` derives from (prov:wasDerivedFrom or dct:source)."""
    lang = renderer.lang
    out: dict[str, Excerpt] = {}
    rows = get_store().select(SOURCES_QUERY, bindings={"r": iri})
    for row in rows:
        if "docLabel" in row:
            renderer.labels.add(row["doc"], RDFS.label, row["docLabel"])
    for row in rows:
        key = str(row["ex"])
        if key in out:
            continue
        first, last = row.get("first"), row.get("last")
        lines = None
        if first is not None:
            t = TEXT[lang]
            lines = (f"{t['line']} {first}" if last is None or last == first
                     else f"{t['lines']} {first}–{last}")
        doc = row.get("doc")
        out[key] = Excerpt(
            iri=key, href=href_for(key)[0], text=str(row["value"]),
            section=str(row["section"]) if "section" in row else None, lines=lines,
            document=renderer.iri(doc) if doc is not None else None,
        )
    return list(out.values())


@dataclass
class Figure:
    """An observation's value, ready to show."""

    value: str
    qualifier: str | None
    wording: str | None
    facts: list[tuple[str, Value]]


def observation_figure(iri: URIRef, renderer: Renderer) -> Figure | None:
    """The figure box of a qb:Observation (None for other resources)."""
    graph, lang = renderer.graph, renderer.lang
    value = graph.value(iri, SDMX_MEASURE.obsValue)
    if value is None or (iri, RDF.type, QB.Observation) not in graph:
        return None
    unit = graph.value(iri, SDMX_ATTRIBUTE.unitMeasure)
    try:
        text = format_amount(Decimal(str(value)), str(unit) if unit else None, lang)
    except InvalidOperation:
        text = str(value)
    qualifier_node = graph.value(iri, PKG.qualificatoreValore)
    qualifier = None
    if qualifier_node is not None and not str(qualifier_node).endswith("/esatto"):
        qualifier = renderer.labels.text(qualifier_node, lang)
    wording = pick(list(graph.objects(iri, PKG.espressioneOriginale)), lang)
    t = TEXT[lang]
    facts = []
    for key, prop in (("indicator", PKG.indicatore), ("observed", PKG.oggettoRilevazione),
                      ("breakdown", PKG.disaggregazione),
                      ("period", URIRef("http://purl.org/linked-data/sdmx/2009/dimension#refPeriod")),
                      ("dataset", QB.dataSet)):
        node = graph.value(iri, prop)
        if node is not None:
            facts.append((t[key], renderer.term(node)))
    return Figure(text, qualifier, str(wording) if wording is not None else None, facts)


def page_title(iri: URIRef, labels: Labels, lang: str) -> str:
    """A resource's name for headings."""
    return labels.text(iri, lang)


def resource_page(iri: URIRef, local: str, graph: Graph | None = None) -> str:
    """The HTML page of a resource: described by the store, or by ``graph`` when given."""
    lang = language()
    inferred = set()
    if graph is None:
        graph = describe(iri)
        inferred = inferred_triples(iri)
    labels = Labels(graph)
    renderer = Renderer(graph, labels, lang, inferred, ontology_links())
    types = [renderer.iri(t) for t in sorted(graph.objects(iri, RDF.type), key=renderer._sort_key)]
    for value in types:
        value.inferred = (iri, RDF.type, URIRef(value.iri or "")) in renderer.inferred
    types.sort(key=lambda v: (v.inferred, v.text.casefold()))
    lead_literal = None
    for prop in (DCTERMS.description, SKOS.definition):
        lead_literal = pick(in_language(list(graph.objects(iri, prop)), lang), lang)
        if lead_literal is not None:
            break
    quote = None
    if (iri, RDF.type, PKG.Estratto) in graph:
        quote = pick(list(graph.objects(iri, PROV.value)), lang)
    skip = [RDF.type, RDFS.label, SKOS.prefLabel] + ([PROV.value] if quote is not None else [])
    rows = renderer.rows(iri, skip=skip)
    if lead_literal is not None:
        for row in rows:
            if row.prop.iri in (str(DCTERMS.description), str(SKOS.definition)):
                row.values = [v for v in row.values if v.text != str(lead_literal)]
        rows = [row for row in rows if row.values]
    other = "en" if lang == "it" else "it"
    other_label = labels.find(iri, other)
    title = page_title(iri, labels, lang)
    return render_template(
        "resource.html",
        iri=str(iri), title=title,
        other_label=str(other_label) if other_label is not None and str(other_label) != title else None,
        types=types, lead=str(lead_literal) if lead_literal is not None else None,
        rows=rows, incoming=renderer.incoming(iri),
        sources=source_excerpts(iri, renderer),
        figure=observation_figure(iri, renderer),
        quote=str(quote) if quote is not None else None,
        has_inferred=bool(renderer.inferred),
        downloads=downloads_for(local),
        query_url=page_url(request.script_root + "/query?"
                           + urlencode({"query": f"DESCRIBE <{iri}>"})),
        jsonld=json_script(schema_org(iri, graph, labels, lang)),
        **page_context(lang),
    )


# -- dataset metadata: /dataset, /dataset/distribution/{file}, /dataset/service/sparql ----------

def metadata_graph() -> Graph | None:
    """The DCAT catalogue and the VoID description (blueprint ``catalog``), merged; None without it."""
    if "catalog" not in current_app.blueprints:
        return None
    from poli_kg.web import catalog  # DCAT-AP_IT and VoID describe the dataset too
    from poli_kg.web.downloads import current_build

    build = current_build()
    stats = catalog.statistics(build)
    root = public_root().rstrip("/")
    graph = bind_prefixes(Graph())
    for part in (catalog.catalog_graph(root, build, stats,
                                       current_app.config.get("CONTACT_EMAIL") or None),
                 catalog.void_graph(root, build, stats)):
        for prefix, namespace in part.namespaces():
            if prefix not in PREFIXES:
                graph.bind(prefix, namespace, override=False)
        for triple in part:
            graph.add(triple)
    return graph


def describe_in(graph: Graph, iri: URIRef) -> Graph:
    """The description of ``iri`` in an in-memory graph, as :func:`describe` makes it."""
    out = bind_prefixes(Graph())
    for prefix, namespace in graph.namespaces():
        out.bind(prefix, namespace, override=False)
    todo: list[Node] = [iri]
    seen: set[Node] = {iri}
    while todo:
        subject = todo.pop()
        for p, o in graph.predicate_objects(subject):
            out.add((subject, p, o))
            if isinstance(o, BNode) and o not in seen:
                seen.add(o)
                todo.append(o)
    for s_, p in graph.subject_predicates(iri):
        out.add((s_, p, iri))
    nodes = {n for triple in out for n in triple if isinstance(n, URIRef)}
    for node in nodes:
        for prop in LABEL_PROPERTIES + (FOAF.name,):
            for label in graph.objects(node, prop):
                out.add((node, RDFS.label if prop == FOAF.name else prop, label))
    return out


@bp.get("/dataset")
@bp.get("/dataset.<any(html, ttl, jsonld, nt, rdf):ext>")
@bp.get("/dataset/<path:rest>")
def dataset_metadata(rest: str | None = None, ext: str | None = None) -> Response:
    """The dataset, its distributions and its SPARQL service, as the catalogue describes them."""
    path = "dataset" + (f"/{rest}" if rest is not None else f".{ext}" if ext else "")
    graph = metadata_graph() if valid_path(path) else None
    if graph is None:
        return not_found(BASE + path)
    iri, ext = URIRef(BASE + path), None
    if (iri, None, None) not in graph:
        stem, ext = split_suffix(path)
        iri = URIRef(BASE + stem)
        if ext is None or (iri, None, None) not in graph:
            return not_found(BASE + path)
    local = local_path(str(iri)) or ""
    description = describe_in(graph, iri)
    return represent(local, ext, rdf=lambda: description,
                     html=lambda: resource_page(iri, local, description), primary=iri)


# -- schema.org --------------------------------------------------------------------------

ORGANIZATION_TYPES = {ORG.Organization, ORG.FormalOrganization, SCHEMA.Organization,
                      FOAF.Organization, PKG.PoloDiInnovazione, PKG.SoggettoGestore}


def schema_org(iri: URIRef, graph: Graph, labels: Labels, lang: str) -> dict[str, Any] | None:
    """schema.org JSON-LD for organisations (poles, managing bodies, ...), else None."""
    types = set(graph.objects(iri, RDF.type))
    if not types & ORGANIZATION_TYPES:
        return None
    schema_type = "Organization"
    if SCHEMA.GovernmentOrganization in types:
        schema_type = "GovernmentOrganization"
    elif SCHEMA.Corporation in types:
        schema_type = "Corporation"

    def ref(node: Node) -> dict[str, str]:
        return {"@type": "Organization", "@id": str(node), "name": labels.text(node, lang),
                "url": public_url(str(node))}

    data: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": schema_type,
        "@id": str(iri),
        "name": labels.text(iri, lang),
        "mainEntityOfPage": public_url(str(iri)),
    }
    alternate = sorted({str(v) for v in graph.objects(iri, SKOS.altLabel)} - {data["name"]})
    if alternate:
        data["alternateName"] = alternate
    homepage = graph.value(iri, FOAF.homepage)
    if homepage is not None:
        data["url"] = str(homepage)
    legal = graph.value(iri, URIRef("https://w3id.org/italia/onto/COV/legalName"))
    if legal is not None:
        data["legalName"] = str(legal)
    description = pick(list(graph.objects(iri, DCTERMS.description)), lang)
    if description is not None:
        data["description"] = str(description)
    area = graph.value(iri, PKG.areaTematica)
    if area is not None:
        data["knowsAbout"] = labels.text(area, lang)
    manager = graph.value(iri, PKG.haSoggettoGestore)
    if manager is not None:
        data["parentOrganization"] = ref(manager)
    members = [ref(n) for n in graph.objects(iri, PKG.parteDelSistema)]
    members += [ref(n) for n in graph.objects(iri, PKG.partecipaACluster)]
    if members:
        data["memberOf"] = members
    subs = [ref(n) for n in graph.objects(iri, PKG.gestisce)]
    subs += [ref(n) for n in graph.objects(iri, PKG.comprendePolo)]
    subs += [ref(n) for n in graph.objects(iri, PKG.haComponente)]
    if subs:
        data["subOrganization"] = subs
    return data


# -- the ontology --------------------------------------------------------------------------

ONTOLOGY = URIRef(ONTOLOGY_IRI)
ONTOLOGY_PATH = "/ontology"
CLASS_TYPES = (OWL.Class, RDFS.Class)
PROPERTY_KINDS = (
    (OWL.ObjectProperty, {"it": "Proprietà di oggetto", "en": "Object property"}),
    (OWL.DatatypeProperty, {"it": "Proprietà di dati", "en": "Datatype property"}),
    (OWL.AnnotationProperty, {"it": "Proprietà di annotazione", "en": "Annotation property"}),
    (RDF.Property, {"it": "Proprietà", "en": "Property"}),
)
CHARACTERISTICS = {
    OWL.FunctionalProperty: {"it": "funzionale", "en": "functional"},
    OWL.InverseFunctionalProperty: {"it": "inversa funzionale", "en": "inverse functional"},
    OWL.TransitiveProperty: {"it": "transitiva", "en": "transitive"},
    OWL.SymmetricProperty: {"it": "simmetrica", "en": "symmetric"},
    QB.DimensionProperty: {"it": "dimensione (Data Cube)", "en": "dimension (Data Cube)"},
    QB.MeasureProperty: {"it": "misura (Data Cube)", "en": "measure (Data Cube)"},
    QB.AttributeProperty: {"it": "attributo (Data Cube)", "en": "attribute (Data Cube)"},
}
ONTOLOGY_TEXT = {
    "it": {
        "doc": "Documentazione dell'ontologia", "metadata": "Metadati", "version": "Versione",
        "version_iri": "IRI della versione", "license": "Licenza", "issued": "Pubblicata",
        "modified": "Modificata", "creator": "Autore", "publisher": "Editore",
        "languages": "Lingue", "see_also": "Vedi anche", "namespace": "Namespace",
        "prefix": "Prefisso preferito", "classes": "Classi", "properties": "Proprietà",
        "alignments": "Allineamenti a vocabolari esterni",
        "alignments_hint": "Come i termini dell'ontologia si collegano a vocabolari diffusi (W3C ORG, schema.org, PROV-O, SKOS, RDF Data Cube, OntoPiA COV, …).",
        "term": "Termine", "relation": "Relazione", "external_term": "Termine esterno",
        "contents": "Indice", "label": "Etichetta", "definition": "Definizione",
        "subclass_of": "Sottoclasse di", "superclass_of": "Superclasse di",
        "equivalent": "Equivalente a", "disjoint": "Disgiunta da",
        "subproperty_of": "Sottoproprietà di", "superproperty_of": "Superproprietà di",
        "domain": "Dominio", "range": "Codominio", "inverse": "Inversa di",
        "chain": "Catena di proprietà", "domain_of": "Dominio di", "range_of": "Codominio di",
        "concept": "Concetto (Data Cube)", "defined_by": "Definita in",
        "instances": "Istanze nel grafo", "usage": "Triple nel grafo",
        "source": "Dalla fonte", "reused": "Termini di altri vocabolari descritti qui",
        "characteristics": "Caratteristiche", "class": "Classe",
        "generated": "Pagina generata dal grafo dell'ontologia a ogni richiesta.",
    },
    "en": {
        "doc": "Ontology documentation", "metadata": "Metadata", "version": "Version",
        "version_iri": "Version IRI", "license": "Licence", "issued": "Issued",
        "modified": "Modified", "creator": "Creator", "publisher": "Publisher",
        "languages": "Languages", "see_also": "See also", "namespace": "Namespace",
        "prefix": "Preferred prefix", "classes": "Classes", "properties": "Properties",
        "alignments": "Alignments to external vocabularies",
        "alignments_hint": "How the ontology's terms relate to widely used vocabularies (W3C ORG, schema.org, PROV-O, SKOS, RDF Data Cube, OntoPiA COV, …).",
        "term": "Term", "relation": "Relation", "external_term": "External term",
        "contents": "Contents", "label": "Label", "definition": "Definition",
        "subclass_of": "Subclass of", "superclass_of": "Superclass of",
        "equivalent": "Equivalent to", "disjoint": "Disjoint with",
        "subproperty_of": "Subproperty of", "superproperty_of": "Superproperty of",
        "domain": "Domain", "range": "Range", "inverse": "Inverse of",
        "chain": "Property chain", "domain_of": "Domain of", "range_of": "Range of",
        "concept": "Concept (Data Cube)", "defined_by": "Defined by",
        "instances": "Instances in the graph", "usage": "Triples in the graph",
        "source": "From the source", "reused": "Terms of other vocabularies described here",
        "characteristics": "Characteristics", "class": "Class",
        "generated": "This page is generated from the ontology graph on every request.",
    },
}
ONTOLOGY_SOURCES_QUERY = sparql_prologue() + """
SELECT ?t ?ex ?value ?section ?first ?last WHERE {
  GRAPH ?og { ?t dct:source ?ex }
  ?ex prov:value ?value .
  OPTIONAL { ?ex pkg:sezione ?section }
  OPTIONAL { ?ex pkg:rigaIniziale ?first }
  OPTIONAL { ?ex pkg:rigaFinale ?last }
} ORDER BY ?t ?first
"""
INSTANCES_QUERY = sparql_prologue() + """
SELECT ?c ?s ?label WHERE {
  { SELECT DISTINCT ?c WHERE { GRAPH ?og { ?c a owl:Class } } }
  ?s a ?c .
  OPTIONAL { ?s rdfs:label ?label FILTER(lang(?label) = ?lang) }
} ORDER BY ?c ?label ?s
"""
USAGE_QUERY = sparql_prologue() + """
SELECT ?p (COUNT(*) AS ?n) WHERE {
  { SELECT DISTINCT ?p WHERE { GRAPH ?og { ?p a ?k } VALUES ?k { owl:ObjectProperty owl:DatatypeProperty owl:AnnotationProperty rdf:Property } } }
  ?s ?p ?o .
} GROUP BY ?p
"""
MAX_INSTANCES = 120


def ontology_graph() -> Graph:
    """The ontology as published: the ontology named graph."""
    return graph_content(GRAPH_ONTOLOGY)


@dataclass
class TermDoc:
    """One class or property of the ontology documentation."""

    iri: str
    anchor: str
    curie: str
    kind: str
    badges: list[str]
    labels: dict[str, str]
    definitions: dict[str, str]
    facts: list[tuple[str, list[Value]]]
    sources: list[Excerpt]
    usage: int | None = None
    instances: list[Value] = field(default_factory=list)
    more_instances: int = 0

    def label(self, lang: str) -> str:
        return self.labels.get(lang) or self.labels.get("it") or self.labels.get("en") or self.curie


def anchor_of(iri: str) -> str:
    """The HTML id of a term: its local name for ontology terms, ``prefix-local`` otherwise."""
    if iri.startswith(ONTOLOGY_IRI + "#"):
        return iri[len(ONTOLOGY_IRI) + 1:]
    name = prefixed(iri) or iri
    return re.sub(r"[^\w-]+", "-", name).strip("-")


def _terms_of(graph: Graph, types: Iterable[URIRef]) -> list[URIRef]:
    found = {s for t in types for s in graph.subjects(RDF.type, t) if isinstance(s, URIRef)}
    return sorted(found, key=lambda s: anchor_of(str(s)).casefold())


def ontology_page() -> str:
    """The HTML documentation of the ontology, generated from the ontology graph."""
    lang = language()
    ot = ONTOLOGY_TEXT[lang]
    store = get_store()
    graph = ontology_graph()
    labels = Labels(graph)
    labels.add_graph(store.construct(LABELS_OF_GRAPH_OBJECTS, bindings={"g": GRAPH_ONTOLOGY}))
    classes = _terms_of(graph, CLASS_TYPES)
    properties = _terms_of(graph, [kind for kind, _ in PROPERTY_KINDS] + list(CHARACTERISTICS))
    properties = [p for p in properties if p not in classes]
    described = {str(t) for t in classes + properties}
    anchors = {iri: "#" + anchor_of(iri) for iri in described}
    renderer = Renderer(graph, labels, lang)

    def localise(v: Value) -> Value:
        if v.iri in anchors:
            v.href, v.external = anchors[v.iri], False
        elif v.external and v.iri and prefixed(v.iri):
            v.text, v.note = prefixed(v.iri) or v.text, None
        return v

    def value(node: Node) -> Value:
        v = localise(renderer.term(node))
        v.items = [localise(item) for item in v.items]
        return v

    def values(nodes: Iterable[Node]) -> list[Value]:
        return [value(n) for n in sorted(set(nodes), key=renderer._sort_key)]

    sources: dict[str, list[Excerpt]] = defaultdict(list)
    for row in store.select(ONTOLOGY_SOURCES_QUERY, bindings={"og": GRAPH_ONTOLOGY}):
        first, last = row.get("first"), row.get("last")
        lines = None
        if first is not None:
            lines = (f"{TEXT[lang]['line']} {first}" if last is None or last == first
                     else f"{TEXT[lang]['lines']} {first}–{last}")
        sources[str(row["t"])].append(Excerpt(
            iri=str(row["ex"]), href=href_for(str(row["ex"]))[0], text=str(row["value"]),
            section=str(row["section"]) if "section" in row else None, lines=lines,
            document=None))
    instances: dict[str, list[Value]] = defaultdict(list)
    for row in store.select(INSTANCES_QUERY, bindings={"og": GRAPH_ONTOLOGY,
                                                       "lang": Literal(lang)}):
        iri = str(row["s"])
        href, external = href_for(iri)
        text = str(row["label"]) if "label" in row else (prefixed(iri) or iri[len(BASE):])
        instances[str(row["c"])].append(Value(text, kind="iri", href=href, external=external,
                                              iri=iri, title=iri))
    usage = {str(row["p"]): int(row["n"])
             for row in store.select(USAGE_QUERY, bindings={"og": GRAPH_ONTOLOGY})}

    def doc(term: URIRef, kind: str) -> TermDoc:
        iri = str(term)
        types = set(graph.objects(term, RDF.type))
        badges = [names[lang] for char, names in CHARACTERISTICS.items() if char in types]
        lab = {lit.language or "": str(lit) for lit in graph.objects(term, RDFS.label)
               if isinstance(lit, Literal)}
        defs = {lit.language or "": str(lit) for lit in graph.objects(term, SKOS.definition)
                if isinstance(lit, Literal)}
        defs |= {lit.language or "": str(lit) for lit in graph.objects(term, RDFS.comment)
                 if isinstance(lit, Literal) and (lit.language or "") not in defs}
        facts: list[tuple[str, list[Value]]] = []

        def fact(key: str, nodes: Iterable[Node]) -> None:
            found = values(nodes)
            if found:
                facts.append((ot[key], found))

        if kind == "class":
            fact("subclass_of", graph.objects(term, RDFS.subClassOf))
            fact("superclass_of", graph.subjects(RDFS.subClassOf, term))
            fact("equivalent", graph.objects(term, OWL.equivalentClass))
            fact("disjoint", graph.objects(term, OWL.disjointWith))
            fact("domain_of", graph.subjects(RDFS.domain, term))
            fact("range_of", graph.subjects(RDFS.range, term))
        else:
            fact("subproperty_of", graph.objects(term, RDFS.subPropertyOf))
            fact("superproperty_of", graph.subjects(RDFS.subPropertyOf, term))
            fact("domain", graph.objects(term, RDFS.domain))
            fact("range", graph.objects(term, RDFS.range))
            fact("inverse", set(graph.objects(term, OWL.inverseOf))
                 | set(graph.subjects(OWL.inverseOf, term)))
            fact("equivalent", graph.objects(term, OWL.equivalentProperty))
            fact("chain", graph.objects(term, OWL.propertyChainAxiom))
            fact("concept", graph.objects(term, QB.concept))
        fact("see_also", graph.objects(term, RDFS.seeAlso))
        found = instances.get(iri, [])
        return TermDoc(
            iri=iri, anchor=anchor_of(iri), curie=prefixed(iri) or iri, kind=kind,
            badges=badges, labels=lab, definitions=defs, facts=facts,
            sources=sources.get(iri, []),
            usage=usage.get(iri) if kind != "class" else None,
            instances=found[:MAX_INSTANCES], more_instances=max(len(found) - MAX_INSTANCES, 0),
        )

    class_docs = [doc(c, "class") for c in classes]
    property_groups: list[tuple[str, list[TermDoc]]] = []
    grouped: set[URIRef] = set()
    for kind, names in PROPERTY_KINDS:
        members = [p for p in properties if (p, RDF.type, kind) in graph and p not in grouped]
        grouped.update(members)
        if members:
            property_groups.append((names[lang], [doc(p, names[lang]) for p in members]))
    rest = [p for p in properties if p not in grouped]
    if rest:
        property_groups.append((ot["properties"], [doc(p, ot["properties"]) for p in rest]))
    class_docs.sort(key=lambda d: d.label(lang).casefold())
    for _title, docs in property_groups:
        docs.sort(key=lambda d: (not d.iri.startswith(ONTOLOGY_IRI), d.label(lang).casefold()))

    alignments = []
    for term in classes + properties:
        for rel_key, prop in (("subclass_of", RDFS.subClassOf), ("equivalent", OWL.equivalentClass),
                              ("subproperty_of", RDFS.subPropertyOf),
                              ("equivalent", OWL.equivalentProperty), ("inverse", OWL.inverseOf)):
            targets = [o for o in graph.objects(term, prop)
                       if isinstance(o, URIRef) and not str(o).startswith(BASE)]
            if targets and str(term).startswith(BASE):
                alignments.append((value(term), ot[rel_key], values(targets)))
    alignments.sort(key=lambda row: row[0].text.casefold())

    meta_facts: list[tuple[str, list[Value]]] = []
    for key, prop in (("version", OWL.versionInfo), ("version_iri", OWL.versionIRI),
                      ("license", DCTERMS.license), ("issued", DCTERMS.issued),
                      ("modified", DCTERMS.modified), ("creator", DCTERMS.creator),
                      ("publisher", DCTERMS.publisher), ("languages", DCTERMS.language),
                      ("see_also", RDFS.seeAlso)):
        found = values(graph.objects(ONTOLOGY, prop))
        if found:
            meta_facts.append((ot[key], found))
    namespaces = sorted({(p, str(ns)) for p, ns in PREFIXES.items()
                         if any(str(t).startswith(str(ns)) for t in classes + properties)})
    title = pick(list(graph.objects(ONTOLOGY, DCTERMS.title)), lang)
    description = pick(list(graph.objects(ONTOLOGY, DCTERMS.description)), lang)
    return render_template(
        "ontology.html",
        ot=ot, iri=ONTOLOGY_IRI, title=str(title) if title else ot["doc"],
        description=str(description) if description else None,
        meta_facts=meta_facts, namespaces=namespaces, classes=class_docs,
        property_groups=property_groups, alignments=alignments,
        downloads=downloads_for(request.script_root + ONTOLOGY_PATH),
        **page_context(lang),
    )


@bp.get("/ontology")
@bp.get("/ontology.<any(html, ttl, jsonld, nt, rdf):ext>")
def ontology(ext: str | None = None) -> Response:
    """The ontology document: documentation page or the ontology graph."""
    return represent(request.script_root + ONTOLOGY_PATH, ext, rdf=ontology_graph,
                     html=ontology_page, primary=ONTOLOGY)


@bp.get("/ontology/<path:version>")
def ontology_version(version: str) -> Response:
    """The ontology under its version IRI (``owl:versionIRI``), e.g. ``/ontology/1.0.0``."""
    stem, ext = split_suffix(version)
    for candidate, suffix in ((version, None), (stem, ext)):
        iri = URIRef(ONTOLOGY_IRI + "/" + candidate)
        if valid_path(candidate) and get_store().select(
                "SELECT ?o WHERE { ?o <http://www.w3.org/2002/07/owl#versionIRI> ?v } LIMIT 1",
                bindings={"v": iri}):
            path = local_path(str(iri)) or ""
            return represent(path, suffix, rdf=ontology_graph, html=ontology_page,
                             primary=ONTOLOGY)
    return not_found(ONTOLOGY_IRI + "/" + version)


# -- named graphs ----------------------------------------------------------------------------

GRAPH_TEXT = {
    "ontology": {
        "it": ("Grafo dell'ontologia", "L'ontologia OWL 2 di poli-kg: classi e proprietà con etichette e definizioni in italiano e in inglese."),
        "en": ("Ontology graph", "The poli-kg OWL 2 ontology: classes and properties with labels and definitions in Italian and English."),
    },
    "data": {
        "it": ("Grafo dei dati", "I dati: i sette Poli, i soggetti gestori, il sistema regionale, i programmi e i bandi, le osservazioni statistiche e i vocabolari SKOS."),
        "en": ("Data graph", "The data: the seven clusters, their managing bodies, the regional system, programmes and calls, statistical observations and SKOS vocabularies."),
    },
    "provenance": {
        "it": ("Grafo della provenienza", "Il documento fonte (Regione Piemonte, 2017) e le sue frasi, citate esattamente con sezione e righe."),
        "en": ("Provenance graph", "The source document (Piedmont Region, 2017) and its sentences, quoted exactly with section and lines."),
    },
    "inferred": {
        "it": ("Grafo delle inferenze", "Le triple dedotte dal ragionamento OWL 2 RL sull'ontologia e sui dati (tipi, proprietà inverse e super-proprietà, catene)."),
        "en": ("Inferred graph", "The triples entailed by OWL 2 RL reasoning over the ontology and the data (types, inverse and super-properties, chains)."),
    },
}
GRAPH_PAGE_TEXT = {
    "it": {"triples": "Triple", "graphs": "Grafi con nome", "classes": "Classi nel grafo",
           "predicates": "Proprietà più usate", "instances": "Risorse", "uses": "Triple",
           "get_graph": "Ottieni il grafo", "construct": "Tutte le triple del grafo (CONSTRUCT sull'endpoint SPARQL, Turtle)",
           "dumps": "Il dataset completo, con i grafi con nome", "union": "L'unione dei grafi con nome è il grafo di default dell'endpoint SPARQL.",
           "dump": "File del grafo"},
    "en": {"triples": "Triples", "graphs": "Named graphs", "classes": "Classes in the graph",
           "predicates": "Most used properties", "instances": "Resources", "uses": "Triples",
           "get_graph": "Get the graph", "construct": "Every triple of the graph (CONSTRUCT on the SPARQL endpoint, Turtle)",
           "dumps": "The whole dataset, with its named graphs", "union": "The union of the named graphs is the SPARQL endpoint's default graph.",
           "dump": "File of the graph"},
}
GRAPH_DUMPS = {"inferred": "poli-kg-inferred.ttl"}
GRAPH_CLASSES_QUERY = """
SELECT ?c (COUNT(DISTINCT ?s) AS ?n) WHERE { GRAPH ?g { ?s a ?c } } GROUP BY ?c ORDER BY DESC(?n) ?c LIMIT 25
"""
GRAPH_PREDICATES_QUERY = """
SELECT ?p (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?p ORDER BY DESC(?n) ?p LIMIT 15
"""
LABELS_QUERY = sparql_prologue() + """
CONSTRUCT { ?n rdfs:label ?l . ?n skos:prefLabel ?pl } WHERE {
  { SELECT DISTINCT ?n WHERE { GRAPH ?g { { ?s a ?n } UNION { ?s ?n ?o } } } }
  { ?n rdfs:label ?l } UNION { ?n skos:prefLabel ?pl }
}
"""


def graph_description(name: str, iri: URIRef) -> Graph:
    """RDF about a named graph: labels, description, size, where to get it."""
    graph = describe(iri)
    graph.add((iri, RDF.type, SD.Graph))
    graph.add((iri, RDF.type, VOID.Dataset))
    for lang in LANGUAGES:
        title, description = GRAPH_TEXT.get(name, {}).get(lang, (name, ""))
        graph.add((iri, RDFS.label, Literal(title, lang=lang)))
        if description:
            graph.add((iri, DCTERMS.description, Literal(description, lang=lang)))
    size = get_store().graph_sizes().get(str(iri))
    if size is not None:
        graph.add((iri, VOID.triples, Literal(size)))
    graph.add((iri, VOID.sparqlEndpoint, URIRef(BASE + "sparql")))
    graph.add((iri, DCTERMS.license, LICENSE))
    if name in GRAPH_DUMPS:
        graph.add((iri, VOID.dataDump, URIRef(BASE + "downloads/" + GRAPH_DUMPS[name])))
    if name == "ontology":
        graph.add((iri, VOID.rootResource, ONTOLOGY))
    return graph


def graph_page(name: str, iri: URIRef) -> str:
    """The HTML page of a named graph."""
    lang = language()
    gt = GRAPH_PAGE_TEXT[lang]
    store = get_store()
    sizes = store.graph_sizes()
    labels = Labels(store.construct(LABELS_QUERY, bindings={"g": iri}))
    renderer = Renderer(Graph(), labels, lang)
    classes = [(renderer.iri(row["c"]), format_number(int(row["n"]), lang))
               for row in store.select(GRAPH_CLASSES_QUERY, bindings={"g": iri})]
    predicates = [(renderer.iri(row["p"]), format_number(int(row["n"]), lang))
                  for row in store.select(GRAPH_PREDICATES_QUERY, bindings={"g": iri})]
    title, description = GRAPH_TEXT.get(name, {}).get(lang, (name, ""))
    construct = f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{iri}> {{ ?s ?p ?o }} }}"
    others = []
    for other in store.named_graphs:
        other_name = other[len(str(GRAPH)):] if other.startswith(str(GRAPH)) else other
        others.append({
            "href": href_for(other)[0], "iri": other, "current": other == str(iri),
            "title": GRAPH_TEXT.get(other_name, {}).get(lang, (other_name, ""))[0],
            "size": format_number(sizes.get(other, 0), lang),
        })
    local = local_path(str(iri)) or ""
    root = request.script_root
    return render_template(
        "namedgraph.html", gt=gt, iri=str(iri), title=title, description=description,
        size=format_number(sizes.get(str(iri), 0), lang), classes=classes, predicates=predicates,
        others=others, downloads=downloads_for(local),
        construct_url=f"{root}/sparql?" + urlencode({"query": construct, "format": "turtle"}),
        dump_url=f"{root}/downloads/{GRAPH_DUMPS[name]}" if name in GRAPH_DUMPS else None,
        dumps=[(label, f"{root}/downloads/{file}") for file, label in DOWNLOAD_DUMPS
               if file.endswith((".trig", ".nq"))],
        **page_context(lang),
    )


@bp.get("/graph/<name>")
def named_graph(name: str) -> Response:
    """A named graph of the dataset: its description (HTML or RDF)."""
    known = set(get_store().named_graphs)
    stem, ext = name, None
    if str(GRAPH[name]) not in known:
        stem, ext = split_suffix(name)
        if ext is None or str(GRAPH[stem]) not in known:
            return not_found(str(GRAPH) + name)
    iri = GRAPH[stem]
    path = local_path(str(iri)) or ""
    return represent(path, ext, rdf=lambda: graph_description(stem, iri),
                     html=lambda: graph_page(stem, iri), primary=iri)


# -- SHACL shapes ----------------------------------------------------------------------------

_shapes_cache: dict[tuple[str, tuple[tuple[str, float], ...]], Graph] = {}


def shapes_graph() -> Graph | None:
    """The SHACL shapes (``SHAPES_DIR`` config key, else the project's ``shapes/``), or None."""
    folder = Path(current_app.config.get("SHAPES_DIR") or ROOT / "shapes")
    files = sorted(folder.glob("*.ttl")) if folder.is_dir() else []
    if not files:
        return None
    key = (str(folder), tuple((f.name, f.stat().st_mtime) for f in files))
    if key not in _shapes_cache:
        graph = bind_prefixes(Graph())
        graph.bind("shapes", SHAPES_IRI + "#")
        for f in files:
            graph.parse(f, format="turtle")
        _shapes_cache.clear()
        _shapes_cache[key] = graph
    copy = bind_prefixes(Graph())
    for triple in _shapes_cache[key]:
        copy.add(triple)
    return copy


SHAPES_TEXT = {
    "it": {"title": "Forme SHACL", "intro": "I vincoli SHACL che i dati devono rispettare: la pubblicazione si ferma alle violazioni; gli avvisi vengono segnalati ma i dati della fonte restano come pubblicati.",
           "targets": "Si applica a", "severity": "Gravità", "message": "Messaggio",
           "path": "Percorso", "report": "Rapporto di validazione dell'ultima pubblicazione"},
    "en": {"title": "SHACL shapes", "intro": "The SHACL constraints the data must meet: publishing stops on violations; warnings are reported while the source's figures are kept as published.",
           "targets": "Applies to", "severity": "Severity", "message": "Message",
           "path": "Path", "report": "Validation report of the latest build"},
}


def shapes_page(graph: Graph) -> str:
    """The HTML page of the SHACL shapes: every node shape with its targets and messages."""
    lang = language()
    labels = Labels(graph)
    labels.add_graph(ontology_graph())
    renderer = Renderer(graph, labels, lang)
    shapes = []
    for shape in sorted({s for s in graph.subjects(RDF.type, SH.NodeShape)
                         if isinstance(s, URIRef)}, key=str):
        targets = [renderer.iri(t) for t in graph.objects(shape, SH.targetClass)]
        for target in targets:
            if target.iri and target.iri.startswith(ONTOLOGY_IRI + "#"):
                target.href = page_url(request.script_root + ONTOLOGY_PATH + "#"
                                       + anchor_of(target.iri))
        messages: list[tuple[str, str | None]] = []
        severities: set[str] = set()
        for node in [shape, *graph.objects(shape, SH.property), *graph.objects(shape, SH.sparql)]:
            severity = graph.value(node, SH.severity)
            if severity is not None:
                severities.add(str(severity).rpartition("#")[2])
            message = pick(list(graph.objects(node, SH.message)), lang)
            if message is not None and (str(message), message.language) not in messages:
                messages.append((str(message), message.language))
        comment = pick(list(graph.objects(shape, RDFS.comment)), lang)
        shapes.append({"iri": str(shape), "anchor": str(shape).rpartition("#")[2],
                       "targets": targets, "messages": messages,
                       "severity": ", ".join(sorted(severities)) or "Violation",
                       "comment": str(comment) if comment is not None else None})
    return render_template("shapes.html", st=SHAPES_TEXT[lang], shapes=shapes, iri=SHAPES_IRI,
                           downloads=downloads_for(request.script_root + "/shapes"),
                           **page_context(lang))


@bp.get("/shapes")
@bp.get("/shapes.<any(html, ttl, jsonld, nt, rdf):ext>")
def shapes(ext: str | None = None) -> Response:
    """The SHACL shapes (``.../shapes#Shape`` IRIs)."""
    graph = shapes_graph()
    if graph is None:
        return not_found(SHAPES_IRI)
    return represent(request.script_root + "/shapes", ext, rdf=lambda: graph,
                     html=lambda: shapes_page(graph))


# -- home page and its charts ---------------------------------------------------------------

HOME_TEXT = {
    "it": {
        "title": "Poli di Innovazione del Piemonte",
        "subtitle": "Un grafo di conoscenza in dati aperti collegati",
        "description": "poli-kg descrive i sette Poli di Innovazione della Regione Piemonte — le loro aree tematiche, i soggetti gestori, la partecipazione ai Cluster Tecnologici Nazionali, i programmi POR FESR e i bandi — e i dati pubblicati nel rapporto regionale del 2017. Ogni fatto e ogni cifra rimanda alla frase della fonte da cui deriva.",
        "license": "Licenza", "source": "Fonte", "triples": "triple",
        "explore": "Esplora e scarica",
        "query_desc": "Interroga il grafo con SPARQL, con domande di esempio.",
        "downloads_desc": "Il grafo completo in Turtle, JSON-LD, N-Triples, RDF/XML, TriG e N-Quads.",
        "catalog_desc": "Il catalogo DCAT-AP_IT del dataset e delle sue distribuzioni.",
        "void_desc": "La descrizione VoID del dataset: grafi, dimensioni, vocabolari.",
        "ontology_desc": "Classi e proprietà, con definizioni e allineamenti.",
        "poles": "I sette Poli di Innovazione", "pole": "Polo", "area": "Area tematica",
        "manager": "Soggetto gestore", "website": "Sito web",
        "figures": "I dati in sintesi",
        "figures_hint": "Grafici generati dal grafo con SPARQL a ogni richiesta; un clic su una barra apre l'osservazione e la frase della fonte.",
        "graphs": "Grafi con nome", "graph": "Grafo", "total": "Totale",
        "members_total": "Totale pubblicato", "members_remainder": "{n} non attribuiti a una tipologia",
        "members_sum": "Somma delle tipologie: {sum}",
        "members_note": "La fonte dà {total} aderenti ma le quattro tipologie sommano a {sum}: i {gap} aderenti di differenza non sono attribuiti a una tipologia. I dati restano come pubblicati; la validazione SHACL lo segnala come avviso.",
        "calls_counts": "Progetti e imprese (numero)", "calls_amounts": "Importi (milioni di euro)",
        "calls_note": "Bandi per i Poli della programmazione POR FESR 2014-2020, a confronto.",
        "patents_note": "Brevetti generati dai progetti delle misure per i Poli, programmazione 2007-2013.",
        "chart_desc": "{title}. Valori: {values}.",
        "data_link": "Dati del grafico",
    },
    "en": {
        "title": "Innovation Clusters of Piedmont",
        "subtitle": "A linked open data knowledge graph",
        "description": "poli-kg describes the seven innovation clusters (Poli di Innovazione) of the Piedmont Region — their thematic areas, managing bodies, participation in the Italian National Technology Clusters, the ERDF programmes and calls — and the figures published in the Region's 2017 report. Every fact and figure points to the sentence of the source it rests on.",
        "license": "Licence", "source": "Source", "triples": "triples",
        "explore": "Explore and download",
        "query_desc": "Query the graph with SPARQL, with example questions.",
        "downloads_desc": "The whole graph as Turtle, JSON-LD, N-Triples, RDF/XML, TriG and N-Quads.",
        "catalog_desc": "The DCAT-AP_IT catalogue of the dataset and its distributions.",
        "void_desc": "The VoID description of the dataset: graphs, sizes, vocabularies.",
        "ontology_desc": "Classes and properties, with definitions and alignments.",
        "poles": "The seven innovation clusters", "pole": "Cluster", "area": "Thematic area",
        "manager": "Managing body", "website": "Website",
        "figures": "Key figures",
        "figures_hint": "Charts drawn from the graph with SPARQL on every request; click a bar to open the observation and the sentence of the source.",
        "graphs": "Named graphs", "graph": "Graph", "total": "Total",
        "members_total": "Published total", "members_remainder": "{n} not assigned to a type",
        "members_sum": "Sum of the types: {sum}",
        "members_note": "The source gives {total} members but the four types add up to {sum}: the {gap} members in between are not assigned to a type. The figures are kept as published; SHACL validation reports this as a warning.",
        "calls_counts": "Projects and enterprises (count)", "calls_amounts": "Amounts (millions of euro)",
        "calls_note": "The calls for the clusters of the ERDF ROP 2014-2020, compared.",
        "patents_note": "Patents generated by the projects of the cluster measures, 2007-2013 programming.",
        "chart_desc": "{title}. Values: {values}.",
        "data_link": "Chart data",
    },
}
DATASET_MEMBERS = ID["dataset/aderenti"]
DATASET_CALLS = ID["dataset/bandi-2014-2020"]
DATASET_PATENTS = ID["dataset/brevetti-2007-2013"]
TOTAL = ID["scheme/disaggregazioni/totale"]
INDICATOR_ORDER = [ID["scheme/indicatori/" + n] for n in (
    "progetti-presentati", "progetti-finanziati", "imprese-coinvolte",
    "dotazione-finanziaria", "investimento-complessivo", "contributi-concessi")]
"""Reading order of the calls' indicators in the chart (others follow, by label)."""
OBSERVATIONS_QUERY = sparql_prologue() + """
SELECT ?obs ?indicator ?subject ?breakdown ?period ?value ?unit ?qualifier WHERE {
  ?obs qb:dataSet ?ds ; pkg:indicatore ?indicator ; pkg:oggettoRilevazione ?subject ;
       sdmx-measure:obsValue ?value .
  OPTIONAL { ?obs pkg:disaggregazione ?breakdown }
  OPTIONAL { ?obs sdmx-dimension:refPeriod ?period }
  OPTIONAL { ?obs sdmx-attribute:unitMeasure ?unit }
  OPTIONAL { ?obs pkg:qualificatoreValore ?qualifier }
} ORDER BY ?obs
"""
OBSERVATION_LABELS_QUERY = sparql_prologue() + """
CONSTRUCT { ?n rdfs:label ?l . ?n skos:prefLabel ?pl } WHERE {
  { BIND(?ds AS ?n) }
  UNION { ?obs qb:dataSet ?ds ; pkg:indicatore|pkg:oggettoRilevazione|pkg:disaggregazione|sdmx-dimension:refPeriod ?n }
  { ?n rdfs:label ?l } UNION { ?n skos:prefLabel ?pl }
}
"""
POLES_QUERY = sparql_prologue() + """
SELECT ?polo ?area ?manager ?site WHERE {
  ?polo a pkg:PoloDiInnovazione .
  OPTIONAL { ?polo pkg:areaTematica ?area }
  OPTIONAL { ?polo pkg:haSoggettoGestore ?manager }
  OPTIONAL { ?polo foaf:homepage ?site }
}
"""
POLES_LABELS_QUERY = sparql_prologue() + """
CONSTRUCT { ?n rdfs:label ?l . ?n skos:prefLabel ?pl } WHERE {
  ?polo a pkg:PoloDiInnovazione .
  { BIND(?polo AS ?n) } UNION { ?polo pkg:areaTematica ?n } UNION { ?polo pkg:haSoggettoGestore ?n }
  { ?n rdfs:label ?l } UNION { ?n skos:prefLabel ?pl }
}
"""


@dataclass(frozen=True)
class Observation:
    """One figure of a data set, as the charts need it."""

    iri: URIRef
    indicator: URIRef
    subject: URIRef
    breakdown: URIRef | None
    period: URIRef | None
    value: Decimal
    unit: str | None


def dataset_observations(dataset: URIRef) -> tuple[list[Observation], Labels]:
    """The observations of a qb:DataSet and the labels of their dimensions' values."""
    store = get_store()
    observations = []
    for row in store.select(OBSERVATIONS_QUERY, bindings={"ds": dataset}):
        try:
            value = Decimal(str(row["value"]))
        except InvalidOperation:
            continue
        observations.append(Observation(
            row["obs"], row["indicator"], row["subject"], row.get("breakdown"),
            row.get("period"), value, str(row["unit"]) if "unit" in row else None))
    labels = Labels(store.construct(OBSERVATION_LABELS_QUERY, bindings={"ds": dataset}))
    return observations, labels


def _describe_values(bars: Iterable[charts.Bar]) -> str:
    return "; ".join(f"{bar.label} {bar.display}" for bar in bars)


def members_chart(lang: str) -> dict[str, Any] | None:
    """Members by type (bars) against the published total."""
    ht = HOME_TEXT[lang]
    observations, labels = dataset_observations(DATASET_MEMBERS)
    totals = [o for o in observations if o.breakdown == TOTAL]
    parts = sorted((o for o in observations if o.breakdown not in (None, TOTAL)),
                   key=lambda o: -o.value)
    if not parts:
        return None
    bars = [charts.Bar(labels.text(o.breakdown, lang), float(o.value),
                       format_amount(o.value, o.unit, lang), page_url(local_path(str(o.iri)) or ""))
            for o in parts if o.breakdown is not None]
    title = labels.text(DATASET_MEMBERS, lang)
    total = None
    note = None
    parts_sum = sum(o.value for o in parts)
    sum_text = format_number(parts_sum, lang)
    if totals:
        t = totals[0]
        gap = t.value - parts_sum
        total = charts.Total(
            ht["members_total"], float(t.value), format_amount(t.value, t.unit, lang),
            ht["members_remainder"].format(n=format_number(gap, lang)) if gap > 0 else "",
            page_url(local_path(str(t.iri)) or ""))
        if gap:
            note = ht["members_note"].format(total=format_number(t.value, lang), sum=sum_text,
                                             gap=format_number(abs(gap), lang))
    described = list(bars) + ([charts.Bar(total.label, total.value, total.display)] if total else [])
    svg = charts.bar_chart(
        "chart-members", title, ht["chart_desc"].format(title=title, values=_describe_values(described)),
        bars, total=total, caption_sum=ht["members_sum"].format(sum=sum_text))
    return {"id": "chart-members", "title": title, "svg": svg, "note": note,
            "href": page_url(local_path(str(DATASET_MEMBERS)) or "")}


def calls_chart(lang: str) -> dict[str, Any] | None:
    """The 2014-2020 calls side by side: counts and amounts per indicator."""
    ht = HOME_TEXT[lang]
    observations, labels = dataset_observations(DATASET_CALLS)
    by_subject: dict[URIRef, dict[URIRef, Observation]] = defaultdict(dict)
    for o in observations:
        if o.breakdown in (None, TOTAL):
            by_subject[o.subject][o.indicator] = o
    # the calls: subjects observed on more than one indicator (not the programme's call count)
    subjects = sorted((s for s, found in by_subject.items() if len(found) > 1),
                      key=lambda s: labels.text(s, lang))
    if not subjects:
        return None
    indicators = {i for s in subjects for i in by_subject[s]}
    order = [i for i in INDICATOR_ORDER if i in indicators]
    order += sorted(indicators - set(order), key=lambda i: labels.text(i, lang))
    panels = []
    for panel_title, is_money in ((ht["calls_counts"], False), (ht["calls_amounts"], True)):
        groups = []
        for indicator in order:
            found = [by_subject[s].get(indicator) for s in subjects]
            units = {o.unit for o in found if o is not None}
            if (str(EU_CURRENCY.EUR) in units) != is_money:
                continue
            bars = [charts.Bar(labels.text(s, lang), float(o.value) if o else 0.0,
                               format_amount(o.value, o.unit, lang) if o else "–",
                               page_url(local_path(str(o.iri)) or "") if o else None)
                    for s, o in zip(subjects, found)]
            groups.append(charts.Group(labels.text(indicator, lang), bars))
        if groups:
            panels.append(charts.Panel(panel_title, groups))
    series = [labels.text(s, lang) for s in subjects]
    title = labels.text(DATASET_CALLS, lang)
    values = "; ".join(f"{g.label}: " + ", ".join(f"{b.label} {b.display}" for b in g.bars)
                       for p in panels for g in p.groups)
    svg = charts.grouped_bar_chart("chart-calls", title,
                                   ht["chart_desc"].format(title=title, values=values),
                                   series, panels)
    return {"id": "chart-calls", "title": title, "svg": svg, "note": ht["calls_note"],
            "href": page_url(local_path(str(DATASET_CALLS)) or "")}


def patents_chart(lang: str) -> dict[str, Any] | None:
    """Patents generated, by technology domain."""
    ht = HOME_TEXT[lang]
    observations, labels = dataset_observations(DATASET_PATENTS)
    parts = sorted((o for o in observations if o.breakdown not in (None, TOTAL)),
                   key=lambda o: -o.value)
    if not parts:
        return None
    bars = [charts.Bar(labels.text(o.breakdown, lang), float(o.value),
                       format_amount(o.value, o.unit, lang), page_url(local_path(str(o.iri)) or ""))
            for o in parts if o.breakdown is not None]
    title = labels.text(DATASET_PATENTS, lang)
    svg = charts.bar_chart("chart-patents", title,
                           ht["chart_desc"].format(title=title, values=_describe_values(bars)), bars)
    return {"id": "chart-patents", "title": title, "svg": svg, "note": ht["patents_note"],
            "href": page_url(local_path(str(DATASET_PATENTS)) or "")}


def home_charts(lang: str) -> list[dict[str, Any]]:
    """The home page's charts (members by type, the 2014-2020 calls, patents by domain)."""
    return [chart for chart in (members_chart(lang), calls_chart(lang), patents_chart(lang))
            if chart is not None]


def home_dataset_jsonld(lang: str, title: str, description: str) -> dict[str, Any]:
    """schema.org Dataset for the home page."""
    root = public_root()
    store = get_store()
    source = store.select(sparql_prologue() + """
        SELECT ?title ?year WHERE { OPTIONAL { ?d dct:title ?title } OPTIONAL { ?d dct:issued ?year } } LIMIT 1
        """, bindings={"d": SOURCE_DOCUMENT})
    based_on: dict[str, Any] = {"@type": "Report", "@id": str(SOURCE_DOCUMENT),
                                "url": public_url(str(SOURCE_DOCUMENT)),
                                "publisher": {"@type": "GovernmentOrganization",
                                              "name": "Regione Piemonte"}}
    if source and "title" in source[0]:
        based_on["name"] = str(source[0]["title"])
    if source and "year" in source[0]:
        based_on["datePublished"] = str(source[0]["year"])
    return {
        "@context": "https://schema.org",
        "@type": "Dataset",
        "name": title,
        "alternateName": "poli-kg",
        "description": description,
        "url": root,
        "sameAs": BASE,
        "license": str(LICENSE),
        "isAccessibleForFree": True,
        "inLanguage": ["it", "en"],
        "keywords": ["Poli di Innovazione", "Piemonte", "innovation clusters", "POR FESR",
                     "linked open data", "RDF"],
        "spatialCoverage": {"@type": "Place", "name": "Piemonte"},
        "temporalCoverage": "2007/2017",
        "isBasedOn": based_on,
        "creator": {"@type": "Organization", "name": "poli-kg",
                    "url": public_url(str(ID["organizzazione/poli-kg"]))},
        "includedInDataCatalog": {"@type": "DataCatalog", "url": root + "catalog"},
        "distribution": [
            {"@type": "DataDownload", "name": label, "contentUrl": root + "downloads/" + file,
             "encodingFormat": media}
            for (file, label), media in zip(DOWNLOAD_DUMPS, (
                "text/turtle", "application/ld+json", "application/n-triples",
                "application/rdf+xml", "application/trig", "application/n-quads"))
        ],
    }


@bp.get("/")
def home() -> Response:
    """The home page: the dataset, links, the seven clusters, the figures as charts."""
    lang = language()
    ht = HOME_TEXT[lang]
    store = get_store()
    labels = Labels(store.construct(POLES_LABELS_QUERY))
    renderer = Renderer(Graph(), labels, lang)
    poles = []
    for row in store.select(POLES_QUERY):
        poles.append({
            "pole": renderer.iri(row["polo"]),
            "area": renderer.iri(row["area"]) if "area" in row else None,
            "manager": renderer.iri(row["manager"]) if "manager" in row else None,
            "site": renderer.iri(row["site"]) if "site" in row else None,
        })
    poles.sort(key=lambda p: p["pole"].text.casefold())
    sizes = store.graph_sizes()
    graphs = []
    for iri in store.named_graphs:
        name = iri[len(str(GRAPH)):] if iri.startswith(str(GRAPH)) else iri
        graphs.append({"href": href_for(iri)[0], "iri": iri,
                       "title": GRAPH_TEXT.get(name, {}).get(lang, (name, ""))[0],
                       "size": format_number(sizes.get(iri, 0), lang)})
    labels.add_graph(store.construct(
        sparql_prologue() + "CONSTRUCT { ?d rdfs:label ?l } WHERE { ?d rdfs:label ?l }",
        bindings={"d": SOURCE_DOCUMENT}))
    source = renderer.iri(SOURCE_DOCUMENT)
    root = request.script_root
    links = [
        (TEXT[lang]["query"], page_url(root + "/query"), ht["query_desc"]),
        (TEXT[lang]["downloads"], root + "/downloads/", ht["downloads_desc"]),
        (TEXT[lang]["catalog"], root + "/catalog", ht["catalog_desc"]),
        ("VoID", root + "/.well-known/void", ht["void_desc"]),
        (TEXT[lang]["ontology"], page_url(root + ONTOLOGY_PATH), ht["ontology_desc"]),
    ]
    html = render_template(
        "home.html", ht=ht, poles=poles, graphs=graphs,
        total=format_number(sum(sizes.values()), lang), source=source, links=links,
        license={"href": str(LICENSE), "text": "CC BY 4.0"},
        charts=home_charts(lang),
        jsonld=json_script(home_dataset_jsonld(lang, ht["title"], ht["description"])),
        **page_context(lang),
    )
    response = make_response(html)
    response.headers["Content-Language"] = lang
    if "lang" not in request.args:
        response.headers["Vary"] = "Accept-Language"
    response.headers["Link"] = (f'<{root}/.well-known/void>; rel="describedby"; '
                                'type="text/turtle"')
    response.headers["Cache-Control"] = "public, max-age=300"
    response.add_etag()
    return response.make_conditional(request)


# -- robots.txt and sitemap.xml --------------------------------------------------------------

SUBJECTS_QUERY = """
SELECT DISTINCT ?s WHERE { ?s ?p ?o FILTER(isIRI(?s) && STRSTARTS(STR(?s), STR(?base))) } ORDER BY ?s
"""


def sitemap_paths() -> list[str]:
    """Paths of every page: home, ontology, named graphs, shapes, query page, every resource
    of the store and every IRI under the base the catalogue describes (dataset, distributions)."""
    paths = ["", "ontology", "query"]
    paths += [g[len(BASE):] for g in get_store().named_graphs if g.startswith(BASE)]
    if shapes_graph() is not None:
        paths.append("shapes")
    subjects = [str(row["s"]) for row in
                get_store().select(SUBJECTS_QUERY, bindings={"base": URIRef(BASE)})]
    metadata = metadata_graph()
    if metadata is not None:
        subjects += sorted({str(s_) for s_ in metadata.subjects()
                            if isinstance(s_, URIRef) and str(s_).startswith(BASE)})
    for iri in subjects:
        path = iri[len(BASE):].partition("#")[0]
        if valid_path(path) or path == "":
            paths.append(path)
    seen: dict[str, None] = {}
    for path in paths:
        seen.setdefault(path, None)
    return list(seen)


@bp.get("/sitemap.xml")
def sitemap() -> Response:
    """Every page of the service, as absolute URLs of its public root (sitemaps.org)."""
    root = public_root()
    folder = get_store().build.folder()  # the build the server answers from
    info = (read_build_info(folder) if folder is not None else None) or {}
    built = str(info.get("built_at", ""))[:10]
    lastmod = f"<lastmod>{xml_escape(built)}</lastmod>" if re.fullmatch(r"\d{4}-\d\d-\d\d", built) else ""
    entries = [f"  <url><loc>{xml_escape(root + quote(path, safe='/:@!$&()*+,;=-._~'))}</loc>{lastmod}</url>"
               for path in sitemap_paths()]
    body = ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
            + "\n".join(entries) + "\n</urlset>\n")
    response = Response(body, content_type="application/xml; charset=utf-8")
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response


@bp.get("/robots.txt")
def robots() -> Response:
    """Everyone may crawl everything; the sitemap lists the pages."""
    body = f"User-agent: *\nAllow: /\n\nSitemap: {public_root()}sitemap.xml\n"
    return Response(body, content_type="text/plain; charset=utf-8")

