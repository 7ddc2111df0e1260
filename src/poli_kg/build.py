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

:func:`build` writes a complete build folder next to ``out_dir`` and then swaps the
``out_dir`` symlink to it atomically, so a failed build leaves the previous output
untouched and readers never see a half-written folder.  The previous build folder is kept
(a server that opened it keeps working); older ones are deleted.  Layout::

    public -> .public-20250101T120000000000Z     (relative symlink)
    .public-20250101T120000000000Z/               current build
    .public-20241231T090000000000Z/               previous build
    .public-lock/                                 flock()ed while building

:func:`ensure_built` reuses ``out_dir`` when its ``build.json`` records the same SHA-256
of the inputs (paths + contents) and the same pipeline (code and library versions).
"""

from __future__ import annotations

import fcntl
import gc
import gzip
import hashlib
import importlib.metadata
import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path

import pyoxigraph as ox
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.plugins.parsers.notation3 import BadSyntax
from rdflib.term import Node

from poli_kg import __version__, reasoning, validation
from poli_kg.namespaces import (
    BASE, GRAPH_DATA, GRAPH_INFERRED, GRAPH_ONTOLOGY, GRAPH_PROVENANCE, PREFIXES,
    bind_prefixes,
)
from poli_kg.validation import ValidationFailed, ValidationReport

__all__ = [
    "ROOT", "INPUTS", "Sources", "Inputs", "BuildResult", "InputError", "BuildError",
    "ValidationFailed", "load", "inputs_digest", "check", "build", "ensure_built",
    "DOWNLOAD_FILES", "read_build_info",
]

ROOT = Path(__file__).resolve().parents[2]

# The one table of inputs: kind, glob relative to the project, named graph (None: shapes).
# Earlier rows claim files first, so data/fonte/*.ttl is provenance and not data.
INPUTS: tuple[tuple[str, str, URIRef | None], ...] = (
    ("ontology", "ontology/*.ttl", GRAPH_ONTOLOGY),
    ("provenance", "data/fonte/*.ttl", GRAPH_PROVENANCE),
    ("data", "data/**/*.ttl", GRAPH_DATA),
    ("shapes", "shapes/*.ttl", None),
)
GRAPH_OF: dict[str, URIRef] = {kind: graph for kind, _glob, graph in INPUTS if graph is not None}
ASSERTED_KINDS = ("ontology", "data", "provenance")

# Files of a build folder.  The RDF downloads get a .gz copy and a line in SHA256SUMS.
DOWNLOAD_FILES = (
    "poli-kg.ttl", "poli-kg-inferred.ttl", "validation-report.ttl",
    "poli-kg.nt", "poli-kg.jsonld", "poli-kg.rdf", "poli-kg.trig", "poli-kg.nq",
)
BUILD_INFO = "build.json"
STORE_DIR = "store"
CHECKSUMS = "SHA256SUMS"
_XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
_STAMP_RE = r"\d{8}T\d{12}Z(?:-\d+)?"

Progress = Callable[[str, float], None]


class InputError(Exception):
    """An input file cannot be read or parsed; the message starts with ``file:line:``."""

    def __init__(self, message: str, path: str = "", line: int | None = None) -> None:
        super().__init__(message)
        self.path = path
        self.line = line


class BuildError(Exception):
    """The output folder cannot be used (e.g. it is a non-build directory or a file)."""


@dataclass(frozen=True)
class Sources:
    """Where a build's inputs live: a project folder and, per kind, a glob inside it.

    ``Sources(project)`` uses :data:`INPUTS`; pass ``globs`` to override some of them,
    e.g. ``Sources(p, globs={"data": "examples/*.ttl"})``.
    """

    project: Path = ROOT
    globs: Mapping[str, str] = field(default_factory=dict)

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
        return result

    def label(self, path: Path) -> str:
        """How messages name ``path``: relative to the project when inside it."""
        try:
            return path.resolve().relative_to(self.project.resolve()).as_posix()
        except ValueError:
            return str(path)


@dataclass
class Inputs:
    """Parsed inputs: one graph per kind (ontology, data, provenance, shapes)."""

    graphs: dict[str, Graph]
    files: list[str]
    sha256: str
    namespaces: dict[str, str]

    def asserted(self) -> Graph:
        """Union of the ontology, data and provenance graphs (a fresh graph)."""
        union = _new_graph(self.namespaces)
        for kind in ASSERTED_KINDS:
            union += self.graphs[kind]
        return union


@dataclass(frozen=True)
class BuildResult:
    """What :func:`build` produced."""

    out_dir: Path                 # the stable path (a symlink)
    path: Path                    # the build folder it points to
    inputs_sha256: str
    counts: dict[str, int]
    timings: dict[str, float]
    report: ValidationReport


# --------------------------------------------------------------------------- loading

def _new_graph(namespaces: Mapping[str, str] | None = None) -> Graph:
    """An empty graph with the project's prefixes (and extra non-conflicting ones)."""
    graph = bind_prefixes(Graph(bind_namespaces="core"))
    bound = {p for p, _ns in graph.namespaces()}
    for prefix, ns in (namespaces or {}).items():
        if prefix not in bound and prefix not in PREFIXES:
            graph.bind(prefix, ns, override=False)
    return graph


def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, max(offset, 0)) + 1


def parse_turtle(data: bytes, label: str, bnode_tag: str = "b") -> Graph:
    """Parse Turtle ``data`` (the contents of file ``label``) into a graph.

    The text is parsed by oxigraph and by rdflib; both must accept it.  oxigraph goes
    first: it is the stricter one (it rejects IRIs with spaces, bad language tags, … that
    rdflib lets through but the store could not hold), it reports every error with its
    line (rdflib crashes on some truncated files) and it yields triples in document order, so the
    graph is built from its triples with blank nodes relabelled ``{bnode_tag}{n}`` in
    document order — builds are reproducible.  The prefixes declared in the file are
    kept on the graph.  Errors raise :class:`InputError` as ``label:line: message``; a
    file without triples is an error too (empty, truncated or half-written).
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = _line_of(data, exc.start)
        raise InputError(f"{label}:{line}: not UTF-8: {exc.reason}", label, line) from None
    try:
        quads = list(ox.parse(text.encode("utf-8"), format=ox.RdfFormat.TURTLE, base_iri=BASE))
    except SyntaxError as exc:
        line = exc.lineno or 1
        why = exc.msg.split(": ", 1)[-1] if exc.msg else str(exc)
        raise InputError(f"{label}:{line}: bad syntax: {why}", label, line) from None
    raw = Graph(bind_namespaces="none")
    try:
        raw.parse(data=text, format="turtle", publicID=BASE)
    except BadSyntax as exc:
        line = exc.lines + 1
        why = getattr(exc, "_why", None) or str(exc)
        raise InputError(f"{label}:{line}: bad syntax: {why}", label, line) from None
    except (ValueError, IndexError) as exc:  # rdflib's own limits; oxigraph accepted the text
        raise InputError(f"{label}: rdflib cannot parse it: {exc}", label) from None
    if not quads:
        raise InputError(f"{label}:1: no triples (empty or truncated file?)", label, 1)

    graph = Graph(bind_namespaces="none")
    for prefix, ns in raw.namespaces():
        graph.bind(prefix, ns)
    labels: dict[str, BNode] = {}

    def term(t: ox.NamedNode | ox.BlankNode | ox.Literal) -> Node:
        if isinstance(t, ox.NamedNode):
            return URIRef(t.value)
        if isinstance(t, ox.BlankNode):
            if t.value not in labels:
                labels[t.value] = BNode(f"{bnode_tag}{len(labels) + 1}")
            return labels[t.value]
        if t.language:
            return Literal(t.value, lang=t.language)
        if t.datatype.value == _XSD_STRING:
            return Literal(t.value)
        return Literal(t.value, datatype=URIRef(t.datatype.value))

    for q in quads:
        graph.add((term(q.subject), term(q.predicate), term(q.object)))
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
         kinds: Iterable[str] = ("ontology", "provenance", "data", "shapes")) -> Inputs:
    """Read and parse the inputs of ``kinds`` from ``sources`` (plus ``extra_data`` as data).

    Raises :class:`InputError` naming the file and line of the first unreadable input.
    """
    kinds = set(kinds)
    files = sources.files()
    todo: list[tuple[str, Path]] = [(k, p) for k, _g, _gr in INPUTS if k in kinds for p in files[k]]
    todo += [("data", Path(p)) for p in extra_data]
    todo.sort(key=lambda item: sources.label(item[1]))
    graphs = {kind: Graph(bind_namespaces="none") for kind in ("ontology", "provenance", "data", "shapes")}
    namespaces: dict[str, str] = {}
    h = hashlib.sha256()
    labels = []
    for index, (kind, path) in enumerate(todo):
        label = sources.label(path)
        data = _read(path, label)
        _digest_update(h, label, data)
        graph = parse_turtle(data, label, bnode_tag=f"f{index}b")
        graphs[kind] += graph
        for prefix, ns in graph.namespaces():
            namespaces.setdefault(prefix, str(ns))
        labels.append(label)
    return Inputs(graphs=graphs, files=labels, sha256=h.hexdigest(), namespaces=namespaces)


# --------------------------------------------------------------------------- reason + validate

def _reason_and_validate(inputs: Inputs, timings: dict[str, float],
                         progress: Progress | None) -> tuple[Graph, ValidationReport]:
    """Run the reasoner and SHACL; record stage times; return (inferred, report)."""
    start = time.perf_counter()
    asserted = inputs.asserted()
    result = reasoning.reason(asserted)
    _stage(timings, "reason", start, progress)

    start = time.perf_counter()
    union = asserted
    union += result.inferred
    report = validation.validate(union, inputs.graphs["shapes"])
    if result.errors:
        report = replace(report, results=validation.inconsistency_results(result.errors)
                         + report.results)
    _stage(timings, "validate", start, progress)
    return result.inferred, report


def _stage(timings: dict[str, float], name: str, start: float, progress: Progress | None) -> None:
    timings[name] = round(time.perf_counter() - start, 3)
    if progress is not None:
        progress(name, timings[name])


def check(files: Sequence[Path] = (), project: Path = ROOT, *, sources: Sources | None = None,
          progress: Progress | None = None) -> ValidationReport:
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
    _inferred, report = _reason_and_validate(inputs, timings, progress)
    return report


# --------------------------------------------------------------------------- writing

def _write_file(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` (the single place files of a build are written)."""
    with open(path, "wb") as f:
        f.write(data)


def _ox_term(term: Node) -> ox.NamedNode | ox.BlankNode | ox.Literal:
    if isinstance(term, URIRef):
        return ox.NamedNode(str(term))
    if isinstance(term, BNode):
        return ox.BlankNode(str(term))
    if isinstance(term, Literal):
        if term.language:
            return ox.Literal(str(term), language=term.language)
        if term.datatype is not None:
            return ox.Literal(str(term), datatype=ox.NamedNode(str(term.datatype)))
        return ox.Literal(str(term))
    raise TypeError(f"unsupported RDF term {term!r}")


def _ox_quads(graph: Graph, name: URIRef | None) -> list[ox.Quad]:
    g = ox.NamedNode(str(name)) if name is not None else ox.DefaultGraph()
    quads = [ox.Quad(_ox_term(s), _ox_term(p), _ox_term(o), g) for s, p, o in graph]
    quads.sort(key=lambda q: (str(q.subject), str(q.predicate), str(q.object)))
    return quads


def _used_prefixes(namespaces: Mapping[str, str], iris: Iterable[str]) -> dict[str, str]:
    """The subset of ``namespaces`` that some IRI in ``iris`` starts with."""
    iris = set(iris)
    return {p: ns for p, ns in sorted(namespaces.items())
            if any(iri.startswith(ns) for iri in iris)}


def _iris(quads: Iterable[ox.Quad]) -> set[str]:
    found: set[str] = set()
    for q in quads:
        for t in (q.subject, q.predicate, q.object):
            if isinstance(t, ox.NamedNode):
                found.add(t.value)
            elif isinstance(t, ox.Literal):
                found.add(t.datatype.value)
    return found


def _serialize(inputs: Inputs, inferred: Graph, report: ValidationReport) -> tuple[dict[str, bytes], list[ox.Quad]]:
    """All download files (name -> bytes) and the quads of the four named graphs."""
    namespaces = {p: str(ns) for p, ns in PREFIXES.items()}
    for p, ns in inputs.namespaces.items():
        if p not in namespaces and ns not in namespaces.values():
            namespaces[p] = ns
    files: dict[str, bytes] = {}

    asserted = inputs.asserted()
    files["poli-kg.ttl"] = asserted.serialize(format="turtle", encoding="utf-8")
    inferred_graph = _new_graph(inputs.namespaces)
    inferred_graph += inferred
    files["poli-kg-inferred.ttl"] = inferred_graph.serialize(format="turtle", encoding="utf-8")
    report_graph = _new_graph(inputs.namespaces)
    report_graph += _relabelled(report.graph, "r")
    files["validation-report.ttl"] = report_graph.serialize(format="turtle", encoding="utf-8")

    triples = _ox_quads(asserted, None)
    used = _used_prefixes(namespaces, _iris(triples))
    plain = [q.triple for q in triples]
    files["poli-kg.nt"] = ox.serialize(plain, format=ox.RdfFormat.N_TRIPLES)
    files["poli-kg.jsonld"] = asserted.serialize(
        format="json-ld", context=used, auto_compact=True, encoding="utf-8")
    files["poli-kg.rdf"] = ox.serialize(plain, format=ox.RdfFormat.RDF_XML, prefixes=used)

    quads: list[ox.Quad] = []
    for kind, name in (("ontology", GRAPH_ONTOLOGY), ("data", GRAPH_DATA),
                       ("provenance", GRAPH_PROVENANCE)):
        quads += _ox_quads(inputs.graphs[kind], name)
    quads += _ox_quads(inferred, GRAPH_INFERRED)
    used_q = _used_prefixes(namespaces, _iris(quads))
    files["poli-kg.trig"] = ox.serialize(quads, format=ox.RdfFormat.TRIG, prefixes=used_q)
    files["poli-kg.nq"] = ox.serialize(quads, format=ox.RdfFormat.N_QUADS)
    return files, quads


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


def _write_build(folder: Path, inputs: Inputs, inferred: Graph, report: ValidationReport,
                 counts: dict[str, int], timings: dict[str, float],
                 progress: Progress | None) -> None:
    """Write every file of a build into the (new, empty) ``folder``; build.json last."""
    start = time.perf_counter()
    files, quads = _serialize(inputs, inferred, report)
    sums: dict[str, str] = {}
    sizes: dict[str, int] = {}
    for name in DOWNLOAD_FILES:
        data = files[name]
        packed = gzip.compress(data, compresslevel=9, mtime=0)
        for fname, content in ((name, data), (name + ".gz", packed)):
            _write_file(folder / fname, content)
            sums[fname] = hashlib.sha256(content).hexdigest()
            sizes[fname] = len(content)
    _write_file(folder / CHECKSUMS,
                "".join(f"{sums[n]}  {n}\n" for n in sorted(sums)).encode("utf-8"))

    store = ox.Store(str(folder / STORE_DIR))
    store.bulk_extend(quads)
    store.flush()
    del store
    gc.collect()
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
        "validation": {"conforms": report.conforms, **report.counts()},
        "files": {n: {"bytes": sizes[n], "sha256": sums[n]} for n in sorted(sums)},
    }
    _write_file(folder / BUILD_INFO, (json.dumps(info, indent=2) + "\n").encode("utf-8"))


def pipeline_fingerprint() -> dict[str, str]:
    """Versions of the code and libraries that shape a build (a change forces a rebuild)."""
    h = hashlib.sha256()
    here = Path(__file__).resolve().parent
    for module in ("build.py", "reasoning.py", "validation.py", "namespaces.py"):
        h.update((here / module).read_bytes())
    versions = {"poli-kg": __version__, "code_sha256": h.hexdigest()}
    for dist in ("rdflib", "owlrl", "pyshacl", "pyoxigraph"):
        try:
            versions[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            versions[dist] = "?"
    return versions


# --------------------------------------------------------------------------- atomic swap

def _paths(out_dir: Path | str) -> tuple[Path, str]:
    out_dir = Path(out_dir)
    parent = Path(os.path.abspath(out_dir.parent))
    if not out_dir.name or out_dir.name in (".", ".."):
        raise BuildError(f"{out_dir}: not a usable output folder name")
    return parent, out_dir.name


@contextmanager
def _locked(parent: Path, name: str) -> Iterator[None]:
    """Hold an exclusive flock on ``.{name}-lock`` (one build per output folder at a time)."""
    parent.mkdir(parents=True, exist_ok=True)
    lock_dir = parent / f".{name}-lock"
    lock_dir.mkdir(exist_ok=True)
    fd = os.open(lock_dir, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _check_out_dir(out: Path) -> None:
    """Refuse to replace something that is not a previous build (or an empty folder)."""
    if out.is_symlink():
        return
    if out.is_dir():
        if (out / BUILD_INFO).exists() or not any(out.iterdir()):
            return
        raise BuildError(f"{out} exists and is not a poli-kg build (no {BUILD_INFO}); "
                         "move it away or choose another --out")
    if out.exists():
        raise BuildError(f"{out} exists and is not a folder")


def _stamp() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")


def _unique(parent: Path, name: str, stamp: str) -> Path:
    candidate = parent / f".{name}-{stamp}"
    n = 1
    while candidate.exists() or candidate.is_symlink():
        candidate = parent / f".{name}-{stamp}-{n}"
        n += 1
    return candidate


def _swap(parent: Path, name: str, target: Path) -> None:
    """Point ``parent/name`` at ``target`` atomically (first time: migrate a real folder)."""
    out = parent / name
    link = parent / f".{name}-link-{os.getpid()}-{time.monotonic_ns()}"
    os.symlink(target.name, link)
    try:
        if out.is_dir() and not out.is_symlink():
            if any(out.iterdir()):
                mtime = datetime.fromtimestamp((out / BUILD_INFO).stat().st_mtime, timezone.utc)
                os.rename(out, _unique(parent, name, mtime.strftime("%Y%m%dT%H%M%S%fZ")))
            else:
                out.rmdir()
        os.replace(link, out)
    finally:
        if link.is_symlink():
            link.unlink()


def _prune(parent: Path, name: str, keep: int = 2) -> None:
    """Delete stale temporary folders and all build folders but the newest ``keep``.

    Called with the lock held, so every temporary folder found is a leftover.
    """
    out = parent / name
    current = Path(os.readlink(out)).name if out.is_symlink() else None
    builds = re.compile(rf"\.{re.escape(name)}-({_STAMP_RE})")
    leftovers = re.compile(rf"\.{re.escape(name)}-(tmp|link)-.*")
    found = []
    for entry in parent.iterdir():
        if leftovers.fullmatch(entry.name):
            _remove(entry)
        elif builds.fullmatch(entry.name) and entry.is_dir() and not entry.is_symlink():
            found.append(entry)
    found.sort(key=lambda p: p.name, reverse=True)
    for old in found[keep:]:
        if old.name != current:
            _remove(old)


def _remove(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink(missing_ok=True)
    else:
        shutil.rmtree(path, ignore_errors=True)


# --------------------------------------------------------------------------- build

def build(out_dir: Path | str, project: Path = ROOT, *, sources: Sources | None = None,
          progress: Progress | None = None) -> BuildResult:
    """Load, reason, validate and write the graph to ``out_dir`` (atomically).

    Raises :class:`InputError` (unreadable input, message ``file:line: …``),
    :class:`ValidationFailed` (SHACL violations or an inconsistent graph; the message is
    the readable report), :class:`BuildError` (``out_dir`` is unusable) or ``OSError``
    (writing failed).  In every failure case the previous ``out_dir`` is left untouched.
    ``progress(stage, seconds)`` is called after each stage.
    """
    sources = sources or Sources(Path(project))
    parent, name = _paths(out_dir)
    with _locked(parent, name):
        return _build_locked(parent, name, sources, progress)


def _build_locked(parent: Path, name: str, sources: Sources,
                  progress: Progress | None) -> BuildResult:
    out = parent / name
    _check_out_dir(out)
    timings: dict[str, float] = {}
    start = time.perf_counter()
    inputs = load(sources)
    _stage(timings, "parse", start, progress)

    inferred, report = _reason_and_validate(inputs, timings, progress)
    if not report.conforms:
        raise ValidationFailed(validation.format_report(report.results), report)

    counts = {kind: len(inputs.graphs[kind]) for kind in ASSERTED_KINDS}
    counts["inferred"] = len(inferred)
    counts["asserted"] = len(inputs.asserted())
    counts["total"] = sum(counts[k] for k in (*ASSERTED_KINDS, "inferred"))

    staging = Path(tempfile.mkdtemp(prefix=f".{name}-tmp-", dir=parent))
    try:
        os.chmod(staging, 0o755)  # mkdtemp makes it private; the build is public
        _write_build(staging, inputs, inferred, report, counts, timings, progress)
        final = _unique(parent, name, _stamp())
        os.rename(staging, final)
        staging = final
        _swap(parent, name, final)
        staging = None
    finally:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
    _prune(parent, name)
    return BuildResult(out_dir=out, path=final, inputs_sha256=inputs.sha256, counts=counts,
                       timings=timings, report=report)


def read_build_info(out_dir: Path | str) -> dict | None:
    """``out_dir/build.json`` as a dict, or None when missing or unreadable."""
    try:
        return json.loads((Path(out_dir) / BUILD_INFO).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _is_current(out: Path, digest: str) -> bool:
    info = read_build_info(out)
    if not info or info.get("inputs_sha256") != digest:
        return False
    if info.get("pipeline") != pipeline_fingerprint():
        return False
    return all((out / n).is_file() for n in (*DOWNLOAD_FILES, CHECKSUMS)) and (out / STORE_DIR).is_dir()


def ensure_built(out_dir: Path | str, project: Path = ROOT, *, sources: Sources | None = None,
                 progress: Progress | None = None) -> Path:
    """Return ``out_dir`` after building it, unless it already holds a build of the same inputs.

    The inputs' SHA-256 (paths + contents) and the pipeline fingerprint are compared with
    those recorded in ``out_dir/build.json``.
    """
    sources = sources or Sources(Path(project))
    parent, name = _paths(out_dir)
    out = parent / name
    if _is_current(out, inputs_digest(sources)):
        return out
    with _locked(parent, name):
        if not _is_current(out, inputs_digest(sources)):
            _build_locked(parent, name, sources, progress)
    return out
