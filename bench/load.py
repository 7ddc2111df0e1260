"""Load benchmark: the production server under wrk, and quick queries beside runaway ones.

    python bench/load.py [--duration 60] [--connections 16] [--runs 3] [--runaway]

Builds the project into a temporary folder (or uses ``--build-dir``), starts the production
server on it (``python -m poli_kg.web.server`` on a free port of 127.0.0.1) and drives it with
``wrk`` (Debian package ``wrk``) and a Lua script that cycles through a fixed mix of requests:

* 35 % the competency questions of ``queries/`` as ``POST /sparql`` (form-encoded),
* 40 % resource pages ``/id/…`` (HTML; every 5th as Turtle), 40 resources spread over the graph,
* 15 % the home page ``/``,
* 10 % downloads (``poli-kg.ttl``, ``poli-kg.nt.gz``, ``poli-kg.jsonld``, ``SHA256SUMS``).

After a warm-up (20 s with 48 connections, so that the workers have their query processes; not
counted) it makes ``--runs`` runs of ``--duration`` seconds and
prints a Markdown table per run: requests, throughput, p50/p95/p99 latency (wrk's own
histogram), errors (non-2xx/3xx answers) and socket errors (connect, read, write, timeout),
and the server's memory before and after the run: the sum of the RSS of the gunicorn
master, its workers and their query processes (psutil), and the sum of their PSS (shared
pages divided among the processes sharing them: the RSS sum counts a worker's pages once
more for each query process forked from it), with the number of processes (a worker forks a query process when all of its
own are busy, so their number grows up to the number of queries it ran at the same time).  Then the verdict: the number of errors and the memory
growth from the end of the first run to the end of the last (the target: no errors, no
growth), and the growth of the private memory (USS) of the processes that were alive at
both times, which new query processes do not blur.

``--runaway`` measures something else (after a build, on a server with ``--query-timeout 3``):
wrk sends only quick queries (the competency questions) for ``--duration`` seconds, once
alone and once while four runaway queries (a 4-way cross join of the whole graph) are kept
running, each stopped by the timeout and sent again at once.  The table compares quick-query
latency in both cases (the target: p99 under a second); then, once the last runaway query
has been answered, it samples the CPU use of every server process for a second: none may
still be busy with a stopped query.

wrk runs on the same machine as the server: on 2 cores they share the CPU.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import psutil

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
QUERIES = ROOT / "queries"
BASE = "https://w3id.org/poli-kg/"
RUNAWAY = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"
DOWNLOADS = ["poli-kg.ttl", "poli-kg.nt.gz", "poli-kg.jsonld", "SHA256SUMS"]
BANNER = re.compile(r"poli-kg serving (http://127\.0\.0\.1:\d+)/")


# ---------------------------------------------------------------------------- the server

@dataclass
class Memory:
    """Sums over the server's processes, in bytes.

    ``rss`` counts the pages a query process shares with its worker (copy-on-write) once more
    for each process; ``pss`` divides shared pages among the processes sharing them; ``uss``
    (per pid) is each process's private memory, which is what a leak would make grow.
    """

    rss: int = 0
    pss: int = 0
    uss: dict[int, int] = field(default_factory=dict)

    @property
    def processes(self) -> int:
        return len(self.uss)

    def private_growth(self, later: Memory) -> int:
        """Growth of the private memory of the processes alive at both times."""
        common = self.uss.keys() & later.uss.keys()
        return sum(later.uss[pid] - self.uss[pid] for pid in common)


class Server:
    """``python -m poli_kg.web.server`` on a free port, its output in ``logs``; ``config``: extra
    settings as the server reads them from the environment (``POLI_KG_<KEY>``)."""

    def __init__(self, build_dir: Path, logs: Path, *options: str,
                 config: dict[str, str] | None = None) -> None:
        self.stdout, self.stderr = logs / "server.out", logs / "server.err"
        command = [sys.executable, "-m", "poli_kg.web.server", "--build-dir", str(build_dir),
                   "--host", "127.0.0.1", "--port", "0", *options]
        with open(self.stdout, "wb") as out, open(self.stderr, "wb") as err:
            self.process = subprocess.Popen(command, stdout=out, stderr=err,
                                            env={**os.environ, "PYTHONUNBUFFERED": "1",
                                                 **{f"POLI_KG_{k}": v
                                                    for k, v in (config or {}).items()}})
        self.url = self._wait_ready()

    def _wait_ready(self, timeout: float = 90) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("server exited: " + self.stderr.read_text()[-2000:])
            match = BANNER.search(self.stdout.read_text())
            if match:
                try:
                    with urllib.request.urlopen(match.group(1) + "/healthz", timeout=5) as r:
                        if r.status == 200:
                            return match.group(1)
                except OSError:
                    pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError("server not ready: " + self.stderr.read_text()[-2000:])

    def processes(self) -> list[psutil.Process]:
        """The master, its workers and their query processes."""
        master = psutil.Process(self.process.pid)
        return [master, *master.children(recursive=True)]

    def memory(self) -> Memory:
        """The memory of all server processes (see :class:`Memory`)."""
        memory = Memory()
        for process in self.processes():
            try:
                info = process.memory_full_info()
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
            memory.rss += info.rss
            memory.pss += getattr(info, "pss", info.rss)
            memory.uss[process.pid] = info.uss
        return memory

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def fresh_build(folder: Path) -> Path:
    """``poli-kg build`` into ``folder/public`` (a new process, as a user would run it)."""
    out = folder / "public"
    subprocess.run([sys.executable, "-m", "poli_kg.cli", "build", "--out", str(out)],
                   check=True, stdout=subprocess.DEVNULL)
    return out


# ------------------------------------------------------------------------- the requests

def competency_questions() -> list[str]:
    return [path.read_text(encoding="utf-8") for path in sorted(QUERIES.glob("*.rq"))]


def resource_paths(url: str, count: int = 40) -> list[str]:
    """``count`` resource paths spread evenly over the graph's subjects under ``/id/``."""
    query = (f'SELECT DISTINCT ?s WHERE {{ ?s ?p ?o FILTER(STRSTARTS(STR(?s), "{BASE}id/")) }}'
             " ORDER BY ?s")
    request = urllib.request.Request(
        url + "/sparql", data=urllib.parse.urlencode({"query": query}).encode(),
        headers={"Accept": "application/sparql-results+json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        rows = json.load(response)["results"]["bindings"]
    iris = [row["s"]["value"] for row in rows if "#" not in row["s"]["value"]]
    step = max(1, len(iris) // count)
    return ["/" + iri[len(BASE):] for iri in iris[::step][:count]]


def lua_string(text: str) -> str:
    """A Lua string literal for ``text`` (bytes as decimal escapes where needed)."""
    out = []
    for byte in text.encode("utf-8"):
        char = chr(byte)
        out.append(char if 32 <= byte < 127 and char not in '"\\' else f"\\{byte:03d}")
    return '"' + "".join(out) + '"'


def mixed_requests(url: str) -> list[tuple[str, str, dict[str, str], str]]:
    """One cycle of 100 requests: (method, path, headers, body)."""
    form = {"Content-Type": "application/x-www-form-urlencoded",
            "Accept": "application/sparql-results+json"}
    queries = [("POST", "/sparql", form, urllib.parse.urlencode({"query": q}))
               for q in competency_questions()]
    pages = []
    for i, path in enumerate(resource_paths(url)):
        accept = "text/turtle" if i % 5 == 4 else "text/html"
        pages.append(("GET", path, {"Accept": accept}, ""))
    home = ("GET", "/", {"Accept": "text/html"}, "")
    downloads = [("GET", f"/downloads/{name}", {}, "") for name in DOWNLOADS]
    cycle = []
    used = {"queries": 0, "pages": 0, "downloads": 0}

    def take(kind: str, items: list) -> tuple[str, str, dict[str, str], str]:
        used[kind] += 1
        return items[(used[kind] - 1) % len(items)]

    for i in range(100):  # interleaved: 35 queries, 40 pages, 15 home, 10 downloads
        slot = i % 20
        if slot < 7:
            cycle.append(take("queries", queries))
        elif slot < 15:
            cycle.append(take("pages", pages))
        elif slot < 18:
            cycle.append(home)
        else:
            cycle.append(take("downloads", downloads))
    return cycle


def quick_requests() -> list[tuple[str, str, dict[str, str], str]]:
    form = {"Content-Type": "application/x-www-form-urlencoded",
            "Accept": "application/sparql-results+json"}
    return [("POST", "/sparql", form, urllib.parse.urlencode({"query": q}))
            for q in competency_questions()]


LUA = """
local reqs = {%(requests)s}
local n = #reqs
local counter = 0
local threads = {}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  counter = id * 7
end

function request()
  counter = counter + 1
  return reqs[(counter %% n) + 1]
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'RESULT {"requests": %%d, "duration_us": %%d, "bytes": %%d, "p50_us": %%d, "p95_us": %%d, ' ..
    '"p99_us": %%d, "max_us": %%d, "status_errors": %%d, "connect": %%d, "read": %%d, ' ..
    '"write": %%d, "timeout": %%d}\\n',
    summary.requests, summary.duration, summary.bytes, latency:percentile(50),
    latency:percentile(95), latency:percentile(99), latency.max, e.status, e.connect, e.read,
    e.write, e.timeout))
end
"""


def lua_script(requests: list[tuple[str, str, dict[str, str], str]], path: Path) -> Path:
    items = []
    for method, target, headers, body in requests:
        header_table = ", ".join(f"[{lua_string(k)}] = {lua_string(v)}" for k, v in headers.items())
        body_arg = lua_string(body) if body else "nil"
        items.append(f"wrk.format({lua_string(method)}, {lua_string(target)}, "
                     f"{{{header_table}}}, {body_arg})")
    path.write_text(LUA % {"requests": ",\n  ".join(items)}, encoding="utf-8")
    return path


@dataclass
class WrkResult:
    requests: int
    seconds: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    errors: int
    socket_errors: int

    @property
    def throughput(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def run_wrk(url: str, script: Path, duration: float, connections: int, threads: int,
            timeout: float) -> WrkResult:
    wrk = shutil.which("wrk")
    if wrk is None:
        sys.exit("wrk is not installed (Debian: apt-get install wrk; "
                 "scripts/install-system-deps.sh installs it)")
    command = [wrk, "-t", str(threads), "-c", str(connections), "-d", f"{duration:g}s",
               "--timeout", f"{timeout:g}s", "-s", str(script), url]
    output = subprocess.run(command, check=True, capture_output=True, text=True,
                            timeout=duration + timeout + 60).stdout
    match = re.search(r"^RESULT (\{.*\})$", output, re.MULTILINE)
    if match is None:
        raise RuntimeError("unexpected wrk output:\n" + output)
    data = json.loads(match.group(1))
    return WrkResult(
        requests=data["requests"], seconds=data["duration_us"] / 1e6,
        p50_ms=data["p50_us"] / 1000, p95_ms=data["p95_us"] / 1000, p99_ms=data["p99_us"] / 1000,
        max_ms=data["max_us"] / 1000, errors=data["status_errors"],
        socket_errors=sum(data[k] for k in ("connect", "read", "write", "timeout")))


# ------------------------------------------------------------------------------- the load

def mb(size: int) -> str:
    return f"{size / 2**20:.0f}"


def load_benchmark(args: argparse.Namespace, build_dir: Path, work: Path) -> int:
    options = ["--workers", str(args.workers)] if args.workers else []
    server = Server(build_dir, work, *options)
    try:
        script = lua_script(mixed_requests(server.url), work / "mix.lua")
        print(f"server {server.url}  wrk: {args.connections} connections, {args.threads} threads, "
              f"{args.duration:g} s per run, timeout {args.timeout:g} s", flush=True)
        before = server.memory()
        # warm-up with many connections, so that the workers have forked their query
        # processes before the measured runs
        warm = run_wrk(server.url, script, min(20.0, args.duration),
                       max(args.connections, 48), args.threads, args.timeout)
        rows = [("warm-up", warm, before, server.memory())]
        for run in range(1, args.runs + 1):
            before = server.memory()
            result = run_wrk(server.url, script, args.duration, args.connections, args.threads,
                             args.timeout)
            rows.append((str(run), result, before, server.memory()))
            print(f"run {run}: {result.throughput:.0f} req/s", file=sys.stderr, flush=True)
    finally:
        server.stop()
    print()
    print("| run | requests | req/s | p50 ms | p95 ms | p99 ms | max ms | errors | socket errors "
          "| RSS MB before → after | PSS MB before → after | processes | private MB growth "
          "of processes alive before and after |")
    print("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
    for name, r, before, after in rows:
        print(f"| {name} | {r.requests} | {r.throughput:.0f} | {r.p50_ms:.1f} | {r.p95_ms:.1f} | "
              f"{r.p99_ms:.1f} | {r.max_ms:.0f} | {r.errors} | {r.socket_errors} | "
              f"{mb(before.rss)} → {mb(after.rss)} | {mb(before.pss)} → {mb(after.pss)} | "
              f"{before.processes} → {after.processes} | "
              f"{before.private_growth(after) / 2**20:+.1f} |")
    measured = rows[1:]
    errors = sum(r.errors + r.socket_errors for _, r, _, _ in measured)
    first, last = measured[0][3], measured[-1][3]
    print()
    print(f"errors over {len(measured)} runs: {errors}")
    for label, a, b in (("RSS", first.rss, last.rss), ("PSS", first.pss, last.pss)):
        print(f"server {label} after run 1: {mb(a)} MB, after run {len(measured)}: {mb(b)} MB "
              f"(growth {(b - a) / 2**20:+.1f} MB, {100 * (b - a) / a:+.1f} %)")
    print(f"server processes after run 1: {first.processes}, after run {len(measured)}: "
          f"{last.processes}; private memory of the processes alive at both times: "
          f"{first.private_growth(last) / 2**20:+.1f} MB")
    return 0 if errors == 0 else 1


# -------------------------------------------------------------------------- runaway mode

class Runaways:
    """``count`` threads, each keeping one runaway query in flight until stopped."""

    def __init__(self, url: str, count: int) -> None:
        self.url = url
        self.stop_event = threading.Event()
        self.statuses: list[int] = []
        self.seconds: list[float] = []
        self.threads = [threading.Thread(target=self._loop, daemon=True) for _ in range(count)]

    def _loop(self) -> None:
        body = urllib.parse.urlencode({"query": RUNAWAY}).encode()
        while not self.stop_event.is_set():
            request = urllib.request.Request(self.url + "/sparql", data=body)
            started = time.monotonic()
            try:
                with urllib.request.urlopen(request, timeout=120) as response:
                    self.statuses.append(response.status)
            except urllib.error.HTTPError as error:
                self.statuses.append(error.code)
            self.seconds.append(time.monotonic() - started)

    def __enter__(self) -> Runaways:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_event.set()
        for thread in self.threads:
            thread.join(180)


def busy_processes(server: Server, seconds: float = 1.0) -> list[tuple[int, str, float]]:
    """(pid, name, CPU %) of every server process over ``seconds``."""
    processes = server.processes()
    for process in processes:
        try:
            process.cpu_percent(None)
        except psutil.NoSuchProcess:
            pass
    time.sleep(seconds)
    usage = []
    for process in processes:
        try:
            usage.append((process.pid, process.name(), process.cpu_percent(None)))
        except psutil.NoSuchProcess:
            pass
    return usage


def runaway_benchmark(args: argparse.Namespace, build_dir: Path, work: Path) -> int:
    timeout = args.query_timeout
    options = ["--query-timeout", f"{timeout:g}"]
    if args.workers:
        options += ["--workers", str(args.workers)]
    server = Server(build_dir, work, *options)
    connections = min(args.connections, 4)
    try:
        script = lua_script(quick_requests(), work / "quick.lua")
        print(f"server {server.url}  query timeout {timeout:g} s; quick queries: wrk, "
              f"{connections} connections, {args.duration:g} s", flush=True)
        run_wrk(server.url, script, 5, connections, 1, 10)  # warm-up: fork query processes
        alone = run_wrk(server.url, script, args.duration, connections, 1, 10)
        with Runaways(server.url, 4) as runaways:
            time.sleep(0.5)
            loaded = run_wrk(server.url, script, args.duration, connections, 1, 10)
        answered = time.monotonic()
        after = busy_processes(server)
        settle = time.monotonic() - answered
    finally:
        server.stop()
    print()
    print("| quick queries | requests | req/s | p50 ms | p95 ms | p99 ms | max ms | errors |")
    print("|---|--:|--:|--:|--:|--:|--:|--:|")
    for name, r in (("alone", alone), ("beside 4 runaway queries", loaded)):
        print(f"| {name} | {r.requests} | {r.throughput:.0f} | {r.p50_ms:.1f} | {r.p95_ms:.1f} | "
              f"{r.p99_ms:.1f} | {r.max_ms:.0f} | {r.errors + r.socket_errors} |")
    stopped = runaways.statuses
    busiest = max(after, key=lambda row: row[2])
    total_cpu = sum(row[2] for row in after)
    print()
    print(f"runaway queries answered: {len(stopped)} "
          f"({', '.join(f'{stopped.count(s)} x {s}' for s in sorted(set(stopped)))}) "
          f"after {min(runaways.seconds):.2f} to {max(runaways.seconds):.2f} s "
          f"(query timeout {timeout:g} s)")
    print(f"CPU of the {len(after)} server processes over {settle:.1f} s after the last answer: "
          f"{total_cpu:.1f} % in all, busiest pid {busiest[0]} at {busiest[2]:.1f} %")
    ok = loaded.p99_ms < 1000 and loaded.errors + loaded.socket_errors == 0 and busiest[2] < 20
    ok = ok and set(stopped) == {503}
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=60, help="seconds per run (60)")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections (16)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (2)")
    parser.add_argument("--runs", type=int, default=3, help="measured runs (3)")
    parser.add_argument("--timeout", type=float, default=10,
                        help="seconds after which wrk counts a request as failed (10)")
    parser.add_argument("--workers", type=int, default=None,
                        help="server worker processes (default: the server's)")
    parser.add_argument("--build-dir", type=Path, default=None,
                        help="serve this build instead of building into a temporary folder")
    parser.add_argument("--runaway", action="store_true",
                        help="quick-query latency beside four runaway queries")
    parser.add_argument("--query-timeout", type=float, default=3,
                        help="the server's query timeout in --runaway mode (3 s)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="poli-kg-load-") as tmp:
        work = Path(tmp)
        if args.build_dir is None:
            print("building the project into a temporary folder …", file=sys.stderr, flush=True)
            build_dir = fresh_build(work)
        else:
            build_dir = args.build_dir
        if args.runaway:
            return runaway_benchmark(args, build_dir, work)
        return load_benchmark(args, build_dir, work)


if __name__ == "__main__":
    sys.exit(main())
