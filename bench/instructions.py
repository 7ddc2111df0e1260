"""Instructions a small SELECT costs, counted by valgrind: poli-kg beside the framework's floor.

    python bench/instructions.py [--size 10000] [--requests 100,600] [--json PATH]

Throughput on two shared cores moves by a tenth from one run to the next; the number of
instructions a request executes does not (valgrind's cachegrind counts them exactly, to a few
parts in ten thousand).  So this is how a change to the request path is weighed before
``bench/nginx.py`` measures it under load.

Each application answers the small SELECT of ``bench/nginx.py`` (a form POST, SPARQL JSON)
through its WSGI callable, in one process under ``valgrind --tool=cachegrind``, with the
access log written (to /dev/null) as ``poli-kg serve`` writes it:

* **poli-kg** — :func:`poli_kg.web.create_app` over the build, no result cache, with the
  ``Server`` header granian's workers add;
* **floor** — ``bench/flask_floor.py``'s one-view Flask application, the query in a child
  process through poli-kg's executor.

It runs twice, with the two numbers of ``--requests``; the difference, divided by the
difference of requests, is what one request costs, start-up and warm-up cancelled out.  The
query process (the child the web process forks) is counted apart.  Needs valgrind (Debian's
``valgrind``).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import urllib.parse
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from werkzeug.test import EnvironBuilder  # noqa: E402

from query import FORM, RESULTS, SMALL_SELECT, ensure_build  # noqa: E402

APPS = ("poli-kg", "floor")
WARM_UP = 50
"""Requests answered before counting begins in both runs (the caches of the first ones)."""


def wsgi_app(name: str, build: Path):
    """The WSGI callable of application ``name`` over ``build``."""
    if name == "floor":
        from flask_floor import floor_app
        return floor_app(str(build / "store"), True).wsgi_app
    import poli_kg.web.server as server
    from poli_kg.web import create_app
    server.configure_logging()
    app = create_app({"BUILD_DIR": str(build), "STORE": "oxigraph", "QUERY_CACHE_MB": 0})
    app.after_request(server.name_the_server)
    return app.wsgi_app


def drive(name: str, build: Path, requests: int) -> None:
    """Answer ``WARM_UP + requests`` small SELECTs with application ``name`` (in valgrind)."""
    sys.stderr = open(os.devnull, "w")  # the access log: written, as when served, then lost
    app = wsgi_app(name, build)
    body = urllib.parse.urlencode({"query": SMALL_SELECT}).encode()
    environ = EnvironBuilder("/sparql", "http://127.0.0.1:8000", method="POST", data=body,
                             content_type=FORM, headers={"Accept": RESULTS},
                             environ_overrides={"REMOTE_ADDR": "127.0.0.1"}).get_environ()

    def start_response(status: str, headers: list, exc_info: object = None) -> None:
        if not status.startswith("200"):
            raise RuntimeError(f"{name} answered {status}")

    for _ in range(WARM_UP + requests):
        answer = app({**environ, "wsgi.input": io.BytesIO(body)}, start_response)
        b"".join(answer)
        getattr(answer, "close", lambda: None)()


def count(name: str, build: Path, requests: int, logs: Path) -> tuple[int, int]:
    """Instructions of the web process and of its query process, for ``requests`` requests."""
    for old in logs.glob("vg.*"):
        old.unlink()
    subprocess.run(["valgrind", "--tool=cachegrind", "--cache-sim=no",
                    "--cachegrind-out-file=/dev/null", f"--log-file={logs}/vg.%p",
                    sys.executable, __file__, "--drive", name, "--build", str(build),
                    "--requests", str(requests)], check=True, stdout=subprocess.DEVNULL)
    processes = {}
    for log in logs.glob("vg.*"):
        text = log.read_text()
        pid = int(re.search(r"==(\d+)== Command", text).group(1))
        parent = int(re.search(r"Parent PID: (\d+)", text).group(1))
        found = re.search(r"I\s+refs:\s+([\d,]+)", text)
        processes[pid] = (parent, int(found.group(1).replace(",", "")) if found else 0)
    web = min(processes)  # the first process started; the query process is its child
    children = [total for parent, total in processes.values() if parent == web]
    return processes[web][1], max(children, default=0)


def measure(build: Path, low: int, high: int) -> dict[str, dict[str, int]]:
    """Instructions per request of each application, web and query process."""
    report = {}
    with tempfile.TemporaryDirectory() as folder:
        for name in APPS:
            print(f"  {name}: {low} and {high} requests under valgrind ...", file=sys.stderr,
                  flush=True)
            a, b = count(name, build, low, Path(folder)), count(name, build, high, Path(folder))
            report[name] = {"web": (b[0] - a[0]) // (high - low),
                            "query": (b[1] - a[1]) // (high - low)}
    return report


def table(report: dict[str, dict[str, int]]) -> str:
    floor = report["floor"]
    rows = ["| application | web process | query process | total | × the floor's total |",
            "|---|---:|---:|---:|---:|"]
    for name, figures in report.items():
        total = figures["web"] + figures["query"]
        rows.append(f"| {name} | {figures['web']:,} | {figures['query']:,} | {total:,} | "
                    f"{total / (floor['web'] + floor['query']):.2f}× |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=10000, help="generated triples")
    parser.add_argument("--requests", default="100,600", help="the two runs' request counts")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--drive", choices=APPS, help=argparse.SUPPRESS)
    parser.add_argument("--build", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.drive:
        drive(args.drive, args.build, int(args.requests))
        return 0
    low, high = (int(n) for n in args.requests.split(","))
    if shutil.which("valgrind") is None:
        print("bench/instructions.py needs valgrind (Debian: apt install valgrind)",
              file=sys.stderr)
        return 2
    build = ensure_build(args.size, 0)
    report = measure(build, low, high)
    text = (f"Instructions per small SELECT (form POST, SPARQL JSON), {args.size:,} triples; "
            f"runs of {low} and {high} requests.\n\n{table(report)}")
    print(text)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
