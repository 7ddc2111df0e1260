"""Query benchmark: latency of a fixed query mix, HTTP throughput and memory, servers side by side.

    python bench/query.py [--sizes 10000,100000,1000000] [--reps 5] [--duration 10]

For every size it takes the build of the project plus that many generated triples
(``bench/out/build-{size}/public``, made by ``bench/build.py`` when missing) and starts, on
127.0.0.1, six SPARQL servers over the same quads:

* **poli-kg** — the product's production server as it ships: its default store (Oxigraph on
  disk), gunicorn and Flask, every safety rule of the endpoint, and its result cache (a
  repeated query is answered from the worker's memory);
* **poli-kg, no cache** — the same with ``QUERY_CACHE_MB=0``: every query is evaluated, as on
  the servers below (the targets' latency ratios use this one);
* **poli-kg in memory, no cache** — the same with ``--store oxigraph-memory``: the build loaded
  into an in-memory Oxigraph store once, before the workers fork (README, "Store backends");
* **bare pyoxigraph** — ``bench/oxigraph_server.py``: the same store behind the standard
  library's HTTP server, nothing else (the limit for a Python service);
* **Virtuoso** — OpenLink Virtuoso (Debian's ``virtuoso-opensource``; the C reference), the
  build's N-Quads bulk-loaded with ``ld_dir``/``rdf_loader_run``;
* **rdflib Memory** — the product's server with ``--store memory`` (rdflib's in-memory
  dataset behind the same Flask endpoint) and no result cache.

The mix is the 17 competency questions of ``queries/`` and five analytic queries of
``bench/queries/`` (aggregates over members and projects, a three-hop join, a text FILTER).
**Latency:** one client sends each query ``--reps`` times (after one unmeasured warm-up)
over a kept-alive connection, the stores taking turns query by query, so that the machine's
moods hit them alike; a request ends when the whole answer (SPARQL JSON results) has been
read.  A slow store stops repeating a query once it has spent ``--budget`` seconds on it
(each query still weighs the same in the mix's percentiles); a request that takes more than
``--timeout`` seconds counts as that long (marked ``>``).  Every store's answer must have the
same number of rows as poli-kg's (``rows`` column; a difference is printed).  The poli-kg
servers stop a query at ``--timeout`` seconds or 2 GB of memory; a stopped query counts as
``--timeout`` seconds, worse than any answer (``stopped`` column, ``>`` in the per-query table).
**Throughput:** ``wrk`` (Debian's ``wrk``) for ``--duration`` seconds with ``--connections``
connections, for a small SELECT (the labels of one cluster) and for the mix: ``--rounds``
rounds after a warm-up round, the stores taking turns, each run followed by a wait until
the server is idle again; the median run of each store is reported.

**Memory:** after the latency runs and again after the throughput runs, the number of the
server's processes (for poli-kg: the gunicorn master, its workers and their query processes)
with the sum of their PSS (pages shared copy-on-write divided among the processes sharing
them) and the largest private memory (USS) of one; and how soon each server was ready.

It prints Markdown tables: the mix's p50/p95 per size and store, with the ratios the targets
speak of; the throughput; the servers' start and memory; and each query's median latency.
``--json FILE`` also writes the raw figures (``bench/run.py`` uses them).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from contextlib import ExitStack, suppress
from dataclasses import dataclass, field
from pathlib import Path

import psutil
from load import Server, WrkResult, lua_script, run_wrk

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT = HERE / "out"
sys.path.insert(0, str(ROOT))
from tests.support.virtuoso import Virtuoso, find_executable  # noqa: E402

SMALL_SELECT = ("SELECT ?label WHERE { <https://w3id.org/poli-kg/id/polo/mesap> "
                "<http://www.w3.org/2000/01/rdf-schema#label> ?label }")
NO_CACHE = "poli-kg, no cache"
IN_MEMORY = "poli-kg in memory, no cache"
QUERY_MEMORY_MB = 2048
"""Memory a query may use on the poli-kg servers (the product's default is 1024 MB)."""
STORES = ("poli-kg", NO_CACHE, IN_MEMORY, "bare pyoxigraph", "Virtuoso", "rdflib Memory")
FORM = "application/x-www-form-urlencoded"
RESULTS = "application/sparql-results+json"


# ----------------------------------------------------------------------------- the queries

@dataclass(frozen=True)
class Query:
    name: str
    text: str


def query_mix() -> list[Query]:
    """The competency questions, then the analytic queries of ``bench/queries``."""
    files = sorted((ROOT / "queries").glob("*.rq")) + sorted((HERE / "queries").glob("*.rq"))
    return [Query(path.stem, path.read_text(encoding="utf-8")) for path in files]


# ----------------------------------------------------------------------------- the servers

@dataclass
class Endpoint:
    """A running SPARQL server: ``name``, its query URL and how to stop it."""

    name: str
    url: str
    stop: Callable[[], None]
    pid: int
    connection: http.client.HTTPConnection | None = None
    ready_s: float = 0.0

    def ask(self, query: str, timeout: float) -> tuple[float, int]:
        """POST ``query``; return (seconds until the whole answer was read, rows)."""
        split = urllib.parse.urlsplit(self.url)
        body = urllib.parse.urlencode({"query": query})
        for attempt in (1, 2):  # a kept-alive connection the server closed: reconnect once
            if self.connection is None:
                self.connection = http.client.HTTPConnection(split.hostname, split.port,
                                                             timeout=timeout)
            start = time.perf_counter()
            try:
                self.connection.request("POST", split.path, body,
                                        {"Content-Type": FORM, "Accept": RESULTS})
                response = self.connection.getresponse()
                data = response.read()
            except TimeoutError:
                self.close()
                return timeout, -1
            except (http.client.RemoteDisconnected, ConnectionError):
                self.close()
                if attempt == 2:
                    raise
                continue
            seconds = time.perf_counter() - start
            if response.status == 503 and b"The query was stopped" in data:
                return timeout, -1  # poli-kg stopped it: its time or memory limit
            if response.status != 200:
                raise RuntimeError(f"{self.name} answered {response.status}: {data[:300]!r}")
            parsed = json.loads(data)
            rows = len(parsed["results"]["bindings"]) if "results" in parsed else 1
            return seconds, rows
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None


def poli_kg_server(name: str, build: Path, logs: Path, store: str, timeout: float,
                   cache: bool, application_server: str = "gunicorn") -> Endpoint:
    logs.mkdir(parents=True, exist_ok=True)
    config = {"QUERY_MEMORY_MB": str(QUERY_MEMORY_MB)}
    if not cache:
        config["QUERY_CACHE_MB"] = "0"
    server = Server(build, logs, "--store", store, "--query-timeout", f"{timeout:g}",
                    "--max-results", "10000000", "--server", application_server,
                    config=config)
    return Endpoint(name, server.url + "/sparql", server.stop, server.process.pid)


def script_server(name: str, command: list[str], banner: str, url_suffix: str = "") -> Endpoint:
    """A bench server started by ``command``, which prints ``banner URL`` once it listens; the
    endpoint is URL + ``url_suffix``."""
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                               text=True)
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line.startswith(banner + " "):
        process.kill()
        raise RuntimeError(f"{' '.join(command[1:2])} did not start: {line!r}")

    def stop() -> None:
        process.terminate()
        process.wait(timeout=30)

    return Endpoint(name, line[len(banner) + 1:].split()[0] + url_suffix, stop, process.pid)


def wait_healthy(endpoint: Endpoint) -> None:
    """Wait until the endpoint's server answers (granian prints its address before its workers
    listen)."""
    health = endpoint.url.removesuffix("sparql") + "healthz"
    for _ in range(100):
        with suppress(OSError), urllib.request.urlopen(health, timeout=5):
            return
        time.sleep(0.1)


def bare_oxigraph_server(build: Path) -> Endpoint:
    return script_server("bare pyoxigraph", [sys.executable, str(HERE / "oxigraph_server.py"),
                                             str(build / "store")], "listening")


def virtuoso_server(build: Path, folder: Path, timeout: float) -> Endpoint:
    """A fresh Virtuoso in ``folder`` with the build's N-Quads bulk-loaded."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    os.link(build / "poli-kg.nq", folder / "poli-kg.nq")  # its DirsAllowed is its own folder
    # about a third of the memory Virtuoso's guide suggests for this machine: plenty here
    server = Virtuoso(folder, max_query_seconds=int(timeout) + 1, buffers=170_000).start()
    try:
        server.isql("ld_dir('.', 'poli-kg.nq', 'urn:poli-kg:unused');\n"
                    "rdf_loader_run();\ncheckpoint;\n", timeout=1800)
    except BaseException:
        server.stop()
        raise
    assert server.pid is not None
    return Endpoint("Virtuoso", server.sparql_url, server.stop, server.pid)


def start_servers(size: int, build: Path, work: Path, stores: list[str], timeout: float,
                  stack: ExitStack) -> list[Endpoint]:
    starters = {
        "poli-kg": lambda: poli_kg_server("poli-kg", build, work / "poli-kg", "oxigraph",
                                          timeout, cache=True),
        NO_CACHE: lambda: poli_kg_server(NO_CACHE, build, work / "no-cache", "oxigraph",
                                         timeout, cache=False),
        IN_MEMORY: lambda: poli_kg_server(IN_MEMORY, build, work / "in-memory",
                                          "oxigraph-memory", timeout, cache=False),
        "bare pyoxigraph": lambda: bare_oxigraph_server(build),
        "Virtuoso": lambda: virtuoso_server(build, OUT / f"virtuoso-{size}", timeout),
        "rdflib Memory": lambda: poli_kg_server("rdflib Memory", build, work / "memory",
                                                "memory", timeout, cache=False),
    }
    endpoints = []
    for name in stores:
        start = time.perf_counter()
        endpoint = starters[name]()
        endpoint.ready_s = time.perf_counter() - start
        stack.callback(endpoint.stop)
        stack.callback(endpoint.close)
        endpoints.append(endpoint)
        print(f"  {name}: ready in {endpoint.ready_s:.1f} s at {endpoint.url}",
              file=sys.stderr, flush=True)
    return endpoints


def server_memory(endpoint: Endpoint) -> dict[str, float]:
    """The server's processes (master, workers, query processes): how many, the sum of their
    PSS (shared pages divided among the processes sharing them) and the largest private
    memory (USS) of one, in MB."""
    root = psutil.Process(endpoint.pid)
    pss, largest, count = 0, 0, 0
    for process in [root, *root.children(recursive=True)]:
        with suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            info = process.memory_full_info()
            pss, largest, count = pss + info.pss, max(largest, info.uss), count + 1
    return {"processes": count, "pss_mb": pss / 2**20, "largest_uss_mb": largest / 2**20}


def ensure_build(size: int, seed: int) -> Path:
    build = OUT / f"build-{size}" / "public"
    if not (build / "build.json").is_file():
        subprocess.run([sys.executable, str(HERE / "build.py"), "--sizes", str(size),
                        "--compare-max", "0", "--seed", str(seed)], check=True,
                       stdout=subprocess.DEVNULL)
    return build


# --------------------------------------------------------------------------- the latencies

@dataclass
class Samples:
    """Latencies (s) of one store for one query, and the rows of its answer."""

    seconds: list[float] = field(default_factory=list)
    rows: int = -1
    timeouts: int = 0


def measure_latency(endpoints: list[Endpoint], mix: list[Query], reps: int, budget: float,
                    timeout: float) -> dict[str, dict[str, Samples]]:
    samples = {e.name: {q.name: Samples() for q in mix} for e in endpoints}
    for query in mix:  # warm-up, and the answer's size
        for endpoint in endpoints:
            seconds, rows = endpoint.ask(query.text, timeout)
            samples[endpoint.name][query.name].rows = rows
            if rows < 0:
                samples[endpoint.name][query.name].seconds.append(seconds)
                samples[endpoint.name][query.name].timeouts += 1
    for _ in range(reps):
        for query in mix:
            for endpoint in endpoints:
                s = samples[endpoint.name][query.name]
                if s.timeouts or sum(s.seconds) > budget:
                    continue  # enough of this one: its median is known well enough
                seconds, rows = endpoint.ask(query.text, timeout)
                s.seconds.append(seconds)
                s.timeouts += rows < 0
    return samples


def weighted_percentile(per_query: list[list[float]], fraction: float) -> float:
    """Percentile of the pooled samples, each query weighing the same however many it has."""
    points = sorted((x, 1 / len(xs)) for xs in per_query for x in xs)
    total = sum(w for _, w in points)
    running = 0.0
    for x, w in points:
        running += w
        if running >= fraction * total - 1e-12:
            return x
    return points[-1][0]


# ------------------------------------------------------------------------------ throughput

def settle(endpoint: Endpoint, limit: float = 90) -> None:
    """Wait until the server's processes are idle (queries wrk left running have ended)."""
    root = psutil.Process(endpoint.pid)
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        processes = [root, *root.children(recursive=True)]
        for process in processes:
            with suppress(psutil.NoSuchProcess):
                process.cpu_percent(None)
        time.sleep(0.5)
        busy = 0.0
        for process in processes:
            with suppress(psutil.NoSuchProcess):
                busy += process.cpu_percent(None)
        if busy < 10:
            return


def measure_throughput(endpoints: list[Endpoint], mix: list[Query], work: Path,
                       duration: float, connections: int, rounds: int) -> dict[str, dict]:
    """wrk runs, the stores taking turns round by round; per store and kind the median run.

    rdflib's mix runs once, last (its queries outlast any run and would disturb the others').
    """
    scripts = {}
    for kind, queries in (("small SELECT", [SMALL_SELECT]), ("mix", [q.text for q in mix])):
        requests = [("POST", "/sparql", {"Content-Type": FORM, "Accept": RESULTS},
                     urllib.parse.urlencode({"query": q})) for q in queries]
        scripts[kind] = lua_script(requests, work / f"{kind.replace(' ', '-')}.lua")
    runs: dict[str, dict[str, list[WrkResult]]] = {e.name: {k: [] for k in scripts} for e in endpoints}
    for kind, script in scripts.items():
        turns = [e for e in endpoints if not (kind == "mix" and e.name == "rdflib Memory")]
        last = [e for e in endpoints if e not in turns]
        for number in range(rounds + 1):  # round 0 warms up
            for endpoint in turns + (last if number == rounds else []):
                split = urllib.parse.urlsplit(endpoint.url)
                root = f"{split.scheme}://{split.netloc}"
                result = run_wrk(root, script, duration, connections, 2, duration)
                settle(endpoint)
                if number or endpoint in last:
                    runs[endpoint.name][kind].append(result)
    summary = {}
    for name, kinds in runs.items():
        summary[name] = {}
        for kind, results in kinds.items():
            r = sorted(results, key=lambda x: x.throughput)[len(results) // 2]
            summary[name][kind] = {"rps": r.throughput, "p50_ms": r.p50_ms, "p95_ms": r.p95_ms,
                                   "errors": r.errors + r.socket_errors, "requests": r.requests,
                                   "runs": [round(x.throughput, 1) for x in results]}
        print(f"  {name}: " + ", ".join(f"{k} {v['rps']:,.0f} req/s"
                                        for k, v in summary[name].items()),
              file=sys.stderr, flush=True)
    return summary


# --------------------------------------------------------------------------------- tables

def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.1f}" if seconds < 10 else f"{seconds * 1000:,.0f}"


def latency_table(report: dict) -> str:
    lines = [f"| triples | store | mix p50 ms | mix p95 ms | p50 ÷ {NO_CACHE} | stopped |",
             "|---:|---|---:|---:|---:|---:|"]
    for size in report["sizes"]:
        mix = size["mix"]
        ours = mix[NO_CACHE]["p50"] if NO_CACHE in mix else None
        for name, m in mix.items():
            ratio = f"{m['p50'] / ours:.2f}" if ours else "–"
            lines.append(f"| {size['triples']:,} | {name} | {ms(m['p50'])} | {ms(m['p95'])} "
                         f"| {ratio} | {m['timeouts']} |")
    return "\n".join(lines)


def throughput_table(report: dict) -> str:
    lines = ["| triples | store | small SELECT req/s | p50 ms | mix req/s | p50 ms | errors |",
             "|---:|---|---:|---:|---:|---:|---:|"]
    for size in report["sizes"]:
        for name, t in size["throughput"].items():
            small, mix = t["small SELECT"], t["mix"]
            lines.append(
                f"| {size['triples']:,} | {name} | {small['rps']:,.0f} | {small['p50_ms']:.1f} "
                f"| {mix['rps']:,.1f} | {mix['p50_ms']:.1f} "
                f"| {small['errors'] + mix['errors']} |")
    return "\n".join(lines)


def servers_table(report: dict) -> str:
    lines = ["| triples | store | ready s | after the mix: processes | PSS MB | largest USS MB "
             "| after wrk: processes | PSS MB | largest USS MB |",
             "|---:|---|---:|---:|---:|---:|---:|---:|---:|"]
    for size in report["sizes"]:
        for name, server in size["servers"].items():
            cells = [f"{m['processes']} | {m['pss_mb']:,.0f} | {m['largest_uss_mb']:,.0f}"
                     for m in (server["after the mix"], server["after wrk"])]
            lines.append(f"| {size['triples']:,} | {name} | {server['ready_s']:.1f} | "
                         + " | ".join(cells) + " |")
    return "\n".join(lines)


def per_query_table(report: dict) -> str:
    sizes = report["sizes"]
    stores = list(sizes[0]["mix"])
    header = "| query | triples | " + " | ".join(f"{s} ms" for s in stores) + " | rows |"
    lines = [header, "|---|---:|" + "---:|" * len(stores) + "---:|"]
    for size in sizes:
        for query, per_store in size["queries"].items():
            cells = []
            for store in stores:
                q = per_store[store]
                cells.append((">" if q["timeouts"] else "") + ms(q["median"]))
            rows = {q["rows"] for q in per_store.values() if q["rows"] >= 0}
            rows_cell = str(rows.pop()) if len(rows) == 1 else "differ: " + ", ".join(
                f"{s} {per_store[s]['rows']}" for s in stores)
            lines.append(f"| {query} | {size['triples']:,} | " + " | ".join(cells)
                         + f" | {rows_cell} |")
    return "\n".join(lines)


# ----------------------------------------------------------------------------------- main

def run_size(size: int, args: argparse.Namespace, mix: list[Query]) -> dict:
    build = ensure_build(size, args.seed)
    triples = json.loads((build / "build.json").read_text())["triples"]["total"]
    print(f"{size:,} generated triples ({triples:,} in the build):", file=sys.stderr, flush=True)
    with ExitStack() as stack, tempfile.TemporaryDirectory(prefix="poli-kg-bench-") as tmp:
        work = Path(tmp)
        endpoints = start_servers(size, build, work, args.stores, args.timeout, stack)
        samples = measure_latency(endpoints, mix, args.reps, args.budget, args.timeout)
        mix_summary, queries = {}, {}
        for endpoint in endpoints:
            per_query = samples[endpoint.name]
            times = [s.seconds for s in per_query.values()]
            mix_summary[endpoint.name] = {
                "p50": weighted_percentile(times, 0.50), "p95": weighted_percentile(times, 0.95),
                "timeouts": sum(s.timeouts for s in per_query.values())}
            for name, s in per_query.items():
                queries.setdefault(name, {})[endpoint.name] = {
                    "median": statistics.median(s.seconds), "n": len(s.seconds),
                    "seconds": s.seconds, "rows": s.rows, "timeouts": s.timeouts}
        servers = {e.name: {"ready_s": e.ready_s, "after the mix": server_memory(e)}
                   for e in endpoints}
        for endpoint in endpoints:
            endpoint.close()
        throughput = measure_throughput(endpoints, mix, work, args.duration, args.connections,
                                        args.rounds)
        for endpoint in endpoints:
            servers[endpoint.name]["after wrk"] = server_memory(endpoint)
    return {"generated": size, "triples": triples, "mix": mix_summary, "queries": queries,
            "throughput": throughput, "servers": servers}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000,1000000",
                        help="generated triples, comma-separated")
    parser.add_argument("--stores", default=";".join(STORES),
                        help="semicolon-separated, from the default list")
    parser.add_argument("--reps", type=int, default=5, help="measured runs of each query")
    parser.add_argument("--budget", type=float, default=10.0,
                        help="seconds a store may spend repeating one query")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per request")
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=8, help="wrk connections")
    parser.add_argument("--rounds", type=int, default=3,
                        help="wrk runs per store and kind (the median is reported)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="also write the raw figures here")
    args = parser.parse_args(argv)
    args.stores = [s.strip() for s in args.stores.split(";")]
    if "Virtuoso" in args.stores and find_executable() is None:
        sys.exit("virtuoso-t is not installed (scripts/install-system-deps.sh installs it)")
    OUT.mkdir(parents=True, exist_ok=True)
    mix = query_mix()
    report = {"mix": [q.name for q in mix], "reps": args.reps, "duration": args.duration,
              "connections": args.connections,
              "sizes": [run_size(int(s), args, mix) for s in args.sizes.split(",")]}
    if args.json:
        args.json.write_text(json.dumps(report, indent=1), encoding="utf-8")
    print(f"Query mix: {len(mix)} queries, {args.reps} measured runs each (one client); "
          f"wrk: {args.connections} connections, median of {args.rounds} runs of "
          f"{args.duration:g} s.\n")
    print(latency_table(report), "\n")
    print(throughput_table(report), "\n")
    print(servers_table(report), "\n")
    print(per_query_table(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
