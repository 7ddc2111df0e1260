"""SELECT answers written straight from pyoxigraph's solutions (``poli_kg.store.solutions``)
are byte for byte the neutral writers' (``Backend.execute``: ``evaluate`` then ``serialize``),
with the same row count and cap, over the real build, on disk and in memory.

The real graph holds IRIs, blank nodes, literals with languages and datatypes, non-ASCII
text, apostrophes, ampersands and commas; queries over it make the kinds it lacks from its
own labels (newlines, quotes, tabs, backslashes, control characters, leading spaces, other
datatypes, other scripts' digits, base directions, triple terms, unbound values, empty
solutions).  Where pyoxigraph's own JSON or TSV would differ, or its row count be uncertain,
the answer is the neutral path's, which the same comparison shows.
"""

import re
from pathlib import Path

import pyoxigraph as ox
import pytest

from poli_kg.store import (
    CSV, RESULT_MEDIA_TYPES, SPARQL_RESULTS_JSON, SPARQL_RESULTS_XML, TSV, Backend, open_backend,
    solutions,
)
from poli_kg.store.solutions import DIGIT_LEAD_BYTES, write_solutions
from tests.conftest import ROOT

XSD = "http://www.w3.org/2001/XMLSchema#"
PREFIXES = """PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX xsd: <http://www.w3.org/2001/XMLSchema#>
"""
EVERY_TRIPLE = "SELECT ?g ?s ?p ?o WHERE { GRAPH ?g { ?s ?p ?o } }"  # (an order of its own)
UNBOUND = PREFIXES + """SELECT ?s ?en ?comment WHERE { ?s a ?class
  OPTIONAL { ?s rdfs:label ?en FILTER(lang(?en) = "en") } OPTIONAL { ?s rdfs:comment ?comment } }
ORDER BY ?s"""
# every kind of literal the graph lacks, made from its labels (pyoxigraph's bytes are the
# neutral writers' for all of them); ?number is a decimal that TSV quotes, ?text holds a
# digit of another script (not a number, so the TSV is still pyoxigraph's)
KINDS = PREFIXES + r"""SELECT ?s ?text ?spaced ?typed ?number ?flag ?blank ?nothing WHERE {
  ?s rdfs:label ?label
  BIND(CONCAT(?label, "\n\"q\"\t<t> & 'a' \\ b\r\n\u0001\u000b\u001f \u00e9\u20ac\u0662 ") AS ?text)
  BIND(STRLANG(CONCAT(" ", STR(?label), " "), "it-IT") AS ?spaced)
  BIND(STRDT(STR(STRLEN(?label)), <http://example.org/dt?a=1&b='2'>) AS ?typed)
  BIND(STRDT(CONCAT(STR(STRLEN(?label)), "0"), xsd:decimal) AS ?number)
  BIND(STRDT(IF(STRLEN(?label) > 20, "true", "1"), xsd:boolean) AS ?flag)
  BIND(BNODE(STR(?s)) AS ?blank)
  OPTIONAL { ?s <http://example.org/none> ?nothing } }
ORDER BY ?s ?label"""
NUMBERS = PREFIXES + """SELECT ?s ?i ?d ?e WHERE { ?s rdfs:label ?label
  BIND(STRDT(CONCAT("+", STR(STRLEN(?label))), xsd:integer) AS ?i)
  BIND(STRDT(CONCAT("-.", STR(STRLEN(?label))), xsd:decimal) AS ?d)
  BIND(STRDT(CONCAT(STR(STRLEN(?label)), ".E-1"), xsd:double) AS ?e) } ORDER BY ?s ?label"""
TRIPLES = PREFIXES + """SELECT ?t WHERE { ?s rdfs:label ?o BIND(TRIPLE(?s, rdfs:label, ?o) AS ?t) }
ORDER BY ?t"""
# answers pyoxigraph writes otherwise, or whose JSON row count is uncertain
ODD = {
    "a string ending in '}},{' (JSON)": PREFIXES + """SELECT ?s ?x WHERE { ?s rdfs:label ?l
      BIND(CONCAT(STR(?l), "}},{") AS ?x) } ORDER BY ?s ?l""",
    "a '{}' in a string (JSON)": PREFIXES + """SELECT ?x WHERE { ?s rdfs:label ?l
      BIND(CONCAT("{}", STR(?l)) AS ?x) } ORDER BY ?x""",
    "empty solutions (JSON)": PREFIXES + """SELECT ?x WHERE { ?s a ?c
      OPTIONAL { ?s <http://example.org/none> ?x } } LIMIT 40""",
    "no variable (JSON)": "SELECT * WHERE { }",
    "other scripts' digits (TSV)": PREFIXES + """SELECT ?s ?n WHERE { ?s rdfs:label ?l
      BIND(STRDT(IF(STRLEN(?l) > 20, "\u0661\u0662", "12"), xsd:integer) AS ?n) } ORDER BY ?s ?l""",
    "a base direction (JSON, TSV)": PREFIXES + """SELECT ?s ?x WHERE { ?s rdfs:label ?l
      BIND(STRLANGDIR(STR(?l), "it", "rtl") AS ?x) } ORDER BY ?s ?l""",
    "a triple term (TSV)": TRIPLES,
}
PLAIN = {
    "every triple": EVERY_TRIPLE, "unbound values": UNBOUND, "every kind of literal": KINDS,
    "numbers in Turtle's own forms": NUMBERS,
    "no solution": "SELECT ?x WHERE { ?x <http://example.org/none> ?y }",
    **{path.stem: path.read_text(encoding="utf-8") for path in sorted(ROOT.glob("queries/*.rq"))},
}


@pytest.fixture(scope="module", params=["oxigraph", "oxigraph-memory"])
def backend(request, sparql_build_dir):
    return open_backend(request.param, sparql_build_dir)


def caps(rows: int) -> list[int | None]:
    """Caps around an answer of ``rows`` rows: none, 0, 1, 2, one short, exact, one over."""
    return [None, 0, 1, 2, max(rows - 1, 0), rows, rows + 1, rows // 2]


def answer(result) -> tuple:
    return result.body, result.count, result.truncated, result.media_type, result.form


@pytest.mark.parametrize("media_type", RESULT_MEDIA_TYPES)
@pytest.mark.parametrize("name", [*PLAIN, *ODD])
def test_answers_are_the_neutral_writers_bytes_under_every_cap(backend, name, media_type):
    query = {**PLAIN, **ODD}[name]
    rows = len(backend.evaluate(query).rows)
    for cap in caps(rows):
        written = backend.execute(query, media_type=media_type, max_results=cap)
        neutral = Backend.execute(backend, query, media_type=media_type, max_results=cap)
        assert answer(written) == answer(neutral), (name, media_type, cap)
        assert written.count == (rows if cap is None else min(rows, cap))
        assert written.truncated == (cap is not None and rows > cap)


def test_the_real_answers_hold_every_kind_of_term(backend):
    kinds = set()
    for query in (EVERY_TRIPLE, UNBOUND, KINDS):
        for row in backend.evaluate(query).rows:
            for term in row:
                if term is None:
                    kinds.add("unbound")
                elif term[0] != "literal":
                    kinds.add(term[0])
                else:
                    kinds.add("language" if term[3] else term[2].removeprefix(XSD))
                    kinds.update(name for name, char in [
                        ("newline", "\n"), ("quote", '"'), ("apostrophe", "'"), ("tab", "\t"),
                        ("backslash", "\\"), ("control", "\x01"), ("ampersand", "&"),
                        ("angle", "<"), ("comma", ","), ("carriage return", "\r"),
                    ] if char in term[1])
                    kinds.update(["non-ASCII"] if not term[1].isascii() else [])
                    kinds.update(["leading space"] if term[1].startswith(" ") else [])
    assert kinds >= {
        "uri", "bnode", "unbound", "language", "string", "integer", "decimal", "boolean",
        "date", "gYear", "http://example.org/dt?a=1&b='2'", "newline", "quote", "apostrophe",
        "tab", "backslash", "control", "ampersand", "angle", "comma", "carriage return",
        "non-ASCII", "leading space"}, kinds


@pytest.fixture(scope="module")
def ox_store(sparql_build_dir):
    """The build's pyoxigraph store, as the ``oxigraph`` backend opens it."""
    return ox.Store.read_only(str(Path(sparql_build_dir) / "store"))


@pytest.fixture(scope="module")
def disk(sparql_build_dir):
    """The ``oxigraph`` backend, over the same store (blank nodes have the same labels)."""
    return open_backend("oxigraph", sparql_build_dir)


def solutions_of(store: ox.Store, query: str) -> ox.QuerySolutions:
    return store.query(query, use_default_graph_as_union=True)


@pytest.mark.parametrize("media_type", RESULT_MEDIA_TYPES)
@pytest.mark.parametrize("name", PLAIN)
def test_the_plain_answers_are_written_without_the_neutral_path(ox_store, disk, name, media_type):
    """pyoxigraph's serialisers (JSON, TSV) or the writers of its terms (XML, CSV) write
    them: the neutral path is not taken, and the bytes are its."""
    query = PLAIN[name]
    rows = len(disk.evaluate(query).rows)
    for cap in caps(rows):
        written = write_solutions(solutions_of(ox_store, query), media_type, cap)
        assert written is not None, (name, media_type, cap)
        neutral = Backend.execute(disk, query, media_type=media_type, max_results=cap)
        assert written == (neutral.body, neutral.count, neutral.truncated), (name, cap)


@pytest.mark.parametrize("name, media_types", [
    ("a string ending in '}},{' (JSON)", [SPARQL_RESULTS_JSON]),
    ("a '{}' in a string (JSON)", [SPARQL_RESULTS_JSON]),
    ("empty solutions (JSON)", [SPARQL_RESULTS_JSON]),
    ("no variable (JSON)", [SPARQL_RESULTS_JSON]),
    ("other scripts' digits (TSV)", [TSV]),
    ("a base direction (JSON, TSV)", [SPARQL_RESULTS_JSON, TSV]),
    ("a triple term (TSV)", [TSV]),
])
def test_odd_answers_take_the_neutral_path_only_where_pyoxigraph_differs(ox_store, name,
                                                                          media_types):
    for media_type in RESULT_MEDIA_TYPES:
        written = write_solutions(solutions_of(ox_store, ODD[name]), media_type, None)
        assert (written is None) == (media_type in media_types), media_type


def test_pyoxigraph_writes_other_scripts_digits_and_triple_terms_unlike_the_neutral_writer(
        ox_store, disk):
    """Why those answers take the neutral path: its TSV differs from pyoxigraph's."""
    for name in ("other scripts' digits (TSV)", "a triple term (TSV)"):
        neutral = Backend.execute(disk, ODD[name], media_type=TSV, max_results=None).body
        own = solutions_of(ox_store, ODD[name]).serialize(format=ox.QueryResultsFormat.TSV)
        assert neutral != own, name


def test_the_digit_lead_bytes_are_those_of_every_non_ascii_decimal_digit():
    """Python's ``\\d`` (the neutral TSV writer's) is any Unicode decimal digit."""
    leads = {chr(code).encode()[0] for code in range(0x80, 0x110000)
             if not 0xD800 <= code < 0xE000 and re.fullmatch(r"\d", chr(code))}
    assert leads == set(DIGIT_LEAD_BYTES)


def test_a_marker_split_between_chunks_is_counted_once_and_the_sink_stops_at_its_cap():
    sink = solutions._Sink(b'}},{"', stop_at=5)
    sink.write(b'{"a":1}},{')
    sink.write(b'"b":2}},{"c"}},{"')  # the first marker began in the chunk before
    assert sink.markers == 3
    for chunk in (b"}", b"}", b",{", b'"'):  # one marker over chunks shorter than it
        sink.write(chunk)
    assert sink.markers == 4
    with pytest.raises(solutions._Enough):
        sink.write(b'd"}},{"e"')
    assert sink.stopped and sink.markers == 5
    sink.write(b"anything the serialiser flushes as it unwinds")
    assert sink.body() == b'{"a":1}},{"b":2}},{"c"}},{"}},{"d"}},{"e"'
    lines = solutions._Sink(b"\n", stop_at=None)
    for chunk in (b"?a\n", b"1\n2", b"\n"):
        lines.write(chunk)
    assert (lines.markers, lines.stopped) == (3, False)


@pytest.mark.parametrize("media_type", [SPARQL_RESULTS_JSON, TSV, SPARQL_RESULTS_XML, CSV])
def test_a_capped_answer_stops_reading_solutions_soon_after_the_cap(ox_store, media_type):
    """The serialiser is stopped once the cap is certainly passed: most solutions of a large
    answer are never read."""
    total = sum(1 for _ in solutions_of(ox_store, EVERY_TRIPLE))
    result = solutions_of(ox_store, EVERY_TRIPLE)
    _, count, truncated = write_solutions(result, media_type, 10)
    assert (count, truncated) == (10, True)
    assert sum(1 for _ in result) > total - 100  # what was left unread
