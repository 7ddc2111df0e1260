"""Three hand-written parts of poli-kg beside well-kept libraries, measured side by side.

    python bench/libraries.py [--parts lexer,shacl,ontology] [--sizes 100000,1000000]
                              [--build DIR] [--out bench/out] [--timeout 30] [--shacl-budget 600]

1. lexer: ``poli_kg.store.lexer`` beside rdflib's parser (``parseQuery`` + ``translateQuery``,
   ``parseUpdate``) and pyoxigraph (``Store().query`` on an empty store: parsed and planned;
   SELECT / CONSTRUCT results are never iterated, so not evaluated; ASK is) on ``queries/``,
   ``bench/queries/``, ``tests/data/queries/`` and ``tests/data/hostile/queries.json``.  The
   libraries run in child processes: a query that kills one (stack overflow) or runs past
   ``--timeout`` is recorded as such, and the next query goes on in a new process.
2. shacl: ``poli_kg.graph.shaclsparql.validate`` on the reasoner's store beside pyshacl (the
   build's reference on an rdflib graph; on the Oxigraph store; ``sparql_mode``) and pyrudof
   (native and SPARQL engines), on the project graph, the project graph less every fifth data
   triple (so that most constraints report something) and ``bench/generate.py``'s graphs.  One
   fresh process per run: validation time, peak RSS before and after, results counted per
   (severity, constraint component, path) and compared with pyshacl's.  Each graph has
   ``--shacl-budget`` seconds: a run predicted (linearly, from the previous graph) to exceed
   what is left is skipped, saying so, and a run is stopped when none is left.
3. ontology: ``GET /ontology`` (Flask test client on ``--build``) beside pyLODE's ``OntPub`` on
   ``ontology/poli-kg.ttl``: time, size, what each documents, accessibility basics; the pages
   are written to ``--out/libraries/``.

pyrudof and pyLODE give their columns (skipped, saying so, when missing):
``pip install -c requirements.lock -e . pyrudof==0.3.35 pyLODE==3.3.4`` (pyLODE 3.4.1's wheel
cannot be imported: its ``version.py`` reads a ``pyproject.toml`` the wheel does not ship).
"""

from __future__ import annotations

import argparse
import html
import itertools
import json
import os
import re
import resource
import selectors
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from html.parser import HTMLParser
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
MAX_LENGTH = 100_000   # the endpoint's MAX_QUERY_LENGTH: longer queries get 413 before the lexer
MAX_NESTING = 1000     # the endpoint's MAX_QUERY_NESTING
PACKAGES = ("rdflib", "pyoxigraph", "pyshacl", "pyrudof", "pylode", "flask")


def installed(name: str) -> str | None:
    """The version of package ``name``, None if it is not installed."""
    try:
        return version(name)
    except PackageNotFoundError:
        return None


# -- 1. the lexer ------------------------------------------------------------------------

def corpus() -> list[dict]:
    """The project's queries, then the hostile ones (as text; invalid UTF-8 left out)."""
    found = [{"name": f"{folder}/{path.name}", "project": True, "text": path.read_text("utf-8")}
             for folder in ("queries", "bench/queries", "tests/data/queries")
             for path in sorted((ROOT / folder).glob("*.rq"))]
    for entry in json.loads((ROOT / "tests/data/hostile/queries.json").read_text("utf-8")):
        text = entry["query"] if "query" in entry else "".join(
            part * times for part, times in entry["parts"])
        if entry.get("latin1"):
            try:
                text = text.encode("latin-1").decode("utf-8")
            except UnicodeDecodeError:
                continue   # the server answers 400 before any lexer
        found.append({"name": entry["name"], "project": False, "text": text})
    return found


def answered(answer, entry: dict) -> dict:
    """``answer(text)`` for a corpus entry, with ``s``: the seconds of one run, or for the
    project's queries the median of 20 runs after a first one."""
    runs = 21 if entry["project"] else 1
    found, first_s, later_s = _timed(lambda: answer(entry["text"]), runs)
    return {**found, "s": later_s if entry["project"] else first_s}


def lexer_answer(text: str) -> dict:
    """What the lexer finds (nesting, then scan, their caches bypassed)."""
    from poli_kg.store import lexer

    depth = lexer.nesting.__wrapped__(text)
    info = lexer.scan.__wrapped__(text)
    return {"outcome": "ok", "form": info.form, "update": info.is_update,
            "service": info.service, "default": list(info.from_graphs),
            "named": list(info.from_named_graphs), "depth": depth}


def rdflib_answer(text: str) -> dict:
    """rdflib's reading: parse + algebra (what prepareQuery does); else does it parse as Update?
    (The algebra's repr names each of its nodes, a SERVICE as ServiceGraphPattern.)"""
    from rdflib.plugins.sparql import algebra, parser

    try:
        query = algebra.translateQuery(parser.parseQuery(text))
    except RecursionError:
        return {"outcome": "RecursionError"}
    # rdflib raises pyparsing's ParseException, ValueError, and bare Exception (unknown
    # prefix): every failure is an answer to record here.
    except Exception as exc:  # noqa: BLE001
        try:
            parser.parseUpdate(text)
        except Exception:  # noqa: BLE001 - as above
            return {"outcome": type(exc).__name__, "message": str(exc)[:100]}
        return {"outcome": "update", "update": True}
    clauses = query.algebra.get("datasetClause") or []
    return {"outcome": "ok", "form": query.algebra.name.replace("Query", "").upper(),
            "update": False, "service": "ServiceGraphPattern" in repr(query.algebra),
            # (each graph once, as the lexer lists them; CompValue.get answers a missing key
            # with its name, hence "in")
            "default": list(dict.fromkeys(str(c["default"]) for c in clauses if "default" in c)),
            "named": list(dict.fromkeys(str(c["named"]) for c in clauses if "named" in c))}


def oxigraph_answer(text: str, store: object) -> dict:
    """pyoxigraph's reading: the kind of result of the query on an empty store."""
    import pyoxigraph as ox

    try:
        result = store.query(text)
    except SyntaxError as exc:
        return {"outcome": "SyntaxError", "message": str(exc)[:100]}
    except (OSError, RuntimeError, ValueError) as exc:   # an ASK evaluated and failed
        return {"outcome": type(exc).__name__, "message": str(exc)[:100]}
    form = {ox.QueryBoolean: "ASK", ox.QuerySolutions: "SELECT",
            ox.QueryTriples: "CONSTRUCT|DESCRIBE"}[type(result)]
    return {"outcome": "ok", "form": form}


def child_queries(kind: str, corpus_file: str, first: int) -> None:
    """Child process: answer each query from ``first`` on, one JSON line each, timed."""
    entries = json.loads(Path(corpus_file).read_text("utf-8"))
    if kind == "oxigraph":
        import pyoxigraph as ox

        store = ox.Store()
        answer = lambda text: oxigraph_answer(text, store)
    else:
        answer = rdflib_answer
    for entry in entries[int(first):]:
        print(json.dumps(answered(answer, entry)), flush=True)


def library_answers(kind: str, entries: list[dict], timeout: float) -> list[dict]:
    """Every entry answered by ``kind`` in child processes (restarted after a crash/timeout)."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(entries, f)
    answers: list[dict] = []
    try:
        while len(answers) < len(entries):
            proc = subprocess.Popen(
                [sys.executable, __file__, "--child", "queries", kind, f.name, str(len(answers))],
                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
            with selectors.DefaultSelector() as sel:
                sel.register(proc.stdout, selectors.EVENT_READ)
                while len(answers) < len(entries):
                    if not sel.select(timeout):
                        proc.kill()
                        answers.append({"outcome": f"stopped after {timeout:g} s", "s": timeout})
                        break
                    line = proc.stdout.readline()
                    if not line:
                        code = proc.wait()   # killed by a signal: its name (SIGSEGV…)
                        answers.append({"outcome": signal.Signals(-code).name if code < 0
                                        else f"exit {code}", "s": None})
                        break
                    answers.append(json.loads(line))
            proc.kill()
            proc.wait()
            proc.stdout.close()
    finally:
        os.unlink(f.name)
    return answers


def _agree(rows: list[tuple[dict, dict]], keys: tuple[str, ...]) -> str:
    """How many of the queries a library parsed it reads as the lexer does (a form
    ``CONSTRUCT|DESCRIBE`` matches either)."""
    parsed = [(mine, theirs) for mine, theirs in rows if theirs["outcome"] == "ok"]
    same = sum(all(mine.get(k) in str(theirs.get(k)).split("|") if k == "form" else
                   mine.get(k) == theirs.get(k) for k in keys) for mine, theirs in parsed)
    refused = len(rows) - len(parsed)
    return f"{same}/{len(parsed)} same" + (f" ({refused} not parsed)" if refused else "")


def lexer_tables(timeout: float, build: Path) -> str:
    entries = corpus()
    mine = [answered(lexer_answer, e) for e in entries]
    libs = {kind: library_answers(kind, entries, timeout) for kind in ("rdflib", "oxigraph")}
    reaching = [i for i, e in enumerate(entries)
                if len(e["text"]) <= MAX_LENGTH and mine[i]["depth"] <= MAX_NESTING]
    project = [i for i, e in enumerate(entries) if e["project"]]
    lines = [(f"Corpus: {len(project)} project queries, {len(entries) - len(project)} hostile "
              f"ones; {len(reaching)} reach the lexer's scan (≤ {MAX_LENGTH:,} characters, "
              f"nesting ≤ {MAX_NESTING})."), ""] + use_table(entries, mine, libs, reaching)
    lines += ["", "| per query, project queries | median µs | max µs | ÷ lexer |",
              "|---|---:|---:|---:|"]
    base = statistics.median(mine[i]["s"] for i in project)
    for label, answers in (("lexer: nesting + scan (uncached)", mine),
                           ("rdflib parseQuery + translateQuery", libs["rdflib"]),
                           ("pyoxigraph Store().query (parse + plan)", libs["oxigraph"])):
        times = [answers[i]["s"] for i in project if answers[i]["s"] is not None]
        lines.append(f"| {label} | {statistics.median(times) * 1e6:,.0f} "
                     f"| {max(times) * 1e6:,.0f} | {statistics.median(times) / base:.1f}× |")
    lines += ["", hostile_table(entries, mine, libs), "", binding_table(build)]
    return "\n".join(lines)


def use_table(entries: list[dict], mine: list[dict], libs: dict, reaching: list[int]
              ) -> list[str]:
    from rdflib.plugins.sparql.parser import expandUnicodeEscapes

    from poli_kg.store import lexer

    rd, ox = libs["rdflib"], libs["oxigraph"]

    def escapes_agree() -> str:
        same = 0
        for e in entries:
            try:
                same += lexer.expand_unicode_escapes(e["text"]) == expandUnicodeEscapes(e["text"])
            except ValueError:
                pass
        return f"{same}/{len(entries)} same text"

    pairs = lambda lib: [(mine[i], lib[i]) for i in reaching]
    update_same = sum(mine[i]["update"] == (rd[i]["outcome"] == "update") for i in reaching)
    crashed = [i for i, e in enumerate(entries) if mine[i]["depth"] > MAX_NESTING]
    return [
        "| use of the lexer | lexer | rdflib | pyoxigraph |", "|---|---|---|---|",
        (f"| query form | reference | {_agree(pairs(rd), ('form',))} "
         f"| {_agree(pairs(ox), ('form',))}; CONSTRUCT and DESCRIBE look alike |"),
        (f"| SPARQL Update found | reference | {update_same}/{len(reaching)} same "
         "| cannot tell: an Update is a SyntaxError, like a typo |"),
        (f"| SERVICE found | reference | {_agree(pairs(rd), ('service',))} "
         "| cannot tell without evaluating it (ASK opens the connection) |"),
        (f"| FROM / FROM NAMED graphs | reference | {_agree(pairs(rd), ('default', 'named'))} "
         "| cannot tell (no algebra in Python) |"),
        (f"| \\u escapes expanded | reference | {escapes_agree()} "
         "| does not expand them: `\\u0053ERVICE` is a SyntaxError |"),
        (f"| nesting bound (> {MAX_NESTING} refused) | {len(crashed)} refused | "
         f"{_outcomes([rd[i] for i in crashed])} | {_outcomes([ox[i] for i in crashed])} |"),
    ]


def _outcomes(answers: list[dict]) -> str:
    counts = Counter(a["outcome"] for a in answers)
    return ", ".join(f"{n} {outcome}" for outcome, n in counts.most_common())


def hostile_table(entries: list[dict], mine: list[dict], libs: dict) -> str:
    lines = ["| hostile query | chars | lexer: depth, ms | rdflib | s | pyoxigraph | s |",
             "|---|---:|---|---|---:|---|---:|"]
    for i, e in enumerate(entries):
        if e["project"]:
            continue
        verdict = ("413 too long" if len(e["text"]) > MAX_LENGTH else
                   "400 too deep" if mine[i]["depth"] > MAX_NESTING else
                   "403" if mine[i]["update"] or mine[i]["service"] else "passes")
        cells = [f"{a['outcome']}{': ' + a['form'] if a.get('form') else ''} | "
                 + ("—" if a["s"] is None else f"{a['s']:.3f}")
                 for a in (libs["rdflib"][i], libs["oxigraph"][i])]
        lines.append(f"| {e['name']} | {len(e['text']):,} | {verdict}, {mine[i]['depth']}, "
                     f"{mine[i]['s'] * 1e3:.1f} | {cells[0]} | {cells[1]} |")
    return "\n".join(lines)


def _rows(result: object) -> list[tuple]:
    """Rows as sorted tuples of lexical forms and IRIs (rdflib's or pyoxigraph's terms), the
    parts of a " | "-joined value sorted (GROUP_CONCAT's order is unspecified)."""
    text = lambda v: "" if v is None else str(v) if hasattr(v, "n3") else v.value
    return sorted(tuple(" | ".join(sorted(text(v).split(" | "))) for v in row) for row in result)


def binding_table(build: Path) -> str:
    """Pre-binding: the lexer's text substitution beside pyoxigraph's ``substitutions``
    (SEP-0007) and rdflib's ``initBindings``, on the project's SELECT queries and graph."""
    import pyoxigraph as ox
    from rdflib import Dataset
    from rdflib.plugins.sparql.parser import parseQuery

    from poli_kg.graph.rdfterms import to_rdflib
    from poli_kg.store import lexer

    store = ox.Store()
    store.load(path=str(build / "poli-kg.nq"), format=ox.RdfFormat.N_QUADS)
    dataset = Dataset(default_union=True)
    dataset.parse(build / "poli-kg.nq", format="nquads")
    tally = Counter()
    for path in sorted(ROOT.glob("queries/*.rq")) + sorted(ROOT.glob("bench/queries/*.rq")):
        query = path.read_text("utf-8")
        if parseQuery(query)[1].name != "SelectQuery":
            continue
        solutions = store.query(query, use_default_graph_as_union=True)
        first = next(iter(solutions), None)
        name = next((v.value for v in solutions.variables if first is not None
                     and isinstance(first[v], (ox.NamedNode, ox.Literal))), None)
        if name is None:
            continue
        term = first[name]
        tally["queries"] += 1
        text = lexer.bind_variables(query, {name: str(term)})
        mine = _rows(store.query(text, use_default_graph_as_union=True))
        subst = _rows(store.query(query, use_default_graph_as_union=True,
                                  substitutions={ox.Variable(name): term}))
        init = _rows(dataset.query(query, initBindings={name: to_rdflib(term)}))
        text_rd = _rows(dataset.query(text))
        tally["oxigraph substitutions"] += subst == mine
        tally["rdflib initBindings"] += init == text_rd
        tally["lexer text on rdflib"] += len(text_rd) == len(mine)
    n = tally["queries"]
    return "\n".join([
        (f"Pre-binding a variable (the first one bound in the first row) in the {n} project "
         "SELECT queries that have one:"), "",
        "| method | works on | same rows as the lexer's text on pyoxigraph |", "|---|---|---:|",
        f"| lexer bind_variables (text) | every backend, the remote store too | {n}/{n} |",
        f"| pyoxigraph substitutions | pyoxigraph only | {tally['oxigraph substitutions']}/{n} |",
        (f"| rdflib initBindings (vs the lexer's text on rdflib) | rdflib only "
         f"| {tally['rdflib initBindings']}/{n} |"),
        f"| the lexer's text, rows counted | rdflib | {tally['lexer text on rdflib']}/{n} |"])


# -- 2. SHACL ----------------------------------------------------------------------------

# In this order: what matters most runs first within a graph's time budget.
ENGINES = ("poli-kg", "pyrudof", "pyrudof, SPARQL mode", "pyshacl", "pyshacl, Oxigraph store",
           "pyshacl sparql_mode", "pyshacl sparql_mode, Oxigraph store")
BROKEN_EVERY = 5   # the "broken" graph: the project graph without every fifth data triple


def _key(severity: object, component: object, path: object, shape: object) -> str:
    """How results are counted: severity, constraint component, then the path (or the
    shape for a result without one: SPARQL constraints).  The project's shapes have IRI paths
    only, which every engine spells alike."""
    where = path if path not in (None, "", "None") else (
        shape if str(shape).startswith("http") else "-")
    local = lambda iri: re.split("[#/]", str(iri))[-1]
    return f"{local(severity)} {local(component).replace('ConstraintComponent', '')} {where}"


def _graph_keys(report: object) -> list[str]:
    """Result keys of a pyshacl report graph."""
    from rdflib.namespace import RDF, SH

    return [_key(*(report.value(node, p) for p in (
        SH.resultSeverity, SH.sourceConstraintComponent, SH.resultPath, SH.sourceShape)))
        for node in report.subjects(RDF.type, SH.ValidationResult)]


def _closure(dataset: str):
    """(inputs, reasoner closure) of the project graph, broken or with generated data."""
    from poli_kg.graph import pipeline, reasoning

    extra = [Path(dataset)] if dataset not in ("real", "broken") else []
    inputs = pipeline.load(pipeline.Sources(ROOT, extra_data=extra))
    if dataset == "broken":
        inputs.triples["data"] = [t for i, t in enumerate(inputs.triples["data"])
                                  if i % BROKEN_EVERY]
    return inputs, reasoning.close(inputs.asserted_triples(), "rules")


def _rdflib_union(inputs, closure):
    """asserted + inferred as the build gives it to pyshacl."""
    from poli_kg.graph.rdfterms import to_rdflib

    union = inputs.asserted()
    for t in closure.inferred:
        union.add((to_rdflib(t.subject), to_rdflib(t.predicate), to_rdflib(t.object)))
    return union


def _pyrudof(closure, shapes, sparql: bool) -> tuple[list[str], float]:
    """Keys of pyrudof's results, and the seconds spent handing it the data."""
    import pyoxigraph as ox
    import pyrudof

    start = time.perf_counter()
    rudof = pyrudof.Rudof(pyrudof.RudofConfig())
    data = closure.store.dump(format=ox.RdfFormat.N_TRIPLES, from_graph=ox.DefaultGraph())
    rudof.read_data(data.decode("utf-8"), format=pyrudof.RDFFormat.NTriples)
    del data
    rudof.read_shacl(shapes.serialize(format="turtle"), format=pyrudof.ShaclFormat.Turtle)
    handover = time.perf_counter() - start
    mode = pyrudof.ShaclValidationMode.Sparql if sparql else pyrudof.ShaclValidationMode.Native
    report = rudof.validate_shacl(mode=mode)
    return [_key(e.severity, e.constraint_component, e.path, e.source_shape)
            for e in report], handover


def child_shacl(engine: str, dataset: str) -> None:
    """Child process: validate once with ``engine``; print times, peak RSS and result keys."""
    from poli_kg.graph import shaclsparql, validation

    inputs, closure = _closure(dataset)
    shapes = inputs.graphs["shapes"]
    data = _rdflib_union(inputs, closure) if engine in ("pyshacl", "pyshacl sparql_mode") \
        else closure.store
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    start = time.perf_counter()
    handover = 0.0
    if engine in ("poli-kg", "pyshacl"):
        validate = shaclsparql.validate if engine == "poli-kg" else validation.validate
        keys = [_key(r.severity, r.constraint, r.path, r.source_shape)
                for r in validate(data, shapes).results]
    elif engine.startswith("pyshacl"):   # as validation.validate calls it; the report graph
        import pyshacl

        keys = _graph_keys(pyshacl.validate(
            data, shacl_graph=shapes, inference="none", advanced=True, allow_warnings=True,
            abort_on_first=False, sparql_mode="sparql_mode" in engine)[1])
    else:
        keys, handover = _pyrudof(closure, shapes, sparql="SPARQL" in engine)
    elapsed = time.perf_counter() - start - handover
    print(json.dumps({"s": elapsed, "handover_s": handover, "triples": len(closure.store),
                      "rss_before": rss_before,
                      "rss_after": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                      "results": Counter(keys)}))


def shacl_run(engine: str, dataset: str, timeout: float) -> dict:
    try:
        done = subprocess.run([sys.executable, __file__, "--child", "shacl", engine, dataset],
                              capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return {"error": f"stopped after {timeout:g} s"}
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[-1]
        return {"error": last[:160]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def generated(size: int, out: Path) -> Path:
    """``bench/generate.py``'s graph of ``size`` triples (reused when present)."""
    path = out / f"gen-{size}.nt"
    if not path.exists():
        out.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, str(HERE / "generate.py"), "--triples", str(size),
                        "--out", str(path)], check=True)
    return path


def _skip(engine: str, last: dict | None, triples: int, left: float) -> str | None:
    """Why not to run ``engine`` on ``triples`` triples after its run ``last``, with ``left``
    seconds of the graph's budget."""
    if engine.startswith("pyrudof") and installed("pyrudof") is None:
        return "pyrudof not installed"
    if last is not None and "error" in last:
        return f"not run: {last['error'][:70]} before"
    predicted = last["s"] * triples / last["triples"] if last and triples else 0
    if left < 1 or predicted > left:
        return "skipped: the graph's time budget is spent" if left < 1 else (
            f"skipped: {last['s']:.1f} s on {last['triples']:,} triples predicts "
            f"{predicted:,.0f} s, {left:,.0f} s left")
    return None


def shacl_tables(sizes: list[int], out: Path, budget: float) -> str:
    datasets = [("project graph", "real", 0),
                (f"project graph − every {BROKEN_EVERY}th data triple", "broken", 0)]
    datasets += [(f"project + {size:,} generated", str(generated(size, out)), int(size * 1.15))
                 for size in sizes]
    lines = [("| graph | triples | engine | validate s | ÷ poli-kg | peak RSS MB before → after "
              "| results | same counts as |"), "|---|---:|---|---:|---:|---:|---:|---|"]
    notes, last = [], {}
    for label, dataset, estimate in datasets:
        runs, deadline = {}, time.monotonic() + budget
        for engine in ENGINES:
            left = deadline - time.monotonic()
            why = _skip(engine, last.get(engine), estimate, left)
            runs[engine] = {"error": why} if why else shacl_run(engine, dataset, left)
            if not why:
                last[engine] = runs[engine]
        reference = runs["pyshacl"].get("results") or runs["poli-kg"].get("results")
        against = "pyshacl" if "results" in runs["pyshacl"] else "poli-kg*"
        for engine, run in runs.items():
            if "error" in run:
                lines.append(f"| {label} | | {engine} | {run['error']} | | | | |")
                continue
            if run["results"] != reference:
                notes.append(_differences(f"{label}, {engine} vs {against}", run["results"],
                                          reference))
            handover = f" (+ {run['handover_s']:.1f} s to load it)" if run["handover_s"] else ""
            lines.append(
                f"| {label} | {run['triples']:,} | {engine} | {run['s']:.2f}{handover} "
                f"| {run['s'] / runs['poli-kg']['s']:.1f}× "
                f"| {run['rss_before']:,.0f} → {run['rss_after']:,.0f} "
                f"| {sum(run['results'].values()):,} | {run['results'] == reference} ({against}) |")
    return "\n".join(lines + ["", "(*: pyshacl did not run on that graph)"] + notes)


def _differences(label: str, mine: dict, reference: dict) -> str:
    keys = sorted(k for k in set(mine) | set(reference) if mine.get(k) != reference.get(k))
    shown = "; ".join(f"`{k}` {mine.get(k, 0)} vs {reference.get(k, 0)}" for k in keys[:6])
    return f"- {label}: {shown}" + (f" … ({len(keys)} keys differ)" if len(keys) > 6 else "")


# -- 3. the ontology page ----------------------------------------------------------------

class Outline(HTMLParser):
    """A page's elements (tag, attributes, offsets); its <code> texts with their ancestors."""

    VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
                      "source", "track", "wbr"})

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.starts = [0] + [i + 1 for i, c in enumerate(text) if c == "\n"]
        self.stack: list[dict] = []
        self.elements: list[dict] = []
        self.codes: list[tuple[str, list[dict]]] = []
        self.feed(text)

    def _offset(self) -> int:
        line, column = self.getpos()
        return self.starts[line - 1] + column

    def handle_starttag(self, tag: str, attrs: list) -> None:
        element = {"tag": tag, "attrs": dict(attrs), "start": self._offset(), "end": None}
        self.elements.append(element)
        if tag not in self.VOID:
            self.stack.append(element)

    def handle_endtag(self, tag: str) -> None:
        while any(e["tag"] == tag for e in self.stack):   # a stray end tag closes nothing
            element = self.stack.pop()
            element["end"] = self._offset()
            if element["tag"] == tag:
                break

    def handle_data(self, data: str) -> None:
        if self.stack and self.stack[-1]["tag"] == "code":
            self.codes.append((data.strip(), list(self.stack)))


def ontology_terms() -> tuple[list[dict], dict]:
    """The ontology's classes and properties: labels and definitions by language, and the
    IRIs they point to (super-terms, domains, ranges, inverses)."""
    from rdflib import Graph, Literal, URIRef
    from rdflib.namespace import OWL, RDF, RDFS, SKOS

    graph = Graph().parse(ROOT / "ontology/poli-kg.ttl")
    kinds = {OWL.Class: "class", OWL.ObjectProperty: "property", OWL.DatatypeProperty: "property",
             OWL.AnnotationProperty: "property", RDF.Property: "property"}
    links = {RDFS.subClassOf: "super-term", RDFS.subPropertyOf: "super-term",
             RDFS.domain: "domain", RDFS.range: "range", OWL.inverseOf: "inverse"}
    terms = []
    for kind_iri, kind in kinds.items():
        for term in sorted(set(graph.subjects(RDF.type, kind_iri))):
            if isinstance(term, URIRef) and all(t["iri"] != str(term) for t in terms):
                terms.append({"iri": str(term), "kind": kind, **{
                    f"{what} {lit.language}": str(lit)
                    for what, prop in (("label", RDFS.label), ("definition", SKOS.definition))
                    for lit in graph.objects(term, prop) if isinstance(lit, Literal)},
                    "links": [(name, str(o)) for p, name in links.items()
                              for o in graph.objects(term, p) if isinstance(o, URIRef)]})
    labels = {t["iri"]: [v for k, v in t.items() if k.startswith("label ")] for t in terms}
    return terms, labels


def coverage(page: str, terms: list[dict], labels: dict, expected: bool = False) -> Counter:
    """What a page documents: per term, its block (the smallest element with an id holding
    the IRI in <code>) and what that block says; ``expected``: what there is to document."""
    blocks = {}
    for text, stack in Outline(page).codes:
        holders = [e for e in stack if e["attrs"].get("id") and e["tag"] in ("section", "div")]
        if holders and (text not in blocks or holders[-1]["end"] - holders[-1]["start"]
                        < blocks[text]["end"] - blocks[text]["start"]):
            blocks[text] = holders[-1]
    found = Counter()
    for term in terms:
        block = blocks.get(term["iri"], {"start": 0, "end": 0})
        if block["end"] == 0 and not expected:
            continue
        raw = page[block["start"]:block["end"]]
        text = html.unescape(raw)
        found[f"{term['kind']} documented"] += 1
        for key in ("label it", "label en", "definition it", "definition en"):
            found[f"{key}: in the term's block"] += key in term and (expected or term[key] in text)
        for link, target in term["links"]:
            anchor = blocks.get(target, {}).get("attrs", {}).get("id")
            found[f"{link} shown"] += expected or any(
                needle and needle in text for needle in
                [target, f'href="#{anchor}"' if anchor else None, *labels.get(target, [])])
        if term["kind"] == "class":
            found["instance links (in class blocks)"] += raw.count('href="/id/')
    return found


def accessibility(page: str) -> dict:
    outline = Outline(page)
    tags = Counter(e["tag"] for e in outline.elements)
    levels = [int(e["tag"][1]) for e in outline.elements if e["tag"] in
              ("h1", "h2", "h3", "h4", "h5", "h6")]
    ids = Counter(e["attrs"]["id"] for e in outline.elements if e["attrs"].get("id"))
    html_tag = next((e for e in outline.elements if e["tag"] == "html"), {"attrs": {}})
    links = [e["attrs"] for e in outline.elements if e["tag"] == "a"]
    return {
        "bytes": len(page.encode("utf-8")),
        "<html lang>": html_tag["attrs"].get("lang") or "none",
        "elements with lang": sum(1 for e in outline.elements if "lang" in e["attrs"]),
        "landmarks (header nav main footer aside)": " ".join(
            f"{tags[t]}" for t in ("header", "nav", "main", "footer", "aside")),
        "headings h1/h2/h3/h4": "/".join(str(levels.count(n)) for n in (1, 2, 3, 4)),
        "heading levels skipped": sum(1 for a, b in itertools.pairwise(levels) if b > a + 1),
        "duplicate ids": sum(n - 1 for n in ids.values() if n > 1),
        "inline <style> / <script>": f"{tags['style']} / {tags['script']}",
        "first link is a skip link": bool(links) and links[0].get("href", "").startswith("#"),
        "distinct CSS classes": len({c for e in outline.elements
                                     for c in e["attrs"].get("class", "").split()}),
    }


def _timed(make, runs: int) -> tuple[str, float, float]:
    """``make()``'s result, the seconds of its first run and the median of the next ones."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        result = make()
        times.append(time.perf_counter() - start)
    return result, times[0], statistics.median(times[1:] or times)


def ontology_table(build: Path, out: Path) -> str:
    from poli_kg.web import create_app

    client = create_app({"BUILD_DIR": str(build)}).test_client()
    timed = {f"poli-kg /ontology?lang={lang}": _timed(lambda lang=lang: client.get(
        f"/ontology?lang={lang}", headers={"Accept": "text/html"}).get_data(as_text=True), 5)
        for lang in ("it", "en")}
    if installed("pylode"):
        def pylode_page() -> str:
            from pylode import OntPub

            return OntPub(ontology=str(ROOT / "ontology/poli-kg.ttl")).make_html()

        timed["pyLODE OntPub"] = _timed(pylode_page, 3)
    (out / "libraries").mkdir(parents=True, exist_ok=True)
    for name, (page, _first, _next) in timed.items():
        slug = "".join(c if c.isalnum() else "-" for c in name).strip("-")
        (out / "libraries" / f"{slug}.html").write_text(page, encoding="utf-8")
    terms, labels = ontology_terms()
    expected = coverage("", terms, labels, expected=True)
    rows = {name: {"s: first (with imports) / next": f"{first:.2f} / {later:.2f}",
                   **accessibility(page), **{k: f"{n}/{expected[k]}" if expected[k] else n
                                             for k, n in coverage(page, terms, labels).items()}}
            for name, (page, first, later) in timed.items()}
    lines = ["| | " + " | ".join(rows) + " |", "|---|" + "---:|" * len(rows)]
    lines += [f"| {k} | " + " | ".join(str(row.get(k, 0)) for row in rows.values()) + " |"
              for k in dict.fromkeys(k for row in rows.values() for k in row)]
    return "\n".join(lines + ([] if installed("pylode") else ["pyLODE not installed: skipped."]))


# -- main --------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--parts", default="lexer,shacl,ontology")
    parser.add_argument("--sizes", default="100000,1000000", help="generated triples (SHACL)")
    parser.add_argument("--build", default=str(ROOT / "public"), help="poli-kg build --out DIR")
    parser.add_argument("--out", type=Path, default=HERE / "out")
    parser.add_argument("--timeout", type=float, default=30, help="seconds per query (lexer)")
    parser.add_argument("--shacl-budget", type=float, default=600,
                        help="seconds for all the validations of one graph")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT / "src"))
    if args.child:
        kind, *rest = args.child
        child_queries(*rest) if kind == "queries" else child_shacl(*rest)
        return 0
    print(f"Machine: {os.cpu_count()} cores; Python {sys.version.split()[0]}; "
          + ", ".join(f"{p} {installed(p) or 'not installed'}" for p in PACKAGES) + ".\n")
    sections = {"lexer": ("SPARQL lexer", lambda: lexer_tables(args.timeout, Path(args.build))),
                "shacl": ("SHACL validation", lambda: shacl_tables(
                    [int(s) for s in args.sizes.split(",") if s], args.out, args.shacl_budget)),
                "ontology": ("Ontology page", lambda: ontology_table(Path(args.build), args.out))}
    for part in args.parts.split(","):
        title, make = sections[part]
        start = time.perf_counter()
        print(f"## {title}\n\n{make()}\n\n({time.perf_counter() - start:.0f} s)\n", flush=True)
    print(f"Load average at the end: {os.getloadavg()[0]:.2f}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
