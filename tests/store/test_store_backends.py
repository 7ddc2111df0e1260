"""Store backends beyond the build's own store: ``oxigraph:PATH`` and ``sparql:URL``.

``oxigraph:PATH``: a persistent store outside the build, loaded once and reopened on
restart (proved with its manifest's load counter, the server's log and the store folder).
``sparql:URL``: the result parsers on answers Virtuoso really gave (fixture files), the
spec, the refusals that happen before anything is sent (a TCP listener counts
connections), the child's network restriction, and the mapping of the store's errors.
The real external store is exercised in ``tests/store/test_virtuoso.py``.
"""

import functools
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pyoxigraph as ox
import pytest

from poli_kg.store.executor import Executor, NetworkAccessDenied
from poli_kg.namespaces import NAMED_GRAPHS
from poli_kg.store import (
    EMPTY_GRAPH, PERSISTENT_MANIFEST, JSON_LD, N_TRIPLES, RESULT_MEDIA_TYPES, TURTLE,
    QueryError, QueryEvaluationError, QueryRefused, QuerySyntaxError, RawResult, SparqlBackend,
    Store, StoreTimeout, StoreUnavailable, parse_json_results, parse_graph_results, parse_spec,
    parse_xml_results, prepare_persistent_store, read_persistent_manifest, serialize,
    strip_dataset_clauses,
)
from tests.conftest import TEST_DATA

RESULTS = TEST_DATA / "sparql-results"
XSD = "http://www.w3.org/2001/XMLSchema#"
GRAPHS = tuple(str(g) for g in NAMED_GRAPHS)
MESAP_IRI = "https://w3id.org/poli-kg/id/polo/mesap"
COUNT_BY_GRAPH = "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g"


# -- backend specs -------------------------------------------------------------------------

@pytest.mark.parametrize("spec, expected", [
    ("oxigraph", ("oxigraph", None)),
    ("memory", ("memory", None)),
    ("oxigraph-memory", ("oxigraph-memory", None)),
    ("oxigraph:/srv/poli-kg/store", ("oxigraph-path", "/srv/poli-kg/store")),
    ("oxigraph:relative/dir", ("oxigraph-path", "relative/dir")),
    ("sparql:http://127.0.0.1:8890/sparql", ("sparql", "http://127.0.0.1:8890/sparql")),
    ("sparql:https://db.example.org/repositories/kg?infer=false",
     ("sparql", "https://db.example.org/repositories/kg?infer=false")),
])
def test_specs(spec, expected):
    assert parse_spec(spec) == expected


@pytest.mark.parametrize("spec, message", [
    ("oxigraph:", "needs a folder"),
    ("sparql:ftp://127.0.0.1/sparql", "http"),
    ("sparql:127.0.0.1:8890/sparql", "http"),
    ("sparql:http://dba:dba@127.0.0.1:8890/sparql", "credentials"),
    ("sparql:http://127.0.0.1:99999/sparql", "(?i)port"),
    ("sparql:http://127.0.0.1/sparql#x", "fragment"),
    ("virtuoso", "unknown store"),
])
def test_bad_specs(spec, message):
    with pytest.raises(ValueError, match=message):
        parse_spec(spec)


# -- result parsers, on Virtuoso's real answers ------------------------------------------

def xml_rows():
    with open(RESULTS / "virtuoso-select.srx", "rb") as f:
        return parse_xml_results(f)


def test_xml_results_keep_every_term():
    raw = xml_rows()
    assert raw.form == "SELECT"
    assert raw.variables == ["s", "label", "n", "ok", "b", "none"]
    first, second = raw.rows
    assert first[0] == ("uri", "https://w3id.org/poli-kg/id/polo/mesap")
    assert first[1] == ("literal", "MESAP",
                        "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString", "it")
    assert first[2] == ("literal", "35000000", XSD + "integer", None)  # Virtuoso's typing
    assert first[3] == ("literal", "true", XSD + "boolean", None)
    assert first[4][0] == "bnode" and first[5] is None  # unbound
    assert second[0] == ("uri", "http://e/a?b=1&c=%3C2%3E")
    assert second[1] == ("literal", 'riga\n"due"\t<&>', XSD + "string", None)
    assert second[3] == ("literal", "false", XSD + "boolean", None)
    assert second[4] is None


def test_virtuoso_json_writes_booleans_as_digits_which_is_why_the_backend_asks_for_xml():
    with open(RESULTS / "virtuoso-select.srj", "rb") as f:
        raw = parse_json_results(f)
    xml = xml_rows()
    assert raw.variables == xml.variables
    ok = raw.variables.index("ok")
    assert [row[ok] for row in raw.rows] == [("literal", "1", XSD + "boolean", None),
                                             ("literal", "0", XSD + "boolean", None)]
    without_ok = [row[:ok] + row[ok + 1:] for row in raw.rows]
    assert without_ok == [row[:ok] + row[ok + 1:] for row in xml.rows]  # typed-literal read


def test_virtuoso_blank_node_labels_become_valid_labels():
    raw = xml_rows()
    label = raw.rows[0][4][1]
    assert "nodeID" not in label or label.startswith("x")
    ox.BlankNode(label)  # valid
    for media_type in RESULT_MEDIA_TYPES:  # and every serialiser takes it
        assert serialize(raw, media_type)
    with open(RESULTS / "virtuoso-select.srj", "rb") as f:
        assert parse_json_results(f).rows[0][4] == raw.rows[0][4]  # same label either way


@pytest.mark.parametrize("name", ["virtuoso-ask.srx", "virtuoso-ask.srj"])
def test_ask_results(name):
    parser = parse_xml_results if name.endswith(".srx") else parse_json_results
    with open(RESULTS / name, "rb") as f:
        raw = parser(f)
    assert raw.form == "ASK" and raw.boolean is True and raw.count == 1


@pytest.mark.parametrize("name", ["triple-term.srx", "triple-term.srj"])
def test_triple_terms(name):
    parser = parse_xml_results if name.endswith(".srx") else parse_json_results
    with open(RESULTS / name, "rb") as f:
        raw = parser(f)
    assert raw.rows == [(
        ("triple", ("uri", "http://e/s"), ("uri", "http://e/p"),
         ("literal", "o", "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString", "it")),
        ("literal", "1.5e0", XSD + "double", None))]


@pytest.mark.parametrize("name", ["virtuoso-select.srx", "virtuoso-select.srj"])
def test_result_limit_truncates(name):
    parser = parse_xml_results if name.endswith(".srx") else parse_json_results
    with open(RESULTS / name, "rb") as f:
        raw = parser(f, limit=1)
    assert raw.count == 1 and raw.truncated
    with open(RESULTS / name, "rb") as f:
        raw = parser(f, limit=2)
    assert raw.count == 2 and not raw.truncated


def test_graph_results():
    with open(RESULTS / "virtuoso-construct.nt", "rb") as f:
        triples, truncated = parse_graph_results(f, N_TRIPLES)
    assert not truncated and len(triples) == 4
    assert (("uri", "http://e/t"), ("uri", "http://e/p"),
            ("literal", "ciao", "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString", "it")
            ) in triples
    raw = RawResult(form="CONSTRUCT", triples=triples)
    for media_type in (TURTLE, N_TRIPLES, JSON_LD):
        assert serialize(raw, media_type)
    with open(RESULTS / "virtuoso-construct.nt", "rb") as f:
        triples, truncated = parse_graph_results(f, N_TRIPLES, limit=3)
    assert len(triples) == 3 and truncated


# -- what is sent: dataset clauses move into the protocol -----------------------------------

def test_strip_dataset_clauses():
    query = ("PREFIX g: <https://w3id.org/poli-kg/graph/>\n"
             "SELECT * FROM g:data FROM NAMED <https://w3id.org/poli-kg/graph/ontology> "
             "# FROM <http://not/a/clause>\nWHERE { ?s ?p 'FROM <x>' }")
    stripped = strip_dataset_clauses(query)
    assert "g:data" not in stripped and "NAMED" not in stripped
    assert "'FROM <x>'" in stripped and stripped.startswith("PREFIX g:")


def test_strip_refuses_what_it_cannot_take_apart():
    with pytest.raises(QueryRefused):
        strip_dataset_clauses(r"SELECT * \u0046ROM <https://w3id.org/poli-kg/graph/data> "
                              "WHERE { ?s ?p ?o }")


# -- refusals: nothing reaches the store ---------------------------------------------------

REFUSED = [
    ("INSERT DATA { <http://e/s> <http://e/p> 1 }", QueryRefused),
    ("DELETE WHERE { ?s ?p ?o }", QueryRefused),
    ("LOAD <http://127.0.0.1:9/x>", QueryRefused),
    ("SELECT * WHERE { SERVICE <http://127.0.0.1:9/sparql> { ?s ?p ?o } }", QueryRefused),
    ("SELECT * FROM <http://127.0.0.1:9/evil> WHERE { ?s ?p ?o }", QueryRefused),
    ("SELECT * FROM NAMED <urn:other> WHERE { GRAPH ?g { ?s ?p ?o } }", QueryRefused),
    ("SELECT (bif:sys_stat('st_dbms_name') AS ?x) WHERE {}", QueryRefused),
    ("SELECT * WHERE { BIND(bif:http_get('http://127.0.0.1:9/') AS ?x) }", QueryRefused),
    ("SELECT (<bif:sys_stat>('st_dbms_name') AS ?x) WHERE {}", QueryRefused),
    ("PREFIX b: <BIF:> SELECT (b:sys_stat('x') AS ?x) WHERE {}", QueryRefused),
    (r"SELECT (<\u0062if:sys_stat>('x') AS ?x) WHERE {}", QueryRefused),
    ("BASE <bif:> SELECT (<sys_stat>('x') AS ?x) WHERE {}", QueryRefused),
    ("SELECT (sql:DB.DBA.SOMETHING() AS ?x) WHERE {}", QueryRefused),
    ("SELECT (<java:org.example.Fn>(1) AS ?x) WHERE {}", QueryRefused),
    ("DEFINE input:grab-all \"yes\" SELECT * WHERE { <http://127.0.0.1:9/x> ?p ?o }",
     QuerySyntaxError),
    ("DEFINE get:soft \"soft\" SELECT * FROM <https://w3id.org/poli-kg/graph/data> "
     "WHERE { ?s ?p ?o }", QuerySyntaxError),
    ("SELECT * WHERE { ?s ?p ?o } OPTION (QUIETCAST)", QuerySyntaxError),
    ("SELECT * WHERE { ?s ?p }", QuerySyntaxError),
]


@pytest.fixture
def listener_store(tcp_listener, tmp_path):
    store = Store("sparql:" + tcp_listener.url + "sparql", tmp_path, timeout=10)
    yield store
    store.close()


@pytest.mark.parametrize("query, error", REFUSED)
def test_refused_before_anything_is_sent(listener_store, tcp_listener, query, error):
    with pytest.raises(error):
        listener_store.execute(query)
    assert tcp_listener.connections == 0


def test_foreign_protocol_graphs_are_refused(listener_store, tcp_listener):
    with pytest.raises(QueryRefused):
        listener_store.execute("SELECT * WHERE { ?s ?p ?o }",
                               default_graph_uris=["http://127.0.0.1:9/evil"])
    assert tcp_listener.connections == 0


def test_an_accepted_query_does_reach_the_store(listener_store, tcp_listener):
    """The counter works: a query that passes the checks connects (and the listener, which
    answers nothing, makes the store unavailable)."""
    with pytest.raises(StoreUnavailable):
        listener_store.execute("SELECT * WHERE { ?s ?p ?o } LIMIT 1")
    assert tcp_listener.connections >= 1


def test_an_unreachable_store_is_unavailable(tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed when the test runs: connection refused
    store = Store(f"sparql:http://127.0.0.1:{port}/sparql", tmp_path, timeout=10)
    try:
        with pytest.raises(StoreUnavailable, match="cannot reach the store"):
            store.graph_sizes()
    finally:
        store.close()


# -- the child process may reach its store, and nothing else --------------------------------

class Probe(SparqlBackend):
    """A SparqlBackend with extra methods that try the network from the child process."""

    def connect(self, port: int) -> str:
        socket.create_connection(("127.0.0.1", port), timeout=3).close()
        return "connected"

    def fetch(self, url: str) -> int:
        return urllib.request.urlopen(url, timeout=3).status


def test_query_children_may_connect_to_the_store_only(tcp_listener):
    from tests.conftest import TcpListener

    other = TcpListener()
    opener = functools.partial(Probe.open_in_child, tcp_listener.url + "sparql", GRAPHS,
                               os.getpid())
    ex = Executor(opener, expected_errors=(QueryError, NetworkAccessDenied),
                  isolate_network=False)
    try:
        with pytest.raises(NetworkAccessDenied):
            ex.call("connect", (other.port,), timeout=10)
        with pytest.raises(NetworkAccessDenied):
            ex.call("fetch", (other.url,), timeout=10)
        with pytest.raises(NetworkAccessDenied):
            ex.call("fetch", (tcp_listener.url,), timeout=10)  # urllib: never
        assert other.connections == 0 and tcp_listener.connections == 0
        assert ex.call("connect", (tcp_listener.port,), timeout=10) == "connected"
        deadline = time.monotonic() + 5
        while tcp_listener.connections == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert tcp_listener.connections == 1
    finally:
        ex.close()
        other.close()


def test_the_store_process_keeps_its_own_network_unrestricted(tcp_listener):
    """Opening a SparqlBackend in this process (not a child) leaves the network alone."""
    backend = SparqlBackend.open_in_child(tcp_listener.url + "sparql", GRAPHS, os.getpid())
    socket.create_connection(("127.0.0.1", tcp_listener.port), timeout=3).close()
    backend.close()


# -- how the store's answers map to errors ------------------------------------------------

class FakeResponse:
    """Just enough of http.client.HTTPResponse for SparqlBackend._fail / _read."""

    def __init__(self, status, body=b"", headers=None):
        self.status = status
        self.reason = "Reason"
        self._body = body
        self.headers = {k.lower(): v for k, v in (headers or {}).items()}
        self.will_close = True

    def getheader(self, name, default=None):
        return self.headers.get(name.lower(), default)

    def read(self, n=-1):
        out, self._body = (self._body, b"") if n < 0 else (self._body[:n], self._body[n:])
        return out

    def isclosed(self):
        return not self._body


@pytest.fixture
def backend():
    return SparqlBackend("http://127.0.0.1:1/sparql", graphs=GRAPHS)


@pytest.mark.parametrize("status, body, headers, error, message", [
    (500, b"Virtuoso S1T00 Error SR171: Transaction timed out\n\nSPARQL query:\n...", {},
     StoreTimeout, "SR171"),
    (504, b"", {}, StoreTimeout, "stopped"),
    (401, b"", {}, StoreUnavailable, "anonymous, read-only"),
    (404, b"", {}, StoreUnavailable, "no SPARQL endpoint"),
    (302, b"", {"Location": "http://127.0.0.1:2/sparql"}, StoreUnavailable, "redirects"),
    (503, b"", {}, StoreUnavailable, "unavailable"),
    (400, b"Virtuoso 37000 Error SP031: SPARQL compiler: Built-in function is not implemented\n",
     {}, QueryEvaluationError, "not implemented"),
    (500, b"Virtuoso 42000 Error SR186:SECURITY: No permission\n", {}, QueryEvaluationError,
     "SR186"),
])
def test_store_errors(backend, status, body, headers, error, message):
    exc = backend._fail(FakeResponse(status, body, headers))
    assert type(exc) is error and message in str(exc)


PARTIAL = (b'<sparql xmlns="http://www.w3.org/2005/sparql-results#"><head>'
           b'<variable name="n"/></head><results></results></sparql>')


@pytest.mark.parametrize("status, headers", [
    (200, {"X-SQL-State": "S1TAT", "X-SQL-Message": "RC...: Returning incomplete results, "
                                                    "query interrupted by result timeout.",
           "Content-Type": "application/sparql-results+xml"}),
    (206, {"Content-Type": "application/sparql-results+xml"}),
])
def test_partial_answers_are_never_passed_on(backend, status, headers):
    with pytest.raises(StoreTimeout, match="incomplete"):
        backend._read(FakeResponse(status, PARTIAL, headers), "SELECT", None)


def test_unreadable_answers(backend):
    with pytest.raises(QueryEvaluationError, match="text/html"):
        backend._read(FakeResponse(200, b"<html/>", {"Content-Type": "text/html"}), "SELECT", None)
    with pytest.raises(QueryEvaluationError, match="could not be read"):
        backend._read(FakeResponse(200, b"<sparql", {"Content-Type": "application/sparql-results+xml"}),
                      "SELECT", None)
    with pytest.raises(QueryEvaluationError, match="not RDF"):
        backend._read(FakeResponse(200, PARTIAL, {"Content-Type": "application/sparql-results+xml"}),
                      "CONSTRUCT", None)


def test_empty_dataset_parts_are_named_explicitly():
    assert EMPTY_GRAPH.startswith("urn:") and EMPTY_GRAPH not in GRAPHS


# -- oxigraph:PATH: loaded once, reopened on restart ----------------------------------------

def manifest(path: Path) -> dict:
    data = read_persistent_manifest(path)
    assert data is not None
    return data


def test_persistent_store_loads_once_and_reopens(build_dir, tmp_path):
    folder = tmp_path / "kg"
    first = prepare_persistent_store(folder, build_dir)
    loaded = manifest(folder)
    assert loaded["loads"] == 1 and first.name == loaded["store"]
    build_info = json.loads((build_dir / "build.json").read_text())
    assert loaded["source_sha256"] == build_info["files"]["poli-kg.nq"]["sha256"]
    mtime = (folder / PERSISTENT_MANIFEST).stat().st_mtime_ns
    inode = first.stat().st_ino

    started = time.perf_counter()
    again = prepare_persistent_store(folder, build_dir)
    assert time.perf_counter() - started < 1.0
    assert again == first and again.stat().st_ino == inode
    assert (folder / PERSISTENT_MANIFEST).stat().st_mtime_ns == mtime
    assert manifest(folder)["loads"] == 1


def test_persistent_store_answers_like_the_build(build_dir, tmp_path):
    store = Store(f"oxigraph:{tmp_path / 'kg'}", build_dir, timeout=20)
    reference = Store("oxigraph", build_dir, timeout=20)
    try:
        assert store.graph_sizes() == reference.graph_sizes()
        query = "SELECT ?s ?o WHERE { ?s <http://www.w3.org/2000/01/rdf-schema#label> ?o } ORDER BY ?s ?o"
        assert store.execute(query).body == reference.execute(query).body
        assert store.spec == f"oxigraph:{tmp_path / 'kg'}"
    finally:
        store.close()
        reference.close()


def test_persistent_store_reloads_a_different_build(build_dir, tmp_path):
    folder = tmp_path / "kg"
    first = prepare_persistent_store(folder, build_dir)
    other = tmp_path / "other"  # another build: one triple
    other.mkdir()
    (other / "poli-kg.nq").write_text(
        f"<{MESAP_IRI}> <http://www.w3.org/2000/01/rdf-schema#label> \"MESAP\"@it <{GRAPHS[1]}> .\n")
    second = prepare_persistent_store(folder, other)
    assert second != first and manifest(folder)["loads"] == 2
    assert manifest(folder)["previous"] == first.name
    assert first.is_dir()  # kept: a server may still be reading it
    small = Store(f"oxigraph:{folder}", other, timeout=20)
    try:
        assert small.graph_sizes() == {GRAPHS[1]: 1}
    finally:
        small.close()
    third = prepare_persistent_store(folder, build_dir)
    assert manifest(folder)["loads"] == 3 and not first.is_dir()  # older ones go
    assert second.is_dir() and third.is_dir()
    store = Store(f"oxigraph:{folder}", build_dir, timeout=20)
    try:
        assert sum(store.graph_sizes().values()) > 2000  # the real graph again
    finally:
        store.close()


def test_persistent_store_without_a_build(build_dir, tmp_path):
    folder = tmp_path / "kg"
    with pytest.raises(StoreUnavailable, match="build the graph first"):
        prepare_persistent_store(folder, tmp_path / "no-build")
    store = Store(f"oxigraph:{folder}", tmp_path / "no-build", timeout=10)
    try:
        with pytest.raises(StoreUnavailable):
            store.execute("ASK {}")
    finally:
        store.close()
    loaded = prepare_persistent_store(folder, build_dir)
    assert prepare_persistent_store(folder, tmp_path / "no-build") == loaded  # reopened


def test_servers_starting_together_load_once(build_dir, tmp_path):
    """Three processes (fresh interpreters, as separate servers would be) at once."""
    folder = tmp_path / "kg"
    code = ("import sys; from poli_kg.store import prepare_persistent_store; "
            "print(prepare_persistent_store(sys.argv[1], sys.argv[2]))")
    runs = [subprocess.Popen([sys.executable, "-c", code, str(folder), str(build_dir)],
                             stdout=subprocess.PIPE, text=True) for _ in range(3)]
    results = {run.communicate(timeout=120)[0].strip() for run in runs}
    assert all(run.returncode == 0 for run in runs)
    assert len(results) == 1
    assert manifest(folder)["loads"] == 1


@pytest.mark.slow
def test_serve_loads_once_and_a_restart_reopens(start_server, tmp_path, sparql_build_dir):
    """Two server runs on the same folder: the first loads, the second only reopens."""
    import requests

    folder = tmp_path / "kg"
    first = start_server("--store", f"oxigraph:{folder}", "--workers", "1")
    health = requests.get(first.url + "/healthz", timeout=10).json()
    first.stop()
    assert health["store"] == "oxigraph-path"  # the kind only: the folder is not shown
    assert "loaded build" in first.stderr.read_text()
    loaded = manifest(folder)
    store_dir = folder / loaded["store"]
    inode, mtime = store_dir.stat().st_ino, (folder / PERSISTENT_MANIFEST).stat().st_mtime_ns

    second = start_server("--store", f"oxigraph:{folder}", "--workers", "1")
    again = requests.get(second.url + "/healthz", timeout=10).json()
    query = requests.get(second.url + "/sparql", params={"query": COUNT_BY_GRAPH},
                         headers={"Accept": "application/sparql-results+json"}, timeout=10)
    second.stop()
    log = second.stderr.read_text()
    assert "reopened without loading" in log and "loaded build" not in log
    assert manifest(folder)["loads"] == 1
    assert store_dir.stat().st_ino == inode
    assert (folder / PERSISTENT_MANIFEST).stat().st_mtime_ns == mtime
    assert again["triples"] == health["triples"] > 2000
    assert query.status_code == 200 and len(query.json()["results"]["bindings"]) == 4


def test_publish_needs_a_build(tmp_path):
    """``poli-kg publish`` sends the build as it is and never builds (nothing is contacted)."""
    result = subprocess.run(
        [sys.executable, "-m", "poli_kg.cli", "publish", "--out", str(tmp_path / "none"),
         "--to", "http://127.0.0.1:1/sparql"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "holds no build" in result.stderr
    assert not (tmp_path / "none").exists()
