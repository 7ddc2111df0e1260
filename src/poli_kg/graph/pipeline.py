"""Build the published graph: load → reason → validate → write.

The pipeline is built on Oxigraph so that it scales to millions of triples:

* **parse** — :func:`poli_kg.graph.sources.load`: the inputs of the table
  :data:`poli_kg.graph.sources.INPUTS`, parsed by oxigraph (a syntax error is reported as
  ``file:line``);
* **reason** — :func:`poli_kg.graph.reasoning.close`: the OWL 2 RL rules the ontology triggers,
  compiled to SPARQL and run by Oxigraph to a fixpoint (owlrl when the ontology needs more);
  when the ontology, data and provenance files are those of the build in ``out_dir``
  (same SHA-256, same pipeline), that build's inferred graph is reused instead;
* **validate** — pyshacl, the reference, for graphs up to :data:`PYSHACL_MAX_TRIPLES`
  triples (the project's own graph is always validated by pyshacl); above, the shapes
  compiled to SPARQL and run on the reasoner's store (:mod:`poli_kg.graph.shaclsparql`, proven to
  give pyshacl's results; pyshacl again if the shapes use features it does not compile);
* **write** — :mod:`poli_kg.graph.output`: the downloads, serialised from the sorted triples
  (identical bytes for identical inputs), and the on-disk store, bulk-loaded in the
  background from the moment the inputs are parsed.

:func:`build` writes a complete build folder next to ``out_dir`` and then swaps the
``out_dir`` symlink to it atomically (:mod:`poli_kg.buildfolder`), so a failed build leaves
the previous output untouched and readers never see a half-written folder.

:func:`ensure_built` reuses ``out_dir`` when its ``build.json`` records the same SHA-256
of the inputs (paths + contents) and the same pipeline (code and library versions).
"""

from __future__ import annotations

import gc
import hashlib
import importlib.metadata
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path

import pyoxigraph as ox

from poli_kg import __version__
from poli_kg.buildfolder import (
    ASSETS_DIR, CHECKSUMS, CSVW_DIR, DOWNLOAD_FILES, STORE_DIR, BuildError, ServedBuild, check_replaceable, locked,
    new_folder, prune, read_build_info, split_out_dir, swap,
)
from poli_kg.config import ROOT
from poli_kg.graph import reasoning, shaclsparql, validation
from poli_kg.graph.assets import asset_data, write_assets
from poli_kg.graph.csvw import cube_description, write_csvw
from poli_kg.graph.index import write_index
from poli_kg.graph.output import DownloadWriter, StoreLoader, write_build_info
from poli_kg.graph.rdfterms import to_rdflib
from poli_kg.graph.sources import (
    ASSERTED_KINDS, GRAPH_OF, InputError, Inputs, Sources, inputs_digest, load,
)
from poli_kg.graph.validation import ValidationFailed, ValidationReport
from poli_kg.textindex import INDEX_DIR
from poli_kg.namespaces import BASE, GRAPH_INFERRED

# The entry points, and the names their callers catch or read with them.
__all__ = [
    "build", "check", "ensure_built", "built_from_current_inputs", "BuildResult", "Progress",
    "VALIDATORS", "PYSHACL_MAX_TRIPLES", "pipeline_fingerprint", "Sources", "InputError",
    "BuildError", "ValidationFailed", "DOWNLOAD_FILES", "read_build_info", "ServedBuild",
]

# Validators: pyshacl (the reference), the shapes compiled to SPARQL on Oxigraph, or by size.
VALIDATORS = ("auto", "pyshacl", "sparql")
PYSHACL_MAX_TRIPLES = 10_000     # "auto": pyshacl up to this many (asserted + inferred) triples

Progress = Callable[[str, float], None]


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

    def summary_lines(self) -> list[str]:
        """The triples per graph and the SHACL results per severity, one line each."""
        c = self.counts
        shacl = ", ".join(f"{n} {kind if n != 1 else kind[:-1]}"
                          for kind, n in self.report.counts().items())
        return [f"triples  ontology {c['ontology']}, data {c['data']}, "
                f"provenance {c['provenance']}, inferred {c['inferred']} (total {c['total']})",
                f"shacl    {shacl}"]


def pipeline_fingerprint() -> dict[str, str]:
    """Versions of the code and libraries that shape a build (a change forces a rebuild)."""
    h = hashlib.sha256()
    package = Path(__file__).resolve().parents[1]
    for module in (*sorted((package / "graph").rglob("*.py")), package / "buildfolder.py",
                   package / "namespaces.py", package / "textindex.py"):
        h.update(module.read_bytes())
    versions = {"poli-kg": __version__, "code_sha256": h.hexdigest()}
    for dist in ("rdflib", "owlrl", "pyshacl", "pyoxigraph", "tantivy"):
        try:
            versions[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            versions[dist] = "?"
    return versions


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


def _reason(inputs: Inputs, reasoner: str, previous: Path | None = None) -> reasoning.Closure:
    """The closure of the asserted graphs (the inferred graph of ``previous`` when it fits)."""
    asserted = inputs.asserted_triples()
    cached = _cached_inferred(previous, inputs)
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
                         *, previous: Path | None = None,
                         reasoned: Callable[[reasoning.Closure], None] | None = None,
                         ) -> tuple[reasoning.Closure, ValidationReport, str]:
    """Run the reasoner and SHACL; record stage times; return (closure, report, validator).

    ``previous``: a build whose inferred graph may be reused; ``reasoned(closure)`` is
    called between the two stages.
    """
    start = time.perf_counter()
    closure = _reason(inputs, reasoner, previous)
    _stage(timings, "reason", start, progress)
    if reasoned is not None:
        reasoned(closure)
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
    """Build into a temporary folder beside ``parent/name``, then publish it there."""
    out = parent / name
    check_replaceable(out)
    timings: dict[str, float] = {}
    start = time.perf_counter()
    inputs = load(sources)
    _stage(timings, "parse", start, progress)

    staging = Path(tempfile.mkdtemp(prefix=f".{name}-tmp-", dir=parent))
    try:
        os.chmod(staging, 0o755)  # mkdtemp makes it private; the build is public
        result = _write_build(staging, out, inputs, timings, progress, reasoner, validator,
                              reuse)
        final = new_folder(parent, name)
        os.rename(staging, final)
        staging = final
        swap(parent, name, final)
        staging = None
    finally:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
    prune(parent, name)
    return replace(result, path=final)


def _write_build(folder: Path, out: Path, inputs: Inputs, timings: dict[str, float],
                 progress: Progress | None, reasoner: str, validator: str,
                 reuse: bool) -> BuildResult:
    """Reason, validate and write every file of the build into ``folder``.

    The on-disk store is loaded in the background meanwhile; both background writers are
    stopped before this returns or raises.
    """
    loader = writer = None
    try:
        start = time.perf_counter()
        loader = StoreLoader(folder, inputs)   # the on-disk store, in the background
        write_time = time.perf_counter() - start
        closure, report, used = _reason_and_validate(
            inputs, timings, progress, reasoner, validator,
            previous=out if reuse and out.is_dir() else None,
            reasoned=lambda c: loader.add_inferred(
                ox.serialize(c.inferred, format=ox.RdfFormat.N_TRIPLES)))
        if not report.conforms:
            raise ValidationFailed(validation.format_report(report.results), report)
        del closure.store   # the reasoner's store is no longer needed

        start = time.perf_counter() - write_time
        with _cyclic_gc_paused():
            writer = DownloadWriter(folder, inputs, closure.inferred, loader)
            writer.start()
            counts = _counts(inputs, closure, writer)
            files = writer.finish(report)
            writer.close()
            loader.close()
            _write_harvester_files(folder, inputs)
            write_index(folder, writer.asserted, writer.inferred)   # the search index
        _stage(timings, "write", start, progress)
        write_build_info(folder, _build_info(inputs, counts, timings, closure, used, report,
                                             files))
    finally:
        if writer is not None:
            writer.close()
        if loader is not None:
            loader.close()
    return BuildResult(out_dir=out, path=folder, inputs_sha256=inputs.sha256, counts=counts,
                       timings=timings, report=report, reasoner=closure.reasoner, validator=used)


@contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """Python's cyclic garbage collector paused (reference counting still frees everything else).

    The write stage makes millions of objects that live until it ends (the sorted triples, the
    search index's resources, the tables' description) and no garbage cycles to speak of: the
    collector would walk them over and over to free nothing.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _write_harvester_files(folder: Path, inputs: Inputs) -> None:
    """The NDC semantic assets and the CSVW tables of the statistics, from the asserted graphs.

    Inferred triples are left out on purpose: NDC harvests the asserted vocabularies, and an
    inferred triple would become an extra column of a CSV table.  Each writer is given only the
    triples it reads, picked from the parsed ones: rdflib graphs of all the data would take
    most of the write stage of a large build.
    """
    ontology = inputs.graphs["ontology"]
    write_assets(folder / ASSETS_DIR, ontology, asset_data(ontology, inputs.triples["data"]))
    write_csvw(folder / CSVW_DIR, cube_description(inputs.asserted_triples()))


def _counts(inputs: Inputs, closure: reasoning.Closure, writer: DownloadWriter) -> dict[str, int]:
    """Triples per graph, of the asserted union and in all."""
    counts = {kind: len(inputs.triples[kind]) for kind in ASSERTED_KINDS}
    counts["inferred"] = len(closure.inferred)
    counts["asserted"] = len(writer.asserted)
    counts["total"] = sum(counts[k] for k in (*ASSERTED_KINDS, "inferred"))
    return counts


def _build_info(inputs: Inputs, counts: dict[str, int], timings: dict[str, float],
                closure: reasoning.Closure, validator: str, report: ValidationReport,
                files: dict[str, dict]) -> dict:
    """The contents of ``build.json``."""
    return {
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
                    "validator": validator},
        "stages": {"reason": {"inputs_sha256": inputs.asserted_sha256}},
        "validation": {"conforms": report.conforms, **report.counts()},
        "files": files,
    }


def _is_current(out: Path, digest: str) -> bool:
    info = read_build_info(out)
    if not info or info.get("inputs_sha256") != digest:
        return False
    if info.get("pipeline") != pipeline_fingerprint():
        return False
    files = all((out / n).is_file() for n in (*DOWNLOAD_FILES, CHECKSUMS))
    return files and all((out / d).is_dir() for d in (STORE_DIR, INDEX_DIR, ASSETS_DIR, CSVW_DIR))


def built_from_current_inputs(out_dir: Path | str, sources: Sources) -> bool | None:
    """Whether the build in ``out_dir`` is of the current inputs of ``sources`` (their SHA-256).

    None when the inputs cannot be read.
    """
    try:
        current = inputs_digest(sources)
    except (InputError, OSError):
        return None
    return (read_build_info(out_dir) or {}).get("inputs_sha256") == current


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
