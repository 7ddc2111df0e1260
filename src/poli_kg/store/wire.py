"""The ``sparql:URL`` backend's HTTP/1.1 client: one keep-alive connection, a POST in one write.

:class:`Connection` sends a request whose body is known in full, as one write, and
:class:`Response` reads the answer's status line and headers into a dict, then its body on
demand (``read1``: at most one receive from the socket).  :mod:`http.client` does the same
work with three to four times the CPU time (a small query to a local Virtuoso, in-process:
about 100 µs against 28 µs an exchange, more on a busy machine): it parses headers with
:mod:`email.parser`, makes a buffered reader for each answer and writes a request in two
parts.  That was most of what the backend added to a small query, so the backend speaks
HTTP itself, and only what it needs:

* answers with ``Content-Length``, ``Transfer-Encoding: chunked``, or a body that lasts until
  the connection ends (then :attr:`Response.will_close`); interim ``1xx`` answers skipped;
* errors as :mod:`http.client` raises them, so callers handle one set:
  :class:`http.client.RemoteDisconnected` (no answer at all: a kept-alive connection the
  server had closed), :class:`http.client.IncompleteRead` (the body ended early),
  :class:`http.client.HTTPException` (a malformed answer), and the socket's ``OSError`` /
  ``TimeoutError``;
* connections made with :func:`socket.create_connection`, so the audit events that the query
  children restrict (``socket.getaddrinfo``, ``socket.connect``) are raised as before;
  ``https`` checks the server's certificate against the system's authorities, as
  :class:`http.client.HTTPSConnection` does.
"""

from __future__ import annotations

import http.client
import socket
import ssl
from collections.abc import Mapping
from typing import BinaryIO

__all__ = ["Connection", "Response"]

_MAX_LINE = 65536
_MAX_HEADERS = 100
_CHUNK = 64 * 1024


class Response:
    """An answer: :attr:`status`, :attr:`reason`, :meth:`getheader`; its body through
    :meth:`read1` and :meth:`read`.  :meth:`isclosed` once the body has been read to its end."""

    def __init__(self, reader: BinaryIO) -> None:
        self._reader = reader
        while True:
            version, self.status, self.reason = _status_line(reader)
            self.headers = _headers(reader)
            if not 100 <= self.status < 200:
                break
        connection = self.headers.get("connection", "").lower()
        empty = self.status in (204, 304)
        self._chunked = not empty and "chunked" in self.headers.get("transfer-encoding", "").lower()
        # bytes left in the body (chunked: in this chunk), None: until the connection ends
        self._left = 0 if empty or self._chunked else _content_length(self.headers)
        self._done = self._left == 0 and not self._chunked
        self._chunks = 0
        self.will_close = ("close" in connection or self._left is None
                           or version == "HTTP/1.0" and "keep-alive" not in connection)

    def getheader(self, name: str, default: str | None = None) -> str | None:
        """The header's value (repeated headers joined with ``", "``), or ``default``."""
        return self.headers.get(name.lower(), default)

    def isclosed(self) -> bool:
        """Whether the body has been read to its end."""
        return self._done

    def read1(self, n: int = _CHUNK) -> bytes:
        """At most ``n`` bytes of the body, with at most one receive; b"" at its end."""
        if self._done or n <= 0:
            return b""
        if self._chunked and self._left == 0:
            self._next_chunk()
            if self._done:
                return b""
        data = self._reader.read1(n if self._left is None else min(n, self._left))
        if not data:
            if self._left is None:  # the body lasts until the connection ends
                self._done = True
                return b""
            raise http.client.IncompleteRead(b"", self._left)
        if self._left is not None:
            self._left -= len(data)
            self._done = self._left == 0 and not self._chunked
        return data

    def read(self, n: int = -1) -> bytes:
        """The next ``n`` bytes of the body (all that is left if ``n`` < 0), fewer at its end."""
        parts: list[bytes] = []
        size = 0
        while n < 0 or size < n:
            data = self.read1(_CHUNK if n < 0 else n - size)
            if not data:
                break
            parts.append(data)
            size += len(data)
        return b"".join(parts)

    def _next_chunk(self) -> None:
        """Read the next chunk's size line (and the end of the previous chunk before it)."""
        if self._chunks:
            _line(self._reader, "chunk end")  # the CRLF after the previous chunk's data
        self._chunks += 1
        size = _line(self._reader, "chunk size").split(b";", 1)[0].strip()
        try:
            self._left = int(size, 16)
        except ValueError:
            raise http.client.IncompleteRead(b"") from None
        if self._left < 0:
            raise http.client.IncompleteRead(b"")
        if self._left == 0:  # the last chunk: skip the trailer
            while _line(self._reader, "trailer") not in (b"\r\n", b"\n"):
                pass
            self._done = True


class Connection:
    """One HTTP/1.1 connection to ``host:port`` (TLS with ``https``), opened on the first
    request; ``timeout`` (seconds) bounds the connection, :attr:`sock` is the socket then."""

    def __init__(self, host: str, port: int, *, https: bool = False,
                 timeout: float | None = None) -> None:
        self.host, self.port, self.https, self.timeout = host, port, https, timeout
        self.sock: socket.socket | None = None
        self._reader: BinaryIO | None = None
        name = f"[{host}]" if ":" in host else host
        self._host_header = name if port == (443 if https else 80) else f"{name}:{port}"

    def request(self, target: str, headers: Mapping[str, str], body: bytes) -> None:
        """Send a POST of ``body`` to ``target`` (connecting first if need be)."""
        if self.sock is None:
            self._connect()
        assert self.sock is not None
        head = "".join([f"POST {target} HTTP/1.1\r\nHost: {self._host_header}\r\n",
                        *(f"{name}: {value}\r\n" for name, value in headers.items()),
                        f"Content-Length: {len(body)}\r\n\r\n"])
        self.sock.sendall(head.encode("ascii") + body)

    def response(self) -> Response:
        """The answer to the request just sent (its status and headers read)."""
        if self._reader is None:
            raise http.client.ResponseNotReady("no request was sent")
        return Response(self._reader)

    def close(self) -> None:
        """Close the connection (the next request opens a new one)."""
        reader, sock, self._reader, self.sock = self._reader, self.sock, None, None
        if reader is not None:
            reader.close()
        if sock is not None:
            sock.close()

    def _connect(self) -> None:
        sock = socket.create_connection((self.host, self.port), self.timeout)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self.https:
                sock = ssl.create_default_context().wrap_socket(sock, server_hostname=self.host)
        except OSError:
            sock.close()
            raise
        self.sock, self._reader = sock, sock.makefile("rb")


def _line(reader: BinaryIO, what: str) -> bytes:
    """One line of an answer's head or chunk framing; IncompleteRead at the connection's end."""
    line = reader.readline(_MAX_LINE + 1)
    if len(line) > _MAX_LINE:
        raise http.client.LineTooLong(what)
    if not line:
        raise http.client.IncompleteRead(b"")
    return line


def _status_line(reader: BinaryIO) -> tuple[str, int, str]:
    """``(version, status, reason)``; RemoteDisconnected if the connection ends first."""
    line = reader.readline(_MAX_LINE + 1)
    if not line:
        raise http.client.RemoteDisconnected("Remote end closed connection without response")
    if len(line) > _MAX_LINE:
        raise http.client.LineTooLong("status line")
    parts = line.decode("iso-8859-1").rstrip("\r\n").split(None, 2)
    if (len(parts) < 2 or not parts[0].startswith("HTTP/1.") or len(parts[1]) != 3
            or not parts[1].isdigit()):
        raise http.client.BadStatusLine(repr(line))
    return parts[0], int(parts[1]), parts[2].strip() if len(parts) == 3 else ""


def _headers(reader: BinaryIO) -> dict[str, str]:
    """The header fields up to the blank line: lower-case name -> value."""
    headers: dict[str, str] = {}
    name = ""
    while True:
        line = reader.readline(_MAX_LINE + 1)
        if len(line) > _MAX_LINE:
            raise http.client.LineTooLong("header line")
        if line in (b"\r\n", b"\n", b""):
            return headers
        if len(headers) >= _MAX_HEADERS:
            raise http.client.HTTPException(f"got more than {_MAX_HEADERS} headers")
        text = line.decode("iso-8859-1")
        if text[0] in " \t" and name:  # an obsolete folded line continues the last field
            headers[name] += " " + text.strip()
            continue
        field, colon, value = text.partition(":")
        if not colon:
            continue
        name, value = field.strip().lower(), value.strip()
        headers[name] = f"{headers[name]}, {value}" if name in headers else value


def _content_length(headers: Mapping[str, str]) -> int | None:
    """The body's length, or None (read to the connection's end) when not given or unusable."""
    try:
        length = int(headers["content-length"])
    except (KeyError, ValueError):
        return None
    return length if length >= 0 else None
