"""Full-text search over a build's index (:data:`poli_kg.textindex.INDEX_DIR`), read-only.

The index is a folder of the build (written by the build, see :mod:`poli_kg.graph.index`),
so searching never touches the triple store: it answers the same on every backend, the
remote ``sparql:URL`` store included, and it answers the build the server holds
(:func:`get_index` is given ``Store.build``).

Matching (per query word, best of): the word itself (score 4), a term it begins (2, for
type-ahead), a term within one edit for words of 5+ letters and two for 8+ (1; the last word
also as the beginning of a term within those edits), a word of the description, host or type
names (0.5 exact, 0.25 as a prefix).  Words are folded like the index's terms (case, accents,
punctuation: :mod:`poli_kg.textindex`); a query whose whole text is a name of a resource
adds 50, and the kind adds 0.6 to 0.87 for a main resource (poles most, then organisations,
national clusters, themes, places, calls…), 0.3 for others, 0 for records, so an exact name
ranks first, then prefixes, then typos, and a pole or an organisation before the records
about it.  A thousandth of each word's BM25 score (under 0.03 in all) puts the shorter of
two names matched alike first.  Equal scores keep the index's order (kind, label, IRI):
stable.

With ``every_word`` (the default) each word must match; otherwise any may, and the score
says how many did (the reconciliation service's candidates).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import threading
import weakref
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tantivy
from flask import Flask, current_app

from poli_kg import textindex as ti
from poli_kg.buildfolder import ServedBuild

log = logging.getLogger(__name__)

MAX_QUERY_CHARS = 200   # longer queries are refused (400)
MAX_LIMIT = 100         # results per page at most
MAX_WORDS = 12          # words of a query beyond these are ignored
EXTENSION = "poli_kg.search"

EXACT, PREFIX, FUZZY = 4.0, 2.0, 1.0
TEXT_EXACT, TEXT_PREFIX = 0.5, 0.25
NAME_BONUS = 50.0
TIE_BREAK = 0.001   # times BM25 of each word: the shorter of two equally matched names first
KIND_BONUS = {ti.MAIN: 0.6, ti.OTHER: 0.3}
GROUP_STEP = 0.03   # main resources: poles, then organisations, national clusters, themes, …
BONUSES = {ti.kind_code(ti.MAIN, g): KIND_BONUS[ti.MAIN] + GROUP_STEP * (ti.GROUPS - 1 - g)
           for g in range(ti.GROUPS)} | {ti.kind_code(ti.OTHER): KIND_BONUS[ti.OTHER]}
# Italian legal forms, folded: a name without its legal form still names the organisation.
LEGAL_FORMS = frozenset({"spa", "srl", "srls", "scpa", "scarl", "scrl", "snc", "sas", "sapa",
                         "coop", "onlus", "ets", "aps", "odv"})


Namer = Callable[[str, str], "str | None"]
"""``namer(iri, lang)``: a name for a term the graph gives no label (or None)."""


class SearchUnavailable(Exception):
    """The build has no search index (not built yet, or built by another version)."""


@dataclass(frozen=True)
class Hit:
    """One resource found: its IRI, score and what the index shows of it."""

    iri: str
    score: float
    data: dict[str, Any]

    def label(self, lang: str) -> str:
        labels = self.data.get("label") or {}
        return labels.get(lang) or next((v for v in labels.values() if v), self.iri)

    def description(self, lang: str) -> str | None:
        descriptions = self.data.get("description") or {}
        return descriptions.get(lang) or next(iter(descriptions.values()), None)

    @property
    def type(self) -> str | None:
        return self.data.get("type")

    @property
    def names(self) -> list[str]:
        return list(self.data.get("names") or ())


@dataclass(frozen=True)
class Results:
    """A page of hits and how many resources matched in all."""

    total: int
    hits: list[Hit]


class SearchIndex:
    """The search index of one build folder, opened read-only."""

    def __init__(self, folder: Path | str) -> None:
        path = Path(folder) / ti.INDEX_DIR
        try:
            meta = json.loads((path / ti.META_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise SearchUnavailable(f"no search index in {folder}: {exc}") from None
        if meta.get("format") != ti.FORMAT:
            raise SearchUnavailable(f"{path}: index format {meta.get('format')}, this version "
                                    f"reads {ti.FORMAT}: rebuild the graph")
        self._index = _open(path, self)
        self._schema = self._index.schema
        self._searcher = self._index.searcher()
        self.documents: int = meta.get("documents", 0)
        self.types: dict[str, dict] = {t["iri"]: t for t in meta.get("types", ())}
        self.properties: dict[str, dict] = {p["iri"]: p for p in meta.get("properties", ())}

    # -- searching -------------------------------------------------------------------

    def search(self, text: str, *, types: Sequence[str] = (), limit: int = 10, offset: int = 0,
               every_word: bool = True, every_type: bool = False) -> Results:
        """The resources whose names match ``text``, best first (see the module's docstring).

        ``types`` keeps the instances of any of these classes (of all, with ``every_type``).
        """
        words = ti.compounds(text)[:MAX_WORDS]
        if not words or limit <= 0:
            return Results(0, [])
        matches = [self._word(parts, last=i == len(words) - 1) for i, parts in enumerate(words)]
        if every_word:
            clauses = [(tantivy.Occur.Must, m) for m in matches]
        else:
            clauses = [(tantivy.Occur.Must, tantivy.Query.boolean_query(
                [(tantivy.Occur.Should, m) for m in matches]))]
        clauses.append((tantivy.Occur.Should, tantivy.Query.const_score_query(
            tantivy.Query.term_set_query(self._schema, ti.KEYS, sorted(ti.keys(words))),
            NAME_BONUS)))
        clauses += [(tantivy.Occur.Should, tantivy.Query.boost_query(tantivy.Query.term_query(
            self._schema, ti.TERMS, ti.joined(parts)), TIE_BREAK / len(words)))
            for parts in words]
        clauses += [(tantivy.Occur.Should, self._const(ti.KIND, code, bonus))
                    for code, bonus in BONUSES.items()]
        types = [ti.clean(t) for t in types]
        if types and every_type:
            clauses += [(tantivy.Occur.Must, tantivy.Query.term_query(self._schema, ti.TYPES, t))
                        for t in types]
        elif types:
            clauses.append((tantivy.Occur.Must,
                            tantivy.Query.term_set_query(self._schema, ti.TYPES, list(types))))
        found = self._searcher.search(tantivy.Query.boolean_query(clauses), limit=limit,
                                      offset=offset, count=True)
        return Results(found.count, [self._hit(address, score) for score, address in found.hits])

    def _const(self, field: str, value: Any, score: float) -> tantivy.Query:
        return tantivy.Query.const_score_query(
            tantivy.Query.term_query(self._schema, field, value), score)

    def _word(self, parts: list[str], *, last: bool) -> tantivy.Query:
        """How one query word (a compound's parts) may match."""
        alone = self._term(ti.joined(parts), last=last)
        if len(parts) == 1:
            return alone
        every_part = tantivy.Query.boolean_query(
            [(tantivy.Occur.Must, tantivy.Query.term_query(self._schema, ti.TERMS, p))
             for p in parts])
        return tantivy.Query.disjunction_max_query(
            [alone, tantivy.Query.const_score_query(every_part, EXACT)])

    def _term(self, word: str, *, last: bool) -> tantivy.Query:
        ways = [self._const(ti.TERMS, word, EXACT), self._near(ti.TERMS, word, 0, PREFIX),
                self._const(ti.TEXT, word, TEXT_EXACT), self._near(ti.TEXT, word, 0, TEXT_PREFIX)]
        distance = ti.fuzzy_distance(word)
        if distance:
            ways.append(self._near(ti.TERMS, word, distance, FUZZY, prefix=False))
            if last:
                ways.append(self._near(ti.TERMS, word, distance, FUZZY))
        return tantivy.Query.disjunction_max_query(ways)

    def _near(self, field: str, word: str, distance: int, score: float, *,
              prefix: bool = True) -> tantivy.Query:
        """Terms within ``distance`` edits of ``word`` (with ``prefix``: of its beginning)."""
        return tantivy.Query.const_score_query(tantivy.Query.fuzzy_term_query(
            self._schema, field, word, distance, True, prefix), score)

    def _hit(self, address: tantivy.DocAddress, score: float) -> Hit:
        data = json.loads(bytes(self._searcher.doc(address)[ti.DATA][0]))
        return Hit(data["iri"], round(score, 3), data)

    # -- looking up ------------------------------------------------------------------

    def get(self, iris: Iterable[str]) -> dict[str, Hit]:
        """The indexed resources among ``iris`` (by IRI; those not indexed are left out)."""
        wanted = sorted({ti.clean(iri) for iri in iris if isinstance(iri, str)})
        if not wanted:
            return {}
        query = tantivy.Query.term_set_query(self._schema, ti.IRI, wanted)
        found = self._searcher.search(query, limit=len(wanted), count=False)
        hits = (self._hit(address, 0.0) for _score, address in found.hits)
        return {hit.iri: hit for hit in hits}

    def resolve_type(self, name: str) -> str | None:
        """A class of the graph named by IRI, prefixed name, local name or label (any case)."""
        name = ti.clean(name).strip()
        iri = ti.expand_name(name)
        if iri in self.types:
            return iri
        wanted = ti.fold(name)
        by_local = sorted(t for t in self.types if ti.fold(ti.local_name(t)) == wanted)
        by_label = sorted(t for t, entry in self.types.items()
                          if wanted in {ti.fold(n) for n in entry["name"].values() if n})
        found = by_local or by_label
        return min(found, key=lambda t: (not t.startswith(ti.expand_name("pkg:")), t)) \
            if found else None

    def type_name(self, iri: str, lang: str, fallback: Namer | None = None) -> str:
        """The name of a class in ``lang``: its label in the graph, else ``fallback``'s,
        else its humanised local name."""
        return _name(self.types.get(iri), iri, lang, fallback)

    def property_name(self, iri: str, lang: str, fallback: Namer | None = None) -> str:
        """The name of a property, as :meth:`type_name` names classes."""
        return _name(self.properties.get(iri), iri, lang, fallback)


def _name(entry: dict | None, iri: str, lang: str, fallback: Namer | None) -> str:
    names = (entry or {}).get("name") or {}
    other = "en" if lang == "it" else "it"
    return (names.get(lang) or (fallback(iri, lang) if fallback else None)
            or names.get(other) or ti.humanised(iri))


def _open(path: Path, owner: object) -> tantivy.Index:
    """Open the index at ``path``, or a private copy of it when ``path`` cannot be written.

    tantivy takes a lock file in the index's folder even to read it: on a read-only file
    system, or when the server runs as another user than the build, the folder is copied
    to a temporary folder of this process (removed with ``owner``).
    """
    try:
        return tantivy.Index.open(str(path))
    except (OSError, ValueError) as exc:
        first = str(exc)   # not the exception: its frames would keep ``owner`` alive
    copy = Path(tempfile.mkdtemp(prefix="poli-kg-search-"))
    weakref.finalize(owner, shutil.rmtree, copy, True)
    try:
        for item in path.iterdir():
            if item.is_file() and not item.name.endswith(".lock"):
                shutil.copyfile(item, copy / item.name)
        index = tantivy.Index.open(str(copy))
    except (OSError, ValueError) as exc:
        raise SearchUnavailable(f"{path}: cannot open the search index: {first}; "
                                f"nor a copy of it: {exc}") from None
    log.warning("search: %s could not be opened in place (%s); reading a copy in %s",
                path, first, copy)
    return index


# --------------------------------------------------------------------------- per application

class _Holder:
    """The index of an application's build, opened on first use in each process."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.index: SearchIndex | None = None
        self.pid = 0

    def get(self, build: ServedBuild) -> SearchIndex:
        with self.lock:
            if self.index is None or self.pid != os.getpid():
                folder = build.folder()
                if folder is None:
                    raise SearchUnavailable("the graph has not been built yet")
                self.index, self.pid = SearchIndex(folder), os.getpid()
            return self.index


def get_index(build: ServedBuild, app: Flask | None = None) -> SearchIndex:
    """The search index of ``build``, the build the application serves (``Store.build``:
    the store, the downloads and the pages answer from the same folder).

    Opened once per process and kept in ``app`` (default: the current application).
    Raises :class:`SearchUnavailable` when the build has none (logged: it names paths).
    """
    app = app or current_app._get_current_object()
    holder = app.extensions.setdefault(EXTENSION, _Holder())
    try:
        return holder.get(build)
    except SearchUnavailable as exc:
        log.error("search: %s", exc)
        raise


# --------------------------------------------------------------------------- similarity

def similarity(query: str, names: Iterable[str]) -> float:
    """How well ``query`` names a resource with these ``names``, from 0 to 100.

    100 when a name equals the query once folded (case, accents and punctuation aside);
    otherwise at most 90: the share of the query's words found in the best name (a word
    counts 1, a beginning of a term up to 0.9, a typo 0.7), weighed by the share of the
    name's words the query covers (a legal form such as "S.p.A." need not be given).
    """
    words = ti.compounds(query)[:MAX_WORDS]
    if not words:
        return 0.0
    wanted = ti.keys(words)
    query_terms = [ti.joined(parts) for parts in words]
    best = 0.0
    for name in names:
        analysed = ti.compounds(name)
        if not analysed:
            continue
        if wanted & ti.keys(analysed):
            return 100.0
        best = max(best, _overlap(query_terms, analysed))
    return round(best, 1)


def _overlap(query_terms: list[str], analysed: list[list[str]]) -> float:
    vocabulary = set(ti.index_terms(analysed))
    found = [_word_quality(word, vocabulary) for word in query_terms]
    recall = sum(found) / len(query_terms)
    name_words = [c for c in analysed if ti.joined(c) not in LEGAL_FORMS] or analysed
    precision = min(1.0, sum(1 for f in found if f) / len(name_words))
    return 90.0 * recall * (0.5 + 0.5 * precision)


def _word_quality(word: str, vocabulary: set[str]) -> float:
    if word in vocabulary:
        return 1.0
    distance = ti.fuzzy_distance(word)
    best = 0.0
    for term in vocabulary:
        if term.startswith(word):
            best = max(best, 0.5 + 0.4 * len(word) / len(term))
        elif distance and ti.edit_distance(word, term, distance) <= distance:
            best = max(best, 0.7)
    return best
