"""Query plans: each query of the mix timed on both engines side by side, and their plans.

    python bench/plans.py [--size 1000000] [--reps 3] [--plans 5] [--only 09,a2] [--json FILE]

Over the build of the project plus ``--size`` generated triples (``bench/out/build-SIZE``, made
by ``bench/build.py`` when missing; ``--size 0``: the real graph alone) it starts, on 127.0.0.1,
the bare pyoxigraph server (``bench/oxigraph_server.py``: the engine poli-kg embeds, without
Flask) and Virtuoso (the build's N-Quads bulk-loaded), as ``bench/query.py`` does, and times
every query of the mix on both, taking turns query by query (one warm-up, then ``--reps`` runs;
a request ends when the whole SPARQL JSON answer has been read).  A query rewritten for the
planner (``docs/queries.md``) is timed in its first form too (``bench/queries/original/``), so
that the table shows each rewrite's gain on both engines, and the mix's percentiles are given
for the mix as it is and as it was.

Then, for the ``--plans`` slowest queries on pyoxigraph (``--plans all``: every query), and for
the first form of those that were rewritten, it prints the engines' own account of the query:

* **Oxigraph**: pyoxigraph 0.5 has no explain; the ``oxigraph`` command line of the same version
  (PyPI package ``oxigraph``, the same engine; env ``OXIGRAPH`` names another binary) runs
  ``oxigraph query --explain-file … --stats --union-default-graph`` on a copy of the store (the
  command opens a store for writing: the build stays untouched) and the tree is printed with
  the rows and time of every node.  ``Lateral`` is a nested loop (one index look-up per row of
  its left input), ``Join(HashBuild…)`` a hash join; the statistics slow the evaluation down.
* **Virtuoso**: ``profile('sparql …')`` through ``isql-vt`` — the SQL plan with each
  operator's share of the time, fan-out and input rows (the VM instructions left out).

Last, with the servers stopped, it times the same queries in this process on the two embedded
configurations poli-kg offers, the on-disk store (``oxigraph``: RocksDB, read-only) and the
in-memory store (``oxigraph-memory``: loaded from the build's TriG as that backend loads it),
with the English form of each query page example (its language filters asking for "en",
as the English page sends it): the CPU time of the engine alone and of the query process's
whole work for a request (``OxigraphBackend.execute``: evaluation, terms, SPARQL JSON), and
the target of an example (100 ms plus 20 µs a row).  CPU time, because on a shared machine
the wall clock measures the neighbours too; evaluation runs in one thread.

Prints Markdown: the per-query table, the mix's p50/p95 per engine, the embedded stores'
table, then the plans.
"""

from __future__ import annotations

import argparse
import configparser
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

import pyoxigraph as ox
from query import (OUT, Endpoint, Query, Samples, bare_oxigraph_server, ensure_build,
                   measure_latency, ms, query_mix, virtuoso_server, weighted_percentile)

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from poli_kg.store.oxigraph import OxigraphBackend  # noqa: E402
from poli_kg.web.sparql.examples import in_language  # noqa: E402
from tests.support.virtuoso import Virtuoso, find_executable  # noqa: E402

ORIGINALS = HERE / "queries" / "original"
FIRST_FORM = " (as first written)"
ENGLISH = " (en)"
"""Suffix of a query page example in its English form (its language filters ask for "en")."""
EMBEDDED = ("on disk", "in memory")
OXIGRAPH, VIRTUOSO = "bare pyoxigraph", "Virtuoso"
INSTRUCTION = re.compile(r"^\s*\d+: ")
"""A line of Virtuoso's VM code in a profile (left out: the operators tell the plan)."""


# ----------------------------------------------------------------------------- the queries

def mix_with_first_forms(only: set[str]) -> tuple[list[Query], list[Query]]:
    """The mix as it is, and the first form of each rewritten query (named ``… (as first
    written)``); with ``only``, the queries whose name starts with one of its entries."""
    mix = [q for q in query_mix() if not only or any(q.name.startswith(o) for o in only)]
    names = {q.name for q in mix}
    firsts = [Query(path.stem + FIRST_FORM, path.read_text(encoding="utf-8"))
              for path in sorted(ORIGINALS.glob("*.rq")) if path.stem in names]
    return mix, firsts


def as_it_was(mix: list[Query], firsts: list[Query]) -> list[str]:
    """The names of the mix before the rewrites: each rewritten query by its first form."""
    rewritten = {q.name.removesuffix(FIRST_FORM) for q in firsts}
    return [q.name + FIRST_FORM if q.name in rewritten else q.name for q in mix]


# ------------------------------------------------------------------------------- Oxigraph

def oxigraph_command() -> str | None:
    """The ``oxigraph`` command line: env ``OXIGRAPH``, beside this Python, or on PATH."""
    beside = Path(sys.executable).parent / "oxigraph"
    return os.environ.get("OXIGRAPH") or (str(beside) if beside.is_file()
                                          else shutil.which("oxigraph"))


def tree_lines(node: dict, depth: int = 0) -> list[str]:
    """An explanation node and its children, one line each, indented by depth."""
    line = "  " * depth + node["name"]
    if "number of results" in node:
        line += (f"   [{node['number of results']:,} rows, "
                 f"{node['duration in seconds'] * 1000:,.1f} ms]")
    return [line] + [text for child in node.get("children", ())
                     for text in tree_lines(child, depth + 1)]


def oxigraph_plan(command: str, store: Path, query: str, work: Path) -> str:
    """Oxigraph's explanation of ``query`` over ``store``, with evaluation statistics."""
    source, explained = work / "query.rq", work / "explain.json"
    source.write_text(query, encoding="utf-8")
    subprocess.run([command, "query", "--location", str(store), "--query-file", str(source),
                    "--results-format", "tsv", "--explain-file", str(explained), "--stats",
                    "--union-default-graph"], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.PIPE)
    explanation = json.loads(explained.read_text(encoding="utf-8"))
    return "\n".join(tree_lines(explanation["plan"]))


# ------------------------------------------------------------------------------- Virtuoso

def attach(folder: Path) -> Virtuoso:
    """The Virtuoso running in ``folder`` (its SQL port read back from its ``virtuoso.ini``)."""
    ini = configparser.ConfigParser(strict=False, inline_comment_prefixes=(";",))
    ini.read(folder / "virtuoso.ini", encoding="utf-8")
    server = Virtuoso(folder)
    server.sql_port = int(ini["Parameters"]["ServerPort"].rsplit(":", 1)[1])
    return server


def virtuoso_plan(server: Virtuoso, query: str, timeout: float) -> str:
    """Virtuoso's execution profile of ``query`` (isql's ``profile``), its VM code left out."""
    text = "\n".join(line for line in query.splitlines() if not line.lstrip().startswith("#"))
    output = server.isql("SET BLOBS ON;\nprofile('sparql " + text.replace("'", "''") + "');\n",
                         timeout=timeout)
    lines = output.splitlines()
    start = next((i for i, line in enumerate(lines) if line.strip() == "{"), 0)
    kept = [line.rstrip() for line in lines[start:] if not INSTRUCTION.match(line)
            and line.strip() not in ("After code:", "After test:")]
    return "\n".join(line for i, line in enumerate(kept) if line or (i and kept[i - 1]))


# ------------------------------------------------------------------------------- the run

def summary(samples: dict[str, dict[str, Samples]]) -> dict[str, dict]:
    """Per store and query: median seconds, runs, rows, stops."""
    return {store: {name: {"median": statistics.median(s.seconds), "n": len(s.seconds),
                           "rows": s.rows, "timeouts": s.timeouts}
                    for name, s in per_query.items()}
            for store, per_query in samples.items()}


def percentiles(samples: dict[str, dict[str, Samples]], names: list[str]) -> dict[str, dict]:
    """The p50 and p95 of the queries ``names`` per store (each query weighing the same)."""
    return {store: {f"p{p}": weighted_percentile([per_query[n].seconds for n in names], p / 100)
                    for p in (50, 95)}
            for store, per_query in samples.items()}


def chosen(times: dict[str, dict], mix: list[Query], firsts: list[Query], plans: str) -> list[str]:
    """The queries to explain: the slowest on pyoxigraph (or all), each with its first form."""
    ranked = sorted(mix, key=lambda q: -times[OXIGRAPH][q.name]["median"])
    picked = ranked if plans == "all" else ranked[:int(plans)]
    first = {q.name.removesuffix(FIRST_FORM): q.name for q in firsts}
    return [name for q in picked for name in (q.name, first.get(q.name)) if name]


def explain_all(names: list[str], queries: dict[str, str], build: Path, virtuoso: Path,
                timeout: float) -> dict[str, dict[str, str]]:
    """The plans of ``names`` on both engines (a missing engine says why)."""
    command = oxigraph_command()
    server = attach(virtuoso) if virtuoso.is_dir() else None
    plans: dict[str, dict[str, str]] = {}
    if not names:
        return plans
    with tempfile.TemporaryDirectory(prefix="poli-kg-plans-") as tmp:
        work = Path(tmp)
        if command:
            shutil.copytree(build / "store", work / "store")
        for name in names:
            print(f"  explaining {name}", file=sys.stderr, flush=True)
            plans[name] = {
                "Oxigraph": (oxigraph_plan(command, work / "store", queries[name], work)
                             if command else "(no `oxigraph` command: pip install oxigraph==0.5.13)"),
                "Virtuoso": (virtuoso_plan(server, queries[name], timeout)
                             if server else "(Virtuoso was not started)"),
            }
    return plans


def run(args: argparse.Namespace) -> dict:
    build = ensure_build(args.size, args.seed)
    triples = json.loads((build / "build.json").read_text())["triples"]["total"]
    mix, firsts = mix_with_first_forms(args.only)
    folder = OUT / f"virtuoso-plans-{args.size}"
    with ExitStack() as stack:
        endpoints: list[Endpoint] = []
        for start in (lambda: bare_oxigraph_server(build),
                      lambda: virtuoso_server(build, folder, args.timeout)):
            endpoint = start()
            stack.callback(endpoint.stop)
            stack.callback(endpoint.close)
            endpoints.append(endpoint)
        print(f"{triples:,} triples: timing {len(mix) + len(firsts)} queries",
              file=sys.stderr, flush=True)
        samples = measure_latency(endpoints, mix + firsts, args.reps, args.budget, args.timeout)
        times = summary(samples)
        queries = {q.name: q.text for q in mix + firsts}
        plans = explain_all(chosen(times, mix, firsts, args.plans), queries, build, folder,
                            args.timeout)
    in_process = with_english_examples(mix) + firsts
    print(f"in process: timing {len(in_process)} queries on the embedded stores",
          file=sys.stderr, flush=True)
    embedded = time_in_process(embedded_stores(build), in_process, args.reps, args.budget)
    return {"generated": args.size, "triples": triples, "reps": args.reps,
            "mix": [q.name for q in mix], "firsts": [q.name for q in firsts], "times": times,
            "now": percentiles(samples, [q.name for q in mix]),
            "before": percentiles(samples, as_it_was(mix, firsts)), "plans": plans,
            "embedded": embedded}


# ------------------------------------------------------------- the embedded stores, in process

def competency_questions() -> set[str]:
    """The names of the competency questions (``queries/``: the query page's examples)."""
    return {path.stem for path in (HERE.parent / "queries").glob("*.rq")}


def with_english_examples(queries: list[Query]) -> list[Query]:
    """``queries``, each competency question followed by its English form on the query page
    (``in_language``) where that differs."""
    questions = competency_questions()
    out = []
    for query in queries:
        out.append(query)
        english = in_language(query.text, "en") if query.name in questions else query.text
        if english != query.text:
            out.append(Query(query.name + ENGLISH, english))
    return out


def embedded_stores(build: Path) -> dict[str, ox.Store]:
    """The two embedded configurations' stores: ``oxigraph`` (the on-disk store, read-only)
    and ``oxigraph-memory`` (loaded from the TriG dump as that backend loads it)."""
    start = time.perf_counter()
    memory = ox.Store()
    memory.load(path=str(build / "poli-kg.trig"), format=ox.RdfFormat.TRIG)
    print(f"  in-memory store loaded in {time.perf_counter() - start:.1f} s",
          file=sys.stderr, flush=True)
    return {"on disk": ox.Store.read_only(str(build / "store")), "in memory": memory}


def cpu_seconds(work: Callable[..., object], *args: object, **kwargs: object) -> float:
    """CPU seconds this process spends on ``work(*args, **kwargs)`` (evaluation is
    single-threaded)."""
    start = time.process_time()
    work(*args, **kwargs)
    return time.process_time() - start


def read_every_solution(store: ox.Store, query: str) -> int:
    """Evaluate ``query`` as the backend does and read its solutions, converting nothing."""
    return sum(1 for _ in store.query(query, use_default_graph_as_union=True))


def time_in_process(stores: dict[str, ox.Store], queries: list[Query], reps: int,
                    budget: float) -> dict[str, dict[str, dict]]:
    """Per store and query: rows; median CPU ms of the engine alone (every solution read)
    and of the query process's whole work (the backend's ``execute``: evaluation, terms,
    JSON), the stores taking turns; a query stops repeating after ``budget`` seconds."""
    times: dict[str, dict[str, dict]] = {name: {} for name in stores}
    for query in queries:
        for name, store in stores.items():
            backend = OxigraphBackend(store, name)
            rows = len(backend.evaluate(query.text).rows)  # warm-up, and the answer's size
            engine: list[float] = []
            process: list[float] = []
            while len(engine) < reps and sum(engine) + sum(process) < budget:
                engine.append(cpu_seconds(read_every_solution, store, query.text))
                process.append(cpu_seconds(backend.execute, query.text, max_results=10**9))
            times[name][query.name] = {"rows": rows, "engine": statistics.median(engine),
                                       "process": statistics.median(process), "n": len(engine)}
    return times


def target_seconds(rows: int) -> float:
    """The issue's target for a query page example: 100 ms plus 20 µs a row."""
    return 0.1 + 20e-6 * rows


def embedded_table(report: dict) -> str:
    times, examples = report["embedded"], competency_questions()
    lines = ["| query | rows | on disk: engine ms | query process ms | in memory: engine ms "
             "| query process ms | example's target ms | on disk | in memory |",
             "|---|---:|---:|---:|---:|---:|---:|---|---|"]
    for name, disk in times["on disk"].items():
        memory = times["in memory"][name]
        limit = target_seconds(memory["rows"])
        verdicts = ("met" if t["process"] <= limit else "over" for t in (disk, memory))
        target = (f"{ms(limit)} | " + " | ".join(verdicts)
                  if name.removesuffix(ENGLISH) in examples else "– | – | –")
        rows = disk["rows"] if disk["rows"] == memory["rows"] else \
            f"differ: {disk['rows']}, {memory['rows']}"
        lines.append(f"| {name} | {rows} | {ms(disk['engine'])} | {ms(disk['process'])} "
                     f"| {ms(memory['engine'])} | {ms(memory['process'])} | {target} |")
    return "\n".join(lines)


# -------------------------------------------------------------------------------- tables

def times_table(report: dict) -> str:
    times, firsts = report["times"], set(report["firsts"])
    lines = ["| query | rows | pyoxigraph ms | Virtuoso ms | ÷ Virtuoso "
             "| as first written: pyoxigraph ms | Virtuoso ms |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for name in report["mix"]:
        ox, vt = times[OXIGRAPH][name], times[VIRTUOSO][name]
        first = name + FIRST_FORM
        before = (f"{ms(times[OXIGRAPH][first]['median'])} | {ms(times[VIRTUOSO][first]['median'])}"
                  if first in firsts else "– | –")
        rows = ox["rows"] if ox["rows"] == vt["rows"] else f"differ: {ox['rows']}, {vt['rows']}"
        lines.append(f"| {name} | {rows} | {ms(ox['median'])} | {ms(vt['median'])} "
                     f"| {ox['median'] / vt['median']:.1f} | {before} |")
    return "\n".join(lines)


def mix_table(report: dict) -> str:
    lines = ["| mix | pyoxigraph p50 ms | p95 ms | Virtuoso p50 ms | p95 ms | p95 ÷ Virtuoso |",
             "|---|---:|---:|---:|---:|---:|"]
    for label, key in (("as first written", "before"), ("rewritten", "now")):
        ox, vt = report[key][OXIGRAPH], report[key][VIRTUOSO]
        lines.append(f"| {label} | {ms(ox['p50'])} | {ms(ox['p95'])} | {ms(vt['p50'])} "
                     f"| {ms(vt['p95'])} | {ox['p95'] / vt['p95']:.1f} |")
    return "\n".join(lines)


def plans_text(report: dict) -> str:
    parts = []
    for name, plans in report["plans"].items():
        ox = report["times"][OXIGRAPH][name]["median"]
        vt = report["times"][VIRTUOSO][name]["median"]
        parts.append(f"### {name}: pyoxigraph {ms(ox)} ms, Virtuoso {ms(vt)} ms\n\n"
                     f"Oxigraph (`oxigraph query --explain --stats`):\n\n```text\n"
                     f"{plans['Oxigraph']}\n```\n\nVirtuoso (`profile`):\n\n```text\n"
                     f"{plans['Virtuoso']}\n```\n")
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=1_000_000, help="generated triples")
    parser.add_argument("--reps", type=int, default=3, help="measured runs of each query")
    parser.add_argument("--budget", type=float, default=10.0,
                        help="seconds a store may spend repeating one query")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per request")
    parser.add_argument("--plans", default="5",
                        help="how many of the slowest queries to explain, or 'all'")
    parser.add_argument("--only", default="",
                        help="comma-separated beginnings of query names (default: the whole mix)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="also write the raw figures here")
    args = parser.parse_args(argv)
    args.only = {o.strip() for o in args.only.split(",") if o.strip()}
    if find_executable() is None:
        sys.exit("virtuoso-t is not installed (scripts/install-system-deps.sh installs it)")
    OUT.mkdir(parents=True, exist_ok=True)
    report = run(args)
    if args.json:
        args.json.write_text(json.dumps(report, indent=1), encoding="utf-8")
    print(f"{report['triples']:,} triples; {args.reps} measured runs of each query, "
          "one client, the engines taking turns.\n")
    print(times_table(report), "\n")
    print(mix_table(report), "\n")
    print("In process, on the two embedded stores (`oxigraph`, `oxigraph-memory`): CPU time "
          "of this process, median of the runs; *engine*: pyoxigraph evaluating and reading "
          "every solution; *query process*: the backend's whole work for one request "
          "(evaluation, terms, SPARQL JSON); the target of a query page example (100 ms + "
          "20 µs a row) checked on the latter. The examples' English forms are marked (en).\n")
    print(embedded_table(report), "\n")
    print(plans_text(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
