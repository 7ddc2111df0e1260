"""A bare pyoxigraph SPARQL server: the limit for a Python service, no Flask in front.

    python bench/oxigraph_server.py BUILD_DIR/store [--port 0]

Opens the build's on-disk Oxigraph store read-only and answers the SPARQL 1.1 Protocol's
query operation (``GET ?query=`` and ``POST`` form-encoded or ``application/sparql-query``)
on ``http://127.0.0.1:PORT/sparql`` with the standard library's threading HTTP/1.1 server
(keep-alive; one thread per connection).  The default graph is the union of the named
graphs, as on poli-kg's endpoint.  SELECT and ASK answer SPARQL JSON results, CONSTRUCT and
DESCRIBE N-Triples.  It has none of poli-kg's safety rules (timeouts, memory cap, refusals):
it is the reference for the benchmarks only.  Prints ``listening URL`` once it serves.
"""

from __future__ import annotations

import argparse
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pyoxigraph as ox


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body leave at once, not 40 ms apart
    store: ox.Store

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self.answer(parse_qs(urlsplit(self.path).query).get("query", [""])[0])

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode("utf-8")
        if self.headers.get("Content-Type", "").startswith("application/sparql-query"):
            self.answer(body)
        else:
            self.answer(parse_qs(body).get("query", [""])[0])

    def answer(self, query: str) -> None:
        if urlsplit(self.path).path != "/sparql":
            return self.send(404, "text/plain", b"not found\n")
        try:
            result = self.store.query(query, use_default_graph_as_union=True)
        except SyntaxError as exc:
            return self.send(400, "text/plain", f"{exc}\n".encode())
        if isinstance(result, ox.QueryTriples):
            body = result.serialize(format=ox.RdfFormat.N_TRIPLES)
            return self.send(200, "application/n-triples", body)
        body = result.serialize(format=ox.QueryResultsFormat.JSON)
        self.send(200, "application/sparql-results+json", body)

    def send(self, status: int, media_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", media_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - no access log
        pass


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):  # wrk hangs up at its end
            super().handle_error(request, client_address)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("store", help="an Oxigraph store folder (BUILD_DIR/store)")
    parser.add_argument("--port", type=int, default=0, help="0: any free port")
    args = parser.parse_args(argv)
    Handler.store = ox.Store.read_only(args.store)
    server = Server(("127.0.0.1", args.port), Handler)
    print(f"listening http://127.0.0.1:{server.server_address[1]}/sparql", flush=True)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
