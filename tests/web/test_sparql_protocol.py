"""The /sparql endpoint through Flask's test client: protocol, negotiation, refusals, errors."""

import io
import json
import logging
import time
from urllib.parse import quote

import pyoxigraph as ox
import pytest
from rdflib import Graph, URIRef
from rdflib.namespace import RDF, VOID
from werkzeug.datastructures import MultiDict

from poli_kg.web import create_app
from poli_kg.namespaces import GRAPH_DATA, GRAPH_ONTOLOGY, NAMED_GRAPHS, PREFIXES, SD
from poli_kg.store import BACKENDS, ChildFailed
from poli_kg.web.sparql import caching
from poli_kg.web.sparql.diagnostics import (
    line_column, offset_of, parse_expected, parse_position, syntax_message,
)
from poli_kg.web.sparql.prologue import PREDEFINED, WELL_KNOWN, prepare

GRAPHS = [str(g) for g in NAMED_GRAPHS]
SELECT = "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g"
CONSTRUCT = "CONSTRUCT WHERE { ?s a ?class } LIMIT 5"
FORM = "application/x-www-form-urlencoded"
UPDATE_MESSAGE = "SPARQL Update is not allowed: this endpoint is read-only"
FORMATS = "http://www.w3.org/ns/formats/"
CHROME = ("text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,"
          "*/*;q=0.8")
RUNAWAY = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"


def bindings(response) -> list[dict]:
    return [{k: v["value"] for k, v in b.items()}
            for b in json.loads(response.data)["results"]["bindings"]]


def vary(response) -> set[str]:
    return {v.strip() for v in response.headers.get("Vary", "").split(",")}


def make_app(build, **config):
    return create_app({"TESTING": True, "BUILD_DIR": str(build), **config})


@pytest.fixture(scope="module", params=BACKENDS)
def backend_client(request, sparql_build_dir):
    """A test client of an app over each backend."""
    application = make_app(sparql_build_dir, STORE=request.param, QUERY_TIMEOUT=10)
    yield application.test_client()
    application.extensions["poli_kg.store"].close()


def assert_plain(response, status, *fragments):
    assert response.status_code == status, response.data[:500]
    assert response.content_type == "text/plain; charset=utf-8"
    text = response.get_data(as_text=True)
    assert "Traceback" not in text and "<html" not in text.lower()
    for fragment in fragments:
        assert fragment in text
    return text


# -- the three ways to send a query ------------------------------------------------------

def test_get(client):
    response = client.get("/sparql", query_string={"query": SELECT})
    assert response.status_code == 200
    assert response.content_type == "application/sparql-results+json; charset=utf-8"
    assert sorted(r["g"] for r in bindings(response)) == sorted(GRAPHS)
    assert "Accept" in vary(response)
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert response.headers["X-Result-Count"] == "4"
    assert response.headers["X-Result-Truncated"] == "false"


def test_post_form(client):
    response = client.post("/sparql", data={"query": SELECT},
                           headers={"Accept": "application/sparql-results+xml"})
    assert response.status_code == 200
    assert response.content_type == "application/sparql-results+xml; charset=utf-8"
    assert all(g in response.get_data(as_text=True) for g in GRAPHS)


@pytest.mark.parametrize("content_type", [
    "application/sparql-query", "application/sparql-query; charset=utf-8"])
def test_post_query_body(client, content_type):
    query = "SELECT ?x WHERE { BIND('città' AS ?x) }"
    response = client.post("/sparql", data=query.encode(), content_type=content_type)
    assert response.status_code == 200
    assert bindings(response) == [{"x": "città"}]


def test_post_query_body_takes_graph_parameters_from_the_url(client):
    response = client.post(f"/sparql?default-graph-uri={quote(str(GRAPH_ONTOLOGY))}",
                           data=b"SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }",
                           content_type="application/sparql-query")
    total = client.post("/sparql", data=b"SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }",
                        content_type="application/sparql-query")
    assert 0 < int(bindings(response)[0]["n"]) < int(bindings(total)[0]["n"])


def test_head(client):
    response = client.head("/sparql", query_string={"query": "ASK {}"})
    assert response.status_code == 200 and response.data == b""


def test_every_backend_answers(backend_client):
    response = backend_client.get("/sparql", query_string={"query": SELECT, "format": "csv"})
    assert response.status_code == 200
    assert response.content_type == "text/csv; charset=utf-8"
    assert response.get_data(as_text=True).startswith("g,n\r\n")


# -- datasets ----------------------------------------------------------------------------

def test_named_graph_uri_is_repeatable(client):
    query = "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }"
    response = client.get("/sparql", query_string=[
        ("query", query), ("named-graph-uri", str(GRAPH_DATA)),
        ("named-graph-uri", str(GRAPH_ONTOLOGY))])
    assert sorted(r["g"] for r in bindings(response)) == sorted([str(GRAPH_DATA), str(GRAPH_ONTOLOGY)])


def test_default_graph_uri_in_a_form(client):
    query = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
    one = client.post("/sparql", data={"query": query, "default-graph-uri": str(GRAPH_ONTOLOGY)})
    two = client.post("/sparql", data=MultiDict([
        ("query", query), ("default-graph-uri", str(GRAPH_ONTOLOGY)),
        ("default-graph-uri", str(GRAPH_DATA))]))
    assert 0 < int(bindings(one)[0]["n"]) < int(bindings(two)[0]["n"])


def test_from_clause(client):
    query = f"SELECT (COUNT(*) AS ?n) FROM <{GRAPH_ONTOLOGY}> WHERE {{ ?s ?p ?o }}"
    by_from = client.get("/sparql", query_string={"query": query})
    by_param = client.get("/sparql", query_string={
        "query": "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }", "default-graph-uri": str(GRAPH_ONTOLOGY)})
    assert bindings(by_from) == bindings(by_param)


# -- content negotiation -------------------------------------------------------------------

@pytest.mark.parametrize("accept, format_, expected", [
    (None, None, "application/sparql-results+json"),
    (CHROME, None, "application/sparql-results+json"),
    ("text/csv", None, "text/csv"),
    ("text/tab-separated-values", None, "text/tab-separated-values"),
    ("application/json", None, "application/sparql-results+json"),
    ("text/csv", "xml", "application/sparql-results+xml"),
])
def test_select_negotiation(client, accept, format_, expected):
    params = {"query": SELECT, **({"format": format_} if format_ else {})}
    headers = {"Accept": accept} if accept else {}
    response = client.get("/sparql", query_string=params, headers=headers)
    assert response.content_type == f"{expected}; charset=utf-8"


@pytest.mark.parametrize("accept, format_, expected, rdflib_format", [
    (None, None, "text/turtle", "turtle"),
    (CHROME, None, "text/turtle", "turtle"),
    ("application/n-triples", None, "application/n-triples", "nt"),
    ("application/ld+json", None, "application/ld+json", "json-ld"),
    ("application/rdf+xml", None, "application/rdf+xml", "xml"),
    (None, "jsonld", "application/ld+json", "json-ld"),
])
def test_construct_negotiation(client, accept, format_, expected, rdflib_format):
    params = {"query": CONSTRUCT, **({"format": format_} if format_ else {})}
    headers = {"Accept": accept} if accept else {}
    response = client.get("/sparql", query_string=params, headers=headers)
    assert response.content_type == f"{expected}; charset=utf-8"
    assert len(Graph().parse(data=response.data, format=rdflib_format)) == 5


def test_repeated_format_parameter(client):
    response = client.get("/sparql?query=ASK{}&format=turtle&format=csv")
    assert response.content_type == "text/csv; charset=utf-8"


def test_unacceptable_is_406_with_the_list(client):
    response = client.get("/sparql", query_string={"query": SELECT}, headers={"Accept": "text/turtle"})
    assert_plain(response, 406, "application/sparql-results+json", "text/csv",
                 "text/tab-separated-values", "application/sparql-results+xml")
    assert "Accept" in vary(response)
    response = client.get("/sparql", query_string={"query": CONSTRUCT, "format": "csv"})
    assert_plain(response, 406, "text/turtle", "application/n-triples")


# -- refusals ---------------------------------------------------------------------------

@pytest.mark.parametrize("send", ["get-update", "post-update-form", "post-update-body",
                                  "query-insert", "query-load", "post-query-body-drop"])
def test_update_is_refused_in_every_form(client, send):
    update = "INSERT DATA { <http://e/s> <http://e/p> <http://e/o> }"
    if send == "get-update":
        response = client.get("/sparql", query_string={"update": update})
    elif send == "post-update-form":
        response = client.post("/sparql", data={"update": update})
    elif send == "post-update-body":
        response = client.post("/sparql", data=update.encode(),
                               content_type="application/sparql-update")
    elif send == "query-insert":
        response = client.get("/sparql", query_string={"query": update})
    elif send == "query-load":
        response = client.post("/sparql", data={"query": "LOAD <http://127.0.0.1:9/x>"})
    else:
        response = client.post("/sparql", data=b"DROP ALL", content_type="application/sparql-query")
    assert_plain(response, 403, UPDATE_MESSAGE)
    after = client.get("/sparql", query_string={"query": "ASK { <http://e/s> ?p ?o }"})
    assert after.json["boolean"] is False  # nothing was written


def offline_queries(url: str) -> list[dict]:
    """Requests that would make a careless endpoint fetch ``url`` (or read a file)."""
    return [
        {"query": f"SELECT * WHERE {{ SERVICE <{url}> {{ ?s ?p ?o }} }}"},
        {"query": f"SELECT * WHERE {{ SERVICE SILENT <{url}> {{ ?s ?p ?o }} }}"},
        {"query": f"PREFIX : <{url}> SELECT * WHERE {{ ?s ?p ?o . SERVICE:x {{ ?s ?p ?o }} }}"},
        {"query": f"SELECT * WHERE {{ ?s ?p ?o . \\u0053ERVICE <{url}> {{ ?s ?p ?o }} }}"},
        {"query": f"SELECT * WHERE {{ ?s ?p ?o .SERVICE<{url}>{{ ?s ?p ?o }} }}"},
        {"query": f"SELECT * FROM <{url}x> WHERE {{ ?s ?p ?o }}"},
        {"query": f"SELECT * FROM NAMED <{url}x> WHERE {{ GRAPH ?g {{ ?s ?p ?o }} }}"},
        {"query": f"PREFIX x: <{url}> SELECT * FROMx:y WHERE {{ ?s ?p ?o }}"},
        {"query": "SELECT * WHERE { ?s ?p ?o }", "default-graph-uri": url},
        {"query": "SELECT * WHERE { GRAPH ?g { ?s ?p ?o } }", "named-graph-uri": url},
        {"query": "SELECT * FROM <file:///etc/passwd> WHERE { ?s ?p ?o }"},
        {"query": f"LOAD <{url}>"},
    ]


def test_nothing_is_fetched_by_any_backend(backend_client, tcp_listener):
    for params in offline_queries(tcp_listener.url):
        response = backend_client.get("/sparql", query_string=params)
        assert 400 <= response.status_code < 500, (params, response.status_code)
        assert response.content_type == "text/plain; charset=utf-8"
        response = backend_client.post("/sparql", data=params)
        assert 400 <= response.status_code < 500, (params, response.status_code)
    assert tcp_listener.connections == 0


def test_the_listener_would_notice_a_fetch(tcp_listener):
    """Control: pyoxigraph left alone does connect for SERVICE (what the endpoint prevents)."""
    store = ox.Store()
    store.add(ox.Quad(ox.NamedNode("http://e/s"), ox.NamedNode("http://e/p"), ox.NamedNode("http://e/o")))
    with pytest.raises(OSError):
        list(store.query(f"SELECT * WHERE {{ SERVICE <{tcp_listener.url}> {{ ?s ?p ?o }} }}"))
    deadline = time.monotonic() + 5
    while tcp_listener.connections == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert tcp_listener.connections >= 1


def test_service_message(client):
    response = client.get("/sparql", query_string={"query": "SELECT * { SERVICE <http://e/> {} }"})
    assert_plain(response, 403, "SERVICE", "not allowed")


def test_unknown_graphs_are_400_listing_the_datasets_graphs(client):
    response = client.get("/sparql", query_string={
        "query": "SELECT * FROM <http://example.org/elsewhere> WHERE { ?s ?p ?o }"})
    assert_plain(response, 400, "<http://example.org/elsewhere>", *GRAPHS)


def test_long_queries_are_413(sparql_build_dir):
    application = make_app(sparql_build_dir, MAX_QUERY_LENGTH=1000)
    try:
        client = application.test_client()
        query = "SELECT * WHERE { ?s ?p ?o } #" + "x" * 1000
        assert_plain(client.post("/sparql", data={"query": query}), 413, "1000")
        assert_plain(client.post("/sparql", data=query.encode(),
                                 content_type="application/sparql-query"), 413)
        assert application.config["MAX_CONTENT_LENGTH"] == 3 * 1000 + 65536
        huge = b"query=" + b"x" * 200_000   # beyond MAX_CONTENT_LENGTH: refused unread
        assert_plain(client.post("/sparql", data=huge, content_type=FORM), 413, "Too Large")
        assert client.post("/sparql", data={"query": query[:990]}).status_code == 200
    finally:
        application.extensions["poli_kg.store"].close()


def test_default_limit_is_100000_characters(client):
    query = "ASK {} #" + "x" * 100_000
    assert_plain(client.post("/sparql", data={"query": query}), 413, "100000")


def test_result_cap_is_announced(sparql_build_dir):
    application = make_app(sparql_build_dir, MAX_RESULTS=5)
    try:
        client = application.test_client()
        response = client.get("/sparql", query_string={"query": "SELECT * WHERE { ?s ?p ?o }"})
        assert response.headers["X-Result-Truncated"] == "true"
        assert response.headers["X-Result-Count"] == "5"
        assert len(bindings(response)) == 5
        assert "X-Result-Truncated" in response.headers["Access-Control-Expose-Headers"]
    finally:
        application.extensions["poli_kg.store"].close()


# -- errors ------------------------------------------------------------------------------

def test_syntax_error_has_line_and_column(backend_client):
    response = backend_client.get("/sparql", query_string={"query": "SELECT *\nWHERE { ?s ?p }"})
    assert_plain(response, 400, "Syntax error", "2:")


@pytest.mark.parametrize("method, url, kwargs, status, fragment", [
    ("get", "/nowhere", {}, 404, "Not found: /nowhere"),
    ("put", "/sparql", {}, 405, "Method PUT is not allowed for /sparql"),
    ("delete", "/sparql", {}, 405, "Allowed:"),
    ("post", "/sparql", {"data": b"SELECT", "content_type": "text/plain"}, 415, "application/sparql-query"),
    ("post", "/sparql", {"data": {}}, 400, "Missing query"),
    ("get", "/sparql?query=", {}, 400, "empty"),
    ("get", "/sparql?query=ASK{}&query=ASK{}", {}, 400, "once"),
    ("post", "/sparql?query=ASK{}", {"data": b"ASK {}", "content_type": "application/sparql-query"},
     400, "body"),
    ("post", "/sparql", {"data": b"\xff\xfe", "content_type": "application/sparql-query"}, 400,
     "utf-8"),
])
def test_errors_are_plain_text(client, method, url, kwargs, status, fragment):
    response = getattr(client, method)(url, **kwargs)
    assert_plain(response, status, fragment)
    if status == 405:
        assert set(response.headers["Allow"].split(", ")) >= {"GET", "POST", "OPTIONS"}


def test_unexpected_failures_are_500_without_details(app, client, monkeypatch, caplog):
    store = app.extensions["poli_kg.store"]
    app.config["PROPAGATE_EXCEPTIONS"] = False  # as in production (TESTING propagates)

    def boom(*args, **kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(store, "execute", boom)
    with caplog.at_level(logging.ERROR):
        response = client.get("/sparql", query_string={"query": "ASK {}"})
    text = assert_plain(response, 500, "Internal server error")
    assert "secret" not in text
    assert "secret internals" in caplog.text  # the traceback is logged server-side

    def died(*args, **kwargs):
        raise ChildFailed("the query process ended unexpectedly (signal 9)")

    monkeypatch.setattr(store, "execute", died)
    assert_plain(client.get("/sparql", query_string={"query": "ASK {}"}), 500, "logged")


def test_missing_build_is_503(tmp_path):
    application = make_app(tmp_path / "none")
    try:
        client = application.test_client()
        assert_plain(client.get("/sparql", query_string={"query": "ASK {}"}), 503, "not available")
        assert client.get("/healthz").status_code == 503
    finally:
        application.extensions["poli_kg.store"].close()


def test_runaway_query_is_stopped(sparql_build_dir):
    application = make_app(sparql_build_dir, QUERY_TIMEOUT=1)
    try:
        client = application.test_client()
        start = time.monotonic()
        response = client.get("/sparql", query_string={"query": RUNAWAY})
        assert time.monotonic() - start < 2.5
        assert_plain(response, 503, "did not finish within 1 s")
        assert client.get("/sparql", query_string={"query": "ASK {}"}).status_code == 200
    finally:
        application.extensions["poli_kg.store"].close()


# -- service description, CORS, health, logs ------------------------------------------------

@pytest.mark.parametrize("accept, rdflib_format", [
    ("text/turtle", "turtle"), ("*/*", "turtle"), (None, "turtle"),
    ("application/rdf+xml", "xml"), ("application/ld+json", "json-ld"),
    ("application/n-triples", "nt"),
])
def test_service_description(client, accept, rdflib_format):
    response = client.get("/sparql", headers={"Accept": accept} if accept else {})
    assert response.status_code == 200
    assert "Accept" in vary(response)
    graph = Graph().parse(data=response.data, format=rdflib_format)
    service = graph.value(predicate=RDF.type, object=SD.Service)
    assert graph.value(service, SD.endpoint) == URIRef("http://localhost/sparql")
    assert (service, SD.supportedLanguage, SD.SPARQL11Query) in graph
    assert (service, SD.feature, SD.UnionDefaultGraph) in graph
    assert (service, SD.feature, SD.BasicFederatedQuery) not in graph
    formats = set(graph.objects(service, SD.resultFormat))
    assert {URIRef(FORMATS + f) for f in ("SPARQL_Results_JSON", "SPARQL_Results_XML",
                                          "SPARQL_Results_CSV", "SPARQL_Results_TSV",
                                          "Turtle", "N-Triples", "JSON-LD", "RDF_XML")} == formats
    dataset = graph.value(service, SD.defaultDataset)
    assert graph.value(dataset, SD.defaultGraph) is not None
    sizes = client.application.extensions["poli_kg.store"].graph_sizes()
    named = {graph.value(n, SD.name): graph.value(graph.value(n, SD.graph), VOID.triples)
             for n in graph.objects(dataset, SD.namedGraph)}
    assert {str(k): v.toPython() for k, v in named.items()} == sizes


def test_service_description_uses_public_url(sparql_build_dir):
    application = make_app(sparql_build_dir, PUBLIC_URL="https://poli-kg.example.org/")
    try:
        response = application.test_client().get("/sparql", headers={"Accept": "text/turtle"})
        assert b"<https://poli-kg.example.org/sparql>" in response.data
    finally:
        application.extensions["poli_kg.store"].close()


def test_browser_without_query_gets_the_query_page(client):
    response = client.get("/sparql", headers={"Accept": CHROME})
    assert response.status_code == 200
    assert response.content_type.startswith("text/html")
    assert "Accept" in vary(response)


def test_no_query_and_no_rdf_accepted_is_406(client):
    response = client.get("/sparql", headers={"Accept": "application/sparql-results+json"})
    assert_plain(response, 406, "text/turtle", "query=")


def test_cors_preflight(client):
    response = client.options("/sparql", headers={
        "Origin": "https://example.org", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type"})
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert set(response.headers["Access-Control-Allow-Methods"].split(", ")) >= {"GET", "POST"}
    assert {"content-type", "accept"} <= {h.strip().lower() for h in
                                          response.headers["Access-Control-Allow-Headers"].split(",")}
    assert int(response.headers["Access-Control-Max-Age"]) > 0


def test_cors_on_errors_too(client):
    assert client.get("/nowhere").headers["Access-Control-Allow-Origin"] == "*"


def test_healthz(app, client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json
    assert body["status"] == "ok" and body["store"] == "oxigraph"
    assert set(body["graphs"]) == set(GRAPHS)
    assert body["triples"] == sum(body["graphs"].values()) > 0
    assert app.config["BUILD_DIR"] not in response.get_data(as_text=True)  # no paths


# -- a remote store (sparql:URL) that stops queries, or is down ----------------------------

class FakeStore:
    """A SPARQL endpoint on 127.0.0.1 answering as :attr:`mode` says:

    ``ok`` (graph sizes), ``timeout`` (Virtuoso's 504 at its time limit), ``partial`` (200
    marked incomplete, Virtuoso's ``X-SQL-State: S1TAT``), ``down`` (503).
    """

    RESULTS = ('<?xml version="1.0"?><sparql xmlns="http://www.w3.org/2005/sparql-results#">'
               '<head><variable name="g"/><variable name="n"/></head><results><result>'
               f'<binding name="g"><uri>{GRAPH_DATA}</uri></binding><binding name="n">'
               '<literal datatype="http://www.w3.org/2001/XMLSchema#integer">7</literal>'
               '</binding></result></results></sparql>')

    def __init__(self) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        fake = self
        self.mode = "ok"

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                headers = {"Content-Type": "application/sparql-results+xml"}
                body, status = self.answer(fake.mode, headers)
                self.send_response(status)
                for name, value in {**headers, "Content-Length": str(len(body))}.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            @staticmethod
            def answer(mode: str, headers: dict) -> tuple[bytes, int]:
                if mode == "timeout":
                    headers["Content-Type"] = "text/plain"
                    return b"Virtuoso S1T00 Error SR171: Transaction timed out\n", 504
                if mode == "partial":
                    headers.update({"X-SQL-State": "S1TAT",
                                    "X-SQL-Message": "RC...: Returning incomplete results"})
                elif mode == "down":
                    headers["Content-Type"] = "text/plain"
                    return b"Service Unavailable\n", 503
                return FakeStore.RESULTS.encode(), 200

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/private-store/sparql"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fake_store_app(tmp_path):
    fake = FakeStore()
    application = make_app(tmp_path, STORE="sparql:" + fake.url, QUERY_TIMEOUT=10)
    yield fake, application
    application.extensions["poli_kg.store"].close()
    fake.close()


@pytest.mark.parametrize("mode, fragments, retry_after", [
    ("timeout", ("stopped by the store", "time limit", "incomplete", "narrower"), False),
    ("partial", ("stopped by the store", "time limit", "incomplete", "narrower"), False),
    ("down", ("store is not available",), True),
])
def test_a_remote_store_stopping_the_query_is_its_own_503(fake_store_app, mode, fragments,
                                                          retry_after, caplog):
    fake, application = fake_store_app
    fake.mode = mode
    with caplog.at_level(logging.WARNING, logger="poli_kg.web.sparql"):
        response = application.test_client().get("/sparql", query_string={"query": SELECT})
    text = assert_plain(response, 503, *fragments)
    assert ("Retry-After" in response.headers) == retry_after
    if retry_after:
        assert int(response.headers["Retry-After"]) > 0
    assert "private-store" not in text and "127.0.0.1" not in text and "SR171" not in text
    assert "store" in caplog.text  # the store's own words are logged, not sent


def test_a_remote_store_is_named_by_its_kind_only(fake_store_app):
    fake, application = fake_store_app
    response = application.test_client().get("/healthz")
    assert response.status_code == 200
    assert response.json["store"] == "sparql" and response.json["triples"] == 7
    assert "private-store" not in response.get_data(as_text=True)
    assert "127.0.0.1" not in response.get_data(as_text=True)


def test_access_log_is_one_json_line_per_request(client, caplog):
    with caplog.at_level(logging.INFO, logger="poli_kg.access"):
        client.get("/sparql", query_string={"query": SELECT})
    records = [json.loads(r.getMessage()) for r in caplog.records if r.name == "poli_kg.access"]
    assert len(records) == 1
    record = records[0]
    assert record["method"] == "GET" and record["path"] == "/sparql" and record["status"] == 200
    assert record["form"] == "SELECT" and record["results"] == 4 and record["truncated"] is False
    assert record["duration_ms"] >= record["query_ms"] > 0
    assert record["bytes"] > 0 and record["client"] == "127.0.0.1"


# -- the protocol without surprises: /sparql/, charsets, base IRI, formats -------------------



@pytest.mark.parametrize("path", ["/sparql/", "/sparql"])
def test_the_endpoint_answers_with_and_without_a_trailing_slash(client, path):
    assert bindings(client.get(path, query_string={"query": SELECT}))
    response = client.post(path, data=b"ASK {}", content_type="application/sparql-query")
    assert response.status_code == 200 and response.json["boolean"] is True
    assert client.get(path, headers={"Accept": "text/turtle"}).status_code == 200
    assert "Accept" in vary(client.get(path, query_string={"query": SELECT}))


@pytest.mark.parametrize("charset", ["UTF-16", "ISO-8859-1", "utf-32", "latin1", "x-nonsense"])
def test_a_body_in_another_charset_is_refused_saying_so(client, charset):
    body = "ASK { FILTER('città' != '') }".encode("utf-16" if "16" in charset else "latin-1")
    response = client.post("/sparql", data=body,
                           content_type=f"application/sparql-query; charset={charset}")
    assert_plain(response, 400, f"charset={charset}", "UTF-8 only")


@pytest.mark.parametrize("charset", ["utf-8", "UTF-8", "utf8", '"utf-8"', "us-ascii"])
def test_utf8_charsets_are_read(client, charset):
    response = client.post("/sparql", data="SELECT ?x { BIND('città' AS ?x) }".encode(),
                           content_type=f"application/sparql-query; charset={charset}")
    assert bindings(response) == [{"x": "città"}]


def test_a_form_labelled_latin1_is_read_when_it_is_ascii(client):
    ascii_form = "query=" + quote("ASK { ?s ?p ?o }")
    response = client.post("/sparql", data=ascii_form.encode(),
                           content_type=f"{FORM}; charset=ISO-8859-1")
    assert response.status_code == 200 and response.json["boolean"] is True
    latin1_form = "query=" + quote("ASK { FILTER('città' != '') }", encoding="latin-1")
    response = client.post("/sparql", data=latin1_form.encode(),
                           content_type=f"{FORM}; charset=ISO-8859-1")
    assert_plain(response, 400, "UTF-8 only")


def test_relative_iris_resolve_against_the_endpoint(client):
    response = client.post("/sparql", data=b"CONSTRUCT { <s> <p> <o#x> } WHERE {}",
                           content_type="application/sparql-query",
                           headers={"Accept": "application/n-triples"})
    assert response.status_code == 200, response.data
    assert response.get_data(as_text=True).strip() == (
        "<http://localhost/s> <http://localhost/p> <http://localhost/o#x> .")
    # the protocol suite's test: an IRI written <test> is not the string "test"
    response = client.get("/sparql/", query_string={
        "query": 'ASK { BIND(<test> AS ?o) FILTER(isIRI(?o) && STR(?o) != "test") }'})
    assert response.json["boolean"] is True
    # a BASE of the query's own wins
    response = client.get("/sparql", query_string={
        "query": "BASE <http://example.org/a/> SELECT ?o { BIND(<b> AS ?o) }"})
    assert bindings(response) == [{"o": "http://example.org/a/b"}]


def test_the_base_iri_is_the_public_url(sparql_build_dir):
    application = make_app(sparql_build_dir, PUBLIC_URL="https://data.example.org/kg/")
    try:
        response = application.test_client().get(
            "/sparql", query_string={"query": "SELECT ?o { BIND(<x> AS ?o) }"})
        assert bindings(response) == [{"o": "https://data.example.org/kg/x"}]
    finally:
        application.extensions["poli_kg.store"].close()


@pytest.mark.parametrize("query, format_, accept, expected", [
    (CONSTRUCT, "n3", None, "text/turtle"),
    (CONSTRUCT, None, "text/n3", "text/turtle"),
    (CONSTRUCT, None, "application/turtle", "text/turtle"),
    (CONSTRUCT, None, "application/x-turtle", "text/turtle"),
    (CONSTRUCT, "json-ld", None, "application/ld+json"),
    (CONSTRUCT, "ntriples", None, "application/n-triples"),
    (CONSTRUCT, "rdf+xml", None, "application/rdf+xml"),
    (CONSTRUCT, "json", None, "application/ld+json"),
    (CONSTRUCT, "xml", None, "application/rdf+xml"),
    ("DESCRIBE <https://w3id.org/poli-kg/id/polo/mesap>", "n3", None, "text/turtle"),
    (SELECT, "json", None, "application/sparql-results+json"),
    (SELECT, "xml", None, "application/sparql-results+xml"),
    (SELECT, "csv", None, "text/csv"),
    (SELECT, "tsv", None, "text/tab-separated-values"),
])
def test_format_names_and_types_per_query_form(client, query, format_, accept, expected):
    params = {"query": query, **({"format": format_} if format_ else {})}
    response = client.get("/sparql", query_string=params,
                          headers={"Accept": accept} if accept else {})
    assert response.content_type == f"{expected}; charset=utf-8", response.data[:300]


# -- predefined prefixes ----------------------------------------------------------------------

def test_predefined_prefixes_are_the_projects_and_the_common_ones():
    for prefix in ("rdf", "rdfs", "owl", "xsd", "skos", "dct", "dcat", "foaf", "org", "prov",
                   "qb", "schema", "cov", "void"):
        assert prefix in PREDEFINED
    assert PREDEFINED == {p: str(ns) for p, ns in PREFIXES.items()}
    assert not set(WELL_KNOWN) & set(PREDEFINED)


def test_predefined_prefixes_need_no_declaration(backend_client):
    response = backend_client.get("/sparql", query_string={
        "query": "SELECT (COUNT(?s) AS ?n) { ?s a pkg:PoloDiInnovazione ; rdfs:label ?l "
                 "FILTER(datatype(?l) != xsd:integer) }"})
    assert response.status_code == 200, response.data
    assert int(bindings(response)[0]["n"]) > 0


def test_a_query_prefix_always_wins(client):
    response = client.get("/sparql", query_string={
        "query": "PREFIX foaf: <http://example.org/mine#> SELECT ?x { BIND(foaf:name AS ?x) }"})
    assert bindings(response) == [{"x": "http://example.org/mine#name"}]
    prepared = prepare("PREFIX rdfs: <http://e/> SELECT * { ?s rdfs:x ?o ; owl:y ?z }", "http://h/")
    assert prepared.added_prefixes == ("owl",) and prepared.added_lines == 1
    assert prepare("SELECT * { ?s <http://e/p> ?o }", "http://h/").added_lines == 0


def test_the_service_description_publishes_the_predefined_prefixes(client):
    from rdflib.namespace import SH

    graph = Graph().parse(data=client.get("/sparql", headers={"Accept": "text/turtle"}).data,
                          format="turtle")
    service = graph.value(predicate=RDF.type, object=SD.Service)
    declared = {str(graph.value(d, SH.prefix)): str(graph.value(d, SH.namespace))
                for d in graph.objects(service, SH.declare)}
    assert declared == PREDEFINED


# -- errors people can act on -----------------------------------------------------------------

def error_lines(response) -> list[str]:
    return response.get_data(as_text=True).splitlines()


@pytest.mark.parametrize("store", ["oxigraph", "memory"])
def test_a_syntax_error_shows_the_line_a_caret_and_what_was_expected(sparql_build_dir, store):
    application = make_app(sparql_build_dir, STORE=store, QUERY_TIMEOUT=10)
    try:
        query = "SELECT ?l\nWHERE {\n  ?s rdfs:label ?l .\n  ?s ?p\n}"  # rdfs: is predefined
        response = application.test_client().get("/sparql", query_string={"query": query})
        text = assert_plain(response, 400, "Syntax error at ", "(line 4, column", "Expected")
        lines = error_lines(response)
        shown = next(i for i, line in enumerate(lines) if line.strip() == "?s ?p")
        caret = lines[shown + 1]
        assert caret.strip() == "^"
        assert lines[shown][caret.index("^")] in "?\n"  # under the place
        assert "BASE" not in text and "PREFIX rdfs" not in text  # the user's own lines only
    finally:
        application.extensions["poli_kg.store"].close()


@pytest.mark.parametrize("query, position, found, expected", [
    ("SELET * WHERE {}", "1:1", "`SELET`", "a query form"),
    ("SELECT * WHRE { ?s ?p ?o }", "1:10", "`WHRE`", "WHERE or `{`"),
    ("SELECT * WHERE { ?s a ?t ?s ?p ?o }", "1:26", "`?s`", "a `.` missing"),
    ("SELECT * WHERE { ?s ?p ?o } LIMIT x", "1:35", "`x`", "a number"),
    ("SELECT * WHERE ?s ?p ?o", "1:16", "`?s`", "Expected `{`"),
    ("ASK {", "1:6", "the end of the query", "1 `{` not closed"),
    ("SELECT * WHERE {\n  ?s ?p ?o\n  FILTR(?o)\n}", "3:3", "`FILTR`", "FILTER"),
])
def test_syntax_errors_say_where_what_and_what_was_expected(client, query, position, found,
                                                             expected):
    response = client.get("/sparql", query_string={"query": query})
    text = assert_plain(response, 400, f"Syntax error at {position} ", f"found {found}", expected)
    line, column = (int(n) for n in position.split(":"))
    lines = text.splitlines()
    caret = next(i for i, shown in enumerate(lines) if shown.strip() == "^")
    assert lines[caret].index("^") - 4 == column - 1
    assert lines[caret - 1][4:] == query.splitlines()[line - 1]


def test_an_undeclared_prefix_is_named_with_the_line_to_add(client):
    response = client.get("/sparql", query_string={
        "query": "SELECT * WHERE {\n  ?s dcterms:title ?t\n}"})
    text = assert_plain(response, 400, "prefix `dcterms:` is not declared", "2:6",
                        "PREFIX dcterms: <http://purl.org/dc/terms/>")
    assert "foaf:" in text  # the predefined prefixes are listed
    response = client.get("/sparql", query_string={"query": "SELECT * { ?s fo:name ?n }"})
    assert_plain(response, 400, "prefix `fo:` is not declared", "did you mean `foaf:`",
                 "PREFIX fo: <namespace IRI>")


def test_parsing_the_parsers_messages():
    assert parse_position("error at 12:3: expected one of") == (12, 3)
    assert parse_position("Expected SelectQuery, found '?' (at char 17), (line:2, col:9)") == (2, 9)
    assert parse_position("something else") is None
    oxigraph = ("error at 1:30: expected one of \"$\", \"(\", Prefix not found, LATERAL, [_], "
                "['0'..='9'], ['A' ..= 'Z' | 'a' ..= 'z' | '\\u{00C0}'..='\\u{00D6}' |")
    expected = parse_expected(oxigraph)
    assert expected.tokens == ("`$`", "`(`", "a number", "a name")
    assert expected.keywords == ("LATERAL",) and expected.notes == ("Prefix not found",)
    assert expected.anything
    assert parse_expected("error at 2:9: Expected SelectQuery").grammar == "SelectQuery"
    query = "ab\ncdè\n"
    assert offset_of(query, 2, 3) == 5 and line_column(query, 5) == (2, 3)
    assert offset_of(query, 9, 1) == len(query)
    # positions one line down (the endpoint added a line) are put back on the user's line
    text = syntax_message("error at 3:7: expected \"{\"", "SELECT *\nWHERE ?s ?p ?o", 1)
    assert text.startswith("Syntax error at 2:7 (line 2, column 7): found `?s`.")
    assert syntax_message("no position here", "ASK {}") == "Syntax error: no position here"


def test_hostile_text_in_errors_stays_plain(client):
    query = "SELECT * { ?s ?p </script><script>alert(1)</script> " + "x" * 5000
    text = assert_plain(client.get("/sparql", query_string={"query": query}), 400, "Syntax error")
    assert max(len(line) for line in text.splitlines()) < 400  # a window of the long line


# -- truncation said where clients look --------------------------------------------------------

def test_a_truncated_result_says_so_in_the_headers_and_the_json(sparql_build_dir):
    from rdflib.query import Result

    application = make_app(sparql_build_dir, MAX_RESULTS=5)
    try:
        client = application.test_client()
        response = client.get("/sparql", query_string={"query": "SELECT * WHERE { ?s ?p ?o }"})
        warning = response.headers["Warning"]
        assert warning.startswith('199 - "') and "at most 5 solutions" in warning
        assert "LIMIT 5 OFFSET" in warning and "ORDER BY" in warning
        body = response.json
        assert body["truncation"]["limit"] == 5 and "OFFSET 5" in body["truncation"]["message"]
        assert len(body["results"]["bindings"]) == 5
        assert len(Result.parse(io.BytesIO(response.data), format="json")) == 5  # rdflib reads it
        assert "Warning" in response.headers["Access-Control-Expose-Headers"]
        complete = client.get("/sparql", query_string={"query": SELECT})
        assert "Warning" not in complete.headers and "truncation" not in complete.json
        graph = client.get("/sparql", query_string={"query": "CONSTRUCT WHERE { ?s ?p ?o }"})
        assert "5 triples" in graph.headers["Warning"]
        csv = client.get("/sparql",
                         query_string={"query": "SELECT * { ?s ?p ?o }", "format": "csv"})
        assert len(csv.get_data(as_text=True).splitlines()) == 6 and csv.headers["Warning"]
    finally:
        application.extensions["poli_kg.store"].close()


# -- HTTP caching --------------------------------------------------------------------------------

def test_get_results_carry_an_etag_and_cache_headers(client):
    response = client.get("/sparql", query_string={"query": SELECT})
    assert response.headers["ETag"].startswith('"') and len(response.headers["ETag"]) > 20
    assert response.headers["Cache-Control"] == "public, max-age=600"
    assert {"Accept", "Accept-Encoding"} <= vary(response)
    timing = response.headers["Server-Timing"]
    assert [part.split(";")[0] for part in timing.split(", ")][:3] == ["parse", "execute",
                                                                        "serialise"]
    same = client.get("/sparql", query_string={"query": SELECT},
                      headers={"Accept": "application/sparql-results+json, */*;q=0.1"})
    assert same.headers["ETag"] == response.headers["ETag"]  # the same negotiated format
    for other in ({"query": SELECT, "format": "csv"}, {"query": SELECT + " "},
                  {"query": SELECT, "default-graph-uri": str(GRAPH_DATA)}):
        assert client.get("/sparql", query_string=other).headers["ETag"] != response.headers["ETag"]


def test_if_none_match_is_304_without_running_the_query(app, client, monkeypatch):
    first = client.get("/sparql", query_string={"query": SELECT})
    etag = first.headers["ETag"]

    def must_not_run(*args, **kwargs):
        raise AssertionError("the query ran")

    monkeypatch.setattr(app.extensions["poli_kg.store"], "execute", must_not_run)
    for tags in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        response = client.get("/sparql", query_string={"query": SELECT},
                              headers={"If-None-Match": tags})
        assert response.status_code == 304 and response.data == b""
        assert response.headers["ETag"] == etag and "Accept" in vary(response)
        assert response.headers["Cache-Control"].startswith("public")
    with pytest.raises(AssertionError):
        client.get("/sparql", query_string={"query": SELECT}, headers={"If-None-Match": '"x"'})


def test_post_results_are_not_cached(client):
    for response in (client.post("/sparql", data={"query": SELECT}),
                     client.post("/sparql", data=SELECT.encode(),
                                 content_type="application/sparql-query")):
        assert response.status_code == 200
        assert "ETag" not in response.headers and "Cache-Control" not in response.headers


def test_results_are_gzipped_when_accepted(client):
    import gzip

    plain = client.get("/sparql", query_string={"query": SELECT})
    zipped = client.get("/sparql", query_string={"query": SELECT},
                        headers={"Accept-Encoding": "gzip, deflate"})
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(zipped.data) == plain.data
    assert zipped.headers["ETag"] != plain.headers["ETag"]
    assert "Content-Encoding" not in plain.headers
    posted = client.post("/sparql", data={"query": SELECT}, headers={"Accept-Encoding": "gzip"})
    assert gzip.decompress(posted.data) == plain.data
    refused = client.get("/sparql", query_string={"query": SELECT},
                         headers={"Accept-Encoding": "gzip;q=0, identity"})
    assert "Content-Encoding" not in refused.headers


def test_the_etag_names_the_build(tmp_path):
    import json as json_module

    def tag(info):
        folder = tmp_path / str(len(list(tmp_path.iterdir())))
        folder.mkdir()
        if info is not None:
            (folder / "build.json").write_text(json_module.dumps(info), encoding="utf-8")
        return caching.build_tag(folder)

    files = {"poli-kg.nq": {"sha256": "a" * 64}}
    assert tag({"files": files}) == "a" * 64
    assert tag({"files": files, "inputs_sha256": "b"}) == tag({"files": files})
    assert tag({"inputs_sha256": "b" * 64, "pipeline": {"x": 1}}) != tag(
        {"inputs_sha256": "b" * 64, "pipeline": {"x": 2}})
    assert tag(None) != tag(None)  # no manifest: the folder's own name


# -- CORS -----------------------------------------------------------------------------------------

def test_cors_preflight_allows_the_headers_browser_clients_send(client):
    response = client.options("/sparql", headers={
        "Origin": "https://example.org", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type, x-requested-with, "
                                          "X-Custom-Trace, cookie, foo"})
    allowed = {h.strip().lower()
               for h in response.headers["Access-Control-Allow-Headers"].split(",")}
    assert {"authorization", "content-type", "accept", "x-requested-with", "x-custom-trace",
            "if-none-match"} <= allowed
    assert "cookie" not in allowed and "foo" not in allowed
    assert set(response.headers["Access-Control-Allow-Methods"].split(", ")) == {
        "GET", "POST", "OPTIONS"}
    assert "Access-Control-Allow-Credentials" not in response.headers
    exposed = {h.strip() for h in response.headers["Access-Control-Expose-Headers"].split(",")}
    assert {"ETag", "X-Result-Count", "X-Result-Truncated", "Warning"} <= exposed
    assert client.options("/sparql/").headers["Access-Control-Allow-Origin"] == "*"
