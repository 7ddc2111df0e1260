"""From pyoxigraph's solutions to the bytes of an answer: where a large SELECT spends its time.

    python bench/results_bytes.py [--build bench/out/build-1000000/public] [--reps 7]
                                  [--query queries/16-dati-con-fonte.rq] [--store disk,memory]
                                  [--cap 10000]

In this process, on the two embedded stores (``OxigraphBackend.open_read_only(BUILD/store)``
and ``OxigraphBackend.load_memory(BUILD/poli-kg.trig)``), the median CPU time
(``time.process_time``: the machine is shared, evaluation runs in one thread) of

* *engine*: pyoxigraph evaluating the query and every solution read, nothing converted;
* *engine + terms*: the same, each solution's terms made Python objects;
* *pyoxigraph FORMAT*: pyoxigraph's own ``QuerySolutions.serialize`` (its bytes: JSON, CSV and
  TSV are the same size as the project's, XML is not);
* *neutral: evaluate*: :meth:`OxigraphBackend.evaluate` (engine and the neutral terms);
* *neutral: serialize FORMAT*: :func:`poli_kg.store.results.serialize` of that result;
* *neutral: execute FORMAT*: the neutral path as a whole (``Backend.execute``: what
  ``OxigraphBackend.execute`` did before it wrote from pyoxigraph's solutions);
* *execute FORMAT*: :meth:`OxigraphBackend.execute`, the query process's whole work for a
  request, with no cap (as ``bench/plans.py`` measures it) and with ``--cap`` rows;
* *pickle*: pickling and unpickling the JSON :class:`QueryResult`, as the executor's pipe does.

The steps take turns, one run of each a round (after a warm-up round), so that a neighbour's
load weighs on all of them alike.  Prints a Markdown table per store.
"""

from __future__ import annotations

import argparse
import pickle
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pyoxigraph as ox

from poli_kg.store.backend import Backend
from poli_kg.store.oxigraph import OxigraphBackend
from poli_kg.store.results import (
    CSV,
    SPARQL_RESULTS_JSON,
    SPARQL_RESULTS_XML,
    TSV,
    serialize,
)

ROOT = Path(__file__).resolve().parent.parent
FORMATS = {"JSON": SPARQL_RESULTS_JSON, "XML": SPARQL_RESULTS_XML, "CSV": CSV, "TSV": TSV}
OX_FORMATS = {"JSON": ox.QueryResultsFormat.JSON, "XML": ox.QueryResultsFormat.XML,
              "CSV": ox.QueryResultsFormat.CSV, "TSV": ox.QueryResultsFormat.TSV}
NO_CAP = 10**9


def steps(backend: OxigraphBackend, query: str, cap: int) -> dict[str, Callable[[], object]]:
    """The measured steps for ``query`` on ``backend``, by name."""
    store = backend._store
    union = {"use_default_graph_as_union": True}
    raw = backend.evaluate(query)
    answer = backend.execute(query, max_results=NO_CAP)
    out: dict[str, Callable[[], object]] = {
        "engine": lambda: sum(1 for _ in store.query(query, **union)),
        "engine + terms": lambda: sum(len(tuple(s)) for s in store.query(query, **union)),
    }
    for name, fmt in OX_FORMATS.items():
        out[f"pyoxigraph {name}"] = \
            lambda fmt=fmt: store.query(query, **union).serialize(format=fmt)
    out["neutral: evaluate"] = lambda: backend.evaluate(query)
    for name, media_type in FORMATS.items():
        out[f"neutral: serialize {name}"] = lambda media_type=media_type: serialize(raw, media_type)
    for name, media_type in FORMATS.items():
        out[f"neutral: execute {name}"] = lambda media_type=media_type: Backend.execute(
            backend, query, media_type=media_type, max_results=NO_CAP)
        out[f"execute {name}"] = lambda media_type=media_type: backend.execute(
            query, media_type=media_type, max_results=NO_CAP)
    out[f"neutral: execute JSON, cap {cap:,}"] = \
        lambda: Backend.execute(backend, query, max_results=cap)
    out[f"execute JSON, cap {cap:,}"] = lambda: backend.execute(query, max_results=cap)
    out["pickle JSON answer"] = lambda: pickle.loads(pickle.dumps(answer))
    return out


def measure(work: dict[str, Callable[[], object]], reps: int) -> dict[str, tuple[float, str]]:
    """Median CPU ms of each step, the steps taking turns; and a note on what it returned."""
    notes, times = {}, {name: [] for name in work}
    for name, step in work.items():  # warm-up
        value = step()
        notes[name] = f"{len(value):,} bytes" if isinstance(value, bytes) else \
            f"{len(value.body):,} bytes" if hasattr(value, "body") else \
            f"{value:,} rows" if name == "engine" else ""
    for _ in range(reps):
        for name, step in work.items():
            start = time.process_time()
            step()
            times[name].append(time.process_time() - start)
    return {name: (statistics.median(t) * 1000, notes[name]) for name, t in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--build", type=Path, default=ROOT / "bench/out/build-1000000/public")
    parser.add_argument("--query", type=Path, default=ROOT / "queries/16-dati-con-fonte.rq")
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument("--store", default="disk,memory")
    parser.add_argument("--cap", type=int, default=10_000)
    args = parser.parse_args()
    query = args.query.read_text(encoding="utf-8")
    for name in args.store.split(","):
        start = time.perf_counter()
        backend = (OxigraphBackend.open_read_only(args.build / "store") if name == "disk"
                   else OxigraphBackend.load_memory(args.build / "poli-kg.trig"))
        print(f"{name}: opened in {time.perf_counter() - start:.1f} s", file=sys.stderr)
        results = measure(steps(backend, query, args.cap), args.reps)
        print(f"\n### {args.query.name}, store {name} (median of {args.reps})\n\n"
              "| step | CPU ms | |\n|---|---:|---|")
        for step, (ms, note) in results.items():
            print(f"| {step} | {ms:,.1f} | {note} |", flush=True)


if __name__ == "__main__":
    main()
