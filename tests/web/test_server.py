"""The application servers of ``poli-kg serve`` (gunicorn, granian), run as in production."""

from __future__ import annotations

import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from poli_kg.web.server import SERVERS

SLOW_QUERY = ("SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i } ")
"""A query that keeps a request in progress for a while (it is stopped by the timeout)."""


@pytest.mark.parametrize("server", SERVERS)
def test_the_server_tells_systemd_when_it_listens(start_server, tmp_path, monkeypatch, server):
    """``Type=notify`` units (deploy/systemd) wait for READY=1 on $NOTIFY_SOCKET."""
    address = tmp_path / "notify"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as listener:
        listener.bind(str(address))
        listener.settimeout(60)
        monkeypatch.setenv("NOTIFY_SOCKET", str(address))
        started = start_server("--workers", "1", "--server", server)
        message = listener.recv(4096).decode("ascii")
    assert "READY=1" in message.splitlines()
    assert requests.get(started.url + "/healthz", timeout=10).status_code == 200


@pytest.mark.parametrize("server", SERVERS)
def test_stopping_lets_the_requests_in_progress_finish(start_server, server):
    """SIGTERM (systemctl stop, a restart) answers the requests already taken, then exits."""
    started = start_server("--workers", "1", "--query-timeout", "2", "--server", server)
    with ThreadPoolExecutor(max_workers=2) as pool:
        pending = [pool.submit(requests.get, started.url + "/sparql",
                               params={"query": SLOW_QUERY}, timeout=30) for _ in range(2)]
        time.sleep(0.5)  # both are in progress
        stopping = threading.Thread(target=started.stop)
        stopping.start()
        statuses = [future.result().status_code for future in pending]
        stopping.join(30)
    assert statuses == [503, 503]  # stopped by the query timeout, answered all the same
    assert started.process.returncode is not None


def test_an_unknown_server_is_refused(tmp_path):
    from poli_kg.web.server import run

    with pytest.raises(ValueError, match="unknown server 'uwsgi'"):
        run(tmp_path, server="uwsgi")
