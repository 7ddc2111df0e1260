"""Run store calls in child processes, so that a runaway query can be killed.

Queries never run in a web worker itself.  A thread that needs the store takes an idle
child process of the worker (the one that was used last: its caches are the warmest), or
forks one when none is idle, and has it to itself until the answer is back: it sends a
call down a pipe and waits for the answer at most ``timeout`` seconds, then gives the
child back.  There are never more children than calls at the same time.  On timeout the
child is killed (SIGKILL), reaped, and a fresh child is forked at once, so the next query
is answered without delay and no CPU keeps burning.

The child opens its backend right after the fork (``opener()``); a backend that
holds files or threads (RocksDB) is therefore never opened before a fork.  A
backend that is plain Python data (the rdflib in-memory dataset) may be loaded
before forking and is then shared copy-on-write: its opener just returns it.

Children die with their parent: ``prctl(PR_SET_PDEATHSIG, SIGKILL)`` (Linux; it
fires when the *thread* that forked the child ends) and, everywhere, the EOF on
the pipe when the parent goes away.

Usage::

    ex = Executor(opener, expected_errors=(QueryError,))
    result = ex.call("execute", (query,), {"form": "SELECT", ...}, timeout=30)

Exceptions raised by the child that are instances of ``expected_errors`` are
re-raised in the parent; any other failure kills the child and is reported as
:class:`ChildFailed`.  A timeout is reported as :class:`QueryTimeout`.

Memory: while a call runs longer than :data:`MEMORY_CHECK_INTERVAL`, the parent checks
the child's private memory (``Private_Dirty`` in ``/proc/PID/smaps_rollup``: what the
query allocated, not the pages it shares with the web worker) at that interval; above
``memory_limit`` bytes (default: the environment variable ``POLI_KG_QUERY_MEMORY_MB``,
else 1024 MB; ``0`` turns the check off) the child is killed and replaced like on a
timeout, and :class:`QueryMemoryExceeded` is raised.  A runaway ``ORDER BY`` or
``DISTINCT`` over a cross join allocates about 1 GB a second; without the check four of
them would exhaust a machine's memory well within a 30 s timeout.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import logging
import os
import pickle
import select
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, Pipe
from typing import Any

log = logging.getLogger(__name__)

PR_SET_PDEATHSIG = 1
CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000
# Signals whose handlers the child inherits from a web worker (gunicorn installs
# handlers for these) and must reset so that it can be stopped normally.
_RESET_SIGNALS = (
    signal.SIGTERM, signal.SIGINT, signal.SIGQUIT, signal.SIGHUP,
    signal.SIGUSR1, signal.SIGUSR2, signal.SIGWINCH, signal.SIGCHLD, signal.SIGTTIN,
    signal.SIGTTOU,
)
MEMORY_CHECK_INTERVAL = 0.2
"""Seconds between two checks of a running child's memory."""
MEMORY_LIMIT_ENV = "POLI_KG_QUERY_MEMORY_MB"
DEFAULT_MEMORY_LIMIT_MB = 1024
# Audit events refused in the child: it must never open a network connection.
_NETWORK_EVENTS = frozenset({"socket.connect", "socket.getaddrinfo", "urllib.Request"})


def _dumps(value: Any) -> bytes:
    """``value`` pickled for the pipe: plain pickle, not the connection's ForkingPickler, whose
    extra reducers (for sockets and descriptors, never sent here) cost it twice as much."""
    return pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)


class QueryTimeout(Exception):
    """The call did not finish within its timeout; its child process was killed."""


class QueryMemoryExceeded(QueryTimeout):
    """The call used more memory than allowed; its child process was killed."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"the query needed more than {limit // 2**20} MB of memory")
        self.limit = limit


class ChildFailed(Exception):
    """The child process died or failed unexpectedly while handling a call."""


class NetworkAccessDenied(PermissionError):
    """Raised inside a child process when code tries to open a network connection."""


@dataclass
class _Child:
    """One child process and the parent's end of its pipe."""

    pid: int
    conn: Connection
    owner_pid: int
    thread: threading.Thread
    started: float = field(default_factory=time.monotonic)
    # One poll object per pipe, registered once: Connection.poll builds a selector at every
    # call, which costs as much as a small query's answer.
    poller: select.poll = field(default_factory=select.poll)

    def __post_init__(self) -> None:
        self.poller.register(self.conn.fileno(), select.POLLIN)

    def answered(self, timeout: float) -> bool:
        """Whether the child's answer (or its end: a hang-up) arrives within ``timeout`` s."""
        return bool(self.poller.poll(max(timeout, 0.0) * 1000))


def default_memory_limit() -> int | None:
    """Bytes a child may allocate: ``$POLI_KG_QUERY_MEMORY_MB`` MB (0: no limit), else 1024 MB."""
    value = os.environ.get(MEMORY_LIMIT_ENV, "").strip()
    megabytes = int(value) if value else DEFAULT_MEMORY_LIMIT_MB
    return megabytes * 2**20 if megabytes > 0 else None


def private_memory(pid: int) -> int | None:
    """Bytes of memory private to process ``pid`` (Linux; None where unknown)."""
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as f:
            for line in f:
                if line.startswith(b"Private_Dirty:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _libc() -> ctypes.CDLL | None:
    """The C library on Linux, else None."""
    if not sys.platform.startswith("linux"):
        return None
    name = ctypes.util.find_library("c")
    return ctypes.CDLL(name, use_errno=True) if name else None


def _set_parent_death_signal(libc: ctypes.CDLL | None) -> None:
    """Ask Linux to SIGKILL this process when the thread that forked it ends."""
    if libc is not None:
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def _isolate_network(libc: ctypes.CDLL | None) -> bool:
    """Move this (single-threaded) process into an empty network namespace.

    Defence in depth: even a query engine that tried to open a connection
    (SPARQL SERVICE in Rust code) would find no network, not even loopback.
    Needs CAP_SYS_ADMIN or unprivileged user namespaces; returns whether it worked.
    """
    if libc is None:
        return False
    for flags in (CLONE_NEWNET, CLONE_NEWUSER | CLONE_NEWNET):
        if libc.unshare(flags) == 0:
            return True
    return False


def _deny_network(event: str, args: tuple[Any, ...]) -> None:
    """Audit hook for child processes: refuse any attempt to reach the network."""
    if event in _NETWORK_EVENTS:
        raise NetworkAccessDenied(
            "network access is disabled while answering queries "
            f"(refused {event})"
        )


def _child_main(
    conn: Connection,
    parent_pid: int,
    opener: Callable[[], object],
    expected_errors: tuple[type[BaseException], ...],
    isolate_network: bool,
) -> None:
    """Body of a child process: open the backend, then answer calls until EOF."""
    gc.freeze()  # objects inherited from the parent are never collected (and closed) here
    libc = _libc()
    _set_parent_death_signal(libc)
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os._exit(0)
    for signum in _RESET_SIGNALS:
        signal.signal(signum, signal.SIG_DFL)
    signal.set_wakeup_fd(-1)
    # Close every descriptor inherited from the worker (listening socket, client
    # connections, other children's pipes) except stdio and our own pipe.
    keep = conn.fileno()
    os.closerange(3, keep)
    os.closerange(keep + 1, os.sysconf("SC_OPEN_MAX"))
    sys.addaudithook(_deny_network)
    if isolate_network:
        _isolate_network(libc)

    backend: object | None = None
    open_error: BaseException | None = None
    try:
        backend = opener()
    except expected_errors as exc:
        open_error = exc
    while True:
        try:
            method, args, kwargs = pickle.loads(conn.recv_bytes())
        except (EOFError, OSError):
            os._exit(0)
        if open_error is not None:
            reply: tuple[str, Any] = ("error", open_error)
        else:
            try:
                reply = ("ok", getattr(backend, method)(*args, **kwargs))
            except expected_errors as exc:
                reply = ("error", exc)
        try:
            conn.send_bytes(_dumps(reply))
        except (BrokenPipeError, ConnectionResetError):
            os._exit(0)


class Executor:
    """Child processes that run calls on a backend, one call at a time each, with timeouts.

    ``opener`` is called in each child, right after the fork, and must return the
    backend object whose methods :meth:`call` invokes by name.  Exceptions of the
    ``expected_errors`` types raised by ``opener`` or the backend are passed back
    to the caller.  With ``isolate_network`` each child tries to move into an
    empty network namespace (Linux; silently skipped where not permitted).
    ``memory_limit``: bytes of private memory a call may use (None: no limit; the
    default, -1, reads :func:`default_memory_limit`).
    """

    def __init__(
        self,
        opener: Callable[[], object],
        *,
        expected_errors: tuple[type[BaseException], ...] = (),
        isolate_network: bool = True,
        memory_limit: int | None = -1,
    ) -> None:
        self._opener = opener
        self._memory_limit = default_memory_limit() if memory_limit == -1 else memory_limit
        self._expected = expected_errors
        self._isolate_network = isolate_network
        self._idle: list[_Child] = []  # a stack: the last child given back is taken first
        self._children: dict[int, _Child] = {}
        self._lock = threading.Lock()
        self._pid = os.getpid()

    # -- public API ---------------------------------------------------------

    def call(
        self,
        method: str,
        args: Sequence[Any] = (),
        kwargs: Mapping[str, Any] | None = None,
        *,
        timeout: float,
    ) -> Any:
        """Run ``backend.method(*args, **kwargs)`` in an idle child process (see the module).

        Raises :class:`QueryTimeout` after ``timeout`` seconds (the child is killed
        and replaced), :class:`QueryMemoryExceeded` when the child uses more than the
        memory limit (likewise), :class:`ChildFailed` if the child dies, or any of the
        ``expected_errors`` raised by the backend.  An argument that cannot be pickled is
        refused before a child is taken; a child whose call failed in any other way (an
        interrupt) is killed, never given back in an unknown state.
        """
        message = _dumps((method, tuple(args), dict(kwargs or {})))
        child = self._take()
        answered = False
        try:
            try:
                child.conn.send_bytes(message)
            except (BrokenPipeError, ConnectionResetError):
                # The idle child died (killed from outside?): replace it and retry once.
                self._discard(child)
                child = self._spawn()
                child.conn.send_bytes(message)
            ready = self._wait(child, timeout)
            if ready is not True:
                self._discard(child)
                self._give_back(self._spawn())  # fork the replacement now: the next call is fast
                if ready is False:
                    raise QueryTimeout(f"the query did not finish within {timeout:g} s")
                raise QueryMemoryExceeded(ready)
            try:
                status, value = pickle.loads(child.conn.recv_bytes())
            except (EOFError, OSError) as exc:
                code = self._discard(child)
                raise ChildFailed(f"the query process ended unexpectedly ({code})") from exc
            answered = True
        finally:
            if answered:
                self._give_back(child)
            elif self._registered(child):  # not discarded above: its state is unknown
                self._discard(child)
        if status == "error":
            raise value
        return value

    def child_pids(self) -> list[int]:
        """Process ids of the live children of this executor (for tests and monitoring)."""
        with self._lock:
            return [c.pid for c in self._children.values() if c.owner_pid == os.getpid()]

    def close(self) -> None:
        """Kill and reap every child process of this executor."""
        with self._lock:
            children = list(self._children.values())
            self._children.clear()
            self._idle.clear()
        for child in children:
            if child.owner_pid == os.getpid():
                self._kill(child)

    # -- internals ----------------------------------------------------------

    def _wait(self, child: _Child, timeout: float) -> bool | int:
        """Wait for the child's answer: True when it is there (or the child is gone),
        False after ``timeout`` seconds, the memory limit when the child exceeds it."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            step = remaining if self._memory_limit is None else \
                min(remaining, MEMORY_CHECK_INTERVAL)
            try:
                if child.answered(step):
                    return True
            except OSError:
                return True
            if step >= remaining:
                return False
            used = private_memory(child.pid)
            if self._memory_limit is not None and used is not None and used > self._memory_limit:
                log.warning("query process %d stopped: %d MB of memory (limit %d MB)",
                            child.pid, used // 2**20, self._memory_limit // 2**20)
                return self._memory_limit

    def _take(self) -> _Child:
        """An idle child of this process (the last given back), or a new one."""
        with self._lock:
            while self._idle:
                child = self._idle.pop()
                if (child.owner_pid == os.getpid() and child.pid in self._children
                        and child.thread.is_alive()):
                    return child
        self._reap_orphans()
        return self._spawn()

    def _give_back(self, child: _Child) -> None:
        with self._lock:
            if child.pid in self._children:
                self._idle.append(child)

    def _registered(self, child: _Child) -> bool:
        with self._lock:
            return self._children.get(child.pid) is child

    def _spawn(self) -> _Child:
        """Fork a child process (it dies with the current thread: see the module's notes)."""
        parent_end, child_end = Pipe(duplex=True)
        parent_pid = os.getpid()
        pid = os.fork()
        if pid == 0:  # child
            parent_end.close()
            try:
                _child_main(child_end, parent_pid, self._opener, self._expected,
                            self._isolate_network)
            except BaseException:  # process boundary: report on stderr, then die
                traceback.print_exc()
            finally:
                os._exit(1)
        child_end.close()
        child = _Child(pid=pid, conn=parent_end, owner_pid=parent_pid,
                       thread=threading.current_thread())
        with self._lock:
            self._children[pid] = child
        log.debug("forked query process %d for thread %s", pid, child.thread.name)
        return child

    def _discard(self, child: _Child) -> str:
        """Kill and reap ``child``, forget it, and describe how it ended."""
        with self._lock:
            self._children.pop(child.pid, None)
        return self._kill(child)

    @staticmethod
    def _kill(child: _Child) -> str:
        """SIGKILL and reap one child; return a description of its exit status."""
        child.conn.close()
        try:
            os.kill(child.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            _, status = os.waitpid(child.pid, 0)
        except ChildProcessError:
            return "already reaped"
        if os.WIFSIGNALED(status):
            return f"signal {os.WTERMSIG(status)}"
        return f"exit status {os.waitstatus_to_exitcode(status)}"

    def _reap_orphans(self) -> None:
        """Kill and reap children whose forking thread has ended (PR_SET_PDEATHSIG has
        killed them already; the ones that were idle are dropped when next taken)."""
        with self._lock:
            dead = [c for c in self._children.values()
                    if c.owner_pid == os.getpid() and not c.thread.is_alive()]
            for child in dead:
                del self._children[child.pid]
        for child in dead:
            self._kill(child)
