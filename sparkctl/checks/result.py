"""The result model shared by `validate`, `health` and `analyze` (DESIGN.md, "Shared contracts").

A check yields one `CheckResult`; a run yields one `Report` whose verdict is the worst of its
checks. `Report.to_dict()` is the stable JSON shape; `Report.to_junit_xml()` is for CI.

Verdicts, from harmless to worst:
- `pass`: measured and within what is expected.
- `info`: measured and reported, but this platform cannot judge it (the lab's veth link speed,
  the lab's CPU all-reduce bandwidth); it never changes a run's verdict.
- `skipped`: not measured, with the reason (the time budget ran out, a node it needs stopped
  answering). A skipped check has no value: nothing is invented for it.
- `degraded`, `fail`.

A report whose checks include none that was judged (no check at all, or only `info` and
`skipped` ones) has the verdict `skipped`: nothing was verified, so it is not a pass
(see sparkctl.engine.outcome for the exit codes).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any


class Verdict(StrEnum):
    PASS = "pass"
    INFO = "info"
    SKIPPED = "skipped"
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

    @property
    def judged(self) -> bool:
        """True for a verdict about a measurement (pass, degraded, fail)."""
        return self in (Verdict.PASS, Verdict.DEGRADED, Verdict.FAIL)


# A run with a skipped check was not fully verified: worse than a pass, better than a fault.
_SEVERITY = {Verdict.PASS: 0, Verdict.INFO: 0, Verdict.SKIPPED: 1, Verdict.DEGRADED: 2,
             Verdict.FAIL: 3}

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
    # Seconds from the start of each check's stage to its result, by (id, subject): for the
    # JUnit testcase times; not part of the JSON shape.
    timings: dict[tuple[str, str], float] = field(default_factory=dict, compare=False,
                                                  repr=False)

    @classmethod
    def from_checks(cls, checks: Iterable[CheckResult], *, started: datetime,
                    duration_s: float,
                    timings: dict[tuple[str, str], float] | None = None) -> Report:
        checks = list(checks)
        if started.tzinfo is None:
            started = started.replace(tzinfo=UTC)
        return cls(
            verdict=overall_verdict(checks),
            checks=checks,
            started=started.isoformat(timespec="seconds"),
            duration_s=round(float(duration_s), 3),
            timings=dict(timings or {}),
        )

    @property
    def judged(self) -> int:
        """How many checks were judged (pass, degraded or fail)."""
        return sum(1 for c in self.checks if c.verdict.judged)

    def with_checks(self, extra: Iterable[CheckResult]) -> Report:
        checks = [*self.checks, *extra]
        return Report(overall_verdict(checks), checks, self.started, self.duration_s,
                      self.timings)

    def to_dict(self) -> dict[str, Any]:
        return {
            "verdict": str(self.verdict),
            "checks": [c.to_dict() for c in self.checks],
            "started": self.started,
            "duration_s": self.duration_s,
        }

    def to_junit_xml(self, suite_name: str = "sparkctl", *, degraded: str = "fail",
                     not_applicable: Iterable[Any] = ()) -> str:
        """JUnit XML valid against junit-10.xsd (sparkctl.checks.junit says what each
        verdict becomes)."""
        from sparkctl.checks.junit import to_junit_xml

        return to_junit_xml(self, suite_name, degraded=degraded, not_applicable=not_applicable)


def overall_verdict(checks: Iterable[CheckResult]) -> Verdict:
    """The worst verdict; `skipped` when no check was judged (nothing verified is no pass)."""
    checks = list(checks)
    if not any(c.verdict.judged for c in checks):
        return Verdict.SKIPPED
    return Verdict.worst(c.verdict for c in checks)
