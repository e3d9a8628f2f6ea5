"""The on-node agent and its launcher, run for real on this machine (no SSH, no CX7 here)."""

from __future__ import annotations

import json
import subprocess

import pytest

from sparkctl.discover import agent
from sparkctl.discover.collect import ETHERTYPE, agent_command, parse_output
from sparkctl.discover.reports import ReportError
from sparkctl.topology.hardware import all_netdevs


def test_frame_round_trip_and_rejections():
    payload = json.dumps({"s": "abc", "n": "spark-1", "i": "enp1s0f0np0"}).encode()
    data = agent.frame("02:00:00:00:00:01", ETHERTYPE, payload)
    assert data[:6] == b"\xff" * 6 and data[6:12] == bytes.fromhex("020000000001")
    assert agent.parse(data, ETHERTYPE) == {"s": "abc", "n": "spark-1", "i": "enp1s0f0np0"}
    assert agent.parse(data, 0x88B6) is None  # another EtherType
    assert agent.parse(data[:14] + b"XXXXX" + data[19:], ETHERTYPE) is None  # no magic
    assert agent.parse(data[:16], ETHERTYPE) is None  # truncated


def test_missing_interface_is_described_as_missing():
    assert agent.describe("enp1s0f0np0-does-not-exist") == {
        "name": "enp1s0f0np0-does-not-exist", "exists": False}


def test_loopback_is_described_from_sysfs():
    lo = agent.describe("lo")
    assert lo["exists"] and lo["admin_up"] and lo["mtu"] == 65536


def _run_local(command: str) -> subprocess.CompletedProcess:
    return subprocess.run(["sh", "-c", command], capture_output=True, text=True, timeout=20)


def test_launcher_runs_the_agent_and_reports_every_twin():
    import base64
    from pathlib import Path

    import sparkctl.discover.collect as collect

    script = base64.b64encode(Path(collect.__file__).with_name("agent.py").read_bytes()).decode()
    done = _run_local(agent_command("here", "s1", 0.3, script))
    if done.returncode != 0 and "sudo" in done.stderr:
        pytest.skip("needs root or passwordless sudo for raw sockets")
    report = parse_output("here", done.stdout)
    assert [i.name for i in report.interfaces] == all_netdevs()
    # this machine is no Spark: no twin exists, nothing heard, and the agent says so as data
    assert not any(i.exists for i in report.interfaces)
    assert report.heard == ()


def test_parse_output_rejects_garbage():
    with pytest.raises(ReportError, match="printed nothing"):
        parse_output("spark-1", "\n")
    with pytest.raises(ReportError, match="no JSON"):
        parse_output("spark-1", "Traceback (most recent call last):\n")
    good = json.dumps({"node": "spark-2", "interfaces": [], "heard": []})
    with pytest.raises(ReportError, match="expected 'spark-1'"):
        parse_output("spark-1", good)
    with pytest.raises(ReportError, match="malformed"):
        parse_output("spark-1", json.dumps({"node": "spark-1"}))
