"""kill -9 mid-life: the next `lab down` / `lab up` clean exactly this lab and succeed."""

from __future__ import annotations

import json
import os
import signal
import subprocess

import pytest

from sparkctl.lab import lifecycle, procs, state

from .conftest import lab_leftovers, sparkctl, ssh

pytestmark = pytest.mark.lab


def kill9(record, which: str) -> None:
    for node in record.nodes:
        proc = getattr(node, which)
        assert procs.alive(proc)
        os.kill(proc.pid, signal.SIGKILL)
    assert procs.wait_gone([getattr(n, which) for n in record.nodes], 5) == []


def test_kill_nodes_then_down_leaves_nothing(lab_factory):
    bystander = lab_factory("tcrby", "single")
    record = lab_factory("tcrash", "ring3")
    # A stray process inside a lab namespace (e.g. an iperf3 a test left behind).
    stray = subprocess.Popen(["ip", "netns", "exec", record.nodes[0].netns, "sleep", "300"],
                             start_new_session=True)
    kill9(record, "init")
    status = json.loads(sparkctl("lab", "status", "--name", "tcrash", "-f", "json").stdout)
    assert status["state"] == "stopped"
    assert {n["sshd"] for n in status["nodes"]} == {"down"}
    out = sparkctl("lab", "down", "--name", "tcrash")
    assert out.returncode == 0, out.stderr
    assert lab_leftovers(record) == []
    assert stray.wait(timeout=5) == -signal.SIGKILL
    # The other lab never noticed.
    assert ssh(bystander, "spark-1", "hostname").stdout.strip() == "spark-1"
    lifecycle.down("tcrby")


def test_kill_launchers_then_up_rebuilds(lab_factory):
    record = lab_factory("tcrup", "direct")
    ssh(record, "spark-1", "touch /root/from-before-the-crash", root=True)
    kill9(record, "launcher")  # --kill-child takes each node's PID namespace down too
    assert procs.wait_gone([n.init for n in record.nodes], 5) == []
    out = sparkctl("lab", "up", "--topology", "direct", "--name", "tcrup")
    assert out.returncode == 0, out.stderr
    assert "left over from an earlier run" in out.stderr
    fresh = state.load("tcrup")
    assert [n.init.pid for n in fresh.nodes] != [n.init.pid for n in record.nodes]
    for node in fresh.nodes:
        assert ssh(fresh, node.name, "hostname").stdout.strip() == node.name
    # A rebuilt lab starts from the base image again.
    assert ssh(fresh, "spark-1", "test -e /root/from-before-the-crash", check=False,
               root=True).returncode
    lifecycle.down("tcrup")
    assert lab_leftovers(fresh) == []


def test_lost_record_names_are_cleaned_by_the_next_up(lab_factory):
    """A crash before lab.json recorded the PIDs: namespaces with the lab's names remain."""
    record = lab_factory("tcrlost", "single")
    ssh(record, "spark-1", "touch /root/from-before-the-crash", root=True)
    kill9(record, "launcher")
    record.directory.joinpath("lab.json").unlink()
    assert state.load("tcrlost") is None
    out = sparkctl("lab", "up", "--topology", "single", "--name", "tcrlost")
    assert out.returncode == 0, out.stderr
    fresh = state.load("tcrlost")
    assert ssh(fresh, "spark-1", "hostname").stdout.strip() == "spark-1"
    assert ssh(fresh, "spark-1", "test -e /root/from-before-the-crash", check=False,
               root=True).returncode
    lifecycle.down("tcrlost")
    assert lab_leftovers(fresh) == []
