"""The SPARQL lexer that finds query forms, updates, SERVICE and FROM before any engine runs."""

import pytest

from poli_kg.store.lexer import expand_unicode_escapes, scan, tokens

G = "https://w3id.org/poli-kg/graph/"


@pytest.mark.parametrize("query, form", [
    ("SELECT * WHERE { ?s ?p ?o }", "SELECT"),
    ("select * { ?s ?p ?o }", "SELECT"),
    ("ASK {}", "ASK"),
    ("CONSTRUCT WHERE { ?s ?p ?o }", "CONSTRUCT"),
    ("DESCRIBE <http://e/x>", "DESCRIBE"),
    ("PREFIX ex: <http://e/> BASE <http://e/> PREFIX : <x#> ASK {}", "ASK"),
    ("# a comment with SELECT\nPREFIX select: <http://e/>\n  describe select:x", "DESCRIBE"),
    ("SELEC x", None),
    ("", None),
])
def test_query_form_after_prologue(query, form):
    assert scan(query).form == form


@pytest.mark.parametrize("query", [
    "INSERT DATA { <a> <b> <c> }",
    "DELETE WHERE { ?s ?p ?o }",
    "PREFIX ex: <http://e/> DELETE { ?s ?p ?o } INSERT { ?s ?p 1 } WHERE { ?s ?p ?o }",
    "WITH <http://e/g> DELETE { ?s ?p ?o } WHERE { ?s ?p ?o }",
    "LOAD <http://example.org/data.ttl>",
    "CLEAR ALL", "clear default", "DROP GRAPH <http://e/g>", "CREATE GRAPH <http://e/g>",
    "ADD DEFAULT TO <http://e/g>", "MOVE <http://e/a> TO <http://e/b>", "COPY DEFAULT TO <http://e/g>",
    "SELECT * { ?s ?p ?o } ; INSERT DATA { <a> <b> <c> }",
    "\\u0049NSERT DATA { <a> <b> <c> }",
])
def test_updates_are_recognised(query):
    assert scan(query).is_update


@pytest.mark.parametrize("query", [
    'SELECT * { ?s ?p "INSERT DATA" }',
    "SELECT * { ?s ?p '''DELETE\nWHERE''' }",
    "SELECT * { ?s ?p ?o } # DROP ALL",
    "SELECT ?insert ?delete { ?insert <http://e/load> ?delete }",
    "PREFIX add: <http://e/> SELECT * { ?s add:copy ?o }",
    'SELECT * { ?s ?p "x"@add }',
    "SELECT * { <http://e/INSERT> ?p ?o }",
])
def test_update_words_in_strings_iris_names_are_not_updates(query):
    assert not scan(query).is_update


@pytest.mark.parametrize("query", [
    "SELECT * { SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } }",
    "select * { service silent <http://x/> { ?s ?p ?o } }",
    "SELECT * { SERVICE ?endpoint { ?s ?p ?o } }",
    "SELECT * { SERVICE<http://x/>{ ?s ?p ?o } }",
    "PREFIX : <http://x/> SELECT * { SERVICE:x { ?s ?p ?o } }",      # keyword glued to a name
    "SELECT * { ?s ?p trueSERVICE<http://x/>{ ?s ?p ?o } }",        # oxigraph runs this
    "SELECT * { ?s ?p 1SERVICE<http://x/>{} }",
    "SELECT * { ?s ?p ?o .SERVICE<http://x/>{} }",
    "SELECT * { \\u0053ERVICE <http://x/> {} }",                   # rdflib expands \\u first
    "SELECT * { \\U00000053ERVICE <http://x/> {} }",
    "PREFIX ex: <http://e/> SELECT * { ?s ?p ex:a\\# \n SERVICE <http://x/> {} }",  # \\# in a name
    "PREFIX ex: <http://e/> SELECT * { ?s ?p ex:a\\#b SERVICE <http://x/> {} }",
    "SELECT * { ?s ?p '''it''s''' SERVICE <http://x/> {} }",
    "SELECT * { ?s ?p 'a\\'b' SERVICE <http://x/> {} }",
    "SELECT * { FILTER(?a <?b) SERVICE <http://x/> {} }",            # < as an operator
    "SELECT * { ?s ?p \"unterminated SERVICE <http://x/> {} }",
])
def test_service_is_found_in_every_spelling(query):
    assert scan(query).service


@pytest.mark.parametrize("query", [
    'SELECT * { ?s ?p "SERVICE <http://x/> {}" }',
    "SELECT * { ?s ?p ?o } # SERVICE <http://x/> {}",
    "SELECT * { <http://e/SERVICE> ?p ?o }",
    "PREFIX schema: <http://schema.org/> SELECT * { ?s a schema:ServiceChannel }",
    "SELECT ?service { ?service ?p ?o }",
])
def test_service_inside_strings_iris_comments_names_is_not_service(query):
    assert not scan(query).service


def test_from_and_from_named_are_resolved():
    info = scan(f"PREFIX g: <{G}> BASE <{G}> SELECT * FROM g:data FROM <ontology> "
                f"FROM NAMED <{G}provenance> FROM NAMED g:inf\\.x {{ ?s ?p ?o }}")
    assert info.from_graphs == (G + "data", G + "ontology")
    assert info.from_named_graphs == (G + "provenance", G + "inf.x")
    assert info.unresolved_graphs == ()
    assert info.has_dataset_clause


@pytest.mark.parametrize("query", [
    "SELECT * FROMx:g { ?s ?p ?o }",
    "SELECT * FROMNAMED<http://e/g> { ?s ?p ?o }",
    "PREFIX : <http://e/> SELECT * FROM:g { ?s ?p ?o }",
    "SELECT * FROM undeclared:g { ?s ?p ?o }",
    "SELECT * FROM ?g { ?s ?p ?o }",
    "ASK FROM",
])
def test_unclear_from_clauses_are_reported(query):
    info = scan(query)
    assert info.unresolved_graphs
    assert info.has_dataset_clause


def test_no_dataset_clause():
    info = scan('SELECT * { ?s ?p "FROM <http://e/g>" } # FROM <http://e/h>')
    assert not info.has_dataset_clause


def test_unicode_escapes_are_expanded_like_rdflib_does():
    assert expand_unicode_escapes("\\u0053\\U00000045x") == "SEx"
    info = scan("SELECT * \\u0046ROM <http://e/g> {}")
    assert info.from_graphs == ("http://e/g",)


def test_tokens_skip_whitespace_and_comments():
    kinds = [t.kind for t in tokens("SELECT ?x # c\n{ ?x <http://e/p> 'v'@en . ex:a _:b 12 }")]
    assert kinds == ["WORD", "VAR", "OTHER", "VAR", "IRI", "STRING", "LANGTAG", "OTHER",
                     "PNAME", "BNODE", "NUMBER", "OTHER"]


def test_long_queries_are_scanned_whole():
    query = "SELECT * {\n" + "  ?s <http://e/p> 'x' .\n" * 5000 + "  SERVICE <http://x/> {} }"
    info = scan(query)
    assert info.form == "SELECT" and info.service


# -- pre-binding variables -----------------------------------------------------------------

from poli_kg.store.lexer import bind_variables  # noqa: E402

S = "<http://e/s>"


@pytest.mark.parametrize("query, expected", [
    ("SELECT ?x WHERE { ?r ?p ?x }", "SELECT ?x WHERE { <http://e/s> ?p ?x }"),
    ("SELECT ?r ?x WHERE { $r ?p ?x }", "SELECT (<http://e/s> AS ?r) ?x WHERE { <http://e/s> ?p ?x }"),
    ("SELECT DISTINCT ?r (STR(?r) AS ?t) { ?r ?p ?x }",
     "SELECT DISTINCT (<http://e/s> AS ?r) (STR(<http://e/s>) AS ?t) { <http://e/s> ?p ?x }"),
    ("SELECT ?r (COUNT(*) AS ?n) { ?r ?p ?x } GROUP BY ?r ORDER BY ?r DESC(?n)",
     "SELECT ?r (COUNT(*) AS ?n) { <http://e/s> ?p ?x } GROUP BY (<http://e/s> AS ?r) "
     "ORDER BY (<http://e/s>) DESC(?n)"),
    ("SELECT ?x { ?r ?p ?x BIND(?r AS ?y) }", "SELECT ?x { <http://e/s> ?p ?x BIND(<http://e/s> AS ?y) }"),
    ("SELECT ?x { ?x ?p ?o BIND(1 AS ?r) }", "SELECT ?x { ?x ?p ?o BIND(1 AS ?r) }"),
    ('SELECT ?x { ?r ?p "?r" } # ?r', 'SELECT ?x { <http://e/s> ?p "?r" } # ?r'),
    ("SELECT ?rr ?x { ?rr ?p ?x }", "SELECT ?rr ?x { ?rr ?p ?x }"),
    ("DESCRIBE ?r", "DESCRIBE <http://e/s>"),
    ("CONSTRUCT WHERE { ?r ?p ?o }", "CONSTRUCT WHERE { <http://e/s> ?p ?o }"),
    ("SELECT * { ?r ?p ?o }", "SELECT * { <http://e/s> ?p ?o }"),
    ("SELECT ?x { { SELECT ?r ?x { ?r ?p ?x } } }",
     "SELECT ?x { { SELECT (<http://e/s> AS ?r) ?x { <http://e/s> ?p ?x } } }"),
])
def test_bind_variables(query, expected):
    assert bind_variables(query, {"r": S}) == expected


def test_bind_variables_without_terms_is_identity():
    assert bind_variables("SELECT ?r { ?r ?p ?o }", {}) == "SELECT ?r { ?r ?p ?o }"
