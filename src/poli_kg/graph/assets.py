"""The semantic assets as Italy's National Data Catalog (schema.gov.it, NDC) harvests them.

:func:`write_assets` writes an ``assets/`` tree laid out as the NDC harvester and its
repository checks (``dati-semantic-cookiecutter``) expect::

    ontologies/{name}/latest/{name}.ttl          the ontology (the harvester reads latest/)
    ontologies/{name}/v{X.Y.Z}/{name}.ttl        the same, X.Y.Z its owl:versionInfo
    controlled-vocabularies/{name}/{name}.ttl    each SKOS concept scheme of the data
    controlled-vocabularies/{name}/{name}.csv    its concepts, one row each

``{name}`` is the last segment of the asset's IRI (``ontology`` for
``https://w3id.org/poli-kg/ontology``, ``aree-tematiche`` for ``…/id/scheme/aree-tematiche``):
the checks want a file named after its asset's IRI and after its folder, file and folder names
of lowercase letters, digits, ``-``, ``_`` and ``.``, and version folders ``latest`` or
``vN.N.N``.  Each Turtle file holds exactly one main resource, one ``owl:Ontology`` or one
``skos:ConceptScheme`` that is a ``dcatapit:Dataset``, with the ADMS-AP_IT / DCAT-AP_IT
metadata written in ``ontology/`` and ``data/`` (title, description, modified, theme,
periodicity, version, key concept, …), the agents it names (the rights holder with its
``foaf:name`` and ``dct:identifier``), and, generated here because they describe the files
written here, its distributions: the Turtle file (EU file type ``RDF_TURTLE``) and for a
vocabulary the CSV too, each with its download URL under ``base_url`` (the published
``assets/`` folder, ``https://w3id.org/poli-kg/assets/`` by default, so the tree is the same
wherever it is built).  The ontology links its distribution with
``admsapit:hasSemanticAssetDistribution``, a vocabulary with ``dcat:distribution``.

A vocabulary's concepts are typed ``skos:Concept`` in its file even where the data type them
with a subclass (``pkg:Indicatore``, …): the harvester does no reasoning.

The build passes as ``data`` only what the tree is made of, :func:`asset_data`: the triples about
the vocabularies, their concepts and the agents they and the ontology name (a few hundred,
however large the data), selected from the parsed triples without making an rdflib graph of them.

``python -m poli_kg.graph.assets [FOLDER]`` writes the tree of the project's own ontology and
data (into ``assets/`` of the project by default, the copy the repository is registered from).
"""

from __future__ import annotations

import csv
import io
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

import pyoxigraph as ox
from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, OWL, RDF, SKOS

from poli_kg.config import ROOT
from poli_kg.graph.rdfterms import to_rdflib
from poli_kg.namespaces import (
    BASE, DCATAPIT, EU_FILE_TYPE, EU_FREQUENCY, EU_LANGUAGE, EU_THEME, bind_prefixes,
)

__all__ = ["ADMSAPIT", "BASE_URL", "NDC", "asset_data", "asset_name", "concepts_csv",
           "ontology_asset", "project_graphs", "vocabularies", "vocabulary_asset", "write_assets"]

NDC = Namespace("https://w3id.org/italia/onto/NDC/")
ADMSAPIT = Namespace("https://w3id.org/italia/onto/ADMS/")
IANA = Namespace("http://www.iana.org/assignments/media-types/")
BASE_URL = BASE + "assets/"
DISTRIBUTION = BASE + "dataset/distribution/assets/"
ONTOLOGIES = "ontologies"
VOCABULARIES = "controlled-vocabularies"
AGENT_PROPERTIES = (DCTERMS.rightsHolder, DCTERMS.publisher, DCTERMS.creator)
CSV_COLUMNS = ("codice_1_livello", "label_ITA_1_livello", "label_ENG_1_livello",
               "definizione_ITA", "definizione_ENG", "uri")
# (EU file type, IANA media type, Italian and English format name) of each distribution.
FORMATS = {
    ".ttl": ("RDF_TURTLE", "text/turtle", "RDF/Turtle", "RDF/Turtle"),
    ".csv": ("CSV", "text/csv", "CSV", "CSV"),
}


def asset_name(iri: URIRef | str) -> str:
    """The last segment of an asset IRI: its folder and file name."""
    return str(iri).rstrip("/").rsplit("/", 1)[-1]


def _graph() -> Graph:
    graph = bind_prefixes(Graph())
    for prefix, namespace in (("ndc", NDC), ("admsapit", ADMSAPIT), ("iana", IANA),
                              ("eu-file-type", EU_FILE_TYPE), ("eu-theme", EU_THEME),
                              ("eu-frequency", EU_FREQUENCY), ("eu-language", EU_LANGUAGE)):
        graph.bind(prefix, namespace)
    return graph


def _describe(target: Graph, source: Graph, subjects: Iterable[URIRef]) -> None:
    """Copy into ``target`` every triple of ``source`` about each of ``subjects``."""
    for subject in subjects:
        for triple in source.triples((subject, None, None)):
            target.add(triple)


def _with_agents(asset: Graph, data: Graph, main: URIRef) -> None:
    """Describe in ``asset`` the agents ``main`` names (the harvester reads their names there)."""
    _describe(asset, data, sorted({a for p in AGENT_PROPERTIES for a in asset.objects(main, p)
                                   if isinstance(a, URIRef)}))


def _texts(graph: Graph, subject: URIRef, predicate: URIRef) -> dict[str, str]:
    return {lit.language: str(lit) for lit in graph.objects(subject, predicate)
            if isinstance(lit, Literal) and lit.language}


def _distribution(asset: Graph, main: URIRef, path: str, base_url: str,
                  *extra_types: URIRef) -> URIRef:
    """A DCAT-AP_IT distribution of the file at ``path`` (relative to the assets folder)."""
    file_type, media_type, name_it, name_en = FORMATS[Path(path).suffix]
    dist = URIRef(DISTRIBUTION + path)
    url = URIRef(base_url + path)
    for cls in (DCATAPIT.Distribution, DCAT.Distribution, *extra_types):
        asset.add((dist, RDF.type, cls))
    titles = _texts(asset, main, DCTERMS.title)
    asset.add((dist, DCTERMS.title, Literal(f"{titles.get('it', path)} ({name_it})", lang="it")))
    asset.add((dist, DCTERMS.title, Literal(f"{titles.get('en', path)} ({name_en})", lang="en")))
    asset.add((dist, DCTERMS.format, EU_FILE_TYPE[file_type]))
    asset.add((dist, DCAT.mediaType, IANA[media_type]))
    asset.add((dist, DCAT.accessURL, url))
    asset.add((dist, DCAT.downloadURL, url))
    for licence in asset.objects(main, DCTERMS.license):
        asset.add((dist, DCTERMS.license, licence))
    return dist


def ontology_asset(ontology: Graph, data: Graph, path: str, base_url: str = BASE_URL) -> Graph:
    """The ontology file at ``path``: the ontology, its agents and its Turtle distribution."""
    onto = _main(ontology, OWL.Ontology)
    asset = _graph()
    asset += ontology
    _with_agents(asset, data, onto)
    dist = _distribution(asset, onto, path, base_url, ADMSAPIT.SemanticAssetDistribution)
    asset.add((onto, ADMSAPIT.hasSemanticAssetDistribution, dist))
    return asset


def vocabulary_asset(data: Graph, scheme: URIRef, folder: str, base_url: str = BASE_URL) -> Graph:
    """A vocabulary file: the scheme, its concepts, its agents, its Turtle and CSV distributions."""
    asset = _graph()
    asset.bind(asset_name(scheme), Namespace(str(scheme) + "/"))
    _describe(asset, data, [scheme])
    concepts = _concepts(data, scheme)
    _describe(asset, data, concepts)
    for concept in concepts:
        asset.add((concept, RDF.type, SKOS.Concept))
    _with_agents(asset, data, scheme)
    name = asset_name(scheme)
    for suffix in FORMATS:
        asset.add((scheme, DCAT.distribution,
                   _distribution(asset, scheme, f"{folder}/{name}{suffix}", base_url)))
    return asset


def _main(graph: Graph, cls: URIRef) -> URIRef:
    found = [s for s in graph.subjects(RDF.type, cls) if isinstance(s, URIRef)]
    if len(found) != 1:
        raise ValueError(f"expected exactly one {cls}, found {len(found)}")
    return found[0]


def _concepts(data: Graph, scheme: URIRef) -> list[URIRef]:
    return sorted(c for c in data.subjects(SKOS.inScheme, scheme) if isinstance(c, URIRef))


def vocabularies(data: Graph) -> list[URIRef]:
    """The concept schemes of ``data`` that are DCAT-AP_IT datasets, the assets NDC harvests."""
    return sorted(s for s in data.subjects(RDF.type, SKOS.ConceptScheme)
                  if isinstance(s, URIRef) and (s, RDF.type, DCATAPIT.Dataset) in data)


def concepts_csv(data: Graph, scheme: URIRef) -> str:
    """The CSV of a scheme's concepts: code, labels and definitions in Italian and English, IRI."""
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    rows = []
    for concept in _concepts(data, scheme):
        labels = _texts(data, concept, SKOS.prefLabel)
        definitions = _texts(data, concept, SKOS.definition)
        rows.append([str(data.value(concept, SKOS.notation) or ""),
                     labels.get("it", ""), labels.get("en", ""),
                     definitions.get("it", ""), definitions.get("en", ""), str(concept)])
    writer.writerows(sorted(rows))
    return out.getvalue()


_OX_TYPE, _OX_IN_SCHEME = ox.NamedNode(str(RDF.type)), ox.NamedNode(str(SKOS.inScheme))
_OX_SCHEME_TYPES = frozenset(ox.NamedNode(str(c)) for c in (SKOS.ConceptScheme, DCATAPIT.Dataset))
_OX_AGENT_PROPERTIES = frozenset(ox.NamedNode(str(p)) for p in AGENT_PROPERTIES)


def asset_data(ontology: Graph, data: Iterable[ox.Triple | ox.Quad]) -> Graph:
    """The triples of ``data`` (pyoxigraph triples or quads, as parsed) that :func:`write_assets`
    reads, as an rdflib graph: the tree written from it is the one written from all of ``data``.

    They are the triples about each vocabulary (a concept scheme that is a DCAT-AP_IT data set),
    about its concepts and about the agents it or ``ontology``'s ``owl:Ontology`` names.
    """
    data = data if isinstance(data, Sequence) else list(data)   # read twice
    types: dict[ox.NamedNode, set] = {}
    in_scheme, agents_of = [], []
    for t in data:   # the first pass: the links from the vocabularies to what they need
        p = t.predicate
        if p == _OX_TYPE:
            if t.object in _OX_SCHEME_TYPES:
                types.setdefault(t.subject, set()).add(t.object)
        elif p == _OX_IN_SCHEME:
            in_scheme.append((t.subject, t.object))
        elif p in _OX_AGENT_PROPERTIES:
            agents_of.append((t.subject, t.object))
    schemes = {s for s, found in types.items() if found == _OX_SCHEME_TYPES}
    agents = {a for s, a in agents_of if s in schemes and type(a) is ox.NamedNode}
    agents |= {ox.NamedNode(str(a)) for onto in ontology.subjects(RDF.type, OWL.Ontology)
               for p in AGENT_PROPERTIES for a in ontology.objects(onto, p)
               if isinstance(a, URIRef)}   # the ontology asset names them from the ontology
    wanted = schemes | {c for c, s in in_scheme if s in schemes} | agents
    graph = Graph(bind_namespaces="none")
    for t in data:
        if t.subject in wanted:
            graph.add((to_rdflib(t.subject), to_rdflib(t.predicate), to_rdflib(t.object)))
    return graph


def _turtle(graph: Graph) -> bytes:
    return graph.serialize(format="turtle", encoding="utf-8")


def write_assets(folder: Path, ontology: Graph, data: Graph,
                 base_url: str = BASE_URL) -> list[Path]:
    """Write the NDC ``assets/`` tree of ``ontology`` and ``data`` into ``folder``.

    ``ontology`` is the ontology graph alone (published when it declares one ``owl:Ontology``),
    ``data`` the asserted instance data (the concept schemes, their concepts, the agents);
    neither should hold OWL RL inferences.  Files already in ``folder`` are replaced, others
    are left (older ontology versions stay beside the new one).  Returns the files written.
    """
    files: dict[str, bytes] = {}
    ontologies = [s for s in ontology.subjects(RDF.type, OWL.Ontology) if isinstance(s, URIRef)]
    if len(ontologies) == 1:  # a project without one ontology (a test fixture) has none to publish
        onto = ontologies[0]
        name = asset_name(onto)
        version = ontology.value(onto, OWL.versionInfo)
        # NDC reads latest/; a version folder is added when the ontology says its version.
        for version_folder in ("latest", *([f"v{version}"] if version is not None else [])):
            path = f"{ONTOLOGIES}/{name}/{version_folder}/{name}.ttl"
            files[path] = _turtle(ontology_asset(ontology, data, path, base_url))
    for scheme in vocabularies(data):
        vocab = f"{VOCABULARIES}/{asset_name(scheme)}"
        files[f"{vocab}/{asset_name(scheme)}.ttl"] = _turtle(
            vocabulary_asset(data, scheme, vocab, base_url))
        files[f"{vocab}/{asset_name(scheme)}.csv"] = concepts_csv(data, scheme).encode("utf-8")
    written = []
    for path, content in files.items():
        target = folder / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
        written.append(target)
    return written


def project_graphs(project: Path = ROOT) -> tuple[Graph, Graph]:
    """The ontology (``ontology/*.ttl``) and data (``data/**/*.ttl``) of a project folder."""
    ontology, data = Graph(), Graph()
    for path in sorted(project.glob("ontology/*.ttl")):
        ontology.parse(path, format="turtle")
    for path in sorted(project.glob("data/**/*.ttl")):
        data.parse(path, format="turtle")
    return ontology, data


def main(argv: list[str] | None = None) -> int:
    """Write the project's assets tree (``FOLDER``, default the project's ``assets/``)."""
    args = sys.argv[1:] if argv is None else argv
    folder = Path(args[0]) if args else ROOT / "assets"
    for path in write_assets(folder, *project_graphs()):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
