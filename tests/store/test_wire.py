"""The remote backend's HTTP/1.1 client (:mod:`poli_kg.store.wire`), against a real socket on
127.0.0.1 that answers each request with bytes written out by the test: the framings a SPARQL
server may use (Content-Length, chunked, a body that lasts until the connection closes, an
interim 100 answer), keep-alive reuse, a kept-alive connection the server has closed (the
backend retries once on a new one), and broken answers, raised as :mod:`http.client` raises
them."""

import http.client
import shutil
import socket
import ssl
import subprocess
import threading
import urllib.parse

import pytest

from poli_kg.store import SparqlBackend, StoreUnavailable
from poli_kg.store.wire import Connection

SRX = (b'<?xml version="1.0"?><sparql xmlns="http://www.w3.org/2005/sparql-results#">'
       b'<head><variable name="x"/></head><results><result><binding name="x">'
       b'<literal xml:lang="it">ciao</literal></binding></result></results></sparql>')
XML = "Content-Type: application/sparql-results+xml\r\n"


def chunked(body: bytes, size: int = 50) -> bytes:
    parts = [body[i:i + size] for i in range(0, len(body), size)]
    return b"".join(b"%x;ext=1\r\n%s\r\n" % (len(p), p) for p in parts) + b"0\r\nX-T: 1\r\n\r\n"


class ScriptedServer:
    """Answers the n-th request with ``answers[n]`` (bytes, written as they are); an answer of
    None closes the connection without a word.  ``close_after``: hang up after that answer.
    ``requests``: each request's head and body; ``connections``: how many were accepted."""

    def __init__(self, answers, close_after=(), tls=None):
        self.answers, self.close_after, self.tls = list(answers), set(close_after), tls
        self.requests: list[tuple[bytes, bytes]] = []
        self.connections = 0
        self.sock = socket.create_server(("127.0.0.1", 0))
        scheme = "https" if tls else "http"
        self.url = f"{scheme}://127.0.0.1:{self.sock.getsockname()[1]}/sparql"
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            if self.tls is not None:
                try:
                    conn = self.tls.wrap_socket(conn, server_side=True)
                except OSError:  # the client refused the certificate
                    conn.close()
                    continue
            with conn, conn.makefile("rb") as reader:
                self.converse(conn, reader)

    def converse(self, conn, reader):
        while self.answers:
            head = b""
            while not head.endswith(b"\r\n\r\n"):
                line = reader.readline()
                if not line:
                    return
                head += line
            length = int(next(line.split(b":")[1] for line in head.split(b"\r\n")
                              if line.lower().startswith(b"content-length")))
            self.requests.append((head, reader.read(length)))
            answer = self.answers.pop(0)
            if answer is None:
                return
            conn.sendall(answer)
            if len(self.requests) in self.close_after:
                return

    def close(self):
        self.sock.close()


@pytest.fixture
def scripted():
    servers = []

    def start(*args, **kwargs):
        servers.append(ScriptedServer(*args, **kwargs))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def exchange(server, body=b"query=ASK%7B%7D"):
    parts = urllib.parse.urlsplit(server.url)
    conn = Connection(parts.hostname, parts.port, https=parts.scheme == "https", timeout=5)
    conn.request(parts.path, {"Accept": "text/plain"}, body)
    return conn, conn.response()


def test_a_request_is_one_write_with_its_length_and_host(scripted):
    server = scripted([b"HTTP/1.1 204 No Content\r\n\r\n"])
    conn, response = exchange(server)
    head, body = server.requests[0]
    port = urllib.parse.urlsplit(server.url).port
    assert head.startswith(b"POST /sparql HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n" % port)
    assert b"Content-Length: 15\r\n" in head and b"Accept: text/plain\r\n" in head
    assert body == b"query=ASK%7B%7D"
    assert response.status == 204 and response.read() == b"" and response.isclosed()
    conn.close()


@pytest.mark.parametrize("framing", ["length", "chunked", "until-close"])
def test_every_framing_reads_the_whole_body(scripted, framing):
    head = {"length": f"HTTP/1.1 200 OK\r\nContent-Length: {len(SRX)}\r\n\r\n",
            "chunked": "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
            "until-close": "HTTP/1.0 200 OK\r\n\r\n"}[framing]
    body = chunked(SRX) if framing == "chunked" else SRX
    server = scripted([head.encode() + body], close_after={1} if framing == "until-close" else ())
    conn, response = exchange(server)
    pieces = []
    while piece := response.read1(64):
        assert len(piece) <= 64
        pieces.append(piece)
    assert b"".join(pieces) == SRX and response.isclosed()
    assert response.will_close == (framing == "until-close")
    conn.close()


def test_an_interim_answer_is_skipped_and_headers_are_read_as_given(scripted):
    answer = (b"HTTP/1.1 100 Continue\r\n\r\n"
              b"HTTP/1.1 200 OK\r\nX-Many: a\r\nx-many: b\r\nX-Folded: one\r\n two\r\n"
              b"Connection: close\r\nContent-Length: 2\r\n\r\nok")
    server = scripted([answer])
    conn, response = exchange(server)
    assert (response.status, response.reason) == (200, "OK")
    assert response.getheader("X-MANY") == "a, b" and response.getheader("x-folded") == "one two"
    assert response.getheader("missing", "-") == "-"
    assert response.will_close and response.read(1) == b"o" and response.read() == b"k"
    conn.close()


def test_a_kept_alive_connection_is_reused(scripted):
    answer = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
    server = scripted([answer, answer])
    conn, response = exchange(server)
    assert response.read() == b"ok" and not response.will_close
    parts = urllib.parse.urlsplit(server.url)
    conn.request(parts.path, {}, b"x=1")
    assert conn.response().read() == b"ok" and server.connections == 1
    conn.close()


@pytest.mark.parametrize("answer, error", [
    (b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", http.client.IncompleteRead),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", http.client.IncompleteRead),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab", http.client.IncompleteRead),
    (b"ICY 200 OK\r\n\r\n", http.client.BadStatusLine),
    (b"HTTP/1.1 2000 OK\r\n\r\n", http.client.BadStatusLine),
    (b"", http.client.RemoteDisconnected),
])
def test_broken_answers_raise_as_http_client_does(scripted, answer, error):
    server = scripted([answer], close_after={1})
    parts = urllib.parse.urlsplit(server.url)
    conn = Connection(parts.hostname, parts.port, timeout=5)
    conn.request(parts.path, {}, b"x=1")
    with pytest.raises(error):
        conn.response().read()
    conn.close()


# -- through the backend --------------------------------------------------------------------

def test_the_backend_reads_a_chunked_answer_and_sends_the_query_form_encoded(scripted):
    head = b"HTTP/1.1 200 OK\r\n" + XML.encode() + b"Transfer-Encoding: chunked\r\n\r\n"
    server = scripted([head + chunked(SRX, 7)])
    backend = SparqlBackend(server.url, graphs=("http://e/g",))
    query = "SELECT ?x WHERE { ?s <http://e/p> ?x FILTER(?x != 'è & =+%') }"
    raw = backend.evaluate(query)
    assert raw.rows == [(("literal", "ciao", "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString",
                          "it"),)]
    form = urllib.parse.parse_qs(server.requests[0][1].decode("ascii"), strict_parsing=True)
    assert form == {"query": [query], "default-graph-uri": ["http://e/g"],
                    "named-graph-uri": ["http://e/g"]}
    backend.close()


def test_a_long_query_is_sent_in_the_shorter_encoding(scripted):
    """Every byte of a query is escaped (fast); a long one only as far as need be, so that its
    body stays within the form limits of servlet containers."""
    answer = b"HTTP/1.1 200 OK\r\n" + XML.encode() + b"Content-Length: %d\r\n\r\n" % len(SRX) + SRX
    server = scripted([answer, answer])
    backend = SparqlBackend(server.url, graphs=("http://e/g",))
    short = "SELECT ?x WHERE { ?s ?p ?x }"
    long = f"# {'é' * 5000} {'x' * 50_000}\n{short}"
    for query in (short, long):
        backend.evaluate(query)
    (_, sent_short), (_, sent_long) = server.requests
    assert sent_short.startswith(b"query=%53%45%4c%45%43%54%20")  # S E L E C T space
    assert urllib.parse.parse_qs(sent_long.decode("ascii"))["query"] == [long]
    assert len(sent_long) < 2 * len(long.encode())  # every byte escaped: three times as long
    backend.close()


def test_a_connection_the_store_closed_is_replaced_once(scripted):
    answer = b"HTTP/1.1 200 OK\r\n" + XML.encode() + b"Content-Length: %d\r\n\r\n" % len(SRX) + SRX
    server = scripted([answer, None, answer])  # the second request finds the connection closed
    backend = SparqlBackend(server.url, graphs=("http://e/g",))
    assert backend.evaluate("SELECT ?x WHERE { ?s ?p ?x }").count == 1
    assert backend.evaluate("SELECT ?x WHERE { ?s ?p ?x }").count == 1
    assert server.connections == 2 and len(server.requests) == 3
    backend.close()


def test_a_store_that_never_answers_a_new_connection_is_unavailable(scripted):
    server = scripted([None])
    backend = SparqlBackend(server.url, graphs=("http://e/g",))
    with pytest.raises(StoreUnavailable, match="closed the connection"):
        backend.evaluate("ASK { ?s ?p ?o }")
    assert server.connections == 1  # a new connection is not retried
    backend.close()


@pytest.fixture
def certificate(tmp_path):
    """A self-signed certificate for 127.0.0.1 (openssl), and its key."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
    return cert, key


def test_https_checks_the_certificate(scripted, certificate, monkeypatch):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    server = scripted([b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"], tls=context)
    with pytest.raises(ssl.SSLCertVerificationError):
        exchange(server)  # a certificate no authority of this machine signed
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))  # now one it trusts
    conn, response = exchange(server)
    assert response.read() == b"ok"
    conn.close()
