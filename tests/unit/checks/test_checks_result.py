"""The shared result model: verdict combination, JSON shape, JUnit XML."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime

from sparkctl.checks.result import CheckResult, Report, Verdict


def _check(id_: str, verdict: Verdict) -> CheckResult:
    return CheckResult(id=id_, kind="rail", subject="spark-1/rocep1s0f0", verdict=verdict,
                       measured=45.1, expected=90.0, unit="Gb/s",
                       diagnosis="half the rail rate", hint="check autoneg")


def test_worst_verdict_wins():
    assert Verdict.worst([Verdict.PASS, Verdict.DEGRADED, Verdict.PASS]) is Verdict.DEGRADED
    assert Verdict.worst([Verdict.DEGRADED, Verdict.FAIL]) is Verdict.FAIL
    assert Verdict.worst(["pass", "fail"]) is Verdict.FAIL
    assert Verdict.worst([Verdict.PASS]) is Verdict.PASS
    assert Verdict.worst([]) is Verdict.PASS


def test_report_to_dict_has_exactly_the_design_shape():
    started = datetime(2026, 11, 27, 10, 0, 0, tzinfo=UTC)
    report = Report.from_checks([_check("a", Verdict.PASS), _check("b", Verdict.DEGRADED)],
                                started=started, duration_s=1.23456)
    data = report.to_dict()
    assert set(data) == {"verdict", "checks", "started", "duration_s"}
    assert data["verdict"] == "degraded"
    assert data["started"] == "2026-11-27T10:00:00+00:00"
    assert data["duration_s"] == 1.235
    assert [set(c) for c in data["checks"]] == [{
        "id", "kind", "subject", "verdict", "measured", "expected", "unit", "diagnosis",
        "hint"}] * 2
    assert data["checks"][1]["verdict"] == "degraded"
    assert data["checks"][1]["measured"] == 45.1


def test_naive_start_time_is_marked_utc():
    report = Report.from_checks([], started=datetime(2026, 1, 2, 3, 4, 5), duration_s=0)
    assert report.started.endswith("+00:00")


def test_an_empty_report_is_not_a_pass():
    """Nothing judged (no check, or only info/skipped ones) is `skipped`, exit 2."""
    from sparkctl.engine.outcome import exit_code, nothing_checked
    from sparkctl.exitcodes import ExitCode

    empty = Report.from_checks([], started=datetime.now(UTC), duration_s=0)
    assert empty.verdict is Verdict.SKIPPED and exit_code(empty) is ExitCode.USAGE
    assert nothing_checked(empty, "validate").startswith("validate checked nothing")
    info_only = Report.from_checks([_check("i", Verdict.INFO)], started=datetime.now(UTC),
                                   duration_s=0)
    assert info_only.verdict is Verdict.SKIPPED and exit_code(info_only) is ExitCode.USAGE
    partial = Report.from_checks([_check("a", Verdict.PASS), _check("b", Verdict.SKIPPED)],
                                 started=datetime.now(UTC), duration_s=0)
    assert partial.verdict is Verdict.SKIPPED and exit_code(partial) is ExitCode.FAILED
    passed = Report.from_checks([_check("a", Verdict.PASS), _check("i", Verdict.INFO)],
                                started=datetime.now(UTC), duration_s=0)
    assert passed.verdict is Verdict.PASS and exit_code(passed) is ExitCode.OK
    failed = Report.from_checks([_check("a", Verdict.FAIL), _check("b", Verdict.SKIPPED)],
                                started=datetime.now(UTC), duration_s=0)
    assert failed.verdict is Verdict.FAIL and exit_code(failed) is ExitCode.FAILED


def test_junit_degraded_warn_lets_a_degraded_run_pass_but_never_a_failed_or_partial_one():
    from sparkctl.engine.outcome import exit_code
    from sparkctl.exitcodes import ExitCode

    def report(*verdicts):
        return Report.from_checks([_check(str(i), v) for i, v in enumerate(verdicts)],
                                  started=datetime.now(UTC), duration_s=0)

    degraded = report(Verdict.PASS, Verdict.DEGRADED)
    assert exit_code(degraded) is ExitCode.FAILED  # the default: degraded fails the job
    assert exit_code(degraded, degraded_ok=True) is ExitCode.OK
    failed = report(Verdict.DEGRADED, Verdict.FAIL)
    assert exit_code(failed, degraded_ok=True) is ExitCode.FAILED
    partial = report(Verdict.DEGRADED, Verdict.SKIPPED)  # something was not measured
    assert exit_code(partial, degraded_ok=True) is ExitCode.FAILED


def test_junit_skipped_and_info():
    checks = [_check("i", Verdict.INFO), _check("s", Verdict.SKIPPED)]
    suite = ET.fromstring(Report.from_checks(checks, started=datetime.now(UTC),
                                             duration_s=1).to_junit_xml()).find("testsuite")
    assert suite.get("failures") == "0" and suite.get("skipped") == "1"
    cases = suite.findall("testcase")
    assert cases[0].find("skipped") is None and cases[0].find("failure") is None
    assert cases[1].find("skipped").get("message") == "half the rail rate"


def test_junit_one_testcase_per_check_failures_for_fail_and_degraded():
    checks = [_check("ok", Verdict.PASS), _check("slow", Verdict.DEGRADED),
              _check("down", Verdict.FAIL)]
    report = Report.from_checks(checks, started=datetime.now(UTC), duration_s=2.5)
    root = ET.fromstring(report.to_junit_xml())
    suite = root.find("testsuite")
    assert suite is not None
    assert suite.get("tests") == "3" and suite.get("failures") == "2"
    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases] == [
        "ok [spark-1/rocep1s0f0]", "slow [spark-1/rocep1s0f0]", "down [spark-1/rocep1s0f0]"]
    assert cases[0].find("failure") is None
    degraded = cases[1].find("failure")
    assert degraded is not None and degraded.get("type") == "degraded"
    assert degraded.get("message", "").startswith("DEGRADED:")
    assert "hint: check autoneg" in (degraded.text or "")
    failed = cases[2].find("failure")
    assert failed is not None and failed.get("type") == "fail"
    # junit-10.xsd allows no <properties> in a testcase: the verdict is in <system-out>
    verdicts = [c.find("system-out").text.splitlines()[0] for c in cases]
    assert verdicts == ["verdict: pass", "verdict: degraded", "verdict: fail"]
