"""Store backends beyond the build's own store: ``oxigraph:PATH`` and ``sparql:URL``.

``oxigraph:PATH``: a persistent store outside the build, loaded once and reopened on
restart (proved with its manifest's load counter, the server's log and the store folder).
``sparql:URL``: the result parsers on answers Virtuoso really gave (fixture files), the
spec, the refusals that happen before anything is sent (a TCP listener counts
connections), the syntax check that never evaluates, the child's network restriction, the
mapping of the store's errors, the limits of a call made in the request thread (a store
that trickles its answer, one that sends too much), and the dataset it is sent (a protocol
server over a real pyoxigraph store, whose default graph is or is not the union of its
graphs).  The real external store is exercised in ``tests/store/test_virtuoso.py``.
"""

import functools
import http.server
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pyoxigraph as ox
import pytest

from poli_kg.store.executor import Executor, NetworkAccessDenied, QueryMemoryExceeded, QueryTimeout
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


# -- the syntax check parses, never evaluates ----------------------------------------------

def test_the_syntax_check_never_evaluates(tcp_listener):
    """Evaluated, even on an empty store, this query makes pyoxigraph connect to the SERVICE
    (Rust code, which no audit hook sees); the check only parses it."""
    query = f"ASK {{ SERVICE <{tcp_listener.url}sparql> {{ ?s ?p ?o }} }}"
    backend = SparqlBackend("http://127.0.0.1:1/sparql", graphs=GRAPHS)
    assert backend._form(query) == "ASK"
    # the variable the check asks to substitute is one the query does not have
    assert backend._form(query.replace("?s", "?poli_kg_unused")) == "ASK"
    time.sleep(0.2)
    assert tcp_listener.connections == 0
    with pytest.raises(OSError):
        ox.Store().query(query)  # the control: evaluating it does connect
    deadline = time.monotonic() + 5
    while tcp_listener.connections == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert tcp_listener.connections == 1  # the control's, not the check's


@pytest.mark.parametrize("query, form", [
    ("SELECT (COUNT(*) AS ?n) WHERE { VALUES ?a { 1 2 } }", "SELECT"),
    ("ASK { VALUES ?a { 1 2 } FILTER(?a > 3) }", "ASK"),
    ("CONSTRUCT WHERE { ?s ?p ?o }", "CONSTRUCT"),
    ("DESCRIBE <http://e/x>", "DESCRIBE"),
    ("PREFIX ask: <http://e/> SELECT ?s WHERE { ?s ask:p 'ASK' } # CONSTRUCT", "SELECT"),
])
def test_the_syntax_check_gives_the_form(query, form):
    assert SparqlBackend("http://127.0.0.1:1/sparql", graphs=GRAPHS)._form(query) == form


def test_syntax_errors_are_pyoxigraphs_own():
    query = "SELECT * WHERE {\n  ?s ?p \n}"
    with pytest.raises(SyntaxError) as parsed:
        ox.Store().query(query)
    with pytest.raises(QuerySyntaxError) as checked:
        SparqlBackend("http://127.0.0.1:1/sparql", graphs=GRAPHS)._form(query)
    assert str(checked.value) == str(parsed.value).splitlines()[0]


# -- a store on 127.0.0.1 for the request thread's calls -------------------------------------

SRX_HEAD = (b'<?xml version="1.0"?><sparql xmlns="http://www.w3.org/2005/sparql-results#">'
            b'<head><variable name="x"/></head><results>')
SRX_ROW = b'<result><binding name="x"><literal>' + b"a" * 200 + b"</literal></binding></result>"


class ProtocolServer:
    """A SPARQL 1.1 Protocol server on 127.0.0.1: queries a pyoxigraph ``store`` (``union``:
    its default graph is the union of its named graphs, else a graph of its own), or sends
    ``answer(handler)`` to every query.  ``requests``: the form parameters of each query."""

    def __init__(self, store=None, *, union=False, answer=None):
        self.store, self.union, self.answer = store, union, answer
        self.requests = []
        self.hung_up = threading.Event()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                form = self.rfile.read(int(self.headers["Content-Length"])).decode()
                params = urllib.parse.parse_qs(form, keep_blank_values=True)
                outer.requests.append(params)
                try:
                    if outer.answer is not None:
                        return outer.answer(self)
                    body, media_type = outer.evaluate(params)
                    self.send_response(200)
                    self.send_header("Content-Type", media_type)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    outer.hung_up.set()

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}/sparql"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def evaluate(self, params):
        if "default-graph-uri" in params or "named-graph-uri" in params:
            dataset = {"default_graph": [ox.NamedNode(g)
                                         for g in params.get("default-graph-uri", [])],
                       "named_graphs": [ox.NamedNode(g) for g in params.get("named-graph-uri", [])]}
        else:
            dataset = {"use_default_graph_as_union": self.union}
        result = self.store.query(params["query"][0], **dataset)
        if isinstance(result, ox.QueryTriples):
            return result.serialize(format=ox.RdfFormat.N_TRIPLES), "application/n-triples"
        return result.serialize(format=ox.QueryResultsFormat.XML), "application/sparql-results+xml"

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def trickle(handler):
    """An answer that never ends: a row every 50 ms, until the client hangs up."""
    handler.send_response(200)
    handler.send_header("Content-Type", "application/sparql-results+xml")
    handler.send_header("Content-Length", str(10**9))
    handler.end_headers()
    handler.wfile.write(SRX_HEAD)
    while True:
        handler.wfile.write(SRX_ROW)
        handler.wfile.flush()
        time.sleep(0.05)


def flood(handler):
    """A complete answer of about 2.6 MB."""
    body = SRX_HEAD + SRX_ROW * 10_000 + b"</results></sparql>"
    handler.send_response(200)
    handler.send_header("Content-Type", "application/sparql-results+xml")
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


@pytest.fixture
def served():
    servers = []

    def serve(*args, **kwargs):
        servers.append(ProtocolServer(*args, **kwargs))
        return servers[-1]

    yield serve
    for server in servers:
        server.close()


def test_a_remote_store_is_called_in_the_request_thread(served, tmp_path):
    server = served(answer=flood)
    store = Store("sparql:" + server.url, tmp_path, timeout=10)
    try:
        result = store.execute("SELECT ?x WHERE { ?s ?p ?x }", max_results=20_000)
        assert result.count == 10_000 and not result.truncated
        assert store.child_pids() == []  # no query process
    finally:
        store.close()


def test_an_answer_that_trickles_in_is_stopped_at_the_timeout(served, tmp_path):
    """Every read gets data well within the socket's timeout; the call's deadline ends it."""
    server = served(answer=trickle)
    store = Store("sparql:" + server.url, tmp_path, timeout=1)
    try:
        started = time.monotonic()
        with pytest.raises(QueryTimeout, match="within 1 s"):
            store.execute("SELECT ?x WHERE { ?s ?p ?x }", max_results=10**9)
        assert time.monotonic() - started < 3
        assert server.hung_up.wait(10)  # the connection was dropped: the store stops too
    finally:
        store.close()


def test_an_answer_larger_than_the_memory_limit_allows_is_refused(served, tmp_path, monkeypatch):
    monkeypatch.setenv("POLI_KG_QUERY_MEMORY_MB", "1")  # answers of at most 128 KiB
    server = served(answer=flood)
    store = Store("sparql:" + server.url, tmp_path, timeout=10)
    try:
        with pytest.raises(QueryMemoryExceeded, match="more than 1 MB"):
            store.execute("SELECT ?x WHERE { ?s ?p ?x }", max_results=20_000)
        monkeypatch.setenv("POLI_KG_QUERY_MEMORY_MB", "32")  # 2.6 MB x 8 fit in 32 MB
        assert store.execute("SELECT ?x WHERE { ?s ?p ?x }", max_results=20_000).count == 10_000
    finally:
        store.close()


# -- the dataset: sent, or left to a store whose own dataset is the project's ---------------

@pytest.fixture(scope="module")
def quads(build_dir):
    def load(*extra):
        store = ox.Store()
        store.load(path=str(build_dir / "poli-kg.nq"), format=ox.RdfFormat.N_QUADS)
        store.extend(extra)
        return store
    return load


LABELS = ("SELECT ?s ?l WHERE { ?s <http://www.w3.org/2000/01/rdf-schema#label> ?l } "
          "ORDER BY ?s STR(?l) LANG(?l)")
DATASET_CASES = [
    (LABELS, {}),
    (COUNT_BY_GRAPH + " ORDER BY ?g", {}),
    ("SELECT (COUNT(*) AS ?triples) WHERE { ?s ?p ?o }", {}),
    (f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ BIND(<{MESAP_IRI}> AS ?s) ?s ?p ?o }}",
     {"media_type": N_TRIPLES}),
    (f"SELECT (COUNT(*) AS ?n) FROM <{GRAPHS[1]}> WHERE {{ ?s ?p ?o }}", {}),
    ("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }", {"default_graph_uris": [GRAPHS[0]]}),
    (COUNT_BY_GRAPH + " ORDER BY ?g", {"named_graph_uris": [GRAPHS[2]]}),
]
OTHER_GRAPH = ox.Quad(ox.NamedNode("http://e/s"), ox.NamedNode("http://e/p"), ox.Literal("o"),
                      ox.NamedNode("urn:x-other-graph"))


@pytest.mark.parametrize("union, extra, left_to_the_store", [
    (True, (), True),               # default graph: the union of exactly the project's graphs
    (False, (), False),             # a default graph of its own (empty)
    (True, (OTHER_GRAPH,), False),  # another graph besides the project's
])
@pytest.mark.parametrize("mode", ["store", "explicit"])
def test_the_dataset_is_left_to_the_store_only_when_it_is_the_projects(
        served, quads, build_dir, mode, union, extra, left_to_the_store):
    server = served(quads(*extra), union=union)
    store = Store("sparql:" + server.url, build_dir, timeout=20, remote_dataset=mode)
    reference = Store("oxigraph", build_dir, timeout=20)
    try:
        for query, kwargs in DATASET_CASES:
            got, expected = store.execute(query, **kwargs), reference.execute(query, **kwargs)
            assert (sorted(got.body.splitlines()), got.count) == \
                (sorted(expected.body.splitlines()), expected.count), (query, kwargs)
            if got.form == "SELECT":
                assert got.body == expected.body  # ordered: the same bytes
        assert store.named_graphs == GRAPHS
    finally:
        store.close()
        reference.close()
    sent = [r for r in server.requests if r["query"][0] in (LABELS, DATASET_CASES[2][0])]
    assert len(sent) == 2
    for request in sent:
        expected = {"default-graph-uri": list(GRAPHS), "named-graph-uri": list(GRAPHS)}
        if mode == "store" and left_to_the_store:
            expected = {}
        assert {k: v for k, v in request.items() if k != "query"} == expected


def test_an_unknown_dataset_mode_is_refused(tmp_path):
    with pytest.raises(ValueError, match="explicit, store"):
        Store("sparql:http://127.0.0.1:1/sparql", tmp_path, remote_dataset="union")


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


# -- oxigraph-memory: loaded once, before the query processes are forked --------------------

def test_memory_store_is_loaded_before_the_query_processes_fork(build_dir, tmp_path):
    """The TriG dump is read when the store is made: the query processes, forked later,
    answer from that copy even once the file is gone (each loading it would fail)."""
    build = tmp_path / "public"
    build.mkdir()
    (build / "poli-kg.trig").write_bytes((build_dir / "poli-kg.trig").read_bytes())
    store = Store("oxigraph-memory", build, timeout=20)
    reference = Store("oxigraph", build_dir, timeout=20)
    try:
        assert store.child_pids() == []  # no query process yet: the store is in this one
        (build / "poli-kg.trig").unlink()
        assert store.graph_sizes() == reference.graph_sizes()
        query = "SELECT ?s ?o WHERE { ?s <http://www.w3.org/2000/01/rdf-schema#label> ?o } ORDER BY ?s ?o"
        assert store.execute(query).body == reference.execute(query).body
        assert len(store.child_pids()) == 1
    finally:
        store.close()
        reference.close()


def test_memory_store_that_cannot_be_loaded_is_unavailable(tmp_path):
    """A damaged dump does not stop the server from starting: queries answer StoreUnavailable."""
    build = tmp_path / "public"
    build.mkdir()
    (build / "poli-kg.trig").write_text("<no-scheme> <p> .\n", encoding="utf-8")
    store = Store("oxigraph-memory", build, timeout=10)
    try:
        with pytest.raises(StoreUnavailable, match="cannot load .*poli-kg.trig"):
            store.execute("ASK {}")
    finally:
        store.close()
