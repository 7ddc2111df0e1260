"""Hostile input: every malformed or pathological request gets a 4xx with a message — never a
5xx, never a hang — and the server keeps serving after it.

Two layers:

* the Flask test client (fast): the corpus in ``tests/data/hostile/`` (``queries.json``,
  ``requests.json``) and hypothesis-generated queries, bodies, headers, parameters and paths;
* a real server (gunicorn, ``start_server``): the same queries over HTTP, and raw bytes
  over a socket (``raw.json``) that only gunicorn sees (invalid UTF-8 or NUL in the
  request line, oversized headers, bad chunking); its workers must all survive.

Regressions found by fuzzing, each with its test here: queries nesting thousands of levels
deep crashed the query process (500; :func:`poli_kg.store.lexer.nesting`); the lexer was
quadratic on some 100 kB inputs (a minute in the web worker); IRIs that the store refuses
(``/id/polo/%FF``) answered 503 on the linked-data pages; a malformed chunked body answered
500; a runaway query could allocate memory without bound (:mod:`poli_kg.store.executor`).

Statuses allowed besides 4xx: 503 *with the timeout message* for a random query that is valid
but expensive (the documented answer of the endpoint to a runaway query), and 2xx where an
input is legitimate (a query the generators happened to make valid).
"""

from __future__ import annotations

import json
import re
import socket
import time
from pathlib import Path
from urllib.parse import quote, unquote_to_bytes, urlencode

import psutil
import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rdflib import Graph, URIRef

from poli_kg.store import lexer as sparqllex
from poli_kg.store.lexer import nesting, scan, tokens
from tests.conftest import ROOT, TEST_DATA

HOSTILE = TEST_DATA / "hostile"
STATIC = ROOT / "src" / "poli_kg" / "web" / "static"
QUERY_TIMEOUT = 3
HANG = 15.0
"""Seconds within which any hostile request must be answered (the query timeout is 3 s)."""

FUZZ = settings(max_examples=150, deadline=None, database=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.function_scoped_fixture])
"""Bounded, reproducible runs (a 2-core machine; one example may wait for a query timeout)."""


def expand(value: str | list, latin1: bool = False) -> str:
    """A corpus value: a string, or ``[[text, times], …]`` concatenated."""
    if isinstance(value, list):
        value = "".join(text * times for text, times in value)
    return value


def corpus(name: str) -> list[dict]:
    return json.loads((HOSTILE / name).read_text(encoding="utf-8"))


QUERIES = corpus("queries.json")
REQUESTS = corpus("requests.json")
RAW = corpus("raw.json")


def query_bytes(entry: dict) -> bytes:
    text = expand(entry["query"] if "query" in entry else entry["parts"])
    return text.encode("latin-1") if entry.get("latin1") else text.encode("utf-8")


def sends(entry: dict) -> list[str]:
    if "send" in entry:
        return entry["send"]
    return ["form", "body", "get"] if len(query_bytes(entry)) < 2000 else ["form", "body"]


RDF_ERRORS = {"text/turtle": "turtle", "application/ld+json": "json-ld",
              "application/n-triples": "nt", "application/rdf+xml": "xml"}
HTTP_STATUS = URIRef("http://www.w3.org/2011/http#statusCodeValue")


def is_message(status: int, content_type: str, body: bytes) -> bool:
    """A short text/plain message ``<status> <reason>: <what went wrong>``, an HTML page with
    a heading (for browsers), an ``application/problem+json`` document naming the status, or,
    for RDF clients of the linked-data paths, RDF describing the response with its status."""
    text = body.decode("utf-8", "replace")
    media_type = content_type.split(";")[0].strip()
    if media_type == "text/plain":
        return bool(re.match(rf"{status} [A-Za-z ]+: \S", text))
    if media_type == "application/problem+json":
        problem = json.loads(text)
        return problem.get("status") == status and bool(problem.get("detail") or problem.get("title"))
    if media_type in RDF_ERRORS:
        graph = Graph().parse(data=body, format=RDF_ERRORS[media_type])
        return any(int(code) == status for code in graph.objects(None, HTTP_STATUS))
    return media_type == "text/html" and "<h1" in text


def assert_message(status: int, content_type: str, body: bytes, entry: dict) -> None:
    """The status is one of the entry's; a 4xx carries a message."""
    name = entry["name"]
    assert status in entry["status"], f"{name}: {status} {body[:300]!r}"
    if status >= 400:
        assert is_message(status, content_type, body), f"{name}: {content_type} {body[:300]!r}"
    if entry.get("says"):
        assert entry["says"] in body.decode("utf-8", "replace"), f"{name}: {body[:300]!r}"


@pytest.fixture(scope="module")
def fuzz_app(sparql_build_dir):
    from poli_kg.web import create_app

    application = create_app({"TESTING": True, "BUILD_DIR": str(sparql_build_dir),
                              "QUERY_TIMEOUT": QUERY_TIMEOUT, "RATE_LIMIT": 0})
    yield application
    application.extensions["poli_kg.store"].close()


@pytest.fixture(scope="module")
def fuzz_client(fuzz_app):
    return fuzz_app.test_client()


def post_query(client, query: bytes, how: str):
    if how == "form":
        return client.post("/sparql", data=b"query=" + quote(query, safe="").encode("ascii"),
                           content_type="application/x-www-form-urlencoded")
    if how == "body":
        return client.post("/sparql", data=query, content_type="application/sparql-query")
    return client.get("/sparql?query=" + quote(query, safe=""))


def assert_still_serving(client) -> None:
    response = client.post("/sparql", data={"query": "ASK { ?s ?p ?o }"},
                           headers={"Accept": "application/sparql-results+json"})
    assert response.status_code == 200 and response.get_json() == {"head": {}, "boolean": True}


# ------------------------------------------------------------------------ corpus, test client

@pytest.mark.parametrize("entry", QUERIES, ids=[e["name"] for e in QUERIES])
def test_hostile_query(fuzz_client, entry):
    query = query_bytes(entry)
    for how in sends(entry):
        started = time.monotonic()
        response = post_query(fuzz_client, query, how)
        assert time.monotonic() - started < HANG, f"{entry['name']} ({how}) hung"
        assert_message(response.status_code, response.content_type, response.get_data(),
                       {**entry, "name": f"{entry['name']} ({how})"})
    assert_still_serving(fuzz_client)


@pytest.mark.parametrize("entry", REQUESTS, ids=[e["name"] for e in REQUESTS])
def test_hostile_request(fuzz_client, entry):
    headers = {k: expand(v) for k, v in entry.get("headers", {}).items()}
    body = expand(entry["body"]).encode("latin-1") if "body" in entry else None
    kwargs = {"headers": headers, "data": body}
    if "Content-Type" in headers:  # as given, even empty (the test client would drop it)
        kwargs["content_type"] = headers.pop("Content-Type")
    started = time.monotonic()
    response = fuzz_client.open(expand(entry["path"]), method=entry["method"], **kwargs)
    assert time.monotonic() - started < HANG
    assert_message(response.status_code, response.content_type, response.get_data(), entry)


def test_still_serving_after_the_corpus(fuzz_client):
    assert_still_serving(fuzz_client)
    assert fuzz_client.get("/healthz").status_code == 200


# ------------------------------------------------------------------- generated, test client

SPARQL_PIECES = [
    "SELECT", "ASK", "CONSTRUCT", "DESCRIBE", "WHERE", "PREFIX", "BASE", "FROM", "NAMED", "{",
    "}", "(", ")", "[", "]", "?s", "?p", "?o", "$x", "<http://x/>", "<https://w3id.org/poli-kg/id/",
    "pkg:", "rdfs:label", ":a", "a", "'a'", '"b"', "'''", '"""', "\\", "\\'", ".", ";", ",",
    "*", "+", "-", "!", "&&", "||", "=", "<", ">", "|", "/", "^", "^^", "@it", "_:b", "UNION",
    "OPTIONAL", "MINUS", "FILTER", "BIND", "AS", "VALUES", "GRAPH", "SERVICE", "EXISTS", "NOT",
    "IN", "LIMIT", "OFFSET", "ORDER BY", "GROUP BY", "HAVING", "COUNT(*)", "STR", "REGEX",
    "INSERT", "DELETE", "DATA", "LOAD", "DROP", "1", "1.5", "-2e3", "true", " ", "\n", "#",
    "\x00", "\ufffd", "\u202e", "\\u0041", "\\U0001F600", "é", "%", "%20",
]
sparqlish = st.lists(st.sampled_from(SPARQL_PIECES) | st.text(max_size=4), max_size=40).map(
    " ".join)


def assert_not_a_server_error(response, what: str) -> None:
    status, body = response.status_code, response.get_data()
    if status == 503:  # a valid but runaway query: the endpoint's documented answer
        assert b"did not finish within" in body or b"MB of memory" in body, (what, body[:300])
        return
    assert status < 500, (what, status, body[:300])
    if status >= 400:
        assert is_message(status, response.content_type, body), (what, body[:300])


@FUZZ
@given(query=sparqlish)
def test_random_queries(fuzz_client, query):
    for how in ("form", "body"):
        started = time.monotonic()
        response = post_query(fuzz_client, query.encode("utf-8", "surrogatepass"), how)
        assert time.monotonic() - started < QUERY_TIMEOUT + 10
        assert_not_a_server_error(response, repr(query))


CONTENT_TYPES = st.sampled_from([
    "", "application/sparql-query", "application/x-www-form-urlencoded", "multipart/form-data",
    "text/plain", "application/json", "application/sparql-update", "*/*", ";", "a/b/c",
]) | st.text(st.characters(min_codepoint=32, max_codepoint=255, exclude_characters="\x7f"),
             max_size=30)
CHARSETS = st.sampled_from(["", "; charset=utf-8", "; charset=latin-1", "; charset=utf-16",
                            "; charset=bogus", "; charset=", "; charset=utf-8; charset=ascii"])


@FUZZ
@given(body=st.binary(max_size=300) | sparqlish.map(lambda q: q.encode("utf-8", "surrogatepass")),
       content_type=CONTENT_TYPES, charset=CHARSETS)
def test_random_bodies_and_content_types(fuzz_client, body, content_type, charset):
    response = fuzz_client.post("/sparql", data=body, content_type=content_type + charset)
    assert_not_a_server_error(response, repr((content_type + charset, body)))


ACCEPTS = st.sampled_from([
    "*/*", "text/html", "application/json;q=0", "text/*;q=0.5, */*;q=0.1", "q=1", ",,,",
    "application/sparql-results+json;q=2", "text/turtle;q=-1", "*/*;q=nan", "*", "/",
]) | st.text(max_size=40)
PATHS_WITH_ACCEPT = st.sampled_from([
    "/sparql?query=ASK%7B%7D", "/sparql?query=CONSTRUCT%7B%3Fs%20%3Fp%20%3Fo%7DWHERE%7B%7D",
    "/sparql", "/", "/query", "/id/polo/mesap", "/ontology", "/graph/data", "/downloads/",
    "/catalog", "/.well-known/void", "/dataset", "/shapes", "/nowhere",
    "/search?q=mesap", "/search?q=citt%C3%A0&format=json", "/search", "/reconcile",
    "/reconcile/suggest/entity?prefix=tor", "/reconcile/preview?id=x", "/releases/",
    "/query/terms.json", "/query/labels.json?iri=https://w3id.org/poli-kg/id/polo/mesap",
    "/id/", "/id/.ttl", "/id/polo/", "/id/polo/?page=1", "/id/polo/?page=2", "/id/polo/?page=0",
    "/id/polo/?page=-1", "/id/polo/?page=%FF", "/id/polo/?page=1e9", "/id/scheme/.ttl?page=1",
])


@FUZZ
@given(path=PATHS_WITH_ACCEPT, accept=ACCEPTS, language=st.text(max_size=20))
def test_random_accept_headers(fuzz_client, path, accept, language):
    headers = {"Accept": accept, "Accept-Language": language}
    try:
        headers["Accept"].encode("latin-1")
        headers["Accept-Language"].encode("latin-1")
    except UnicodeEncodeError:  # not sendable in an HTTP header
        return
    if any(c in value for value in headers.values() for c in "\r\n"):
        return  # a line break would end the header: no client can send it
    assert_not_a_server_error(fuzz_client.get(path, headers=headers), repr((path, headers)))


PARAMETERS = st.lists(st.tuples(
    st.sampled_from(["query", "format", "default-graph-uri", "named-graph-uri", "update", "lang",
                     "example", "x", "", "q", "type", "limit", "offset", "queries", "extend",
                     "prefix", "id"]),
    st.sampled_from(["ASK {}", "SELECT * {} LIMIT 1", "json", "xml", "turtle", "html", "",
                     "https://w3id.org/poli-kg/graph/data", "it", "en", "\x00", "%",
                     "mesap", "\"torino", "AND OR NOT", "a:b", "(*)?~^", "-1", "1e9",
                     '{"q0": {"query": "mesap"}}', '{"q0": {}}', "[]"]) |
    st.text(max_size=10)), max_size=6)


@FUZZ
@given(params=PARAMETERS, method=st.sampled_from(["GET", "POST"]),
       path=st.sampled_from(["/sparql", "/query", "/downloads/", "/catalog", "/.well-known/void",
                             "/", "/id/polo/mesap", "/ontology", "/search", "/reconcile",
                             "/reconcile/suggest/entity", "/reconcile/preview", "/releases/",
                             "/query/terms.json", "/query/labels.json", "/id/", "/id/polo/",
                             "/id/polo/.jsonld", "/id/polo/?page=1"]))
def test_duplicate_and_missing_parameters(fuzz_client, params, method, path):
    encoded = urlencode(params, encoding="utf-8", errors="surrogatepass")
    if method == "GET":
        response = fuzz_client.get(f"{path}?{encoded}")
    else:
        response = fuzz_client.post(path, data=encoded,
                                    content_type="application/x-www-form-urlencoded")
    assert_not_a_server_error(response, repr((method, path, params)))


SEGMENT_PIECES = st.sampled_from([
    "..", ".", "%2e%2e", "%2E%2e", "%2f", "%2F", "%5c", "\\", "%00", "%FF", "%C0%AF", "%E2%80%AE",
    "%EF%BF%BD", "%25zz", "%", "%23", "#", "%3F", "?", ";", "=", "~", "%20", "a", "poli-kg.ttl",
    "SHA256SUMS", "store", "CURRENT", "css", "site.css", "vendor", "yasgui", "polo", "mesap",
    "app.py", "etc", "passwd", ".ttl", ".html", ".jsonld", "é",
])
PATHS = st.tuples(
    st.sampled_from(["/downloads/", "/static/", "/id/", "/id/polo/", "/ontology/", "/graph/",
                     "/dataset/", "/shapes", "/ontology.", "/", "/sparql/", "/query/",
                     "/releases/", "/reconcile/", "/search/", "/id/polo/?page=",
                     "/id/scheme/.ttl?page="]),
    st.lists(st.lists(SEGMENT_PIECES, min_size=1, max_size=3).map("".join), max_size=6)
    .map("/".join)).map("".join)


@FUZZ
@given(path=PATHS)
def test_random_paths(fuzz_client, path, sparql_build_dir):
    response = fuzz_client.get(path)
    assert_not_a_server_error(response, path)
    if response.status_code != 200:
        return
    # Only files that are meant to be served: downloads in SHA256SUMS and the CSVW tables of
    # the build, files under static/.
    raw = unquote_to_bytes(path.split("?", 1)[0].split("#", 1)[0])
    if raw.startswith(b"/downloads/") and raw != b"/downloads/":
        name = raw[len(b"/downloads/"):].decode("utf-8")
        build = Path(sparql_build_dir)
        listed = {line.split()[1] for line in (build / "SHA256SUMS").read_text().splitlines()}
        listed |= {f"csvw/{p.name}" for p in (build / "csvw").iterdir()}
        assert name in listed | {"SHA256SUMS"}, path
    if raw.startswith(b"/static/"):
        served = (STATIC / raw[len(b"/static/"):].decode("utf-8")).resolve()
        assert served.is_file() and served.is_relative_to(STATIC.resolve()), path
        assert response.get_data() == served.read_bytes()


# ------------------------------------------------------------------------------- the lexer

def reference_tokens(query: str) -> list[tuple[str, str, int]]:
    """The lexer as it was (one regex, ``finditer``): correct, but quadratic on some input."""
    pattern = re.compile(
        r"""
          (?P<WS>\s+)
        | (?P<COMMENT>\#[^\r\n]*)
        | (?P<STRING>'''(?:(?:'|'')?(?:[^'\\]|\\.))*'''
                   |\"\"\"(?:(?:"|"")?(?:[^"\\]|\\.))*\"\"\"
                   |'(?:[^'\\\r\n]|\\.)*'
                   |"(?:[^"\\\r\n]|\\.)*")
        | (?P<IRI><[^<>"{}|^`\\\x00-\x20]*>)
        | (?P<VAR>[?$]\w*)
        | (?P<LANGTAG>@[A-Za-z]+(?:-[A-Za-z0-9]+)*)
        | (?P<BNODE>_:[\w.\-]*)
        | (?P<PNAME>(?:[^\W\d_](?:[\w.\-]*[\w\-])?)?:"""
        + rf"(?:{sparqllex._LOCAL_CHAR}(?:(?:{sparqllex._LOCAL_CHAR}|\.)*"
        + rf"{sparqllex._LOCAL_CHAR})?)?)"
        + r"""
        | (?P<WORD>[^\W\d]\w*)
        | (?P<NUMBER>\d+)
        | (?P<OTHER>.)
        """, re.VERBOSE | re.DOTALL)
    return [(m.lastgroup or "", m.group(), m.start()) for m in pattern.finditer(query)
            if m.lastgroup not in ("WS", "COMMENT")]


LEXER_PIECES = st.sampled_from([
    "'", '"', "'''", '"""', "\\", "\\'", '\\"', "\n", "\r", " ", "a", "b.", ".", ":", "a:", "-",
    "_", "<", ">", "#", "?", "1", "é", "%", "%4", "@", "x", "{", "}",
])


@settings(max_examples=3000, deadline=None, database=None, derandomize=True)
@given(st.lists(LEXER_PIECES, max_size=40).map("".join))
def test_tokens_are_those_of_the_reference_lexer(query):
    assert [(t.kind, t.text, t.start) for t in tokens(query)] == reference_tokens(query)


PATHOLOGICAL = {
    "unterminated long string of escaped quotes": "ASK { ?s ?p '''" + "\\'" * 49_000,
    "unterminated long strings, one per line": "\\'''x\n" * 16_000,
    "escaped line ends in an unterminated string": "\\'x\\\n" * 19_000,
    "run of dots, no prefix colon": "a." * 49_000,
    "run of dots and dashes": "a-." * 33_000,
    "double quotes": '"""' + '\\"' * 49_000,
    "FROM clauses and an escape": "SELECT * " + "FROM <x:a> " * 9_000 + "{} \\u0041",
    "brackets": "{(" * 49_000,
}


@pytest.mark.parametrize("name", PATHOLOGICAL)
def test_the_lexer_is_linear(name):
    """100 kB of the worst input found is read in well under a second (it took up to a minute)."""
    query = PATHOLOGICAL[name]
    started = time.monotonic()
    scan(query)
    nesting(query)
    assert time.monotonic() - started < 3.0


# ---------------------------------------------------------------------- nesting: the limits

@pytest.mark.parametrize("query", [
    "ASK " + "{" * 450 + "}" * 450,
    "ASK { FILTER(" + "+".join(["1"] * 450) + " > 0) }",
    "ASK { ?s <x:p> 0" + "".join(f", {i}" for i in range(1, 100)) + " }",
    "SELECT * { VALUES (?a ?b) { " + "(1 2) " * 15_000 + "} }",
    "ASK { FILTER(1 IN (" + ", ".join(["1"] * 20_000) + ")) }",
    "".join(f"PREFIX p{i}: <http://x/{i}#>\n" for i in range(3_000)) + "ASK {}",
], ids=["450 braces", "450 sums", "100 objects", "15000 VALUES rows", "IN of 20000",
        "3000 prefixes"])
def test_queries_under_the_nesting_limit_run(fuzz_client, query):
    response = fuzz_client.post("/sparql", data={"query": query},
                                headers={"Accept": "application/sparql-results+json"})
    assert response.status_code == 200, response.get_data()[:300]


def test_competency_questions_nest_shallowly():
    for path in sorted((ROOT / "queries").glob("*.rq")):
        assert nesting(path.read_text(encoding="utf-8")) < 100, path.name


def test_nesting_limit_is_configurable(sparql_build_dir):
    from poli_kg.web import create_app

    application = create_app({"TESTING": True, "BUILD_DIR": str(sparql_build_dir),
                              "MAX_QUERY_NESTING": 10})
    try:
        client = application.test_client()
        response = client.post("/sparql", data={"query": "ASK " + "{" * 11 + "}" * 11})
        assert response.status_code == 400 and b"at most 10" in response.get_data()
        assert client.post("/sparql", data={"query": "ASK {{}}"}).status_code == 200
    finally:
        application.extensions["poli_kg.store"].close()


# --------------------------------------------------------------------- memory of a query

def test_a_memory_hungry_query_is_stopped(sparql_build_dir, monkeypatch):
    """ORDER BY over a 3-way cross join allocates ~1 GB/s: stopped at the limit, 503."""
    from poli_kg.web import create_app

    monkeypatch.setenv("POLI_KG_QUERY_MEMORY_MB", "200")
    application = create_app({"TESTING": True, "BUILD_DIR": str(sparql_build_dir),
                              "QUERY_TIMEOUT": 30})
    try:
        client = application.test_client()
        started = time.monotonic()
        response = client.post("/sparql", data={"query": (
            "SELECT ?a ?d ?g WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i } ORDER BY ?c ?f ?i LIMIT 1")})
        elapsed = time.monotonic() - started
        assert response.status_code == 503
        assert b"more than 200 MB of memory" in response.get_data()
        assert elapsed < 20, "stopped by the memory limit, not by the 30 s timeout"
        assert_still_serving(client)
    finally:
        application.extensions["poli_kg.store"].close()


# --------------------------------------------------------------------------- a real server

@pytest.fixture(scope="module")
def fuzz_server(start_server):
    """A real server (2 workers, 3 s query timeout) and its worker processes at start."""
    server = start_server("--workers", "2", "--query-timeout", str(QUERY_TIMEOUT))
    deadline = time.monotonic() + 30
    while len(psutil.Process(server.pid).children()) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)  # the first worker answers /healthz before the second is forked
    workers = {p.pid for p in psutil.Process(server.pid).children()}
    assert len(workers) == 2
    return server, workers


def http_status(url: str, data: bytes, timeout: float = HANG) -> tuple[int | None, bytes]:
    """Send raw bytes to the server; the status of its answer (None: closed without one)."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=timeout) as sock:
        try:
            sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed before reading everything
        answer = b""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            answer += chunk
    match = re.match(rb"HTTP/1\.[01] (\d{3}) ", answer)
    return (int(match.group(1)) if match else None), answer


@pytest.mark.parametrize("entry", RAW, ids=[e["name"] for e in RAW])
def test_raw_request_on_a_real_server(fuzz_server, entry):
    server, _ = fuzz_server
    started = time.monotonic()
    status, answer = http_status(server.url, expand(entry["request"]).encode("latin-1"))
    assert time.monotonic() - started < HANG
    if entry["status"] is None:
        assert status is None or 400 <= status < 500, answer[:300]
    else:
        assert status in entry["status"], answer[:300]
    head = answer.split(b"\r\n\r\n", 1)[0].lower()
    assert b"server: gunicorn" not in head and b"traceback" not in answer.lower()


@pytest.mark.parametrize("entry", QUERIES, ids=[e["name"] for e in QUERIES])
def test_hostile_query_on_a_real_server(fuzz_server, entry):
    server, _ = fuzz_server
    query = query_bytes(entry)
    for how in sends(entry):
        started = time.monotonic()
        if how == "get":
            response = requests.get(f"{server.url}/sparql?query={quote(query, safe='')}",
                                    timeout=HANG)
        elif how == "form":
            response = requests.post(f"{server.url}/sparql",
                                     data=b"query=" + quote(query, safe="").encode("ascii"),
                                     headers={"Content-Type": "application/x-www-form-urlencoded"},
                                     timeout=HANG)
        else:
            response = requests.post(f"{server.url}/sparql", data=query, timeout=HANG,
                                     headers={"Content-Type": "application/sparql-query"})
        assert time.monotonic() - started < HANG
        assert_message(response.status_code, response.headers.get("Content-Type", ""),
                       response.content, {**entry, "name": f"{entry['name']} ({how})"})


def test_real_server_survives_the_corpus(fuzz_server):
    """Runs after the corpus: same workers (none crashed or was replaced), still answering."""
    server, workers = fuzz_server
    assert {p.pid for p in psutil.Process(server.pid).children()} == workers
    response = requests.post(f"{server.url}/sparql", data={"query": "ASK { ?s ?p ?o }"},
                             headers={"Accept": "application/sparql-results+json"}, timeout=10)
    assert response.status_code == 200 and response.json()["boolean"] is True
    assert requests.get(f"{server.url}/healthz", timeout=10).status_code == 200
    log = server.stderr.read_text()
    assert "Traceback" not in log and "WORKER TIMEOUT" not in log
