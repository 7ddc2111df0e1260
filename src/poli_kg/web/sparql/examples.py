"""The query page's example queries: the competency questions in ``queries/*.rq``.

Each file is one example: its name is the file's stem, its titles come from the leading
comment block (``# title-it: …``, ``# title-en: …``), its query is the whole text of the
file.  The config key ``QUERIES_DIR`` names another folder (the tests' sample queries).

The queries are written for Italian readers: their language filters ask for ``"it"``
labels.  :meth:`Example.query_in` gives the query for the page's language, with those
filters asking for the page's language instead (:func:`in_language`): the English page's
examples answer with English labels.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import NamedTuple

from poli_kg.config import ROOT
from poli_kg.store.lexer import Token, tokens

DEFAULT_QUERIES_DIR = ROOT / "queries"
QUERIES_LANGUAGE = "it"
"""The language the queries' own language filters ask for."""


class Example(NamedTuple):
    """A competency question of ``queries/``: file stem, Italian and English title, SPARQL text."""

    name: str
    title_it: str
    title_en: str
    query: str

    def title(self, lang: str) -> str:
        """The title in ``lang`` (``en``; anything else: Italian)."""
        return self.title_en if lang == "en" else self.title_it

    def query_in(self, lang: str) -> str:
        """The query for a page in ``lang``: its ``"it"`` language filters ask for ``lang``."""
        return in_language(self.query, lang)


_TITLE_LINE = re.compile(r"^#\s*title-(it|en)\s*:\s*(.*?)\s*$")


def parse_example(name: str, text: str) -> Example:
    """Parse one ``.rq`` file: titles come from the leading comment block (``# title-it: …``,
    ``# title-en: …``); the query is the whole text of the file, comments included.

    A missing title falls back to the other language's, then to ``name``.
    """
    titles: dict[str, str] = {}
    for line in text.lstrip("\ufeff").splitlines():
        stripped = line.strip()
        if not stripped:
            continue
        if not stripped.startswith("#"):
            break  # end of the comment header
        match = _TITLE_LINE.match(stripped)
        if match and match.group(2) and match.group(1) not in titles:
            titles[match.group(1)] = match.group(2)
    title_it = titles.get("it") or titles.get("en") or name
    title_en = titles.get("en") or titles.get("it") or name
    return Example(name, title_it, title_en, text.lstrip("\ufeff").strip() + "\n")


def load_examples(queries_dir: str | Path) -> list[Example]:
    """The examples in ``queries_dir/*.rq``, sorted by file name; none if the folder is missing."""
    folder = Path(queries_dir)
    if not folder.is_dir():
        return []
    return [parse_example(path.stem, path.read_text(encoding="utf-8"))
            for path in sorted(folder.glob("*.rq")) if path.is_file()]


# Token shapes of a language filter, the language's string marked by None:
# ``lang(?x) = "it"``, ``"it" = lang(?x)`` and ``langMatches(lang(?x), "it")``.
_FILTERS = (
    ("LANG", "(", "VAR", ")", "=", None),
    (None, "=", "LANG", "(", "VAR", ")"),
    ("LANGMATCHES", "(", "LANG", "(", "VAR", ")", ",", None, ")"),
)


def in_language(query: str, lang: str) -> str:
    """``query`` with its language filters asking for ``lang`` where they ask for Italian.

    Only the string of a filter of the shapes ``lang(?x) = "it"``, ``"it" = lang(?x)`` and
    ``langMatches(lang(?x), "it")`` changes (found by the SPARQL lexer: never text inside
    another string, an IRI or a comment); ``lang`` must be a plain language tag.
    """
    if lang == QUERIES_LANGUAGE or not re.fullmatch(r"[a-z]{2,8}(?:-[A-Za-z0-9]{1,8})*", lang):
        return query
    toks = tokens(query)
    spans = sorted({toks[i + offset].start: toks[i + offset]
                    for i in range(len(toks)) for shape in _FILTERS
                    if (offset := _language_string(toks, i, shape)) is not None}.items())
    out, last = [], 0
    for start, token in spans:
        out += [query[last:start], token.text[0] + lang + token.text[0]]
        last = token.end
    return "".join(out) + query[last:]


def _language_string(toks: list[Token], i: int, shape: tuple) -> int | None:
    """Where the Italian language string is in a filter of ``shape`` starting at ``toks[i]``."""
    if i + len(shape) > len(toks):
        return None
    for offset, want in enumerate(shape):
        token = toks[i + offset]
        if want is None:
            if token.kind != "STRING" or token.text[1:-1].lower() != QUERIES_LANGUAGE \
                    or len(token.text) != 4:
                return None
        elif want == "VAR":
            if token.kind != "VAR":
                return None
        elif token.text.upper() != want:
            return None
    return shape.index(None)
