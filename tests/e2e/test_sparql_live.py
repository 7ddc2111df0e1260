"""The SPARQL endpoint of a real server (gunicorn on 127.0.0.1) through real clients.

curl, SPARQLWrapper, rdflib's SPARQLStore and Comunica's ``comunica-sparql`` (npm, in
tools/node_modules: ``cd tools && npm ci``; skipped when absent unless CI is set).
"""

import io
import json
import os
import shutil
import socket
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

import psutil
import pytest
import requests
from rdflib import RDF, Graph, URIRef
from rdflib.plugins.stores.sparqlstore import SPARQLStore
from rdflib.query import Result
from SPARQLWrapper import CSV, JSON, POST, TSV, TURTLE, XML, SPARQLWrapper

from poli_kg.namespaces import NAMED_GRAPHS, SD
from tests.conftest import ROOT

TOOLS = ROOT / "tools"
COMUNICA = TOOLS / "node_modules" / ".bin" / "comunica-sparql"
GRAPHS = sorted(str(g) for g in NAMED_GRAPHS)
PKG = "https://w3id.org/poli-kg/ontology#"
BY_GRAPH = "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g ORDER BY ?g"
POLI = f"CONSTRUCT WHERE {{ ?s a <{PKG}PoloDiInnovazione> }}"
RUNAWAY = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"
UPDATE_MESSAGE = "SPARQL Update is not allowed: this endpoint is read-only"

pytestmark = pytest.mark.slow


def skip_or_fail(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(reason + " (required when CI is set)")
    pytest.skip(reason)


def curl(*args: str) -> tuple[int, dict[str, str], str]:
    """Run curl; return (status, lower-cased headers, body)."""
    if shutil.which("curl") is None:
        skip_or_fail("curl is not installed")
    out = subprocess.run(["curl", "-s", "-i", "--max-time", "30", *args],
                         capture_output=True, text=True, check=True).stdout
    head, _, body = out.replace("\r\n", "\n").partition("\n\n")
    lines = head.split("\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return int(lines[0].split()[1]), headers, body


# -- curl -----------------------------------------------------------------------------------

def test_curl_get(live_server):
    status, headers, body = curl("-G", f"{live_server}/sparql", "--data-urlencode", f"query={BY_GRAPH}")
    assert status == 200
    assert headers["content-type"] == "application/sparql-results+json; charset=utf-8"
    assert "Accept" in headers["vary"] and headers["access-control-allow-origin"] == "*"
    rows = json.loads(body)["results"]["bindings"]
    assert [r["g"]["value"] for r in rows] == GRAPHS


def test_curl_post_form_and_body(live_server):
    status, headers, body = curl("-H", "Accept: text/csv", "--data-urlencode", f"query={BY_GRAPH}",
                                 f"{live_server}/sparql")
    assert status == 200 and headers["content-type"] == "text/csv; charset=utf-8"
    assert body.splitlines()[0] == "g,n"
    status, headers, body = curl("-H", "Content-Type: application/sparql-query",
                                 "-H", "Accept: text/tab-separated-values",
                                 "--data-binary", BY_GRAPH, f"{live_server}/sparql")
    assert status == 200 and body.splitlines()[1].startswith(f"<{GRAPHS[0]}>\t")


def test_curl_service_description(live_server):
    status, headers, body = curl(f"{live_server}/sparql")
    assert status == 200 and headers["content-type"].startswith("text/turtle")
    graph = Graph().parse(data=body, format="turtle")
    assert URIRef(f"{live_server}/sparql") in set(graph.objects(None, SD.endpoint))


def test_curl_update_and_errors(live_server):
    status, _, body = curl("-H", "Content-Type: application/sparql-update",
                           "--data-binary", "CLEAR ALL", f"{live_server}/sparql")
    assert status == 403 and UPDATE_MESSAGE in body
    status, headers, body = curl("-X", "PATCH", f"{live_server}/sparql")
    assert status == 405 and headers["content-type"] == "text/plain; charset=utf-8"
    status, _, body = curl(f"{live_server}/no/such/page")
    assert status == 404 and body.startswith("404 Not Found")
    status, headers, _ = curl("-X", "OPTIONS", "-H", "Origin: https://example.org",
                              "-H", "Access-Control-Request-Method: POST", f"{live_server}/sparql")
    assert status == 200 and "POST" in headers["access-control-allow-methods"]


def test_long_query_is_413(live_server):
    query = "ASK {} #" + "x" * 100_000
    response = requests.post(f"{live_server}/sparql", data={"query": query}, timeout=30)
    assert response.status_code == 413 and "100000" in response.text


def test_result_headers(live_server):
    response = requests.get(f"{live_server}/sparql", params={"query": BY_GRAPH}, timeout=30)
    assert response.headers["X-Result-Count"] == "4"
    assert response.headers["X-Result-Truncated"] == "false"


def test_connection_close_is_seen_by_the_client(live_server):
    """Query processes must not hold the client's socket open after the response."""
    host, port = live_server.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(b"GET /sparql?query=ASK%7B%7D HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = b""
        while chunk := sock.recv(65536):  # EOF, not a timeout
            data += chunk
    assert data.startswith(b"HTTP/1.1 200")


def test_concurrent_queries(live_server):
    def one(i: int) -> int:
        return requests.get(f"{live_server}/sparql",
                            params={"query": f"SELECT ?s WHERE {{ ?s ?p ?o }} LIMIT {i + 1}"},
                            timeout=30).status_code

    with ThreadPoolExecutor(max_workers=16) as pool:
        assert set(pool.map(one, range(64))) == {200}


# -- SPARQLWrapper ------------------------------------------------------------------------

@pytest.mark.parametrize("return_format", [JSON, XML, CSV, TSV])
def test_sparqlwrapper_select(live_server, return_format):
    sparql = SPARQLWrapper(f"{live_server}/sparql")
    sparql.setQuery(BY_GRAPH)
    sparql.setReturnFormat(return_format)
    result = sparql.query()
    converted = result.convert()
    if return_format == JSON:
        values = [b["g"]["value"] for b in converted["results"]["bindings"]]
    elif return_format == XML:
        values = [u.firstChild.data for u in converted.getElementsByTagName("uri")]
    else:
        fmt = "csv" if return_format == CSV else "tsv"
        data = converted if isinstance(converted, bytes) else converted.encode()
        values = [str(row[0]) for row in Result.parse(io.BytesIO(data), format=fmt)]
    assert values == GRAPHS


def test_sparqlwrapper_construct_turtle_and_ask_by_post(live_server):
    sparql = SPARQLWrapper(f"{live_server}/sparql")
    sparql.setQuery(POLI)
    sparql.setReturnFormat(TURTLE)
    graph = Graph().parse(data=sparql.query().convert(), format="turtle")
    assert len(graph) == 7
    sparql.setMethod(POST)
    sparql.setReturnFormat(JSON)
    sparql.setQuery(f"ASK {{ ?s a <{PKG}PoloDiInnovazione> }}")
    assert sparql.query().convert()["boolean"] is True


# -- rdflib SPARQLStore ------------------------------------------------------------------

def test_rdflib_sparqlstore(live_server):
    store = SPARQLStore(f"{live_server}/sparql")  # Accept: RDF/XML or SPARQL XML results
    graph = Graph(store=store)
    rows = list(graph.query(BY_GRAPH))
    assert [str(r.g) for r in rows] == GRAPHS
    assert graph.query(f"ASK {{ ?s a <{PKG}PoloDiInnovazione> }}").askAnswer is True
    constructed = graph.query(POLI).graph
    assert len(constructed) == 7
    typed = set(graph.triples((None, RDF.type, URIRef(f"{PKG}PoloDiInnovazione"))))
    assert len(typed) == 7
    store.close()


@pytest.mark.parametrize("return_format", ["json", "csv", "tsv"])
def test_rdflib_sparqlstore_result_formats(live_server, return_format):
    store = SPARQLStore(f"{live_server}/sparql", returnFormat=return_format)
    rows = list(Graph(store=store).query(BY_GRAPH))
    assert [str(r.g) for r in rows] == GRAPHS
    store.close()


# -- Comunica ---------------------------------------------------------------------------

def comunica(live_server: str, *args: str) -> str:
    if not COMUNICA.exists():
        skip_or_fail("comunica-sparql is not installed (cd tools && npm ci)")
    return subprocess.run([str(COMUNICA), f"sparql@{live_server}/sparql", *args],
                          capture_output=True, text=True, check=True, timeout=120).stdout


@pytest.mark.comunica
def test_comunica_select(live_server):
    out = comunica(live_server, "-t", "application/sparql-results+json", BY_GRAPH)
    rows = json.loads(out)["results"]["bindings"]
    assert sorted(r["g"]["value"] for r in rows) == GRAPHS


@pytest.mark.comunica
def test_comunica_construct(live_server):
    out = comunica(live_server, "-t", "application/n-triples", POLI)
    assert len(Graph().parse(data=out, format="nt")) == 7


# -- safety on the real server, every backend ------------------------------------------

@pytest.fixture(scope="module", params=["oxigraph", "oxigraph-memory", "memory"])
def backend_server(request, start_server, live_server):
    """A real server per backend (the shared live_server for oxigraph)."""
    if request.param == "oxigraph":
        return live_server
    return start_server("--workers", "1", "--store", request.param, "--query-timeout", "10").url


def test_nothing_is_fetched(backend_server, tcp_listener):
    url = tcp_listener.url
    attempts = [
        {"query": f"SELECT * WHERE {{ ?s ?p ?o . SERVICE <{url}> {{ ?s ?p ?o }} }}"},
        {"query": f"SELECT * FROM <{url}x> WHERE {{ ?s ?p ?o }}"},
        {"query": f"SELECT * FROM NAMED <{url}x> WHERE {{ GRAPH ?g {{ ?s ?p ?o }} }}"},
        {"query": "SELECT * WHERE { ?s ?p ?o }", "default-graph-uri": url},
        {"query": "SELECT * WHERE { GRAPH ?g { ?s ?p ?o } }", "named-graph-uri": url},
        {"query": "SELECT * FROM <file:///etc/passwd> WHERE { ?s ?p ?o }"},
        {"query": f"SELECT * WHERE {{ ?s ?p ?o . \\u0053ERVICE <{url}> {{ ?s ?p ?o }} }}"},
    ]
    for params in attempts:
        response = requests.get(f"{backend_server}/sparql", params=params, timeout=30)
        assert 400 <= response.status_code < 500, params
        assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
    for update in (f"LOAD <{url}>", "INSERT DATA { <http://e/s> <http://e/p> 1 }"):
        response = requests.post(f"{backend_server}/sparql", data=update,
                                 headers={"Content-Type": "application/sparql-update"}, timeout=30)
        assert response.status_code == 403 and UPDATE_MESSAGE in response.text
        response = requests.post(f"{backend_server}/sparql", data={"update": update}, timeout=30)
        assert response.status_code == 403
        response = requests.post(f"{backend_server}/sparql", data={"query": update}, timeout=30)
        assert response.status_code == 403
    assert tcp_listener.connections == 0
    response = requests.get(f"{backend_server}/sparql", params={"query": BY_GRAPH}, timeout=30)
    assert [b["g"]["value"] for b in response.json()["results"]["bindings"]] == GRAPHS


# -- a runaway query -----------------------------------------------------------------------

def busy_processes(root: int, seconds: float = 1.0, threshold: float = 25.0) -> list[psutil.Process]:
    """Processes under ``root`` (itself included) using more than ``threshold`` % CPU."""
    procs = [psutil.Process(root), *psutil.Process(root).children(recursive=True)]
    for p in procs:
        p.cpu_percent(None)
    time.sleep(seconds)
    busy = []
    for p in procs:
        try:
            if p.cpu_percent(None) > threshold:
                busy.append(p)
        except psutil.NoSuchProcess:
            pass
    return busy


def test_runaway_query_is_killed(start_server):
    server = start_server("--workers", "1", "--query-timeout", "2")
    url = f"{server.url}/sparql"
    start = time.monotonic()
    response = requests.get(url, params={"query": RUNAWAY}, timeout=30)
    elapsed = time.monotonic() - start
    assert response.status_code == 503, response.text
    assert "did not finish within 2" in response.text
    assert elapsed < 2 + 1.5
    start = time.monotonic()
    assert requests.get(url, params={"query": "ASK {}"}, timeout=30).status_code == 200
    assert time.monotonic() - start < 1
    assert busy_processes(server.pid) == []
    # again, with two at once: both stopped, nothing left running
    with ThreadPoolExecutor(max_workers=2) as pool:
        statuses = list(pool.map(lambda _: requests.get(url, params={"query": RUNAWAY},
                                                        timeout=30).status_code, range(2)))
    assert statuses == [503, 503]
    assert busy_processes(server.pid) == []
    tree = psutil.Process(server.pid).children(recursive=True)
    assert len(tree) <= 1 + 8  # one worker and at most one query process per request thread


def test_stopping_the_server_leaves_no_process(start_server):
    server = start_server("--workers", "2", "--query-timeout", "5")
    with ThreadPoolExecutor(max_workers=8) as pool:  # several request threads: several query processes
        list(pool.map(lambda _: requests.get(f"{server.url}/sparql", params={"query": BY_GRAPH},
                                             timeout=30), range(32)))
    tree = psutil.Process(server.pid).children(recursive=True)
    assert len(tree) > 2  # workers and their query processes
    server.stop()
    gone, alive = psutil.wait_procs(tree, timeout=10)
    assert alive == []
