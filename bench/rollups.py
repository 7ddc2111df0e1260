"""Aggregates over the statistics computed at build time (roll-ups): what they would give, what
they would cost.

    python bench/rollups.py [--size 1000000] [--reps 5] [--json FILE]

Over the build of the project plus ``--size`` generated triples (``bench/out/build-SIZE``,
made by ``bench/build.py`` when missing), for the aggregate over the statistics that the
bench's mix finds slowest, ``bench/queries/a2-…`` (projects, their investment and their
grants per thematic area and call, summed from the investment and grant observations of
every project), it measures in process, with pyoxigraph:

* **computed**: the query as users send it, on the build's store (on disk) and on the same
  graph in memory;
* **roll-up**: the same answer precomputed — one observation per (area, call) in a derived
  data set, with the four figures as its measures — made by a CONSTRUCT over the store, as a
  build stage would make it (its time is the build's extra cost), added to the graph in
  memory, and read back with a plain look-up;
* **provenance**: the triples the roll-ups need so that no figure hides where it comes from:
  the data set's own (``prov:wasDerivedFrom`` the observations' data sets,
  ``prov:wasGeneratedBy`` the build's activity, which names the query), and, for a figure
  traceable to every observation it sums, one ``prov:wasDerivedFrom`` per source observation.

The look-up must give the computed answer's rows exactly (it exits 1 otherwise).  It prints a
Markdown table; ``docs/queries.md`` ("Aggregates computed at build time") says what was decided.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pyoxigraph as ox
from query import HERE, ensure_build

A2 = HERE / "queries" / "a2-progetti-per-area-e-bando.rq"
ROLLUP = "https://w3id.org/poli-kg/id/dataset/progetti-per-area-e-bando"
ACTIVITY = "https://w3id.org/poli-kg/id/attivita/roll-up-progetti-per-area-e-bando"
MEASURES = ("progetti", "investimento_totale", "contributi_totali", "quota_media")
PREFIXES = """PREFIX qb: <http://purl.org/linked-data/cube#>
PREFIX prov: <http://www.w3.org/ns/prov#>
PREFIX dct: <http://purl.org/dc/terms/>
PREFIX schema: <http://schema.org/>
PREFIX pkg: <https://w3id.org/poli-kg/ontology#>
PREFIX rollup: <https://w3id.org/poli-kg/ontology#rollup->
"""


def a2_parts() -> tuple[str, str]:
    """The prologue and the body (from ``SELECT`` on) of the aggregate."""
    text = "\n".join(line for line in A2.read_text(encoding="utf-8").splitlines()
                     if not line.startswith("#"))
    at = text.index("SELECT")
    return text[:at], text[at:]


def construct_rollups() -> str:
    """The build stage: the aggregate's rows as observations of the derived data set."""
    prologue, select = a2_parts()
    measures = " ; ".join(f"rollup:{m} ?{m}" for m in MEASURES)
    return PREFIXES + prologue + f"""
CONSTRUCT {{
  ?r a qb:Observation ; qb:dataSet <{ROLLUP}> ; dct:subject ?area ; schema:funding ?bando ;
     {measures} .
}}
WHERE {{
  {{ {select} }}
  BIND (IRI(CONCAT("{ROLLUP}/", MD5(CONCAT(STR(?area), " ", STR(?bando))))) AS ?r)
}}"""


def dataset_provenance() -> list[ox.Quad]:
    """The derived data set's own provenance: what it was computed from, and how."""
    ns = ox.NamedNode
    rollup, activity = ns(ROLLUP), ns(ACTIVITY)
    prov = "http://www.w3.org/ns/prov#"
    rdf_type = ns("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
    return [ox.Quad(rollup, rdf_type, ns("http://purl.org/linked-data/cube#DataSet")),
            ox.Quad(rollup, ns(prov + "wasGeneratedBy"), activity),
            ox.Quad(activity, rdf_type, ns(prov + "Activity")),
            ox.Quad(activity, ns("http://www.w3.org/2000/01/rdf-schema#comment"),
                    ox.Literal(A2.read_text(encoding="utf-8")))]


def observation_links(store: ox.Store) -> int:
    """How many ``prov:wasDerivedFrom`` links tie each roll-up to every observation it sums."""
    query = PREFIXES + """
PREFIX sdmx-measure: <http://purl.org/linked-data/sdmx/2009/measure#>
SELECT (COUNT(*) AS ?n) WHERE {
  ?progetto a schema:ResearchProject ; schema:funding ?bando ; dct:subject ?area .
  ?o pkg:oggettoRilevazione ?progetto ; sdmx-measure:obsValue ?v .
}"""
    return int(next(iter(store.query(query, use_default_graph_as_union=True)))["n"].value)


def lookup() -> str:
    """The look-up that answers the aggregate from the roll-ups."""
    projection = " ".join(f"?{m}" for m in MEASURES)
    patterns = " ; ".join(f"rollup:{m} ?{m}" for m in MEASURES)
    return PREFIXES + f"""SELECT ?area ?bando {projection}
WHERE {{ ?r qb:dataSet <{ROLLUP}> ; dct:subject ?area ; schema:funding ?bando ; {patterns} . }}
ORDER BY ?area ?bando"""


def rows(store: ox.Store, query: str) -> list[tuple[str, ...]]:
    return [tuple(str(term) for term in solution)
            for solution in store.query(query, use_default_graph_as_union=True)]


def timed(action: Callable[[], object], reps: int) -> tuple[float, object]:
    """The median CPU seconds of ``reps`` runs of ``action`` (after one unmeasured), and its
    last value."""
    value = action()
    times = []
    for _ in range(reps):
        start = time.process_time()
        value = action()
        times.append(time.process_time() - start)
    return statistics.median(times), value


def measure(build: Path, reps: int) -> dict:
    on_disk = ox.Store.read_only(str(build / "store"))
    in_memory = ox.Store()
    in_memory.bulk_load(path=str(build / "poli-kg.nq"), format=ox.RdfFormat.N_QUADS)
    query = A2.read_text(encoding="utf-8")
    computed_disk, answer = timed(lambda: rows(on_disk, query), reps)
    computed_memory, _ = timed(lambda: rows(in_memory, query), reps)
    stage, triples = timed(lambda: list(on_disk.query(construct_rollups(),
                                                      use_default_graph_as_union=True)), reps)
    graph = ox.NamedNode("https://w3id.org/poli-kg/graph/rollups")
    in_memory.extend([ox.Quad(t.subject, t.predicate, t.object, graph) for t in triples])
    in_memory.extend([ox.Quad(q.subject, q.predicate, q.object, graph)
                      for q in dataset_provenance()])
    looked_up, lookup_answer = timed(lambda: rows(in_memory, lookup()), reps)
    return {"triples": len(on_disk), "groups": len(answer), "computed_disk_s": computed_disk,
            "computed_memory_s": computed_memory, "stage_s": stage,
            "rollup_triples": len(triples), "dataset_provenance_triples": len(dataset_provenance()),
            "observation_links": observation_links(on_disk), "lookup_s": looked_up,
            "same_rows": lookup_answer == answer}


def table(report: dict) -> str:
    def ms(seconds: float) -> str:
        return f"{seconds * 1000:,.1f}"
    r = report
    return "\n".join([
        f"{r['triples']:,} triples; `bench/queries/a2-…` ({r['groups']} rows); median CPU of "
        f"{r['reps']} runs in process.", "",
        "| what | ms | triples |", "|---|---:|---:|",
        f"| computed by the query, on disk | {ms(r['computed_disk_s'])} | – |",
        f"| computed by the query, in memory | {ms(r['computed_memory_s'])} | – |",
        f"| build stage: the roll-ups made by a CONSTRUCT over the store | {ms(r['stage_s'])} "
        f"| {r['rollup_triples']:,} |",
        f"| the derived data set's provenance | – | {r['dataset_provenance_triples']:,} |",
        f"| a link from each roll-up to every observation it sums | – "
        f"| {r['observation_links']:,} |",
        f"| answered from the roll-ups, in memory | {ms(r['lookup_s'])} | – |",
        "", "Same rows as the query: " + ("yes" if r["same_rows"] else "NO")])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=1_000_000, help="generated triples")
    parser.add_argument("--reps", type=int, default=5, help="measured runs of each step")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="also write the raw figures here")
    args = parser.parse_args(argv)
    report = {"reps": args.reps, **measure(ensure_build(args.size, args.seed), args.reps)}
    if args.json:
        args.json.write_text(json.dumps(report, indent=1), encoding="utf-8")
    print(table(report))
    return 0 if report["same_rows"] else 1


if __name__ == "__main__":
    sys.exit(main())
