"""The query page's example queries: the competency questions in ``queries/*.rq``.

Each file is one example: its name is the file's stem, its titles come from the leading
comment block (``# title-it: …``, ``# title-en: …``), its query is the whole text of the
file.  The config key ``QUERIES_DIR`` names another folder (the tests' sample queries).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import NamedTuple

from poli_kg.config import ROOT

DEFAULT_QUERIES_DIR = ROOT / "queries"


class Example(NamedTuple):
    """A competency question of ``queries/``: file stem, Italian and English title, SPARQL text."""

    name: str
    title_it: str
    title_en: str
    query: str

    def title(self, lang: str) -> str:
        """The title in ``lang`` (``en``; anything else: Italian)."""
        return self.title_en if lang == "en" else self.title_it


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
