"""JUnit output against the common junit-10.xsd (xmllint, Debian's libxml2-utils)."""

from __future__ import annotations

import shutil
import subprocess
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sparkctl.checks.result import CheckResult, Report, Verdict
from sparkctl.engine.session import Session, finish, now
from sparkctl.health.findings import Skip

XSD = Path(__file__).resolve().parents[2] / "junit" / "junit-10.xsd"
needs_xmllint = pytest.mark.skipif(shutil.which("xmllint") is None,
                                   reason="xmllint missing (apt-get install libxml2-utils)")


def xmllint(text: str, tmp_path: Path) -> subprocess.CompletedProcess:
    path = tmp_path / "report.xml"
    path.write_text(text)
    return subprocess.run(["xmllint", "--noout", "--schema", str(XSD), str(path)],
                          capture_output=True, text=True, timeout=60)


def report() -> Report:
    checks = [
        CheckResult("node.ssh", "node", "spark-1", Verdict.PASS, diagnosis="answered"),
        CheckResult("link.speed", "link", "spark-1/enp1s0f1np1", Verdict.INFO, 10000,
                    diagnosis="veth"),
        CheckResult("link.mtu", "link", "spark-1/enp1s0f1np1", Verdict.DEGRADED, 1500, 9000,
                    "bytes", 'MTU <1500> & "lower"', "set mtu 9000"),
        CheckResult("rail.bandwidth", "rail", "spark-1 -> spark-2", Verdict.FAIL, 40.0, 90.0,
                    "Gb/s", "slow"),
        CheckResult("node.ssh", "node", "spark-2", Verdict.FAIL, None, "reachable",
                    diagnosis="unreachable: connection refused"),
        CheckResult("link.ping", "link", "spark-2/enp1s0f1np1", Verdict.SKIPPED,
                    diagnosis="spark-2 is unreachable"),
    ]
    return Report.from_checks(checks, started=datetime(2026, 12, 1, tzinfo=UTC),
                              duration_s=12.3456,
                              timings={("node.ssh", "spark-1"): 0.42,
                                       ("rail.bandwidth", "spark-1 -> spark-2"): 3.5})


NOT_APPLICABLE = [Skip("gpu.state", "cluster", "lab: no GPU")]


def suite_of(text: str) -> ET.Element:
    suite = ET.fromstring(text.split("\n", 1)[1]).find("testsuite")
    assert suite is not None
    return suite


@needs_xmllint
@pytest.mark.parametrize("degraded", ["fail", "warn"])
def test_every_verdict_validates_against_junit_10_xsd(tmp_path, degraded):
    text = report().to_junit_xml("sparkctl.validate", degraded=degraded,
                                 not_applicable=NOT_APPLICABLE)
    result = xmllint(text, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "validates" in result.stderr


@needs_xmllint
def test_xmllint_rejects_properties_in_a_testcase(tmp_path):
    """The first wave's shape, which issue 15 found rejected: the schema check can fail."""
    old = ('<?xml version="1.0"?>\n<testsuites><testsuite name="s" tests="1" failures="0" '
           'errors="0"><testcase name="c" time="0"><properties><property name="verdict" '
           'value="pass"/></properties></testcase></testsuite></testsuites>\n')
    result = xmllint(old, tmp_path)
    assert result.returncode != 0
    assert "Element 'properties': This element is not expected" in result.stderr


def test_counts_times_and_what_each_verdict_becomes():
    suite = suite_of(report().to_junit_xml("sparkctl.validate", not_applicable=NOT_APPLICABLE))
    assert suite.get("tests") == "7"
    # measured and found wanting: the degraded MTU and the slow rail
    assert suite.get("failures") == "2"
    # could not be carried out (no value): spark-2's SSH
    assert suite.get("errors") == "1"
    assert suite.get("skipped") == "2"  # the unmeasured ping and the GPU check not applicable
    assert suite.get("time") == "12.346"
    cases = {c.get("name"): c for c in suite.findall("testcase")}
    assert cases["node.ssh [spark-1]"].get("time") == "0.420"
    assert cases["rail.bandwidth [spark-1 -> spark-2]"].get("time") == "3.500"
    assert cases["link.mtu [spark-1/enp1s0f1np1]"].get("time") is None  # none recorded
    assert cases["node.ssh [spark-2]"].find("error").get("type") == "fail"
    assert cases["link.ping [spark-2/enp1s0f1np1]"].find("skipped").get("message") == \
        "spark-2 is unreachable"
    na = cases["gpu.state [cluster]"].find("skipped")
    assert na.get("type") == "not_applicable" and "lab: no GPU" in na.get("message")
    mtu = cases["link.mtu [spark-1/enp1s0f1np1]"].find("failure")
    assert mtu.get("type") == "degraded" and mtu.get("message").startswith("DEGRADED: ")
    assert 'MTU <1500> & "lower"' in mtu.get("message")  # escaped, and read back whole
    props = {p.get("name"): p.get("value") for p in suite.find("properties")}
    assert props == {"verdict": "fail", "junit_degraded": "fail"}


def test_junit_degraded_warn_passes_degraded_checks_with_a_warning():
    suite = suite_of(report().to_junit_xml("s", degraded="warn"))
    assert suite.get("failures") == "1" and suite.get("errors") == "1"
    mtu = next(c for c in suite.findall("testcase") if c.get("name").startswith("link.mtu"))
    assert mtu.find("failure") is None and mtu.find("error") is None
    assert mtu.find("system-out").text.startswith("DEGRADED (reported as a warning")
    with pytest.raises(ValueError):
        report().to_junit_xml("s", degraded="ignore")


def test_the_session_records_each_checks_time_from_its_stages_start(monkeypatch):
    from sparkctl.engine import session as session_module
    from sparkctl.targets import resolve_target

    clock = iter([101.5, 104.0, 200.0])

    class FakeTime:
        @staticmethod
        def monotonic():
            return next(clock)

    s = Session(resolve_target(topology="switch2", hosts="a,b"), session_module.Budget(60.0))
    s.stage_started = 100.0
    monkeypatch.setattr(session_module, "time", FakeTime)
    s.record(CheckResult("node.ssh", "node", "a", Verdict.PASS))
    s.record(CheckResult("node.ssh", "node", "b", Verdict.PASS))
    got = finish(s, now())
    assert got.timings == {("node.ssh", "a"): 1.5, ("node.ssh", "b"): 4.0}
    cases = suite_of(got.to_junit_xml("s")).findall("testcase")
    assert [c.get("time") for c in cases] == ["1.500", "4.000"]


@needs_xmllint
@pytest.mark.parametrize("command", ["health", "validate"])
def test_the_commands_write_valid_junit_with_junit_degraded(tmp_path, command):
    from typer.testing import CliRunner

    from sparkctl.cli.app import app

    cluster = tmp_path / "c.yaml"  # port 9 on loopback: SSH is refused at once
    cluster.write_text("name: c\nplatform: dgx-spark\ntopology: single\n"
                       "nodes:\n  - {name: spark-1, address: 127.0.0.1, port: 9}\n")
    out = tmp_path / "report.xml"
    result = CliRunner().invoke(app, [command, "--cluster", str(cluster), "--no-history",
                                      "--format", "junit", "--junit-degraded", "warn",
                                      "-o", str(out), "--quiet"])
    assert result.exit_code == 1, result.output
    text = out.read_text()
    assert xmllint(text, tmp_path).returncode == 0
    suite = suite_of(text)
    assert suite.get("name") == f"sparkctl.{command}"
    assert {p.get("name"): p.get("value") for p in suite.find("properties")}[
        "junit_degraded"] == "warn"
    assert suite.get("errors") == "1"  # spark-1's SSH: nothing could be measured
    ssh = next(c for c in suite.findall("testcase") if c.get("name") == "node.ssh [spark-1]")
    assert ssh.find("error") is not None
    bad = CliRunner().invoke(app, [command, "--cluster", str(cluster), "--junit-degraded", "x"])
    assert bad.exit_code == 2
