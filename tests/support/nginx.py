"""nginx with the site file of ``deploy/nginx/poli-kg.conf``, for tests and benchmarks.

Debian's ``nginx`` package ships ``/usr/sbin/nginx``.  :class:`Nginx` runs it as a child
process (``nginx -p FOLDER -c FOLDER/nginx.conf -g 'daemon off;'``), never the system-wide
service: everything it writes (pid file, logs, cache, temporary files) is inside its own
folder, and it listens on 127.0.0.1 only.  Its ``nginx.conf`` is Debian's in miniature (the
``http`` block includes the site file); the site file is deploy's, with only what is
particular to a machine replaced (:func:`site_config`): the listening address, the
backends' ports, the cache and log folders.  Usage::

    from tests.support.nginx import Nginx, find_executable

    if find_executable() is None: ...skip...
    with Nginx(tmp_path / "nginx", backends=[8001, 8002]) as proxy:
        proxy.url            # http://127.0.0.1:PORT (no trailing slash)
        proxy.access_log     # one line per request: cache=HIT|MISS|... upstream=ADDR
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

from tests.support.virtuoso import free_port

__all__ = ["SITE", "Nginx", "NginxError", "find_executable", "site_config"]

ROOT = Path(__file__).resolve().parents[2]
SITE = ROOT / "deploy" / "nginx" / "poli-kg.conf"
HOST = "127.0.0.1"
DEPLOYED_BACKENDS = ("127.0.0.1:8001", "127.0.0.1:8002")
"""The backends the site file names (the ports of deploy/systemd/poli-kg@.service)."""

MAIN_TEMPLATE = """\
# Written by tests/support/nginx.py: Debian's nginx.conf in miniature, on {host} only.
{user}worker_processes {workers};
pid {dir}/nginx.pid;
error_log {dir}/logs/error.log warn;
events {{
    worker_connections 1024;
}}
http {{
    sendfile on;
    tcp_nopush on;
    types_hash_max_size 2048;
    default_type application/octet-stream;
    access_log {dir}/logs/access.log;
    client_body_temp_path {dir}/temp/body;
    proxy_temp_path {dir}/temp/proxy;
    fastcgi_temp_path {dir}/temp/fastcgi;
    uwsgi_temp_path {dir}/temp/uwsgi;
    scgi_temp_path {dir}/temp/scgi;
    include {dir}/sites-enabled/poli-kg;
}}
"""


class NginxError(RuntimeError):
    """nginx refused its configuration or did not start."""


def find_executable() -> str | None:
    """Path of ``nginx`` (env ``NGINX`` overrides; Debian puts it in /usr/sbin), or None."""
    override = os.environ.get("NGINX")
    if override:
        return shutil.which(override)
    return shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")


def site_config(port: int, backends: Sequence[int], folder: Path) -> str:
    """The site file with this machine's address, backends and folders.

    Raises NginxError if the site file no longer holds one of the values replaced.
    """
    text = SITE.read_text(encoding="utf-8")
    servers = "\n".join(f"    server {HOST}:{p} max_fails=3 fail_timeout=10s;" for p in backends)
    deployed = "\n".join(f"    server {b} max_fails=3 fail_timeout=10s;"
                         for b in DEPLOYED_BACKENDS)
    replacements = {
        "    listen 80;\n": f"    listen {HOST}:{port};\n",
        "    listen [::]:80;\n": "",
        deployed: servers,
        "/var/cache/": f"{folder}/cache/",
        "/var/log/nginx/": f"{folder}/logs/",
    }
    for old, new in replacements.items():
        if old not in text:
            raise NginxError(f"{SITE} no longer holds {old!r}: update tests/support/nginx.py")
        text = text.replace(old, new)
    return text


class Nginx:
    """nginx in ``directory`` with the deployed site, in front of ``backends`` (ports)."""

    def __init__(self, directory: str | os.PathLike[str], backends: Sequence[int], *,
                 port: int | None = None, workers: int = 1,
                 executable: str | None = None) -> None:
        self.directory = Path(directory).resolve()
        self.backends = list(backends)
        self.port = port or free_port()
        self.workers = workers
        self.executable = executable or find_executable()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT`` (no trailing slash)."""
        return f"http://{HOST}:{self.port}"

    @property
    def conf_path(self) -> Path:
        return self.directory / "nginx.conf"

    @property
    def access_log(self) -> Path:
        """The site's access log (format ``poli_kg`` of the site file)."""
        return self.directory / "logs" / "poli-kg.access.log"

    @property
    def error_log(self) -> Path:
        return self.directory / "logs" / "poli-kg.error.log"

    def write_config(self) -> Path:
        """Write ``nginx.conf`` and ``sites-enabled/poli-kg``; return the former's path."""
        for sub in ("logs", "cache", "temp", "sites-enabled"):
            (self.directory / sub).mkdir(parents=True, exist_ok=True)
        (self.directory / "sites-enabled" / "poli-kg").write_text(
            site_config(self.port, self.backends, self.directory), encoding="utf-8")
        # As root, nginx's workers would run as nobody, who cannot enter a private folder.
        user = "user root;\n" if os.geteuid() == 0 else ""
        self.conf_path.write_text(MAIN_TEMPLATE.format(
            host=HOST, dir=self.directory, user=user, workers=self.workers), encoding="utf-8")
        return self.conf_path

    def command(self, *options: str) -> list[str]:
        if self.executable is None:
            raise NginxError("nginx not found (Debian: apt-get install nginx)")
        return [self.executable, "-p", str(self.directory), "-c", str(self.conf_path), *options]

    def check(self) -> str:
        """``nginx -t`` on the configuration; return its report, raise NginxError if refused."""
        self.write_config()
        result = subprocess.run(self.command("-t"), capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise NginxError(f"nginx -t refused the configuration:\n{result.stderr}")
        return result.stderr

    def start(self, timeout: float = 30) -> Nginx:
        """Start nginx in the foreground and wait until it answers (whatever the backends do)."""
        self.check()
        with open(self.directory / "logs" / "nginx.out", "ab") as out:
            self.process = subprocess.Popen(self.command("-g", "daemon off;"),
                                            stdin=subprocess.DEVNULL, stdout=out,
                                            stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise NginxError(f"nginx exited with {self.process.returncode}:\n"
                                 + self.log_tail())
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=5):
                    return self
            except urllib.error.HTTPError:
                return self  # nginx answered: a backend did not (yet)
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.1)
        self.stop()
        raise NginxError(f"nginx did not answer within {timeout} s:\n" + self.log_tail())

    def log_tail(self, lines: int = 30) -> str:
        """The last lines of nginx's error logs and console output."""
        text = []
        for name in ("error.log", "poli-kg.error.log", "nginx.out"):
            path = self.directory / "logs" / name
            if path.is_file():
                text += path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:]
        return "\n".join(text)

    def stop(self, timeout: float = 20) -> None:
        """Stop nginx (SIGQUIT: finish the requests in progress; SIGKILL if it lingers)."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGQUIT)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def __enter__(self) -> Nginx:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
