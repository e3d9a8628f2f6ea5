"""validate on a switch4 lab: healthy passes everything; each fault fails the right check with
the right diagnosis while unrelated checks pass; a dead node never breaks the time budget."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from sparkctl.checks.result import Verdict

from .conftest import by_key, explain, failing, sparkctl, validation_lab

pytestmark = pytest.mark.lab

LAB = "valsw4"


@pytest.fixture(scope="module")
def lab():
    with validation_lab(LAB, "switch4") as handle:
        yield handle


def test_healthy_switch4_passes_every_check_through_the_cli(lab, tmp_path):
    out = tmp_path / "report.json"
    done = sparkctl("validate", "--lab", LAB, "--format", "json", "-o", str(out), "--no-history")
    report = json.loads(out.read_text())
    assert done.returncode == 0, json.dumps([c for c in report["checks"]
                                             if c["verdict"] not in ("pass", "info")], indent=1)
    assert set(report) == {"schema_version", "verdict", "checks", "started", "duration_s"}
    assert report["schema_version"] == 1
    assert report["verdict"] == "pass"
    ids = {c["id"] for c in report["checks"]}
    assert {"link.carrier", "link.speed", "link.mtu", "link.address", "link.stray",
            "link.ping", "link.tcp", "link.neighbours", "rail.bandwidth",
            "collective.all_reduce", "collective.transport", "node.ssh"} <= ids
    assert set(report["checks"][0]) == {"id", "kind", "subject", "verdict", "measured",
                                        "expected", "unit", "diagnosis", "hint"}
    # every rail of every node sends and receives once: 8 bandwidth tests
    assert sum(c["id"] == "rail.bandwidth" for c in report["checks"]) == 8


def test_quick_junit_output_and_table(lab, tmp_path):
    junit = tmp_path / "validate.xml"
    done = sparkctl("validate", "--lab", LAB, "--quick", "--format", "junit", "-o", str(junit),
                    "--no-history")
    assert done.returncode == 0, done.stderr
    suite = ET.parse(junit).getroot().find("testsuite")
    assert int(suite.get("tests")) > 50 and suite.get("failures") == "0"
    if shutil.which("xmllint"):  # .ci/setup installs it: a real run's JUnit against the xsd
        xsd = Path(__file__).resolve().parents[2] / "junit" / "junit-10.xsd"
        lint = subprocess.run(["xmllint", "--noout", "--schema", str(xsd), str(junit)],
                              capture_output=True, text=True, timeout=60)
        assert lint.returncode == 0, lint.stderr
    assert not any(c.get("name", "").startswith("rail.") for c in suite.iter("testcase"))
    table = sparkctl("validate", "--lab", LAB, "--only", "links", "--no-history")
    assert table.returncode == 0 and "verdict: pass" in table.stdout
    assert "spark-4" in table.stdout and "p1 r1" in table.stdout


def test_link_down_fails_that_rail_only(lab):
    with lab.fault("link-down", "spark-2", "enp1s0f1np1"):
        report = lab.validate("links")
    checks = by_key(report)
    carrier = checks[("link.carrier", "spark-2/enp1s0f1np1")]
    assert carrier.verdict is Verdict.FAIL and "administratively down" in carrier.diagnosis
    for check in failing(report):
        assert "spark-2/enp1s0f1np1" in check.subject, explain(report)
    assert checks[("link.carrier", "spark-2/enP2p1s0f1np1")].verdict is Verdict.PASS
    ping = checks[("link.ping", "spark-1/enp1s0f1np1 -> spark-2/enp1s0f1np1")]
    assert ping.verdict is Verdict.FAIL and "no carrier" in ping.diagnosis


def test_mtu_mismatch_names_the_end(lab):
    with lab.fault("mtu", "spark-3", "enP2p1s0f1np1", "1500"):
        report = lab.validate("links")
    mtu = by_key(report)[("link.mtu", "spark-3/enP2p1s0f1np1")]
    assert mtu.verdict is Verdict.FAIL and mtu.measured == 1500
    assert "differs at this end" in mtu.diagnosis
    bad_pings = [c for c in failing(report) if c.id == "link.ping"]
    assert bad_pings and all("spark-3/enP2p1s0f1np1" in c.subject for c in bad_pings)
    assert all("spark-3/enP2p1s0f1np1 has MTU 1500" in c.diagnosis for c in bad_pings)
    assert {c.id for c in failing(report)} == {"link.mtu", "link.ping"}, explain(report)


def test_one_sided_firewall_is_named(lab):
    with lab.fault("drop-tcp", "spark-2", "spark-4"):
        report = lab.validate("links")
    bad = failing(report)
    assert bad and {c.id for c in bad} == {"link.tcp"}, explain(report)
    assert len(bad) == 4  # both rails, both directions between spark-2 and spark-4
    for check in bad:
        assert {"spark-2", "spark-4"} == {p.split("/")[0] for p in
                                          check.subject.split(" -> ")}
        assert "firewall on spark-2" in check.diagnosis
    assert all(c.verdict is Verdict.PASS for c in report.checks if c.id == "link.ping")


def test_degraded_rail_is_detected_and_located(lab):
    with lab.fault("degrade", "spark-3", "enp1s0f1np1", "50"):
        report = lab.validate("rails")
    bad = failing(report)
    assert len(bad) == 2, explain(report)
    for check in bad:
        assert check.id == "rail.bandwidth" and check.verdict is Verdict.DEGRADED
        assert "spark-3/enp1s0f1np1" in check.subject
        assert "goes through spark-3/enp1s0f1np1" in check.diagnosis
        assert check.measured < check.expected


def test_stopped_sshd_fails_that_node_only_within_budget(lab):
    budget = 60
    with lab.fault("sshd-stop", "spark-4"):
        started = time.monotonic()
        report = lab.validate(budget=budget)
        elapsed = time.monotonic() - started
    assert elapsed < budget
    checks = by_key(report)
    assert checks[("node.ssh", "spark-4")].verdict is Verdict.FAIL
    assert checks[("node.ssh", "spark-4")].measured == "unreachable"
    for check in failing(report):
        assert "spark-4" in check.subject or check.subject == "cluster", explain(report)
        if check.id != "node.ssh":  # the node fails once; what it would measure is skipped
            assert check.verdict is Verdict.SKIPPED and check.measured is None, explain(report)
            assert "spark-4" in check.diagnosis and "unreachable" in check.diagnosis
    # its peers still reach its rails: the network is up, only sshd is gone
    assert checks[("link.ping", "spark-1/enp1s0f1np1 -> spark-4/enp1s0f1np1")].verdict \
        is Verdict.PASS
    assert checks[("rail.bandwidth", "spark-1/enp1s0f1np1 -> spark-2/enp1s0f1np1")].verdict \
        is Verdict.PASS


def test_black_holed_node_costs_its_timeout_not_the_run(lab):
    """SSH packets to spark-3 vanish (no refusal): connect times out, the rest runs."""
    from sparkctl.lab import nodes
    from sparkctl.lab.status import load_record

    node = load_record(LAB).node("spark-3")
    rule = ["INPUT", "-p", "tcp", "--dport", "22", "-j", "DROP"]
    nodes.node_exec(node, ["iptables", "-w", "5", "-I", *rule])
    try:
        started = time.monotonic()
        report = lab.validate("links", budget=30)
        elapsed = time.monotonic() - started
    finally:
        nodes.node_exec(node, ["iptables", "-w", "5", "-D", *rule], check=False)
    assert elapsed < 30
    assert by_key(report)[("node.ssh", "spark-3")].verdict is Verdict.FAIL
    assert by_key(report)[("link.mtu", "spark-1/enp1s0f1np1")].verdict is Verdict.PASS


def test_cable_in_the_wrong_port(lab):
    with lab.fault("swap-cables", "spark-1:p1", "spark-1:p0", settle_s=2, settle_after_s=6):
        report = lab.validate("links")
    checks = by_key(report)
    carrier = checks[("link.carrier", "spark-1/enp1s0f1np1")]
    assert carrier.verdict is Verdict.FAIL and "wrong port" in carrier.diagnosis
    stray = checks[("link.stray", "spark-1/unplanned")]
    assert stray.verdict is Verdict.FAIL and "enp1s0f0np0" in stray.diagnosis
    assert all(c.verdict in (Verdict.PASS, Verdict.INFO) for c in report.checks
               if c.subject.startswith(("spark-2/", "spark-3/"))
               and "spark-1" not in c.subject), explain(report)


def test_everything_passes_again_after_the_faults(lab):
    report = lab.validate("links")
    assert report.verdict is Verdict.PASS, explain(report)


def test_probe_bounds_commands_on_a_real_node(lab):
    """A command that would run for a minute is killed at its timeout, remotely and here."""
    from sparkctl.probe.hosts import endpoints_for_target
    from sparkctl.probe.ssh import ProbePool

    with ProbePool(endpoints_for_target(lab.context())[:1]) as pool:
        started = time.monotonic()
        result = pool.run("spark-1", "sleep 60", 1.0)
        assert time.monotonic() - started < 4
        assert result.error and result.error.startswith("timeout")
        leftover = pool.run("spark-1", "pgrep -x sleep || true", 5)
        assert leftover.stdout.strip() == ""  # the remote `timeout` killed it
        proc = pool.start("spark-1", "echo READY; cat >/dev/null; echo done", 10)
        assert proc.wait_for_line("READY", 5) == "READY"
        proc.close_stdin()
        finished = proc.wait()
        assert finished.ok and finished.stdout.split() == ["READY", "done"]
        assert pool.run("spark-1", "exit 3", 5).exit_status == 3
