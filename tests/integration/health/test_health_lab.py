"""Health on a real switch4 lab: healthy passes, each fault is named by the right check."""

from __future__ import annotations

import shutil
import subprocess
import time

import pytest

from .conftest import health_json, sparkctl

pytestmark = pytest.mark.lab
SETTLE_AFTER_CLEAR_S = 2.5


def failing(doc: dict, skipped: bool = True) -> list[tuple[str, str]]:
    """Checks not passed; `info` (figures the lab cannot judge) is not a problem."""
    bad = ("fail", "degraded") + (("skipped",) if skipped else ())
    return sorted((c["id"], c["subject"]) for c in doc["checks"] if c["verdict"] in bad)


def check(doc: dict, id: str, subject: str) -> dict:
    return next(c for c in doc["checks"] if c["id"] == id and c["subject"] == subject)


@pytest.fixture
def fault(switch4_lab):
    injected = []

    def inject(*args: str) -> None:
        done = sparkctl("lab", "fault", "--name", switch4_lab, *args, timeout=60)
        assert done.returncode == 0, done.stderr
        injected.append(args)

    yield inject
    if injected:
        done = sparkctl("lab", "fault", "--name", switch4_lab, "clear", timeout=60)
        assert done.returncode == 0, done.stderr
        # A link that comes back answers neighbour probes only once IPv6 duplicate address
        # detection has finished for its link-local address (about 1-2 s).
        time.sleep(SETTLE_AFTER_CLEAR_S)


def test_healthy_switch4_passes(switch4_lab, tmp_path):
    code, doc = health_json(switch4_lab, tmp_path / "h.db")
    assert failing(doc) == [] and code == 0
    ids = {c["id"] for c in doc["checks"]}
    assert {"node.ssh", "link.carrier", "link.speed", "link.mtu", "link.address", "link.ping",
            "link.tcp", "link.neighbours", "host.disk", "host.memory", "drift.nccl_env",
            "drift.hostfile"} <= ids
    assert "rail.bandwidth" not in ids  # no bandwidth load without --probe
    # the lab has neither a GPU nor RDMA: those checks are listed as not applicable
    assert {s["id"] for s in doc["skipped"]} == {
        "gpu.state", "gpu.throttle", "gpu.driver_version", "rdma.port", "rdma.gid",
        "rdma.counter_delta"}
    assert all("no GPU" in s["reason"] or "no RDMA" in s["reason"] for s in doc["skipped"])
    assert doc["duration_s"] < 20


def test_link_down_is_no_carrier_and_unanswered_pings(switch4_lab, fault, tmp_path):
    fault("link-down", "spark-2", "enp1s0f1np1")
    code, doc = health_json(switch4_lab, tmp_path / "h.db")
    assert code == 1
    carrier = check(doc, "link.carrier", "spark-2/enp1s0f1np1")
    assert carrier["verdict"] == "fail" and "administratively down" in carrier["diagnosis"]
    ping = check(doc, "link.ping", "spark-1/enp1s0f1np1 -> spark-2/enp1s0f1np1")
    assert ping["verdict"] == "fail" and "spark-2/enp1s0f1np1 has no carrier" in ping["diagnosis"]
    # The other rail and the other nodes' links are fine.
    assert check(doc, "link.ping", "spark-1/enP2p1s0f1np1 -> spark-2/enP2p1s0f1np1")[
        "verdict"] == "pass"
    assert check(doc, "link.ping", "spark-1/enp1s0f1np1 -> spark-3/enp1s0f1np1")[
        "verdict"] == "pass"


def test_mtu_mismatch_names_the_end_and_the_dropped_big_frames(switch4_lab, fault, tmp_path):
    fault("mtu", "spark-3", "enP2p1s0f1np1", "1500")
    _, doc = health_json(switch4_lab, tmp_path / "h.db")
    mtu = check(doc, "link.mtu", "spark-3/enP2p1s0f1np1")
    assert mtu["verdict"] == "fail" and mtu["measured"] == 1500 and mtu["expected"] == 9000
    ping = check(doc, "link.ping", "spark-1/enP2p1s0f1np1 -> spark-3/enP2p1s0f1np1")
    assert ping["verdict"] == "fail" and "Small pings pass" in ping["diagnosis"]
    assert "spark-3/enP2p1s0f1np1 has MTU 1500" in ping["diagnosis"]
    assert {i for i, s in failing(doc) if s.startswith("spark-1/")} == {"link.ping"}


def test_one_sided_tcp_drop_is_the_firewall_trap(switch4_lab, fault, tmp_path):
    fault("drop-tcp", "spark-2", "spark-1")  # spark-2 drops TCP from spark-1
    _, doc = health_json(switch4_lab, tmp_path / "h.db")
    tcp = check(doc, "link.tcp", "spark-1/enp1s0f1np1 -> spark-2/enp1s0f1np1")
    assert tcp["verdict"] == "fail" and "firewall on spark-2" in tcp["diagnosis"]
    assert check(doc, "link.ping", "spark-1/enp1s0f1np1 -> spark-2/enp1s0f1np1")[
        "verdict"] == "pass"
    assert check(doc, "link.tcp", "spark-3/enp1s0f1np1 -> spark-2/enp1s0f1np1")[
        "verdict"] == "pass"


def test_stopped_sshd_is_unreachable_within_budget_others_pass(switch4_lab, fault, tmp_path):
    fault("sshd-stop", "spark-4")
    started = time.monotonic()
    code, doc = health_json(switch4_lab, tmp_path / "h.db", "--budget", "10")
    assert time.monotonic() - started < 10 + 2
    assert code == 1
    assert failing(doc, skipped=False) == [("node.ssh", "spark-4")]
    assert "spark-4" in check(doc, "node.ssh", "spark-4")["diagnosis"]
    # what spark-4 would have measured itself is skipped, with why
    assert all(s.startswith("spark-4") for _, s in failing(doc) if _ != "node.ssh")
    # Its links still answer: peers' pings and TCP (an RST from the stopped port) pass.
    assert check(doc, "link.tcp", "spark-1/enp1s0f1np1 -> spark-4/enp1s0f1np1")[
        "verdict"] == "pass"


DEGRADED_RAIL = "spark-3/enp1s0f1np1"
THROUGH_IT = {"spark-2/enp1s0f1np1 -> spark-3/enp1s0f1np1",
              "spark-3/enp1s0f1np1 -> spark-4/enp1s0f1np1"}


def test_probe_history_then_degraded_rail_is_a_regression(switch4_lab, fault, tmp_path):
    db = tmp_path / "h.db"
    for _ in range(2):
        code, doc = health_json(switch4_lab, db, "--probe")
        assert code == 0, failing(doc)
        rails = [c for c in doc["checks"] if c["id"] == "rail.bandwidth"]
        assert len(rails) == 8 and all(c["verdict"] == "pass" for c in rails)
    # validate's rail figures go into the same series as the probe's.
    val = sparkctl("validate", "--lab", switch4_lab, "--only", "rails", "--db", str(db),
                   "--format", "json", timeout=120)
    assert val.returncode == 0, val.stdout[-2000:] + val.stderr
    fault("degrade", "spark-3", "enp1s0f1np1", "50")
    code, doc = health_json(switch4_lab, db, "--probe")
    assert code == 1
    regressions = {c["subject"]: c for c in doc["checks"]
                   if c["id"] == "regression.rail_bandwidth_gbps" and c["verdict"] != "pass"}
    assert set(regressions) == THROUGH_IT, failing(doc)
    for c in regressions.values():
        assert c["verdict"] == "degraded" and "last 3: " in c["diagnosis"]
        assert c["measured"] < 0.8 * 1.9  # about half of the 2 Gbit/s the history shows
    slow = {c["subject"]: c for c in doc["checks"]
            if c["id"] == "rail.bandwidth" and c["verdict"] != "pass"}
    assert set(slow) == THROUGH_IT
    assert all(f"Every slow test goes through {DEGRADED_RAIL}" in c["diagnosis"]
               for c in slow.values())
    assert {s for _, s in failing(doc)} == THROUGH_IT  # nothing else is flagged
    assert doc["duration_s"] < 40


def test_drift_in_nccl_env_is_named(switch4_lab, fault, tmp_path):
    edit = sparkctl("lab", "ssh", "--name", switch4_lab, "spark-2", "--",
                    "sudo sed -i 's/^NCCL_IB_HCA=.*/NCCL_IB_HCA=rocep1s0f1/' "
                    "/etc/sparkctl/nccl.env")
    assert edit.returncode == 0, edit.stderr
    try:
        _, doc = health_json(switch4_lab, tmp_path / "h.db")
        drift = check(doc, "drift.nccl_env", "spark-2:/etc/sparkctl/nccl.env")
        assert drift["verdict"] == "fail"
        assert "NCCL_IB_HCA=rocep1s0f1 (plan: rocep1s0f1,roceP2p1s0f1)" in drift["diagnosis"]
        assert failing(doc) == [("drift.nccl_env", "spark-2:/etc/sparkctl/nccl.env")]
    finally:
        restore = sparkctl("provision", "--lab", switch4_lab, "--tags", "nccl", timeout=300)
        assert restore.returncode == 0


def test_prometheus_textfile_from_the_lab_parses(switch4_lab, tmp_path):
    from prometheus_client.parser import text_string_to_metric_families

    prom = tmp_path / "textfile" / "sparkctl.prom"
    done = sparkctl("health", "--lab", switch4_lab, "--db", str(tmp_path / "h.db"), "--quiet",
                    "-f", "prometheus", "-o", str(prom))
    assert done.returncode == 0 and done.stdout == ""  # quiet on success
    names = {f.name for f in text_string_to_metric_families(prom.read_text())}
    assert {"sparkctl_rail_up", "sparkctl_rail_mtu_bytes", "sparkctl_check_ok",
            "sparkctl_check_status", "sparkctl_last_run_timestamp_seconds"} <= names
    if shutil.which("promtool"):  # .ci/setup installs it: a real run's textfile is lint-clean
        lint = subprocess.run(["promtool", "check", "metrics"], input=prom.read_text(),
                              capture_output=True, text=True, timeout=60)
        assert lint.returncode == 0 and lint.stderr == "", lint.stderr
