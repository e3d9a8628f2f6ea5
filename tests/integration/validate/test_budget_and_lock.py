"""Issue 12 on a real lab: one measurement lock per cluster, no invented values in the
history, and hard budgets when a node freezes mid-run (its sshd SIGSTOPped, or its
management link cut from inside): the run ends within budget + 1 s and what it could not
measure is `skipped`, never `fail`."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import threading
import time
from contextlib import contextmanager

import pytest

pytestmark = pytest.mark.lab

LAB = "valbud"
MGMT = "enP7s7"  # the lab node's management interface, named as on a Spark


def start(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "sparkctl", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)


@pytest.fixture(scope="module")
def lab():
    from sparkctl.lab import lifecycle
    from sparkctl.topology.builtins import builtin_spec

    lifecycle.down(LAB)
    lifecycle.up(builtin_spec("switch2", None), name=LAB, configured=True)
    # The rails' IPv6 link-local addresses answer neighbour probes once duplicate address
    # detection is done (about 2 s after the links come up).
    time.sleep(3)
    try:
        yield LAB
    finally:
        lifecycle.down(LAB)


def _node(name: str):
    from sparkctl.lab.status import load_record

    return load_record(LAB).node(name)


# OpenSSH >= 9.8 (the lab's trixie) serves each connection from an `sshd-session` process;
# 9.6 (DGX OS, Ubuntu 24.04) from an `sshd` child. Freeze both, or open sessions run on.
SSHD = "sshd|sshd-session"
FREEZE = {"sshd": ["pkill", "-STOP", "-x", SSHD], "link": ["ip", "link", "set", MGMT, "down"]}
THAW = {"sshd": ["pkill", "-CONT", "-x", SSHD], "link": ["ip", "link", "set", MGMT, "up"]}


@contextmanager
def thawed_after(node: str, how: str):
    from sparkctl.lab import nodes

    try:
        yield lambda: nodes.node_exec(_node(node), FREEZE[how])
    finally:
        nodes.node_exec(_node(node), THAW[how], check=False)
        time.sleep(1.0)


def test_two_concurrent_validates_one_clean_one_refused_no_invented_values(lab, tmp_path):
    db = tmp_path / "h.db"
    args = ("validate", "--lab", lab, "--only", "links", "--only", "rails", "--db", str(db),
            "--format", "json")
    first = start(*args)
    time.sleep(2.5)  # resolved and holding the lock
    second = start(*args)
    out2, err2 = second.communicate(timeout=120)
    out1, err1 = first.communicate(timeout=120)
    assert second.returncode == 2, out2[-1000:] + err2
    assert "still running (pid" in err2 and f"pid {first.pid}" in err2
    assert "validate --lab" in err2  # the holder's command
    doc = json.loads(out1)
    assert first.returncode == 0 and doc["verdict"] == "pass", \
        [c for c in doc["checks"] if c["verdict"] not in ("pass", "info")]
    # A queued run waits for the lock instead, then runs clean too.
    first = start(*args)
    time.sleep(2.5)
    queued = start(*args, "--wait", "120")
    out_q, err_q = queued.communicate(timeout=240)
    first.communicate(timeout=120)
    assert queued.returncode == 0 and json.loads(out_q)["verdict"] == "pass", err_q
    rows = sqlite3.connect(db).execute(
        "SELECT value, ok FROM samples WHERE metric = 'rail_bandwidth_gbps'").fetchall()
    assert len(rows) == 12  # three runs recorded, four rails each; the refused one none
    assert all(ok == 1 and value > 1.5 for value, ok in rows), rows  # no invented figure


def test_validate_and_health_probe_share_the_lock(lab, tmp_path):
    first = start("validate", "--lab", lab, "--only", "rails", "--no-history",
                  "--format", "json")
    time.sleep(2.5)
    probe = start("health", "--lab", lab, "--probe", "--no-history", "-f", "json")
    _, err = probe.communicate(timeout=120)
    first.communicate(timeout=120)
    assert probe.returncode == 2 and "still running (pid" in err, err


def _budgeted(args: list[str], budget: float, node: str, how: str, *, when: str | None = None,
              after_s: float = 0.0):
    """Run a command with --budget; freeze `node` once its stderr says `when` (a stage
    starting, with --verbose) or `after_s` seconds in. Returns (rc, elapsed, report)."""
    with thawed_after(node, how) as freeze:
        started = time.monotonic()
        proc = start(*args, "--budget", str(budget))
        if when is None:
            timer = threading.Timer(after_s, freeze)
            timer.start()
        else:
            for line in proc.stderr:
                if when in line:
                    freeze()
                    break
        out, _ = proc.communicate(timeout=budget + 60)
        elapsed = time.monotonic() - started
        if when is None:
            timer.join()
    return proc.returncode, elapsed, json.loads(out)


def _skipped_rails_through(doc: dict, node: str) -> list[dict]:
    rails = [c for c in doc["checks"] if c["id"] == "rail.bandwidth"]
    through = [c for c in rails if f"{node}/" in c["subject"]]
    assert through, rails
    return through


@pytest.mark.parametrize("how", ["sshd", "link"])
def test_validate_with_a_node_frozen_mid_run_ends_within_budget(lab, how):
    budget = 15.0
    rc, elapsed, doc = _budgeted(["validate", "--lab", lab, "--only", "links", "--only",
                                  "rails", "--no-history", "--format", "json", "--verbose"],
                                 budget, "spark-2", how, when="rails: starting")
    assert elapsed <= budget + 1.0, elapsed
    assert rc == 1
    ssh = {c["subject"]: c for c in doc["checks"] if c["id"] == "node.ssh"}
    assert ssh["spark-2"]["verdict"] == "fail" and "stopped answering" in ssh["spark-2"][
        "diagnosis"]
    assert ssh["spark-1"]["verdict"] == "pass"
    for check in _skipped_rails_through(doc, "spark-2"):
        assert check["verdict"] in ("skipped", "pass"), check  # measured before, or skipped
        assert check["verdict"] != "fail" and (check["verdict"] == "pass"
                                               or check["measured"] is None)
    assert any(c["verdict"] == "skipped" for c in _skipped_rails_through(doc, "spark-2"))
    failing = [c for c in doc["checks"] if c["verdict"] in ("fail", "degraded")]
    assert [c["id"] for c in failing] == ["node.ssh"], failing


@pytest.mark.parametrize("how", ["sshd", "link"])
def test_health_probe_with_a_node_frozen_mid_run_ends_within_budget(lab, how):
    budget = 10.0
    rc, elapsed, doc = _budgeted(["health", "--lab", lab, "--probe", "--no-history",
                                  "-f", "json", "--verbose"], budget, "spark-2", how,
                                 when="rails: starting")
    assert elapsed <= budget + 1.0, elapsed
    assert rc == 1
    ssh = {c["subject"]: c for c in doc["checks"] if c["id"] == "node.ssh"}
    assert ssh["spark-2"]["verdict"] == "fail"
    for check in _skipped_rails_through(doc, "spark-2"):
        assert check["verdict"] == "skipped" and check["measured"] is None, check
    assert not any(c["verdict"] == "fail" and c["id"] == "rail.bandwidth"
                   for c in doc["checks"])
