"""Benchmark: Lighthouse scores of the site's pages for people, mobile profile.

    python bench/lighthouse.py [--url http://127.0.0.1:8000] [--runs 1] [--json FILE]

Lighthouse 12 (npm ``lighthouse``, installed in ``tools/a11y``: ``cd tools/a11y && npm ci``)
drives Debian's chromium (``CHROME_PATH``, default ``/usr/bin/chromium``, headless, no
sandbox) with its default mobile profile: a Moto G-class screen, 4x CPU slowdown and a
throttled 4G network, simulated.  Pages: the home page, a cluster's page, the query page (at
``/query``: the page ``/sparql`` shows a browser) and the search page when the application
routes one.  The query page is measured as it opens: its editor (YASGUI) is loaded at the
page's first use, which Lighthouse does not make.

Without ``--url`` the project's graph is built into ``bench/out/lighthouse/public`` (reused
when present) and served by ``python -m poli_kg.web.server`` on a free port of 127.0.0.1 for
the run — the real server, with its compression, caching and security headers.  With
``--runs N`` each page is measured N times and the median score kept.

For each page, a table: the four categories against the target (:data:`TARGET`), the main
performance metrics, and the audits that did not pass (what to fix).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.error import URLError
from urllib.request import urlopen

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT = HERE / "out"
LIGHTHOUSE = ROOT / "tools" / "a11y" / "node_modules" / "lighthouse" / "cli" / "index.js"
CATEGORIES = ("performance", "accessibility", "best-practices", "seo")
TARGET = 95
METRICS = ("first-contentful-paint", "largest-contentful-paint", "total-blocking-time",
           "cumulative-layout-shift", "speed-index")
PAGES = {"home": "/", "cluster": "/id/polo/mesap", "query page": "/query",
         "search": "/search?q=mesap"}
BANNER = re.compile(r"poli-kg serving (http://127\.0\.0\.1:\d+)/")


def build_dir() -> Path:
    """The project's graph built for the run (reused when present)."""
    folder = OUT / "lighthouse" / "public"
    if not (folder / "build.json").is_file():
        sys.path.insert(0, str(ROOT / "src"))
        from poli_kg.graph.pipeline import build

        build(folder)
    return folder


class Server:
    """The real server over ``build`` on a free port, until :meth:`stop`."""

    def __init__(self, build: Path) -> None:
        self.log = OUT / "lighthouse" / "server.log"
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "poli_kg.web.server", "--build-dir", str(build),
                 "--host", "127.0.0.1", "--port", "0"],
                stdout=log, stderr=subprocess.STDOUT, cwd=ROOT,
                env={**os.environ, "PYTHONUNBUFFERED": "1",
                     "PYTHONPATH": str(ROOT / "src")})
        self.url = self._wait()

    def _wait(self, timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            match = BANNER.search(self.log.read_text(errors="replace"))
            if self.process.poll() is not None:
                raise RuntimeError(self.log.read_text(errors="replace")[-2000:])
            if match and answers(match.group(1) + "/healthz"):
                return match.group(1)
            time.sleep(0.2)
        self.stop()
        raise RuntimeError("the server did not start: see " + str(self.log))

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()


def answers(url: str) -> bool:
    """Whether ``url`` answers 200."""
    try:
        with urlopen(url, timeout=10) as response:
            return response.status == 200
    except (URLError, OSError):
        return False


def lighthouse(url: str) -> dict:
    """One Lighthouse run on ``url`` (mobile profile): its JSON report."""
    chrome = os.environ.get("CHROME_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
    command = ["node", str(LIGHTHOUSE), url, "--quiet", "--output=json", "--output-path=stdout",
               "--only-categories=" + ",".join(CATEGORIES),
               "--chrome-flags=--headless --no-sandbox --disable-gpu"]
    done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=300,
                          env={**os.environ, "CHROME_PATH": chrome})
    if done.returncode != 0:
        raise RuntimeError(f"lighthouse failed on {url}: {done.stderr[-2000:]}")
    return json.loads(done.stdout)


def summary(reports: list[dict]) -> dict:
    """Median category scores and metrics over ``reports``, and the audits that failed."""
    def median(values: list[float]) -> float:
        return statistics.median(values) if values else float("nan")

    scores = {c: round(100 * median([r["categories"][c]["score"] or 0 for r in reports]))
              for c in CATEGORIES}
    metrics = {m: median([r["audits"][m]["numericValue"] for r in reports]) for m in METRICS}
    last = reports[-1]
    failed = []
    for category in CATEGORIES:
        for ref in last["categories"][category]["auditRefs"]:
            audit = last["audits"][ref["id"]]
            if ref.get("weight", 0) > 0 and audit.get("score") is not None and audit["score"] < 1:
                failed.append((category, audit["id"], audit["title"], audit["score"]))
    return {"scores": scores, "metrics": metrics, "failed": failed}


def table(name: str, path: str, result: dict) -> str:
    """The Markdown table of one page."""
    lines = [f"### {name} (`{path}`)", "", "| category | score | target |", "|---|---:|---|"]
    for category, score in result["scores"].items():
        lines.append(f"| {category} | {score} | ≥ {TARGET} {'✓' if score >= TARGET else '✗'} |")
    metrics = result["metrics"]
    lines += ["", "| metric | value |", "|---|---:|"]
    for metric, value in metrics.items():
        shown = f"{value:.3f}" if metric == "cumulative-layout-shift" else f"{value / 1000:.2f} s"
        lines.append(f"| {metric} | {shown} |")
    if result["failed"]:
        lines += ["", "Audits not passed: " + "; ".join(
            f"{category}/{audit} ({score:.2f})" for category, audit, _title, score in result["failed"])]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="an already running server (default: start one)")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--json", type=Path, help="write the results as JSON here")
    args = parser.parse_args()
    if not LIGHTHOUSE.is_file():
        print("lighthouse is not installed: cd tools/a11y && npm ci", file=sys.stderr)
        return 2
    server = None if args.url else Server(build_dir())
    base = (args.url or server.url).rstrip("/")
    results = {}
    try:
        for name, path in PAGES.items():
            if not answers(base + path):
                print(f"{name}: {path} is not served, skipped\n")
                continue
            results[name] = summary([lighthouse(base + path) for _ in range(args.runs)])
            print(table(name, path, results[name]))
    finally:
        if server is not None:
            server.stop()
    if args.json:
        args.json.write_text(json.dumps(results, indent=2), encoding="utf-8")
    below = [(name, c) for name, r in results.items() for c, s in r["scores"].items() if s < TARGET]
    return 1 if below else 0


if __name__ == "__main__":
    sys.exit(main())
