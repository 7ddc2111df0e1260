"""A real external store: OpenLink Virtuoso (Debian's ``virtuoso-opensource``).

A session fixture starts a throw-away Virtuoso on 127.0.0.1 only (``tests/support/virtuoso.py``),
``poli-kg publish`` loads the build into it through the command line, and then:

* every competency question in ``queries/`` gives the same answer on ``sparql:`` (Virtuoso)
  as on ``oxigraph``, ``oxigraph-memory`` and ``memory`` (rdflib) — compared as multisets of
  rows of RDF terms, with two normalisations the SPARQL 1.1 text justifies (see
  :func:`comparable`) and one Virtuoso bug recorded as an expected failure (query 14);
* every named graph read back from Virtuoso is isomorphic to the build's;
* the store facade behaves as with the embedded engines (dataset, caps, formats, errors);
* all of the above again with ``REMOTE_DATASET=store`` on a second Virtuoso whose anonymous
  endpoint reads the project's graphs only (graph-level security): queries are sent without
  a dataset there, and the answers are the same; on the first Virtuoso (system graphs
  visible) that mode finds out and sends the dataset;
* ``poli-kg serve --store sparql:URL`` answers ``/sparql``, the HTML pages and the downloads;
  refused queries (update, SERVICE, foreign FROM, Virtuoso's ``bif:``) send not one byte to
  the store (a relay counts them); a runaway query is stopped on both sides.
"""

import collections
import decimal
import io
import json
import os
import re
import socket
from urllib.parse import unquote_plus
import subprocess
import sys
import threading
import time

import psutil
import pytest
import pyoxigraph as ox
import requests
from rdflib import Graph, Literal, URIRef
from rdflib.compare import isomorphic

from poli_kg.buildfolder import read_build_info
from poli_kg.namespaces import NAMED_GRAPHS
from poli_kg.store import (
    CSV, N_TRIPLES, SPARQL_RESULTS_JSON, SPARQL_RESULTS_XML, TSV, TURTLE, QuerySyntaxError,
    QueryTimeout, Store, StoreTimeout, parse_xml_results, term_from_ox, term_to_rdflib,
)
from tests.conftest import ROOT
from tests.support.virtuoso import DBA_PASSWORD, DBA_USER, Virtuoso, find_executable

pytestmark = [pytest.mark.virtuoso, pytest.mark.slow]

QUERIES = sorted((ROOT / "queries").glob("*.rq"))
EMBEDDED = ("oxigraph", "oxigraph-memory", "memory")
GRAPHS = [str(g) for g in NAMED_GRAPHS]
MAX_QUERY_SECONDS = 6
"""Virtuoso's own limit ([SPARQL] MaxQueryExecutionTime) in the test instance."""
RUNAWAY = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
COUNT_BY_GRAPH = "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g ORDER BY ?g"
LABELS = ("SELECT ?s ?l WHERE { ?s <http://www.w3.org/2000/01/rdf-schema#label> ?l } "
          "ORDER BY ?s STR(?l) LANG(?l)")  # a total order (literals of two languages do not compare)
MESAP = "https://w3id.org/poli-kg/id/polo/mesap"


def skip_or_fail(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(reason + " (required when CI is set)")
    pytest.skip(reason)


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``poli-kg ARGS`` in a subprocess."""
    return subprocess.run([sys.executable, "-m", "poli_kg.cli", *args], capture_output=True,
                          text=True, timeout=600, env={**os.environ, **(env or {})})


@pytest.fixture(scope="session")
def virtuoso(tmp_path_factory):
    """A running Virtuoso on 127.0.0.1 (empty)."""
    if find_executable() is None:
        skip_or_fail("needs Debian's virtuoso-opensource (virtuoso-t not found; .ci/run "
                     "installs it)")
    vt = Virtuoso(tmp_path_factory.mktemp("virtuoso"), max_query_seconds=MAX_QUERY_SECONDS)
    vt.start()
    yield vt
    vt.stop()


@pytest.fixture(scope="session")
def published(virtuoso, build_dir):
    """Virtuoso after ``poli-kg publish --graph-store`` (the CLI, in a subprocess)."""
    result = cli("publish", "--out", str(build_dir), "--to", virtuoso.sparql_url,
                 "--graph-store", virtuoso.graph_store_url,
                 env={"POLI_KG_STORE_USER": DBA_USER, "POLI_KG_STORE_PASSWORD": DBA_PASSWORD})
    assert result.returncode == 0, result.stderr
    virtuoso.publish_output = result.stdout
    return virtuoso


@pytest.fixture(scope="module")
def secured(tmp_path_factory, build_dir):
    """A second Virtuoso, published to, whose anonymous endpoint reads the project's graphs
    only: its own dataset is the project's (``REMOTE_DATASET=store``)."""
    if find_executable() is None:
        skip_or_fail("needs Debian's virtuoso-opensource")
    vt = Virtuoso(tmp_path_factory.mktemp("virtuoso-secured"), max_query_seconds=MAX_QUERY_SECONDS)
    vt.start()
    try:
        vt.restrict_anonymous_reads(GRAPHS)  # before the graphs exist: the rights are by name
        result = cli("publish", "--out", str(build_dir), "--to", vt.sparql_url,
                     "--graph-store", vt.graph_store_url,
                     env={"POLI_KG_STORE_USER": DBA_USER, "POLI_KG_STORE_PASSWORD": DBA_PASSWORD})
        assert result.returncode == 0, result.stderr
        assert "the store's counts match the build" in result.stdout  # read anonymously
        yield vt
    finally:
        vt.stop()


@pytest.fixture(scope="module")
def stores(published, secured, build_dir):
    """A Store for every backend over the same build: the embedded ones, Virtuoso, and
    Virtuoso left to its own dataset (``sparql-store``)."""
    opened = {spec: Store(spec, build_dir, timeout=30) for spec in EMBEDDED}
    opened["sparql"] = Store("sparql:" + published.sparql_url, build_dir, timeout=30)
    opened["sparql-store"] = Store("sparql:" + secured.sparql_url, build_dir, timeout=30,
                                   remote_dataset="store")
    yield opened
    for store in opened.values():
        store.close()


@pytest.fixture(scope="module", params=["sparql", "sparql-store"])
def vstore(stores, request):
    """Virtuoso with the dataset sent, then Virtuoso over its own dataset."""
    return stores[request.param]


@pytest.fixture(scope="module")
def ostore(stores):
    return stores["oxigraph"]


# -- the instance, and publishing ---------------------------------------------------------

def test_virtuoso_listens_on_loopback_only(virtuoso):
    listening = [c.laddr for c in psutil.Process(virtuoso.pid).net_connections(kind="inet")
                 if c.status == psutil.CONN_LISTEN]
    assert {a.port for a in listening} == {virtuoso.sql_port, virtuoso.http_port}
    assert all(a.ip == "127.0.0.1" for a in listening), listening
    ini = virtuoso.ini_path.read_text()
    assert f"ServerPort           = 127.0.0.1:{virtuoso.sql_port}" in ini
    assert f"ServerPort           = 127.0.0.1:{virtuoso.http_port}" in ini


def test_publish_through_the_cli(published, build_dir):
    info = json.loads((build_dir / "build.json").read_text())
    out = published.publish_output
    assert "graph-store" in out and "the store's counts match the build" in out
    assert f"published {info['triples']['total']} triples in 4 graphs" in out
    sizes = Store("sparql:" + published.sparql_url, build_dir, timeout=30)
    try:
        assert sizes.graph_sizes() == {info["graphs"][k]: info["triples"][k]
                                       for k in ("ontology", "data", "provenance", "inferred")}
    finally:
        sizes.close()


XSD_DECIMAL = "http://www.w3.org/2001/XMLSchema#decimal"


def canonical_decimals(graph: Graph) -> Graph:
    """``graph`` with xsd:decimal literals in the XSD 1.1 canonical form (35000000.0 ->
    35000000), as oxigraph and Virtuoso, which store decimals as values, write them."""
    out = Graph()
    for s, p, o in graph:
        if isinstance(o, Literal) and str(o.datatype) == XSD_DECIMAL:
            value = decimal.Decimal(str(o))
            o = Literal(format(value.normalize(), "f"), datatype=o.datatype)
        out.add((s, p, o))
    return out


def build_graphs(build_dir) -> dict[str, Graph]:
    """The build's named graphs, terms exactly as written in ``poli-kg.nq`` (rdflib's
    parsers would rewrite lexical forms themselves)."""
    graphs = {g: Graph() for g in GRAPHS}
    for quad in ox.parse(path=str(build_dir / "poli-kg.nq"), format=ox.RdfFormat.N_QUADS):
        graphs[quad.graph_name.value].add(tuple(
            term_to_rdflib(term_from_ox(t)) for t in (quad.subject, quad.predicate, quad.object)))
    return graphs


def store_graphs(store) -> dict[str, Graph]:
    return {g: store.construct("CONSTRUCT { ?s ?p ?o } WHERE { GRAPH ?g { ?s ?p ?o } }",
                               bindings={"g": URIRef(g)}) for g in GRAPHS}


def test_every_graph_reads_back_as_from_the_embedded_store(vstore, ostore, build_dir):
    """Isomorphic to what the oxigraph store answers (blank-node list included); equal to the
    build's N-Quads but for the lexical form of integral decimals, which the build writes
    35000000.0 and both engines (storing the value) write 35000000."""
    got, embedded, build = store_graphs(vstore), store_graphs(ostore), build_graphs(build_dir)
    for g in GRAPHS:
        assert len(got[g]) == len(embedded[g]) == len(build[g])
        assert isomorphic(got[g], embedded[g]), g
        assert isomorphic(got[g], canonical_decimals(build[g])), g
    assert not isomorphic(got[GRAPHS[1]], build[GRAPHS[1]])  # the decimals, see above


def test_publish_with_sparql_update_in_chunks(published, build_dir, ostore):
    """The SPARQL Update path, in chunks of 200 triples (blank nodes in the first one)."""
    result = cli("publish", "--out", str(build_dir), "--to", published.sparql_url,
                 "--update", published.update_url, "--chunk", "200",
                 env={"POLI_KG_STORE_USER": DBA_USER, "POLI_KG_STORE_PASSWORD": DBA_PASSWORD})
    assert result.returncode == 0, result.stderr
    data_triples = read_build_info(build_dir)["triples"]["data"]
    chunks = -(-data_triples // 200)  # the data graph is the one larger than a chunk
    assert f"update  {chunks} requests" in result.stdout, result.stdout
    store = Store("sparql:" + published.sparql_url, build_dir, timeout=30)
    try:
        got, expected = store_graphs(store), store_graphs(ostore)
        assert all(isomorphic(got[g], expected[g]) for g in GRAPHS)
    finally:
        store.close()


def test_publish_refusals_never_show_the_password(published, build_dir):
    secret = "not-the-Password-7341"
    wrong = cli("publish", "--out", str(build_dir), "--to", published.sparql_url,
                "--graph-store", published.graph_store_url,
                env={"POLI_KG_STORE_USER": DBA_USER, "POLI_KG_STORE_PASSWORD": secret})
    assert wrong.returncode == 4 and "HTTP 401" in wrong.stderr
    assert secret not in wrong.stdout + wrong.stderr
    anonymous = cli("publish", "--out", str(build_dir), "--to", published.sparql_url)
    assert anonymous.returncode == 4 and "may not write" in anonymous.stderr
    in_url = cli("publish", "--out", str(build_dir),
                 "--to", published.sparql_url.replace("http://", f"http://dba:{secret}@"))
    assert in_url.returncode == 4 and "credentials" in in_url.stderr


# -- the same answers on every backend ------------------------------------------------------

_GROUP_CONCAT = re.compile(
    r"GROUP_CONCAT\s*\(\s*(?:DISTINCT\s+)?\?\w+\s*(?:;\s*SEPARATOR\s*=\s*"
    r"(?:\"([^\"]*)\"|'([^']*)'))?\s*\)\s*AS\s+\?(\w+)", re.IGNORECASE)


def group_concats(query: str) -> dict[str, str]:
    """``{variable: separator}`` of the GROUP_CONCAT projections of ``query``."""
    return {m.group(3): m.group(1) if m.group(1) is not None else (m.group(2) or " ")
            for m in _GROUP_CONCAT.finditer(query)}


def comparable(raw, query: str, decimals: bool = False) -> collections.Counter:
    """Rows of a result as a multiset, comparable across engines.

    Blank node labels are engine-specific (replaced by ``_``).  A GROUP_CONCAT value is
    compared as the sorted list of its parts, without language tag: SPARQL 1.1 leaves the
    order unspecified, and defines GROUP_CONCAT through CONCAT with the (simple literal)
    separator, which makes the result a simple literal (Virtuoso) where oxigraph and rdflib
    keep the parts' common language tag.  With ``decimals`` (rdflib against oxigraph only)
    xsd:decimal literals are compared by value: rdflib keeps the data's ``35000000.0``,
    oxigraph (like Virtuoso) stores the value and writes ``35000000``.  Nothing else is
    normalised.
    """
    concat = group_concats(query)
    rows = collections.Counter()
    for row in raw.rows:
        values = []
        for name, term in zip(raw.variables, row):
            if term is not None and term[0] == "bnode":
                term = ("bnode", "_")
            elif term is not None and name in concat:
                term = ("group_concat", tuple(sorted(term[1].split(concat[name]))))
            elif decimals and term is not None and term[0] == "literal" \
                    and term[2] == XSD_DECIMAL:
                term = ("decimal", decimal.Decimal(term[1]))
            values.append((name, term))
        rows[tuple(values)] += 1
    return rows


def answer(store, query: str):
    """The result of ``query`` as the endpoint serialises it (XML), parsed back to terms."""
    result = store.execute(query, media_type=SPARQL_RESULTS_XML)
    return parse_xml_results(io.BytesIO(result.body))


def backend_params() -> list:
    params = []
    for path in QUERIES:
        for spec in (*EMBEDDED[1:], "sparql", "sparql-store"):
            params.append(pytest.param(path, spec, id=f"{path.stem}-{spec}"))
    return params


@pytest.mark.parametrize("path, spec", backend_params())
def test_competency_questions_agree_with_oxigraph(stores, path, spec):
    query = path.read_text(encoding="utf-8")
    decimals = spec == "memory"
    expected = comparable(answer(stores["oxigraph"], query), query, decimals)
    got = comparable(answer(stores[spec], query), query, decimals)
    assert expected, f"{path.name}: no answer"
    assert got == expected, (f"{path.name} on {spec}:\n  missing {list(expected - got)[:3]}"
                             f"\n  extra   {list(got - expected)[:3]}")


def test_group_concat_differences_are_only_order_and_language(vstore, ostore):
    """What the normalisation above forgives, shown on query 17 (and nothing more)."""
    query = (ROOT / "queries" / "17-missione-e-definizione.rq").read_text(encoding="utf-8")
    o, v = answer(ostore, query), answer(vstore, query)
    i = o.variables.index("modelli")
    o_value, v_value = o.rows[0][i], v.rows[0][i]
    assert o_value[3] == "it" and v_value[3] is None  # the tag, see comparable()
    assert sorted(o_value[1].split(", ")) == sorted(v_value[1].split(", "))
    assert [t for j, t in enumerate(o.rows[0]) if j != i] == \
        [t for j, t in enumerate(v.rows[0]) if j != i]


# -- the store facade on Virtuoso --------------------------------------------------------

def test_dataset_is_exactly_the_project_graphs(vstore, ostore):
    assert vstore.graph_sizes() == ostore.graph_sizes()
    assert vstore.named_graphs == ostore.named_graphs == tuple(GRAPHS)  # no system graphs
    total = sum(ostore.graph_sizes().values())
    count = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
    assert vstore.select(count)[0]["n"].toPython() == total  # union default graph
    classes = "SELECT DISTINCT ?c WHERE { ?s a ?c } ORDER BY ?c"
    assert vstore.execute(classes).body == ostore.execute(classes).body


@pytest.mark.parametrize("media_type", [SPARQL_RESULTS_JSON, SPARQL_RESULTS_XML, CSV, TSV])
def test_result_bodies_are_byte_identical(vstore, ostore, media_type):
    for query in (LABELS, COUNT_BY_GRAPH, "ASK { ?s a ?c }", "ASK { ?s a <urn:nothing> }"):
        v, o = vstore.execute(query, media_type=media_type), ostore.execute(query, media_type=media_type)
        assert (v.body, v.media_type, v.count, v.truncated) == \
            (o.body, o.media_type, o.count, o.truncated), query


@pytest.mark.parametrize("media_type", [TURTLE, N_TRIPLES])
def test_graph_results_are_the_same_graph(vstore, ostore, media_type):
    query = f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ BIND(<{MESAP}> AS ?s) ?s ?p ?o }}"
    fmt = "turtle" if media_type == TURTLE else "nt"
    v = Graph().parse(data=vstore.execute(query, media_type=media_type).body, format=fmt)
    o = Graph().parse(data=ostore.execute(query, media_type=media_type).body, format=fmt)
    assert len(v) > 5 and isomorphic(v, o)


def test_from_and_protocol_datasets(vstore, ostore):
    data, onto = GRAPHS[1], GRAPHS[0]
    cases = [
        (f"SELECT (COUNT(*) AS ?n) FROM <{data}> WHERE {{ ?s ?p ?o }}", {}),
        (f"SELECT ?g (COUNT(*) AS ?n) FROM <{data}> WHERE {{ GRAPH ?g {{ ?s ?p ?o }} }} GROUP BY ?g",
         {}),  # FROM without FROM NAMED: no named graphs
        (f"SELECT ?g (COUNT(*) AS ?n) FROM NAMED <{onto}> WHERE {{ GRAPH ?g {{ ?s ?p ?o }} }} "
         "GROUP BY ?g", {}),
        (f"SELECT (COUNT(*) AS ?n) FROM <{data}> WHERE {{ ?s ?p ?o }}",
         {"default_graph_uris": [onto]}),  # the protocol replaces FROM
        (COUNT_BY_GRAPH, {"default_graph_uris": [data]}),  # no named graphs then
        ("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }", {"named_graph_uris": [data]}),
    ]
    for query, kwargs in cases:
        assert vstore.execute(query, **kwargs).body == ostore.execute(query, **kwargs).body, \
            (query, kwargs)


def test_caps(vstore):
    result = vstore.execute("SELECT * WHERE { ?s ?p ?o }", max_results=5)
    assert result.count == 5 and result.truncated
    result = vstore.execute("CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }", max_results=7)
    assert result.count == 7 and result.truncated
    assert vstore.graph_sizes()  # the connection is still usable after a cut answer


def test_bindings(vstore, ostore):
    query = "SELECT ?p ?o WHERE { ?s ?p ?o FILTER(!isBlank(?o)) } ORDER BY ?p STR(?o) LANG(?o)"
    bindings = {"s": URIRef(MESAP)}
    assert vstore.select(query, bindings=bindings) == ostore.select(query, bindings=bindings)
    graph = "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }"
    assert vstore.select(graph, bindings={"g": URIRef(GRAPHS[3])}) == \
        ostore.select(graph, bindings={"g": URIRef(GRAPHS[3])})


def test_syntax_errors_are_the_parsers_own(vstore, ostore):
    query = "SELECT * WHERE {\n  ?s ?p \n}"
    with pytest.raises(QuerySyntaxError) as v:
        vstore.execute(query)
    with pytest.raises(QuerySyntaxError) as o:
        ostore.execute(query)
    assert str(v.value) == str(o.value) and "error at 3:2" in str(v.value)


# -- Virtuoso over its own dataset (REMOTE_DATASET=store) ------------------------------------

def sent_datasets(relay: "Relay", start: int = 0) -> list[bool]:
    """For each query sent through ``relay`` since byte ``start``: whether it named a dataset."""
    sent = bytes(relay.data[start:]).decode("utf-8", "replace")
    return ["default-graph-uri=" in request or "named-graph-uri=" in request
            for request in sent.split("POST ")[1:]]


def test_the_dataset_is_left_only_to_a_store_that_shows_the_projects_graphs_only(
        secured, published, build_dir, ostore):
    """The secured Virtuoso gets no dataset (the check's queries neither); the open one, whose
    system graphs the check sees, gets it with every query, and answers the same."""
    total = sum(ostore.graph_sizes().values())
    for server, left in ((secured, True), (published, False)):
        relay = Relay(server.http_port)
        store = Store(f"sparql:http://127.0.0.1:{relay.port}/sparql", build_dir, timeout=30,
                      remote_dataset="store")
        try:
            assert store.execute(LABELS).body == ostore.execute(LABELS).body
            assert store.named_graphs == tuple(GRAPHS)
            assert store.select("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }")[0]["n"] \
                .toPython() == total
            checks, queries = sent_datasets(relay)[:2], sent_datasets(relay)[2:]
            assert checks == [False, False] and len(queries) == 3
            assert queries == [not left] * 3
        finally:
            store.close()
            relay.close()


def test_graphs_made_later_stay_invisible_to_the_anonymous_endpoint(secured, build_dir, ostore):
    """What ``REMOTE_DATASET=store`` relies on: Virtuoso's graph-level security keeps a graph
    that was not granted out of the anonymous endpoint's dataset."""
    later = "urn:x-poli-kg-test:later"
    put = requests.put(secured.graph_store_url, params={"graph": later},
                       data=f"<{MESAP}> <http://e/p> 'hidden' .".encode(),
                       headers={"Content-Type": "text/turtle"},
                       auth=requests.auth.HTTPDigestAuth(DBA_USER, DBA_PASSWORD), timeout=30)
    assert put.status_code in (200, 201, 204), put.text
    relay = Relay(secured.http_port)  # another URL: checked afresh
    store = Store(f"sparql:http://127.0.0.1:{relay.port}/sparql", build_dir, timeout=30,
                  remote_dataset="store")
    try:
        assert store.graph_sizes() == ostore.graph_sizes()
        assert not store.select(f"SELECT ?o WHERE {{ <{MESAP}> <http://e/p> ?o }}")
        assert sent_datasets(relay)[2:] == [False, False]  # the two queries above
    finally:
        store.close()
        relay.close()
        requests.delete(secured.graph_store_url, params={"graph": later},
                        auth=requests.auth.HTTPDigestAuth(DBA_USER, DBA_PASSWORD), timeout=30)


def test_serve_over_the_stores_own_dataset(start_server, secured, live_server, monkeypatch):
    monkeypatch.setenv("POLI_KG_REMOTE_DATASET", "store")
    server = start_server("--store", "sparql:" + secured.sparql_url, "--workers", "1",
                          "--query-timeout", "10")
    assert_answers_as_the_embedded_store(server.url, live_server)
    assert "queries are sent without a dataset" in server.stderr.read_text()


# -- timeouts: ours, and Virtuoso's own ---------------------------------------------------

def cpu_seconds(pid: int) -> float:
    times = psutil.Process(pid).cpu_times()
    return times.user + times.system


def busy(pid: int, window: float = 1.0) -> float:
    """CPU seconds Virtuoso used during ``window`` seconds."""
    before = cpu_seconds(pid)
    time.sleep(window)
    return cpu_seconds(pid) - before


def test_a_runaway_query_is_stopped_here_and_in_virtuoso(published, build_dir):
    """poli-kg kills its query process at its timeout and drops the connection; Virtuoso
    stops the query no later than its MaxQueryExecutionTime (observed with 7.2.5: within
    about two seconds of the dropped connection)."""
    store = Store("sparql:" + published.sparql_url, build_dir, timeout=1.5)
    try:
        store.graph_sizes()
        while busy(published.pid, 0.5) > 0.1:  # quiet before we start
            pass
        started = time.monotonic()
        with pytest.raises(QueryTimeout):
            store.execute(RUNAWAY)
        killed = time.monotonic()
        assert killed - started < 5
        while busy(published.pid, 0.5) > 0.1:
            assert time.monotonic() - killed < MAX_QUERY_SECONDS + 5, "Virtuoso kept working"
        print(f"Virtuoso went idle {time.monotonic() - killed:.1f} s after the kill")
        assert store.graph_sizes()  # a fresh query process answers at once
    finally:
        store.close()


def test_virtuosos_own_limit_is_a_store_timeout(published, build_dir):
    store = Store("sparql:" + published.sparql_url, build_dir, timeout=60)
    try:
        started = time.monotonic()
        with pytest.raises(StoreTimeout, match="stopped the query"):
            store.execute(RUNAWAY)
        assert MAX_QUERY_SECONDS - 1 < time.monotonic() - started < MAX_QUERY_SECONDS + 10
    finally:
        store.close()


# -- serving from Virtuoso -----------------------------------------------------------------

class Relay:
    """A TCP relay on 127.0.0.1 that forwards to ``port`` and records the bytes sent to it."""

    def __init__(self, port: int) -> None:
        self.upstream = port
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.sent = 0
        self.data = bytearray()
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", self.upstream))
            threading.Thread(target=self._pump, args=(client, server, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, False), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket, count: bool) -> None:
        try:
            while data := source.recv(65536):
                if count:
                    with self.lock:
                        self.sent += len(data)
                        self.data += data
                target.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, target):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self) -> None:
        self.sock.close()


@pytest.fixture(scope="module")
def relay(published):
    r = Relay(published.http_port)
    yield r
    r.close()


@pytest.fixture(scope="module")
def vserver(start_server, relay):
    """``poli-kg serve --store sparql:URL`` (through the relay), a real gunicorn server."""
    return start_server("--store", f"sparql:http://127.0.0.1:{relay.port}/sparql",
                        "--workers", "2", "--query-timeout", "3")


def test_healthz(vserver, relay):
    response = requests.get(vserver.url + "/healthz", timeout=10)
    health = response.json()
    assert health["status"] == "ok" and health["store"] == "sparql"  # the kind, not the URL
    assert str(relay.port) not in response.text and "127.0.0.1" not in response.text
    assert health["triples"] > 2000


def assert_answers_as_the_embedded_store(url: str, live_server: str) -> None:
    """``/sparql`` of the server at ``url`` answers as the one over the embedded store."""
    for query in (LABELS, COUNT_BY_GRAPH):
        for accept in (SPARQL_RESULTS_JSON, CSV):
            v = requests.post(url + "/sparql", data={"query": query},
                              headers={"Accept": accept}, timeout=30)
            o = requests.post(live_server + "/sparql", data={"query": query},
                              headers={"Accept": accept}, timeout=30)
            assert v.status_code == o.status_code == 200
            assert v.content == o.content
            assert v.headers["X-Result-Count"] == o.headers["X-Result-Count"]


def test_sparql_endpoint_answers_as_the_embedded_store(vserver, live_server):
    assert_answers_as_the_embedded_store(vserver.url, live_server)


def test_pages_and_downloads(vserver, live_server, sparql_build_dir):
    page = requests.get(vserver.url + "/id/polo/mesap", headers={"Accept": "text/html"},
                        timeout=30)
    assert page.status_code == 200 and "MESAP" in page.text
    v = requests.get(vserver.url + "/id/polo/mesap", headers={"Accept": "text/turtle"}, timeout=30)
    o = requests.get(live_server + "/id/polo/mesap", headers={"Accept": "text/turtle"}, timeout=30)
    assert v.status_code == o.status_code == 200
    assert isomorphic(Graph().parse(data=v.text, format="turtle"),
                      Graph().parse(data=o.text, format="turtle"))
    home = requests.get(vserver.url + "/", headers={"Accept": "text/html"}, timeout=30)
    assert home.status_code == 200
    download = requests.get(vserver.url + "/downloads/poli-kg.ttl", timeout=30)
    assert download.status_code == 200
    assert download.content == (sparql_build_dir / "poli-kg.ttl").read_bytes()


REFUSED_OVER_HTTP = [
    ({"query": "SELECT * WHERE { SERVICE <http://127.0.0.1:9/sparql> { ?s ?p ?o } }"}, 403),
    ({"update": "DROP ALL"}, 403),
    ({"query": "DELETE WHERE { ?s ?p ?o }"}, 403),
    ({"query": "SELECT * FROM <http://127.0.0.1:9/evil> WHERE { ?s ?p ?o }"}, 400),
    ({"query": "SELECT * WHERE { ?s ?p ?o }", "default-graph-uri": "http://127.0.0.1:9/x"}, 400),
    ({"query": "SELECT * WHERE { BIND(bif:http_get('http://127.0.0.1:9/') AS ?x) }"}, 403),
    ({"query": "PREFIX b: <bif:> SELECT (b:sys_stat('st_dbms_name') AS ?x) WHERE {}"}, 403),
    ({"query": 'DEFINE input:grab-all "yes" SELECT * WHERE { <http://127.0.0.1:9/> ?p ?o }'}, 400),
]


def test_refused_queries_send_nothing_to_the_store(vserver, relay, tcp_listener):
    requests.get(vserver.url + "/sparql", params={"query": "ASK {}"}, timeout=30)  # warm up
    before = relay.sent
    for data, status in REFUSED_OVER_HTTP:
        data = {k: v.replace("127.0.0.1:9", f"127.0.0.1:{tcp_listener.port}")
                for k, v in data.items()}
        response = requests.post(vserver.url + "/sparql", data=data, timeout=30)
        assert response.status_code == status, (data, response.text)
    # Other workers may still be warming up (their own startup queries pass through the relay),
    # so check what was sent, not how much: no part of a refused query reached the store.
    sent = unquote_plus(bytes(relay.data[before:]).decode("utf-8", "replace"))
    for marker in ("SERVICE", "DROP ALL", "DELETE", f"127.0.0.1:{tcp_listener.port}", "bif:", "grab-all"):
        assert marker not in sent, marker
    assert tcp_listener.connections == 0
    accepted = requests.post(vserver.url + "/sparql", data={"query": "ASK { ?s ?p ?o }"},
                             timeout=30)
    assert accepted.status_code == 200 and relay.sent > before  # the relay does count


def test_runaway_query_over_http(vserver):
    started = time.monotonic()
    response = requests.post(vserver.url + "/sparql", data={"query": RUNAWAY}, timeout=60)
    assert response.status_code == 503 and "did not finish within 3" in response.text
    assert time.monotonic() - started < MAX_QUERY_SECONDS
    after = requests.post(vserver.url + "/sparql", data={"query": "ASK { ?s ?p ?o }"}, timeout=30)
    assert after.status_code == 200


def test_answers_of_a_remote_store_are_never_cached(vstore):
    query = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
    assert not vstore.execute(query).cached
    assert not vstore.execute(query).cached  # the store may change under us (publish)
