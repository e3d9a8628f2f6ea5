"""The programs validate runs on nodes, run here for real on loopback (no lab needed)."""

import json
import shutil
import socket
import subprocess
import time

import pytest

from sparkctl.validate import reachability as R
from sparkctl.validate.facts import parse_node_facts
from sparkctl.validate.scripts import python_command, server_command

needs_ip = pytest.mark.skipif(shutil.which("ip") is None, reason="needs iproute2")


def sh(command: str, timeout: float = 20) -> subprocess.CompletedProcess:
    return subprocess.run(["sh", "-c", command], capture_output=True, text=True,
                          timeout=timeout)


@needs_ip
def test_link_facts_reads_sysfs_and_addresses():
    done = sh(python_command("link_facts", {"netdevs": ["lo", "sparkctl-no-such"],
                                            "hcas": ["rocep1s0f1"]}))
    assert done.returncode == 0, done.stderr
    facts = parse_node_facts("here", done.stdout)
    lo = facts.netdev("lo")
    assert lo.exists and lo.mtu and lo.mtu >= 1500
    assert "127.0.0.1/8" in lo.ipv4
    assert not facts.netdev("sparkctl-no-such").exists
    assert not facts.hcas["rocep1s0f1"].exists  # no RDMA device on this machine


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_listener_and_tcp_probe_on_loopback():
    listener = subprocess.Popen(
        ["sh", "-c", python_command("tcp_listen", {"addresses": ["127.0.0.1"],
                                                   "seconds": 20})],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        ready = listener.stdout.readline()
        port = R.parse_listener(ready).ports["127.0.0.1"]
        closed = free_port()
        done = sh(python_command("reach", {
            "pings": [],
            "tcp": [["127.0.0.1", "127.0.0.1", port], ["127.0.0.1", "127.0.0.1", closed]],
            "neighbours": [], "tcp_timeout": 2}))
        assert done.returncode == 0, done.stderr
        report = R.parse_reach(done.stdout)
        results = {t.port: t.result for t in report.tcp}
        assert results == {port: "ok", closed: "refused"}
        started = time.monotonic()
        listener.stdin.close()  # the controller is done: the listener reports and exits
        rest = listener.stdout.read()
        listener.wait(timeout=5)
        assert time.monotonic() - started < 3
        assert ["127.0.0.1", "127.0.0.1"] in json.loads(
            next(line for line in rest.splitlines() if line.startswith("ACCEPTED"))[9:])
    finally:
        listener.kill()


@pytest.mark.skipif(shutil.which("ss") is None, reason="needs ss")
def test_server_command_signals_ready_and_stops_on_eof(tmp_path):
    port = free_port()
    command = server_command(["python3", "-m", "http.server", str(port), "--bind",
                              "127.0.0.1", "--directory", str(tmp_path)], port)
    proc = subprocess.Popen(["sh", "-c", command], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        # the server's own output shares stdout; READY comes once it listens
        lines = iter(proc.stdout.readline, "")
        assert any(line.strip() == "READY" for line in lines)
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            pass
        started = time.monotonic()
        proc.stdin.close()
        proc.wait(timeout=5)
        assert time.monotonic() - started < 3
    finally:
        proc.kill()


@pytest.mark.skipif(shutil.which("ss") is None, reason="needs ss")
def test_server_command_that_dies_never_says_ready():
    done = sh(server_command(["sh", "-c", "exit 7"], free_port()))
    assert done.returncode == 7 and "READY" not in done.stdout


@pytest.mark.skipif(shutil.which("ping") is None, reason="needs ping (iputils-ping)")
def test_df_ping_probe_on_loopback():
    done = sh(python_command("reach", {"pings": [["lo", "127.0.0.1", 1000]], "tcp": [],
                                       "neighbours": []}))
    report = R.parse_reach(done.stdout)
    assert report.ping("lo", "127.0.0.1", 1000).received == 3
    assert report.ping("lo", "127.0.0.1", R.SMALL_PING).received == 2


@pytest.mark.skipif(shutil.which("ping") is None, reason="needs ping")
def test_reach_ping_counts_and_a_wire_without_link_local_is_not_waited_on():
    started = time.monotonic()
    done = sh(python_command("reach", {
        "pings": [["lo", "127.0.0.1", 1000]], "tcp": [], "neighbours": ["lo"],
        "tcp_timeout": 1, "ping_count": 1, "small_count": 1, "neighbour_count": 2,
        "interval": 0.2}))
    elapsed = time.monotonic() - started
    assert done.returncode == 0, done.stderr
    report = R.parse_reach(done.stdout)
    assert report.ping("lo", "127.0.0.1", 56).sent == 1
    big = report.ping("lo", "127.0.0.1", 1000)
    assert (big.sent, big.received) == (1, 1)
    # lo has no fe80:: address: no all-nodes ping (which would wait out its 3 s deadline).
    assert report.neighbours == {"lo": ()}
    assert "no IPv6 link-local" in json.loads(done.stdout)["neighbours"][0]["error"]
    assert elapsed < 2.5
