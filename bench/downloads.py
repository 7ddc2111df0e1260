"""Downloads benchmark: three ways to answer ``/downloads/<name>``, side by side in one run.

    python bench/downloads.py [--build-dir DIR] [--seconds 0.3] [--runs 5]

Builds the project into a temporary folder (or uses ``--build-dir``), creates the application
(``create_app``) and answers the same requests through Flask's test client with each of three
senders swapped in for ``poli_kg.web.downloads._send`` (everything else — the build snapshot,
the gzip-twin choice, the security and CORS headers, the access log — is the production code):

``send_file``        Werkzeug's ``send_file(..., conditional=True, etag=…, last_modified=…,
                     max_age=…)``: what the downloads use;
``make_conditional`` a ``Response`` over ``wrap_file`` with the validators set by hand and
                     Werkzeug's ``Response.make_conditional(request, accept_ranges=True, …)``;
``by hand``          hand-written conditional code (If-None-Match with weak comparison,
                     If-Modified-Since, one ``bytes=`` range, 416, HEAD), doing what
                     tests/web/test_downloads.py asks and no more.

It prints two Markdown tables: CPU milliseconds per request (the best of ``--runs`` runs of
``--seconds`` each, the senders interleaved so that they share the machine's state) for a full
GET, a 304 (If-None-Match), a Range request, HEAD and a gzip transfer, on the build's largest
download and its smallest RDF one; then a feature checklist — which behaviour each sender has,
and which of them tests/web/test_downloads.py requires.  The test client reads the whole body
into memory, so a full GET costs the reading of the file too (a real server hands the file
to the socket); the overhead of each sender is what differs between the columns.
"""

from __future__ import annotations

import argparse
import gzip
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from email.utils import format_datetime
from pathlib import Path

from flask import Flask, Response, current_app, request
from flask.testing import FlaskClient
from werkzeug.http import http_date, parse_date, parse_etags
from werkzeug.wsgi import wrap_file

from poli_kg.web import create_app, downloads
from poli_kg.web.base.files import MAX_AGE, BuildFiles, load_build

Sender = Callable[[Path, str, str, str, BuildFiles], Response]


# ------------------------------------------------------------------------ the senders

def send_with_make_conditional(path: Path, content_type: str, filename: str, sha256: str,
                               build: BuildFiles) -> Response:
    """Werkzeug's ``make_conditional`` over a response whose validators are set here."""
    size = path.stat().st_size
    response = current_app.response_class(
        wrap_file(request.environ, open(path, "rb")), direct_passthrough=True,  # closed with the response
        content_type=content_type)
    response.content_length = size
    response.headers["Content-Disposition"] = f"attachment; filename={filename}"
    response.set_etag(sha256)
    response.last_modified = build.built_at
    response.cache_control.public = True
    response.cache_control.max_age = MAX_AGE
    return response.make_conditional(request, accept_ranges=True, complete_length=size)


def _not_modified(etag: str, built_at) -> bool:
    """RFC 9110 §13.2.2: If-None-Match (weak comparison) wins; else If-Modified-Since."""
    header = request.headers.get("If-None-Match")
    if header is not None:
        return parse_etags(header).contains_weak(etag)
    since = parse_date(request.headers.get("If-Modified-Since"))
    return since is not None and built_at <= since


def _byte_range(header: str | None, size: int) -> tuple[int, int] | None | bool:
    """(start, stop) of one ``bytes=`` range; None: the whole file; False: unsatisfiable."""
    if not header or not header.startswith("bytes=") or "," in header:
        return None
    first, _, last = header[6:].strip().partition("-")
    try:
        if not first:
            start, stop = max(size - int(last), 0), size
        else:
            start, stop = int(first), min(int(last) + 1, size) if last else size
    except ValueError:
        return None
    return (start, stop) if start < stop else False


def send_by_hand(path: Path, content_type: str, filename: str, sha256: str,
                 build: BuildFiles) -> Response:
    """The conditional response written out: validators, 304, one range, 416, HEAD."""
    size = path.stat().st_size
    headers = {"ETag": f'"{sha256}"', "Last-Modified": http_date(build.built_at),
               "Cache-Control": f"public, max-age={MAX_AGE}"}
    if _not_modified(sha256, build.built_at):
        return current_app.response_class(status=304, headers=headers)
    headers |= {"Content-Type": content_type, "Accept-Ranges": "bytes",
                "Content-Disposition": f"attachment; filename={filename}"}
    span = _byte_range(request.headers.get("Range"), size)
    if span is False:
        return current_app.response_class(status=416, headers={
            **headers, "Content-Range": f"bytes */{size}"})
    if span is None:
        body = wrap_file(request.environ, open(path, "rb"))  # closed with the response
        response = current_app.response_class(body, headers=headers, direct_passthrough=True)
        response.content_length = size
        return response
    start, stop = span
    with open(path, "rb") as f:
        f.seek(start)
        part = f.read(stop - start)
    headers["Content-Range"] = f"bytes {start}-{stop - 1}/{size}"
    return current_app.response_class(part, status=206, headers=headers)


SENDERS: dict[str, Sender] = {
    "send_file": downloads._send,
    "make_conditional": send_with_make_conditional,
    "by hand": send_by_hand,
}


# ------------------------------------------------------------------------ timing

def requests_for(build: BuildFiles, name: str) -> dict[str, tuple[str, dict[str, str]]]:
    """The measured requests on ``name``: (method, headers) by label."""
    etag = f'"{build.files[name].sha256}"'
    return {
        "GET": ("GET", {}),
        "304": ("GET", {"If-None-Match": etag}),
        "Range": ("GET", {"Range": "bytes=10-1033"}),
        "HEAD": ("HEAD", {}),
        "GET gzip": ("GET", {"Accept-Encoding": "gzip"}),
    }


def ms_per_request(client: FlaskClient, path: str, method: str, headers: dict[str, str],
                   seconds: float) -> float:
    """Requests made for ``seconds`` (wall clock); the CPU time of each, in milliseconds.

    CPU time of this process, not wall time: the test client answers in this process, so
    it is the whole cost of a request, and other work on a shared machine does not add to it.
    """
    count, deadline, cpu = 0, time.perf_counter() + seconds, time.process_time()
    while True:
        response = client.open(path, method=method, headers=headers)
        response.get_data()
        response.close()
        count += 1
        if time.perf_counter() >= deadline:
            return (time.process_time() - cpu) * 1000 / count


def timing_table(app: Flask, build: BuildFiles, names: list[str], seconds: float,
                 runs: int) -> list[str]:
    """Markdown rows: ms per request for each sender (best of ``runs``, interleaved)."""
    client = app.test_client()
    lines = ["| file | request | " + " | ".join(f"`{s}` ms" for s in SENDERS) + " |",
             "|---|---|" + "---:|" * len(SENDERS)]
    for name in names:
        for label, (method, headers) in requests_for(build, name).items():
            samples: dict[str, list[float]] = {s: [] for s in SENDERS}
            for _ in range(runs):
                for sender_name, sender in SENDERS.items():
                    downloads._send = sender
                    samples[sender_name].append(ms_per_request(
                        client, f"/downloads/{name}", method, headers, seconds))
            cells = " | ".join(f"{min(v):.3f}" for v in samples.values())
            size = build.files[name].size
            lines.append(f"| {name} ({size / 1024:.1f} KiB) | {label} | {cells} |")
    downloads._send = SENDERS["send_file"]
    return lines


# ------------------------------------------------------------------------ features

Check = Callable[[FlaskClient, str, BuildFiles], bool]


def _get(client: FlaskClient, name: str, **headers: str):
    return client.get(f"/downloads/{name}", headers=headers)


def _modified(build: BuildFiles, year: int | None = None) -> str:
    stamp = build.built_at if year is None else build.built_at.replace(year=year)
    return format_datetime(stamp, usegmt=True)


def _range_is(client: FlaskClient, name: str, build: BuildFiles, header: str,
              start: int, stop: int) -> bool:
    data = build.files[name].path.read_bytes()
    response = _get(client, name, Range=header)
    return response.status_code == 206 and response.data == data[start:stop] and \
        response.headers.get("Content-Range") == f"bytes {start}-{stop - 1}/{len(data)}"


def _head_like_get(client: FlaskClient, name: str, _build: BuildFiles) -> bool:
    get, head = _get(client, name), client.head(f"/downloads/{name}")
    keys = ("Content-Type", "Content-Length", "Content-Disposition", "ETag", "Last-Modified",
            "Cache-Control", "Accept-Ranges", "Vary")
    return head.status_code == 200 and head.data == b"" and \
        all(head.headers.get(k) == get.headers.get(k) for k in keys)


def _not_modified_is_empty(client: FlaskClient, name: str, build: BuildFiles) -> bool:
    etag = f'"{build.files[name].sha256}"'
    response = _get(client, name, **{"If-None-Match": etag})
    return response.data == b"" and response.headers.get("ETag") == etag


def _if_range(client: FlaskClient, name: str, build: BuildFiles) -> bool:
    etag = f'"{build.files[name].sha256}"'
    same = _get(client, name, Range="bytes=0-9", **{"If-Range": etag}).status_code
    other = _get(client, name, Range="bytes=0-9", **{"If-Range": '"other"'}).status_code
    return same == 206 and other == 200


FEATURES: list[tuple[str, bool, Check]] = [
    ("200 with the file's bytes", True, lambda c, n, b: _get(c, n).data == b.files[n].path.read_bytes()),
    ("exact Content-Type", True, lambda c, n, b: _get(c, n).headers["Content-Type"]
     == b.files[n].file_format.content_type),
    ("Content-Disposition: attachment", True, lambda c, n, b: _get(c, n).headers.get(
        "Content-Disposition") == f"attachment; filename={n}"),
    ("ETag = SHA-256", True, lambda c, n, b: _get(c, n).headers.get("ETag") == f'"{b.files[n].sha256}"'),
    ("Last-Modified = build time", True, lambda c, n, b: _get(c, n).headers.get(
        "Last-Modified") == _modified(b)),
    ("Cache-Control public, max-age", True, lambda c, n, b: _get(c, n).headers.get(
        "Cache-Control") in (f"public, max-age={MAX_AGE}", f"max-age={MAX_AGE}, public")),
    ("Expires", False, lambda c, n, b: "Expires" in _get(c, n).headers),
    ("If-None-Match → 304", True, lambda c, n, b: _get(
        c, n, **{"If-None-Match": f'"{b.files[n].sha256}"'}).status_code == 304),
    ("If-None-Match W/… → 304", True, lambda c, n, b: _get(
        c, n, **{"If-None-Match": f'W/"{b.files[n].sha256}"'}).status_code == 304),
    ("If-None-Match * → 304", False, lambda c, n, b: _get(
        c, n, **{"If-None-Match": "*"}).status_code == 304),
    ("If-Modified-Since same/later → 304, earlier → 200", True, lambda c, n, b:
     _get(c, n, **{"If-Modified-Since": _modified(b)}).status_code == 304
     and _get(c, n, **{"If-Modified-Since": _modified(b, 2100)}).status_code == 304
     and _get(c, n, **{"If-Modified-Since": _modified(b, 2000)}).status_code == 200),
    ("If-None-Match wins over If-Modified-Since", True, lambda c, n, b: _get(
        c, n, **{"If-None-Match": '"other"', "If-Modified-Since": _modified(b)}).status_code == 200),
    ("304: empty, with ETag", True, _not_modified_is_empty),
    ("HEAD: headers of GET, no body", True, _head_like_get),
    ("Accept-Ranges: bytes", True, lambda c, n, b: _get(c, n).headers.get("Accept-Ranges") == "bytes"),
    ("Range bytes=10-109 → 206", True, lambda c, n, b: _range_is(c, n, b, "bytes=10-109", 10, 110)),
    ("Range bytes=-100 (suffix) → 206", False, lambda c, n, b: _range_is(
        c, n, b, "bytes=-100", b.files[n].size - 100, b.files[n].size)),
    ("unsatisfiable Range → 416", False, lambda c, n, b: _get(
        c, n, Range=f"bytes={b.files[n].size + 10}-").status_code == 416),
    ("several ranges → multipart 206", False, lambda c, n, b: _get(
        c, n, Range="bytes=0-1,5-9").status_code == 206),
    ("If-Range", False, _if_range),
    ("gzip twin (route, not sender)", True, lambda c, n, b: _get(
        c, n, **{"Accept-Encoding": "gzip"}).headers.get("Content-Encoding") == "gzip"
     and gzip.decompress(_get(c, n, **{"Accept-Encoding": "gzip"}).data)
     == b.files[n].path.read_bytes()),
]
"""(behaviour, required by tests/web/test_downloads.py, check)."""


def feature_table(app: Flask, build: BuildFiles, name: str) -> list[str]:
    """Markdown rows: which sender has which behaviour, on ``name``."""
    client = app.test_client()
    lines = ["| behaviour | tests need it | " + " | ".join(f"`{s}`" for s in SENDERS) + " |",
             "|---|:-:|" + ":-:|" * len(SENDERS)]
    for label, required, check in FEATURES:
        cells = []
        for sender in SENDERS.values():
            downloads._send = sender
            cells.append("yes" if check(client, name, build) else "**no**")
        lines.append(f"| {label} | {'yes' if required else ''} | {' | '.join(cells)} |")
    downloads._send = SENDERS["send_file"]
    return lines


# ------------------------------------------------------------------------ main

def fresh_build(folder: Path) -> Path:
    """``poli-kg build`` into ``folder/public`` (a new process, as a user would run it)."""
    out = folder / "public"
    subprocess.run([sys.executable, "-m", "poli_kg.cli", "build", "--out", str(out)],
                   check=True, stdout=subprocess.DEVNULL)
    return out


def run(build_dir: Path, seconds: float, runs: int) -> None:
    build = load_build(build_dir)
    rdf = [f for f in build.files.values() if f.is_rdf_dump or f.content == "report"]
    plain = [f for f in rdf if not f.compressed]
    names = [max(plain, key=lambda f: f.size).name, min(plain, key=lambda f: f.size).name]
    app = create_app({"TESTING": True, "BUILD_DIR": str(build_dir)})
    try:
        print(f"## CPU ms per request (test client; best of {runs} × {seconds} s)\n")
        print("\n".join(timing_table(app, build, names, seconds, runs)))
        print(f"\n## Features (on {names[0]})\n")
        print("\n".join(feature_table(app, build, names[0])))
    finally:
        app.extensions["poli_kg.store"].close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build-dir", type=Path, default=None,
                        help="use this build instead of building into a temporary folder")
    parser.add_argument("--seconds", type=float, default=0.3, help="seconds per run (0.3)")
    parser.add_argument("--runs", type=int, default=5, help="runs per cell (5)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="poli-kg-downloads-") as tmp:
        if args.build_dir is None:
            print("building the project into a temporary folder …", file=sys.stderr, flush=True)
            build_dir = fresh_build(Path(tmp))
        else:
            build_dir = args.build_dir
        run(build_dir, args.seconds, args.runs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
