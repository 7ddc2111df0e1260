"""nginx benchmark: repeated queries from nginx's cache against Virtuoso, and the application
without any cache against a bare pyoxigraph server.

    python bench/nginx.py [--size 10000] [--duration 5] [--connections 8] [--rounds 3]

Over ``bench/out/build-SIZE/public`` (the project's build plus SIZE generated triples, made by
``bench/build.py`` when missing) it starts, on 127.0.0.1:

1. **Repeated queries, warm cache** (target ≥ 10× Virtuoso): the production deployment of
   ``deploy/`` — Debian's nginx with ``deploy/nginx/poli-kg.conf`` (run by
   ``tests/support/nginx.py``) in front of two poli-kg backends reading the build — beside
   Virtuoso with the build's N-Quads bulk-loaded (``bench/query.py``).  wrk cycles through the
   query mix of ``bench/query.py`` (the competency questions of ``queries/`` and the analytic
   queries of ``bench/queries/``) as ``GET /sparql?query=…`` with ``Accept:
   application/sparql-results+json``, the request a cache can keep.  Before the runs every
   query is sent to nginx twice: the second answer must come from its cache
   (``X-Cache-Status: HIT``; the table says how many did).
2. **Small SELECT, no cache** (target ≥ 0.8× bare pyoxigraph): poli-kg with its result cache
   off (``QUERY_CACHE_MB=0``, ``bench/query.py``'s "poli-kg, no cache"; the default workers)
   on each application server ``poli-kg serve`` offers (``--server gunicorn``, the default,
   and ``--server granian``) beside ``bench/oxigraph_server.py`` over the same store; wrk POSTs
   the labels of one cluster.  Four more servers show where the difference goes
   (``bench/flask_floor.py``):
   a one-view Flask application on gunicorn with poli-kg's settings, and on granian, that runs
   the query in the request thread (what Flask and the application server cost), and the same
   running it in a child process through poli-kg's executor (what the process boundary of a
   killable query adds).

Every wrk run lasts ``--duration`` seconds with ``--connections`` connections and 2 threads;
the servers take turns for ``--rounds`` rounds after a warm-up round, each run followed by a
wait until the server is idle again; the median run is reported, with the CPU time its server's
processes spent per request (for nginx: nginx's own processes; the figure that a busy,
shared machine disturbs least).  wrk, nginx and the servers share the machine's cores.  It
prints two Markdown tables (the targets as ratios, then each server's figures); ``--json
FILE`` also writes the raw figures.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import urllib.parse
import urllib.request
from contextlib import ExitStack, suppress
from dataclasses import dataclass
from pathlib import Path

import psutil
from load import Server, WrkResult, lua_script, run_wrk
from query import (
    FORM, NO_CACHE, OUT, RESULTS, ROOT, SMALL_SELECT, Endpoint, bare_oxigraph_server,
    ensure_build, poli_kg_server, query_mix, script_server, settle, virtuoso_server,
    wait_healthy,
)

sys.path.insert(0, str(ROOT))
from tests.support.nginx import Nginx, find_executable  # noqa: E402
from tests.support.virtuoso import find_executable as find_virtuoso  # noqa: E402

NGINX = "poli-kg via nginx (cache)"
ON_GRANIAN = "poli-kg on granian, no cache"
BARE = "bare pyoxigraph"
FLOORS = {(server, isolate): f"Flask on {server}, query in "
          + ("a child process" if isolate else "the thread")
          for server in ("gunicorn", "granian") for isolate in (False, True)}
VIRTUOSO = "Virtuoso"
TARGETS = (
    ("query mix, repeated (GET)", NGINX, VIRTUOSO, 10.0),
    ("small SELECT, no cache (POST), gunicorn", NO_CACHE, BARE, 0.8),
    ("small SELECT, no cache (POST), granian", ON_GRANIAN, BARE, 0.8),
)


# ----------------------------------------------------------------------------- the servers

def nginx_deployment(build: Path, work: Path, timeout: float, stack: ExitStack) -> Endpoint:
    """nginx with the deployed site in front of two poli-kg backends (one worker each)."""
    ports = []
    for name in ("backend-1", "backend-2"):
        logs = work / name
        logs.mkdir(parents=True)
        backend = Server(build, logs, "--workers", "1", "--query-timeout", f"{timeout:g}",
                         "--max-results", "10000000")
        stack.callback(backend.stop)
        ports.append(int(backend.url.rsplit(":", 1)[1]))
    proxy = Nginx(work / "nginx", ports, workers=2).start()
    assert proxy.process is not None
    return Endpoint(NGINX, proxy.url + "/sparql", proxy.stop, proxy.process.pid)


def floor_server(name: str, build: Path, server: str, isolate: bool) -> Endpoint:
    """``bench/flask_floor.py`` over the build's store (``poli-kg serve``'s workers)."""
    command = [sys.executable, str(Path(__file__).with_name("flask_floor.py")),
               str(build / "store"), "--server", server, *(["--isolate"] if isolate else [])]
    endpoint = script_server(name, command, "poli-kg serving", "sparql")
    wait_healthy(endpoint)
    return endpoint


def start(name: str, starter, stack: ExitStack) -> Endpoint:
    endpoint = starter()
    stack.callback(endpoint.stop)
    print(f"  {name}: {endpoint.url}", file=sys.stderr, flush=True)
    return endpoint


def get_requests(queries: list[str]) -> list[tuple[str, str, dict[str, str], str]]:
    """The queries as GET requests (with a Host header: wrk adds none to requests made
    before it starts, and nginx refuses HTTP/1.1 requests without one)."""
    headers = {"Host": "127.0.0.1", "Accept": RESULTS}
    return [("GET", "/sparql?" + urllib.parse.urlencode({"query": q}), headers, "")
            for q in queries]


def warm(endpoint: Endpoint, queries: list[str], timeout: float) -> int:
    """Send every query twice; return how many second answers came from nginx's cache."""
    hits = 0
    for text in queries:
        url = endpoint.url + "?" + urllib.parse.urlencode({"query": text})
        for attempt in (1, 2):
            request = urllib.request.Request(url, headers={"Accept": RESULTS})
            with urllib.request.urlopen(request, timeout=timeout) as response:
                response.read()
                hits += attempt == 2 and response.headers.get("X-Cache-Status") == "HIT"
    return hits


# ------------------------------------------------------------------------------ throughput

def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of a server's processes: the root and all its descendants."""
    root = psutil.Process(pid)
    total = 0.0
    for process in [root, *root.children(recursive=True)]:
        with suppress(psutil.NoSuchProcess):
            times = process.cpu_times()
            total += times.user + times.system
    return total


@dataclass
class Run:
    """One wrk run, and the CPU the server's processes spent on it (ms per request)."""

    wrk: WrkResult
    cpu_ms: float


def median_runs(endpoints: list[Endpoint], script: Path, args: argparse.Namespace
                ) -> dict[str, Run]:
    """wrk runs, the servers taking turns round by round (round 0 warms up); the median run."""
    runs: dict[str, list[Run]] = {e.name: [] for e in endpoints}
    for number in range(args.rounds + 1):
        for endpoint in endpoints:
            split = urllib.parse.urlsplit(endpoint.url)
            before = cpu_seconds(endpoint.pid)
            result = run_wrk(f"{split.scheme}://{split.netloc}", script, args.duration,
                             args.connections, 2, args.timeout)
            cpu_ms = (cpu_seconds(endpoint.pid) - before) * 1000 / max(result.requests, 1)
            settle(endpoint)
            if number:
                runs[endpoint.name].append(Run(result, cpu_ms))
    medians = {}
    for name, results in runs.items():
        medians[name] = sorted(results, key=lambda r: r.wrk.throughput)[len(results) // 2]
        print(f"  {name}: {medians[name].wrk.throughput:,.0f} req/s "
              f"(runs: {', '.join(f'{r.wrk.throughput:,.0f}' for r in results)})",
              file=sys.stderr, flush=True)
    return medians


def figures(run: Run) -> dict:
    result = run.wrk
    return {"rps": result.throughput, "p50_ms": result.p50_ms, "p95_ms": result.p95_ms,
            "requests": result.requests, "errors": result.errors + result.socket_errors,
            "cpu_ms": run.cpu_ms}


def repeated_mix(build: Path, work: Path, args: argparse.Namespace) -> dict:
    work.mkdir(parents=True)
    queries = [q.text for q in query_mix()]
    script = lua_script(get_requests(queries), work / "mix-get.lua")
    with ExitStack() as stack:
        proxy = start(NGINX, lambda: nginx_deployment(build, work, args.timeout, stack), stack)
        virtuoso = start(VIRTUOSO, lambda: virtuoso_server(build, OUT / f"virtuoso-{args.size}",
                                                           args.timeout), stack)
        hits = warm(proxy, queries, args.timeout)
        print(f"  nginx cache: {hits} of {len(queries)} repeated queries answered from it",
              file=sys.stderr, flush=True)
        medians = median_runs([proxy, virtuoso], script, args)
    return {"queries": len(queries), "cache_hits": hits,
            "servers": {name: figures(r) for name, r in medians.items()}}


def small_select(build: Path, work: Path, args: argparse.Namespace) -> dict:
    work.mkdir(parents=True)
    body = urllib.parse.urlencode({"query": SMALL_SELECT})
    script = lua_script([("POST", "/sparql", {"Content-Type": FORM, "Accept": RESULTS}, body)],
                        work / "small-select.lua")
    with ExitStack() as stack:
        ours = start(NO_CACHE, lambda: poli_kg_server(NO_CACHE, build, work / "no-cache",
                                                      "oxigraph", args.timeout, cache=False),
                     stack)
        granian = start(ON_GRANIAN, lambda: poli_kg_server(
            ON_GRANIAN, build, work / "granian", "oxigraph", args.timeout, cache=False,
            application_server="granian"), stack)
        bare = start(BARE, lambda: bare_oxigraph_server(build), stack)
        floors = [start(name, lambda n=name, s=server, i=isolate: floor_server(n, build, s, i),
                        stack) for (server, isolate), name in FLOORS.items()]
        medians = median_runs([ours, granian, bare, *floors], script, args)
    return {"servers": {name: figures(r) for name, r in medians.items()}}


# --------------------------------------------------------------------------------- tables

def targets_table(report: dict) -> str:
    servers = {**report.get("mix", {}).get("servers", {}),
               **report.get("small", {}).get("servers", {})}
    lines = ["| comparison | poli-kg req/s | reference | reference req/s | ratio | target | |",
             "|---|---:|---|---:|---:|---:|---|"]
    for label, ours, reference, target in TARGETS:
        if ours not in servers:
            continue
        ratio = servers[ours]["rps"] / servers[reference]["rps"]
        verdict = "met" if ratio >= target else "MISSED"
        lines.append(f"| {label} | {servers[ours]['rps']:,.0f} | {reference} "
                     f"| {servers[reference]['rps']:,.0f} | {ratio:.2f}× | ≥ {target:g}× "
                     f"| {verdict} |")
    return "\n".join(lines)


def servers_table(report: dict) -> str:
    lines = [("| requests | server | req/s | p50 ms | p95 ms | CPU ms / request | requests "
              "| errors |"), "|---|---|---:|---:|---:|---:|---:|---:|"]
    for kind, label in (("mix", "query mix, GET"), ("small", "small SELECT, POST")):
        for name, s in report.get(kind, {}).get("servers", {}).items():
            lines.append(f"| {label} | {name} | {s['rps']:,.0f} | {s['p50_ms']:.2f} "
                         f"| {s['p95_ms']:.2f} | {s['cpu_ms']:.3f} | {s['requests']:,} "
                         f"| {s['errors']} |")
    return "\n".join(lines)


# ----------------------------------------------------------------------------------- main

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=10000, help="generated triples")
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=8, help="wrk connections")
    parser.add_argument("--rounds", type=int, default=3,
                        help="wrk runs per server (the median is reported)")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per request")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="also write the raw figures here")
    parser.add_argument("--only", choices=("mix", "small"),
                        help="run one of the two comparisons (default: both)")
    args = parser.parse_args(argv)
    if find_executable() is None:
        sys.exit("nginx is not installed (scripts/install-system-deps.sh installs it)")
    if find_virtuoso() is None:
        sys.exit("virtuoso-t is not installed (scripts/install-system-deps.sh installs it)")
    OUT.mkdir(parents=True, exist_ok=True)
    build = ensure_build(args.size, args.seed)
    triples = json.loads((build / "build.json").read_text())["triples"]["total"]
    print(f"{triples:,} triples in the build:", file=sys.stderr, flush=True)
    with tempfile.TemporaryDirectory(prefix="poli-kg-bench-nginx-") as tmp:
        report = {"triples": triples, "duration": args.duration,
                  "connections": args.connections, "rounds": args.rounds}
        for kind, measure in (("mix", repeated_mix), ("small", small_select)):
            if args.only in (None, kind):
                report[kind] = measure(build, Path(tmp) / kind, args)
    if args.json:
        args.json.write_text(json.dumps(report, indent=1), encoding="utf-8")
    cache = ("" if "mix" not in report else f"; nginx cache: {report['mix']['cache_hits']} of "
             f"{report['mix']['queries']} repeated queries answered from it")
    print(f"{triples:,} triples; wrk: {args.connections} connections, 2 threads, median of "
          f"{args.rounds} runs of {args.duration:g} s{cache}.\n")
    print(targets_table(report), "\n")
    print(servers_table(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
