"""The NDC semantic assets (``poli_kg.graph.assets``): the tree, its metadata, and the copy in git.

* the layout rules of the National Data Catalog's harvester and repository checks (folders,
  names, versions, one ``.ttl`` per leaf folder, file named after its asset's IRI and folder);
* each file's one main resource with the metadata the harvester requires (title, description,
  modified, theme, periodicity, rights holder with name and identifier, a Turtle distribution
  with a download URL, one key concept per vocabulary);
* every vocabulary passes NDC's own SHACL rules (``../shared/reference/ndc_vocabulary-rules
  .shacl.ttl``, skipped with the reason when absent, failed under ``CI``) with 0 violations;
* the repository's ``assets/`` is exactly what the code writes from ``ontology/`` and ``data/``
  (regenerate it with ``python -m poli_kg.graph.assets``).
"""

from __future__ import annotations

import csv
import io
import os
import re
from pathlib import Path

import pytest
from pyshacl import validate
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, OWL, RDF, RDFS, SKOS

from poli_kg.graph.assets import (
    ADMSAPIT, BASE_URL, NDC, asset_data, asset_name, project_graphs, vocabularies, write_assets,
)
from poli_kg.namespaces import DCATAPIT, EU_FILE_TYPE, EU_FREQUENCY, EU_THEME, ONTOLOGY_IRI
from tests.conftest import ROOT, SHARED

NDC_RULES = SHARED / "reference" / "ndc_vocabulary-rules.shacl.ttl"
COMMITTED = ROOT / "assets"
NAME = re.compile(r"^[.a-z0-9 _-]{1,64}$")           # dati-semantic-cookiecutter file/folder names
VERSION = re.compile(r"^(latest|v?\d+(\.\d+){0,2})$")
KEY_CONCEPT = re.compile(r"^\w(:?[\w-]+\w)*$")       # the harvester's ControlledVocabularyModel
CSV_HEADER = re.compile(r"^[a-zA-Z0-9_]{2,64}$")     # NDC guide: CSV projections of vocabularies
TERM_TYPES = (OWL.Class, OWL.ObjectProperty, OWL.DatatypeProperty,
              URIRef("http://purl.org/linked-data/cube#DimensionProperty"),
              URIRef("http://purl.org/linked-data/cube#MeasureProperty"),
              URIRef("http://purl.org/linked-data/cube#AttributeProperty"))


@pytest.fixture(scope="module")
def graphs():
    return project_graphs(ROOT)


@pytest.fixture(scope="module")
def tree(graphs, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("assets")
    write_assets(folder, *graphs)
    return folder


def files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def turtle_files(tree: Path) -> list[Path]:
    return sorted(tree.rglob("*.ttl"))


def parse(path: Path) -> Graph:
    return Graph().parse(path, format="turtle")


def main_resource(graph: Graph, cls: URIRef) -> URIRef:
    found = list(graph.subjects(RDF.type, cls))
    assert len(found) == 1, f"{len(found)} resources of type {cls}"
    return found[0]


def require_shared(path: Path) -> Path:
    if not path.is_file():
        reason = f"{path.name} not found in ../shared/reference/ (reference files are not in git)"
        if os.environ.get("CI"):
            pytest.fail(reason + " (required when CI is set)")
        pytest.skip(reason)
    return path


# ------------------------------------------------------------------------------ layout

def test_tree_holds_the_ontology_and_every_vocabulary_of_the_data(tree, graphs):
    ontology, data = graphs
    names = {asset_name(s) for s in vocabularies(data)}
    assert len(names) == 10
    assert {p.name for p in (tree / "controlled-vocabularies").iterdir()} == names
    assert {p.name for p in tree.iterdir()} == {"ontologies", "controlled-vocabularies"}
    version = ontology.value(URIRef(ONTOLOGY_IRI), OWL.versionInfo)
    assert {p.name for p in (tree / "ontologies" / "ontology").iterdir()} == {"latest", f"v{version}"}


def test_names_follow_the_ndc_pattern_and_files_are_utf8(tree):
    for path in tree.rglob("*"):
        assert NAME.match(path.stem if path.is_file() else path.name), path
        if path.is_file():
            path.read_bytes().decode("utf-8")


def test_only_leaf_folders_hold_files_and_each_holds_one_turtle_file(tree):
    for folder in [tree, *[p for p in tree.rglob("*") if p.is_dir()]]:
        children = list(folder.iterdir())
        if any(p.is_dir() for p in children):
            assert not any(p.is_file() for p in children), folder
            continue
        suffixes = sorted(p.suffix for p in children)
        assert suffixes.count(".ttl") == 1, folder
        assert suffixes.count(".csv") <= 1 and set(suffixes) <= {".ttl", ".csv"}, folder


def test_each_file_is_named_after_its_asset_iri_and_its_folder(tree):
    for path in turtle_files(tree):
        graph = parse(path)
        kind = path.relative_to(tree).parts[0]
        main = main_resource(graph, OWL.Ontology if kind == "ontologies" else SKOS.ConceptScheme)
        assert path.stem == asset_name(main), path
        asset_folder = path.parent.parent if kind == "ontologies" else path.parent
        assert path.stem == asset_folder.name, path


def test_ontology_version_folders_are_latest_or_v_prefixed(tree, graphs):
    for asset in (tree / "ontologies").iterdir():
        versions = [p.name for p in asset.iterdir()]
        assert "latest" in versions
        assert all(VERSION.match(v) for v in versions), versions
        assert all(v.startswith("v") for v in versions if v != "latest"), versions
        numbered = [v for v in versions if v != "latest"]
        for version in numbered:
            graph = parse(asset / version / f"{asset.name}.ttl")
            assert f"v{graph.value(URIRef(ONTOLOGY_IRI), OWL.versionInfo)}" == version


# ------------------------------------------------------------------------------ metadata

def check_asset_metadata(graph: Graph, main: URIRef) -> None:
    for lang in ("it", "en"):
        for prop in (DCTERMS.title, DCTERMS.description):
            assert any(o.language == lang for o in graph.objects(main, prop)), (main, prop, lang)
    assert graph.value(main, DCTERMS.modified) is not None
    assert graph.value(main, OWL.versionInfo) is not None
    assert set(graph.objects(main, DCAT.theme)) == {EU_THEME.ECON, EU_THEME.TECH}
    assert graph.value(main, DCTERMS.accrualPeriodicity) == EU_FREQUENCY.IRREG
    holder = graph.value(main, DCTERMS.rightsHolder)
    assert isinstance(holder, URIRef)
    assert graph.value(holder, FOAF.name) is not None
    assert str(graph.value(holder, DCTERMS.identifier)) == "poli-kg"
    assert list(graph.objects(main, DCAT.keyword))


def check_turtle_distribution(graph: Graph, distributions: list, tree: Path, path: Path) -> None:
    turtle = [d for d in distributions if graph.value(d, DCTERMS.format) == EU_FILE_TYPE.RDF_TURTLE]
    assert len(turtle) == 1, path
    url = BASE_URL + path.relative_to(tree).as_posix()
    assert graph.value(turtle[0], DCAT.downloadURL) == URIRef(url)
    assert graph.value(turtle[0], DCAT.accessURL) == URIRef(url)
    assert (turtle[0], RDF.type, DCATAPIT.Distribution) in graph
    assert graph.value(turtle[0], DCTERMS.license) is not None


def test_ontology_files_carry_the_adms_ap_it_metadata(tree):
    for path in sorted((tree / "ontologies").rglob("*.ttl")):
        graph = parse(path)
        onto = main_resource(graph, OWL.Ontology)
        check_asset_metadata(graph, onto)
        dists = list(graph.objects(onto, ADMSAPIT.hasSemanticAssetDistribution))
        check_turtle_distribution(graph, dists, tree, path)


def test_vocabulary_files_carry_the_dcat_ap_it_metadata_and_one_key_concept(tree):
    key_concepts = set()
    for path in sorted((tree / "controlled-vocabularies").rglob("*.ttl")):
        graph = parse(path)
        scheme = main_resource(graph, SKOS.ConceptScheme)
        assert (scheme, RDF.type, DCATAPIT.Dataset) in graph
        check_asset_metadata(graph, scheme)
        keys = list(graph.objects(scheme, NDC.keyConcept))
        assert len(keys) == 1 and KEY_CONCEPT.match(str(keys[0])), keys
        key_concepts.add(str(keys[0]))
        dists = list(graph.objects(scheme, DCAT.distribution))
        check_turtle_distribution(graph, dists, tree, path)
        assert list(graph.objects(scheme, SKOS.hasTopConcept))
    assert len(key_concepts) == 10


def test_every_ontology_term_has_italian_and_english_label_comment_and_is_defined_by(tree):
    graph = parse(tree / "ontologies" / "ontology" / "latest" / "ontology.ttl")
    terms = {s for t in TERM_TYPES for s in graph.subjects(RDF.type, t)}
    assert len(terms) > 55
    for term in terms:
        for prop in (RDFS.label, RDFS.comment):
            langs = {o.language for o in graph.objects(term, prop) if isinstance(o, Literal)}
            assert {"it", "en"} <= langs, (term, prop)
        assert isinstance(graph.value(term, RDFS.isDefinedBy), URIRef), term


def test_vocabulary_concepts_are_explicit_skos_concepts_of_their_scheme(tree, graphs):
    _, data = graphs
    for scheme in vocabularies(data):
        name = asset_name(scheme)
        graph = parse(tree / "controlled-vocabularies" / name / f"{name}.ttl")
        concepts = set(graph.subjects(RDF.type, SKOS.Concept))
        assert concepts == set(data.subjects(SKOS.inScheme, scheme)), name
        for concept in concepts:
            assert graph.value(concept, SKOS.notation) is not None
            assert any(o.language == "it" for o in graph.objects(concept, SKOS.prefLabel))
            assert graph.value(concept, SKOS.inScheme) == scheme


def test_vocabulary_csv_lists_every_concept(tree, graphs):
    _, data = graphs
    for scheme in vocabularies(data):
        name = asset_name(scheme)
        text = (tree / "controlled-vocabularies" / name / f"{name}.csv").read_text(encoding="utf-8")
        header, *rows = list(csv.reader(io.StringIO(text)))
        assert header[0] == "codice_1_livello" and all(CSV_HEADER.match(h) for h in header)
        codes = {str(data.value(c, SKOS.notation)) for c in data.subjects(SKOS.inScheme, scheme)}
        assert {row[0] for row in rows} == codes and len(rows) == len(codes)
        for row in rows:
            concept = URIRef(row[header.index("uri")])
            assert Literal(row[1], lang="it") in set(data.objects(concept, SKOS.prefLabel))


# ------------------------------------------------------------------------------ NDC SHACL

def ndc_violations(data_graph: Graph) -> list:
    rules = Graph().parse(require_shared(NDC_RULES), format="turtle")
    _conforms, report, _text = validate(data_graph, shacl_graph=rules, advanced=True,
                                        inference="none", allow_warnings=True)
    sh = "http://www.w3.org/ns/shacl#"
    return list(report.subjects(RDF.type, URIRef(sh + "ValidationResult")))


def test_every_vocabulary_passes_the_ndc_shacl_rules(tree):
    for path in sorted((tree / "controlled-vocabularies").rglob("*.ttl")):
        assert ndc_violations(parse(path)) == [], path


def test_ndc_shacl_rules_do_reach_the_vocabularies(tree):
    """The rules' SPARQL targets select the scheme and its concepts: remove what they require
    and they report it (so the 0 above is not a rule that never ran)."""
    graph = parse(tree / "controlled-vocabularies" / "indicatori" / "indicatori.ttl")
    scheme = main_resource(graph, SKOS.ConceptScheme)
    graph.remove((scheme, NDC.keyConcept, None))
    concept = next(graph.subjects(RDF.type, SKOS.Concept))
    graph.remove((concept, SKOS.notation, None))
    assert len(ndc_violations(graph)) == 2


# ------------------------------------------------------------------------------ the copy in git

def test_committed_assets_are_what_the_code_writes(tree):
    """``assets/`` in the repository (registered in NDC as it is) equals a fresh run; older
    ontology version folders may stay beside the current one."""
    generated, committed = files(tree), files(COMMITTED)
    assert {p: c for p, c in committed.items() if p in generated} == generated, \
        "assets/ is stale: run `python -m poli_kg.graph.assets`"
    extra = [p for p in committed if p not in generated]
    assert all(re.match(r"^ontologies/[^/]+/v[\d.]+/", p) for p in extra), extra



def test_the_builds_selection_of_the_data_writes_the_same_tree(inputs_with_generated_data,
                                                               tmp_path):
    """What :func:`asset_data` picks of the parsed data (the project's and generated data, with
    concept schemes that are not published and agents of other things) makes the same files as
    all the data, from a small part of it."""
    inputs = inputs_with_generated_data
    ontology = inputs.graphs["ontology"]
    picked = asset_data(ontology, inputs.triples["data"])
    write_assets(tmp_path / "whole", ontology, inputs.graphs["data"])
    write_assets(tmp_path / "picked", ontology, picked)
    assert files(tmp_path / "picked") == files(tmp_path / "whole")
    assert len(files(tmp_path / "whole")) > 10
    assert len(picked) < len(inputs.triples["data"]) / 4
