"""A small, fast, conservative SPARQL lexer: what does a request ask for?

:func:`scan` reads a query string and reports

* the query form (``SELECT``, ``ASK``, ``CONSTRUCT``, ``DESCRIBE``) found after
  the ``PREFIX`` / ``BASE`` prologue;
* SPARQL Update keywords (``INSERT``, ``DELETE``, ``LOAD``, ``CLEAR``, ``DROP``,
  ``CREATE``, ``ADD``, ``MOVE``, ``COPY``, ``WITH``);
* ``SERVICE`` (federated query: the engines would send HTTP requests);
* the IRIs named by ``FROM`` and ``FROM NAMED`` (prefixed names and relative IRIs
  resolved).

It is not a parser.  It only has to agree with the real parsers (oxigraph's and
rdflib's) on where strings, IRIs and comments begin and end, and it errs on the
side of refusing.  Both parsers accept keywords glued to neighbouring tokens
(oxigraph runs ``?s ?p trueSERVICE<http://…>{}`` and ``FROMx:g``), so any word
*containing* ``SERVICE`` or ``FROM``, or a prefixed name whose prefix contains them,
counts; a ``FROM`` whose graph cannot be read plainly is reported in
``unresolved_graphs``.  rdflib expands ``\\uXXXX`` escapes anywhere in the query
before parsing, so the text is scanned both as written and with escapes expanded
and the findings are merged.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urljoin

QUERY_FORMS = ("SELECT", "ASK", "CONSTRUCT", "DESCRIBE")
UPDATE_KEYWORDS = frozenset(
    {"INSERT", "DELETE", "LOAD", "CLEAR", "DROP", "CREATE", "ADD", "MOVE", "COPY", "WITH"}
)

_PLX = r"(?:%[0-9A-Fa-f]{2}|\\[_~.\-!$&'()*+,;=/?#@%])"
_LOCAL_CHAR = rf"(?:[\w:\-\u00B7]|{_PLX})"
_LOCAL = rf"(?:{_LOCAL_CHAR}(?:(?:{_LOCAL_CHAR}|\.)*{_LOCAL_CHAR})?)?"
_LONG_STRINGS = (
    r"'''(?:(?:'|'')?(?:[^'\\]|\\.))*'''",
    r'"""(?:(?:"|"")?(?:[^"\\]|\\.))*"""',
)
_SHORT_BODIES = (r"'(?:[^'\\\r\n]|\\.)*", r'"(?:[^"\\\r\n]|\\.)*')
_TOKEN_PARTS = r"""
      (?P<WS>\s+)
    | (?P<COMMENT>\#[^\r\n]*)
    | (?P<STRING>{strings})
    | (?P<UNCLOSED>{unclosed})
    | (?P<IRI><[^<>"{{}}|^`\\\x00-\x20]*>)
    | (?P<VAR>[?$]\w*)
    | (?P<LANGTAG>@[A-Za-z]+(?:-[A-Za-z0-9]+)*)
    | (?P<BNODE>_:[\w.\-]*)
    | (?P<PNAME>{prefix}:{local})
    | (?P<WORD>[^\W\d]\w*)
    | (?P<NUMBER>\d+)
    | (?P<OTHER>.)
    """
_PREFIX = r"(?:[^\W\d_](?:[\w.\-]*[\w\-])?)?"
_PREFIX_RUN = re.compile(r"[\w.\-]+")
_NEVER = "(?!)"


@functools.lru_cache(maxsize=None)
def _token_pattern(long: tuple[bool, bool], short: tuple[bool, bool],
                   prefixed: bool) -> re.Pattern[str]:
    """The token regex without the string forms (``'``, ``"``) and prefixed names left out.

    The regex engine tries each form at each token start, and a form that fails has
    scanned as far as it could first; retried at every token of a long run that is
    quadratic (a 100 kB query took a minute).  :func:`tokens` leaves out the forms it
    knows cannot match where it is: the tokens are the same, found in linear time.
    """
    strings = [form for form, keep in zip(_LONG_STRINGS, long) if keep]
    strings += [body + body[0] for body, keep in zip(_SHORT_BODIES, short) if keep]
    unclosed = [body for body, keep in zip(_SHORT_BODIES, short) if keep]
    return re.compile(_TOKEN_PARTS.format(
        strings="|".join(strings) or _NEVER, unclosed="|".join(unclosed) or _NEVER,
        prefix=_PREFIX if prefixed else "", local=_LOCAL), re.VERBOSE | re.DOTALL)


_TOKEN = _token_pattern((True, True), (True, True), True)
_UNICODE_ESCAPE = re.compile(r"\\u([0-9A-Fa-f]{4})|\\U([0-9A-Fa-f]{8})")
_PLX_ESCAPE = re.compile(r"\\([_~.\-!$&'()*+,;=/?#@%])")


@dataclass(frozen=True)
class QueryInfo:
    """What :func:`scan` found in a query string."""

    form: str | None = None
    """``SELECT``, ``ASK``, ``CONSTRUCT`` or ``DESCRIBE``; ``None`` if not found."""
    update_keywords: tuple[str, ...] = ()
    """SPARQL Update keywords found outside strings, IRIs and comments."""
    service: bool = False
    """Whether ``SERVICE`` (federated query) appears."""
    from_graphs: tuple[str, ...] = ()
    """IRIs named by ``FROM``."""
    from_named_graphs: tuple[str, ...] = ()
    """IRIs named by ``FROM NAMED``."""
    unresolved_graphs: tuple[str, ...] = ()
    """Text of ``FROM`` clauses whose graph IRI could not be determined."""

    @property
    def is_update(self) -> bool:
        """Whether the text is (or contains) a SPARQL Update operation."""
        return bool(self.update_keywords)

    @property
    def has_dataset_clause(self) -> bool:
        """Whether the query chooses its own dataset with FROM / FROM NAMED."""
        return bool(self.from_graphs or self.from_named_graphs or self.unresolved_graphs)

    def merge(self, other: QueryInfo) -> QueryInfo:
        """Union of two findings (the form of ``self`` wins when both have one)."""
        return QueryInfo(
            form=self.form or other.form,
            update_keywords=_union(self.update_keywords, other.update_keywords),
            service=self.service or other.service,
            from_graphs=_union(self.from_graphs, other.from_graphs),
            from_named_graphs=_union(self.from_named_graphs, other.from_named_graphs),
            unresolved_graphs=_union(self.unresolved_graphs, other.unresolved_graphs),
        )


def _union(a: tuple[str, ...], b: tuple[str, ...]) -> tuple[str, ...]:
    """Items of ``a`` then those of ``b`` not in ``a``, in order."""
    return tuple(dict.fromkeys(a + b))


@dataclass(frozen=True)
class Token:
    """One lexical token: its kind (a group name of ``_TOKEN``), its text and where it starts."""

    kind: str
    text: str
    start: int = 0

    @property
    def end(self) -> int:
        """Offset just after the token."""
        return self.start + len(self.text)

    def is_word(self, *words: str) -> bool:
        """Whether this is a bare word (keyword) among ``words`` (upper case)."""
        return self.kind == "WORD" and self.text.upper() in words


def tokens(query: str) -> list[Token]:
    """Tokens of ``query`` without whitespace and comments, in time linear in its length.

    Where a form cannot match it is left out of the regex (:func:`_token_pattern`):

    * a prefixed name starting inside a run of ``[\\w.-]`` characters needs the run to
      end with ``:`` (and not with ``.:``); every position of the run shares that end;
    * a string that does not close where it opens (a quote read as ``OTHER``) does not
      close at any later quote of its kind up to where its scan stopped (those quotes
      are escaped, and their scans join the first one at a boundary they share); for a
      long string (``'''``, ``\"\"\"``) that is the end of the query, so later openers
      are read as an empty string and a quote, as the engines read them.
    """
    runs = [(m.start(), m.end()) for m in _PREFIX_RUN.finditer(query)]
    out: list[Token] = []
    long_open = [True, True]   # per quote (' "): may a long string still close?
    short_bad = [0, 0]         # per quote: short strings cannot close before this offset
    pos, run, size = 0, 0, len(query)
    while pos < size:
        while run < len(runs) and runs[run][1] <= pos:
            run += 1
        prefixed = True
        if run < len(runs) and runs[run][0] <= pos:
            end = runs[run][1]
            prefixed = end < size and query[end] == ":" and query[end - 1] != "."
        short = (pos >= short_bad[0], pos >= short_bad[1])
        m = _token_pattern(tuple(long_open), short, prefixed).match(query, pos)
        assert m is not None  # OTHER matches any character
        kind, text = m.lastgroup or "OTHER", m.group()
        quote = "'\"".find(text[0])
        if kind == "STRING" and len(text) == 2 and query.startswith(text[0] * 3, pos):
            long_open[quote] = False
        elif kind == "UNCLOSED":
            short_bad[quote] = m.end()
            kind, text = "OTHER", text[0]
        if kind not in ("WS", "COMMENT"):
            out.append(Token(kind, text, pos))
        pos += len(text)
    return out


def expand_unicode_escapes(query: str) -> str:
    """Replace ``\\uXXXX`` and ``\\UXXXXXXXX`` escapes by their characters."""
    def replace(m: re.Match[str]) -> str:
        code = int(m.group(1) or m.group(2), 16)
        return chr(code) if code <= 0x10FFFF else m.group()

    return _UNICODE_ESCAPE.sub(replace, query)


ANALYSIS_CACHE = 256
"""Queries whose :func:`scan` and :func:`nesting` are remembered (the endpoint and the query
process analyse every query; clients send the same queries again and again)."""


@functools.lru_cache(maxsize=ANALYSIS_CACHE)
def scan(query: str) -> QueryInfo:
    """Analyse ``query`` as written and with unicode escapes expanded; merge the findings."""
    info = _scan_text(query)
    expanded = expand_unicode_escapes(query)
    if expanded != query:
        info = info.merge(_scan_text(expanded))
    return info


def _scan_text(query: str) -> QueryInfo:
    """Analyse one spelling of a query (see :func:`scan`)."""
    toks = tokens(query)
    prefixes: dict[str, str] = {}
    base: str | None = None
    form: str | None = None
    updates: list[str] = []
    service = False
    from_graphs: list[str] = []
    from_named: list[str] = []
    unresolved: list[str] = []

    i = 0
    # Prologue: BASE <iri> | PREFIX pname: <iri>
    while i < len(toks):
        word = toks[i].text.upper() if toks[i].kind == "WORD" else ""
        if word == "BASE" and i + 1 < len(toks) and toks[i + 1].kind == "IRI":
            base = _resolve(toks[i + 1].text[1:-1], base)
            i += 2
        elif (word == "PREFIX" and i + 2 < len(toks) and toks[i + 1].kind == "PNAME"
              and toks[i + 1].text.endswith(":") and toks[i + 2].kind == "IRI"):
            prefixes[toks[i + 1].text[:-1]] = _resolve(toks[i + 2].text[1:-1], base)
            i += 3
        else:
            break
    if i < len(toks) and toks[i].kind == "WORD" and toks[i].text.upper() in QUERY_FORMS:
        form = toks[i].text.upper()

    while i < len(toks):
        tok = toks[i]
        upper = tok.text.upper()
        if tok.kind == "WORD":
            head = upper
        elif tok.kind == "PNAME":
            head = upper.split(":", 1)[0]
        else:
            i += 1
            continue
        if tok.kind == "WORD" and upper in UPDATE_KEYWORDS:
            updates.append(upper)
        if "SERVICE" in head:
            service = True
        if "FROM" in head:
            i = _read_from(toks, i, prefixes, base, from_graphs, from_named, unresolved)
            continue
        i += 1
    return QueryInfo(
        form=form,
        update_keywords=tuple(dict.fromkeys(updates)),
        service=service,
        from_graphs=tuple(dict.fromkeys(from_graphs)),
        from_named_graphs=tuple(dict.fromkeys(from_named)),
        unresolved_graphs=tuple(dict.fromkeys(unresolved)),
    )


def _read_from(
    toks: list[Token],
    i: int,
    prefixes: dict[str, str],
    base: str | None,
    from_graphs: list[str],
    from_named: list[str],
    unresolved: list[str],
) -> int:
    """Read a dataset clause starting at ``toks[i]``; record its graph; return the next index."""
    tok = toks[i]
    if tok.kind != "WORD" or tok.text.upper() != "FROM":
        unresolved.append(tok.text)  # glued spelling such as FROMx:g or FROMNAMED
        return i + 1
    j = i + 1
    named = j < len(toks) and toks[j].kind == "WORD" and toks[j].text.upper() == "NAMED"
    if named:
        j += 1
    if j >= len(toks):
        unresolved.append(" ".join(t.text for t in toks[i:j]))
        return j
    target = toks[j]
    iri: str | None = None
    if target.kind == "IRI":
        iri = _resolve(target.text[1:-1], base)
    elif target.kind == "PNAME":
        prefix, local = target.text.split(":", 1)
        if prefix in prefixes and "FROM" not in prefix.upper() and prefix.upper() != "NAMED":
            iri = prefixes[prefix] + _PLX_ESCAPE.sub(r"\1", local)
    if iri is None:
        unresolved.append(" ".join(t.text for t in toks[i:j + 1]))
    elif named:
        from_named.append(iri)
    else:
        from_graphs.append(iri)
    return j + 1


def _resolve(iri: str, base: str | None) -> str:
    """Resolve a possibly relative IRI against ``base`` (left as is without a base)."""
    return urljoin(base, iri) if base else iri


# -- how deeply a query nests ------------------------------------------------------------

_OPEN, _CLOSE = "({[", ")}]"
_CHAIN_MARKS = frozenset(".,;|/^+-*!=<>&")
_CHAIN_WORDS = frozenset({"UNION", "MINUS", "OPTIONAL", "FILTER", "BIND", "GRAPH", "EXISTS",
                          "NOT", "SERVICE", "VALUES", "AS"})
_TERMS = frozenset({"VAR", "IRI", "PNAME", "STRING", "NUMBER", "BNODE"})


@functools.lru_cache(maxsize=ANALYSIS_CACHE)
def nesting(query: str) -> int:
    """An upper bound on how deeply the engines' syntax trees of ``query`` nest.

    Query engines walk syntax trees recursively, and oxigraph's query process dies of a
    stack overflow (SIGSEGV) at a few thousand levels.  Brackets nest: ``{{{…}}}``,
    ``((…))``, ``[ ?p [ ?p …] ]``.  So do sequences, which become left-deep trees:
    ``1+1+…``, ``a && b && …``, ``{} UNION {} UNION …``, ``{…} {…} …``, ``?s ?p ?o, ?o, …``,
    triple patterns, property paths ``<p>/<p>/…``, ``!!…``, rows of ``OPTIONAL`` / ``MINUS``
    / ``FILTER`` / ``BIND``, projections ``(… AS ?v) (… AS ?w) …``, the items of a
    collection ``( 1 2 3 … )``, the resources of ``DESCRIBE``.

    The bound counts, at each token, the open brackets plus, in each enclosing group, the
    operators, separators, groups and ``AS`` / ``UNION`` / … keywords met so far, and the
    terms met so far in a parenthesised group without commas (a collection) or at the
    top level of a ``DESCRIBE`` query (``DESCRIBE <a> <b> …``).  Not counted, as they do
    not nest: the prologue, the rows of a ``VALUES`` block, arguments (``f(a, b, …)``,
    ``IN (a, b, …)``).  The query is read as written and with unicode escapes expanded
    (as rdflib reads it); the larger bound is returned.
    """
    text = expand_unicode_escapes(query)
    return max(_nesting(query), _nesting(text) if text != query else 0)


def _nesting(query: str) -> int:
    toks = tokens(query)
    with_commas = _groups_with_commas(toks)
    groups: list[str] = []   # the open brackets
    counts: list[int] = [0]  # what was counted in each open group (the first: the query)
    data = -1                # depth of the VALUES block being read (-1: none)
    values_next = False      # the next "{" opens a VALUES block
    prologue = True
    describe = False         # a DESCRIBE query: its top-level terms are a sequence
    total = deepest = 0
    for i, tok in enumerate(toks):
        kind, text = tok.kind, tok.text
        if prologue and not (tok.is_word("PREFIX", "BASE") or
                             (i > 0 and toks[i - 1].is_word("PREFIX", "BASE")) or
                             (i > 1 and toks[i - 2].is_word("PREFIX"))):
            prologue = False
        counted = 0
        if kind == "OTHER" and text in _OPEN:
            if data < 0:
                counted = 1
                if text == "{" and values_next:
                    data, values_next = len(groups) + 1, False
            counts[-1] += counted
            total += counted
            groups.append(text if text != "(" or i not in with_commas else ",")
            counts.append(0)
            deepest = max(deepest, len(groups) + total)
            continue
        if kind == "OTHER" and text in _CLOSE:
            if groups:
                if len(groups) == data:
                    data = -1
                groups.pop()
                total -= counts.pop()
            continue
        if data >= 0 or prologue:
            pass
        elif kind == "OTHER" and text in _CHAIN_MARKS:
            counted = int(not (text in ",;" and groups and groups[-1] in "(,"))
        elif kind == "WORD" and text.upper() in _CHAIN_WORDS:
            counted = 1
            values_next = values_next or text.upper() == "VALUES"
        elif kind in _TERMS:
            counted = int(groups[-1] == "(" if groups else describe)
        elif tok.is_word("DESCRIBE") and not groups:
            describe = True
        counts[-1] += counted
        total += counted
        deepest = max(deepest, len(groups) + total)
    return deepest


def _groups_with_commas(toks: list[Token]) -> set[int]:
    """Indexes of the ``(`` tokens whose group holds a comma of its own (an argument list)."""
    found: set[int] = set()
    stack: list[int] = []
    for i, tok in enumerate(toks):
        if tok.kind != "OTHER":
            continue
        if tok.text in _OPEN:
            stack.append(i)
        elif tok.text in _CLOSE:
            if stack:
                stack.pop()
        elif tok.text == "," and stack and toks[stack[-1]].text == "(":
            found.add(stack[-1])
    return found


# -- pre-binding variables --------------------------------------------------------------

_MODIFIER_END = ("HAVING", "ORDER", "GROUP", "LIMIT", "OFFSET", "VALUES")


def bind_variables(query: str, terms: Mapping[str, str]) -> str:
    """Pre-bind variables: replace ``?name`` / ``$name`` by ``terms[name]`` (SPARQL syntax).

    Like rdflib's ``initBindings``, but done on the text so that every engine gives the
    same answer.  Where a term may not stand for a variable the text is adapted: a
    bound variable in a SELECT projection becomes ``(term AS ?name)`` (or stays ``?name``
    when it is a GROUP BY key of that SELECT), in GROUP BY it becomes
    ``(term AS ?name)``, in ORDER BY ``(term)``.  Variables that are assigned
    (``... AS ?name``) or listed in a VALUES header are left alone.  ``terms`` must be
    well-formed SPARQL terms (see :func:`poli_kg.store.backend.sparql_term`).
    """
    values = {name.lstrip("?$"): term for name, term in terms.items()}
    if not values:
        return query
    toks = tokens(query)
    roles = _variable_roles(toks)
    replacements: dict[int, str] = {}
    for i, tok in enumerate(toks):
        name = tok.text[1:]
        if tok.kind != "VAR" or name not in values:
            continue
        if i > 0 and toks[i - 1].is_word("AS"):
            continue
        replacement = _bound(values[name], name, roles.get(i))
        if replacement is not None:
            replacements[i] = replacement
    return _splice(query, toks, replacements)


def _variable_roles(toks: list[Token]) -> dict[int, str]:
    """Where each variable token stands, by index, when a plain term may not stand there:
    ``group`` / ``order`` (a GROUP BY / ORDER BY key), ``project`` (a SELECT projection)
    or ``keep`` (a GROUP BY key projected by its SELECT, a VALUES header variable)."""
    braces, parens = _depths(toks)
    selects = [i for i, t in enumerate(toks) if t.is_word("SELECT")]
    group_keys: dict[int, set[str]] = {i: set() for i in selects}
    roles: dict[int, str] = {}
    for i, tok in enumerate(toks):
        if tok.is_word("GROUP", "ORDER") and i + 1 < len(toks) and toks[i + 1].is_word("BY"):
            role = "group" if tok.is_word("GROUP") else "order"
            owner = max((s for s in selects if s < i and braces[s] == braces[i]), default=None)
            for j in _modifier_variables(toks, i, braces, parens):
                roles[j] = role
                if role == "group" and owner is not None:
                    group_keys[owner].add(toks[j].text[1:])
    for s in selects:
        j = s + 1
        while j < len(toks) and not (braces[j] == braces[s] and (
                toks[j].is_word("WHERE", "FROM") or toks[j].text == "{")):
            if toks[j].kind == "VAR" and parens[j] == parens[s]:
                roles[j] = "keep" if toks[j].text[1:] in group_keys[s] else "project"
            j += 1
    for i, tok in enumerate(toks):
        if tok.is_word("VALUES"):
            j = i + 1
            while j < len(toks) and toks[j].text != "{":
                roles[j] = "keep"
                j += 1
    return roles


def _modifier_variables(toks: list[Token], i: int, braces: list[int],
                        parens: list[int]) -> list[int]:
    """Indexes of the variables listed (not nested in an expression) by the GROUP BY or
    ORDER BY at ``toks[i]``, up to the next solution modifier or the end of its group."""
    found = []
    j = i + 2
    while j < len(toks) and braces[j] == braces[i] and not (
            parens[j] == parens[i] and toks[j].is_word(*_MODIFIER_END)) \
            and toks[j].text != "}":
        if toks[j].kind == "VAR" and parens[j] == parens[i]:
            found.append(j)
        j += 1
    return found


def _bound(term: str, name: str, role: str | None) -> str | None:
    """What replaces variable ``name`` bound to ``term`` where it has ``role`` (None: it
    is left alone)."""
    if role == "keep":
        return None
    if role in ("project", "group"):
        return f"({term} AS ?{name})"
    if role == "order":
        return f"({term})"
    return term


def _splice(query: str, toks: list[Token], replacements: Mapping[int, str]) -> str:
    """``query`` with the tokens at the indexes of ``replacements`` replaced."""
    out: list[str] = []
    last = 0
    for i in sorted(replacements):
        out.append(query[last:toks[i].start])
        out.append(replacements[i])
        last = toks[i].end
    out.append(query[last:])
    return "".join(out)


def _depths(toks: list[Token]) -> tuple[list[int], list[int]]:
    """Brace and parenthesis nesting depth before each token."""
    braces: list[int] = []
    parens: list[int] = []
    b = p = 0
    for tok in toks:
        if tok.text == "}":
            b -= 1
        if tok.text == ")":
            p -= 1
        braces.append(b)
        parens.append(p)
        if tok.text == "{":
            b += 1
        if tok.text == "(":
            p += 1
    return braces, parens
