"""All benchmarks in one run, written to ``bench/RESULTS.md``: ``make bench``.

    python bench/run.py [--sizes 10000,100000,1000000] [--quick] [--out bench/RESULTS.md]

1. ``bench/build.py``: build stages and peak memory per size (owlrl and pyshacl beside the
   compiled rules and shapes at the smallest size);
2. ``bench/query.py``: the query mix's latency and the endpoint's throughput, poli-kg beside
   Virtuoso, a bare pyoxigraph server and rdflib Memory, per size;
3. how soon ``poli-kg serve`` answers a query when the build is cached (the real graph), and
   how soon the server alone answers on the largest build;
4. ``bench/plans.py``: every query of the mix on pyoxigraph and Virtuoso at the largest size,
   with the engines' plans of the slowest; ``bench/rollups.py``: the slowest aggregate over the
   statistics computed by the query and precomputed at build time;
5. ``bench/virtuoso_backend.py bench``: the mix through poli-kg on a Virtuoso backend beside
   Virtuoso's own endpoint, at the largest size;
6. ``bench/nginx.py``: repeated queries from nginx's cache against Virtuoso, and the small
   SELECT without any cache against a bare pyoxigraph server and the framework's floor;
   ``bench/instructions.py``: the instructions that request executes, beside the floor's;
7. ``bench/search.py``: the search index (the real graph and the largest size);
8. ``bench/lighthouse.py``: the Lighthouse scores of the pages for people;
9. the targets, each as a ratio measured in this run, met or missed.

The report starts with a description of the machine.  ``--quick`` (10k triples,
fewer and shorter runs) checks that everything works in a few minutes; its figures are not the record.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from datetime import datetime, timezone
from importlib.metadata import version
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT = HERE / "out"

from query import IN_MEMORY, NO_CACHE, SMALL_SELECT  # noqa: E402
import lighthouse  # noqa: E402
import nginx  # noqa: E402
import virtuoso_backend  # noqa: E402


RECORD = {"plans": [], "rollups": [], "backend": [], "nginx": [], "search": [],
          "lighthouse": ["--runs", "3"]}
"""Options of the other scripts in a full run (their defaults, and the median of three
Lighthouse runs)."""
QUICK = {"plans": ["--reps", "1", "--plans", "2"], "rollups": ["--reps", "1"],
         "backend": ["--reps", "2", "--small", "10"],
         "nginx": ["--rounds", "1", "--duration", "3"], "search": ["--queries", "100"],
         "lighthouse": ["--runs", "1"]}
"""Options of the other scripts with ``--quick``."""


def machine() -> str:
    """What this machine is: CPU, cores, memory, OS, and the versions that matter."""
    cpu = next((line.split(":", 1)[1].strip() for line in
                Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")),
               platform.processor())
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    versions = {name: version(name) for name in
                ("pyoxigraph", "rdflib", "owlrl", "pyshacl", "flask", "gunicorn")}
    virtuoso = subprocess.run(["virtuoso-t", "--version"], capture_output=True, text=True)
    virtuoso_version = next((line.split("Version", 1)[1].split()[0] for line in
                             (virtuoso.stdout + virtuoso.stderr).splitlines()
                             if "Version" in line), "?")
    wrk = subprocess.run(["wrk", "--version"], capture_output=True, text=True)
    return "\n".join([
        f"- CPU: {cpu}, {os.cpu_count()} cores; memory {memory:.0f} GiB; "
        f"{platform.system()} {platform.release()} ({_os_name()})",
        f"- Python {platform.python_version()}; "
        + ", ".join(f"{k} {v}" for k, v in versions.items()),
        f"- Virtuoso Open Source {virtuoso_version} (Debian package); "
        f"{(wrk.stdout + wrk.stderr).split(' [')[0].strip()}",
        f"- load average {os.getloadavg()[0]:.2f} at the end of the run; the client (one "
        "thread, or wrk) and every server share the same cores",
    ])


def _os_name() -> str:
    for line in Path("/etc/os-release").read_text().splitlines():
        if line.startswith("PRETTY_NAME="):
            return line.split("=", 1)[1].strip('"')
    return "?"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def seconds_to_first_answer(command: list[str], port: int, limit: float = 120) -> float:
    """Start ``command`` (a server on ``port``); seconds until it answers a query."""
    url = f"http://127.0.0.1:{port}/sparql?" + urllib.parse.urlencode({"query": SMALL_SELECT})
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while time.perf_counter() - start < limit:
            try:
                with urllib.request.urlopen(url, timeout=5) as response:
                    if response.status == 200:
                        return time.perf_counter() - start
            except (urllib.error.URLError, OSError):
                time.sleep(0.01)
        raise RuntimeError(f"{command} did not answer within {limit} s")
    finally:
        process.terminate()
        process.wait(timeout=60)


def serve_readiness(largest: int, trials: int) -> list[dict]:
    """``poli-kg serve`` on the cached real build, and the server alone on the largest."""
    python = sys.executable
    with tempfile.TemporaryDirectory(prefix="poli-kg-bench-") as tmp:
        out = Path(tmp) / "public"
        subprocess.run([python, "-m", "poli_kg.cli", "build", "--out", str(out)], check=True,
                       stdout=subprocess.DEVNULL)
        rows = []
        for label, command in (
            ("`poli-kg serve` (checks the build is current, then serves), real graph",
             [python, "-m", "poli_kg.cli", "serve", "--out", str(out)]),
            (f"`python -m poli_kg.web.server`, {largest:,} generated triples",
             [python, "-m", "poli_kg.web.server", "--build-dir",
              str(OUT / f"build-{largest}" / "public")]),
        ):
            times = []
            for _ in range(trials):
                port = free_port()
                times.append(seconds_to_first_answer([*command, "--port", str(port)], port))
            rows.append({"what": label, "median": statistics.median(times), "max": max(times)})
    return rows


def run_script(script: str, arguments: list[str], json_path: Path,
               check: bool = True) -> tuple[str, object]:
    """Run ``bench/SCRIPT`` (its progress on stderr shows); its table and raw figures.
    ``check=False``: a script whose exit status says a target was missed (its table says
    which) is not an error."""
    done = subprocess.run([sys.executable, str(HERE / script), *arguments, "--json",
                           str(json_path)], check=check, stdout=subprocess.PIPE, text=True)
    if not json_path.is_file():
        raise RuntimeError(f"bench/{script} failed (exit status {done.returncode})")
    return done.stdout.strip(), json.loads(json_path.read_text())


def margin(value: float, limit: float, higher_is_better: bool) -> str:
    """How far ``value`` is from ``limit``, in percent of the limit."""
    percent = (value / limit - 1) * 100
    better = percent >= 0 if higher_is_better else percent <= 0
    return f"{abs(percent):.0f} % {'better than' if better else 'short of'} the target"


def competency_questions() -> set[str]:
    """The names of the competency questions (``queries/``; the query page's examples)."""
    return {path.stem for path in (ROOT / "queries").glob("*.rq")}


def embedded_targets(add: Callable[[str, str, bool, str], None], largest: dict, store: str,
                     label: str) -> None:
    """The targets of the embedded store ``store`` at the largest size: the mix's p95 against
    Virtuoso's, and every competency question's time against its row count."""
    mix, triples = largest["mix"], f"{largest['triples']:,} triples"
    if "Virtuoso" in mix:
        ratio = mix[store]["p95"] / mix["Virtuoso"]["p95"]
        add(f"mix p95 ≤ 3× Virtuoso, embedded store {label} ({triples}, no result cache)",
            f"{ratio:.2f}× ({mix[store]['p95'] * 1000:,.0f} vs "
            f"{mix['Virtuoso']['p95'] * 1000:,.0f} ms)",
            ratio <= 3, margin(ratio, 3, higher_is_better=False))
    slow = []
    names = competency_questions() & set(largest["queries"])
    for name in sorted(names):
        q = largest["queries"][name][store]
        limit = 0.1 + 20e-6 * max(q["rows"], 0)
        if q["timeouts"] or q["median"] > limit:
            slow.append(f"{name} {q['median'] * 1000:,.0f} ms > {limit * 1000:,.0f} ms")
    add("every competency question (the query page's examples) < 100 ms + 20 µs a row, "
        f"embedded store {label} ({triples}, no result cache)",
        f"{len(names) - len(slow)} of {len(names)}" + (": " + "; ".join(slow) if slow else ""),
        not slow, f"{len(slow)} too slow")


def targets(builds: list[dict], queries: dict, serve: list[dict], extra: dict) -> str:
    """The issues' targets, measured as ratios in this run (latency: poli-kg evaluating
    every query, without its result cache)."""
    largest = queries["sizes"][-1]
    mix, tput = largest["mix"], largest["throughput"]
    ours = mix[NO_CACHE]["p50"]
    rows: list[str] = []

    def add(target: str, measured: str, met: bool, how_far: str) -> None:
        rows.append(f"| {target} | {measured} | {'met' if met else 'MISSED'} | {how_far} |")

    if "Virtuoso" in mix:
        ratio = ours / mix["Virtuoso"]["p50"]
        add(f"mix p50 ≤ 2× Virtuoso ({largest['triples']:,} triples, no result cache)",
            f"{ratio:.2f}× ({ours * 1000:.1f} vs {mix['Virtuoso']['p50'] * 1000:.1f} ms)",
            ratio <= 2, margin(ratio, 2, higher_is_better=False))
    if "rdflib Memory" in mix:
        rdflib = mix["rdflib Memory"]
        ratio = rdflib["p50"] / ours
        bound = "≥ " if rdflib["timeouts"] else ""
        add("mix p50 ≥ 20× faster than rdflib Memory (no result cache)",
            f"{bound}{ratio:,.0f}× ({ours * 1000:.1f} vs {bound}{rdflib['p50'] * 1000:,.0f} ms)",
            ratio >= 20, margin(ratio, 20, higher_is_better=True))
    if "bare pyoxigraph" in tput:
        bare = tput["bare pyoxigraph"]["small SELECT"]["rps"]
        for name in ("poli-kg", NO_CACHE):
            if name in tput:
                rps = tput[name]["small SELECT"]["rps"]
                add(f"small-SELECT throughput ≥ 0.5× bare pyoxigraph ({name})",
                    f"{rps / bare:.2f}× ({rps:,.0f} vs {bare:,.0f} req/s)", rps / bare >= 0.5,
                    margin(rps / bare, 0.5, higher_is_better=True))
    for store, label in ((NO_CACHE, "on disk"), (IN_MEMORY, "in memory")):
        if store in mix:
            embedded_targets(add, largest, store, label)
    backend = extra["backend"]["mix"]
    for ours in (virtuoso_backend.ON_VIRTUOSO, virtuoso_backend.ON_GRANIAN):
        for key in ("p50", "p95"):
            ratio = backend[ours][key] / backend["Virtuoso"][key]
            add(f"mix {key} through {ours} ≤ {virtuoso_backend.TARGET:g}× "
                f"Virtuoso ({extra['backend']['triples']:,} triples)",
                f"{ratio:.2f}× ({backend[ours][key] * 1000:,.1f} vs "
                f"{backend['Virtuoso'][key] * 1000:,.1f} ms)", ratio <= virtuoso_backend.TARGET,
                margin(ratio, virtuoso_backend.TARGET, higher_is_better=False))
    servers = {**extra["nginx"]["mix"]["servers"], **extra["nginx"]["small"]["servers"]}
    for label, ours_name, reference, target in nginx.TARGETS:
        ratio = servers[ours_name]["rps"] / servers[reference]["rps"]
        add(f"{label}: {ours_name} ≥ {target:g}× {reference} "
            f"({extra['nginx']['triples']:,} triples)",
            f"{ratio:.2f}× ({servers[ours_name]['rps']:,.0f} vs "
            f"{servers[reference]['rps']:,.0f} req/s)", ratio >= target,
            margin(ratio, target, higher_is_better=True))
    scores = [(page, category, score) for page, result in extra["lighthouse"].items()
              for category, score in result["scores"].items()]
    low = [f"{page} {category} {score:.0f}" for page, category, score in scores
           if score < lighthouse.TARGET]
    add(f"Lighthouse (mobile) ≥ {lighthouse.TARGET} in every category on "
        f"{', '.join(extra['lighthouse'])}",
        f"lowest {min(s for _, _, s in scores):.0f}" + (": " + "; ".join(low) if low else ""),
        not low, f"{len(low)} below")
    build = builds[-1]
    add(f"full build of {build['size']:,} generated triples < 60 s", f"{build['total']:.1f} s",
        build["total"] < 60, margin(build["total"], 60, higher_is_better=False))
    ready = serve[0]["median"]
    add("`serve` ready < 1 s when the build is cached", f"{ready:.2f} s (max {serve[0]['max']:.2f})",
        ready < 1, margin(ready, 1, higher_is_better=False))
    return "\n".join(["| target | measured | verdict | how far |", "|---|---|---|---|", *rows])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--quick", action="store_true",
                        help="10k triples, fewer and shorter runs: a check, not the record")
    parser.add_argument("--out", type=Path, default=HERE / "RESULTS.md")
    args = parser.parse_args(argv)
    sizes = "10000" if args.quick else args.sizes
    query_options = (["--reps", "2", "--duration", "3", "--rounds", "1", "--budget", "2",
                      "--timeout", "10"]
                     if args.quick else [])
    OUT.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()

    build_table, builds = run_script("build.py", ["--sizes", sizes], OUT / "build.json")
    query_tables, queries = run_script("query.py", ["--sizes", sizes, *query_options],
                                       OUT / "query.json")
    largest = sizes.split(",")[-1]
    serve = serve_readiness(int(largest), trials=3 if args.quick else 5)
    serve_table = "\n".join(["| what | median s | max s |", "|---|---:|---:|"] + [
        f"| {r['what']} | {r['median']:.2f} | {r['max']:.2f} |" for r in serve])
    options = QUICK if args.quick else RECORD
    plans_text, _ = run_script("plans.py", ["--size", largest, *options["plans"]],
                               OUT / "plans.json")
    rollups_text, _ = run_script("rollups.py", ["--size", largest, *options["rollups"]],
                                 OUT / "rollups.json")
    backend_text, backend = run_script("virtuoso_backend.py",
                                       ["bench", "--size", largest, *options["backend"]],
                                       OUT / "backend.json")
    nginx_text, nginx_report = run_script("nginx.py", options["nginx"], OUT / "nginx.json")
    instructions_text = (run_script("instructions.py", [], OUT / "instructions.json")[0]
                         if shutil.which("valgrind") else
                         "Not counted: valgrind is not installed (Debian: `valgrind`).")
    search_text, _ = run_script("search.py", ["--sizes", f"0,{largest}", *options["search"]],
                                OUT / "search.json")
    lighthouse_text, pages = run_script("lighthouse.py", options["lighthouse"],
                                        OUT / "lighthouse.json", check=False)
    extra = {"backend": backend, "nginx": nginx_report, "lighthouse": pages}

    report = f"""# poli-kg benchmarks

Written by `python bench/run.py` (`make bench`) on {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC \
in {(time.perf_counter() - started) / 60:.0f} minutes{' (--quick: a check, not the record)' if args.quick else ''}. \
Every ratio below was measured side by side in this one run, on this machine:

{machine()}

## Targets

{targets(builds, queries, serve, extra)}

## Build: stages and peak memory

`bench/build.py`: the project's graph plus generated data (`bench/generate.py`), built from \
scratch in a fresh process (no reuse of an earlier reasoning).

{build_table.split(chr(10), 2)[-1].strip()}

## Queries: latency and throughput

`bench/query.py`: the 17 competency questions of `queries/` and the five analytic queries of \
`bench/queries/` on five servers over the same quads.  See the script's docstring for the method.

{query_tables}

## `serve` readiness

Seconds from starting the command to the first answer of a query (`bench/run.py`).

{serve_table}

## Query plans

`bench/plans.py` at the largest size: every query of the mix on the engine poli-kg embeds (the \
bare pyoxigraph server) and on Virtuoso, each rewritten query in its first form too, and the \
plans of the slowest.

{plans_text}

## Aggregates computed at build time

`bench/rollups.py` at the largest size: the slowest aggregate over the statistics answered by the query and from roll-ups a build stage would write (`docs/queries.md`, "Aggregates computed at build time").

{rollups_text}

## The larger engine: poli-kg on Virtuoso

`bench/virtuoso_backend.py bench` at the largest size: the mix through poli-kg's endpoint on \
`--store sparql:URL` beside Virtuoso's own endpoint.

{backend_text}

## Production deployment: nginx's cache, and where an uncached request's time goes

`bench/nginx.py`: the deployment of `deploy/` (nginx in front of two poli-kg backends) \
against Virtuoso on repeated queries, and the small SELECT without any cache on poli-kg, the \
bare pyoxigraph server and the framework's floor (`bench/flask_floor.py`).

{nginx_text}

`bench/instructions.py`: what one such request executes, counted by valgrind (exact, where \
throughput moves by a tenth from run to run), poli-kg beside the floor.

{instructions_text}

## Search

`bench/search.py`: the search index on the real graph and at the largest size.

{search_text}

## Pages for people: Lighthouse

`bench/lighthouse.py`: Lighthouse's mobile profile (median of the runs) on the real server.

{lighthouse_text}
"""
    args.out.write_text(report, encoding="utf-8")
    print(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
