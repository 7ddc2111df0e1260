"""The CSV on the Web tables of the statistics (``poli_kg.graph.csvw``).

Each ``qb:DataSet`` of ``data/statistiche.ttl`` becomes a CSV table with CSVW metadata.  The
``csvw`` package (PyPI ``csvw``) validates each table against its metadata, parses and types its
cells and expands its URI templates; :func:`csv2rdf` turns its rows into triples by the CSV2RDF
rules (minimal mode), and the result must be isomorphic to the data set's observations.
"""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
from pathlib import Path

import pyoxigraph as ox
import pytest
from csvw import CSVW
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.compare import isomorphic
from rdflib.namespace import QB, RDF, RDFS, XSD

from poli_kg.graph.csvw import MEDIA_TYPES, cube_description, table_files, write_csvw
from tests.conftest import ROOT

STATISTICS = ROOT / "data" / "statistiche.ttl"
ONTOLOGY = ROOT / "ontology" / "poli-kg.ttl"
HEADER = re.compile(r"^[a-zA-Z0-9_]{2,64}$")


@pytest.fixture(scope="module")
def statistics() -> Graph:
    return Graph().parse(STATISTICS, format="turtle")


@pytest.fixture(scope="module")
def tables(statistics, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("csvw")
    graph = Graph().parse(ONTOLOGY, format="turtle")
    graph += statistics
    write_csvw(folder, graph)
    return folder


def datasets(graph: Graph) -> list[URIRef]:
    return sorted(graph.subjects(RDF.type, QB.DataSet))


def metadata_of(folder: Path, dataset: URIRef) -> Path:
    return folder / f"{str(dataset).rsplit('/', 1)[-1]}.csv-metadata.json"


def observations(graph: Graph, dataset: URIRef) -> Graph:
    out = Graph()
    for obs in graph.subjects(QB.dataSet, dataset):
        for triple in graph.triples((obs, None, None)):
            out.add(triple)
    return out


def literal(value, column) -> Literal:
    """A typed cell as CSV2RDF writes it: a language-tagged string or a typed literal."""
    base = column.datatype.base if column.datatype else "string"
    if base == "string":
        lang = column.inherit("lang")
        return Literal(value, lang=None if lang in (None, "und") else lang)
    return Literal(str(value), datatype=XSD[base])


def csv2rdf(metadata: Path) -> Graph:
    """CSV2RDF (minimal mode) of the tables ``metadata`` describes, read with the csvw package."""
    out = Graph()
    for table in CSVW(str(metadata)).tables:
        schema = table.tableSchema
        for rownum, row in enumerate(table.iterdicts(), start=1):
            subject = URIRef(table.expand(schema.aboutUrl, row, _row=rownum))
            for col in schema.columns:
                value = row.get(col.header)
                if col.suppressOutput or (value is None and not col.virtual):
                    continue
                context = {"_row": rownum, "_name": col.header}
                predicate = URIRef(table.expand(col.propertyUrl, row, **context))
                obj = URIRef(table.expand(col.valueUrl, row, **context)) if col.valueUrl \
                    else literal(value, col)
                out.add((subject, predicate, obj))
    return out


def test_one_table_and_one_metadata_file_per_data_set(tables, statistics):
    names = {p.name for p in tables.iterdir()}
    expected = set()
    for dataset in datasets(statistics):
        meta = metadata_of(tables, dataset)
        expected |= {meta.name, meta.name.removesuffix("-metadata.json")}
    assert len(datasets(statistics)) == 8
    assert names == expected
    assert {Path(n).suffix for n in names} == set(MEDIA_TYPES)


def test_every_table_is_valid_csvw(tables, statistics):
    for dataset in datasets(statistics):
        doc = CSVW(str(metadata_of(tables, dataset)), validate=True)
        assert doc.is_valid, [str(w.message) for w in doc.warnings]
        # the CSV alone finds its metadata at the CSVW default location
        csv_only = CSVW(str(metadata_of(tables, dataset)).removesuffix("-metadata.json"))
        assert csv_only.tables[0].tableSchema.aboutUrl is not None


def test_csv_to_rdf_gives_back_exactly_the_observations(tables, statistics):
    for dataset in datasets(statistics):
        converted = csv2rdf(metadata_of(tables, dataset))
        expected = observations(statistics, dataset)
        assert len(expected) > 0
        assert isomorphic(converted, expected), dataset


def test_the_packages_own_csv2json_names_every_observation(tables, statistics):
    for dataset in datasets(statistics):
        rows = CSVW(str(metadata_of(tables, dataset))).to_json(minimal=True)
        assert {row["@id"] for row in rows} == {str(o) for o in statistics.subjects(QB.dataSet, dataset)}


def test_columns_are_titled_in_italian_and_english_and_typed(tables, statistics):
    for dataset in datasets(statistics):
        meta = json.loads(metadata_of(tables, dataset).read_text(encoding="utf-8"))
        assert {t["@language"] for t in meta["dc:title"]} == {"it", "en"}
        assert meta["dc:isFormatOf"] == {"@id": str(dataset)}
        for column in meta["tableSchema"]["columns"]:
            assert column["titles"]["it"] and column["titles"]["en"], column["name"]
            if "valueUrl" not in column and not column.get("suppressOutput"):
                assert column["datatype"] in ("string", "integer", "decimal"), column
            if column.get("datatype") == "string":
                assert column["lang"] in ("it", "en"), column
        datatypes = {c.get("datatype") for c in meta["tableSchema"]["columns"]}
        assert datatypes & {"integer", "decimal"}, dataset


def test_header_row_holds_the_column_names(tables, statistics):
    for dataset in datasets(statistics):
        meta_path = metadata_of(tables, dataset)
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        text = (tables / meta["url"]).read_text(encoding="utf-8")
        header, *rows = list(csv.reader(io.StringIO(text)))
        names = [c["name"] for c in meta["tableSchema"]["columns"] if not c.get("virtual")]
        assert header == names and all(HEADER.match(h) for h in header)
        assert len(rows) == len(set(statistics.subjects(QB.dataSet, dataset)))


def test_a_wrong_cell_fails_validation(tables, statistics, tmp_path):
    """The validation is real: a count that is not an integer makes the table invalid."""
    dataset = URIRef("https://w3id.org/poli-kg/id/dataset/aderenti")
    meta = metadata_of(tables, dataset)
    for path in (meta, tables / meta.name.removesuffix("-metadata.json")):
        shutil.copy(path, tmp_path / path.name)
    table = tmp_path / meta.name.removesuffix("-metadata.json")
    table.write_text(table.read_text(encoding="utf-8").replace(",858,", ",ottocento,"),
                     encoding="utf-8", newline="")
    assert not CSVW(str(tmp_path / meta.name), validate=True).is_valid


def test_observations_that_a_table_cannot_carry_are_refused(statistics):
    dataset = URIRef("https://w3id.org/poli-kg/id/dataset/collaborazioni")
    obs = next(statistics.subjects(QB.dataSet, dataset))
    for bad in (BNode(), Literal("senza tipo"), Literal("")):
        graph = Graph()
        graph += observations(statistics, dataset)
        graph.add((dataset, RDF.type, QB.DataSet))
        graph.add((obs, RDFS.seeAlso, bad))
        with pytest.raises(ValueError):
            table_files(graph, dataset)


# --------------------------------------------------------------------------- what the build gives

def test_the_builds_selection_writes_the_tables_of_the_whole_graph(inputs_with_generated_data,
                                                                   tmp_path):
    """What :func:`cube_description` picks of the parsed triples (the project and generated
    data, which brings one more data set) makes the same files as the whole rdflib graph."""
    inputs = inputs_with_generated_data
    whole = write_csvw(tmp_path / "whole", inputs.asserted())
    picked = write_csvw(tmp_path / "picked", cube_description(inputs.asserted_triples()))
    assert [p.name for p in picked] == [p.name for p in whole]
    assert "progetti-finanziati-sintetici.csv" in [p.name for p in whole]
    for a, b in zip(whole, picked):
        assert a.read_bytes() == b.read_bytes(), a.name


EDGE_CASES = """
@prefix ex: <https://example.org/> .
@prefix qb: <http://purl.org/linked-data/cube#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
ex:ds a qb:DataSet ; rdfs:label "Tabella"@it ; qb:structure ex:dsd .
ex:dsd qb:component [ qb:dimension ex:year ; qb:order 1 ] , [ qb:measure ex:value ] .
ex:year rdfs:label "anno"@it .
ex:value rdfs:label "valore"@it , "value"@en .
ex:obs1 qb:dataSet ex:ds ; ex:year "2017"^^xsd:gYear ;
    ex:value "01"^^xsd:integer , "1"^^xsd:integer .
ex:obs2 qb:dataSet ex:ds ; ex:year "2018"^^xsd:gYear ; ex:value "2"^^xsd:integer ; ex:note "n"@it .
ex:other qb:dataSet ex:elsewhere ; ex:value "9"^^xsd:integer ; rdfs:label "not a row"@it .
"""


def test_the_selection_reads_the_triples_as_an_rdflib_graph_does():
    """Blank-node components, titles from labels in the data, and two literals rdflib takes as
    one ("01" and "1" as xsd:integer: one value, so one column): as from the rdflib graph."""
    triples = list(ox.parse(EDGE_CASES, format=ox.RdfFormat.TURTLE))
    dataset = URIRef("https://example.org/ds")
    expected = table_files(Graph().parse(data=EDGE_CASES, format="turtle"), dataset)
    assert table_files(cube_description(triples), dataset) == expected
    assert table_files(cube_description(iter(triples)), dataset) == expected
    header = expected["ds.csv"].splitlines()[0]
    assert header == "osservazione,year_gYear,value_integer,note_it"

