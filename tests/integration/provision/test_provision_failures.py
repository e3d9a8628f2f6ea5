"""Failure paths on a real lab: a node without sshd (stopped before Ansible), an interface
missing, Ctrl-C."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import time

import pytest

from .conftest import BIN, close_control_masters, latest_run, run_summary, sparkctl

pytestmark = pytest.mark.lab
LAB = "provfl"


@pytest.fixture(scope="module")
def lab(lab_factory, state_dir):
    return lab_factory("direct", LAB)


def _provision(state_dir, *extra: str) -> tuple[subprocess.CompletedProcess, dict]:
    proc = sparkctl("provision", "--lab", LAB, "--runs-dir", str(state_dir / "runs"), *extra,
                    check=False, timeout=300)
    return proc, run_summary(latest_run(state_dir))


def test_check_diff_on_a_fresh_lab_shows_changes_and_changes_nothing(lab, state_dir):
    proc, summary = _provision(state_dir, "--check", "--diff", "--tags", "mpi,nccl")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "+++ /etc/sparkctl/nccl.env" in proc.stdout
    assert "+NCCL_IB_HCA=rocep1s0f1,roceP2p1s0f1" in proc.stdout
    assert summary["hosts"]["spark-1"]["changed"] > 0
    out = lab.ssh("spark-1", "test -e /etc/sparkctl/nccl.env && echo present || echo absent")
    assert out.stdout.strip() == "absent"


def test_node_without_sshd_stops_the_run_before_ansible_then_limit_then_converge(lab,
                                                                                 state_dir):
    sparkctl("lab", "fault", "sshd-stop", "spark-2", "--name", LAB)
    close_control_masters(state_dir)
    try:
        proc, summary = _provision(state_dir)
        # The controller-side preflight names the node at once; no task ran anywhere.
        assert proc.returncode == 1, proc.stdout + proc.stderr
        assert summary["status"] == "refused" and summary["hosts"] == {}
        assert "cannot reach every node; nothing was changed on any node" in proc.stderr
        assert re.search(r"spark-2 \(\S+:22\): unreachable: connection refused", proc.stderr)
        assert "spark-1 (" not in proc.stderr
        out = lab.ssh("spark-1", "test -e /etc/netplan/40-sparkctl.yaml && echo present "
                                 "|| echo absent")
        assert out.stdout.strip() == "absent"
        # Leaving the dead node out is the user's explicit choice.
        proc, summary = _provision(state_dir, "--limit", "spark-1")
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert set(summary["hosts"]) == {"spark-1"} and summary["hosts"]["spark-1"]["changed"]
    finally:
        sparkctl("lab", "fault", "clear", "--name", LAB)
    # After `fault clear` the same command converges every node.
    proc, summary = _provision(state_dir)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert summary["hosts"]["spark-2"]["changed"] > 0
    assert all(h["failed"] == 0 and h["unreachable"] == 0 for h in summary["hosts"].values())
    # spark-1 now pins spark-2's keys too: ssh by name works both ways.
    out = lab.ssh("spark-1", "ssh spark-2 hostname")
    assert out.returncode == 0 and out.stdout.strip() == "spark-2", out.stderr


def test_missing_interface_fails_preflight_with_expected_and_found(lab, state_dir):
    rename = "sudo sh -c 'ip link set enP2p1s0f1np1 down && ip link set enP2p1s0f1np1 name cx7gone'"
    assert lab.ssh("spark-1", rename).returncode == 0
    try:
        proc, summary = _provision(state_dir, "--tags", "network")
    finally:
        lab.ssh("spark-1", "sudo sh -c 'ip link set cx7gone name enP2p1s0f1np1 && "
                "ip link set enP2p1s0f1np1 up'")
    assert proc.returncode == 1
    failure = next(f for f in summary["failures"] if f["host"] == "spark-1")
    assert "preflight" in failure["task"]
    message = failure["message"]
    assert "needs interfaces enp1s0f1np1, enP2p1s0f1np1" in message
    assert "missing enP2p1s0f1np1" in message
    found = re.search(r"Found ConnectX-7 interfaces: ([^.]*)\.", message)
    assert found, message
    assert "enp1s0f1np1" in found[1].split(", ") and "enP2p1s0f1np1" not in found[1]
    assert summary["hosts"]["spark-2"]["failed"] == 0
    assert "missing enP2p1s0f1np1" in proc.stdout  # shown in the failed-tasks table


def test_ctrl_c_stops_the_run_with_130_and_says_how_to_resume(lab, state_dir):
    proc = subprocess.Popen([str(BIN / "sparkctl"), "provision", "--lab", LAB, "--runs-dir",
                             str(state_dir / "runs")], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    run_dir = None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and run_dir is None:  # wait until the run has begun
        time.sleep(0.2)
        runs = sorted((state_dir / "runs").glob("*/artifacts/run/job_events/*.json"))
        run_dir = runs[-1].parents[3] if runs and not (
            runs[-1].parents[3] / "summary.json").exists() else None
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, out + err
    assert "interrupted" in err and "re-run the same command" in err
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "canceled"
