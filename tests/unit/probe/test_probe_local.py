"""Probe bounds against real local sockets: nothing listening, and a silent server."""

import socket
import threading
import time

import pytest

from sparkctl.probe.hosts import SshEndpoint
from sparkctl.probe.ssh import ProbePool, RemoteProcess


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_refused_connection_is_unreachable_fast():
    endpoint = SshEndpoint("node-a", "127.0.0.1", closed_port(), user="root")
    started = time.monotonic()
    with ProbePool([endpoint], connect_timeout=2) as pool:
        assert not pool.reachable("node-a")
        result = pool.run("node-a", "true", 5)
    assert time.monotonic() - started < 2
    assert result.exit_status is None and result.error.startswith("unreachable")
    assert not result.ok


@pytest.fixture
def silent_server():
    """Accepts TCP connections and never says a word (a wedged sshd)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    held = []
    stop = threading.Event()

    def accept():
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join(2)
    for conn in held:
        conn.close()
    server.close()


def test_silent_server_costs_the_connect_timeout_only(silent_server):
    endpoints = [SshEndpoint(f"n{i}", "127.0.0.1", silent_server, user="root")
                 for i in range(3)]
    started = time.monotonic()
    with ProbePool(endpoints, connect_timeout=1.5) as pool:
        elapsed = time.monotonic() - started
        assert pool.sessions == {}
        assert set(pool.failures) == {"n0", "n1", "n2"}
    # connected in parallel: three wedged nodes cost one timeout, not three
    assert elapsed < 1.5 * 2 + 1


def test_remote_process_without_session_reports_its_error():
    proc = RemoteProcess("n0", "true", 5, error="unreachable: gone")
    assert proc.wait_for_line("READY", 1) is None
    result = proc.wait()
    assert result.error == "unreachable: gone" and result.exit_status is None


def test_a_run_that_gives_up_on_connecting_closes_the_late_session(silent_server):
    """A deadline earlier than the handshake timeouts: the pool returns at the deadline."""
    started = time.monotonic()
    with ProbePool([SshEndpoint("n0", "127.0.0.1", silent_server, user="root")],
                   connect_timeout=5, deadline=time.monotonic() + 0.5) as pool:
        assert time.monotonic() - started < 1.0
        assert "did not complete the SSH handshake in time" in pool.failures["n0"]
        assert not pool.reachable("n0")
