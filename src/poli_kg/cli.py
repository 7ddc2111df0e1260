"""The ``poli-kg`` command: build, validate, query, serve, publish and release the graph.

Exit codes: 0 success; 1 SHACL violations (or an inconsistent graph); 2 an input cannot
be read (the message names ``file:line``), a bad query, bad usage, a bad config file or a
build that cannot be released as that version; 3 the output folder cannot be written (or the
release exists); 4 the external store could not be reached or refused the graphs.

The defaults of the options come from the deployment's settings (the config file and the
``POLI_KG_<KEY>`` environment variables: :func:`poli_kg.config.load_settings`); an option
given on the command line wins over them.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from poli_kg.buildfolder import BuildError
from poli_kg.config import (APPLICATION_SERVERS, DEFAULTS, ROOT, SettingsError, contact_warning,
                             load_settings)
from poli_kg.graph.answers import FORMATS, query_build
from poli_kg.graph.pipeline import (
    Progress, build, built_from_current_inputs, check, ensure_built,
)
from poli_kg.graph.release import ReleaseError, ReleaseExists, freeze
from poli_kg.graph.sources import InputError, Sources
from poli_kg.graph.validation import ValidationFailed, format_report

EXIT_OK, EXIT_VIOLATIONS, EXIT_INPUT, EXIT_OUTPUT, EXIT_STORE = 0, 1, 2, 3, 4
STORE_HELP = (
    "where queries are answered (env POLI_KG_STORE; default: oxigraph): "
    "oxigraph (the build's on-disk store) | oxigraph:PATH (a persistent store in PATH, "
    "loaded once, reopened on restart) | oxigraph-memory | memory (rdflib) | "
    "sparql:URL (any SPARQL 1.1 server's query endpoint, loaded with 'poli-kg publish')")
# What a build can raise, each answered by :func:`_build_failed`.
BUILD_ERRORS = (InputError, ValidationFailed, BuildError, OSError)
# What a release can raise, and the exit code of each (the first that matches).
RELEASE_EXITS = ((ReleaseExists, EXIT_OUTPUT), (ReleaseError, EXIT_INPUT),
                 (BuildError, EXIT_OUTPUT), (OSError, EXIT_OUTPUT))


def _err(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _progress(stream: TextIO) -> Progress:
    """A progress callback printing ``stage  0.12 s`` lines to ``stream``."""
    def report(stage: str, seconds: float) -> None:
        print(f"{stage:<9}{seconds:6.2f} s", file=stream, flush=True)
    return report


def _build_failed(exc: Exception, out: str, verdict: str) -> int:
    """Print why a build failed (``verdict`` after a validation report); the exit code."""
    if isinstance(exc, InputError):
        _err(f"error: {exc}")
        return EXIT_INPUT
    if isinstance(exc, ValidationFailed):
        _err(exc.report_text)
        _err(verdict)
        return EXIT_VIOLATIONS
    if isinstance(exc, BuildError):
        _err(f"error: {exc}")
        return EXIT_OUTPUT
    _err(f"error: cannot write {out}: {exc}")
    return EXIT_OUTPUT


# --------------------------------------------------------------------------- build

def _warn_settings(args: argparse.Namespace) -> None:
    """Warn on stderr about settings a deployment should have (a contact e-mail)."""
    warning = contact_warning(args.settings)
    if warning:
        _err(warning)


def cmd_build(args: argparse.Namespace) -> int:
    """Build the project into --out; print stage times and triple counts."""
    _warn_settings(args)
    try:
        result = build(Path(args.out), args.project, progress=_progress(sys.stdout))
    except BUILD_ERRORS as exc:
        return _build_failed(exc, args.out, "build failed: the graph does not pass validation; "
                                            "previous output left untouched")
    for line in result.summary_lines():
        print(line)
    print(f"built    {args.out} -> {result.path.name}")
    return EXIT_OK


# --------------------------------------------------------------------------- validate

def cmd_validate(args: argparse.Namespace) -> int:
    """Validate the project (or the given files with the project ontology) against shapes/."""
    files = [Path(f) for f in args.files]
    try:
        report = check(files, args.project)
    except InputError as exc:
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
    try:
        output = query_build(args.out, query, args.format)
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
        args.out = ensure_built(Path(args.out), args.project, progress=_progress(progress_stream))
    except BUILD_ERRORS as exc:
        return _build_failed(exc, args.out, "build failed: the graph does not pass validation")
    return EXIT_OK


# --------------------------------------------------------------------------- serve

def cmd_serve(args: argparse.Namespace) -> int:
    """Build if needed, then serve the SPARQL endpoint and the linked-data pages."""
    _warn_settings(args)
    code = _ensure(args, progress_stream=sys.stderr)
    if code != EXIT_OK:
        return code
    from poli_kg.web import server  # lazily: Flask/gunicorn are only needed here

    server.run(build_dir=args.out, host=args.host, port=args.port,
               query_timeout=args.query_timeout, max_results=args.max_results,
               store=args.store, workers=args.workers, server=args.server)
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
    if built_from_current_inputs(args.out, Sources(args.project)) is False:
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


# --------------------------------------------------------------------------- release

def cmd_release(args: argparse.Namespace) -> int:
    """Freeze the build in --out as release VERSION, in --releases (default: beside --out)."""
    if built_from_current_inputs(args.out, Sources(args.project)) is False:
        _err(f"warning: the build in {args.out} is not of the project's current inputs; "
             "releasing it as it is ('poli-kg build' first to release the current data)")
    try:
        released = freeze(args.out, args.version, args.releases, description=args.message)
    except (ReleaseError, BuildError, OSError) as exc:
        _err(f"error: {exc}")
        return next(code for kind, code in RELEASE_EXITS if isinstance(exc, kind))
    since = (f"since {released.previous}: {released.added} triples added, {released.removed} "
             "removed" if released.previous else "the first release")
    print(f"released {released.version} -> {released.folder} ({released.files} files; {since})")
    return EXIT_OK


# --------------------------------------------------------------------------- main

def parser(settings: dict | None = None) -> argparse.ArgumentParser:
    """The argument parser of ``poli-kg``, its defaults from ``settings`` (see the docstring)."""
    settings = load_settings(DEFAULTS) if settings is None else settings
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--project", type=Path, default=ROOT,
                        help="project folder with ontology/, data/, shapes/ (default: this checkout)")
    out = argparse.ArgumentParser(add_help=False)
    out.add_argument("--out", default=settings["BUILD_DIR"],
                     help="build folder (setting build_dir; default: public/ in the current folder)")

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
    q.add_argument("--format", default="table", choices=list(FORMATS),
                   help="table (default), json/csv/tsv/xml for SELECT/ASK, turtle/ntriples for CONSTRUCT")
    q.set_defaults(func=cmd_query)

    _add_serve(sub, [common, out], settings)
    _add_publish(sub, [common, out])
    _add_release(sub, [common, out], settings)
    p.set_defaults(settings=settings)
    return p


def _add_serve(sub: argparse._SubParsersAction, parents: list[argparse.ArgumentParser],
               settings: dict) -> None:
    s = sub.add_parser("serve", parents=parents, help="serve the SPARQL endpoint and pages")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=8000)
    s.add_argument("--query-timeout", type=float, default=float(settings["QUERY_TIMEOUT"]),
                   help="seconds per query (setting query_timeout; default 30)")
    s.add_argument("--max-results", type=int, default=int(settings["MAX_RESULTS"]),
                   help="rows per SELECT answer (setting max_results; default 10000)")
    s.add_argument("--store", default=settings["STORE"], help=STORE_HELP)
    s.add_argument("--workers", type=int, default=None,
                   help="server worker processes (default: the server's choice)")
    s.add_argument("--server", choices=APPLICATION_SERVERS, default=APPLICATION_SERVERS[0],
                   help="application server (default: %(default)s; granian spends less CPU "
                        "on a request)")
    s.set_defaults(func=cmd_serve)


def _add_publish(sub: argparse._SubParsersAction, parents: list[argparse.ArgumentParser]) -> None:
    u = sub.add_parser(
        "publish", parents=parents,
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


def _add_release(sub: argparse._SubParsersAction, parents: list[argparse.ArgumentParser],
                 settings: dict) -> None:
    r = sub.add_parser(
        "release", parents=parents, help="freeze the build in --out as an immutable release",
        description="Copy the build in --out (as it is: it does not build) into "
                    "RELEASES/VERSION with its release notes: what changed since the previous "
                    "release, per named graph. A release is never replaced, and versions only "
                    "increase. The build's ontology must declare owl:versionInfo VERSION and "
                    "owl:versionIRI <https://w3id.org/poli-kg/ontology/VERSION>.")
    r.add_argument("version", metavar="VERSION", help="the release's version, MAJOR.MINOR.PATCH")
    r.add_argument("--releases", default=settings.get("RELEASES_DIR"), metavar="DIR",
                   help="the releases folder (setting releases_dir; default: releases/ "
                        "beside --out)")
    r.add_argument("--message", "-m", metavar="TEXT",
                   help="what the release is about, put first in its notes")
    r.set_defaults(func=cmd_release)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``poli-kg`` console script; returns the exit code."""
    try:
        settings = load_settings(DEFAULTS)
    except SettingsError as exc:
        _err(f"error: {exc}")
        return EXIT_INPUT
    args = parser(settings).parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
