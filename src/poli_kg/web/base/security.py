"""Abuse controls: per-client rate limiting, security headers, unreadable request bodies.

:func:`init_app` is called by :func:`poli_kg.web.create_app`.

Rate limiting
    Each client IP address has a token bucket holding ``RATE_LIMIT`` tokens, refilled at
    ``RATE_LIMIT`` tokens per ``RATE_WINDOW`` seconds; each request takes one.  A client
    whose bucket is empty gets ``429 Too Many Requests`` with ``Retry-After`` (whole
    seconds until a token is back).  Config keys:

    ``RATE_LIMIT``           tokens per window and bucket size (default 300; 0 turns it off)
    ``RATE_WINDOW``          seconds (default 60)
    ``RATE_LIMIT_LOOPBACK``  also limit loopback clients, 127.0.0.0/8 and ::1 (default
                             False: local tools and the tests are never throttled)
    ``RATE_LIMIT_SLOTS``     clients tracked at once (default 4096)

    The buckets live in one shared memory table (an anonymous file mapped ``MAP_SHARED``)
    created by :func:`init_app`.  ``poli-kg serve`` creates the application once in the
    gunicorn master (``preload_app``), so every worker process inherits the same table and
    a client has one bucket, not one per worker; updates are serialised by a ``lockf``
    lock on that file (per process; the kernel releases it if a worker is killed) and a
    thread lock (per thread).  An application created separately in each process (no
    preload) would have one table per process, i.e. ``RATE_LIMIT`` x processes.
    The table is a small open-addressing hash: when the slots a client hashes to are all
    taken, the least recently seen client's bucket is reused (that client starts again
    with a full bucket: the limiter fails open, never closed).  ``/healthz`` is not
    limited.  Behind a reverse proxy every request comes from the proxy's address: make
    ``request.remote_addr`` the client's (werkzeug's ``ProxyFix``) or limit at the proxy.

Security headers (every response)
    ``X-Content-Type-Options: nosniff``, ``Referrer-Policy: strict-origin-when-cross-origin``
    and a ``Content-Security-Policy``: for HTML :data:`CSP_HTML` (scripts, styles, images,
    fonts and connections from the site only, no inline script, no plugins, no ``<base>``,
    no framing; ``X-Frame-Options: DENY`` for older browsers), for anything else
    :data:`CSP_OTHER` (nothing may load, no framing).  The query page's editor (the vendored
    YASGUI) inserts ``<style>`` elements, so its pages (:data:`INLINE_STYLE_ENDPOINTS`)
    also allow inline styles; scripts stay ``'self'`` there too.

Unreadable request bodies
    A malformed chunked body or a connection that breaks while the body is read makes
    gunicorn raise while the application reads it; that is answered ``400`` instead of
    a 500.
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import ipaddress
import math
import mmap
import os
import struct
import tempfile
import threading
import time
import weakref
from typing import Any

from flask import Flask, Response, current_app, request
from werkzeug.exceptions import BadRequest, TooManyRequests

__all__ = ["CSP_HTML", "CSP_OTHER", "INLINE_STYLE_ENDPOINTS", "RateLimiter", "init_app"]

EXTENSION = "poli_kg.web.base.security"
DEFAULTS: dict[str, Any] = {
    "RATE_LIMIT": 300,
    "RATE_WINDOW": 60,
    "RATE_LIMIT_LOOPBACK": False,
    "RATE_LIMIT_SLOTS": 4096,
}
EXEMPT_PATHS = frozenset({"/healthz"})

CSP_HTML = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")
CSP_OTHER = "default-src 'none'; frame-ancestors 'none'"
INLINE_STYLE_ENDPOINTS = frozenset({"querypage.query_page", "sparql.endpoint"})
"""Endpoints that may render the query page (its editor inserts ``<style>`` elements)."""
FRAMEABLE_ENDPOINTS = frozenset({"reconcile.preview"})
"""Pages other sites may frame: OpenRefine shows the reconciliation preview card in an iframe."""
REFERRER_POLICY = "strict-origin-when-cross-origin"
HTML_TYPES = ("text/html", "application/xhtml+xml")
_NOT_HTML = (("X-Content-Type-Options", "nosniff"), ("Referrer-Policy", REFERRER_POLICY),
             ("Content-Security-Policy", CSP_OTHER))


# -- rate limiting -------------------------------------------------------------------------

_SLOT = struct.Struct("<Qdd")  # key (0: free), tokens, last update (time.monotonic())
_PROBES = 8
_LIMITERS: weakref.WeakSet[RateLimiter] = weakref.WeakSet()


def _after_fork() -> None:
    """In a new process: fresh thread locks (one held by another thread at fork time
    would never be released)."""
    for limiter in list(_LIMITERS):
        limiter._thread_lock = threading.Lock()


os.register_at_fork(after_in_child=_after_fork)


class RateLimiter:
    """Token buckets per client key in a table shared by the processes forked after it.

    ``limit`` tokens per ``window`` seconds; :meth:`take` spends one token of ``client``.
    """

    def __init__(self, limit: int, window: float, slots: int = 4096) -> None:
        if limit <= 0 or window <= 0 or slots <= 0:
            raise ValueError("limit, window and slots must be positive")
        self.limit = float(limit)
        self.rate = limit / window
        self.slots = slots
        self._file = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the limiter
        self._file.truncate(slots * _SLOT.size)
        self._map = mmap.mmap(self._file.fileno(), slots * _SLOT.size, mmap.MAP_SHARED)
        self._thread_lock = threading.Lock()
        _LIMITERS.add(self)

    @staticmethod
    def key(client: str) -> int:
        """The table key of a client (never 0, which marks a free slot)."""
        digest = hashlib.blake2b(client.encode("utf-8", "surrogatepass"), digest_size=8).digest()
        return int.from_bytes(digest, "little") or 1

    def take(self, client: str, now: float | None = None) -> float:
        """Spend a token of ``client``: 0 if it had one, else seconds until it has one."""
        key = self.key(client)
        now = time.monotonic() if now is None else now
        with self._thread_lock:
            fcntl.lockf(self._file.fileno(), fcntl.LOCK_EX)
            try:
                offset = self._slot_for(key)
                old_key, tokens, updated = _SLOT.unpack_from(self._map, offset)
                if old_key != key:
                    tokens = self.limit
                else:
                    tokens = min(self.limit, tokens + max(0.0, now - updated) * self.rate)
                wait = 0.0
                if tokens >= 1.0:
                    tokens -= 1.0
                else:
                    wait = (1.0 - tokens) / self.rate
                _SLOT.pack_into(self._map, offset, key, tokens, now)
                return wait
            finally:
                fcntl.lockf(self._file.fileno(), fcntl.LOCK_UN)

    def _slot_for(self, key: int) -> int:
        """Offset of ``key``'s slot: its own, a free one, or the least recently used one."""
        victim, victim_time = -1, math.inf
        for probe in range(_PROBES):
            offset = ((key + probe) % self.slots) * _SLOT.size
            slot_key, _tokens, updated = _SLOT.unpack_from(self._map, offset)
            if slot_key in (key, 0):
                return offset
            if updated < victim_time:
                victim, victim_time = offset, updated
        return victim


@functools.lru_cache(maxsize=4096)
def _is_loopback(address: str | None) -> bool:
    """Whether the client is this machine (loopback, or no address: a Unix socket).

    Remembered per address: parsing one costs more than the rest of the rate limit.
    """
    if not address:
        return True
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    mapped = getattr(ip, "ipv4_mapped", None)
    return bool(ip.is_loopback or (mapped is not None and mapped.is_loopback))


def limit_rate() -> None:
    """``before_request``: 429 with Retry-After when the client's bucket is empty."""
    # The objects behind the proxies, taken once: each read through one costs ~0.5 µs.
    app, req = current_app._get_current_object(), request._get_current_object()
    limiter: RateLimiter | None = app.extensions[EXTENSION]
    if limiter is None or req.path in EXEMPT_PATHS:
        return
    client = req.remote_addr
    if _is_loopback(client) and not app.config["RATE_LIMIT_LOOPBACK"]:
        return
    wait = limiter.take(client or "local")
    if wait > 0:
        retry = max(1, math.ceil(wait))
        raise TooManyRequests(
            f"Too many requests from {client}: at most {int(limiter.limit)} every "
            f"{app.config['RATE_WINDOW']:g} s. Retry after {retry} s.",
            retry_after=retry)


# -- headers -------------------------------------------------------------------------------

def add_security_headers(response: Response) -> Response:
    """``after_request``: nosniff, referrer policy, CSP (HTML or not), no framing."""
    headers = response.headers
    if response.mimetype not in HTML_TYPES:
        # added, not set: no view writes these, and setting each would search the headers
        headers.extend(_NOT_HTML)
        return response
    csp = CSP_HTML
    if request.endpoint in INLINE_STYLE_ENDPOINTS:
        csp = csp.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")
    if request.endpoint in FRAMEABLE_ENDPOINTS:
        csp = csp.replace("frame-ancestors 'none'", "frame-ancestors *")
    else:
        headers["X-Frame-Options"] = "DENY"
    headers.extend((("X-Content-Type-Options", "nosniff"), ("Referrer-Policy", REFERRER_POLICY),
                    ("Content-Security-Policy", csp)))
    return response


# -- bodies --------------------------------------------------------------------------------

def _body_errors() -> tuple[type[BaseException], ...]:
    """gunicorn's errors for a body it cannot read (bad chunking, connection lost)."""
    try:
        from gunicorn.http.errors import NoMoreData, ParseException
    except ImportError:
        return ()
    return (ParseException, NoMoreData)


def unreadable_body(exc: BaseException) -> Response:
    """A request body that could not be read: 400 (the client's fault), not 500."""
    current_app.logger.info("unreadable request body: %s", exc)
    return current_app.handle_http_exception(BadRequest(  # type: ignore[return-value]
        "The request body could not be read (malformed chunked encoding, or the "
        "connection broke)."))


# -- registration --------------------------------------------------------------------------

def init_app(app: Flask) -> None:
    """Register the rate limiter, the security headers and the body error handler."""
    for key, value in DEFAULTS.items():
        app.config.setdefault(key, value)
    limit = int(app.config["RATE_LIMIT"] or 0)
    app.extensions[EXTENSION] = (
        RateLimiter(limit, float(app.config["RATE_WINDOW"]), int(app.config["RATE_LIMIT_SLOTS"]))
        if limit > 0 else None)
    app.before_request_funcs.setdefault(None, []).insert(0, limit_rate)
    app.after_request(add_security_headers)
    for error in _body_errors():
        app.register_error_handler(error, unreadable_body)
