"""The build's inputs: which files, in which named graph, parsed into triples.

The table :data:`INPUTS` is the only place that maps folders (relative to the project folder)
to named graphs:

========================  ==================  =========================================
glob                      named graph         what
========================  ==================  =========================================
``ontology/*.ttl``        ``GRAPH_ONTOLOGY``  the OWL ontology
``data/fonte/*.ttl``      ``GRAPH_PROVENANCE`` the source document and its sentences
``data/**/*.ttl``         ``GRAPH_DATA``      instance data (files claimed above excluded)
``shapes/*.ttl``          —                   SHACL shapes (used, not published)
========================  ==================  =========================================

Extra data files (Turtle, or N-Triples for ``*.nt``) outside these globs — e.g. the
synthetic scale data of ``bench/generate.py`` — join the data graph with
``Sources(project, extra_data=[path, …])``; they count as inputs (digest, ``build.json``).

Oxigraph parses every file (a syntax error is reported as ``file:line``); hand-sized Turtle
files (≤ 1 MiB) must also be accepted by rdflib.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import pyoxigraph as ox
from rdflib import Graph, URIRef
from rdflib.plugins.parsers.notation3 import BadSyntax

from poli_kg.config import ROOT
from poli_kg.graph.rdfterms import to_rdflib
from poli_kg.namespaces import (
    BASE, GRAPH_DATA, GRAPH_ONTOLOGY, GRAPH_PROVENANCE, PREFIXES, bind_prefixes,
)

__all__ = [
    "INPUTS", "KINDS", "GRAPH_OF", "ASSERTED_KINDS", "InputError", "Sources", "Inputs",
    "parse_rdf", "parse_turtle", "inputs_digest", "load",
]

# The one table of inputs: kind, glob relative to the project, named graph (None: shapes).
# Earlier rows claim files first, so data/fonte/*.ttl is provenance and not data.
INPUTS: tuple[tuple[str, str, URIRef | None], ...] = (
    ("ontology", "ontology/*.ttl", GRAPH_ONTOLOGY),
    ("provenance", "data/fonte/*.ttl", GRAPH_PROVENANCE),
    ("data", "data/**/*.ttl", GRAPH_DATA),
    ("shapes", "shapes/*.ttl", None),
)
KINDS = tuple(kind for kind, _glob, _graph in INPUTS)
GRAPH_OF: dict[str, URIRef] = {kind: graph for kind, _glob, graph in INPUTS if graph is not None}
ASSERTED_KINDS = ("ontology", "data", "provenance")

RDFLIB_CHECK_MAX_BYTES = 1 << 20  # Turtle files up to this size must also parse with rdflib


class InputError(Exception):
    """An input file cannot be read or parsed; the message starts with ``file:line:``."""

    def __init__(self, message: str, path: str = "", line: int | None = None) -> None:
        super().__init__(message)
        self.path = path
        self.line = line


@dataclass(frozen=True)
class Sources:
    """Where a build's inputs live: a project folder and, per kind, a glob inside it.

    ``Sources(project)`` uses :data:`INPUTS`; pass ``globs`` to override some of them,
    e.g. ``Sources(p, globs={"data": "examples/*.ttl"})``, and ``extra_data`` for more data
    files anywhere (Turtle, or N-Triples when named ``*.nt``), e.g. generated scale data.
    """

    project: Path = ROOT
    globs: Mapping[str, str] = field(default_factory=dict)
    extra_data: Sequence[Path] = ()

    def glob_for(self, kind: str) -> str:
        default = {k: g for k, g, _graph in INPUTS}
        return self.globs.get(kind, default[kind])

    def files(self) -> dict[str, list[Path]]:
        """Input files per kind (sorted), each file in exactly one kind; dotfiles skipped."""
        claimed: set[Path] = set()
        result: dict[str, list[Path]] = {}
        for kind, _glob, _graph in INPUTS:
            found = sorted(
                (p for p in self.project.glob(self.glob_for(kind))
                 if p.is_file() and not p.name.startswith(".") and p not in claimed),
                key=lambda p: p.relative_to(self.project).as_posix(),
            )
            claimed.update(found)
            result[kind] = found
        extra = [Path(p) for p in dict.fromkeys(self.extra_data)
                 if Path(p) not in claimed and Path(p) not in result["data"]]
        result["data"] = sorted(result["data"] + extra, key=self.label)
        return result

    def label(self, path: Path) -> str:
        """How messages name ``path``: relative to the project when inside it."""
        try:
            return path.resolve().relative_to(self.project.resolve()).as_posix()
        except ValueError:
            return str(path)


@dataclass
class Inputs:
    """Parsed inputs: the triples of each kind (ontology, data, provenance, shapes).

    ``triples[kind]`` holds each triple once, in file order, as a pyoxigraph quad in the
    default graph.  :attr:`graphs` and
    :meth:`asserted` give rdflib graphs (built on first use: avoid them for large inputs).
    """

    triples: dict[str, list[ox.Quad]]   # default-graph quads, as parsed
    files: list[str]
    sha256: str
    namespaces: dict[str, str]
    asserted_sha256: str = ""   # of the ontology, data and provenance files only
    _asserted: list[ox.Quad] | None = field(default=None, repr=False)

    @cached_property
    def graphs(self) -> Mapping[str, Graph]:
        """One rdflib graph per kind (each built when first asked for)."""
        return _Graphs(self.triples)

    def asserted(self) -> Graph:
        """Union of the ontology, data and provenance graphs (a fresh rdflib graph)."""
        union = _new_graph(self.namespaces)
        for kind in ASSERTED_KINDS:
            union += self.graphs[kind]
        return union

    def asserted_triples(self) -> list[ox.Quad]:
        """Union of the ontology, data and provenance triples, each once (computed once)."""
        if self._asserted is None:
            self._asserted = list(dict.fromkeys(
                t for kind in ASSERTED_KINDS for t in self.triples[kind]))
        return self._asserted


class _Graphs(Mapping):
    """rdflib graphs of the kinds, converted on first access (the data may be large)."""

    def __init__(self, triples: Mapping[str, list[ox.Triple]]) -> None:
        self._triples = triples
        self._graphs: dict[str, Graph] = {}

    def __getitem__(self, kind: str) -> Graph:
        if kind not in KINDS:
            raise KeyError(kind)
        if kind not in self._graphs:
            self._graphs[kind] = _rdflib_graph(self._triples.get(kind, ()))
        return self._graphs[kind]

    def __iter__(self) -> Iterator[str]:
        return iter(KINDS)

    def __len__(self) -> int:
        return len(KINDS)


# --------------------------------------------------------------------------- parsing

def _new_graph(namespaces: Mapping[str, str] | None = None) -> Graph:
    """An empty graph with the project's prefixes (and extra non-conflicting ones)."""
    graph = bind_prefixes(Graph(bind_namespaces="core"))
    bound = {p for p, _ns in graph.namespaces()}
    for prefix, ns in (namespaces or {}).items():
        if prefix not in bound and prefix not in PREFIXES:
            graph.bind(prefix, ns, override=False)
    return graph


def _rdflib_graph(triples: Iterable[ox.Triple]) -> Graph:
    graph = Graph(bind_namespaces="none")
    for t in triples:
        graph.add((to_rdflib(t.subject), to_rdflib(t.predicate), to_rdflib(t.object)))
    return graph


def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, max(offset, 0)) + 1


def _format_of(path: Path) -> ox.RdfFormat:
    return ox.RdfFormat.N_TRIPLES if path.suffix == ".nt" else ox.RdfFormat.TURTLE


def parse_rdf(data: bytes, label: str, bnode_tag: str = "b",
              fmt: ox.RdfFormat = ox.RdfFormat.TURTLE) -> tuple[list[ox.Quad], dict[str, str]]:
    """Parse ``data`` (the contents of file ``label``): its triples and its prefixes.

    The triples are pyoxigraph quads in the default graph, with literals exactly as written.
    oxigraph parses the file: it is strict (it rejects IRIs with spaces, bad language tags, …
    that the store could not hold), it reports every error with its line and it yields
    triples in document order, so blank nodes are relabelled ``{bnode_tag}{n}`` in document
    order — builds are reproducible.  A Turtle file of up to 1 MiB (a hand-written one) must
    also be accepted by rdflib (rdflib crashes on some truncated files).  Errors raise
    :class:`InputError` as ``label:line: message``; a file without triples is an error too
    (empty, truncated or half-written).
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = _line_of(data, exc.start)
        raise InputError(f"{label}:{line}: not UTF-8: {exc.reason}", label, line) from None
    if data.startswith(b"\xef\xbb\xbf"):
        data = text.encode("utf-8")
    turtle = fmt == ox.RdfFormat.TURTLE
    parser = ox.parse(data, format=fmt, base_iri=BASE if turtle else None)
    try:
        quads = list(parser)
    except SyntaxError as exc:
        line = exc.lineno or 1
        why = exc.msg.split(": ", 1)[-1] if exc.msg else str(exc)
        raise InputError(f"{label}:{line}: bad syntax: {why}", label, line) from None
    if turtle and len(data) <= RDFLIB_CHECK_MAX_BYTES:
        _check_with_rdflib(text, label)
    if not quads:
        raise InputError(f"{label}:1: no triples (empty or truncated file?)", label, 1)
    del text
    if b"_:" in data or (turtle and (b"[" in data or b"(" in data)):   # maybe blank nodes
        quads = _relabel(quads, bnode_tag)
    return quads, dict(parser.prefixes)


def _check_with_rdflib(text: str, label: str) -> None:
    """Raise :class:`InputError` unless rdflib parses the Turtle ``text`` too."""
    try:
        Graph(bind_namespaces="none").parse(data=text, format="turtle", publicID=BASE)
    except BadSyntax as exc:
        line = exc.lines + 1
        why = getattr(exc, "_why", None) or str(exc)
        raise InputError(f"{label}:{line}: bad syntax: {why}", label, line) from None
    except (ValueError, IndexError) as exc:  # rdflib's own limits; oxigraph accepted the text
        raise InputError(f"{label}: rdflib cannot parse it: {exc}", label) from None


def _relabel(quads: list[ox.Quad], tag: str) -> list[ox.Quad]:
    """Blank nodes renamed ``{tag}{n}`` in document order."""
    labels: dict[str, ox.BlankNode] = {}

    def relabel(t):
        if type(t) is ox.BlankNode:
            if t.value not in labels:
                labels[t.value] = ox.BlankNode(f"{tag}{len(labels) + 1}")
            return labels[t.value]
        return t

    out = []
    for q in quads:
        s, o = q.subject, q.object
        if type(s) is ox.BlankNode or type(o) is ox.BlankNode:
            q = ox.Quad(relabel(s), q.predicate, relabel(o))
        out.append(q)
    return out


def parse_turtle(data: bytes, label: str, bnode_tag: str = "b") -> Graph:
    """:func:`parse_rdf` for a Turtle file, as an rdflib graph with the file's prefixes."""
    triples, prefixes = parse_rdf(data, label, bnode_tag)
    graph = _rdflib_graph(triples)
    for prefix, ns in prefixes.items():
        graph.bind(prefix, ns)
    return graph


# --------------------------------------------------------------------------- reading

def _read(path: Path, label: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputError(f"{label}: cannot read: {exc.strerror or exc}", label) from None


def _digest_update(h: "hashlib._Hash", label: str, data: bytes) -> None:
    h.update(f"{label}\0{len(data)}\0".encode())
    h.update(data)


def inputs_digest(sources: Sources) -> str:
    """SHA-256 over the input files' project-relative paths and contents."""
    h = hashlib.sha256()
    for path in sorted((p for files in sources.files().values() for p in files),
                       key=sources.label):
        label = sources.label(path)
        _digest_update(h, label, _read(path, label))
    return h.hexdigest()


def load(sources: Sources, extra_data: Sequence[Path] = (),
         kinds: Iterable[str] = KINDS) -> Inputs:
    """Read and parse the inputs of ``kinds`` from ``sources`` (plus ``extra_data`` as data).

    Raises :class:`InputError` naming the file and line of the first unreadable input.
    """
    kinds = set(kinds)
    files = sources.files()
    todo: list[tuple[str, Path]] = [(k, p) for k in KINDS if k in kinds for p in files[k]]
    todo += [("data", Path(p)) for p in extra_data]
    todo.sort(key=lambda item: sources.label(item[1]))
    triples: dict[str, list[ox.Quad]] = {kind: [] for kind in KINDS}
    namespaces: dict[str, str] = {}
    h, h_asserted = hashlib.sha256(), hashlib.sha256()
    labels = []
    for index, (kind, path) in enumerate(todo):
        label = sources.label(path)
        data = _read(path, label)
        _digest_update(h, label, data)
        if kind in ASSERTED_KINDS:
            _digest_update(h_asserted, label, data)
        parsed, prefixes = parse_rdf(data, label, bnode_tag=f"f{index}b", fmt=_format_of(path))
        del data
        triples[kind] += parsed
        for prefix, ns in prefixes.items():
            namespaces.setdefault(prefix, ns)
        labels.append(label)
    for kind in KINDS:
        triples[kind] = list(dict.fromkeys(triples[kind]))
    return Inputs(triples=triples, files=labels, sha256=h.hexdigest(), namespaces=namespaces,
                  asserted_sha256=h_asserted.hexdigest())
