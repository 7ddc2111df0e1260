"""Build the published graph: load → reason → validate → write.

Inputs (relative to the project folder; the table :data:`INPUTS` is the only place that
maps folders to named graphs):

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

The pipeline is built on Oxigraph so that it scales to millions of triples:

* **parse** — oxigraph parses every file (a syntax error is reported as ``file:line``);
  hand-sized Turtle files (≤ 1 MiB) must also be accepted by rdflib, as before;
* **reason** — :func:`poli_kg.graph.reasoning.close`: the OWL 2 RL rules the ontology triggers,
  compiled to SPARQL and run by Oxigraph to a fixpoint (owlrl when the ontology needs more);
  when the ontology, data and provenance files are those of the build in ``out_dir``
  (same SHA-256, same pipeline), that build's inferred graph is reused instead;
* **validate** — pyshacl, the reference, for graphs up to :data:`PYSHACL_MAX_TRIPLES`
  triples (the project's own graph is always validated by pyshacl); above, the shapes
  compiled to SPARQL and run on the reasoner's store (:mod:`poli_kg.graph.shaclsparql`, proven to
  give pyshacl's results; pyshacl again if the shapes use features it does not compile);
* **write** — every download is serialised by oxigraph from the sorted triples (identical
  bytes for identical inputs) and gzipped and hashed on a second core; the on-disk store is
  bulk-loaded in the background from the moment the inputs are parsed (asserted graphs) and
  reasoned (inferred graph), on the second core.

:func:`build` writes a complete build folder next to ``out_dir`` and then swaps the
``out_dir`` symlink to it atomically (:mod:`poli_kg.buildfolder`), so a failed build leaves
the previous output untouched and readers never see a half-written folder.

:func:`ensure_built` reuses ``out_dir`` when its ``build.json`` records the same SHA-256
of the inputs (paths + contents) and the same pipeline (code and library versions).
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.metadata
import json
import os
import queue
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from functools import cached_property
from pathlib import Path

import pyoxigraph as ox
from rdflib import BNode, Graph, URIRef
from rdflib.plugins.parsers.notation3 import BadSyntax
from rdflib.term import Node

from poli_kg import __version__
from poli_kg.buildfolder import (
    BUILD_INFO, CHECKSUMS, DOWNLOAD_FILES, STORE_DIR, BuildError, ServedBuild, check_replaceable,
    locked, new_folder, prune, read_build_info, split_out_dir, swap,
)
from poli_kg.config import ROOT
from poli_kg.graph import reasoning, shaclsparql, validation
from poli_kg.namespaces import (
    BASE, GRAPH_DATA, GRAPH_INFERRED, GRAPH_ONTOLOGY, GRAPH_PROVENANCE, PREFIXES,
    bind_prefixes,
)
from poli_kg.graph.reasoning import to_ox, to_rdflib
from poli_kg.graph.validation import ValidationFailed, ValidationReport

__all__ = [
    "ROOT", "INPUTS", "Sources", "Inputs", "BuildResult", "InputError", "BuildError",
    "ValidationFailed", "load", "inputs_digest", "check", "build", "ensure_built",
    "DOWNLOAD_FILES", "read_build_info", "VALIDATORS", "PYSHACL_MAX_TRIPLES", "ServedBuild",
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


# Validators: pyshacl (the reference), the shapes compiled to SPARQL on Oxigraph, or by size.
VALIDATORS = ("auto", "pyshacl", "sparql")
PYSHACL_MAX_TRIPLES = 10_000     # "auto": pyshacl up to this many (asserted + inferred) triples
RDFLIB_CHECK_MAX_BYTES = 1 << 20  # Turtle files up to this size must also parse with rdflib
GZIP_MAX_LEVEL_BYTES = 16 << 20   # files up to this size are gzipped at level 9, larger at 6

Progress = Callable[[str, float], None]


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


@dataclass(frozen=True)
class BuildResult:
    """What :func:`build` produced."""

    out_dir: Path                 # the stable path (a symlink)
    path: Path                    # the build folder it points to
    inputs_sha256: str
    counts: dict[str, int]
    timings: dict[str, float]
    report: ValidationReport
    reasoner: str = ""
    validator: str = ""


# --------------------------------------------------------------------------- loading

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
        try:
            Graph(bind_namespaces="none").parse(data=text, format="turtle", publicID=BASE)
        except BadSyntax as exc:
            line = exc.lines + 1
            why = getattr(exc, "_why", None) or str(exc)
            raise InputError(f"{label}:{line}: bad syntax: {why}", label, line) from None
        except (ValueError, IndexError) as exc:  # rdflib's own limits; oxigraph accepted the text
            raise InputError(f"{label}: rdflib cannot parse it: {exc}", label) from None
    if not quads:
        raise InputError(f"{label}:1: no triples (empty or truncated file?)", label, 1)
    del text
    if b"_:" in data or (turtle and (b"[" in data or b"(" in data)):   # maybe blank nodes
        quads = _relabel(quads, bnode_tag)
    return quads, dict(parser.prefixes)


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


# --------------------------------------------------------------------------- reason + validate

def _stage(timings: dict[str, float], name: str, start: float, progress: Progress | None,
           add: bool = False) -> None:
    elapsed = time.perf_counter() - start
    timings[name] = round(timings.get(name, 0.0) + elapsed if add else elapsed, 3)
    if progress is not None:
        progress(name, timings[name])


def _cached_inferred(previous: Path | None, inputs: Inputs) -> list[ox.Quad] | None:
    """The inferred graph of the build in ``previous`` if it reasoned over the same inputs."""
    if previous is None or not inputs.asserted_sha256:
        return None
    info = read_build_info(previous)
    stage = (info or {}).get("stages", {}).get("reason", {})
    if (stage.get("inputs_sha256") != inputs.asserted_sha256
            or info.get("pipeline") != pipeline_fingerprint()
            or not info.get("validation", {}).get("conforms")):
        return None
    try:
        data = (previous / "poli-kg-inferred.ttl").read_bytes()
        return list(ox.parse(data, format=ox.RdfFormat.TURTLE, base_iri=BASE))
    except (OSError, SyntaxError):
        return None


def _reason(inputs: Inputs, reasoner: str, cached: list[ox.Quad] | None = None
            ) -> reasoning.Closure:
    asserted = inputs.asserted_triples()
    if cached is not None:
        store = reasoning.Store()
        store.extend(asserted)   # default-graph quads, as parsed
        store.extend(cached)
        return reasoning.Closure(store=store, inferred=cached, errors=(),
                                 reasoner="reused (same ontology, data and provenance)")
    return reasoning.close(asserted, reasoner)


def _validate(inputs: Inputs, closure: reasoning.Closure, validator: str
              ) -> tuple[ValidationReport, str]:
    """SHACL report of asserted + inferred, and the validator that made it."""
    if validator not in VALIDATORS:
        raise ValueError(f"unknown validator {validator!r}: use one of {', '.join(VALIDATORS)}")
    shapes = inputs.graphs["shapes"]
    size = len(closure.store)
    name = validator if validator != "auto" else (
        "pyshacl" if size <= PYSHACL_MAX_TRIPLES else "sparql")
    note = ""
    if name == "sparql":
        try:
            report = shaclsparql.validate(closure.store, shapes)
        except shaclsparql.Unsupported as exc:
            note = f" (shapes not compiled: {exc})"
        else:
            return report, "sparql"
    union = inputs.asserted()
    for t in closure.inferred:
        union.add((to_rdflib(t.subject), to_rdflib(t.predicate), to_rdflib(t.object)))
    return validation.validate(union, shapes), "pyshacl" + note


def _reason_and_validate(inputs: Inputs, timings: dict[str, float], progress: Progress | None,
                         reasoner: str = reasoning.DEFAULT_REASONER, validator: str = "auto",
                         ) -> tuple[reasoning.Closure, ValidationReport, str]:
    """Run the reasoner and SHACL; record stage times; return (closure, report, validator)."""
    start = time.perf_counter()
    closure = _reason(inputs, reasoner)
    _stage(timings, "reason", start, progress)
    start = time.perf_counter()
    report, used = _validate(inputs, closure, validator)
    report = _with_errors(report, closure.errors)
    _stage(timings, "validate", start, progress)
    return closure, report, used


def _with_errors(report: ValidationReport, errors: Sequence[str]) -> ValidationReport:
    if not errors:
        return report
    return replace(report, results=validation.inconsistency_results(errors) + report.results)


def check(files: Sequence[Path] = (), project: Path = ROOT, *, sources: Sources | None = None,
          progress: Progress | None = None, reasoner: str = reasoning.DEFAULT_REASONER,
          validator: str = "auto") -> ValidationReport:
    """Validate without writing anything.

    With no ``files``: the whole project, exactly as :func:`build` would.  With ``files``:
    those Turtle files as the data graph, together with the project's ontology and
    source document (provenance), against the project's shapes.  Reasoning runs first.
    """
    sources = sources or Sources(project)
    timings: dict[str, float] = {}
    start = time.perf_counter()
    if files:
        inputs = load(sources, extra_data=files, kinds=("ontology", "provenance", "shapes"))
    else:
        inputs = load(sources)
    _stage(timings, "parse", start, progress)
    _closure, report, _used = _reason_and_validate(inputs, timings, progress, reasoner, validator)
    return report


# --------------------------------------------------------------------------- writing

def _write_file(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` (the single place files of a build are written)."""
    with open(path, "wb") as f:
        f.write(data)


def _used_prefixes(namespaces: Mapping[str, str], *ntriples: bytes) -> dict[str, str]:
    """The subset of ``namespaces`` that some IRI in the N-Triples/N-Quads ``ntriples`` starts with.

    (A literal quoting ``<`` + a namespace counts as a use: one prefix line too many at worst.)
    """
    return {p: ns for p, ns in sorted(namespaces.items())
            if any(blob.find(b"<" + ns.encode("utf-8")) >= 0 for blob in ntriples)}


def _in_graph(ntriples: bytes, graph: URIRef) -> bytes:
    """N-Triples as N-Quads of ``graph`` (each line of an N-Triples document ends in `` .``)."""
    return ntriples.replace(b" .\n", f" <{graph}> .\n".encode("utf-8"))


def _trig(blocks: Sequence[tuple[URIRef, Sequence]], prefixes: Mapping[str, str]) -> bytes:
    """TriG: the prefixes, then each non-empty graph as a ``<graph> { … }`` block of Turtle."""
    header, parts = b"", []
    for graph, triples in blocks:
        if not triples:
            continue
        turtle = ox.serialize(triples, format=ox.RdfFormat.TURTLE, prefixes=dict(prefixes))
        lines = turtle.split(b"\n")
        n = 0
        while n < len(lines) and lines[n].startswith(b"@prefix "):
            n += 1
        header = header or b"".join(line + b"\n" for line in lines[:n])
        body = b"\n".join(lines[n:]).strip(b"\n")
        parts.append(f"<{graph}> {{\n".encode("utf-8") + body + b"\n}\n")
    return header + b"".join(parts)


def _relabelled(graph: Graph, tag: str) -> Graph:
    """A copy of ``graph`` with blank nodes renamed ``{tag}{n}`` in a stable order."""
    labels: dict[BNode, BNode] = {}
    out = Graph(bind_namespaces="none")

    def key(t: tuple) -> tuple:
        return tuple("" if isinstance(x, BNode) else x.n3() for x in t)

    def relabel(term: Node) -> Node:
        if isinstance(term, BNode):
            if term not in labels:
                labels[term] = BNode(f"{tag}{len(labels) + 1}")
            return labels[term]
        return term

    for s, p, o in sorted(graph, key=key):
        out.add((relabel(s), p, relabel(o)))
    return out


def _gzip_and_hash(data: bytes) -> tuple[bytes, str, str]:
    level = 9 if len(data) <= GZIP_MAX_LEVEL_BYTES else 6
    packed = gzip.compress(data, compresslevel=level, mtime=0)
    return packed, hashlib.sha256(data).hexdigest(), hashlib.sha256(packed).hexdigest()


class _StoreLoader:
    """Bulk-loads the on-disk store in a background thread, while the build reasons and validates.

    The asserted graphs are known once the inputs are parsed; the inferred graph follows when
    the reasoner has it (:meth:`add_inferred`).  RocksDB's bulk loader and oxigraph release
    the GIL, so on two cores the store costs little wall time.
    """

    def __init__(self, folder: Path, inputs: Inputs) -> None:
        nt = ox.RdfFormat.N_TRIPLES
        asserted = b"".join(_in_graph(ox.serialize(inputs.triples[kind], format=nt), GRAPH_OF[kind])
                            for kind in ("ontology", "data", "provenance"))
        self._inferred: queue.SimpleQueue = queue.SimpleQueue()
        self._given = False
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="poli-kg-store")
        self._done = self._pool.submit(self._load, folder / STORE_DIR, asserted)

    def _load(self, path: Path, asserted: bytes) -> bool:
        store = ox.Store(str(path))
        if asserted:
            store.bulk_load(input=asserted, format=ox.RdfFormat.N_QUADS)
        del asserted
        inferred = self._inferred.get()
        if inferred is None:   # the build failed before reasoning finished
            return False
        if inferred:
            store.bulk_load(input=inferred, format=ox.RdfFormat.N_QUADS)
        store.flush()
        del store
        return True

    def add_inferred(self, ntriples: bytes) -> None:
        self._given = True
        self._inferred.put(_in_graph(ntriples, GRAPH_INFERRED))

    def wait(self) -> None:
        """Until the store is complete (re-raises the loader's error)."""
        self._done.result()

    def close(self) -> None:
        """Stop waiting for the inferred graph, and wait for the thread."""
        if not self._given:
            self._given = True
            self._inferred.put(None)
        self._pool.shutdown(wait=True)


class _Writer:
    """Writes the files of a build folder, then waits for the store (:class:`_StoreLoader`).

    Every file is serialised by oxigraph from the sorted triples (N-Quads and TriG are put
    together from the graphs' N-Triples and Turtle, without making quad objects).  The files
    are gzipped and hashed in worker threads (zlib and hashlib release the GIL) while the
    next one is serialised.  Files are written by :func:`_write_file`, in the main thread.
    """

    def __init__(self, folder: Path, inputs: Inputs, closure: reasoning.Closure,
                 store: _StoreLoader) -> None:
        self.folder = folder
        self.inputs = inputs
        self.closure = closure
        self.pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="poli-kg-build")
        self.packed: dict[str, Future] = {}
        self.store = store
        namespaces = {p: str(ns) for p, ns in PREFIXES.items()}
        for p, ns in inputs.namespaces.items():
            if p not in namespaces and ns not in namespaces.values():
                namespaces[p] = ns
        self.namespaces = namespaces

    def _file(self, name: str, data: bytes) -> None:
        _write_file(self.folder / name, data)
        self.packed[name] = self.pool.submit(_gzip_and_hash, data)

    def start(self) -> None:
        """Sort the graphs and write ``poli-kg.nq``."""
        nt = ox.RdfFormat.N_TRIPLES
        self.by_kind = {kind: sorted(self.inputs.triples[kind], key=str) for kind in ASSERTED_KINDS}
        self.inferred = sorted(self.closure.inferred, key=str)
        self.asserted = sorted(self.inputs.asserted_triples(), key=str)
        self.nt_inferred = ox.serialize(self.inferred, format=nt)
        nquads = b"".join(_in_graph(ox.serialize(self.by_kind[kind], format=nt), GRAPH_OF[kind])
                          for kind in ("ontology", "data", "provenance"))
        self._file("poli-kg.nq", nquads + _in_graph(self.nt_inferred, GRAPH_INFERRED))

    def finish(self, report: ValidationReport) -> dict[str, dict]:
        """Write the other files, the .gz copies and SHA256SUMS; wait for the store."""
        turtle = ox.RdfFormat.TURTLE
        nt_asserted = ox.serialize(self.asserted, format=ox.RdfFormat.N_TRIPLES)
        used = _used_prefixes(self.namespaces, nt_asserted)
        used_inferred = _used_prefixes(self.namespaces, self.nt_inferred)
        self._file("poli-kg.ttl", ox.serialize(self.asserted, format=turtle, prefixes=used))
        self._file("poli-kg-inferred.ttl", ox.serialize(self.inferred, format=turtle,
                                                        prefixes=used_inferred))
        report_triples = sorted((ox.Triple(to_ox(s), to_ox(p), to_ox(o))
                                 for s, p, o in _relabelled(report.graph, "r")), key=str)
        self._file("validation-report.ttl", ox.serialize(
            report_triples, format=turtle, prefixes=_used_prefixes(
                {**self.namespaces, "sh": "http://www.w3.org/ns/shacl#"},
                ox.serialize(report_triples, format=ox.RdfFormat.N_TRIPLES))))
        self._file("poli-kg.nt", nt_asserted)
        self._file("poli-kg.jsonld", ox.serialize(self.asserted, format=ox.RdfFormat.JSON_LD))
        self._file("poli-kg.rdf", ox.serialize(self.asserted, format=ox.RdfFormat.RDF_XML,
                                               prefixes=used))
        used_q = dict(sorted({**used, **used_inferred}.items()))
        del nt_asserted
        self._file("poli-kg.trig", _trig(
            [(GRAPH_OF[kind], self.by_kind[kind]) for kind in ("ontology", "data", "provenance")]
            + [(GRAPH_INFERRED, self.inferred)], used_q))
        sums: dict[str, str] = {}
        sizes: dict[str, int] = {}
        for name in DOWNLOAD_FILES:
            packed, digest, packed_digest = self.packed[name].result()
            _write_file(self.folder / f"{name}.gz", packed)
            sums[name], sums[f"{name}.gz"] = digest, packed_digest
            sizes[name] = (self.folder / name).stat().st_size
            sizes[f"{name}.gz"] = len(packed)
        _write_file(self.folder / CHECKSUMS,
                    "".join(f"{sums[n]}  {n}\n" for n in sorted(sums)).encode("utf-8"))
        self.store.wait()
        return {n: {"bytes": sizes[n], "sha256": sums[n]} for n in sorted(sums)}

    def close(self) -> None:
        """Wait for the worker threads (also after a failure, before the folder is removed)."""
        self.pool.shutdown(wait=True, cancel_futures=True)


def pipeline_fingerprint() -> dict[str, str]:
    """Versions of the code and libraries that shape a build (a change forces a rebuild)."""
    h = hashlib.sha256()
    package = Path(__file__).resolve().parents[1]
    for module in (*sorted((package / "graph").glob("*.py")), package / "buildfolder.py",
                   package / "namespaces.py"):
        h.update(module.read_bytes())
    versions = {"poli-kg": __version__, "code_sha256": h.hexdigest()}
    for dist in ("rdflib", "owlrl", "pyshacl", "pyoxigraph"):
        try:
            versions[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            versions[dist] = "?"
    return versions


# --------------------------------------------------------------------------- build

def build(out_dir: Path | str, project: Path = ROOT, *, sources: Sources | None = None,
          progress: Progress | None = None, reasoner: str = reasoning.DEFAULT_REASONER,
          validator: str = "auto", reuse: bool = True) -> BuildResult:
    """Load, reason, validate and write the graph to ``out_dir`` (atomically).

    Raises :class:`InputError` (unreadable input, message ``file:line: …``),
    :class:`ValidationFailed` (SHACL violations or an inconsistent graph; the message is
    the readable report), :class:`BuildError` (``out_dir`` is unusable) or ``OSError``
    (writing failed).  In every failure case the previous ``out_dir`` is left untouched.
    ``progress(stage, seconds)`` is called after each stage.  ``reasoner`` is ``"rules"``
    or ``"owlrl"``, ``validator`` one of :data:`VALIDATORS`; ``reuse=False`` reasons even
    when ``out_dir`` holds a build of the same ontology, data and provenance.
    """
    sources = sources or Sources(Path(project))
    parent, name = split_out_dir(out_dir)
    with locked(parent, name):
        return _build_locked(parent, name, sources, progress, reasoner, validator, reuse)


def _build_locked(parent: Path, name: str, sources: Sources, progress: Progress | None,
                  reasoner: str = reasoning.DEFAULT_REASONER, validator: str = "auto",
                  reuse: bool = True) -> BuildResult:
    out = parent / name
    check_replaceable(out)
    timings: dict[str, float] = {}
    start = time.perf_counter()
    inputs = load(sources)
    _stage(timings, "parse", start, progress)

    staging = Path(tempfile.mkdtemp(prefix=f".{name}-tmp-", dir=parent))
    loader = writer = None
    try:
        os.chmod(staging, 0o755)  # mkdtemp makes it private; the build is public
        start = time.perf_counter()
        loader = _StoreLoader(staging, inputs)   # the on-disk store, in the background
        write_time = time.perf_counter() - start

        start = time.perf_counter()
        previous = out if reuse and out.is_dir() else None
        closure = _reason(inputs, reasoner, _cached_inferred(previous, inputs))
        _stage(timings, "reason", start, progress)
        loader.add_inferred(ox.serialize(closure.inferred, format=ox.RdfFormat.N_TRIPLES))

        start = time.perf_counter()
        report, used = _validate(inputs, closure, validator)
        report = _with_errors(report, closure.errors)
        _stage(timings, "validate", start, progress)
        if not report.conforms:
            raise ValidationFailed(validation.format_report(report.results), report)
        del closure.store   # the reasoner's store is no longer needed

        start = time.perf_counter() - write_time
        writer = _Writer(staging, inputs, closure, loader)
        writer.start()
        counts = {kind: len(inputs.triples[kind]) for kind in ASSERTED_KINDS}
        counts["inferred"] = len(closure.inferred)
        counts["asserted"] = len(writer.asserted)
        counts["total"] = sum(counts[k] for k in (*ASSERTED_KINDS, "inferred"))
        files = writer.finish(report)
        writer.close()
        loader.close()
        _stage(timings, "write", start, progress)
        info = {
            "poli_kg_version": __version__,
            "built_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "inputs_sha256": inputs.sha256,
            "inputs": inputs.files,
            "pipeline": pipeline_fingerprint(),
            "graphs": {kind: str(GRAPH_OF[kind]) for kind in ASSERTED_KINDS}
            | {"inferred": str(GRAPH_INFERRED)},
            "triples": counts,
            "timings": timings,
            "engines": {"reasoner": closure.reasoner + (f"; {closure.note}" if closure.note else ""),
                        "validator": used},
            "stages": {"reason": {"inputs_sha256": inputs.asserted_sha256}},
            "validation": {"conforms": report.conforms, **report.counts()},
            "files": files,
        }
        _write_file(staging / BUILD_INFO, (json.dumps(info, indent=2) + "\n").encode("utf-8"))
        final = new_folder(parent, name)
        os.rename(staging, final)
        staging = final
        swap(parent, name, final)
        staging = None
    finally:
        if writer is not None:
            writer.close()
        if loader is not None:
            loader.close()
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
    prune(parent, name)
    return BuildResult(out_dir=out, path=final, inputs_sha256=inputs.sha256, counts=counts,
                       timings=timings, report=report, reasoner=closure.reasoner, validator=used)


def _is_current(out: Path, digest: str) -> bool:
    info = read_build_info(out)
    if not info or info.get("inputs_sha256") != digest:
        return False
    if info.get("pipeline") != pipeline_fingerprint():
        return False
    return all((out / n).is_file() for n in (*DOWNLOAD_FILES, CHECKSUMS)) and (out / STORE_DIR).is_dir()


def ensure_built(out_dir: Path | str, project: Path = ROOT, *, sources: Sources | None = None,
                 progress: Progress | None = None, reasoner: str = reasoning.DEFAULT_REASONER,
                 validator: str = "auto") -> Path:
    """Return ``out_dir`` after building it, unless it already holds a build of the same inputs.

    The inputs' SHA-256 (paths + contents) and the pipeline fingerprint are compared with
    those recorded in ``out_dir/build.json``.
    """
    sources = sources or Sources(Path(project))
    parent, name = split_out_dir(out_dir)
    out = parent / name
    if _is_current(out, inputs_digest(sources)):
        return out
    with locked(parent, name):
        if not _is_current(out, inputs_digest(sources)):
            _build_locked(parent, name, sources, progress, reasoner, validator)
    return out
