"""pyoxigraph's SELECT solutions written as an answer's bytes, the cap kept exact.

The neutral path (:func:`poli_kg.store.results.term_from_ox`, then the writers of
:func:`poli_kg.store.results.serialize`) makes Python objects of every term twice over: for
``queries/16-dati-con-fonte.rq`` at a million triples (24,873 rows, 14 MB of JSON) it takes
as long again as the evaluation.  :func:`write_solutions` writes the same bytes in fewer steps:

* **SPARQL JSON and TSV** by pyoxigraph's own serialisers, whose bytes are the neutral
  writers' (``tests/store/test_solutions.py`` compares them), into a :class:`_Sink` that
  counts the rows as the chunks arrive and stops the serialiser once the cap is certainly
  passed; the answer is then cut after the cap's last row.  Where pyoxigraph's bytes
  would differ (a literal with a base direction, which the neutral terms lack; in TSV a
  triple term, or a number whose digits are another script's) or the JSON row count be
  uncertain (an empty solution, or a string holding ``{}`` or ending in ``{``), it answers
  None and the caller takes the neutral path.
* **SPARQL XML and CSV** straight from pyoxigraph's terms, without the neutral ones:
  pyoxigraph escapes XML text otherwise (``&apos;``, ``&quot;``, ``&#32;`` for a space at
  either end) and quotes CSV fields otherwise (not an IRI with a comma, nor a lone empty
  field), so its bytes cannot be used.

The JSON row count rests on what a JSON string cannot hold: an unescaped ``"``.  Rows are
written ``{"var":{"type":…}…}``, ``{}`` when empty; between two rows that are not empty
stands ``}},{"``, and in a string those bytes can only be its end (``…}},{"`` then ``}``
or ``,``: a ``{`` that ends a string, which the check for ``{"}`` and ``{",`` finds).  With
neither such a string nor an empty row, ``n`` rows hold exactly ``n - 1`` of them.  In TSV
every row ends with the only newline it holds (literals escape theirs; IRIs and blank
nodes have none).
"""

from __future__ import annotations

import csv
import io
import re
from typing import Any
from xml.sax.saxutils import escape as xml_escape
from xml.sax.saxutils import quoteattr

import pyoxigraph as ox

from poli_kg.store.results import (
    CSV, SPARQL_RESULTS_JSON, SPARQL_RESULTS_XML, TSV, XML_RESULTS_START, take,
    xml_literal_start,
)

__all__ = ["write_solutions"]

_XSD = "http://www.w3.org/2001/XMLSchema#"
_JSON_SEPARATOR = b'}},{"'
# pyoxigraph's JSON, where its bytes may differ or its row count be uncertain: an empty
# solution ("{}", or one in a string) and a string that ends in "{" (as one ending like a
# separator would), in one search; a literal's base direction, which the neutral terms lack.
_JSON_UNCERTAIN = re.compile(rb'\{(?:\}|"[},])')
_JSON_DIRECTION = b'"its:dir"'
# pyoxigraph's TSV, where the neutral writer's may differ: a base direction ("@en--ltr"),
# a triple term ("<<( s p o )>>"); a numeric literal pyoxigraph quotes as not in Turtle's
# grammar, which the neutral writer writes bare if its digits are other scripts' (its
# regular expressions' \d is Unicode's): a UTF-8 byte that begins such a digit
# (tests/store/test_solutions.py checks the list against re) shows where to look.
_TSV_DIRECTION = b"--"
_TSV_TRIPLE = b"<<("
_QUOTED_NUMBERS = tuple(f'"^^<{_XSD}{t}>'.encode() for t in
                        ("integer", "decimal", "double", "boolean"))
DIGIT_LEAD_BYTES = (0xD9, 0xDB, 0xDF, 0xE0, 0xE1, 0xEA, 0xEF, 0xF0)
"""The first bytes of the UTF-8 encodings of every decimal digit but ASCII's."""
_DIGIT_LEADS = tuple(bytes([byte]) for byte in DIGIT_LEAD_BYTES)


def write_solutions(
    solutions: ox.QuerySolutions, media_type: str, limit: int | None
) -> tuple[bytes, int, bool] | None:
    """``(body, rows, truncated)`` of ``solutions`` as ``media_type`` (one of
    RESULT_MEDIA_TYPES), at most ``limit`` rows (None: all), as the neutral writers write
    them; None where pyoxigraph's JSON or TSV would differ from theirs (``solutions`` is
    then partly read: evaluate the query again)."""
    if limit is not None and limit < 0:  # no cap, as for take()
        limit = None
    if media_type == TSV:
        return _tsv(solutions, limit)
    names = [v.value for v in solutions.variables]
    if media_type == SPARQL_RESULTS_XML:
        return _xml(solutions, names, limit)
    if media_type == CSV:
        return _csv(solutions, names, limit)
    assert media_type == SPARQL_RESULTS_JSON, media_type
    return _json(solutions, limit)


# -- pyoxigraph's serialisers ----------------------------------------------------------

class _Enough(Exception):
    """Raised from :meth:`_Sink.write` to stop pyoxigraph's serialiser."""


class _Sink:
    """The binary file pyoxigraph's serialiser writes into (in chunks of 8 KiB): keeps the
    chunks and counts ``marker`` in them; once ``stop_at`` markers are in, it stops the
    serialiser (:class:`_Enough`) and takes nothing more (the serialiser flushes its
    buffer again as it unwinds)."""

    def __init__(self, marker: bytes, stop_at: int | None) -> None:
        self.chunks: list[bytes] = []
        self.markers = 0
        self.stopped = False
        self._marker = marker
        self._stop_at = stop_at
        self._overlap = len(marker) - 1
        self._tail = b""

    def write(self, chunk: bytes) -> int:
        if self.stopped:
            return len(chunk)
        self.chunks.append(chunk)
        # a marker may straddle two chunks: the last bytes of the one before count too
        self.markers += (self._tail + chunk[:self._overlap]).count(self._marker) \
            + chunk.count(self._marker)
        if len(chunk) >= self._overlap:
            self._tail = chunk[len(chunk) - self._overlap:]
        else:  # (the last bytes of all so far: a chunk may be shorter than the marker)
            self._tail = (self._tail + chunk)[-self._overlap:]
        if self._stop_at is not None and self.markers >= self._stop_at:
            self.stopped = True
            raise _Enough
        return len(chunk)

    def flush(self) -> None:
        """(pyoxigraph flushes the file it wrote to)"""

    def body(self) -> bytes:
        return b"".join(self.chunks)


def _serialize(solutions: ox.QuerySolutions, fmt: ox.QueryResultsFormat, sink: _Sink) -> bytes:
    """Let pyoxigraph write ``solutions`` into ``sink`` (until it stops it); what it wrote."""
    try:
        solutions.serialize(sink, format=fmt)
    except _Enough:
        pass
    return sink.body()


def _from_end(body: bytes, marker: bytes, count: int, n: int) -> int:
    """Where the ``n``-th of the ``count`` ``marker`` s in ``body`` begins (searched from the
    end: the cap's is among the last ones when the serialiser was stopped)."""
    at = len(body)
    for _ in range(count - n + 1):
        at = body.rindex(marker, 0, at)
    return at


def _json(solutions: ox.QuerySolutions, limit: int | None) -> tuple[bytes, int, bool] | None:
    """SPARQL JSON by pyoxigraph; None where its bytes or row count are not certain.

    ``n`` rows are separated by ``n - 1`` separators; the serialiser is stopped at ``limit
    + 1`` of them (then the ``limit``-th is followed by another, whole, which shows it is a
    separator and not the end of a string: see the module's notes).
    """
    sink = _Sink(_JSON_SEPARATOR, None if limit is None else limit + 1)
    body = _serialize(solutions, ox.QueryResultsFormat.JSON, sink)
    if _JSON_DIRECTION in body or _JSON_UNCERTAIN.search(body):
        return None
    rows = 0 if body.endswith(b"[]}}") else sink.markers + 1
    if limit is None or (not sink.stopped and rows <= limit):
        return body, rows, False
    if limit == 0:
        cut = body.index(b'"bindings":[') + len(b'"bindings":[')
    else:
        # after the closing braces of row ``limit``, which the ``limit``-th separator begins
        cut = _from_end(body, _JSON_SEPARATOR, sink.markers, limit) + 2
    return body[:cut] + b"]}}", limit, True


def _tsv(solutions: ox.QuerySolutions, limit: int | None) -> tuple[bytes, int, bool] | None:
    """SPARQL TSV by pyoxigraph (a header line, then one line a row); None where its bytes
    would differ.  The serialiser is stopped once row ``limit + 1`` is in."""
    sink = _Sink(b"\n", None if limit is None else limit + 2)
    body = _serialize(solutions, ox.QueryResultsFormat.TSV, sink)
    if _TSV_TRIPLE in body or _has_direction(body) or _bare_elsewhere(body):
        return None
    rows = sink.markers - 1
    if limit is None or (not sink.stopped and rows <= limit):
        return body, rows, False
    return body[:_from_end(body, b"\n", sink.markers, limit + 1) + 1], limit, True


def _has_direction(tsv: bytes) -> bool:
    """Whether a literal of ``tsv`` may have a base direction (``"…"@en--ltr``)."""
    return _TSV_DIRECTION in tsv and (b"--ltr" in tsv or b"--rtl" in tsv)


def _bare_elsewhere(tsv: bytes) -> bool:
    """Whether the neutral TSV writer might write bare a numeric literal that pyoxigraph
    quoted in ``tsv``: one whose lexical form is not ASCII (``"١٢"^^xsd:integer``)."""
    if not any(lead in tsv for lead in _DIGIT_LEADS):  # (each a fast search for one byte)
        return False
    for quoted in _QUOTED_NUMBERS:
        ends = [found.start() for found in re.finditer(re.escape(quoted), tsv)]
        if ends and not b"".join([tsv[tsv.rfind(b'"', 0, end):end] for end in ends]).isascii():
            return True
    return False


# -- written here ------------------------------------------------------------------------

def _xml_term(term: Any, starts: dict[str, str]) -> str:
    """A pyoxigraph term in the SPARQL Query Results XML format, as
    :func:`poli_kg.store.results._xml_term` writes its neutral term; ``starts`` remembers the
    literals' start tags by language or datatype (quoteattr is slow, and they repeat)."""
    kind = type(term)
    if kind is ox.Literal:
        key = term.language or term.datatype.value  # (a datatype IRI is never a language)
        start = starts.get(key)
        if start is None:
            start = starts[key] = xml_literal_start(term.language, term.datatype.value)
        return start + xml_escape(term.value) + "</literal>"
    if kind is ox.NamedNode:
        return "<uri>" + xml_escape(term.value) + "</uri>"
    if kind is ox.BlankNode:
        return "<bnode>" + xml_escape(term.value) + "</bnode>"
    return (f"<triple><subject>{_xml_term(term.subject, starts)}</subject>"
            f"<predicate>{_xml_term(term.predicate, starts)}</predicate>"
            f"<object>{_xml_term(term.object, starts)}</object></triple>")


def _xml(solutions: ox.QuerySolutions, names: list[str],
         limit: int | None) -> tuple[bytes, int, bool]:
    """SPARQL XML, as :func:`poli_kg.store.results._results_xml` writes it."""
    opens = [f"<binding name={quoteattr(name)}>" for name in names]
    starts: dict[str, str] = {}
    taken, truncated = take(solutions, limit)
    rows = ["<result>" + "".join([start + _xml_term(term, starts) + "</binding>"
                                  for start, term in zip(opens, solution) if term is not None])
            + "</result>\n" for solution in taken]
    head = "".join(f"<variable name={quoteattr(name)}/>" for name in names)
    body = "".join([XML_RESULTS_START, head, "</head>\n<results>\n", *rows, "</results>\n</sparql>\n"])
    return body.encode(), len(rows), truncated


def _csv_field(term: Any) -> str:
    """A pyoxigraph term as a SPARQL CSV field (as :func:`poli_kg.store.results._csv_value`)."""
    if term is None:
        return ""
    kind = type(term)
    if kind is ox.Literal or kind is ox.NamedNode:
        return term.value
    if kind is ox.BlankNode:
        return "_:" + term.value
    return f"{_csv_field(term.subject)} {_csv_field(term.predicate)} {_csv_field(term.object)}"


_LEXICAL = frozenset((ox.Literal, ox.NamedNode))
"""Terms written in CSV as their value (tested inline: a call a term costs)."""


def _csv(solutions: ox.QuerySolutions, names: list[str],
         limit: int | None) -> tuple[bytes, int, bool]:
    """SPARQL CSV, as :func:`poli_kg.store.results._results_csv` writes it."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(names)
    taken, truncated = take(solutions, limit)
    writer.writerows([term.value if type(term) in _LEXICAL else _csv_field(term)
                      for term in solution] for solution in taken)
    return buf.getvalue().encode(), len(taken), truncated
