"""SPARQL queries on a build's on-disk store, answered as the ``poli-kg query`` command prints them.

The default graph is the union of the named graphs, and the project's prefixes are
predeclared.  SELECT and ASK answers are an aligned text table (terms as prefixed names and
quoted literals) or a SPARQL results document; CONSTRUCT and DESCRIBE answers a table of
sorted triples, Turtle or N-Triples.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pyoxigraph as ox
from rdflib import Literal, URIRef

from poli_kg.buildfolder import STORE_DIR
from poli_kg.graph.validation import compact_iri, display_term
from poli_kg.namespaces import PREFIXES

__all__ = ["FORMATS", "query_build", "run_query", "show_term", "format_table"]

MAX_CELL = 80
RESULT_FORMATS = {"json": ox.QueryResultsFormat.JSON, "csv": ox.QueryResultsFormat.CSV,
                  "tsv": ox.QueryResultsFormat.TSV, "xml": ox.QueryResultsFormat.XML}
# Every answer format: the table, the results formats, and the graph formats.
FORMATS = ("table", *RESULT_FORMATS, "turtle", "ntriples")


def show_term(term: object) -> str:
    """A pyoxigraph term in readable Turtle-like form (prefixed names, quoted literals)."""
    if term is None:
        return ""
    if isinstance(term, ox.NamedNode):
        return compact_iri(term.value)
    if isinstance(term, ox.BlankNode):
        return f"_:{term.value}"
    if isinstance(term, ox.Literal):
        if term.language:
            return display_term(Literal(term.value, lang=term.language))
        return display_term(Literal(term.value, datatype=URIRef(term.datatype.value)))
    return str(term)


def format_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """An aligned text table; cells longer than MAX_CELL are shortened with '…'."""
    def cell(text: str) -> str:
        text = " ".join(text.split())
        return text if len(text) <= MAX_CELL else text[: MAX_CELL - 1] + "…"

    body = [[cell(c) for c in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in body]) for i, h in enumerate(header)]
    lines = [" | ".join(h.ljust(w) for h, w in zip(header, widths)).rstrip(),
             "-+-".join("-" * w for w in widths)]
    lines += [" | ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in body]
    lines.append(f"({len(body)} row{'s' if len(body) != 1 else ''})")
    return "\n".join(lines) + "\n"


def query_build(out_dir: Path | str, query: str, fmt: str) -> str | bytes:
    """:func:`run_query` on the on-disk store of the build in ``out_dir`` (opened read-only)."""
    store = ox.Store.read_only(str(Path(out_dir) / STORE_DIR))
    return run_query(store, query, fmt)


def run_query(store: ox.Store, query: str, fmt: str) -> str | bytes:
    """Run ``query`` on ``store`` (union default graph, project prefixes predeclared).

    Raises ``SyntaxError`` for a bad query and ``ValueError`` for a format that does not
    suit the query's form.
    """
    prefixes = {p: str(ns) for p, ns in PREFIXES.items()}
    result = store.query(query, prefixes=prefixes, use_default_graph_as_union=True)
    if isinstance(result, ox.QuerySolutions):
        if fmt == "table":
            header = [v.value for v in result.variables]
            rows = [[show_term(s[v]) for v in result.variables] for s in result]
            return format_table(header, rows)
        if fmt in RESULT_FORMATS:
            return result.serialize(format=RESULT_FORMATS[fmt])
        raise ValueError(f"--format {fmt} is for CONSTRUCT/DESCRIBE; use table, json, csv or tsv")
    if isinstance(result, ox.QueryBoolean):
        if fmt == "table":
            return "true\n" if bool(result) else "false\n"
        if fmt in RESULT_FORMATS:
            return result.serialize(format=RESULT_FORMATS[fmt])
        raise ValueError(f"--format {fmt} is for CONSTRUCT/DESCRIBE; use table or json")
    return _graph_answer(result, fmt, prefixes)


def _graph_answer(result: ox.QueryTriples, fmt: str, prefixes: dict[str, str]) -> str | bytes:
    """The triples of a CONSTRUCT or DESCRIBE answer, sorted, in ``fmt``."""
    triples = sorted(result, key=lambda t: (str(t.subject), str(t.predicate), str(t.object)))
    if fmt == "table":
        rows = [[show_term(t.subject), show_term(t.predicate), show_term(t.object)] for t in triples]
        return format_table(["subject", "predicate", "object"], rows)
    if fmt in ("turtle", "ntriples"):
        iris = {x.value for t in triples for x in (t.subject, t.predicate, t.object)
                if isinstance(x, ox.NamedNode)}
        used = {p: ns for p, ns in prefixes.items() if any(i.startswith(ns) for i in iris)}
        if fmt == "ntriples":
            return ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES)
        return ox.serialize(triples, format=ox.RdfFormat.TURTLE, prefixes=used)
    raise ValueError(f"--format {fmt} is for SELECT/ASK; use table, turtle or ntriples")
