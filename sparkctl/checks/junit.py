"""A report as JUnit XML that the common junit-10.xsd accepts (jenkinsci/xunit-plugin's;
vendored in tests/junit/ and checked there with `xmllint --schema`).

One <testcase> per check. What each verdict becomes:
- pass, info: a passing testcase; its verdict and figures in <system-out>;
- fail with a measurement: <failure type="fail">; fail where nothing could be measured
  (the node did not answer over SSH, or the check has no value: the tool produced no
  figure): <error type="fail">, so `errors` counts checks that could not be carried out and
  `failures` checks that were measured and found wanting;
- degraded: <failure type="degraded"> (sparkctl exits 1 on it), or with degraded="warn" a
  passing testcase whose <system-out> starts "DEGRADED" (and `--junit-degraded warn` makes
  a run whose worst verdict is degraded exit 0, so the job only warns; engine/outcome.py);
- skipped (not measured) and checks that do not apply on this platform: <skipped>.
Testcase times are the seconds from the start of the check's stage to its result (checks of
one stage run in parallel); a check with no recorded time has no `time` attribute.
"""

from __future__ import annotations

import socket
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from typing import Any

from sparkctl.checks.result import CheckResult, Report, Verdict

DEGRADED_MODES = ("fail", "warn")
UNREACHABLE_CHECKS = {"node.ssh"}  # its failure means the node could not be tested at all


def _text(check: CheckResult) -> str:
    unit = f" {check.unit}" if check.unit else ""
    lines = [f"verdict: {check.verdict}", f"measured: {check.measured}{unit}",
             f"expected: {check.expected}{unit}", f"diagnosis: {check.diagnosis}"]
    if check.hint:
        lines.append(f"hint: {check.hint}")
    return "\n".join(lines)


def _kind(check: CheckResult, degraded: str) -> str:
    """What the testcase carries: pass, failure, error, skipped or warn."""
    if check.verdict in (Verdict.PASS, Verdict.INFO):
        return "pass"
    if check.verdict is Verdict.SKIPPED:
        return "skipped"
    if check.verdict is Verdict.DEGRADED:
        return "warn" if degraded == "warn" else "failure"
    unmeasured = check.measured is None or check.id in UNREACHABLE_CHECKS
    return "error" if unmeasured else "failure"


def to_junit_xml(report: Report, suite_name: str, *, degraded: str = "fail",
                 not_applicable: Iterable[Any] = (), properties: dict[str, str] | None = None
                 ) -> str:
    if degraded not in DEGRADED_MODES:
        raise ValueError(f"degraded must be one of {DEGRADED_MODES}, not {degraded!r}")
    not_applicable = list(not_applicable)
    kinds = [_kind(c, degraded) for c in report.checks]
    counts = {k: kinds.count(k) for k in ("failure", "error", "skipped")}
    counts["skipped"] += len(not_applicable)
    tests = len(report.checks) + len(not_applicable)
    time_s = f"{report.duration_s:.3f}"
    root = ET.Element("testsuites", {"name": suite_name, "tests": str(tests),
                                     "failures": str(counts["failure"]),
                                     "errors": str(counts["error"]), "time": time_s})
    suite = ET.SubElement(root, "testsuite", {
        "name": suite_name, "tests": str(tests), "failures": str(counts["failure"]),
        "errors": str(counts["error"]), "skipped": str(counts["skipped"]), "time": time_s,
        "timestamp": report.started, "hostname": socket.gethostname()})
    props = ET.SubElement(suite, "properties")
    for name, value in {"verdict": str(report.verdict), "junit_degraded": degraded,
                        **(properties or {})}.items():
        ET.SubElement(props, "property", {"name": name, "value": str(value)})
    for check, kind in zip(report.checks, kinds, strict=True):
        attrs = {"classname": f"{suite_name}.{check.kind}",
                 "name": f"{check.id} [{check.subject}]"}
        seconds = report.timings.get((check.id, check.subject))
        if seconds is not None:
            attrs["time"] = f"{max(seconds, 0.0):.3f}"
        case = ET.SubElement(suite, "testcase", attrs)
        if kind == "skipped":
            ET.SubElement(case, "skipped", {"message": check.diagnosis})
        elif kind in ("failure", "error"):
            prefix = "DEGRADED: " if check.verdict is Verdict.DEGRADED else "FAIL: "
            element = ET.SubElement(case, kind, {"type": str(check.verdict),
                                                 "message": prefix + check.diagnosis})
            element.text = _text(check)
        out = ET.SubElement(case, "system-out")
        out.text = ("DEGRADED (reported as a warning, --junit-degraded warn): "
                    if kind == "warn" else "") + _text(check)
    for skip in not_applicable:
        case = ET.SubElement(suite, "testcase", {"classname": f"{suite_name}.not_applicable",
                                                 "name": f"{skip.id} [{skip.subject}]"})
        ET.SubElement(case, "skipped", {"type": "not_applicable",
                                        "message": f"not applicable here: {skip.reason}"})
    ET.indent(root, space="  ")
    text: str = ET.tostring(root, encoding="unicode")
    return '<?xml version="1.0" encoding="utf-8"?>\n' + text + "\n"
