"""The description of the dataset: its VoID description and its DCAT-AP_IT catalogue, as graphs.

Every URL of the service inside them is absolute under the ``root`` they are given (the
service's public root, no final slash); the IRIs of the things described live under the
dataset's base IRI:

==========================================  ===========================================
``https://w3id.org/poli-kg/dataset``        the dataset (``void:Dataset``, ``dcat:Dataset``)
``https://w3id.org/poli-kg/catalog``        the catalogue (``dcat:Catalog``)
``…/dataset/distribution/{file}``           one distribution per RDF download
``…/dataset/distribution/csvw/{file}``      a statistical table's CSV and its CSVW metadata
``…/dataset/distribution/assets/{path}``    a file of the semantic assets (``assets/``)
``…/dataset/service/sparql``                the SPARQL endpoint (``dcat:DataService``)
``…/releases/X.Y.Z``                        a release (``dcat:Dataset``, a version of the dataset)
``…/dataset/distribution/releases/X.Y.Z/…``  one distribution per RDF dump of a release
``…/graph/{ontology,data,provenance,inferred}``  the named graphs, VoID subsets
``…/id/dataset/{name}``, ``…/id/scheme/{name}``, ``…/ontology``  the parts (below)
==========================================  ===========================================

The numbers and the facts read from the graph come from :func:`statistics` (see
:mod:`poli_kg.web.base.dataset_statistics`), the downloads from the build snapshot
(:mod:`poli_kg.web.base.files`), the fixed words from :mod:`poli_kg.web.base.dataset_terms`.

**DCAT-AP_IT 2.0 / DCAT-AP 3.0.1 modelling** — the poli-kg project publishes the dataset and
holds its rights (``dct:publisher``, ``dct:rightsHolder``, ``dct:creator``); Regione Piemonte
is the publisher of the source report the dataset is derived from (``prov:wasDerivedFrom``
the report, whose ``dct:publisher`` is the Region).  Values from controlled vocabularies
(EU data themes, file types, languages, frequency, IANA media types, ADMS types) carry their
``rdf:type`` and ``skos:inScheme`` in the catalogue itself, because the DCAT-AP range shapes
check ``sh:class`` on the data graph.  A ``.gz`` distribution has the ``dct:format`` and
``dcat:mediaType`` of its content and ``dcat:compressFormat`` ``application/gzip`` (DCAT-AP_IT:
give the original format of a compressed file; DCAT-AP: compressFormat is an IANA media type).
The contact point gets ``vcard:hasEmail`` only when config ``CONTACT_EMAIL`` is set (the
project publishes no mailbox; none is invented) and always ``vcard:hasURL``.

**The parts** — the statistical tables (each ``qb:DataSet``, as ``csvw/{name}.csv`` with its
CSVW metadata) and the semantic assets (the ontology and each controlled vocabulary, as the
files of ``assets/`` that Italy's National Data Catalog harvests) are datasets of the catalogue
of their own, each ``dct:isPartOf`` the dataset, with the files as distributions: a CSV table
is a representation of one data cube, not of the whole graph, so it is not a distribution of
the dataset.  Their titles, descriptions, dates, themes and keywords are the graph's (the
tables have no description there: :data:`~poli_kg.web.base.dataset_terms.PART_DESCRIPTION`
says what they are); agents, contact, languages and coverage are the dataset's.  The
ontology is both the standard the dataset conforms to and, as a semantic asset, a dataset.
Every distribution has its size and SHA-256 from the build snapshot.

**The releases** — each release (:mod:`poli_kg.store.releases`, which describes it in DCAT
3: version, notes, previous version, its dumps with size and checksum) is a dataset of the
catalogue too, with what DCAT-AP_IT asks of one (agents, contact, themes, languages, an update
frequency of ``NEVER``: a release never changes) and of its distributions (EU file type,
licence, availability ``STABLE``, typed media types).  The live data head the series: the
latest release is their ``dcat:hasCurrentVersion`` when the build was made from the same
inputs (``inputs_sha256`` of ``build.json``), else their ``dcat:previousVersion``.

Each graph is made in a fixed order of steps, so that equal inputs give equal serialisations.
:func:`catalog_document` and :func:`void_document` give the graphs of the current request,
made once per build, public root, contact e-mail and releases
(:mod:`poli_kg.web.base.dataset_documents`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, OWL, PROV, RDF, RDFS, SKOS, VOID, XSD
from rdflib.term import Node

from poli_kg.namespaces import (
    BASE, DATASET, DCATAPIT, EU_FILE_TYPE, EU_FREQUENCY, EU_LANGUAGE, EU_THEME, GRAPH_INFERRED,
    NAMED_GRAPHS, ONTOLOGY_IRI, SPDX, VCARD, bind_prefixes,
)
from poli_kg.store.releases import Release, distribution_iri
from poli_kg.store.releases import describe as describe_releases
from poli_kg.web.base import dataset_statistics
from poli_kg.web.base.dataset_documents import cached, contact_email, releases, root
from poli_kg.web.base.dataset_statistics import Agent, Part, Statistics, compute_statistics
from poli_kg.web.base.dataset_terms import (
    ADMS_LICENCE_TYPE, ADMS_PUBLISHER_TYPE, CATALOG, CATALOG_DESCRIPTION, CATALOG_TITLE, CC_BY,
    CONTACT_POINT, CONTENT_TITLE, COVERAGE_END, COVERAGE_START, CSVW, CSVW_TITLE,
    DCAT_HAS_CURRENT_VERSION, DCAT_PREVIOUS_VERSION, DCAT_VERSION, DCATAP, DESCRIPTION,
    DISTRIBUTION, EU_AVAILABILITY, EXTRA_PREFIXES, FREQUENCIES, GRAPH_TITLES, IANA, KEYWORDS,
    LANGUAGES, LICENCE_NAME, NUTS_PIEMONTE, PART_DESCRIPTION, PART_KEYWORDS, PIEMONTE,
    PUBLISHER, RELEASE_DESCRIPTION, REPORT_TITLE, SCHEMES, SERVICE, SERVICE_DESCRIPTION, SERVICE_KEYWORDS, SERVICE_TITLE, SPARQL_PROTOCOL, THEME_SCHEME_TITLE,
    THEMES, TITLE, VOID_TITLE, W3C_FORMATS,
)
from poli_kg.web.base.files import (
    CONTENT_TEXT, CONTENTS, CSVW_METADATA, BuildFiles, DownloadFile, current_build, download_url,
    file_url, format_of,
)

__all__ = [
    "Statistics", "compute_statistics", "statistics", "void_graph", "catalog_graph",
    "catalog_document", "void_document", "DATASET", "CATALOG", "SERVICE", "CONTACT_POINT",
]


def statistics(build: BuildFiles) -> Statistics:
    """The statistics of the current store, computed once per process and build."""
    return dataset_statistics.cached_statistics(build.key)


def catalog_document() -> Graph:
    """The catalogue of the current request (its build, public root, contact e-mail and
    releases), made once per such state (:func:`~poli_kg.web.base.dataset_documents.cached`);
    shared, so never to be changed."""
    def make() -> Graph:
        build = current_build()
        return catalog_graph(root(), build, statistics(build), contact_email(), releases())

    return cached("catalog", make)


def void_document() -> Graph:
    """The VoID description of the current request, made once per state (see
    :func:`catalog_document`)."""
    def make() -> Graph:
        build = current_build()
        return void_graph(root(), build, statistics(build))

    return cached("void", make)


# ------------------------------------------------------------------------------ nodes

def _graph() -> Graph:
    graph = bind_prefixes(Graph())
    for prefix, ns in EXTRA_PREFIXES.items():
        graph.bind(prefix, ns, override=True)
    graph.bind("dcatapit", DCATAPIT, override=True)
    return graph


def _texts(graph: Graph, subject: Node, predicate: URIRef, texts: Mapping[str, str]) -> None:
    for lang, text in texts.items():
        graph.add((subject, predicate, Literal(text, lang=lang or None)))


def _types(graph: Graph, subject: Node, *classes: URIRef) -> None:
    for cls in classes:
        graph.add((subject, RDF.type, cls))


def _int_literal(value: int) -> Literal:
    return Literal(value, datatype=XSD.integer)


def _date(build: BuildFiles) -> Literal:
    return Literal(build.built_at.date().isoformat(), datatype=XSD.date)


def _scheme(iri: URIRef) -> URIRef | None:
    for ns, scheme in SCHEMES.items():
        if str(iri).startswith(str(ns)):
            return scheme
    return None


def _concept(graph: Graph, iri: URIRef, labels: Mapping[str, str], *types: URIRef) -> URIRef:
    """Type a controlled-vocabulary value as a skos:Concept (+ ``types``) with its scheme."""
    _types(graph, iri, SKOS.Concept, *types)
    _texts(graph, iri, SKOS.prefLabel, labels)
    scheme = _scheme(iri)
    if scheme is not None:
        graph.add((iri, SKOS.inScheme, scheme))
    return iri


def _media_type(graph: Graph, media_type: str) -> URIRef:
    iri = IANA[media_type]
    _types(graph, iri, DCTERMS.MediaType, DCTERMS.MediaTypeOrExtent)
    return iri


def _file_type(graph: Graph, code: str) -> URIRef:
    iri = EU_FILE_TYPE[code]
    graph.add((iri, RDF.type, DCTERMS.MediaTypeOrExtent))
    graph.add((iri, SKOS.inScheme, SCHEMES[EU_FILE_TYPE]))
    return iri


def _document(graph: Graph, iri: URIRef) -> URIRef:
    graph.add((iri, RDF.type, FOAF.Document))
    return iri


def _frequency(graph: Graph, iri: str | None) -> URIRef:
    """An EU update frequency the catalogue can name (:data:`FREQUENCIES`), else irregular."""
    code = iri[len(str(EU_FREQUENCY)):] if iri and iri.startswith(str(EU_FREQUENCY)) else ""
    code = code if code in FREQUENCIES else "IRREG"
    return _concept(graph, EU_FREQUENCY[code], FREQUENCIES[code], DCTERMS.Frequency)


def _rdf_dumps(build: BuildFiles) -> list[DownloadFile]:
    return [f for f in build.files.values() if f.is_rdf_dump]


# ------------------------------------------------------------------------------ agents

def _agents(stats: Statistics) -> tuple[Agent, Agent | None]:
    """The dataset's publisher (the project when the graph names none) and the source's."""
    publisher = stats.publisher or Agent(str(PUBLISHER), {"it": "poli-kg"})
    return publisher, stats.source_publisher


def _agent_node(graph: Graph, agent: Agent, identifier: str,
                agent_type: tuple[str, Mapping[str, str]] | None = None) -> URIRef:
    """An agent as DCAT-AP_IT wants it: dcatapit:Agent + foaf:Agent, one name, an identifier."""
    iri = URIRef(agent.iri)
    _types(graph, iri, DCATAPIT.Agent, FOAF.Agent, FOAF.Organization)
    graph.add((iri, FOAF.name, Literal(agent.name("it"), lang="it")))
    graph.add((iri, DCTERMS.identifier, Literal(identifier)))
    if agent.homepage:
        page = URIRef(agent.homepage)
        graph.add((iri, FOAF.homepage, page))
        _document(graph, page)
    if agent_type is not None:
        code, labels = agent_type
        graph.add((iri, DCTERMS.type, _concept(graph, ADMS_PUBLISHER_TYPE[code], labels)))
    return iri


def _add_contact_point(graph: Graph, root: str, publisher: Agent,
                       contact_email: str | None) -> URIRef:
    """The publisher as a vCard: a web address always, a mailbox only when configured."""
    contact = CONTACT_POINT
    _types(graph, contact, DCATAPIT.Organization, VCARD.Organization, VCARD.Kind)
    graph.add((contact, VCARD.fn, Literal(f"{publisher.name('it')}")))
    graph.add((contact, VCARD.hasURL, URIRef(publisher.homepage or f"{root}/")))
    if contact_email:
        graph.add((contact, VCARD.hasEmail, URIRef(f"mailto:{contact_email}")))
    return contact


# ------------------------------------------------------------------------------ VoID

def void_graph(root: str, build: BuildFiles, stats: Statistics) -> Graph:
    """The VoID description of the dataset, with the service's URLs under ``root``."""
    graph = _graph()
    doc = URIRef(f"{root}/.well-known/void")
    graph.add((doc, RDF.type, VOID.DatasetDescription))
    _texts(graph, doc, DCTERMS.title, VOID_TITLE)
    graph.add((doc, FOAF.primaryTopic, DATASET))
    _add_void_dataset(graph, root, build, stats)
    _add_void_statistics(graph, stats)
    _add_void_subsets(graph, root, build, stats)
    return graph


def _add_void_dataset(graph: Graph, root: str, build: BuildFiles, stats: Statistics) -> None:
    """The dataset: what it is, who made it, where it is answered and what it uses."""
    ds = DATASET
    publisher, _region = _agents(stats)
    graph.add((ds, RDF.type, VOID.Dataset))
    _texts(graph, ds, DCTERMS.title, TITLE)
    _texts(graph, ds, DCTERMS.description, DESCRIPTION)
    graph.add((ds, DCTERMS.license, CC_BY))
    graph.add((ds, DCTERMS.publisher, URIRef(publisher.iri)))
    graph.add((ds, DCTERMS.creator, URIRef(publisher.iri)))
    if stats.source:
        graph.add((ds, DCTERMS.source, URIRef(stats.source)))
    graph.add((ds, DCTERMS.modified, _date(build)))
    graph.add((ds, DCTERMS.conformsTo, URIRef(ONTOLOGY_IRI)))
    graph.add((ds, FOAF.homepage, URIRef(f"{root}/")))
    graph.add((ds, RDFS.seeAlso, URIRef(f"{root}/catalog")))
    graph.add((ds, VOID.sparqlEndpoint, URIRef(f"{root}/sparql")))
    for file in _rdf_dumps(build):
        graph.add((ds, VOID.dataDump, URIRef(download_url(root, file.name))))
        w3c = file.content_format.w3c_format
        if w3c:
            graph.add((ds, VOID.feature, W3C_FORMATS[w3c]))
    graph.add((ds, VOID.uriSpace, Literal(BASE)))
    for iri in stats.examples:
        graph.add((ds, VOID.exampleResource, URIRef(iri)))
    for iri in stats.roots:
        graph.add((ds, VOID.rootResource, URIRef(iri)))
    for ns in stats.vocabularies:
        graph.add((ds, VOID.vocabulary, URIRef(ns)))


def _add_void_statistics(graph: Graph, stats: Statistics) -> None:
    """The dataset's counts, and one partition per class and per property."""
    ds = DATASET
    graph.add((ds, VOID.triples, _int_literal(stats.triples)))
    graph.add((ds, VOID.entities, _int_literal(stats.entities)))
    graph.add((ds, VOID.distinctSubjects, _int_literal(stats.distinct_subjects)))
    graph.add((ds, VOID.distinctObjects, _int_literal(stats.distinct_objects)))
    graph.add((ds, VOID.classes, _int_literal(len(stats.classes))))
    graph.add((ds, VOID.properties, _int_literal(len(stats.properties))))
    for n, (cls, count) in enumerate(stats.classes.items(), 1):
        part = BNode(f"class{n}")
        graph.add((ds, VOID.classPartition, part))
        graph.add((part, VOID["class"], URIRef(cls)))
        graph.add((part, VOID.entities, _int_literal(count)))
    for n, (prop, count) in enumerate(stats.properties.items(), 1):
        part = BNode(f"property{n}")
        graph.add((ds, VOID.propertyPartition, part))
        graph.add((part, VOID.property, URIRef(prop)))
        graph.add((part, VOID.triples, _int_literal(count)))


def _add_void_subsets(graph: Graph, root: str, build: BuildFiles, stats: Statistics) -> None:
    """The named graphs as subsets: the project's four first, then any other in the store."""
    own = [str(g) for g in NAMED_GRAPHS]
    for name in own + sorted(g for g in stats.graphs if g not in own):
        subset = URIRef(name)
        graph.add((DATASET, VOID.subset, subset))
        graph.add((subset, RDF.type, VOID.Dataset))
        _texts(graph, subset, DCTERMS.title, GRAPH_TITLES.get(subset, {"": name}))
        graph.add((subset, VOID.triples, _int_literal(stats.graphs.get(name, 0))))
        if subset == GRAPH_INFERRED:
            for file in _rdf_dumps(build):
                if file.content == "inferred":
                    graph.add((subset, VOID.dataDump, URIRef(download_url(root, file.name))))


# ------------------------------------------------------------------------------ DCAT-AP_IT

@dataclass(frozen=True)
class _Shared:
    """The nodes the catalogue's records share."""

    root: str
    publisher: URIRef
    contact: URIRef
    licence: URIRef
    issued: Literal
    modified: Literal
    homepage: URIRef
    themes: list[URIRef]
    languages: list[URIRef]


def catalog_graph(root: str, build: BuildFiles, stats: Statistics,
                  contact_email: str | None = None, releases: Sequence[Release] = ()) -> Graph:
    """The DCAT-AP_IT 2.0 catalogue (also valid DCAT-AP 3.0.1) of the dataset and its
    ``releases`` (lowest version first)."""
    graph = _graph()
    publisher_agent, region_agent = _agents(stats)
    publisher = _agent_node(graph, publisher_agent, "poli-kg")
    licence = _add_licence(graph)
    modified = _date(build)
    homepage = _document(graph, URIRef(f"{root}/"))
    themes, languages = _add_vocabularies(graph)
    shared = _Shared(
        root=root, publisher=publisher, contact=CONTACT_POINT, licence=licence,
        issued=stats.ontology_issued if stats.ontology_issued is not None else modified,
        modified=modified, homepage=homepage, themes=themes, languages=languages,
    )
    _add_catalog_record(graph, shared)
    _add_contact_point(graph, root, publisher_agent, contact_email)
    period = _add_coverage(graph)
    ontology = _add_ontology(graph, stats)
    _add_dataset(graph, build, shared, period, ontology)
    if stats.source:
        _add_source(graph, stats, region_agent)
    _add_distributions(graph, build, shared)
    _add_parts(graph, build, stats, shared, period)
    _add_releases(graph, build, releases, shared, period)
    _add_service(graph, shared)
    return graph


def _add_licence(graph: Graph) -> URIRef:
    """CC BY 4.0, typed for both profiles, with its ADMS licence type."""
    _types(graph, CC_BY, DCTERMS.LicenseDocument, DCATAPIT.LicenseDocument)
    graph.add((CC_BY, FOAF.name, Literal(LICENCE_NAME, lang="it")))
    graph.add((CC_BY, OWL.versionInfo, Literal("4.0")))
    graph.add((CC_BY, DCTERMS.type,
               _concept(graph, ADMS_LICENCE_TYPE.Attribution, {"en": "Attribution"})))
    return CC_BY


def _add_vocabularies(graph: Graph) -> tuple[list[URIRef], list[URIRef]]:
    """The EU data themes (and their scheme, the theme taxonomy) and languages cited."""
    themes = [_concept(graph, EU_THEME[code], labels) for code, labels in THEMES.items()]
    languages = [_concept(graph, EU_LANGUAGE[code], labels, DCTERMS.LinguisticSystem)
                 for code, labels in LANGUAGES.items()]
    taxonomy = SCHEMES[EU_THEME]
    graph.add((taxonomy, RDF.type, SKOS.ConceptScheme))
    _texts(graph, taxonomy, DCTERMS.title, THEME_SCHEME_TITLE)
    _texts(graph, taxonomy, SKOS.prefLabel, THEME_SCHEME_TITLE)
    return themes, languages


def _add_catalog_record(graph: Graph, shared: _Shared) -> None:
    """The catalogue: its own metadata, its theme taxonomy, its dataset and its service."""
    cat = CATALOG
    _types(graph, cat, DCATAPIT.Catalog, DCAT.Catalog)
    _texts(graph, cat, DCTERMS.title, CATALOG_TITLE)
    _texts(graph, cat, DCTERMS.description, CATALOG_DESCRIPTION)
    graph.add((cat, DCTERMS.publisher, shared.publisher))
    graph.add((cat, DCTERMS.issued, shared.issued))
    graph.add((cat, DCTERMS.modified, shared.modified))
    graph.add((cat, FOAF.homepage, shared.homepage))
    graph.add((cat, DCTERMS.license, shared.licence))
    graph.add((cat, DCTERMS.spatial, NUTS_PIEMONTE))
    for language in shared.languages:
        graph.add((cat, DCTERMS.language, language))
    graph.add((cat, DCAT.themeTaxonomy, SCHEMES[EU_THEME]))
    graph.add((cat, DCAT.dataset, DATASET))
    graph.add((cat, DCAT.service, SERVICE))


def _add_coverage(graph: Graph) -> BNode:
    """The places (the NUTS region and the graph's own Piedmont) and the period covered."""
    graph.add((NUTS_PIEMONTE, RDF.type, DCTERMS.Location))
    _texts(graph, NUTS_PIEMONTE, SKOS.prefLabel, {"it": "Piemonte"})
    graph.add((PIEMONTE, RDF.type, DCTERMS.Location))
    _texts(graph, PIEMONTE, SKOS.prefLabel, {"it": "Piemonte", "en": "Piedmont"})
    period = BNode("coverage")
    graph.add((period, RDF.type, DCTERMS.PeriodOfTime))
    for start_end, value in ((DCAT.startDate, COVERAGE_START), (DCAT.endDate, COVERAGE_END),
                             (DCATAPIT.startDate, COVERAGE_START), (DCATAPIT.endDate, COVERAGE_END)):
        graph.add((period, start_end, Literal(value, datatype=XSD.date)))
    return period


def _add_ontology(graph: Graph, stats: Statistics) -> URIRef:
    """The ontology the data conform to, as a standard."""
    ontology = URIRef(ONTOLOGY_IRI)
    _types(graph, ontology, DCTERMS.Standard, DCATAPIT.Standard)
    graph.add((ontology, DCTERMS.identifier, Literal(ONTOLOGY_IRI)))
    _texts(graph, ontology, DCTERMS.title, stats.ontology_titles)
    if stats.ontology_version:
        graph.add((ontology, OWL.versionInfo, Literal(stats.ontology_version)))
    return ontology


def _add_dataset(graph: Graph, build: BuildFiles, shared: _Shared, period: BNode,
                 ontology: URIRef) -> None:
    """The dataset: titles, themes, agents, coverage, dates, standard and version."""
    ds = DATASET
    _types(graph, ds, DCATAPIT.Dataset, DCAT.Dataset)
    graph.add((ds, DCTERMS.identifier, Literal("poli-kg")))
    _texts(graph, ds, DCTERMS.title, TITLE)
    _texts(graph, ds, DCTERMS.description, DESCRIPTION)
    for theme in shared.themes:
        graph.add((ds, DCAT.theme, theme))
    for keyword, lang in KEYWORDS:
        graph.add((ds, DCAT.keyword, Literal(keyword, lang=lang)))
    _add_record(graph, ds, shared, period, _frequency(graph, None))
    graph.add((ds, DCTERMS.issued, shared.issued))
    graph.add((ds, DCTERMS.modified, shared.modified))
    graph.add((ds, DCTERMS.conformsTo, ontology))
    graph.add((ds, DCAT.landingPage, shared.homepage))
    graph.add((ds, RDFS.seeAlso, URIRef(f"{shared.root}/.well-known/void")))
    if build.version:
        graph.add((ds, DCAT_VERSION, Literal(build.version)))
        graph.add((ds, OWL.versionInfo, Literal(build.version)))


def _add_source(graph: Graph, stats: Statistics, region: Agent | None) -> None:
    """The report the dataset is derived from, and the Region that published it."""
    source = URIRef(str(stats.source))
    graph.add((DATASET, PROV.wasDerivedFrom, source))
    _document(graph, source)
    _texts(graph, source, DCTERMS.title, stats.source_titles)
    if stats.source_issued is not None:
        graph.add((source, DCTERMS.issued, stats.source_issued))
    if region is not None:
        node = _agent_node(graph, region, "r_piemon",
                           ("RegionalAuthority", {"en": "Regional authority"}))
        graph.add((source, DCTERMS.publisher, node))


def _add_distributions(graph: Graph, build: BuildFiles, shared: _Shared) -> None:
    """One distribution per RDF download; the SHACL report as a related document."""
    for file in _rdf_dumps(build):
        graph.add((DATASET, DCAT.distribution, _distribution(graph, shared.root, file, build,
                                                             shared.licence)))
    report = build.get("validation-report.ttl")
    if report is not None:
        page = URIRef(download_url(shared.root, report.name))
        graph.add((DATASET, DCTERMS.relation, page))
        _document(graph, page)
        _texts(graph, page, DCTERMS.title, REPORT_TITLE)


def _distribution(graph: Graph, root: str, file: DownloadFile, build: BuildFiles,
                  licence: URIRef, titles: Mapping[str, str] | None = None) -> URIRef:
    """One dcatapit:Distribution for a listed file (``titles``: of the part it belongs to)."""
    dist = URIRef(DISTRIBUTION + file.name)
    fmt = file.content_format
    _types(graph, dist, DCATAPIT.Distribution, DCAT.Distribution)
    details = [fmt.label, "gzip"] if file.compressed else [fmt.label]
    if file.version_folder is not None:
        details.append(file.version_folder)
    label = ", ".join(details)
    _texts(graph, dist, DCTERMS.title, {lang: f"{text} ({label})" for lang, text
                                        in (titles or CONTENT_TITLE[file.content]).items()})
    _texts(graph, dist, DCTERMS.description, CONTENT_TEXT[file.content])
    url = URIRef(file_url(root, file))
    graph.add((dist, DCAT.accessURL, url))
    graph.add((dist, DCAT.downloadURL, url))
    graph.add((dist, DCAT.mediaType, _media_type(graph, fmt.media_type)))
    graph.add((dist, DCTERMS["format"], _file_type(graph, fmt.eu_file_type)))
    if file.compressed:
        graph.add((dist, DCAT.compressFormat, _media_type(graph, "application/gzip")))
    if fmt == CSVW_METADATA:
        graph.add((dist, DCTERMS.conformsTo, CSVW))
        graph.add((CSVW, RDF.type, DCTERMS.Standard))
        _texts(graph, CSVW, DCTERMS.title, CSVW_TITLE)
    graph.add((dist, DCAT.byteSize, Literal(file.size, datatype=XSD.nonNegativeInteger)))
    _add_checksum(graph, dist, file)
    graph.add((dist, DCTERMS.license, licence))
    graph.add((dist, DCTERMS.issued, _date(build)))
    graph.add((dist, DCTERMS.modified, _date(build)))
    graph.add((dist, DCATAP.availability,
               _concept(graph, EU_AVAILABILITY.AVAILABLE, {"en": "available"})))
    return dist


def _add_checksum(graph: Graph, dist: URIRef, file: DownloadFile) -> None:
    """The file's SHA-256 as an spdx:Checksum of the distribution."""
    # a blank node label may not hold "/" (the names of the trees' files do)
    checksum = BNode("sha256-" + re.sub(r"[^A-Za-z0-9._-]", "_", file.name))
    graph.add((dist, SPDX.checksum, checksum))
    graph.add((checksum, RDF.type, SPDX.Checksum))
    graph.add((checksum, SPDX.algorithm, SPDX.checksumAlgorithm_sha256))
    graph.add((SPDX.checksumAlgorithm_sha256, RDF.type, SPDX.ChecksumAlgorithm))
    graph.add((checksum, SPDX.checksumValue, Literal(file.sha256, datatype=XSD.hexBinary)))


def _add_parts(graph: Graph, build: BuildFiles, stats: Statistics, shared: _Shared,
               period: BNode) -> None:
    """The tables and the semantic assets the graph describes, each with its listed files as
    distributions (see the module docstring); files of no part of the graph are left out."""
    files: dict[tuple[str, str], list[DownloadFile]] = {}
    for file in (*build.tables.values(), *build.assets.values()):
        if file.part is not None:
            files.setdefault(file.part, []).append(file)
    for (kind, name), listed in files.items():
        part = stats.part(kind, name)
        if part is None:
            continue
        node = _add_part(graph, part, shared, period)
        for file in listed:
            graph.add((node, DCAT.distribution, _distribution(graph, shared.root, file, build,
                                                              shared.licence, part.titles)))


def _add_part(graph: Graph, part: Part, shared: _Shared, period: BNode) -> URIRef:
    """A table or a semantic asset as a dataset of the catalogue, a part of the dataset."""
    node = URIRef(part.iri)
    _types(graph, node, DCATAPIT.Dataset, DCAT.Dataset)
    graph.add((CATALOG, DCAT.dataset, node))
    graph.add((DATASET, DCTERMS.hasPart, node))
    graph.add((node, DCTERMS.isPartOf, DATASET))
    graph.add((node, DCTERMS.identifier, Literal(part.identifier or part.iri)))
    _texts(graph, node, DCTERMS.title, part.titles)
    _texts(graph, node, DCTERMS.description, part.descriptions or {
        lang: text.format(title=part.titles.get(lang, part.name))
        for lang, text in PART_DESCRIPTION[part.kind].items()})
    themes = [URIRef(t) for t in part.themes if t.startswith(str(EU_THEME))]
    for theme in themes or shared.themes:
        code = str(theme)[len(str(EU_THEME)):]
        graph.add((node, DCAT.theme, _concept(graph, theme, THEMES.get(code, {"": code}))))
    for keyword in part.keywords or [Literal(k, lang=lang) for k, lang in PART_KEYWORDS]:
        graph.add((node, DCAT.keyword, keyword))
    _add_record(graph, node, shared, period, _frequency(graph, part.frequency))
    graph.add((node, DCTERMS.issued, part.issued or shared.issued))
    graph.add((node, DCTERMS.modified, part.modified or shared.modified))
    if part.version:
        graph.add((node, OWL.versionInfo, Literal(part.version)))
    if part.iri.startswith(BASE):
        page = _document(graph, URIRef(f"{shared.root}/{part.iri[len(BASE):]}"))
        graph.add((node, DCAT.landingPage, page))
    return node


def _add_service(graph: Graph, shared: _Shared) -> None:
    """The SPARQL endpoint as a dcat:DataService serving the dataset."""
    service = SERVICE
    graph.add((service, RDF.type, DCAT.DataService))
    _texts(graph, service, DCTERMS.title, SERVICE_TITLE)
    _texts(graph, service, DCTERMS.description, SERVICE_DESCRIPTION)
    endpoint = URIRef(f"{shared.root}/sparql")
    graph.add((service, DCAT.endpointURL, endpoint))
    graph.add((service, DCAT.endpointDescription, endpoint))
    graph.add((service, DCAT.servesDataset, DATASET))
    graph.add((service, DCTERMS.conformsTo, SPARQL_PROTOCOL))
    graph.add((SPARQL_PROTOCOL, RDF.type, DCTERMS.Standard))
    _texts(graph, SPARQL_PROTOCOL, DCTERMS.title, {"en": "SPARQL 1.1 Protocol"})
    query_page = URIRef(f"{shared.root}/query")
    graph.add((service, DCAT.landingPage, query_page))
    _document(graph, query_page)
    graph.add((service, DCTERMS.publisher, shared.publisher))
    graph.add((service, DCAT.contactPoint, shared.contact))
    graph.add((service, DCTERMS.license, shared.licence))
    for theme in shared.themes:
        graph.add((service, DCAT.theme, theme))
    for keyword, lang in SERVICE_KEYWORDS:
        graph.add((service, DCAT.keyword, Literal(keyword, lang=lang)))


def _add_record(graph: Graph, node: URIRef, shared: _Shared, period: BNode,
                frequency: URIRef) -> None:
    """What a dataset of the catalogue shares with the dataset: agents, contact, update
    frequency, languages and coverage."""
    for role in (DCTERMS.publisher, DCTERMS.rightsHolder, DCTERMS.creator):
        graph.add((node, role, shared.publisher))
    graph.add((node, DCAT.contactPoint, shared.contact))
    graph.add((node, DCTERMS.accrualPeriodicity, frequency))
    for language in shared.languages:
        graph.add((node, DCTERMS.language, language))
    for place in (NUTS_PIEMONTE, PIEMONTE):
        graph.add((node, DCTERMS.spatial, place))
    graph.add((node, DCTERMS.temporal, period))


# ------------------------------------------------------------------------------ releases

def _add_releases(graph: Graph, build: BuildFiles, releases: Sequence[Release],
                  shared: _Shared, period: BNode) -> None:
    """The releases as datasets of the catalogue, versions of the dataset (their DCAT 3
    description, :func:`poli_kg.store.releases.describe`, with what DCAT-AP_IT asks for), and
    the live data as the head of the series: it has the latest release as its current version
    when it was built from the same inputs, else as its previous version."""
    if not releases:
        return
    for triple in describe_releases(releases, shared.root):
        graph.add(triple)
    for release in releases:
        _add_release(graph, release, shared, period)
    latest = releases[-1]
    live_inputs = build.info.get("inputs_sha256")
    same = live_inputs is not None and live_inputs == (latest.info.get("build") or {}).get(
        "inputs_sha256")
    graph.add((DATASET, DCAT_HAS_CURRENT_VERSION if same else DCAT_PREVIOUS_VERSION, latest.iri))


def _add_release(graph: Graph, release: Release, shared: _Shared, period: BNode) -> None:
    """One release: a dcatapit:Dataset of the catalogue, with its distributions."""
    node = release.iri
    issued = Literal(release.issued.isoformat(), datatype=XSD.dateTime)
    _types(graph, node, DCATAPIT.Dataset)
    graph.add((CATALOG, DCAT.dataset, node))
    graph.add((node, DCTERMS.identifier, Literal(str(node))))
    day = release.issued.date().isoformat()
    _texts(graph, node, DCTERMS.description, {
        lang: text.format(version=release.version, issued=day)
        for lang, text in RELEASE_DESCRIPTION.items()})
    for theme in shared.themes:
        graph.add((node, DCAT.theme, theme))
    for keyword, lang in KEYWORDS:
        graph.add((node, DCAT.keyword, Literal(keyword, lang=lang)))
    _add_record(graph, node, shared, period, _frequency(graph, str(EU_FREQUENCY.NEVER)))
    graph.add((node, DCTERMS.modified, issued))
    for page in graph.objects(node, DCAT.landingPage):
        _document(graph, page)
    for standard in graph.objects(node, DCTERMS.conformsTo):
        _types(graph, standard, DCTERMS.Standard, DCATAPIT.Standard)
        graph.add((standard, DCTERMS.identifier, Literal(str(standard))))
    prefix = str(distribution_iri(release.version, ""))
    for dist in list(graph.objects(node, DCAT.distribution)):
        _add_release_distribution(graph, dist, str(dist).removeprefix(prefix), shared.licence)


def _add_release_distribution(graph: Graph, dist: Node, name: str, licence: URIRef) -> None:
    """A release's file as DCAT-AP_IT wants a distribution: typed, with its EU file type,
    licence, availability and typed media type."""
    _types(graph, dist, DCATAPIT.Distribution)
    _texts(graph, dist, DCTERMS.description, CONTENT_TEXT[CONTENTS.get(name, "other")])
    graph.add((dist, DCTERMS["format"], _file_type(graph, format_of(name).eu_file_type)))
    graph.add((dist, DCTERMS.license, licence))
    graph.add((dist, DCATAP.availability,
               _concept(graph, EU_AVAILABILITY.STABLE, {"en": "stable"})))
    for media in list(graph.objects(dist, DCAT.mediaType)):
        _types(graph, media, DCTERMS.MediaType, DCTERMS.MediaTypeOrExtent)
    graph.add((SPDX.checksumAlgorithm_sha256, RDF.type, SPDX.ChecksumAlgorithm))
