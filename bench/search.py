"""Benchmark: the full-text search index, tantivy (what the build writes) beside SQLite FTS5.

    python bench/search.py [--sizes 0,1000000] [--queries 1000] [--seed 0] [--json FILE]

Size 0 is the project's own graph; any other size is the project plus that many generated
triples (``bench/generate.py``), built once by ``bench/build.py`` into
``bench/out/build-{size}/public`` (reused when present).  For every size both engines index
the same documents (:func:`poli_kg.graph.index.documents` of the build's asserted and
inferred triples) with the same matching rules and scores (:mod:`poli_kg.store.search`):

* **tantivy** — :func:`poli_kg.graph.index.write_index` (timed whole: reading the
  triples into documents included) and :class:`poli_kg.store.search.SearchIndex`: terms,
  prefixes (regex automaton) and typos (Levenshtein automata) on tantivy's term dictionary;
* **FTS5** — the same documents in an SQLite FTS5 table with prefix indexes; FTS5 has no
  typo matching, so the index also holds every term's deletions up to two letters
  (SymSpell), looked up and checked with an edit distance in Python; the scores are summed
  by SQL over one ``MATCH`` per way a word may match (without tantivy's BM25 tie-break, so
  the two may order names matched alike differently).

Queries: ``--queries`` names of indexed resources, deterministic, each made into one of five
variants: the whole name; its folded form (no case, no accents); two of its words; a word's
first letters (type-ahead); a word of 5+ letters with one typo.  Each query asks for the
first 10 hits and their count, in one process, one after the other (no cache).  The table
gives the build time (wall clock, and the CPU time of the process: on a busy machine the
wall clock says more about the neighbours), the index's size on disk, p50 / p95 / max
latency and how often the two engines agree on the first hit.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT = HERE / "out"
sys.path.insert(0, str(ROOT / "src"))

import pyoxigraph as ox  # noqa: E402

from poli_kg import textindex as ti  # noqa: E402
from poli_kg.graph import index as builder  # noqa: E402
from poli_kg.namespaces import GRAPH_INFERRED  # noqa: E402
from poli_kg.store import search  # noqa: E402

TARGET_P95_MS = 20.0
TARGET_BUILD_S = 30.0


# --------------------------------------------------------------------------- the graphs

def build_folder(size: int) -> Path:
    """A build of the project plus ``size`` generated triples (0: the project alone)."""
    folder = OUT / f"build-{size}" / "public"
    if (folder / "poli-kg.nq").is_file():
        return folder
    if size == 0:
        from poli_kg.graph.pipeline import build
        build(folder)
    else:
        subprocess.run([sys.executable, str(HERE / "build.py"), "--sizes", str(size),
                        "--compare-max", "0"], check=True, stdout=subprocess.DEVNULL)
    return folder


def triples(folder: Path) -> tuple[list, list]:
    """The build's asserted and inferred quads (from its N-Quads download)."""
    inferred_graph = ox.NamedNode(str(GRAPH_INFERRED))
    asserted, inferred = [], []
    for quad in ox.parse(path=str(folder / "poli-kg.nq"), format=ox.RdfFormat.N_QUADS):
        (inferred if quad.graph_name == inferred_graph else asserted).append(quad)
    return asserted, inferred


def size_mb(path: Path) -> float:
    files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
    return sum(p.stat().st_size for p in files) / 2**20


# --------------------------------------------------------------------------- the queries

def typo(word: str, rng: random.Random) -> str:
    """``word`` with one edit: a letter replaced, dropped, doubled or two swapped."""
    i = rng.randrange(1, len(word) - 1)
    how = rng.choice(("replace", "drop", "double", "swap"))
    if how == "replace":
        return word[:i] + rng.choice("aeiourst".replace(word[i], "")) + word[i + 1:]
    if how == "drop":
        return word[:i] + word[i + 1:]
    if how == "double":
        return word[:i] + word[i] + word[i:]
    return word[:i - 1] + word[i] + word[i - 1] + word[i + 1:]


def queries(docs: list[builder.Document], count: int, seed: int) -> list[str]:
    """``count`` query variants of names of the documents (deterministic)."""
    rng = random.Random(seed)
    made = []
    while len(made) < count:
        name = rng.choice(rng.choice(docs).data["names"])
        words = name.split()
        long_words = [w for w in words if len(w) >= 5 and w.isalpha()]
        variant = rng.randrange(5)
        if variant == 1:
            made.append(ti.fold(name))
        elif variant == 2 and len(words) >= 2:
            made.append(" ".join(rng.sample(words, 2)))
        elif variant == 3 and long_words:
            made.append(rng.choice(long_words)[:rng.randrange(3, 6)])
        elif variant == 4 and long_words:
            made.append(name.replace(w := rng.choice(long_words), typo(w, rng), 1))
        else:
            made.append(name[:search.MAX_QUERY_CHARS])
    return made


# --------------------------------------------------------------------------- FTS5

def deletions(word: str, depth: int) -> set[str]:
    """``word`` with up to ``depth`` letters deleted (itself included)."""
    found, frontier = {word}, {word}
    for _ in range(depth):
        frontier = {w[:i] + w[i + 1:] for w in frontier for i in range(len(w)) if len(w) > 1}
        found |= frontier
    return found


class Fts5:
    """The documents in SQLite FTS5, searched with the scores of :mod:`poli_kg.store.search`."""

    def __init__(self, path: Path, docs: list[builder.Document]) -> None:
        db = sqlite3.connect(path)
        db.executescript("""
            CREATE VIRTUAL TABLE docs USING fts5(terms, text, detail=column,
                tokenize="unicode61 remove_diacritics 0", prefix='1 2 3 4');
            CREATE TABLE meta(id INTEGER PRIMARY KEY, kind INTEGER, data TEXT);
            CREATE TABLE keys(key TEXT, id INTEGER);
            CREATE TABLE types(type TEXT, id INTEGER);
            CREATE TABLE deletes(variant TEXT, term TEXT);
            CREATE TABLE bonus(code INTEGER PRIMARY KEY, value REAL);
        """)
        db.executemany("INSERT INTO bonus VALUES (?, ?)", search.BONUSES.items())
        vocabulary: set[str] = set()
        for n, doc in enumerate(docs, 1):
            db.execute("INSERT INTO docs(rowid, terms, text) VALUES (?, ?, ?)",
                       (n, " ".join(doc.terms), " ".join(doc.text)))
            db.execute("INSERT INTO meta VALUES (?, ?, ?)",
                       (n, ti.kind_code(doc.kind, doc.group), json.dumps(doc.data)))
            db.executemany("INSERT INTO keys VALUES (?, ?)", [(k, n) for k in doc.keys])
            db.executemany("INSERT INTO types VALUES (?, ?)", [(t, n) for t in doc.types])
            vocabulary.update(doc.terms)
        db.executemany("INSERT INTO deletes VALUES (?, ?)",
                       ((v, term) for term in vocabulary if len(term) >= 3
                        for v in deletions(term, 2)))
        db.executescript("""
            CREATE INDEX keys_key ON keys(key); CREATE INDEX types_type ON types(type);
            CREATE INDEX deletes_variant ON deletes(variant);
            INSERT INTO docs(docs) VALUES ('optimize');
        """)
        db.commit()
        db.close()
        self.db = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True,
                                  check_same_thread=False)

    def fuzzy(self, word: str) -> list[str]:
        distance = ti.fuzzy_distance(word)
        if not distance:
            return []
        variants = sorted(deletions(word, distance))
        rows = self.db.execute(
            f"SELECT DISTINCT term FROM deletes WHERE variant IN ({','.join('?' * len(variants))})",
            variants).fetchall()
        return sorted(t for (t,) in rows if ti.edit_distance(word, t, distance) <= distance)

    def ways(self, parts: list[str]) -> list[tuple[str, float]]:
        """(MATCH expression, score) for each way one query word may match."""
        word = ti.joined(parts)
        ways = [(f'terms : "{word}"', search.EXACT), (f'terms : "{word}" *', search.PREFIX),
                (f'text : "{word}"', search.TEXT_EXACT), (f'text : "{word}" *', search.TEXT_PREFIX)]
        near = self.fuzzy(word)
        if near:
            ways.append(("terms : (" + " OR ".join(f'"{t}"' for t in near) + ")", search.FUZZY))
        if len(parts) > 1:
            ways.append(("terms : (" + " AND ".join(f'"{p}"' for p in parts) + ")", search.EXACT))
        return ways

    def search(self, text: str, limit: int = 10) -> tuple[int, list[str]]:
        words = ti.compounds(text)[:search.MAX_WORDS]
        if not words:
            return 0, []
        ctes, args = [], []
        for i, parts in enumerate(words):
            unions = []
            for expression, score in self.ways(parts):
                unions.append(f"SELECT rowid AS id, {score} AS s FROM docs WHERE docs MATCH ?")
                args.append(expression)
            ctes.append(f"w{i} AS (SELECT id, MAX(s) AS s FROM ({' UNION ALL '.join(unions)}) "
                        "GROUP BY id)")
        keys = sorted(ti.keys(words))
        joins = " ".join(f"JOIN w{i} USING (id)" for i in range(1, len(words)))
        total = " + ".join(f"w{i}.s" for i in range(len(words)))
        sql = (f"WITH {', '.join(ctes)} SELECT meta.data, COUNT(*) OVER () FROM w0 {joins} "
               f"JOIN meta USING (id) ORDER BY {total} + CASE WHEN id IN (SELECT id FROM keys "
               f"WHERE key IN ({','.join('?' * len(keys))})) THEN {search.NAME_BONUS} ELSE 0 END "
               "+ COALESCE((SELECT value FROM bonus WHERE code = meta.kind), 0) DESC, id LIMIT ?")
        rows = self.db.execute(sql, args + keys + [limit]).fetchall()
        return (rows[0][1] if rows else 0), [json.loads(data)["iri"] for data, _n in rows]


# --------------------------------------------------------------------------- measuring

def timed(run, texts: list[str]) -> tuple[list[float], list[str | None]]:
    """Latency (ms) of each query and its first hit."""
    latencies, firsts = [], []
    for text in texts:
        started = time.perf_counter()
        hits = run(text)
        latencies.append((time.perf_counter() - started) * 1000)
        firsts.append(hits[0] if hits else None)
    return latencies, firsts


def percentile(values: list[float], p: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(p) - 1]


def one(size: int, count: int, seed: int) -> list[dict]:
    """Both engines on one graph."""
    folder = build_folder(size)
    asserted, inferred = triples(folder)
    rows = []
    with tempfile.TemporaryDirectory(prefix="poli-kg-search-") as tmp:
        started, cpu = time.perf_counter(), time.process_time()
        written = builder.write_index(Path(tmp), asserted, inferred)
        tantivy_s = (time.perf_counter() - started, time.process_time() - cpu)
        index = search.SearchIndex(Path(tmp))
        docs, _meta = builder.documents(builder.collect(asserted, inferred))
        texts = queries(docs, count, seed)
        latencies, tantivy_firsts = timed(
            lambda q: [h.iri for h in index.search(q, limit=10).hits], texts)
        rows.append(row(size, "tantivy", asserted, inferred, written["documents"], tantivy_s,
                        size_mb(Path(tmp) / ti.INDEX_DIR), latencies))
        started, cpu = time.perf_counter(), time.process_time()
        docs, _meta = builder.documents(builder.collect(asserted, inferred))
        fts = Fts5(Path(tmp) / "fts5.sqlite", docs)
        fts_s = (time.perf_counter() - started, time.process_time() - cpu)
        latencies, fts_firsts = timed(lambda q: fts.search(q)[1], texts)
        rows.append(row(size, "SQLite FTS5", asserted, inferred, len(docs), fts_s,
                        size_mb(Path(tmp) / "fts5.sqlite"), latencies))
    same = sum(a == b for a, b in zip(tantivy_firsts, fts_firsts)) / len(texts)
    for r in rows:
        r["same_first_hit"] = same
        r["found"] = sum(f is not None for f in (tantivy_firsts if r["engine"] == "tantivy"
                                                 else fts_firsts)) / len(texts)
    return rows


def row(size: int, engine: str, asserted: list, inferred: list, documents: int,
        build_s: tuple[float, float], megabytes: float, latencies: list[float]) -> dict:
    return {"size": size, "engine": engine, "triples": len(asserted) + len(inferred),
            "documents": documents, "build_s": build_s[0], "build_cpu_s": build_s[1],
            "index_mb": megabytes,
            "p50_ms": statistics.median(latencies), "p95_ms": percentile(latencies, 95),
            "max_ms": max(latencies), "queries": len(latencies)}


def table(rows: list[dict]) -> str:
    lines = ["| triples | engine | documents | index build s | build CPU s | index MB | p50 ms "
             "| p95 ms | max ms | first hit found | same first hit |",
             "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(
            f"| {r['triples']:,} | {r['engine']} | {r['documents']:,} | {r['build_s']:.2f} "
            f"| {r['build_cpu_s']:.2f} | {r['index_mb']:.1f} | {r['p50_ms']:.2f} "
            f"| {r['p95_ms']:.2f} | {r['max_ms']:.1f} | {r['found']:.0%} "
            f"| {r['same_first_hit']:.0%} |")
    largest = max(rows, key=lambda r: r["triples"])
    chosen = [r for r in rows if r["engine"] == "tantivy" and r["size"] == largest["size"]][0]
    lines += ["", f"Targets at {chosen['triples']:,} triples (tantivy, the engine the build "
              f"uses): p95 {chosen['p95_ms']:.1f} ms (target < {TARGET_P95_MS:.0f} ms: "
              f"{'met' if chosen['p95_ms'] < TARGET_P95_MS else 'MISSED'}); index build "
              f"{chosen['build_s']:.1f} s, {chosen['build_cpu_s']:.1f} s of CPU (target "
              f"< {TARGET_BUILD_S:.0f} s: {'met' if chosen['build_s'] < TARGET_BUILD_S else 'MISSED'})."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="0,1000000",
                        help="generated triples per graph, comma-separated (0: the project's own)")
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="also write the raw figures here")
    args = parser.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    rows = []
    for size in (int(s) for s in args.sizes.split(",")):
        rows += one(size, args.queries, args.seed)
        print(f"{size:>9,} generated triples: searched", file=sys.stderr)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1), encoding="utf-8")
    load = os.getloadavg()
    print(f"Machine: {os.cpu_count()} cores, load average {load[0]:.2f} at the end; "
          f"Python {sys.version.split()[0]}.\n")
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
