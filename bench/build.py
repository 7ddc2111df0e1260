"""Benchmark: full builds of the project plus generated data, 10k / 100k / 1M triples.

    python bench/build.py [--sizes 10000,100000,1000000] [--compare-max 20000] [--seed 0]

For every size, ``bench/generate.py`` writes ``bench/out/gen-{size}.nt`` (reused when present)
and a fresh Python process runs ``poli_kg.graph.pipeline.build`` on the project with that file as extra
data, into ``bench/out/build-{size}/public`` (never reusing a previous build's reasoning).
It prints a Markdown table of the stage times (seconds), the counts and the process's peak
resident memory.  For sizes up to ``--compare-max`` asserted + generated triples it also
times the reference engines on the same graph, side by side: owlrl against the compiled
rules, pyshacl against the shapes compiled to SPARQL — and checks that they agree.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT = HERE / "out"


def one(size: int, data: Path, out: Path, compare: bool) -> dict:
    """Build once (in this process) and measure; with ``compare``, time the reference engines."""
    sys.path.insert(0, str(ROOT / "src"))
    from poli_kg.graph import pipeline as building

    start = time.perf_counter()
    result = building.build(out, sources=building.Sources(ROOT, extra_data=[data]), reuse=False)
    total = time.perf_counter() - start
    row = {
        "size": size, "counts": result.counts, "timings": result.timings, "total": total,
        "reasoner": result.reasoner, "validator": result.validator,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "warnings": len(result.report.warnings), "violations": len(result.report.violations),
    }
    if compare:
        row["compare"] = compare_engines(building, data)
    return row


def compare_engines(building, data: Path) -> dict:
    """owlrl vs rules and pyshacl vs SPARQL on the same graph (results must agree)."""
    from poli_kg.graph import rdfterms
    from poli_kg.graph import reasoning
    from poli_kg.graph import shaclsparql
    from poli_kg.graph import validation

    inputs = building.load(building.Sources(ROOT, extra_data=[data]))
    asserted = inputs.asserted()
    start = time.perf_counter()
    reference = reasoning.reason(asserted, "owlrl")
    owlrl_s = time.perf_counter() - start
    start = time.perf_counter()
    closure = reasoning.close(inputs.asserted_triples(), "rules")
    rules_s = time.perf_counter() - start
    same_inference = {(rdfterms.to_ox(s), rdfterms.to_ox(p), rdfterms.to_ox(o))
                      for s, p, o in reference.inferred} == {
        (t.subject, t.predicate, t.object) for t in closure.inferred}

    union = inputs.asserted()
    union += reference.inferred
    shapes = inputs.graphs["shapes"]
    start = time.perf_counter()
    by_pyshacl = validation.validate(union, shapes)
    pyshacl_s = time.perf_counter() - start
    start = time.perf_counter()
    by_sparql = shaclsparql.validate(closure.store, shapes)
    sparql_s = time.perf_counter() - start
    key = lambda r: sorted(json.dumps(x.as_dict(), sort_keys=True) for x in r.results)  # noqa: E731
    return {"owlrl": owlrl_s, "rules": rules_s, "same_inference": same_inference,
            "pyshacl": pyshacl_s, "sparql": sparql_s,
            "same_report": key(by_pyshacl) == key(by_sparql)}


def generate(size: int, seed: int) -> Path:
    path = OUT / f"gen-{size}{'' if seed == 0 else f'-s{seed}'}.nt"
    if not path.exists():
        subprocess.run([sys.executable, str(HERE / "generate.py"), "--triples", str(size),
                        "--out", str(path), "--seed", str(seed)], check=True)
    return path


def table(rows: list[dict]) -> str:
    lines = [
        "| generated | asserted | inferred | parse s | reason s | validate s | write s "
        "| total s | peak RSS MB | reasoner | validator |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for r in rows:
        t, c = r["timings"], r["counts"]
        lines.append(
            f"| {r['size']:,} | {c['asserted']:,} | {c['inferred']:,} | {t['parse']:.2f} "
            f"| {t['reason']:.2f} | {t['validate']:.2f} | {t['write']:.2f} | {r['total']:.2f} "
            f"| {r['peak_rss_mb']:,.0f} | {r['reasoner']} | {r['validator']} |")
    compared = [r for r in rows if "compare" in r]
    if compared:
        lines += ["", "| generated | owlrl s | rules s | speed-up | same inferred graph "
                      "| pyshacl s | SPARQL s | speed-up | same report |",
                  "|---:|---:|---:|---:|---|---:|---:|---:|---|"]
        for r in compared:
            x = r["compare"]
            lines.append(
                f"| {r['size']:,} | {x['owlrl']:.2f} | {x['rules']:.2f} "
                f"| {x['owlrl'] / max(x['rules'], 1e-9):.0f}× | {x['same_inference']} "
                f"| {x['pyshacl']:.2f} | {x['sparql']:.2f} "
                f"| {x['pyshacl'] / max(x['sparql'], 1e-9):.0f}× | {x['same_report']} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000,1000000",
                        help="generated triples per run, comma-separated")
    parser.add_argument("--compare-max", type=int, default=20000,
                        help="also time owlrl and pyshacl up to this many generated triples")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="also write the raw figures here")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--compare", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)

    if args.one is not None:   # the child process
        data = generate(args.one, args.seed)
        row = one(args.one, data, OUT / f"build-{args.one}" / "public", args.compare)
        print(json.dumps(row))
        return 0

    rows = []
    for size in (int(s) for s in args.sizes.split(",")):
        generate(size, args.seed)
        command = [sys.executable, __file__, "--one", str(size), "--seed", str(args.seed)]
        if size <= args.compare_max:
            command.append("--compare")
        done = subprocess.run(command, check=True, capture_output=True, text=True)
        row = json.loads(done.stdout.strip().splitlines()[-1])
        rows.append(row)
        print(f"{size:>9,} generated triples: build {row['total']:.1f} s", file=sys.stderr)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1), encoding="utf-8")
    load = os.getloadavg()
    print(f"Machine: {os.cpu_count()} cores, load average {load[0]:.2f} at the end; "
          f"Python {sys.version.split()[0]}.\n")
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
