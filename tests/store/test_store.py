"""The store: three backends over the real build, result serialisers, the process-isolated facade."""

import csv
import io
import json
import os
import signal
import xml.etree.ElementTree as ET

import psutil
import pyoxigraph as ox
import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import RDF, RDFS
from rdflib.query import Result

from poli_kg.namespaces import GRAPH_DATA, GRAPH_ONTOLOGY, NAMED_GRAPHS, PKG, sparql_prologue
from poli_kg.store import (
    BACKENDS, CSV, GRAPH_MEDIA_TYPES, JSON_LD, N_TRIPLES, RDF_XML, RESULT_MEDIA_TYPES,
    SPARQL_RESULTS_JSON, SPARQL_RESULTS_XML, TSV, TURTLE, QueryResult, QuerySyntaxError, RawResult,
    ResultCache, Store, StoreUnavailable, open_backend, serialize, sparql_term,
)

SRX_NS = "{http://www.w3.org/2005/sparql-results#}"
XSD = "http://www.w3.org/2001/XMLSchema#"
GRAPHS = [str(g) for g in NAMED_GRAPHS]
COUNT_BY_GRAPH = "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g ORDER BY ?g"
TYPED = "SELECT DISTINCT ?s WHERE { ?s a ?class }"


@pytest.fixture(scope="module", params=BACKENDS)
def store(request, sparql_build_dir):
    """A :class:`Store` over the build, for each backend."""
    st = Store(request.param, sparql_build_dir, timeout=20)
    yield st
    st.close()


@pytest.fixture(scope="module")
def backends(sparql_build_dir):
    """Each backend opened in this process."""
    return {spec: open_backend(spec, sparql_build_dir) for spec in BACKENDS}


def solutions(body: bytes) -> list[dict]:
    """SPARQL JSON results as a list of {var: value} (lexical values only)."""
    doc = json.loads(body)
    return [{k: v["value"] for k, v in b.items()} for b in doc["results"]["bindings"]]


def a_polo(store) -> URIRef:
    """The first innovation cluster (an IRI)."""
    return store.select(sparql_prologue() + "SELECT ?s WHERE { ?s a pkg:PoloDiInnovazione } "
                        "ORDER BY ?s LIMIT 1")[0]["s"]


# -- serialisers, on a result with every kind of term -----------------------------------

TRICKY = RawResult(
    form="SELECT",
    variables=["iri", "blank", "text", "lang", "typed", "unbound"],
    rows=[
        (("uri", "http://e/a?b=1&c=%3C2%3E"), ("bnode", "b0"),
         ("literal", 'comma, "quote"\ttab\nline', XSD + "string", None),
         ("literal", "ciao", "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString", "it"),
         ("literal", "42", XSD + "integer", None), None),
        (("uri", "http://e/x"), None, ("literal", "", XSD + "string", None),
         None, ("literal", "1.5e0", XSD + "double", None), None),
    ],
)


def test_json_results_are_standard():
    doc = json.loads(serialize(TRICKY, SPARQL_RESULTS_JSON))
    assert doc["head"]["vars"] == TRICKY.variables
    first = doc["results"]["bindings"][0]
    assert first["iri"] == {"type": "uri", "value": "http://e/a?b=1&c=%3C2%3E"}
    assert first["blank"] == {"type": "bnode", "value": "b0"}
    assert first["text"] == {"type": "literal", "value": 'comma, "quote"\ttab\nline'}
    assert first["lang"] == {"type": "literal", "value": "ciao", "xml:lang": "it"}
    assert first["typed"] == {"type": "literal", "value": "42", "datatype": XSD + "integer"}
    assert "unbound" not in first


@pytest.mark.parametrize("media_type, fmt", [
    (SPARQL_RESULTS_JSON, ox.QueryResultsFormat.JSON),
    (SPARQL_RESULTS_XML, ox.QueryResultsFormat.XML),
    (TSV, ox.QueryResultsFormat.TSV),
])
def test_results_round_trip_through_oxigraph_parsers(media_type, fmt):
    parsed = list(ox.parse_query_results(serialize(TRICKY, media_type), format=fmt))
    assert len(parsed) == 2
    row = parsed[0]
    assert row["iri"] == ox.NamedNode("http://e/a?b=1&c=%3C2%3E")
    assert isinstance(row["blank"], ox.BlankNode)
    assert row["text"] == ox.Literal('comma, "quote"\ttab\nline')
    assert row["lang"] == ox.Literal("ciao", language="it")
    assert row["typed"] == ox.Literal("42", datatype=ox.NamedNode(XSD + "integer"))
    assert row["unbound"] is None
    assert parsed[1]["typed"] == ox.Literal("1.5e0", datatype=ox.NamedNode(XSD + "double"))


@pytest.mark.parametrize("media_type, fmt", [
    (SPARQL_RESULTS_JSON, "json"), (SPARQL_RESULTS_XML, "xml"), (CSV, "csv"), (TSV, "tsv"),
])
def test_results_round_trip_through_rdflib_parsers(media_type, fmt):
    result = Result.parse(io.BytesIO(serialize(TRICKY, media_type)), format=fmt)
    rows = list(result)
    assert len(rows) == 2
    assert str(rows[0]["iri"]) == "http://e/a?b=1&c=%3C2%3E"
    assert str(rows[0]["text"]) == 'comma, "quote"\ttab\nline'


def test_csv_results_quote_and_use_crlf():
    body = serialize(TRICKY, CSV).decode()
    assert body.startswith("iri,blank,text,lang,typed,unbound\r\n")
    rows = list(csv.reader(io.StringIO(body, newline="")))
    assert rows[1] == ["http://e/a?b=1&c=%3C2%3E", "_:b0", 'comma, "quote"\ttab\nline', "ciao", "42", ""]


def test_tsv_results_write_terms_in_turtle_syntax():
    lines = serialize(TRICKY, TSV).decode().split("\n")
    assert lines[0] == "?iri\t?blank\t?text\t?lang\t?typed\t?unbound"
    assert lines[1].split("\t") == [
        "<http://e/a?b=1&c=%3C2%3E>", "_:b0", '"comma, \\"quote\\"\\ttab\\nline"', '"ciao"@it', "42", ""]
    assert lines[2].split("\t")[4] == "1.5e0"


@pytest.mark.parametrize("media_type", RESULT_MEDIA_TYPES)
def test_boolean_results(media_type):
    body = serialize(RawResult(form="ASK", boolean=True), media_type).decode()
    if media_type == SPARQL_RESULTS_JSON:
        assert json.loads(body) == {"head": {}, "boolean": True}
    elif media_type == SPARQL_RESULTS_XML:
        assert ET.fromstring(body).find(SRX_NS + "boolean").text == "true"
    else:
        assert body.split()[-1] == "true"


# -- the backends over the real build -------------------------------------------------

def test_backends_agree_on_graph_sizes(backends):
    sizes = {spec: backend.graph_sizes() for spec, backend in backends.items()}
    first = sizes["oxigraph"]
    assert set(first) == set(GRAPHS)
    assert all(n > 0 for n in first.values())
    assert sizes["oxigraph-memory"] == first == sizes["memory"]


def test_backends_agree_on_typed_resources(backends):
    results = {spec: {r["s"] for r in solutions(b.execute(TYPED).body)}
               for spec, b in backends.items()}
    assert len(results["oxigraph"]) > 10
    assert results["oxigraph"] == results["oxigraph-memory"] == results["memory"]


def test_default_graph_is_the_union(store):
    sizes = store.graph_sizes()
    result = store.execute("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }", form="SELECT")
    total = int(solutions(result.body)[0]["n"])
    assert max(sizes.values()) < total <= sum(sizes.values())


def test_named_graphs(store):
    assert store.named_graphs == tuple(GRAPHS)
    rows = solutions(store.execute(COUNT_BY_GRAPH, form="SELECT").body)
    assert sorted(r["g"] for r in rows) == sorted(GRAPHS)


@pytest.mark.parametrize("media_type", RESULT_MEDIA_TYPES)
def test_select_in_every_format(store, media_type):
    result = store.execute(COUNT_BY_GRAPH, form="SELECT", media_type=media_type)
    assert result.media_type == media_type
    assert (result.count, result.truncated, result.form) == (4, False, "SELECT")
    assert result.query_ms > 0
    text = result.body.decode()
    for graph in GRAPHS:
        assert graph in text


@pytest.mark.parametrize("media_type, rdflib_format", [
    (TURTLE, "turtle"), (N_TRIPLES, "nt"), (JSON_LD, "json-ld"), (RDF_XML, "xml")])
def test_construct_in_every_format(store, media_type, rdflib_format):
    query = sparql_prologue() + "CONSTRUCT WHERE { ?s a pkg:PoloDiInnovazione ; rdfs:label ?label }"
    result = store.execute(query, form="CONSTRUCT", media_type=media_type)
    assert result.media_type == media_type and result.form == "CONSTRUCT"
    graph = Graph().parse(data=result.body, format=rdflib_format)
    assert len(graph) == result.count > 7
    assert len(set(graph.subjects(RDFS.label))) >= 7


def test_turtle_uses_project_prefixes_that_occur(store):
    query = sparql_prologue() + "CONSTRUCT WHERE { ?s a pkg:PoloDiInnovazione }"
    body = store.execute(query, form="CONSTRUCT", media_type=TURTLE).body.decode()
    assert "@prefix pkg: <https://w3id.org/poli-kg/ontology#>" in body
    assert "@prefix vcard:" not in body


def test_describe(store):
    polo = a_polo(store)
    result = store.execute(f"DESCRIBE <{polo}>", form="DESCRIBE", media_type=N_TRIPLES)
    assert result.form == "DESCRIBE" and result.count > 0
    assert all(line.startswith(f"<{polo}>") for line in result.body.decode().splitlines())


def test_ask(store):
    yes = store.execute("ASK { ?s ?p ?o }", form="ASK")
    assert json.loads(yes.body)["boolean"] is True and yes.count == 1
    no = store.execute("ASK { <http://e/nothing> ?p ?o }", form="ASK")
    assert json.loads(no.body)["boolean"] is False


@pytest.mark.parametrize("media_type", [SPARQL_RESULTS_JSON, CSV])
def test_result_cap_truncates(store, media_type):
    result = store.execute("SELECT * WHERE { ?s ?p ?o }", form="SELECT",
                           media_type=media_type, max_results=5)
    assert (result.count, result.truncated) == (5, True)
    if media_type == CSV:
        assert len(result.body.decode().strip().split("\r\n")) == 6
    exact = store.execute("SELECT * WHERE { ?s ?p ?o } LIMIT 5", form="SELECT", max_results=5)
    assert (exact.count, exact.truncated) == (5, False)


def test_construct_cap_truncates(store):
    result = store.execute("CONSTRUCT WHERE { ?s ?p ?o }", form="CONSTRUCT",
                           media_type=N_TRIPLES, max_results=3)
    assert (result.count, result.truncated) == (3, True)
    assert len(result.body.decode().strip().splitlines()) == 3


def test_from_selects_the_default_graph(store):
    sizes = store.graph_sizes()
    query = f"SELECT (COUNT(*) AS ?n) FROM <{GRAPH_ONTOLOGY}> WHERE {{ ?s ?p ?o }}"
    assert int(solutions(store.execute(query).body)[0]["n"]) == sizes[str(GRAPH_ONTOLOGY)]
    named = f"SELECT DISTINCT ?g FROM NAMED <{GRAPH_DATA}> WHERE {{ GRAPH ?g {{ ?s ?p ?o }} }}"
    assert solutions(store.execute(named).body) == [{"g": str(GRAPH_DATA)}]


def test_protocol_dataset_overrides_from(store):
    sizes = store.graph_sizes()
    query = f"SELECT (COUNT(*) AS ?n) FROM <{GRAPH_DATA}> WHERE {{ ?s ?p ?o }}"
    result = store.execute(query, default_graph_uris=[str(GRAPH_ONTOLOGY)])
    assert int(solutions(result.body)[0]["n"]) == sizes[str(GRAPH_ONTOLOGY)]
    graphs = "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }"
    result = store.execute(graphs, named_graph_uris=[str(GRAPH_DATA)])
    assert solutions(result.body) == [{"g": str(GRAPH_DATA)}]
    empty = store.execute("SELECT * WHERE { ?s ?p ?o }", named_graph_uris=[str(GRAPH_DATA)])
    assert empty.count == 0  # the default graph is empty when only named graphs are given


def test_syntax_errors_carry_line_and_column(store):
    with pytest.raises(QuerySyntaxError, match=r"2:\d+"):
        store.execute("SELECT *\nWHERE { ?s ?p }")


def test_select_helper_returns_rdflib_terms(store):
    rows = store.select(sparql_prologue() +
                        "SELECT ?s ?label WHERE { ?s a pkg:PoloDiInnovazione ; rdfs:label ?label } "
                        "ORDER BY ?s")
    assert len(rows) >= 7
    assert all(isinstance(r["s"], URIRef) and isinstance(r["label"], Literal) for r in rows)
    assert {r["label"].language for r in rows} >= {"it"}


def test_helpers_take_bindings(store):
    polo = a_polo(store)
    rows = store.select("SELECT ?s ?p ?o WHERE { ?s ?p ?o }", bindings={"s": polo})
    assert rows and all(r["s"] == polo for r in rows)
    graph = store.construct("CONSTRUCT WHERE { ?s ?p ?o }", bindings={"s": polo})
    assert set(graph.subjects()) == {polo}
    described = store.construct("DESCRIBE ?s", bindings={"s": polo})
    assert (polo, RDF.type, PKG.PoloDiInnovazione) in described
    assert dict(described.namespaces())["pkg"] == URIRef(str(PKG))


def test_helpers_refuse_the_wrong_form(store):
    from poli_kg.store import QueryEvaluationError

    with pytest.raises(QueryEvaluationError):
        store.construct("SELECT * WHERE { ?s ?p ?o }")
    with pytest.raises(QueryEvaluationError):
        store.select("ASK { ?s ?p ?o }")


def test_sparql_term():
    assert sparql_term(URIRef("http://e/a")) == "<http://e/a>"
    assert sparql_term(Literal('a "b"\n', lang="it")) == '"a \\"b\\"\\n"@it'
    assert sparql_term(Literal(3)) == f'"3"^^<{XSD}integer>'
    with pytest.raises(ValueError):
        sparql_term(URIRef("http://e/a> } SERVICE <http://evil/"))


def test_missing_store_is_unavailable(tmp_path):
    for spec in BACKENDS:
        st = Store(spec, tmp_path / "nothing", timeout=10)
        try:
            with pytest.raises(StoreUnavailable):
                st.execute("ASK {}")
        finally:
            st.close()


def test_unknown_store_spec(tmp_path):
    with pytest.raises(ValueError, match="unknown store"):
        Store("nosuch", tmp_path)
    with pytest.raises(ValueError, match="credentials"):  # sparql:URL: tests/store/test_store_backends.py
        Store("sparql:http://user:secret@127.0.0.1:1/sparql", tmp_path)


def test_graph_media_types_are_all_serialisable():
    raw = RawResult(form="CONSTRUCT", triples=[
        (("uri", "http://e/s"), ("uri", "http://e/p"), ("literal", "x", XSD + "string", None)),
        (("bnode", "b1"), ("uri", "http://e/p"), ("literal", "1", XSD + "integer", None))])
    for media_type in GRAPH_MEDIA_TYPES:
        assert serialize(raw, media_type)


# -- bindings: the same pre-binding semantics on every backend ------------------------------

def test_bound_variable_need_not_be_projected(store):
    polo = a_polo(store)
    rows = store.select("SELECT ?x WHERE { { ?r ?p ?x } UNION { ?x ?p ?r } } LIMIT 1",
                        bindings={"r": polo})
    assert len(rows) == 1 and set(rows[0]) == {"x"}


def test_bound_variable_is_bound_inside_union_branches(store):
    polo = a_polo(store)
    rows = store.select("SELECT ?s ?p ?o WHERE { GRAPH ?g { { ?r ?p ?o BIND(?r AS ?s) } "
                        "UNION { ?s ?p ?r BIND(?r AS ?o) } } }",
                        bindings={"r": polo, "g": URIRef(str(GRAPH_DATA))})
    assert rows and all(polo in (r["s"], r["o"]) for r in rows)


def test_bound_group_key_and_order(store):
    polo = a_polo(store)
    rows = store.select("SELECT ?r (COUNT(*) AS ?n) WHERE { ?r ?p ?o } GROUP BY ?r ORDER BY ?r",
                        bindings={"r": polo})
    assert len(rows) == 1 and rows[0]["r"] == polo and rows[0]["n"].toPython() > 0


def test_literal_bindings_are_escaped(store):
    label = store.select(sparql_prologue() + "SELECT ?l WHERE { ?s a pkg:PoloDiInnovazione ; "
                         "rdfs:label ?l } LIMIT 1")[0]["l"]
    rows = store.select("SELECT ?s WHERE { ?s ?p ?l }", bindings={"l": label})
    assert rows
    assert store.select("SELECT ?s WHERE { ?s ?p ?l }",
                        bindings={"l": Literal('" } SERVICE <http://127.0.0.1:9/> { "')}) == []


def test_blank_nodes_and_bad_iris_cannot_be_bound(store):
    from rdflib import BNode

    with pytest.raises(ValueError):
        store.select("SELECT ?p WHERE { ?s ?p ?o }", bindings={"s": BNode()})
    with pytest.raises(ValueError):
        store.select("SELECT ?p WHERE { ?s ?p ?o }", bindings={"s": URIRef("http://e/a b")})


# -- the result cache ----------------------------------------------------------------------

def _result(body: bytes) -> QueryResult:
    return QueryResult(body=body, media_type=SPARQL_RESULTS_JSON, form="SELECT", count=1,
                       truncated=False, query_ms=1.0)


def test_result_cache_keeps_at_most_its_size_least_recently_used_first():
    cache = ResultCache(max_bytes=800)
    for name in "abcdefgh":
        cache.put(name, _result(b"x" * 100))
    cache.get("a")                       # a is used again: b is now the oldest
    cache.put("i", _result(b"x" * 100))  # 900 bytes: one must go
    assert cache.get("b") is None
    assert cache.get("a").cached and cache.get("i").cached
    assert cache.get("a").body == b"x" * 100


def test_result_cache_does_not_keep_a_body_larger_than_an_eighth():
    cache = ResultCache(max_bytes=800)
    cache.put("big", _result(b"x" * 101))
    assert cache.get("big") is None


def test_store_answers_a_repeated_query_from_its_cache(sparql_build_dir):
    st = Store("oxigraph", sparql_build_dir, timeout=20)
    try:
        first = st.execute(TYPED)
        for pid in st.child_pids():      # no query process left to answer
            os.kill(pid, signal.SIGKILL)
            psutil.Process(pid).wait(timeout=10)
        again = st.execute(TYPED)
        assert (first.cached, again.cached) == (False, True)
        assert again.body == first.body and again.count == first.count
        assert not [p for p in st.child_pids() if psutil.pid_exists(p)
                    and psutil.Process(p).status() != psutil.STATUS_ZOMBIE]  # none forked
        other = st.execute(TYPED, media_type=CSV)
        assert not other.cached and other.media_type == CSV
        assert not st.execute(TYPED, max_results=1).cached
    finally:
        st.close()


def test_store_without_cache_evaluates_every_time(sparql_build_dir):
    st = Store("oxigraph", sparql_build_dir, timeout=20, cache_bytes=0)
    try:
        assert not st.execute(TYPED).cached and not st.execute(TYPED).cached
    finally:
        st.close()
