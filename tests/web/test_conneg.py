"""Content negotiation: the Accept parser and the SPARQL endpoint's format tables."""

import pytest
from flask import Response
from werkzeug.exceptions import NotAcceptable

from poli_kg.web.base.conneg import MediaRange, add_vary, negotiate, parse_accept, quality
from poli_kg.web.sparql.formats import GRAPH_FORMATS, RESULT_FORMATS, choose_format

SRJ = "application/sparql-results+json"
SRX = "application/sparql-results+xml"
CSV = "text/csv"
TSV = "text/tab-separated-values"
TTL = "text/turtle"
NT = "application/n-triples"
JSONLD = "application/ld+json"
RDFXML = "application/rdf+xml"
CHROME = ("text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,"
          "image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7")
FIREFOX = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
SPARQLWRAPPER_JSON = "application/sparql-results+json,application/json,text/javascript,application/javascript"
SPARQLWRAPPER_TURTLE = "application/turtle,text/turtle"


def test_parse_accept_reads_types_and_q_values():
    assert parse_accept("text/csv;q=0.5, Application/JSON") == [
        MediaRange("text", "csv", 0.5), MediaRange("application", "json", 1.0)]


@pytest.mark.parametrize("header", [None, "", "   "])
def test_missing_accept_accepts_anything(header):
    assert parse_accept(header) == [MediaRange("*", "*", 1.0)]


@pytest.mark.parametrize("header, expected", [
    ("*", [MediaRange("*", "*", 1.0)]),
    ("text/csv;q=abc, text/tsv", [MediaRange("text", "tsv", 1.0)]),   # bad q: element ignored
    ("text/csv;q=2", []),                                              # q out of range
    ("nonsense, */csv, text/", []),                                    # malformed ranges
    ("text/csv;charset=utf-8;q=0.3;ext=1", [MediaRange("text", "csv", 0.3)]),
])
def test_parse_accept_edge_cases(header, expected):
    assert parse_accept(header) == expected


def test_most_specific_range_decides_quality():
    ranges = parse_accept("text/*;q=0.3, text/csv;q=0.7, */*;q=0.1")
    assert quality(ranges, "text/csv") == (0.7, 3)
    assert quality(ranges, "text/turtle") == (0.3, 2)
    assert quality(ranges, "application/json") == (0.1, 1)
    assert quality(parse_accept("text/csv"), "application/json") == (0.0, 0)


RESULT_OFFERS = [SRJ, SRX, CSV, TSV]


@pytest.mark.parametrize("header, expected", [
    (None, SRJ),
    ("*/*", SRJ),
    ("application/sparql-results+xml", SRX),
    ("text/csv", CSV),
    ("text/tab-separated-values", TSV),
    ("text/csv;q=0.5, text/tab-separated-values", TSV),
    ("text/csv, */*", CSV),                                 # specific beats wildcard at equal q
    ("text/csv;q=0.5, */*;q=0.8", SRJ),                     # ... but not a higher q
    ("application/*", SRJ),
    ("application/*;q=0.5, text/*", CSV),
    ("*/*;q=0.8, application/sparql-results+json;q=0", SRX),  # q=0 excludes
    ("text/*, text/csv;q=0", TSV),
    (CHROME, SRJ),
    (FIREFOX, SRJ),
    ("text/html", None),
    ("application/json", None),                             # not offered here (only via alias)
    ("*/*;q=0", None),
])
def test_negotiate_results(header, expected):
    assert negotiate(header, RESULT_OFFERS) == expected


@pytest.mark.parametrize("form, header, expected", [
    ("SELECT", None, SRJ),
    ("SELECT", CHROME, SRJ),                               # a browser gets the default
    ("SELECT", SPARQLWRAPPER_JSON, SRJ),
    ("SELECT", "application/json", SRJ),                   # alias
    ("SELECT", "application/sparql-results+xml", SRX),
    ("SELECT", "text/csv", CSV),
    ("ASK", "text/tab-separated-values", TSV),
    ("CONSTRUCT", None, TTL),
    ("CONSTRUCT", CHROME, TTL),
    ("CONSTRUCT", FIREFOX, TTL),
    ("CONSTRUCT", SPARQLWRAPPER_TURTLE, TTL),
    ("CONSTRUCT", "application/x-turtle", TTL),
    ("CONSTRUCT", "application/n-triples", NT),
    ("CONSTRUCT", "application/ld+json", JSONLD),
    ("CONSTRUCT", "application/json", JSONLD),             # alias
    ("DESCRIBE", "application/rdf+xml", RDFXML),
    ("DESCRIBE", "application/rdf+xml;q=0.5, text/turtle;q=0.9", TTL),
])
def test_choose_format_by_accept(form, header, expected):
    assert choose_format(form, header).media_type == expected


@pytest.mark.parametrize("form, value, expected", [
    ("SELECT", "json", SRJ), ("SELECT", "xml", SRX), ("SELECT", "csv", CSV),
    ("ASK", "tsv", TSV), ("SELECT", "TSV", TSV), ("SELECT", SRX, SRX),
    ("CONSTRUCT", "turtle", TTL), ("CONSTRUCT", "ttl", TTL), ("CONSTRUCT", "nt", NT),
    ("CONSTRUCT", "ntriples", NT), ("DESCRIBE", "jsonld", JSONLD), ("DESCRIBE", "rdfxml", RDFXML),
    ("CONSTRUCT", "json", JSONLD), ("CONSTRUCT", "xml", RDFXML), ("CONSTRUCT", TTL, TTL),
])
def test_format_parameter_overrides_accept(form, value, expected):
    assert choose_format(form, "text/html", value).media_type == expected


def test_repeated_format_parameters_take_the_first_that_fits():
    # SPARQLWrapper sends format=tsv&format=text/tab-separated-values (and output=, results=)
    assert choose_format("SELECT", None, ["tsv", TSV]).media_type == TSV
    assert choose_format("CONSTRUCT", None, ["", "nonsense", "rdfxml"]).media_type == RDFXML
    assert choose_format("SELECT", CSV, ["  "]).media_type == CSV  # blank: Accept decides


@pytest.mark.parametrize("form, header, value", [
    ("SELECT", "text/turtle", None),
    ("SELECT", "text/html", None),
    ("CONSTRUCT", "text/csv", None),
    ("CONSTRUCT", "application/sparql-results+json", None),
    ("SELECT", None, "turtle"),
    ("CONSTRUCT", None, "csv"),
    ("SELECT", None, "yaml"),
])
def test_unsatisfiable_requests_are_406_listing_the_types(form, header, value):
    with pytest.raises(NotAcceptable) as info:
        choose_format(form, header, value)
    formats = RESULT_FORMATS if form in ("SELECT", "ASK") else GRAPH_FORMATS
    for fmt in formats:
        assert fmt.media_type in info.value.description


# -- the names and media types clients send (SPARQLWrapper, Jena, curl users) ---------------

SPARQLWRAPPER_N3 = ("application/turtle,text/turtle,text/rdf+n3,application/n-triples,"
                    "application/n3,text/n3")


@pytest.mark.parametrize("form, value, expected", [
    ("SELECT", "json", SRJ), ("ASK", "xml", SRX), ("SELECT", "csv", CSV), ("SELECT", "tsv", TSV),
    ("CONSTRUCT", "turtle", TTL), ("CONSTRUCT", "n3", TTL), ("DESCRIBE", "n3", TTL),
    ("CONSTRUCT", "text/n3", TTL), ("DESCRIBE", "application/turtle", TTL),
    ("CONSTRUCT", "application/x-turtle", TTL), ("CONSTRUCT", "json-ld", JSONLD),
    ("DESCRIBE", "ntriples", NT), ("CONSTRUCT", "rdf+xml", RDFXML), ("DESCRIBE", "json", JSONLD),
    ("DESCRIBE", "xml", RDFXML), ("CONSTRUCT", "N3", TTL),
])
def test_format_names_people_use_map_to_the_form(form, value, expected):
    assert choose_format(form, None, value).media_type == expected


@pytest.mark.parametrize("form, header, expected", [
    ("CONSTRUCT", SPARQLWRAPPER_N3, TTL),
    ("DESCRIBE", "text/n3", TTL),
    ("CONSTRUCT", "text/rdf+n3", TTL),
    ("CONSTRUCT", "application/turtle", TTL),
    ("DESCRIBE", "application/x-turtle;q=0.9, application/rdf+xml;q=0.5", TTL),
    ("CONSTRUCT", "application/x-json+ld", JSONLD),
    ("CONSTRUCT", "text/plain", NT),                       # N-Triples' old media type
])
def test_accept_aliases_map_to_the_form(form, header, expected):
    assert choose_format(form, header).media_type == expected


@pytest.mark.parametrize("form, value", [("SELECT", "n3"), ("ASK", "rdf+xml"),
                                         ("SELECT", "json-ld"), ("CONSTRUCT", "tsv")])
def test_a_format_of_the_other_kind_is_406(form, value):
    with pytest.raises(NotAcceptable):
        choose_format(form, None, value)


# -- Vary --------------------------------------------------------------------------------

def test_add_vary_adds_each_name_once_keeping_what_is_there():
    response = Response(b"x")
    add_vary(response, "Accept")
    assert response.headers.getlist("Vary") == ["Accept"]
    add_vary(response, "accept", "Accept-Encoding", "Origin")
    assert response.headers.getlist("Vary") == ["Accept, Accept-Encoding, Origin"]
    add_vary(response, "Origin")
    assert response.headers["Vary"] == "Accept, Accept-Encoding, Origin"

