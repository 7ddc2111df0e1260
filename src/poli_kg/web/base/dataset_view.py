"""The DCAT-AP_IT catalogue as its page shows it: read back from the catalogue graph
(:func:`catalog_view`), so the page says exactly what the RDF says.

The page lists the catalogue's own record and contact point, the dataset with its
distributions, its releases (newest first, the current one marked), the statistical tables
and the semantic assets (datasets of their own, parts of the dataset), and the SPARQL
service; every distribution with its format, media type, size, licence, download link and
SHA-256.  Texts are taken in the page's language, else without a language, else any.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, OWL, RDF, SKOS
from rdflib.term import Node

from poli_kg.namespaces import BASE, DATASET, EU_FILE_TYPE, ONTOLOGY_IRI, SPDX, VCARD
from poli_kg.web.base.dataset_terms import (
    CATALOG, DCAT_HAS_CURRENT_VERSION, DCAT_VERSION, IANA, SERVICE,
)
from poli_kg.web.base.files import CSVW_METADATA, FORMATS, human_size
from poli_kg.web.base.numbers import format_date
from poli_kg.web.base.site import href_for

__all__ = ["CATALOG_TEXT", "catalog_view"]

DCAT_HAS_VERSION = URIRef(str(DCAT) + "hasVersion")
FILE_TYPES = {fmt.eu_file_type: fmt.label for fmt in FORMATS.values()} | {
    CSVW_METADATA.eu_file_type: "CSVW (JSON)"}
"""A label for each EU file type the catalogue uses."""

CATALOG_TEXT = {
    "it": {
        "record": "Il catalogo", "publisher": "Editore", "issued": "Pubblicato",
        "modified": "Aggiornato", "licence": "Licenza", "themes": "Temi",
        "languages": "Lingue", "homepage": "Sito", "contact": "Punto di contatto",
        "email": "Posta elettronica", "web": "Sito web", "dataset": "Il dataset",
        "identifier": "Identificativo", "version": "Versione", "keywords": "Parole chiave",
        "conforms": "Conforme a", "page": "Pagina",
        "distributions": "Distribuzioni di «{title}»", "file": "File", "format": "Formato",
        "size": "Dimensione", "checksum": "SHA-256", "bytes": "byte",
        "releases": "Versioni pubblicate",
        "releases_intro": "Copie immutabili del dataset, da citare; la più recente prima.",
        "current": "i dati correnti sono questa versione",
        "tables": "Tabelle statistiche (CSV on the Web)",
        "tables_intro": "Ogni insieme di osservazioni RDF Data Cube come dataset a sé, parte del "
                        "dataset: una tabella CSV e i suoi metadati CSVW.",
        "assets": "Ontologia e vocabolari controllati",
        "assets_intro": "Gli asset semantici come li raccoglie il Catalogo Nazionale dei Dati "
                        "(schema.gov.it), ciascuno un dataset parte del dataset.",
        "service": "Servizio di interrogazione", "endpoint": "Endpoint",
        "formats": "Il catalogo in RDF", "gzip": "compresso con gzip",
    },
    "en": {
        "record": "The catalogue", "publisher": "Publisher", "issued": "Issued",
        "modified": "Modified", "licence": "Licence", "themes": "Themes",
        "languages": "Languages", "homepage": "Home page", "contact": "Contact point",
        "email": "E-mail", "web": "Web site", "dataset": "The dataset",
        "identifier": "Identifier", "version": "Version", "keywords": "Keywords",
        "conforms": "Conforms to", "page": "Page",
        "distributions": "Distributions of “{title}”", "file": "File", "format": "Format",
        "size": "Size", "checksum": "SHA-256", "bytes": "bytes",
        "releases": "Releases",
        "releases_intro": "Immutable copies of the dataset, to cite; the newest first.",
        "current": "the live data are this release",
        "tables": "Statistical tables (CSV on the Web)",
        "tables_intro": "Each set of RDF Data Cube observations as a dataset of its own, part "
                        "of the dataset: a CSV table and its CSVW metadata.",
        "assets": "Ontology and controlled vocabularies",
        "assets_intro": "The semantic assets as Italy's National Data Catalog (schema.gov.it) "
                        "harvests them, each a dataset that is part of the dataset.",
        "service": "Query service", "endpoint": "Endpoint",
        "formats": "The catalogue as RDF", "gzip": "gzip-compressed",
    },
}


def _text(graph: Graph, node: Node, predicate: URIRef, lang: str) -> str:
    """The value of ``predicate`` in ``lang``, else without a language, else any; or ``""``."""
    values = [v for v in graph.objects(node, predicate) if isinstance(v, Literal)]
    for wanted in (lang, None):
        found = sorted(str(v) for v in values if v.language == wanted)
        if found:
            return found[0]
    return min((str(v) for v in values), default="")


def _labels(graph: Graph, nodes: Iterable[Node], lang: str) -> list[str]:
    """The labels of controlled-vocabulary values (skos:prefLabel, foaf:name), sorted."""
    return sorted(_text(graph, n, SKOS.prefLabel, lang) or _text(graph, n, FOAF.name, lang)
                  or str(n) for n in set(nodes))


def _date(value: Node | None, lang: str) -> dict[str, str] | None:
    """A date or date-time literal as ``{"iso", "text"}`` for a ``<time>`` element."""
    if not isinstance(value, Literal):
        return None
    moment = value.toPython()
    if isinstance(moment, datetime):
        return {"iso": moment.isoformat(), "text": format_date(moment.date(), lang)}
    if isinstance(moment, date):
        return {"iso": moment.isoformat(), "text": format_date(moment, lang)}
    return {"iso": str(value), "text": str(value)}


def _types(graph: Graph, node: Node) -> list[str]:
    """The node's classes as CURIEs (``dcatapit:Dataset``)."""
    return sorted(graph.namespace_manager.normalizeUri(t) for t in graph.objects(node, RDF.type))


def _link(graph: Graph, node: Node) -> str:
    """Where a reader learns more about ``node``: its landing page, else its own page."""
    page = graph.value(node, DCAT.landingPage)
    return str(page) if page is not None else href_for(str(node))[0]


def _distribution(graph: Graph, dist: Node, lang: str) -> dict[str, Any]:
    """One row of a distributions table."""
    file_type = str(graph.value(dist, DCTERMS["format"]) or "")
    size = graph.value(dist, DCAT.byteSize)
    licence = graph.value(dist, DCTERMS.license)
    url = str(graph.value(dist, DCAT.downloadURL) or graph.value(dist, DCAT.accessURL) or "")
    return {
        "name": url.rstrip("/").rsplit("/", 1)[-1], "url": url,
        "title": _text(graph, dist, DCTERMS.title, lang),
        "format": FILE_TYPES.get(file_type.removeprefix(str(EU_FILE_TYPE)), file_type),
        "media_type": str(graph.value(dist, DCAT.mediaType) or "").removeprefix(str(IANA)),
        "compressed": graph.value(dist, DCAT.compressFormat) is not None,
        "bytes": int(size) if size is not None else None,
        "size": human_size(int(size), lang) if size is not None else "",
        "licence": _text(graph, licence, FOAF.name, lang) if licence is not None else "",
        "licence_href": str(licence or ""),
        "sha256": str(graph.value(graph.value(dist, SPDX.checksum), SPDX.checksumValue) or ""),
    }


def _dataset(graph: Graph, node: Node, lang: str) -> dict[str, Any]:
    """A dataset of the catalogue and its distributions, sorted by download URL."""
    rows = [_distribution(graph, d, lang) for d in graph.objects(node, DCAT.distribution)]
    conforms = graph.value(node, DCTERMS.conformsTo)
    return {
        "iri": str(node), "href": _link(graph, node), "types": _types(graph, node),
        "anchor": "ds-" + re.sub(r"[^A-Za-z0-9]+", "-", str(node).removeprefix(BASE)).strip("-"),
        "title": _text(graph, node, DCTERMS.title, lang),
        "description": _text(graph, node, DCTERMS.description, lang),
        "identifier": _text(graph, node, DCTERMS.identifier, lang),
        "version": (_text(graph, node, DCAT_VERSION, lang)
                    or _text(graph, node, OWL.versionInfo, lang)),
        "issued": _date(graph.value(node, DCTERMS.issued), lang),
        "modified": _date(graph.value(node, DCTERMS.modified), lang),
        "themes": _labels(graph, graph.objects(node, DCAT.theme), lang),
        "keywords": sorted({str(k) for k in graph.objects(node, DCAT.keyword)
                            if isinstance(k, Literal) and k.language in (lang, None)}),
        "conforms": str(conforms) if conforms is not None else None,
        "distributions": sorted(rows, key=lambda row: row["url"]),
    }


def _record(graph: Graph, lang: str) -> dict[str, Any]:
    """The catalogue's own metadata and its contact point."""
    contact = graph.value(CATALOG, DCAT.contactPoint) or graph.value(DATASET, DCAT.contactPoint)
    licence = graph.value(CATALOG, DCTERMS.license)
    email = str(graph.value(contact, VCARD.hasEmail) or "") if contact is not None else ""
    return {
        "types": _types(graph, CATALOG),
        "title": _text(graph, CATALOG, DCTERMS.title, lang),
        "description": _text(graph, CATALOG, DCTERMS.description, lang),
        "publisher": _labels(graph, graph.objects(CATALOG, DCTERMS.publisher), lang),
        "issued": _date(graph.value(CATALOG, DCTERMS.issued), lang),
        "modified": _date(graph.value(CATALOG, DCTERMS.modified), lang),
        "licence": _text(graph, licence, FOAF.name, lang) if licence is not None else "",
        "licence_href": str(licence or ""),
        "homepage": str(graph.value(CATALOG, FOAF.homepage) or ""),
        "themes": _labels(graph, graph.objects(DATASET, DCAT.theme), lang),
        "languages": _labels(graph, graph.objects(CATALOG, DCTERMS.language), lang),
        "contact": None if contact is None else {
            "name": _text(graph, contact, VCARD.fn, lang),
            "email": email.removeprefix("mailto:"), "mailto": email,
            "url": str(graph.value(contact, VCARD.hasURL) or "")},
    }


def _releases(graph: Graph, lang: str) -> list[dict[str, Any]]:
    """The releases, newest first; the one the live data are marked ``current``."""
    current = set(graph.objects(DATASET, DCAT_HAS_CURRENT_VERSION))
    found = sorted(graph.objects(DATASET, DCAT_HAS_VERSION), reverse=True,
                   key=lambda r: (str(graph.value(r, DCTERMS.issued)), _version_key(graph, r)))
    return [{**_dataset(graph, r, lang), "current": r in current} for r in found]


def _version_key(graph: Graph, release: Node) -> str:
    """The release's ``dcat:version`` with its numbers zero-padded: releases of the same
    second still sort by version (``1.10.0`` after ``1.9.0``)."""
    version = _text(graph, release, DCAT_VERSION, "")
    return re.sub(r"\d+", lambda m: m.group().zfill(9), version)


def _parts(graph: Graph, lang: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The statistical tables and the semantic assets, each sorted by title (the ontology
    first among the assets)."""
    tables, assets = [], []
    for part in graph.objects(DATASET, DCTERMS.hasPart):
        view = _dataset(graph, part, lang)
        media = {row["media_type"] for row in view["distributions"]}
        (tables if CSVW_METADATA.media_type in media else assets).append(view)
    tables.sort(key=lambda v: v["title"].casefold())
    assets.sort(key=lambda v: (v["iri"] != ONTOLOGY_IRI, v["title"].casefold()))
    return tables, assets


def catalog_view(graph: Graph, lang: str) -> dict[str, Any]:
    """What the catalogue page shows of ``graph`` (see the module docstring), in ``lang``."""
    tables, assets = _parts(graph, lang)
    return {
        "record": _record(graph, lang),
        "dataset": _dataset(graph, DATASET, lang),
        "releases": _releases(graph, lang),
        "tables": tables,
        "assets": assets,
        "service": {
            "title": _text(graph, SERVICE, DCTERMS.title, lang),
            "description": _text(graph, SERVICE, DCTERMS.description, lang),
            "endpoint": str(graph.value(SERVICE, DCAT.endpointURL) or ""),
            "page": str(graph.value(SERVICE, DCAT.landingPage) or ""),
            "types": _types(graph, SERVICE),
        },
    }
