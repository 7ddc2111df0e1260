"""A cheap join order for the triple patterns of a SPARQL query's top-level group.

Oxigraph joins the triple patterns of a basic graph pattern mostly in the order written, so a
SHACL-SPARQL query written for one focus node at a time (pyshacl pre-binds $this) can be
quadratic when run for all focus nodes at once.  The patterns of the top-level group are
reordered greedily: next the pattern with the fewest expected matches given the variables
already bound (counts from the store).  The group keeps the same patterns and filters, so the
query means the same; a query outside the small grammar below is run as written.
"""

from __future__ import annotations

import re

from pyoxigraph import Store
from rdflib.namespace import RDF

__all__ = ["reorder"]

RDF_TYPE = str(RDF.type)

_TOKEN = re.compile(r'''
    (?P<ws>\s+|\#[^\n]*)
  | (?P<iri><[^<>"{}|^`\\\s]*>)
  | (?P<string>"""(?:[^"\\]|\\.|"(?!""))*"""|\'\'\'(?:[^'\\]|\\.|'(?!''))*\'\'\'|"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')
  | (?P<var>[?$][A-Za-z0-9_]+)
  | (?P<lang>@[A-Za-z]+(?:-[A-Za-z0-9]+)*)
  | (?P<dtype>\^\^)
  | (?P<number>[+-]?(?:\d+\.\d+|\.\d+|\d+)(?:[eE][+-]?\d+)?)
  | (?P<pname>(?:[A-Za-z][\w-]*(?:\.[\w-]+)*)?:(?:[\w-]+(?:\.[\w-]+)*)?)
  | (?P<word>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<punct>&&|\|\||!=|<=|>=|[{}().;,\[\]=<>!*+/|^?-])
''', re.X)


class _NoReorder(Exception):
    pass


def _tokens(text: str) -> list[tuple[str, str, int, int]]:
    out, pos = [], 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:
            raise _NoReorder(text[pos:pos + 20])
        if m.lastgroup != "ws":
            out.append((m.lastgroup, m.group(), m.start(), m.end()))
        pos = m.end()
    return out


def _balanced(toks: list, i: int, open_: str, close: str) -> int:
    """Index after the token closing the ``open_`` at ``toks[i]``."""
    if toks[i][1] != open_:
        raise _NoReorder(f"expected {open_}")
    depth = 0
    for j in range(i, len(toks)):
        if toks[j][0] == "punct" and toks[j][1] == open_:
            depth += 1
        elif toks[j][0] == "punct" and toks[j][1] == close:
            depth -= 1
            if depth == 0:
                return j + 1
    raise _NoReorder("unbalanced")


def _term(toks: list, i: int, text: str) -> tuple[str, int]:
    kind, value = toks[i][0], toks[i][1]
    if kind in ("iri", "pname", "var", "number") or (kind == "word" and value in ("a", "true", "false")):
        return value, i + 1
    if kind == "string":
        end = i + 1
        if end < len(toks) and toks[end][0] == "lang":
            end += 1
        elif end + 1 < len(toks) and toks[end][0] == "dtype" and toks[end + 1][0] in ("iri", "pname"):
            end += 2
        return text[toks[i][2]:toks[end - 1][3]], end
    raise _NoReorder(f"term {value}")


# Keywords that open a group element kept as written (its variables count as bound after it).
_GROUP_KEYWORDS = ("OPTIONAL", "MINUS", "BIND", "VALUES", "GRAPH", "SERVICE")


def _elements(toks: list, i: int, end: int, text: str) -> list[tuple[str, object]]:
    """The elements of a group body: ("triples", [(s, p, o)]), ("filter", text), ("other", text)."""
    elements = []
    while i < end:
        kind, value = toks[i][0], toks[i][1]
        upper = value.upper() if kind == "word" else ""
        if kind == "punct" and value == ".":
            i += 1
        elif upper == "FILTER":
            j = _filter_end(toks, i)
            elements.append(("filter", text[toks[i][2]:toks[j - 1][3]]))
            i = j
        elif upper in _GROUP_KEYWORDS or (kind == "punct" and value == "{"):
            j = _group_end(toks, i, end, upper)
            elements.append(("other", text[toks[i][2]:toks[j - 1][3]]))
            i = j
        else:
            triples, i = _triples(toks, i, end, text)
            elements.append(("triples", triples))
    return elements


def _filter_end(toks: list, i: int) -> int:
    """Index after the ``FILTER`` at ``toks[i]`` and its expression."""
    j = i + 1
    if toks[j][0] == "punct" and toks[j][1] == "(":
        return _balanced(toks, j, "(", ")")
    if toks[j][0] == "word" and toks[j][1].upper() in ("NOT", "EXISTS"):
        j += 2 if toks[j][1].upper() == "NOT" else 1
        return _balanced(toks, j, "{", "}")
    if toks[j][0] in ("word", "pname", "iri"):
        return _balanced(toks, j + 1, "(", ")")
    raise _NoReorder("filter")


def _group_end(toks: list, i: int, end: int, keyword: str) -> int:
    """Index after the element at ``toks[i]``: ``keyword`` (one of :data:`_GROUP_KEYWORDS`)
    and its group, or (no keyword) a group and the groups ``UNION``-ed to it."""
    if keyword in ("OPTIONAL", "MINUS"):
        return _balanced(toks, i + 1, "{", "}")
    if keyword == "BIND":
        return _balanced(toks, i + 1, "(", ")")
    if keyword == "VALUES":
        j = i + 1
        if toks[j][1] == "(":
            j = _balanced(toks, j, "(", ")")
        else:
            j += 1
        return _balanced(toks, j, "{", "}")
    if keyword in ("GRAPH", "SERVICE"):
        j = i + 1
        if toks[j][0] == "word" and toks[j][1].upper() == "SILENT":
            j += 1
        return _balanced(toks, j + 1, "{", "}")
    j = _balanced(toks, i, "{", "}")
    while j < end and toks[j][0] == "word" and toks[j][1].upper() == "UNION":
        j = _balanced(toks, j + 1, "{", "}")
    return j


def _triples(toks: list, i: int, end: int, text: str) -> tuple[list[tuple[str, str, str]], int]:
    """The triple patterns of the block at ``toks[i]`` (``;`` and ``,`` lists); the index after."""
    triples = []
    subject, i = _term(toks, i, text)
    while True:
        predicate, i = _term(toks, i, text)
        while True:
            obj, i = _term(toks, i, text)
            triples.append((subject, predicate, obj))
            if i < end and toks[i][1] == ",":
                i += 1
                continue
            break
        if i < end and toks[i][1] == ";":
            while i < end and toks[i][1] == ";":
                i += 1
            if i < end and toks[i][1] not in (".", "}") and toks[i][0] != "word" or (
                    i < end and toks[i][0] == "word" and toks[i][1] == "a"):
                continue
        break
    return triples, i


class _Stats:
    """Triple counts of the store, per predicate (and predicate + object)."""

    def __init__(self, store: Store, prefixes: dict[str, str]) -> None:
        self.store = store
        self.prefixes = prefixes
        self.cache: dict = {}

    def iri(self, term: str) -> str | None:
        if term.startswith("<"):
            return term
        if term == "a":
            return f"<{RDF_TYPE}>"
        if ":" in term and not term.startswith(("?", "$", '"', "'")):
            prefix, local = term.split(":", 1)
            if prefix in self.prefixes:
                return f"<{self.prefixes[prefix]}{local}>"
        return None

    def count(self, query: str) -> tuple[int, ...]:
        if query not in self.cache:
            row = next(iter(self.store.query(query)))
            self.cache[query] = tuple(int(row[v].value) if row[v] is not None else 0
                                      for v in ("n", "s", "o"))
        return self.cache[query]

    def estimate(self, triple: tuple[str, str, str], bound: set[str]) -> float:
        s, p, o = triple
        is_var = lambda t: t[0] in "?$"  # noqa: E731
        s_bound = not is_var(s) or s[1:] in bound
        o_bound = not is_var(o) or o[1:] in bound
        predicate = self.iri(p) if not is_var(p) else None
        if predicate is None:
            n = self.count("SELECT (COUNT(*) AS ?n) (1 AS ?s) (1 AS ?o) WHERE { ?x ?y ?z }")[0]
            return n / (1000 if s_bound else 1) / (1000 if o_bound else 1)
        n, ds, do = self.count(f"SELECT (COUNT(*) AS ?n) (COUNT(DISTINCT ?x) AS ?s) "
                               f"(COUNT(DISTINCT ?z) AS ?o) WHERE {{ ?x {predicate} ?z }}")
        if not is_var(o):
            value = self.iri(o) or o
            n = self.count(f"SELECT (COUNT(*) AS ?n) (1 AS ?s) (1 AS ?o) WHERE {{ ?x {predicate} {value} }}")[0]
            return min(n, 1) if s_bound else n
        if s_bound and o_bound:
            return min(n, 1)
        if s_bound:
            return n / max(ds, 1)
        if o_bound:
            return n / max(do, 1)
        return n


def _order(triples: list, bound: set[str], stats: _Stats) -> list:
    remaining = list(triples)
    ordered = []
    bound = set(bound)
    names = lambda t: {x[1:] for x in t if x[0] in "?$"}  # noqa: E731
    while remaining:
        connected = [t for t in remaining if not names(t) or names(t) & bound] if bound else []
        pool = connected or remaining
        best = min(pool, key=lambda t: stats.estimate(t, bound))
        remaining.remove(best)
        ordered.append(best)
        bound |= names(best)
    return ordered


def reorder(query: str, store: Store) -> str:
    """``query`` with the triple patterns of its top-level group in a cheap join order."""
    try:
        toks = _tokens(query)
        prefixes = {m.group(1): m.group(2) for m in re.finditer(
            r"PREFIX\s+([\w-]*):\s*<([^>]*)>", query, re.I)}
        where = next(i for i, t in enumerate(toks) if t[0] == "word" and t[1].upper() == "WHERE")
        start = where + 1
        end = _balanced(toks, start, "{", "}")
        elements = _elements(toks, start + 1, end - 1, query)
        stats = _Stats(store, prefixes)
        parts, bound, run, filters = [], set(), [], []

        def flush() -> None:
            nonlocal run, filters
            for s, p, o in _order(run, bound, stats):
                parts.append(f"{s} {p} {o} .")
                bound.update(x[1:] for x in (s, p, o) if x[0] in "?$")
            parts.extend(filters)
            run, filters = [], []

        for kind, value in elements:
            if kind == "triples":
                run += value
            elif kind == "filter":
                filters.append(value)
            else:
                flush()
                parts.append(value)
                bound.update(re.findall(r"[?$]([A-Za-z0-9_]+)", value))
        flush()
        body = "{\n    " + "\n    ".join(parts) + "\n}"
        return query[:toks[start][2]] + body + query[toks[end - 1][3]:]
    except (_NoReorder, StopIteration, IndexError):
        return query
