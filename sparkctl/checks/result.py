"""The result model shared by `validate`, `health` and `analyze` (DESIGN.md, "Shared contracts").

A check yields one `CheckResult`; a run yields one `Report` whose verdict is the worst of its
checks. `Report.to_dict()` is the stable JSON shape; `Report.to_junit_xml()` is for CI.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any


class Verdict(StrEnum):
    PASS = "pass"
    DEGRADED = "degraded"
    FAIL = "fail"

    @property
    def severity(self) -> int:
        return _SEVERITY[self]

    @classmethod
    def worst(cls, verdicts: Iterable[Verdict]) -> Verdict:
        """Combine verdicts: the most severe wins; nothing to combine is a pass."""
        result = cls.PASS
        for verdict in verdicts:
            if cls(verdict).severity > result.severity:
                result = cls(verdict)
        return result


_SEVERITY = {Verdict.PASS: 0, Verdict.DEGRADED: 1, Verdict.FAIL: 2}

Scalar = float | int | str | bool | None


@dataclass(frozen=True)
class CheckResult:
    """One judged measurement: what was measured on what, against what, and why it failed."""

    id: str  # stable identifier, e.g. "collective.all_reduce" or "link.speed"
    kind: str  # family: link, rail, collective, gpu, ...
    subject: str  # what was measured: "spark-1/enp1s0f1np1", "cluster", a file name
    verdict: Verdict
    measured: Scalar = None
    expected: Scalar = None
    unit: str | None = None
    diagnosis: str = ""  # one sentence: the likely cause
    hint: str | None = None  # how to fix it

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "subject": self.subject,
            "verdict": str(self.verdict),
            "measured": self.measured,
            "expected": self.expected,
            "unit": self.unit,
            "diagnosis": self.diagnosis,
            "hint": self.hint,
        }


@dataclass(frozen=True)
class Report:
    """A run of checks; `verdict` is the worst verdict of `checks`."""

    verdict: Verdict
    checks: list[CheckResult] = field(default_factory=list)
    started: str = ""  # ISO-8601 with time zone
    duration_s: float = 0.0

    @classmethod
    def from_checks(cls, checks: Iterable[CheckResult], *, started: datetime,
                    duration_s: float) -> Report:
        checks = list(checks)
        if started.tzinfo is None:
            started = started.replace(tzinfo=UTC)
        return cls(
            verdict=Verdict.worst(c.verdict for c in checks),
            checks=checks,
            started=started.isoformat(timespec="seconds"),
            duration_s=round(float(duration_s), 3),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "verdict": str(self.verdict),
            "checks": [c.to_dict() for c in self.checks],
            "started": self.started,
            "duration_s": self.duration_s,
        }

    def to_junit_xml(self, suite_name: str = "sparkctl") -> str:
        """Render JUnit XML, one <testcase> per check.

        Convention: `fail` is a <failure type="fail">; `degraded` is also a <failure>, with
        type="degraded" and a message starting "DEGRADED:", because sparkctl exits 1 on
        degraded too and CI must not turn green on it. Both carry measured/expected/hint in
        the failure text; every testcase carries its verdict as a property.
        """
        failures = sum(1 for c in self.checks if c.verdict is not Verdict.PASS)
        suite = ET.Element("testsuite", {
            "name": suite_name,
            "tests": str(len(self.checks)),
            "failures": str(failures),
            "errors": "0",
            "skipped": "0",
            "time": f"{self.duration_s:.3f}",
            "timestamp": self.started,
        })
        for check in self.checks:
            case = ET.SubElement(suite, "testcase", {
                "classname": f"{suite_name}.{check.kind}",
                "name": f"{check.id} [{check.subject}]",
                "time": "0",
            })
            props = ET.SubElement(case, "properties")
            ET.SubElement(props, "property", {"name": "verdict", "value": str(check.verdict)})
            if check.verdict is Verdict.PASS:
                continue
            prefix = "DEGRADED: " if check.verdict is Verdict.DEGRADED else "FAIL: "
            failure = ET.SubElement(case, "failure", {
                "type": str(check.verdict),
                "message": prefix + check.diagnosis,
            })
            failure.text = _failure_text(check)
        tree = ET.ElementTree(ET.Element("testsuites"))
        tree.getroot().append(suite)
        ET.indent(tree, space="  ")
        return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(
            tree.getroot(), encoding="unicode") + "\n"


def _failure_text(check: CheckResult) -> str:
    unit = f" {check.unit}" if check.unit else ""
    lines = [
        f"verdict: {check.verdict}",
        f"measured: {check.measured}{unit}",
        f"expected: {check.expected}{unit}",
        f"diagnosis: {check.diagnosis}",
    ]
    if check.hint:
        lines.append(f"hint: {check.hint}")
    return "\n".join(lines)
