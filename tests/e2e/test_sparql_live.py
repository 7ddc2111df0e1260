"""The SPARQL endpoint of a real server (gunicorn on 127.0.0.1) through real clients.

curl, SPARQLWrapper (every return format, each query form, GET and POST), rdflib's
SPARQLStore, Comunica's ``comunica-sparql`` (npm, in tools/node_modules: ``cd tools && npm
ci``) and raptor's ``rapper``; a client that is missing is skipped, unless CI is set.  Also
through the real server: HTTP caching (ETag, 304, gzip), CORS preflights, predefined
prefixes, syntax errors and truncation.
"""

import io
import json
import os
import shutil
import socket
import subprocess
import time
import warnings
from concurrent.futures import ThreadPoolExecutor

import psutil
import pytest
import requests
from rdflib import RDF, Graph, URIRef
from rdflib.plugins.stores.sparqlstore import SPARQLStore
from rdflib.query import Result
from SPARQLWrapper import (
    CSV, JSON, JSONLD, N3, POST, RDF as RDF_FORMAT, RDFXML, TSV, TURTLE, XML, SPARQLWrapper,
)

from poli_kg.namespaces import NAMED_GRAPHS, SD
from tests.conftest import ROOT

TOOLS = ROOT / "tools"
COMUNICA = TOOLS / "node_modules" / ".bin" / "comunica-sparql"
GRAPHS = sorted(str(g) for g in NAMED_GRAPHS)
PKG = "https://w3id.org/poli-kg/ontology#"
BY_GRAPH = "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g ORDER BY ?g"
POLI = f"CONSTRUCT WHERE {{ ?s a <{PKG}PoloDiInnovazione> }}"
DESCRIBE = "DESCRIBE <https://w3id.org/poli-kg/id/polo/mesap>"
LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
EN_LABELS = f"?s a <{PKG}PoloDiInnovazione> ; <{LABEL}> ?l FILTER(lang(?l) = 'en')"
LABELS_EN = f"SELECT ?s ?l WHERE {{ {EN_LABELS} }} ORDER BY ?s"
"""With full IRIs: Comunica parses queries itself, and knows no predefined prefixes."""
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

@pytest.fixture(scope="module",
                params=["oxigraph", "oxigraph-memory", "memory", "oxigraph on granian"])
def backend_server(request, start_server, live_server):
    """A real server per backend (the shared live_server for oxigraph), and on granian."""
    if request.param == "oxigraph":
        return live_server
    store, _, server = request.param.partition(" on ")
    return start_server("--workers", "1", "--store", store, "--query-timeout", "10",
                        "--server", server or "gunicorn").url


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


@pytest.mark.parametrize("application_server", ["gunicorn", "granian"])
def test_runaway_query_is_killed(start_server, application_server):
    server = start_server("--workers", "1", "--query-timeout", "2", "--server", application_server)
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


@pytest.mark.parametrize("application_server", ["gunicorn", "granian"])
def test_stopping_the_server_leaves_no_process(start_server, application_server):
    server = start_server("--workers", "2", "--query-timeout", "5", "--server", application_server)
    with ThreadPoolExecutor(max_workers=8) as pool:  # several request threads: several query processes
        list(pool.map(lambda _: requests.get(f"{server.url}/sparql", params={"query": BY_GRAPH},
                                             timeout=30), range(32)))
    tree = psutil.Process(server.pid).children(recursive=True)
    assert len(tree) > 2  # workers and their query processes
    server.stop()
    gone, alive = psutil.wait_procs(tree, timeout=10)
    assert alive == []


# -- every client, every return format ------------------------------------------------------

GRAPH_RETURN_FORMATS = [TURTLE, N3, RDFXML, XML, JSONLD, JSON, RDF_FORMAT]


def sparqlwrapper(live_server: str, query: str, return_format: str, method: str = "GET"):
    sparql = SPARQLWrapper(f"{live_server}/sparql")
    sparql.setQuery(query)
    sparql.setReturnFormat(return_format)
    sparql.setMethod(method)
    return sparql.query()


@pytest.mark.parametrize("method", ["GET", POST])
@pytest.mark.parametrize("query, size", [(POLI, 7), (DESCRIBE, None)])
@pytest.mark.parametrize("return_format", GRAPH_RETURN_FORMATS)
def test_sparqlwrapper_graph_forms_in_every_format(live_server, query, size, return_format,
                                                   method):
    with warnings.catch_warnings():  # SPARQLWrapper warns that it sends */* for JSON here
        warnings.simplefilter("ignore", RuntimeWarning)
        result = sparqlwrapper(live_server, query, return_format, method)
    converted = result.convert()
    if isinstance(converted, Graph):
        graph = converted
    else:  # Turtle and N3 come back as bytes
        graph = Graph().parse(data=converted, format="turtle")
    assert len(graph) == size if size else len(graph) > 3
    if query == DESCRIBE:
        assert (URIRef("https://w3id.org/poli-kg/id/polo/mesap"), None, None) in graph


@pytest.mark.parametrize("method", ["GET", POST])
@pytest.mark.parametrize("return_format", [JSON, XML, CSV, TSV])
def test_sparqlwrapper_ask_and_select_by_get_and_post(live_server, return_format, method):
    result = sparqlwrapper(live_server, f"ASK {{ ?s a <{PKG}PoloDiInnovazione> }}",
                           return_format, method)
    converted = result.convert()
    if return_format == JSON:
        assert converted["boolean"] is True
    elif return_format == XML:
        assert converted.getElementsByTagName("boolean")[0].firstChild.data == "true"
    else:
        assert b"true" in (converted if isinstance(converted, bytes) else converted.encode())
    rows = sparqlwrapper(live_server, LABELS_EN, JSON, method).convert()["results"]["bindings"]
    assert len(rows) == 7 and all(r["l"]["xml:lang"] == "en" for r in rows)


def test_sparqlwrapper_reads_a_syntax_error(live_server):
    from SPARQLWrapper.SPARQLExceptions import QueryBadFormed

    with pytest.raises(QueryBadFormed) as info:
        sparqlwrapper(live_server, "SELECT * WHERE { ?s ?p }", JSON)
    assert "Syntax error at 1:" in str(info.value) and "^" in str(info.value)


@pytest.mark.comunica
def test_comunica_xml_results_and_language_tags(live_server):
    out = comunica(live_server, "-t", "application/sparql-results+xml", LABELS_EN)
    assert out.count("<result>") == 7 and out.count('xml:lang="en"') == 7
    rows = json.loads(comunica(live_server, "-t", "application/sparql-results+json",
                               LABELS_EN))["results"]["bindings"]
    assert len(rows) == 7 and {r["l"].get("xml:lang") for r in rows} == {"en"}
    out = comunica(live_server, "-t", "application/n-triples",
                   f"CONSTRUCT {{ ?s <{LABEL}> ?l }} WHERE {{ {EN_LABELS} }}")
    graph = Graph().parse(data=out, format="nt")
    assert len(graph) == 7 and {o.language for o in graph.objects()} == {"en"}


@pytest.mark.comunica
def test_comunica_ask_and_describe(live_server):
    assert json.loads(comunica(live_server, "-t", "application/sparql-results+json",
                               f"ASK {{ ?s a <{PKG}PoloDiInnovazione> }}"))["boolean"] is True
    graph = Graph().parse(data=comunica(live_server, "-t", "text/turtle", DESCRIBE),
                          format="turtle")
    assert (URIRef("https://w3id.org/poli-kg/id/polo/mesap"), None, None) in graph


def rapper(*args: str) -> subprocess.CompletedProcess:
    if shutil.which("rapper") is None:
        skip_or_fail("rapper is not installed (raptor2-utils)")
    return subprocess.run(["rapper", *args], capture_output=True, text=True, timeout=60,
                          check=False)


@pytest.mark.rapper
@pytest.mark.parametrize("syntax, format_", [("turtle", None), ("turtle", "n3"),
                                             ("ntriples", "ntriples"), ("rdfxml", "rdf+xml"),
                                             ("guess", None)])
def test_rapper_reads_construct_results(live_server, syntax, format_):
    params = {"query": POLI, **({"format": format_} if format_ else {})}
    url = f"{live_server}/sparql?" + requests.compat.urlencode(params)
    options = ["-g"] if syntax == "guess" else ["-i", syntax]
    done = rapper(*options, "-c", url)
    assert done.returncode == 0, done.stderr
    assert "returned 7 triples" in done.stderr


@pytest.mark.rapper
def test_rapper_reads_the_service_description(live_server):
    done = rapper("-i", "turtle", "-c", f"{live_server}/sparql/")
    assert done.returncode == 0 and "returned" in done.stderr, done.stderr


# -- HTTP caching, CORS, prefixes and errors on the real server ------------------------------

def test_caching_through_the_real_server(live_server):
    url = f"{live_server}/sparql"
    session = requests.Session()  # sends Accept-Encoding: gzip, deflate
    first = session.get(url, params={"query": BY_GRAPH}, timeout=30)
    assert first.headers["Content-Encoding"] == "gzip"
    assert first.headers["Cache-Control"].startswith("public, max-age=")
    assert {"Accept", "Accept-Encoding"} <= {v.strip() for v in first.headers["Vary"].split(",")}
    assert [r["g"]["value"] for r in first.json()["results"]["bindings"]] == GRAPHS
    again = session.get(url, params={"query": BY_GRAPH}, timeout=30,
                        headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.content == b""
    status, headers, _ = curl("-G", url, "--data-urlencode", f"query={BY_GRAPH}",
                              "-H", f"If-None-Match: {first.headers['ETag']}")
    assert status == 200 and "content-encoding" not in headers  # identity has its own ETag
    status, _, _ = curl("-G", url, "--data-urlencode", f"query={BY_GRAPH}",
                        "-H", f"If-None-Match: {headers['etag']}")
    assert status == 304
    timing = first.headers["Server-Timing"]
    assert "parse;dur=" in timing and "execute;dur=" in timing and "serialise;dur=" in timing
    posted = session.post(url, data={"query": BY_GRAPH}, timeout=30)
    assert "ETag" not in posted.headers and "Cache-Control" not in posted.headers


def test_cors_preflight_on_the_real_server(live_server):
    status, headers, _ = curl(
        "-X", "OPTIONS", "-H", "Origin: https://example.org",
        "-H", "Access-Control-Request-Method: POST",
        "-H", "Access-Control-Request-Headers: authorization, content-type, x-client-id",
        f"{live_server}/sparql")
    assert status == 200
    allowed = {h.strip().lower() for h in headers["access-control-allow-headers"].split(",")}
    assert {"authorization", "content-type", "accept", "x-client-id"} <= allowed
    exposed = headers["access-control-expose-headers"]
    assert "ETag" in exposed and "X-Result-Truncated" in exposed


def test_prefixes_base_and_errors_on_the_real_server(live_server):
    url = f"{live_server}/sparql/"
    response = requests.get(url, params={"query": "SELECT (COUNT(*) AS ?n) "
                                                  "{ ?s a pkg:PoloDiInnovazione }"}, timeout=30)
    assert response.json()["results"]["bindings"][0]["n"]["value"] == "7"
    response = requests.post(url, data="CONSTRUCT { <s> <p> 1 } WHERE {}", timeout=30,
                             headers={"Content-Type": "application/sparql-query",
                                      "Accept": "application/n-triples"})
    assert response.text.startswith(f"<{live_server}/s> <{live_server}/p> ")
    response = requests.post(url, data="ASK {}".encode("utf-16"), timeout=30,
                             headers={"Content-Type": "application/sparql-query; charset=UTF-16"})
    assert response.status_code == 400 and "UTF-8 only" in response.text
    response = requests.get(url, params={"query": "SELECT * {\n  ?s dcterms:title ?t\n}"},
                            timeout=30)
    assert response.status_code == 400
    assert "prefix `dcterms:` is not declared" in response.text and "2:6" in response.text


@pytest.fixture(scope="module")
def capped_server(start_server):
    """A real server returning at most 3 results per query."""
    return start_server("--workers", "1", "--max-results", "3", "--query-timeout", "10").url


def test_truncation_reaches_every_client(capped_server):
    query = "SELECT ?s WHERE { ?s ?p ?o }"
    response = requests.get(f"{capped_server}/sparql", params={"query": query}, timeout=30)
    assert response.headers["X-Result-Truncated"] == "true"
    assert "at most 3 solutions" in response.headers["Warning"]
    assert "LIMIT 3 OFFSET 0, then OFFSET 3" in response.json()["truncation"]["message"]
    converted = sparqlwrapper(capped_server, query, JSON).convert()
    assert len(converted["results"]["bindings"]) == 3
    store = SPARQLStore(f"{capped_server}/sparql", returnFormat="json")
    assert len(list(Graph(store=store).query(query))) == 3
    store.close()
    if COMUNICA.exists() or os.environ.get("CI"):
        rows = json.loads(comunica(capped_server, "-t", "application/sparql-results+json",
                                   query))["results"]["bindings"]
        assert len(rows) == 3
