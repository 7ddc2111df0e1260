"""The ``poli-kg`` command: build, validate, query, serve and publish the graph.

Exit codes: 0 success; 1 SHACL violations (or an inconsistent graph); 2 an input cannot
be read (the message names ``file:line``), a bad query or bad usage; 3 the output folder
cannot be written; 4 the external store could not be reached or refused the graphs.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

import pyoxigraph as ox
from rdflib import Literal, URIRef

from poli_kg.graph import pipeline as building
from poli_kg.namespaces import PREFIXES
from poli_kg.graph.validation import ValidationFailed, compact_iri, display_term, format_report

EXIT_OK, EXIT_VIOLATIONS, EXIT_INPUT, EXIT_OUTPUT, EXIT_STORE = 0, 1, 2, 3, 4
STORE_HELP = (
    "where queries are answered (env POLI_KG_STORE; default: oxigraph): "
    "oxigraph (the build's on-disk store) | oxigraph:PATH (a persistent store in PATH, "
    "loaded once, reopened on restart) | oxigraph-memory | memory (rdflib) | "
    "sparql:URL (any SPARQL 1.1 server's query endpoint, loaded with 'poli-kg publish')")
MAX_CELL = 80
RESULT_FORMATS = {"json": ox.QueryResultsFormat.JSON, "csv": ox.QueryResultsFormat.CSV,
                  "tsv": ox.QueryResultsFormat.TSV, "xml": ox.QueryResultsFormat.XML}


def _err(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _progress(stream: TextIO) -> building.Progress:
    """A progress callback printing ``stage  0.12 s`` lines to ``stream``."""
    def report(stage: str, seconds: float) -> None:
        print(f"{stage:<9}{seconds:6.2f} s", file=stream, flush=True)
    return report


# --------------------------------------------------------------------------- build

def cmd_build(args: argparse.Namespace) -> int:
    """Build the project into --out; print stage times and triple counts."""
    try:
        result = building.build(Path(args.out), args.project, progress=_progress(sys.stdout))
    except building.InputError as exc:
        _err(f"error: {exc}")
        return EXIT_INPUT
    except ValidationFailed as exc:
        _err(exc.report_text)
        _err("build failed: the graph does not pass validation; previous output left untouched")
        return EXIT_VIOLATIONS
    except building.BuildError as exc:
        _err(f"error: {exc}")
        return EXIT_OUTPUT
    except OSError as exc:
        _err(f"error: cannot write {args.out}: {exc}")
        return EXIT_OUTPUT
    c = result.counts
    print(f"triples  ontology {c['ontology']}, data {c['data']}, provenance {c['provenance']}, "
          f"inferred {c['inferred']} (total {c['total']})")
    counts = result.report.counts()
    print("shacl    " + ", ".join(f"{n} {kind if n != 1 else kind[:-1]}" for kind, n in counts.items()))
    print(f"built    {args.out} -> {result.path.name}")
    return EXIT_OK


# --------------------------------------------------------------------------- validate

def cmd_validate(args: argparse.Namespace) -> int:
    """Validate the project (or the given files with the project ontology) against shapes/."""
    files = [Path(f) for f in args.files]
    try:
        report = building.check(files, args.project)
    except building.InputError as exc:
        _err(f"error: {exc}")
        return EXIT_INPUT
    print(format_report(report.results), end="")
    return EXIT_OK if report.conforms else EXIT_VIOLATIONS


# --------------------------------------------------------------------------- query

def _read_query(args: argparse.Namespace) -> str:
    if args.file is not None and args.query is not None:
        raise ValueError("give the query either as an argument or with --file, not both")
    source = args.file if args.file is not None else args.query
    if source is None:
        raise ValueError("no query: give it as an argument, with --file FILE, or '-' for stdin")
    if source == "-":
        return sys.stdin.read()
    if args.file is not None:
        try:
            return Path(args.file).read_text(encoding="utf-8")
        except OSError as exc:
            raise ValueError(f"cannot read {args.file}: {exc.strerror or exc}") from None
    return source


def show_term(term: object) -> str:
    """A pyoxigraph term in readable Turtle-like form (prefixed names, quoted literals)."""
    if term is None:
        return ""
    if isinstance(term, ox.NamedNode):
        return compact_iri(term.value)
    if isinstance(term, ox.BlankNode):
        return f"_:{term.value}"
    if isinstance(term, ox.Literal):
        if term.language:
            return display_term(Literal(term.value, lang=term.language))
        return display_term(Literal(term.value, datatype=URIRef(term.datatype.value)))
    return str(term)


def format_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """An aligned text table; cells longer than MAX_CELL are shortened with '…'."""
    def cell(text: str) -> str:
        text = " ".join(text.split())
        return text if len(text) <= MAX_CELL else text[: MAX_CELL - 1] + "…"

    body = [[cell(c) for c in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in body]) for i, h in enumerate(header)]
    lines = [" | ".join(h.ljust(w) for h, w in zip(header, widths)).rstrip(),
             "-+-".join("-" * w for w in widths)]
    lines += [" | ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in body]
    lines.append(f"({len(body)} row{'s' if len(body) != 1 else ''})")
    return "\n".join(lines) + "\n"


def run_query(store: ox.Store, query: str, fmt: str) -> str | bytes:
    """Run ``query`` on ``store`` (union default graph, project prefixes predeclared)."""
    prefixes = {p: str(ns) for p, ns in PREFIXES.items()}
    result = store.query(query, prefixes=prefixes, use_default_graph_as_union=True)
    if isinstance(result, ox.QuerySolutions):
        if fmt == "table":
            header = [v.value for v in result.variables]
            rows = [[show_term(s[v]) for v in result.variables] for s in result]
            return format_table(header, rows)
        if fmt in RESULT_FORMATS:
            return result.serialize(format=RESULT_FORMATS[fmt])
        raise ValueError(f"--format {fmt} is for CONSTRUCT/DESCRIBE; use table, json, csv or tsv")
    if isinstance(result, ox.QueryBoolean):
        if fmt == "table":
            return "true\n" if bool(result) else "false\n"
        if fmt in RESULT_FORMATS:
            return result.serialize(format=RESULT_FORMATS[fmt])
        raise ValueError(f"--format {fmt} is for CONSTRUCT/DESCRIBE; use table or json")
    triples = sorted(result, key=lambda t: (str(t.subject), str(t.predicate), str(t.object)))
    if fmt == "table":
        rows = [[show_term(t.subject), show_term(t.predicate), show_term(t.object)] for t in triples]
        return format_table(["subject", "predicate", "object"], rows)
    if fmt in ("turtle", "ntriples"):
        iris = {x.value for t in triples for x in (t.subject, t.predicate, t.object)
                if isinstance(x, ox.NamedNode)}
        used = {p: ns for p, ns in prefixes.items() if any(i.startswith(ns) for i in iris)}
        if fmt == "ntriples":
            return ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES)
        return ox.serialize(triples, format=ox.RdfFormat.TURTLE, prefixes=used)
    raise ValueError(f"--format {fmt} is for SELECT/ASK; use table, turtle or ntriples")


def cmd_query(args: argparse.Namespace) -> int:
    """Answer a SPARQL query over the built store (building first if inputs changed)."""
    try:
        query = _read_query(args)
    except ValueError as exc:
        _err(f"error: {exc}")
        return EXIT_INPUT
    code = _ensure(args, progress_stream=sys.stderr)
    if code != EXIT_OK:
        return code
    store = ox.Store.read_only(str(Path(args.out) / building.STORE_DIR))
    try:
        output = run_query(store, query, args.format)
    except SyntaxError as exc:
        _err(f"error: bad query: {exc}")
        return EXIT_INPUT
    except ValueError as exc:
        _err(f"error: {exc}")
        return EXIT_INPUT
    if isinstance(output, bytes):
        sys.stdout.buffer.write(output)
        if output and not output.endswith(b"\n"):
            sys.stdout.buffer.write(b"\n")
        sys.stdout.flush()
    else:
        sys.stdout.write(output)
    return EXIT_OK


def _ensure(args: argparse.Namespace, progress_stream: TextIO) -> int:
    """ensure_built with the CLI's error handling; returns an exit code.

    On success ``args.out`` is replaced by the absolute path of the build folder.
    """
    try:
        args.out = building.ensure_built(Path(args.out), args.project,
                                         progress=_progress(progress_stream))
    except building.InputError as exc:
        _err(f"error: {exc}")
        return EXIT_INPUT
    except ValidationFailed as exc:
        _err(exc.report_text)
        _err("build failed: the graph does not pass validation")
        return EXIT_VIOLATIONS
    except building.BuildError as exc:
        _err(f"error: {exc}")
        return EXIT_OUTPUT
    except OSError as exc:
        _err(f"error: cannot write {args.out}: {exc}")
        return EXIT_OUTPUT
    return EXIT_OK


# --------------------------------------------------------------------------- serve

def cmd_serve(args: argparse.Namespace) -> int:
    """Build if needed, then serve the SPARQL endpoint and the linked-data pages."""
    code = _ensure(args, progress_stream=sys.stderr)
    if code != EXIT_OK:
        return code
    from poli_kg.web import server  # lazily: Flask/gunicorn are only needed here

    server.run(build_dir=args.out, host=args.host, port=args.port,
               query_timeout=args.query_timeout, max_results=args.max_results,
               store=args.store, workers=args.workers)
    return EXIT_OK


# --------------------------------------------------------------------------- publish

def _credentials(args: argparse.Namespace) -> tuple[str, str] | None:
    """(user, password) from --user / --password-file or POLI_KG_STORE_USER / _PASSWORD."""
    from poli_kg.store.publish import read_password_file

    user = args.user or os.environ.get("POLI_KG_STORE_USER")
    if args.password_file:
        password: str | None = read_password_file(args.password_file)
    else:
        password = os.environ.get("POLI_KG_STORE_PASSWORD")
    if user is None and password is None:
        return None
    if user is None or password is None:
        raise ValueError("give both a user and a password (POLI_KG_STORE_USER and "
                         "POLI_KG_STORE_PASSWORD, or --user and --password-file)")
    return user, password


def cmd_publish(args: argparse.Namespace) -> int:
    """Load the named graphs of the build in --out, as it is, into an external SPARQL store."""
    from poli_kg.store.publish import NQUADS_FILE, PublishError, publish

    try:
        auth = _credentials(args)
    except (ValueError, OSError) as exc:
        _err(f"error: {exc}")
        return EXIT_INPUT
    if not (Path(args.out) / NQUADS_FILE).is_file():
        _err(f"error: {args.out} holds no build: run 'poli-kg build --out {args.out}' first")
        return EXIT_INPUT
    info = building.read_build_info(args.out) or {}
    try:
        current = building.inputs_digest(building.Sources(args.project))
    except (building.InputError, OSError):
        current = None
    if current is not None and info.get("inputs_sha256") != current:
        _err(f"warning: the build in {args.out} is not of the project's current inputs; "
             "publishing it as it is ('poli-kg build' first to publish the current data)")
    try:
        result = publish(args.out, args.to, graph_store_url=args.graph_store,
                         update_url=args.update, auth=auth, chunk_triples=args.chunk,
                         timeout=args.timeout,
                         progress=lambda line: print(line, flush=True))
    except PublishError as exc:
        _err(f"error: {exc}")
        return EXIT_STORE
    print(f"published {result.triples} triples in {len(result.graphs)} graphs to {args.to}; "
          "the store's counts match the build")
    return EXIT_OK


# --------------------------------------------------------------------------- main

def parser() -> argparse.ArgumentParser:
    """The argument parser of ``poli-kg``."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--project", type=Path, default=building.ROOT,
                        help="project folder with ontology/, data/, shapes/ (default: this checkout)")
    out = argparse.ArgumentParser(add_help=False)
    out.add_argument("--out", default="public",
                     help="build folder (default: public/ in the current folder)")

    p = argparse.ArgumentParser(prog="poli-kg", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    b = sub.add_parser("build", parents=[common, out], help="build the graph into --out")
    b.set_defaults(func=cmd_build)

    v = sub.add_parser("validate", parents=[common],
                       help="validate the project data, or FILEs with the project ontology")
    v.add_argument("files", nargs="*", metavar="FILE", help="Turtle files (default: the project's data)")
    v.set_defaults(func=cmd_validate)

    q = sub.add_parser("query", parents=[common, out], help="run a SPARQL query on the built graph")
    q.add_argument("query", nargs="?", help="the query ('-' reads it from stdin)")
    q.add_argument("--file", "-f", help="read the query from FILE ('-' for stdin)")
    q.add_argument("--format", default="table",
                   choices=["table", "json", "csv", "tsv", "xml", "turtle", "ntriples"],
                   help="table (default), json/csv/tsv/xml for SELECT/ASK, turtle/ntriples for CONSTRUCT")
    q.set_defaults(func=cmd_query)

    s = sub.add_parser("serve", parents=[common, out], help="serve the SPARQL endpoint and pages")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=8000)
    s.add_argument("--query-timeout", type=float, default=30.0, help="seconds per query")
    s.add_argument("--max-results", type=int, default=10000, help="rows per SELECT answer")
    s.add_argument("--store", default=os.environ.get("POLI_KG_STORE", "oxigraph"),
                   help=STORE_HELP)
    s.add_argument("--workers", type=int, default=None,
                   help="server worker processes (default: the server's choice)")
    s.set_defaults(func=cmd_serve)

    u = sub.add_parser(
        "publish", parents=[common, out],
        help="load the built named graphs into an external SPARQL 1.1 store",
        description="Replace the project's named graphs in a SPARQL 1.1 store with those of "
                    "the build in --out, as it is (it does not build: run 'poli-kg build' "
                    "first) (Graph Store HTTP Protocol if --graph-store is given, else "
                    "SPARQL Update), then check the store's triple counts through --to. "
                    "Credentials: POLI_KG_STORE_USER and POLI_KG_STORE_PASSWORD (or --user "
                    "and --password-file); never on the command line.")
    u.add_argument("--to", required=True, metavar="URL",
                   help="the store's SPARQL query endpoint (what 'serve --store sparql:URL' reads)")
    u.add_argument("--graph-store", metavar="URL",
                   help="SPARQL 1.1 Graph Store HTTP Protocol endpoint "
                        "(Virtuoso: /sparql-graph-crud-auth, Fuseki: /DATASET/data)")
    u.add_argument("--update", metavar="URL",
                   help="SPARQL Update endpoint (default: --to; Virtuoso: /sparql-auth)")
    u.add_argument("--user", help="user name (default: env POLI_KG_STORE_USER)")
    u.add_argument("--password-file", metavar="FILE",
                   help="file whose first line is the password (default: env POLI_KG_STORE_PASSWORD)")
    u.add_argument("--chunk", type=int, default=20_000, help="triples per request (default 20000)")
    u.add_argument("--timeout", type=float, default=600.0, help="seconds per request")
    u.set_defaults(func=cmd_publish)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``poli-kg`` console script; returns the exit code."""
    args = parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
