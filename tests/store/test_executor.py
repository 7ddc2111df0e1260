"""Killable query processes: timeouts, crashes, threads, inherited descriptors, the network."""

import os
import pickle
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time

import psutil
import pytest

from poli_kg.store.executor import ChildFailed, Executor, NetworkAccessDenied, QueryTimeout


class ToyError(Exception):
    """An error the toy backend raises on purpose."""


class Toy:
    """A stand-in backend: each method does one thing in the child process."""

    def pid(self) -> int:
        return os.getpid()

    def nap(self, seconds: float) -> int:
        time.sleep(seconds)
        return os.getpid()

    def echo(self, value, *, suffix=""):
        return f"{value}{suffix}"

    def spin(self) -> None:
        while True:
            pass

    def fail(self) -> None:
        raise ToyError("nope")

    def crash(self) -> None:
        os._exit(3)

    def connect(self, port: int) -> str:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
        return "connected"

    def curl(self, port: int) -> int:
        """Connect from a process the audit hook does not watch (like Rust code would)."""
        return subprocess.run(["curl", "-s", "-m", "3", f"http://127.0.0.1:{port}/"],
                              capture_output=True).returncode

    def netns(self) -> str:
        return os.readlink("/proc/self/ns/net")


class FailingOpener:
    """An opener that cannot open its backend."""

    def __call__(self):
        raise ToyError("cannot open")


@pytest.fixture
def executor():
    ex = Executor(Toy, expected_errors=(ToyError, NetworkAccessDenied))
    yield ex
    ex.close()


def wait_gone(pid: int, timeout: float = 5) -> bool:
    """Whether ``pid`` ends (or is a zombie) within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.05)
    return False


def test_calls_run_in_a_child_process(executor):
    assert executor.call("echo", ("a",), {"suffix": "b"}, timeout=5) == "ab"
    child = executor.call("pid", timeout=5)
    assert child != os.getpid()
    assert psutil.Process(child).ppid() == os.getpid()
    assert executor.child_pids() == [child]
    assert executor.call("pid", timeout=5) == child  # the same child serves the thread


def test_expected_errors_are_raised_in_the_caller(executor):
    with pytest.raises(ToyError, match="nope"):
        executor.call("fail", timeout=5)
    assert executor.call("echo", ("still here",), timeout=5) == "still here"


def test_opener_errors_are_raised_on_every_call():
    ex = Executor(FailingOpener(), expected_errors=(ToyError,))
    try:
        for _ in range(2):
            with pytest.raises(ToyError, match="cannot open"):
                ex.call("pid", timeout=5)
    finally:
        ex.close()


def test_timeout_kills_the_child_and_the_next_call_is_fast(executor):
    old = executor.call("pid", timeout=5)
    start = time.monotonic()
    with pytest.raises(QueryTimeout):
        executor.call("spin", timeout=1)
    assert time.monotonic() - start < 2
    assert not psutil.pid_exists(old)  # killed and reaped
    start = time.monotonic()
    new = executor.call("pid", timeout=5)
    assert time.monotonic() - start < 1
    assert new != old
    # nothing keeps burning CPU: the only child left is idle
    children = psutil.Process().children(recursive=True)
    assert [c.pid for c in children if c.pid in executor.child_pids()] == [new]
    proc = psutil.Process(new)
    proc.cpu_percent(None)
    time.sleep(0.5)
    assert proc.cpu_percent(None) < 20


def test_a_crash_is_reported_and_the_child_replaced(executor):
    old = executor.call("pid", timeout=5)
    with pytest.raises(ChildFailed, match="exit status 3"):
        executor.call("crash", timeout=5)
    assert not psutil.pid_exists(old)
    assert executor.call("pid", timeout=5) != old


def test_a_child_killed_while_idle_is_replaced(executor):
    old = executor.call("pid", timeout=5)
    os.kill(old, signal.SIGKILL)
    assert wait_gone(old)
    assert executor.call("echo", ("ok",), timeout=5) == "ok"


def test_concurrent_calls_have_children_of_their_own_which_die_with_their_thread(executor):
    pids: list[int] = []
    threads = [threading.Thread(target=lambda: pids.append(executor.call("nap", (0.5,), timeout=5)))
               for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(pids)) == 3
    for pid in pids:  # PR_SET_PDEATHSIG: the thread that forked it has ended
        assert wait_gone(pid)
    executor.call("pid", timeout=5)  # spawning a child reaps the orphans
    assert not any(psutil.pid_exists(p) for p in pids)


def test_a_call_that_fails_in_the_parent_leaves_no_child_behind(executor):
    for _ in range(3):
        with pytest.raises((AttributeError, TypeError, pickle.PicklingError)):
            executor.call("echo", (lambda: None,), timeout=5)  # cannot be sent
    assert executor.child_pids() == []  # refused before a child was taken
    assert executor.call("echo", ("ok",), timeout=5) == "ok"
    assert len(executor.child_pids()) == 1


def test_an_idle_child_serves_the_next_thread(executor):
    first = executor.call("pid", timeout=5)
    pids: list[int] = []
    t = threading.Thread(target=lambda: pids.append(executor.call("pid", timeout=5)))
    t.start()
    t.join()
    assert pids == [first]  # warm caches; no fork per thread
    assert executor.child_pids() == [first]


def test_children_do_not_keep_the_parents_sockets(executor, tcp_listener):
    child = executor.call("pid", timeout=5)
    assert psutil.Process(child).net_connections(kind="inet") == []
    fds = os.listdir(f"/proc/{child}/fd")
    assert len(fds) <= 4  # stdin, stdout, stderr, its pipe


def test_children_cannot_open_connections(executor, tcp_listener):
    with pytest.raises(NetworkAccessDenied):
        executor.call("connect", (tcp_listener.port,), timeout=5)
    assert tcp_listener.connections == 0


@pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl")
def test_children_live_in_an_empty_network_namespace(executor, tcp_listener):
    if executor.call("netns", timeout=5) == os.readlink("/proc/self/ns/net"):
        pytest.skip("network namespaces are not permitted here (defence in depth only)")
    assert executor.call("curl", (tcp_listener.port,), timeout=10) != 0
    assert tcp_listener.connections == 0


def test_close_kills_every_child(executor):
    pids = [executor.call("pid", timeout=5)]
    t = threading.Thread(target=lambda: pids.append(executor.call("pid", timeout=5)))
    t.start()
    t.join()
    executor.close()
    assert not any(psutil.pid_exists(p) for p in pids)


def test_children_die_with_their_parent(tmp_path):
    script = tmp_path / "parent.py"
    script.write_text(textwrap.dedent("""
        import os, sys, time
        from poli_kg.store.executor import Executor

        class Backend:
            def pid(self):
                return os.getpid()

        ex = Executor(Backend)
        print(ex.call("pid", timeout=5), flush=True)
        time.sleep(60)
    """))
    parent = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    try:
        child = int(parent.stdout.readline())
        assert psutil.Process(child).ppid() == parent.pid
        parent.kill()
        parent.wait()
        assert wait_gone(child)
    finally:
        parent.kill()
        parent.wait()
