"""Syntax errors a person can act on: where, what was found there, what was expected.

The store's parsers say where a query stops parsing: pyoxigraph as ``error at LINE:COLUMN:
expected one of …`` (the list cut to its first line by the store), rdflib as ``error at
LINE:COLUMN: Expected …`` or ``Unknown namespace prefix : foo``.  :func:`syntax_message`
reads those messages, puts the position back on the user's own lines (the endpoint may have
added a line before them: :mod:`~poli_kg.web.sparql.prologue`), and answers::

    Syntax error at 2:16 (line 2, column 16): found `}`.
        WHERE { ?s ?p }
                      ^
    Expected one of: `(`, `[`, a variable, an IRI or a literal …

pyoxigraph reports the furthest place any alternative of its grammar reached, and it reads a
keyword by taking as many characters as the keyword has before comparing them: a keyword
that does not match is reported *after* those characters (``SELET *`` fails "at" column 10,
``expected CONSTRUCT``).  So an error that only names keywords is moved back by their
length, to where the keyword was tried (:func:`_locate`); ``[_]`` (any character) is the
trace of such a read running out of text, and is dropped.

A prefix that nobody declares is named instead, with the ``PREFIX`` line to add when it is a
well-known one (:func:`prefix_message`).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass

from poli_kg.store.lexer import Token, tokens
from poli_kg.web.sparql.prologue import (
    PREDEFINED,
    WELL_KNOWN,
    label,
    undeclared_prefixes,
)

_POSITION = (re.compile(r"error at (\d+):(\d+)"),
             re.compile(r"line:?\s*(\d+),\s*col(?:umn)?:?\s*(\d+)"))
_EXPECTED = re.compile(r"expected\s+(?:one of\s+)?(.*)", re.DOTALL)
_RDFLIB_EXPECTED = re.compile(r"Expected\s+(.*?)(?:,\s*found\b.*)?$", re.DOTALL)
_ITEM = re.compile(r'"(?:[^"\\]|\\.)*"|\[(?:\'(?:[^\'\\]|\\.)*\'|[^\]\'])*\]?|[^,\["]+')
_KEYWORD = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_UNESCAPE = re.compile(r"\\(.)")
_PREFIX_HINTS = ("prefix not found", "unknown namespace prefix")
MAX_EXPECTED = 14
"""Items of the parser's list of expectations shown (the rest is cut: "…")."""
WINDOW = 100
"""Longest excerpt of a query line shown around the error."""

_MODIFIERS = frozenset({"DISTINCT", "REDUCED"})
PATTERN_KEYWORDS = frozenset({"OPTIONAL", "BIND", "FILTER", "MINUS", "LATERAL", "SERVICE",
                              "VALUES", "GRAPH"})
"""Keywords the parser tries where a new element of a group may start."""
_KEYWORD_PHRASES = (
    (PATTERN_KEYWORDS, ("`.` or `}`, or a pattern keyword (OPTIONAL, FILTER, BIND, MINUS, "
                        "VALUES, GRAPH, {…}): a triple pattern may be incomplete, or a `.` "
                        "missing between two")),
    (frozenset({"HAVING", "OFFSET", "LIMIT", "ORDER", "GROUP"}),
     "a solution modifier (GROUP BY, HAVING, ORDER BY, LIMIT, OFFSET) or the end of the query"),
    (_MODIFIERS, "WHERE or `{` after the selected variables (`*`, `?x`, `(… AS ?x)`)"),
    (frozenset({"CONSTRUCT", "DESCRIBE", "SELECT", "ASK", "PREFIX", "BASE"}),
     "a query form (SELECT, ASK, CONSTRUCT, DESCRIBE), after PREFIX and BASE declarations"),
)


@dataclass(frozen=True)
class Expectations:
    """What a parser's message says it expected: tokens, keywords, sentences."""

    tokens: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    anything: bool = False
    """Whether ``[_]`` (any character) was among them."""
    grammar: str = ""
    """rdflib's words: the names of the grammar rules it expected (``SelectQuery``)."""


def parse_position(message: str) -> tuple[int, int] | None:
    """(line, column), both from 1, of a parser's message; None when it names none."""
    for pattern in _POSITION:
        match = pattern.search(message)
        if match:
            return int(match.group(1)), int(match.group(2))
    return None


def parse_expected(message: str) -> Expectations:
    """The items of ``expected one of A, B, …`` (pyoxigraph) or ``Expected X`` (rdflib)."""
    match = _EXPECTED.search(message)
    if not match:
        rdflib = _RDFLIB_EXPECTED.search(message)
        return Expectations(grammar=rdflib.group(1).strip() if rdflib else "")
    found_tokens: list[str] = []
    keywords: list[str] = []
    notes: list[str] = []
    anything = False
    for raw in _ITEM.findall(match.group(1)):
        item = raw.strip()
        if not item:
            continue
        if item.startswith('"'):
            found_tokens.append("`" + _UNESCAPE.sub(r"\1", item[1:-1]) + "`")
        elif item.startswith("["):
            anything = anything or item == "[_]"
            described = _character_class(item)
            if described:
                found_tokens.append(described)
        elif _KEYWORD.fullmatch(item):
            keywords.append(item)
        else:
            notes.append(item.rstrip(". "))
    return Expectations(tuple(dict.fromkeys(found_tokens)), tuple(dict.fromkeys(keywords)),
                        tuple(dict.fromkeys(notes)), anything)


def _character_class(item: str) -> str | None:
    """A character class of pyoxigraph's grammar in words (None for ``[_]``)."""
    if item == "[_]":
        return None
    if "'A'" in item or "'a'" in item:
        return "a name"
    if "'0'" in item:
        return "a number"
    single = re.fullmatch(r"\['((?:[^'\\]|\\.)+)'\]", item)
    if single:
        return f"`{single.group(1).encode().decode('unicode_escape')}`"
    return "a character of a name"


# -- positions ---------------------------------------------------------------------------

def offset_of(text: str, line: int, column: int) -> int:
    """The offset of (line, column) in ``text`` (both from 1), clamped to the text."""
    starts = [0] + [m.end() for m in re.finditer("\n", text)]
    if line < 1:
        return 0
    if line > len(starts):
        return len(text)
    return min(starts[line - 1] + max(column - 1, 0), len(text))


def line_column(text: str, offset: int) -> tuple[int, int]:
    """(line, column), both from 1, of ``offset`` in ``text``."""
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def _locate(query: str, offset: int, expected: Expectations) -> int:
    """Where the error is, from where the parser says it is (see the module docstring)."""
    if expected.tokens or expected.notes:
        return offset
    toks = tokens(query)
    if expected.keywords:
        start = max(0, max(offset - len(k) for k in expected.keywords))
        if set(expected.keywords) <= _MODIFIERS:  # tried after SELECT: look past the projection
            return _after_projection(toks, start)
        return start
    before = [tok for tok in toks if tok.start < offset]  # only [_]: read past the last token
    return before[-1].start if expected.anything and before and offset >= len(query) else offset


def _after_projection(toks: list[Token], start: int) -> int:
    """The offset of the first token after the projection that begins at ``start``
    (``*``, variables, ``(… AS ?v)``)."""
    depth = 0
    for tok in toks:
        if tok.start < start:
            continue
        if tok.text == "(":
            depth += 1
        elif tok.text == ")":
            depth -= 1
        elif depth <= 0 and tok.text != "*" and tok.kind != "VAR":
            return tok.start
    return start


def excerpt(query: str, offset: int) -> str:
    """The query line holding ``offset`` and a caret under it, indented by four spaces."""
    start = query.rfind("\n", 0, offset) + 1
    end = query.find("\n", offset)
    line = query[start:end if end >= 0 else len(query)].rstrip("\r")
    column = offset - start
    left = max(0, column - WINDOW // 2)
    shown = line[left:left + WINDOW]
    lead = "…" if left else ""
    tail = "…" if left + WINDOW < len(line) else ""
    pad = "".join(c if c == "\t" else " " for c in shown[:column - left])
    return f"    {lead}{shown}{tail}\n    {' ' * len(lead)}{pad}^"


def _found(query: str, offset: int) -> str:
    """What stands at ``offset``: a token, or the end of the query."""
    rest = query[offset:]
    if not rest.strip():
        return "the end of the query"
    following = tokens(rest[:200])
    text = following[0].text if following else rest.strip()[:1]
    return f"`{text[:40]}`"


def _expected_phrase(expected: Expectations) -> str:
    """The expected items in words: the tokens the parser wanted where it stopped, else the
    keywords it tried (keywords beside tokens were tried elsewhere, see :func:`_locate`)."""
    if expected.notes:
        return ""
    if expected.grammar:
        return f"(in the terms of the SPARQL grammar) {expected.grammar}"
    keywords = set(expected.keywords)
    for group, phrase in _KEYWORD_PHRASES:
        if keywords and keywords <= group and not expected.tokens:
            return phrase
    items = list(expected.tokens or expected.keywords)
    if not items:
        return ""
    shown = ", ".join(items[:MAX_EXPECTED]) + (", …" if len(items) > MAX_EXPECTED else "")
    return shown if len(items) == 1 else "one of " + shown


def _unclosed(query: str) -> str:
    """`` 2 `{` not closed.`` when the query ends inside brackets."""
    depth = {"{": 0, "(": 0, "[": 0}
    closing = {"}": "{", ")": "(", "]": "["}
    for tok in tokens(query):
        if tok.text in depth:
            depth[tok.text] += 1
        elif tok.text in closing:
            depth[closing[tok.text]] -= 1
    return "".join(f" {n} `{bracket}` not closed." for bracket, n in depth.items() if n > 0)


NOTE_HINTS = {
    "variable that is unbound": " (with GROUP BY, select only the grouped variables and "
                                "aggregates such as COUNT(?x) or SAMPLE(?x))",
}
"""What to add to the parser's own sentences."""


# -- messages ----------------------------------------------------------------------------

def syntax_message(message: str, query: str, added_lines: int = 0) -> str:
    """The answer to a syntax error of ``query`` that a parser reported as ``message``.

    ``added_lines`` is the number of lines the endpoint put before the user's query.
    """
    undeclared = undeclared_prefixes(query)
    position = parse_position(message)
    offset = None
    if position is not None and position[0] > added_lines:
        offset = offset_of(query, position[0] - added_lines, position[1])
    if undeclared and _is_about_prefixes(message, offset, undeclared):
        return prefix_message(query, undeclared)
    expected = parse_expected(message)
    if offset is None:
        detail = re.sub(r"^error at \S+\s*", "", message).strip()
        return f"Syntax error: {detail}" if detail else "Syntax error."
    offset = _locate(query, offset, expected)
    line, column = line_column(query, offset)
    notes = "".join(f" {note[:1].upper()}{note[1:]}{_hint(note)}." for note in expected.notes)
    found = _found(query, offset)
    if found == "the end of the query":
        notes += _unclosed(query)
    text = f"Syntax error at {_where(line, column)}: found {found}.{notes}"
    text += "\n" + excerpt(query, offset)
    phrase = _expected_phrase(expected)
    return text + (f"\nExpected {phrase}." if phrase else "")


def _where(line: int, column: int) -> str:
    """``2:9 (line 2, column 9)``."""
    return f"{line}:{column} (line {line}, column {column})"


def _hint(note: str) -> str:
    """The hint of :data:`NOTE_HINTS` for a sentence of the parser, if any."""
    return "".join(hint for key, hint in NOTE_HINTS.items() if key in note)


def _is_about_prefixes(message: str, offset: int | None, undeclared: Sequence[Token]) -> bool:
    """Whether the parser's error is (or may be) the use of an undeclared prefix."""
    if any(hint in message.lower() for hint in _PREFIX_HINTS):
        return True
    return offset is not None and any(tok.start <= offset <= tok.end + 1 for tok in undeclared)


def prefix_message(query: str, undeclared: Sequence[Token]) -> str:
    """The answer to a query using prefixes that are not declared (first uses given)."""
    first = undeclared[0]
    line, column = line_column(query, first.start)
    names = ", ".join(f"`{label(tok)}:`" for tok in undeclared)
    verb = "is" if len(undeclared) == 1 else "are"
    text = [f"Syntax error at {_where(line, column)}: prefix {names} {verb} not declared.",
            excerpt(query, first.start)]
    known = [label(tok) for tok in undeclared if label(tok) in WELL_KNOWN]
    if known:
        text.append("Add at the start of the query:")
        text += [f"    PREFIX {p}: <{WELL_KNOWN[p]}>" for p in known]
    for tok in undeclared:
        if label(tok) in WELL_KNOWN:
            continue
        text.append(f"Declare it with PREFIX {label(tok)}: <namespace IRI> at the start of "
                    "the query" + _did_you_mean(label(tok)) + ".")
    text.append("Predefined prefixes (usable without PREFIX): "
                + ", ".join(f"{p}:" for p in sorted(PREDEFINED)) + ".")
    return "\n".join(text)


def _did_you_mean(prefix: str) -> str:
    """`` (did you mean `foaf:`?)`` for a prefix close to a predefined or well-known one."""
    close = difflib.get_close_matches(prefix, [*PREDEFINED, *WELL_KNOWN], n=1, cutoff=0.6)
    return f" (did you mean `{close[0]}:`?)" if close else ""
