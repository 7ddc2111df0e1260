"""The larger-engine path: poli-kg served from a local Virtuoso, and what poli-kg adds on top.

    python bench/virtuoso_backend.py serve [--out public] [--port 8000] [--query-timeout 30]
    python bench/virtuoso_backend.py bench [--size 1000000] [--reps 5] [--json FILE]

``serve`` is the one command that moves a deployment onto Virtuoso: it builds the graph
(``poli-kg build --out OUT``; a current build is reused), starts OpenLink Virtuoso (Debian's
``virtuoso-opensource``) with its database in ``--folder`` and both of its ports on 127.0.0.1
only (``tests/support/virtuoso.py``; the stopping time ``[SPARQL] MaxQueryExecutionTime`` is
poli-kg's ``--query-timeout``), lets its anonymous endpoint read the build's four graphs and
no other (graph-level security), loads the build into it with ``poli-kg publish
--graph-store`` (which then checks the store's triple counts against the build), and runs
``poli-kg serve --store sparql:URL`` with ``REMOTE_DATASET=store`` in the foreground until it
is interrupted; Virtuoso stops with it.  Virtuoso's ``dba`` account keeps its default password: acceptable only because
nothing but this machine reaches its ports (see the README, "Store backends and scale-out").

``bench`` measures poli-kg's overhead on that backend.  Over the build of the project plus
``--size`` generated triples (``bench/out/build-SIZE``, made by ``bench/build.py`` when
missing) it starts one Virtuoso with the build's N-Quads bulk-loaded, as ``bench/query.py``
does, restricts its anonymous endpoint to the build's four graphs (graph-level security:
Virtuoso's system graphs become invisible to it; ``--no-graph-security`` leaves them
visible), and poli-kg's production server on it (``--store sparql:URL``, gunicorn and Flask,
every safety rule) twice: with ``REMOTE_DATASET=store``, which sends a query without a
dataset once it has checked that the store shows exactly the build's graphs, and with the
default ``REMOTE_DATASET=explicit``.  It sends the query mix (the competency questions and
``bench/queries/``) to

* **Virtuoso**: its own endpoint, the query as it is (the dataset: every graph the anonymous
  user may read);
* **Virtuoso, explicit dataset**: its own endpoint, the query preceded by Virtuoso's
  ``define input:default-graph-uri`` / ``input:named-graph-uri`` for the four graphs of the
  build — what poli-kg's backend sends as the protocol's ``default-graph-uri`` and
  ``named-graph-uri`` when it must, so that any difference here is Virtuoso's, not poli-kg's;
* **poli-kg on Virtuoso**: poli-kg's ``/sparql`` with ``REMOTE_DATASET=store`` (a remote
  store's answers are never cached): its overhead is the endpoint, reading Virtuoso's answer
  and writing it again (without graph-level security its check fails, and it sends the
  dataset);
* **poli-kg on Virtuoso, explicit dataset**: the same with ``REMOTE_DATASET=explicit``;
* **poli-kg on Virtuoso, granian**: the first on ``poli-kg serve --server granian``;
* **Flask forwarding to Virtuoso**, on gunicorn and on granian (``bench/flask_floor.py
  --forward``): a one-view application that sends the form to Virtuoso and answers its bytes
  unchanged — the floor, what any Python server between the client and Virtuoso adds.

Latency is measured as in ``bench/query.py`` (one client, the servers taking turns query by
query, one warm-up, ``--reps`` runs; the mix's p50/p95 weigh each query the same), and the
cost of one request apart from the query's own as the median of ``--small`` runs of a small
SELECT (the labels of one cluster).  It prints the mix's percentiles with the ratio to bare
Virtuoso (the target: at most 1.3 at p50 and p95 for poli-kg on Virtuoso), then each query's
median and its rows on every endpoint (which must agree).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from query import (OUT, SMALL_SELECT, Endpoint, Query, ensure_build, measure_latency, ms,
                   poli_kg_server, query_mix, script_server, virtuoso_server, wait_healthy,
                   weighted_percentile)

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
from tests.support.virtuoso import DBA_PASSWORD, DBA_USER, Virtuoso, find_executable  # noqa: E402

DATASET_ENV = "POLI_KG_REMOTE_DATASET"

GRAPHS = [f"https://w3id.org/poli-kg/graph/{name}"
          for name in ("ontology", "data", "provenance", "inferred")]
"""The build's named graphs: the dataset poli-kg's backend sends with every query."""
BARE, DATASET = "Virtuoso", "Virtuoso, explicit dataset"
ON_VIRTUOSO, ON_VIRTUOSO_EXPLICIT = "poli-kg on Virtuoso", "poli-kg on Virtuoso, explicit dataset"
ON_GRANIAN = "poli-kg on Virtuoso, granian"
FLOORS = {server: f"Flask forwarding to Virtuoso, {server}" for server in ("gunicorn", "granian")}
TARGET = 1.3
"""At most this many times bare Virtuoso's p50 and p95 (issue: the larger-engine path)."""


def cli(*args: str, env: dict[str, str] | None = None) -> None:
    """``poli-kg ARGS`` in a subprocess, as a user runs it; fails loudly."""
    subprocess.run([sys.executable, "-m", "poli_kg.cli", *args], check=True,
                   env={**os.environ, **(env or {})})


# ----------------------------------------------------------------------------------- serve

def serve(args: argparse.Namespace) -> int:
    """Build, start Virtuoso on 127.0.0.1, publish the build into it, serve poli-kg on it."""
    cli("build", "--out", str(args.out))
    server = Virtuoso(args.folder, max_query_seconds=int(args.query_timeout),
                      buffers=args.buffers).start()
    try:
        print(f"Virtuoso on {server.sparql_url} (database in {args.folder})", flush=True)
        server.restrict_anonymous_reads(GRAPHS)
        cli("publish", "--out", str(args.out), "--to", server.sparql_url,
            "--graph-store", server.graph_store_url,
            env={"POLI_KG_STORE_USER": DBA_USER, "POLI_KG_STORE_PASSWORD": DBA_PASSWORD})
        cli("serve", "--out", str(args.out), "--store", "sparql:" + server.sparql_url,
            "--host", args.host, "--port", str(args.port),
            "--query-timeout", f"{args.query_timeout:g}", env={DATASET_ENV: "store"})
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


# ----------------------------------------------------------------------------------- bench

@dataclass
class DatasetEndpoint(Endpoint):
    """Virtuoso's own endpoint, every query preceded by Virtuoso's dataset pragmas."""

    pragmas: str = ""

    def ask(self, query: str, timeout: float) -> tuple[float, int]:
        return super().ask(self.pragmas + query, timeout)


def dataset_pragmas(graphs: list[str]) -> str:
    """Virtuoso's ``define`` lines for a dataset whose default and named graphs are ``graphs``."""
    return "".join(f"define input:{kind}-graph-uri <{g}>\n"
                   for kind in ("default", "named") for g in graphs)


def start(build: Path, work: Path, args: argparse.Namespace,
          stack: ExitStack) -> list[Endpoint]:
    """Virtuoso with the build, its endpoint with an explicit dataset, poli-kg on it twice."""
    folder = OUT / f"virtuoso-backend-{args.size}"
    bare = virtuoso_server(build, folder, args.timeout)
    stack.callback(bare.stop)
    if args.graph_security:
        Virtuoso.running_in(folder).restrict_anonymous_reads(GRAPHS)
    dataset = DatasetEndpoint(DATASET, bare.url, lambda: None, bare.pid,
                              pragmas=dataset_pragmas(GRAPHS))
    endpoints: list[Endpoint] = [bare, dataset]
    for name, mode, server in ((ON_VIRTUOSO, "store", "gunicorn"),
                               (ON_VIRTUOSO_EXPLICIT, "explicit", "gunicorn"),
                               (ON_GRANIAN, "store", "granian")):
        os.environ[DATASET_ENV] = mode  # the server reads its settings from the environment
        try:
            ours = poli_kg_server(name, build, work / name, "sparql:" + bare.url, args.timeout,
                                  cache=True, application_server=server)
        finally:
            del os.environ[DATASET_ENV]
        stack.callback(ours.stop)
        endpoints.append(ours)
    for server, name in FLOORS.items():
        floor = script_server(name, [sys.executable, str(HERE / "flask_floor.py"), "--forward",
                                     bare.url, "--server", server], "poli-kg serving", "sparql")
        stack.callback(floor.stop)
        wait_healthy(floor)
        endpoints.append(floor)
    for endpoint in endpoints:
        stack.callback(endpoint.close)
    return endpoints


def bench(args: argparse.Namespace) -> int:
    if find_executable() is None:
        sys.exit("virtuoso-t is not installed (scripts/install-system-deps.sh installs it)")
    OUT.mkdir(parents=True, exist_ok=True)
    build = ensure_build(args.size, args.seed)
    triples = json.loads((build / "build.json").read_text())["triples"]["total"]
    mix = query_mix()
    with ExitStack() as stack, tempfile.TemporaryDirectory(prefix="poli-kg-backend-") as tmp:
        endpoints = start(build, Path(tmp), args, stack)
        print(f"{triples:,} triples: {len(mix)} queries on {len(endpoints)} endpoints",
              file=sys.stderr, flush=True)
        samples = measure_latency(endpoints, mix, args.reps, args.budget, args.timeout)
        small = measure_latency(endpoints, [Query("small SELECT", SMALL_SELECT)], args.small,
                                args.budget, args.timeout)
    report = {"generated": args.size, "triples": triples, "reps": args.reps,
              "graph_security": args.graph_security, "mix": {},
              "queries": {}, "small": {name: statistics.median(per["small SELECT"].seconds)
                                       for name, per in small.items()}}
    for name, per_query in samples.items():
        times = [s.seconds for s in per_query.values()]
        report["mix"][name] = {"p50": weighted_percentile(times, 0.50),
                               "p95": weighted_percentile(times, 0.95),
                               "timeouts": sum(s.timeouts for s in per_query.values())}
        for query, s in per_query.items():
            report["queries"].setdefault(query, {})[name] = {
                "median": statistics.median(s.seconds), "rows": s.rows}
    if args.json:
        args.json.write_text(json.dumps(report, indent=1), encoding="utf-8")
    security = ("anonymous reads limited to the build's graphs" if args.graph_security
                else "every graph readable")
    print(f"{triples:,} triples ({security}); {args.reps} measured runs of each query, "
          "one client.\n")
    print(mix_table(report), "\n")
    print(per_query_table(report, mix))
    return 0


def mix_table(report: dict) -> str:
    bare = report["mix"][BARE]
    lines = ["| endpoint | mix p50 ms | p50 ÷ Virtuoso | mix p95 ms | p95 ÷ Virtuoso | stopped "
             "| small SELECT ms |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for name, m in report["mix"].items():
        lines.append(f"| {name} | {ms(m['p50'])} | {m['p50'] / bare['p50']:.2f} "
                     f"| {ms(m['p95'])} | {m['p95'] / bare['p95']:.2f} | {m['timeouts']} "
                     f"| {ms(report['small'][name])} |")
    ours = report["mix"][ON_VIRTUOSO]
    verdict = all(ours[p] <= TARGET * bare[p] for p in ("p50", "p95"))
    lines.append(f"\nTarget (poli-kg on Virtuoso ≤ {TARGET}× bare Virtuoso at p50 and p95): "
                 f"{'met' if verdict else 'MISSED'}.")
    return "\n".join(lines)


def per_query_table(report: dict, mix: list[Query]) -> str:
    names = list(report["mix"])
    lines = ["| query | rows | " + " | ".join(f"{n} ms" for n in names) + " |",
             "|---|---:|" + "---:|" * len(names)]
    for query in mix:
        per = report["queries"][query.name]
        rows = {per[n]["rows"] for n in names}
        cell = str(rows.pop()) if len(rows) == 1 else "differ: " + ", ".join(
            f"{n} {per[n]['rows']}" for n in names)
        lines.append(f"| {query.name} | {cell} | "
                     + " | ".join(ms(per[n]["median"]) for n in names) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("serve", help="build, load a local Virtuoso, serve poli-kg on it")
    run.add_argument("--out", type=Path, default=Path("public"), help="build folder")
    run.add_argument("--folder", type=Path, default=OUT / "virtuoso-serve",
                     help="Virtuoso's database folder")
    run.add_argument("--host", default="127.0.0.1", help="poli-kg's address")
    run.add_argument("--port", type=int, default=8000, help="poli-kg's port")
    run.add_argument("--query-timeout", type=float, default=30.0,
                     help="seconds per query, on poli-kg and on Virtuoso")
    run.add_argument("--buffers", type=int, default=170_000,
                     help="Virtuoso's NumberOfBuffers (8 KiB pages; 170,000 ≈ 1.3 GiB)")
    measure = commands.add_parser("bench", help="the mix on bare Virtuoso and through poli-kg")
    measure.add_argument("--size", type=int, default=1_000_000, help="generated triples")
    measure.add_argument("--reps", type=int, default=5, help="measured runs of each query")
    measure.add_argument("--small", type=int, default=50, help="runs of the small SELECT")
    measure.add_argument("--budget", type=float, default=10.0,
                         help="seconds an endpoint may spend repeating one query")
    measure.add_argument("--timeout", type=float, default=30.0, help="seconds per request")
    measure.add_argument("--seed", type=int, default=0)
    measure.add_argument("--json", type=Path, help="also write the raw figures here")
    measure.add_argument("--no-graph-security", dest="graph_security", action="store_false",
                         help="leave every graph of Virtuoso readable (its system graphs too)")
    args = parser.parse_args(argv)
    return serve(args) if args.command == "serve" else bench(args)


if __name__ == "__main__":
    sys.exit(main())
