"""The W3C SPARQL 1.1 Protocol and Service Description test suites, against a real server.

The manifests are in ``../shared/reference/w3c-sparql11-protocol-tests/`` (``manifest.ttl``,
``service-description-manifest.ttl``; skipped with the reason when that folder is absent,
failed when CI is set).  Each protocol test is a list of HTTP requests (``ht:Request``: method,
path under ``/sparql/``, headers, a body in a given encoding) and the response each must get
(``mf:expectedStatus``, ``mf:expectedFormat``, ``mf:expectedBoolean``); they are sent as
written, byte for byte (:mod:`http.client` adds only ``Host``, ``Content-Length`` and
``Accept-Encoding: identity``), to the ``live_server`` on 127.0.0.1.

This endpoint is read-only and never fetches anything, so a test that updates the store or
queries graphs it would have to load (``ut:graphData``, a ``default-graph-uri`` outside the
dataset) is expected to be refused with a clean 4xx whose message says why
(:data:`REFUSED`).  Those whose query does not depend on the graph they name
(:data:`ADAPTED`: ``ASK {}`` with ``default-graph-uri=…/data0.rdf``) run a second time
without it, and must then pass as the manifest says.  ``docs/sparql.md`` lists every test
with its outcome and reason; a test here keeps the two in step.
"""

from __future__ import annotations

import http.client
import io
import os
import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import pytest
from rdflib import Graph, Namespace, URIRef
from rdflib.collection import Collection
from rdflib.namespace import RDF
from rdflib.query import Result

from poli_kg.namespaces import SD
from tests.conftest import ROOT, SHARED

SUITE = SHARED / "reference" / "w3c-sparql11-protocol-tests"
DOCS = ROOT / "docs" / "sparql.md"
MF = Namespace("http://www.w3.org/2001/sw/DataAccess/tests/test-manifest#")
HT = Namespace("http://www.w3.org/2011/http#")
CNT = Namespace("http://www.w3.org/2011/content#")
HTS = Namespace("http://www.w3.org/2011/http-statusCodes#")
UT = Namespace("http://www.w3.org/2009/sparql/tests/test-update#")

READ_ONLY = "read-only"
FETCHES_NOTHING = "fetches nothing"
REFUSED = {
    "query_post_form": FETCHES_NOTHING,
    "query_dataset_default_graphs_get": FETCHES_NOTHING,
    "query_dataset_default_graphs_post": FETCHES_NOTHING,
    "query_dataset_named_graphs_post": FETCHES_NOTHING,
    "query_dataset_named_graphs_get": FETCHES_NOTHING,
    "query_dataset_full": FETCHES_NOTHING,
    "query_multiple_dataset": FETCHES_NOTHING,
    "query_get": FETCHES_NOTHING,
    "query_content_type_select": FETCHES_NOTHING,
    "query_content_type_ask": FETCHES_NOTHING,
    "query_content_type_describe": FETCHES_NOTHING,
    "query_content_type_construct": FETCHES_NOTHING,
    "update_dataset_default_graph": READ_ONLY,
    "update_dataset_default_graphs": READ_ONLY,
    "update_dataset_named_graphs": READ_ONLY,
    "update_dataset_full": READ_ONLY,
    "update_post_form": READ_ONLY,
    "update_post_direct": READ_ONLY,
    "update_base_uri": READ_ONLY,
}
"""Tests refused by design, with the words their 4xx answer must contain."""
ADAPTED = ("query_post_form", "query_get", "query_content_type_select",
           "query_content_type_ask", "query_content_type_describe",
           "query_content_type_construct")
"""Refused tests whose query ignores the graph named: run again without it."""
UNUSED_GRAPH = re.compile(r"[?&]default-graph-uri=http%3A%2F%2Fkasei\.us%2F2009%2F09%2Fsparql"
                          r"%2Fdata%2Fdata0\.rdf")

RESULT_TYPES = {"application/sparql-results+json": "json",
                "application/sparql-results+xml": "xml",
                "text/csv": "csv", "text/tab-separated-values": "tsv"}
RDF_TYPES = {"text/turtle": "turtle", "application/n-triples": "nt",
             "application/rdf+xml": "xml", "application/ld+json": "json-ld"}

pytestmark = pytest.mark.slow


def skip_or_fail(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(reason + " (required when CI is set)")
    pytest.skip(reason)


# -- reading the manifests -------------------------------------------------------------------

@dataclass
class Request:
    """One ``ht:Request`` of a protocol test and the response it expects."""

    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None
    statuses: frozenset[int] = frozenset()
    """The expected status classes (2 for 2xx …)."""
    result_format: str | None = None
    boolean: bool | None = None


@dataclass
class ProtocolTest:
    name: str
    title: str
    requests: list[Request]
    graph_data: bool


def _items(graph: Graph, node) -> list:
    return list(Collection(graph, node)) if node is not None else []


def _request(graph: Graph, node) -> Request:
    headers = {str(graph.value(h, HT.fieldName)): str(graph.value(h, HT.fieldValue))
               for h in _items(graph, graph.value(node, HT.headers))}
    body_node = graph.value(node, HT.body)
    body = None
    if body_node is not None:
        encoding = str(graph.value(body_node, CNT.characterEncoding) or "UTF-8")
        body = str(graph.value(body_node, CNT.chars)).encode(encoding.lower())
    response = graph.value(node, HT.resp)
    statuses = frozenset(int(str(s).rsplit("StatusCode", 1)[1][0])
                         for s in graph.objects(response, MF.expectedStatus))
    expected = graph.value(response, MF.expectedBoolean)
    fmt = graph.value(response, MF.expectedFormat)
    return Request(str(graph.value(node, HT.methodName)), str(graph.value(node, HT.absolutePath)),
                   headers, body, statuses, str(fmt) if fmt is not None else None,
                   expected.toPython() if expected is not None else None)


def protocol_tests() -> list[ProtocolTest]:
    """The tests of the protocol manifest, in its order (none when the suite is absent)."""
    if not (SUITE / "manifest.ttl").is_file():
        return []
    graph = Graph().parse(SUITE / "manifest.ttl", format="turtle")
    manifest = graph.value(predicate=RDF.type, object=MF.Manifest)
    tests = []
    for entry in _items(graph, graph.value(manifest, MF.entries)):
        action = graph.value(entry, MF.action)
        requests = [_request(graph, r) for r in _items(graph, graph.value(action, HT.requests))]
        tests.append(ProtocolTest(str(entry).rsplit("#", 1)[1], str(graph.value(entry, MF.name)),
                                  requests, (entry, UT.graphData, None) in graph))
    return tests


TESTS = protocol_tests()


# -- sending and checking ---------------------------------------------------------------------

@dataclass
class Answer:
    status: int
    content_type: str
    body: bytes


def send(server: str, request: Request) -> Answer:
    """``request`` sent as written to ``server`` (the path's ``/sparql/`` is the endpoint)."""
    parts = urlsplit(server)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        connection.request(request.method, request.path, body=request.body,
                           headers=request.headers)
        response = connection.getresponse()
        return Answer(response.status, response.getheader("Content-Type", ""), response.read())
    finally:
        connection.close()


def check(answer: Answer, request: Request, where: str) -> None:
    """The answer is what the manifest expects of ``request``."""
    assert answer.status // 100 in request.statuses, (where, answer.status, answer.body[:500])
    media_type = answer.content_type.split(";")[0].strip()
    if answer.status >= 400:
        assert media_type == "text/plain", where
        assert b"Traceback" not in answer.body and answer.body.strip(), where
        return
    if request.result_format in ("boolean", "tabular"):
        assert media_type in RESULT_TYPES, (where, media_type)
        if request.result_format == "boolean":
            assert media_type in ("application/sparql-results+json",
                                  "application/sparql-results+xml"), where
            result = Result.parse(io.BytesIO(answer.body), format=RESULT_TYPES[media_type])
            assert request.boolean is None or result.askAnswer is request.boolean, where
    elif request.result_format == "RDF":
        assert media_type in RDF_TYPES, (where, media_type)
        Graph().parse(data=answer.body, format=RDF_TYPES[media_type])


def check_refused(answer: Answer, reason: str, where: str) -> None:
    """A clean 4xx whose message says why."""
    assert 400 <= answer.status < 500, (where, answer.status, answer.body[:300])
    assert answer.content_type.startswith("text/plain"), where
    assert reason in answer.body.decode("utf-8"), (where, answer.body[:500])


@pytest.fixture(scope="module", params=["gunicorn", "granian"])
def suite(request, live_server, start_server):
    """The server under test: the shared one (gunicorn), and one on granian."""
    if not TESTS:
        skip_or_fail(f"the W3C protocol suite is not in {SUITE} (../shared/reference)")
    if request.param == "gunicorn":
        return live_server
    return start_server("--workers", "1", "--query-timeout", "10", "--server", "granian").url


def test_the_suite_is_there():
    if not TESTS:
        skip_or_fail(f"the W3C protocol suite is not in {SUITE} (../shared/reference)")
    assert len(TESTS) == 34
    names = {t.name for t in TESTS}
    assert set(REFUSED) <= names and set(ADAPTED) <= set(REFUSED)
    # the refused ones are exactly those expected to succeed that update or name graphs
    # outside the dataset (the suite's graphs are under kasei.us)
    for test in TESTS:
        first = test.requests[0]
        expects_success = bool(first.statuses & {2, 3})
        sent = first.path + (first.body or b"").decode("utf-8", "replace")
        updates = "update" in first.headers.get("content-type", "") or "update=" in sent
        remote = test.graph_data or "kasei.us" in sent or "kasei.us%2F" in sent
        assert (test.name in REFUSED) == (expects_success and (updates or remote)), test.name


@pytest.mark.parametrize("test", TESTS, ids=[t.name for t in TESTS])
def test_protocol(suite, test):
    if test.name in REFUSED:
        check_refused(send(suite, test.requests[0]), REFUSED[test.name], test.name)
        return
    for i, request in enumerate(test.requests):
        check(send(suite, request), request, f"{test.name} #{i}")


@pytest.mark.parametrize("name", ADAPTED)
def test_protocol_adapted_to_the_dataset(suite, name):
    """The refused tests whose query ignores the graph they name, run without it."""
    (test,) = [t for t in TESTS if t.name == name]
    for i, request in enumerate(test.requests):
        path = UNUSED_GRAPH.sub(lambda m: m.group()[0], request.path).replace("?&", "?")
        assert path != request.path
        adapted = Request(request.method, path.rstrip("?"), request.headers, request.body,
                          request.statuses, request.result_format, request.boolean)
        check(send(suite, adapted), adapted, f"{name} #{i} (adapted)")


# -- the service description suite -----------------------------------------------------------

SD_TERMS = {
    "Service", "Feature", "Language", "Function", "Aggregate", "EntailmentRegime",
    "EntailmentProfile", "GraphCollection", "Dataset", "Graph", "NamedGraph", "endpoint",
    "feature", "defaultEntailmentRegime", "entailmentRegime", "defaultSupportedEntailmentProfile",
    "supportedEntailmentProfile", "extensionFunction", "extensionAggregate", "languageExtension",
    "supportedLanguage", "propertyFeature", "defaultDataset", "availableGraphs", "resultFormat",
    "inputFormat", "defaultGraph", "namedGraph", "name", "graph", "SPARQL10Query",
    "SPARQL11Query", "SPARQL11Update", "DereferencesURIs", "UnionDefaultGraph",
    "RequiresDataset", "EmptyGraphs", "BasicFederatedQuery",
}
"""Every term of the SPARQL 1.1 Service Description vocabulary."""


def service_description_tests() -> list[str]:
    path = SUITE / "service-description-manifest.ttl"
    if not path.is_file():
        return []
    graph = Graph().parse(path, format="turtle")
    manifest = graph.value(predicate=RDF.type, object=MF.Manifest)
    return [str(e).rsplit("#", 1)[1] for e in _items(graph, graph.value(manifest, MF.entries))]


SD_TESTS = service_description_tests()


@pytest.fixture(scope="module")
def description(suite) -> Graph:
    answer = send(suite, Request("GET", "/sparql", {"Accept": "text/turtle"}))
    assert answer.status == 200 and answer.content_type.startswith("text/turtle")
    return Graph().parse(data=answer.body, format="turtle")


@pytest.mark.parametrize("name", SD_TESTS)
def test_service_description(suite, description, name):
    endpoint = URIRef(f"{suite}/sparql")
    if name == "returns-rdf":
        for accept in ("application/rdf+xml", "text/turtle", "application/n-triples", None):
            answer = send(suite, Request("GET", "/sparql/", {"Accept": accept} if accept else {}))
            media_type = answer.content_type.split(";")[0]
            assert answer.status == 200 and media_type in RDF_TYPES, accept
            assert len(Graph().parse(data=answer.body, format=RDF_TYPES[media_type])) > 0
    elif name == "has-endpoint-triple":
        assert (None, SD.endpoint, endpoint) in description
    elif name == "conforms-to-schema":
        conforms_to_schema(description, endpoint)
    else:
        pytest.fail(f"unknown service description test {name}")


def conforms_to_schema(graph: Graph, endpoint: URIRef) -> None:
    """The description's shape (SPARQL 1.1 Service Description, section 3)."""
    used = {str(t)[len(str(SD)):] for triple in graph for t in triple
            if isinstance(t, URIRef) and str(t).startswith(str(SD))}
    assert used <= SD_TERMS, used - SD_TERMS
    (service,) = graph.subjects(RDF.type, SD.Service)
    assert graph.value(service, SD.endpoint) == endpoint
    assert set(graph.objects(service, SD.supportedLanguage)) <= {
        SD.SPARQL10Query, SD.SPARQL11Query, SD.SPARQL11Update}
    assert all(isinstance(f, URIRef) for f in graph.objects(service, SD.resultFormat))
    assert all(isinstance(f, URIRef) for f in graph.objects(service, SD.feature))
    dataset = graph.value(service, SD.defaultDataset)
    assert (dataset, RDF.type, SD.Dataset) in graph
    assert (graph.value(dataset, SD.defaultGraph), RDF.type, SD.Graph) in graph
    for named in graph.objects(dataset, SD.namedGraph):
        assert (named, RDF.type, SD.NamedGraph) in graph
        assert isinstance(graph.value(named, SD.name), URIRef)
        assert (graph.value(named, SD.graph), RDF.type, SD.Graph) in graph


# -- the documentation's table -----------------------------------------------------------------

def test_the_docs_list_every_test_with_its_outcome():
    if not TESTS:
        skip_or_fail(f"the W3C protocol suite is not in {SUITE} (../shared/reference)")
    text = DOCS.read_text(encoding="utf-8")
    rows = {m.group(1): m.group(2) for m in re.finditer(r"^\| `([\w-]+)` \|[^|]*\| ([^|]+) \|",
                                                         text, re.MULTILINE)}
    for test in TESTS:
        outcome = rows.get(test.name, "").strip()
        if test.name in ADAPTED:
            assert outcome.startswith("refused; passes adapted"), test.name
        elif test.name in REFUSED:
            assert outcome.startswith("refused"), test.name
        else:
            assert outcome.startswith("passes"), test.name
    for name in SD_TESTS:
        assert rows.get(name, "").strip().startswith("passes"), name
