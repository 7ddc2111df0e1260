"""A throw-away OpenLink Virtuoso for tests and benchmarks, listening on 127.0.0.1 only.

Debian's ``virtuoso-opensource`` package ships ``/usr/bin/virtuoso-t``.  :class:`Virtuoso`
writes a minimal ``virtuoso.ini`` into a folder of its own, with

* both ports on the loopback interface — ``[Parameters] ServerPort = 127.0.0.1:<free
  port>`` (SQL / ``isql``) and ``[HTTPServer] ServerPort = 127.0.0.1:<free port>`` (HTTP,
  SPARQL) — never on 0.0.0.0;
* the database, transaction log, lock file and temporary database inside that folder,
  ``DirsAllowed = .`` (the folder itself: nothing else is readable with SQL file functions);
* ``[SPARQL] MaxQueryExecutionTime`` (seconds): Virtuoso stops a query that runs longer
  and answers an error (the anonymous endpoint never returns partial results when the
  client sends no ``timeout`` parameter); ``ResultSetMaxRows`` well above any cap of
  poli-kg, so that Virtuoso never cuts a result short silently;

then runs ``virtuoso-t +configfile virtuoso.ini +foreground`` as a child process (killed
with SIGKILL if this process dies: Linux ``PR_SET_PDEATHSIG``) and waits until ``/sparql``
answers.  A fresh database has Virtuoso's default accounts; the ``dba`` account (password
``dba``) may write, through the digest-authenticated endpoints ``/sparql-auth`` (SPARQL
Update) and ``/sparql-graph-crud-auth`` (SPARQL 1.1 Graph Store HTTP Protocol).  These
default credentials are acceptable only because nothing but this machine can reach the
ports.  Usage::

    from tests.support.virtuoso import Virtuoso, find_executable

    if find_executable() is None: ...skip...
    with Virtuoso(tmp_path / "virtuoso") as vt:
        vt.sparql_url            # http://127.0.0.1:PORT/sparql (anonymous, read-only)
        vt.graph_store_url       # http://127.0.0.1:PORT/sparql-graph-crud-auth (dba/dba)
        vt.update_url            # http://127.0.0.1:PORT/sparql-auth (dba/dba)
        vt.isql("SELECT 1;")     # runs isql-vt on the SQL port (dba/dba)
        vt.restrict_anonymous_reads(graphs)   # the anonymous endpoint sees these graphs only

``Virtuoso.running_in(folder)`` administers a server another object started in ``folder``.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

__all__ = ["DBA_PASSWORD", "DBA_USER", "Virtuoso", "VirtuosoError", "find_executable",
           "find_isql", "free_port"]

DBA_USER = "dba"
DBA_PASSWORD = "dba"
"""Virtuoso's default administrator account (loopback-only test instances)."""
HOST = "127.0.0.1"

INI_TEMPLATE = """\
; Written by tests/support/virtuoso.py: a throw-away instance on {host} only.
[Database]
DatabaseFile       = {dir}/virtuoso.db
ErrorLogFile       = {dir}/virtuoso.log
LockFile           = {dir}/virtuoso.lck
TransactionFile    = {dir}/virtuoso.trx
xa_persistent_file = {dir}/virtuoso.pxa
ErrorLogLevel      = 7
FileExtend         = 200
MaxCheckpointRemap = 2000
Striping           = 0
TempStorage        = TempDatabase

[TempDatabase]
DatabaseFile       = {dir}/virtuoso-temp.db
TransactionFile    = {dir}/virtuoso-temp.trx
MaxCheckpointRemap = 2000
Striping           = 0

[Parameters]
ServerPort           = {host}:{sql_port}
DisableUnixSocket    = 1
DisableTcpSocket     = 0
MaxClientConnections = 20
CheckpointInterval   = 60
CaseMode             = 2
AllowOSCalls         = 0
DirsAllowed          = .
NumberOfBuffers      = {buffers}
MaxDirtyBuffers      = {dirty_buffers}
ThreadsPerQuery      = 4

[HTTPServer]
ServerPort           = {host}:{http_port}
ServerRoot           = {dir}/www
MaxClientConnections = 20
ServerThreads        = 20
MaxKeepAlives        = 20
KeepAliveTimeout     = 10
EnabledDavVSP        = 0
HTTPProxyEnabled     = 0
Charset              = UTF-8
EnabledGzipContent   = 0

[SPARQL]
ResultSetMaxRows           = {max_rows}
MaxQueryCostEstimationTime = 0
MaxQueryExecutionTime      = {max_query_seconds}
"""


class VirtuosoError(RuntimeError):
    """Virtuoso could not be started, or a command failed."""


def find_executable() -> str | None:
    """Path of ``virtuoso-t`` (env ``VIRTUOSO_T`` overrides), or None when absent."""
    return os.environ.get("VIRTUOSO_T") or shutil.which("virtuoso-t")


def find_isql() -> str | None:
    """Path of Debian's ``isql-vt`` (or ``isql``), or None."""
    return shutil.which("isql-vt") or shutil.which("isql")


def free_port() -> int:
    """A TCP port of 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _die_with_parent() -> None:
    """preexec_fn: SIGKILL the child when the thread that started it ends (Linux)."""
    name = ctypes.util.find_library("c")
    if name and sys.platform.startswith("linux"):
        ctypes.CDLL(name).prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG


class Virtuoso:
    """One Virtuoso server with its database in ``directory`` (created if missing)."""

    def __init__(
        self,
        directory: str | os.PathLike[str],
        *,
        executable: str | None = None,
        max_query_seconds: int = 10,
        max_rows: int = 10_000_000,
        buffers: int = 20_000,
    ) -> None:
        self.directory = Path(directory).resolve()
        self.executable = executable or find_executable()
        self.max_query_seconds = max_query_seconds
        self.max_rows = max_rows
        self.buffers = buffers
        self.sql_port = 0
        self.http_port = 0
        self.process: subprocess.Popen[bytes] | None = None

    @classmethod
    def running_in(cls, directory: str | os.PathLike[str]) -> Virtuoso:
        """The server running in ``directory``, for :meth:`isql` (its ports from the
        ``virtuoso.ini`` there; stopping it is left to the object that started it)."""
        server = cls(directory)
        ports = {}
        section = ""
        for line in server.ini_path.read_text(encoding="utf-8").splitlines():
            if line.startswith("["):
                section = line.strip("[] ")
            elif line.strip().startswith("ServerPort"):
                ports[section] = int(line.rsplit(":", 1)[1])
        server.sql_port, server.http_port = ports["Parameters"], ports["HTTPServer"]
        return server

    # -- addresses ------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT`` (no trailing slash)."""
        return f"http://{HOST}:{self.http_port}"

    @property
    def sparql_url(self) -> str:
        """The anonymous, read-only SPARQL endpoint."""
        return self.base_url + "/sparql"

    @property
    def update_url(self) -> str:
        """The digest-authenticated SPARQL endpoint that accepts SPARQL Update (dba)."""
        return self.base_url + "/sparql-auth"

    @property
    def graph_store_url(self) -> str:
        """The digest-authenticated SPARQL 1.1 Graph Store HTTP Protocol endpoint (dba)."""
        return self.base_url + "/sparql-graph-crud-auth"

    @property
    def ini_path(self) -> Path:
        return self.directory / "virtuoso.ini"

    @property
    def log_path(self) -> Path:
        return self.directory / "virtuoso.log"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    # -- life cycle -----------------------------------------------------------------

    def write_ini(self) -> Path:
        """Write ``virtuoso.ini`` with fresh free ports; return its path."""
        self.directory.mkdir(parents=True, exist_ok=True)
        (self.directory / "www").mkdir(exist_ok=True)
        self.sql_port = free_port()
        self.http_port = free_port()
        while self.http_port == self.sql_port:
            self.http_port = free_port()
        self.ini_path.write_text(INI_TEMPLATE.format(
            host=HOST, dir=self.directory, sql_port=self.sql_port, http_port=self.http_port,
            buffers=self.buffers, dirty_buffers=self.buffers * 3 // 4, max_rows=self.max_rows,
            max_query_seconds=self.max_query_seconds), encoding="utf-8")
        return self.ini_path

    def start(self, timeout: float = 120, attempts: int = 3) -> Virtuoso:
        """Start the server and wait until ``/sparql`` answers (retrying on port clashes)."""
        if self.executable is None:
            raise VirtuosoError("virtuoso-t not found (Debian: apt-get install virtuoso-opensource)")
        last = ""
        for _ in range(attempts):
            self.write_ini()
            with open(self.directory / "virtuoso.out", "ab") as out:
                self.process = subprocess.Popen(
                    [self.executable, "+configfile", str(self.ini_path), "+foreground"],
                    cwd=self.directory, stdin=subprocess.DEVNULL, stdout=out,
                    stderr=subprocess.STDOUT, preexec_fn=_die_with_parent)
            try:
                self._wait_ready(timeout)
                return self
            except VirtuosoError as exc:
                last = str(exc)
                self.stop()
                if "in use" not in last and "bind" not in last.lower():
                    break
        raise VirtuosoError(last)

    def _wait_ready(self, timeout: float) -> None:
        """Wait until the SPARQL endpoint answers a trivial query."""
        deadline = time.monotonic() + timeout
        probe = self.sparql_url + "?" + urllib.parse.urlencode({"query": "ASK {}"})
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise VirtuosoError(f"virtuoso-t exited with {self.process.returncode}:\n"
                                    + self.log_tail())
            try:
                with urllib.request.urlopen(probe, timeout=5) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.2)
        raise VirtuosoError(f"Virtuoso did not answer within {timeout} s:\n" + self.log_tail())

    def log_tail(self, lines: int = 30) -> str:
        """The last lines of Virtuoso's log and console output."""
        text = []
        for path in (self.log_path, self.directory / "virtuoso.out"):
            if path.is_file():
                text += path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:]
        return "\n".join(text)

    def stop(self, timeout: float = 30) -> None:
        """Stop the server (SIGTERM, then SIGKILL if it lingers) and reap it."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def __enter__(self) -> Virtuoso:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    # -- administration ---------------------------------------------------------------

    def restrict_anonymous_reads(self, graphs: Sequence[str]) -> None:
        """Graph-level security: the anonymous endpoint (Virtuoso's user ``nobody``) may read
        ``graphs`` and no other — not Virtuoso's own system graphs, nor graphs made later
        (``dba`` keeps every right).  Its dataset is then exactly ``graphs``: what poli-kg's
        ``REMOTE_DATASET=store`` asks of a store."""
        quoted = [g.replace("'", "''") for g in graphs]
        self.isql("DB.DBA.RDF_DEFAULT_USER_PERMS_SET ('nobody', 0);\n" + "".join(
            f"DB.DBA.RDF_GRAPH_USER_PERMS_SET ('{g}', 'nobody', 1);\n" for g in quoted))

    def isql(self, sql: str, timeout: float = 60) -> str:
        """Run SQL statements with ``isql-vt`` as dba on the SQL port; return the output."""
        isql = find_isql()
        if isql is None:
            raise VirtuosoError("isql-vt not found")
        result = subprocess.run(
            [isql, f"{HOST}:{self.sql_port}", DBA_USER, DBA_PASSWORD, "VERBOSE=OFF",
             "BANNER=OFF", "PROMPT=OFF", "ECHO=OFF", "ERRORS=STDOUT"],
            input=sql.encode(), capture_output=True, timeout=timeout, check=False)
        output = result.stdout.decode("utf-8", errors="replace")
        if result.returncode != 0 or "*** Error" in output:
            raise VirtuosoError(f"isql failed ({result.returncode}): {output}"
                                f"{result.stderr.decode(errors='replace')}")
        return output
