"""The full-text search index's format: its folder, its fields, and how text becomes terms.

Shared by the code that writes the index into a build folder (:mod:`poli_kg.graph.index`)
and the code that answers searches from it (:mod:`poli_kg.store.search`), so that a label's
terms and a query's terms are always made by the same functions.

Text is *folded* (Unicode compatibility decomposition, accents dropped, case folded: "Città"
→ "citta") and cut into *compounds*: runs of letters and digits joined by ``.`` ``-`` ``'``
``’`` ``&`` ``/`` with no space ("M.I.A.C.", "C-Green", "dell’Informazione", "2007/2013").
A compound is indexed as its parts and as the parts run together ("m", "i", "a", "c" and
"miac"), so "MIAC", "M.I.A.C." and "m i a c" all find it.  Everything else (spaces, commas,
brackets, quotes, dashes with spaces around, ``*`` ``?`` ``~`` ``^`` ``:`` …) separates
words and never reaches the engine as syntax: queries are built from terms, not parsed.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import urlsplit

from poli_kg.namespaces import PREFIXES

INDEX_DIR = "search-index"   # the index's folder inside a build folder
META_FILE = "search.json"    # inside INDEX_DIR: format, counts, the types and properties
FORMAT = 1                   # raised whenever the terms or fields below change

# Fields of a document (one per resource).
IRI = "iri"        # the resource's IRI (raw: looked up by id)
TERMS = "terms"    # terms of its names: labels, alternative labels, notations
KEYS = "keys"      # each whole name, folded (raw): the bonus of an exact name
TEXT = "text"      # terms of its description, its website's host and its types' names
TYPES = "types"    # its classes, asserted and inferred (raw IRIs: the type filter)
KIND = "kind"      # kind_code(): MAIN, OTHER or RECORD, and the group of a main resource
DATA = "data"      # stored JSON: what a hit shows (labels, type, description, host)

# Kinds of resources: main resources rank before the records about them.
MAIN, OTHER, RECORD = 0, 1, 2
GROUPS = 10   # main resources come in groups (poles, organisations, …), the first first


def kind_code(kind: int, group: int = 0) -> int:
    """The value of the KIND field: the kind, and the group of a main resource."""
    return kind * GROUPS + min(group, GROUPS - 1)

MAX_TERM_CHARS = 64   # longer runs (hashes, URLs pasted as text) are not indexed

_SPECIAL_LETTERS = str.maketrans({"ø": "o", "đ": "d", "ł": "l", "æ": "ae", "œ": "oe",
                                  "ð": "d", "þ": "th", "ı": "i", "ħ": "h"})
_COMBINING = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")
_COMPOUND = re.compile(r"[^\W_]+(?:[.\-'’&/][^\W_]+)*")
_PART = re.compile(r"[^\W_]+")


def clean(text: str) -> str:
    """``text`` without lone surrogates (JSON may carry them; they are not text)."""
    return text if text.isascii() else text.encode("utf-8", "ignore").decode("utf-8")


def fold(text: str) -> str:
    """``text`` without accents and case: "Città" → "citta", "Straße" → "strasse"."""
    if text.isascii():
        return text.lower()
    bare = _COMBINING.sub("", unicodedata.normalize("NFKD", clean(text)))
    return bare.casefold().translate(_SPECIAL_LETTERS)


def compounds(text: str) -> list[list[str]]:
    """The compounds of ``text``, each as its parts: "M.I.A.C. S.c.p.a." →
    ``[["m", "i", "a", "c"], ["s", "c", "p", "a"]]``."""
    found = []
    for run in _COMPOUND.findall(fold(text)):
        parts = [run] if run.isalnum() else _PART.findall(run)
        parts = [p for p in parts if len(p) <= MAX_TERM_CHARS]
        if parts:
            found.append(parts)
    return found


def joined(parts: list[str]) -> str:
    """A compound's parts run together ("c-green" → "cgreen")."""
    return "".join(parts)[:MAX_TERM_CHARS]


def index_terms(text: str | list[list[str]]) -> list[str]:
    """The terms a text (or its :func:`compounds`) is indexed under: every part, and every
    compound run together."""
    terms = []
    for parts in compounds(text) if isinstance(text, str) else text:
        terms.extend(parts)
        if len(parts) > 1:
            terms.append(joined(parts))
    return terms


def keys(text: str | list[list[str]]) -> set[str]:
    """Whole-name keys of a text (or of its :func:`compounds`): its parts spaced, and its
    compounds run together.

    "C-Green" has the keys "c green" and "cgreen"; a query equal to a name has a key of it.
    """
    found = compounds(text) if isinstance(text, str) else text
    if not found:
        return set()
    return {" ".join(p for parts in found for p in parts), " ".join(joined(c) for c in found)}


def fuzzy_distance(word: str) -> int:
    """Edits a query word may be away from an indexed term: 1 from 5 letters, 2 from 8."""
    return 2 if len(word) >= 8 else 1 if len(word) >= 5 else 0


def edit_distance(a: str, b: str, limit: int) -> int:
    """Edits between ``a`` and ``b`` (optimal string alignment: a swap of two neighbours
    is one edit), or ``limit + 1`` as soon as it is known to be above ``limit``."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    before: list[int] | None = None
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            current[j] = min(row[j] + 1, current[j - 1] + 1, row[j - 1] + (ca != cb))
            if before is not None and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], before[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        before, row = row, current
    return row[-1]


def host(url: str) -> str | None:
    """The host name of a website's URL, lower case, without ``www.`` (None if there is none)."""
    try:
        name = urlsplit(url).hostname
    except ValueError:
        return None
    if not name:
        return None
    return name[4:] if name.startswith("www.") else name


def host_terms(name: str) -> list[str]:
    """Terms of a host name: its labels but the top-level domain ("poloagrifood.it" →
    ["poloagrifood"])."""
    labels = name.split(".")
    return [fold(label) for label in (labels[:-1] or labels) if label]


def expand_name(name: str) -> str:
    """A class or property named by IRI or by prefixed name (``pkg:Bando``) as an IRI."""
    prefix, colon, local = name.partition(":")
    if colon and prefix in PREFIXES and not local.startswith("//"):
        return str(PREFIXES[prefix]) + local
    return name


def short_name(iri: str) -> str:
    """A prefixed name for ``iri`` when a project prefix covers it, else the IRI."""
    best = ""
    for prefix, namespace in PREFIXES.items():
        ns = str(namespace)
        if iri.startswith(ns) and len(ns) > len(best) and _PART.fullmatch(
                iri[len(ns):].replace("-", "")):
            best, chosen = ns, prefix
    return f"{chosen}:{iri[len(best):]}" if best else iri


def local_name(iri: str) -> str:
    """The last segment of an IRI (after ``#`` or the last ``/``)."""
    return re.split(r"[#/]", iri.rstrip("/#"))[-1]


def humanised(iri: str) -> str:
    """A readable name for an unlabelled class or property: "GovernmentOrganization" →
    "Government Organization", "legalName" → "legal name"."""
    local = local_name(iri)
    spaced = "".join(" " + c if c.isupper() and i and not local[i - 1].isupper() else c
                     for i, c in enumerate(local)).replace("_", " ").strip()
    if spaced[:1].islower():
        spaced = spaced.lower()
    return spaced or iri
