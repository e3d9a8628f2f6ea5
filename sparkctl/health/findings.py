"""What each health check family hands back: judged checks, raw samples, and visible skips."""

from __future__ import annotations

from dataclasses import dataclass, field

from sparkctl.checks.result import CheckResult
from sparkctl.health.samples import Sample


@dataclass(frozen=True)
class Skip:
    """A check that does not apply here, shown as such (never turned into a pass)."""

    id: str
    subject: str
    reason: str

    def to_dict(self) -> dict:
        return {"id": self.id, "subject": self.subject, "reason": self.reason}


@dataclass
class Findings:
    checks: list[CheckResult] = field(default_factory=list)
    samples: list[Sample] = field(default_factory=list)
    skipped: list[Skip] = field(default_factory=list)

    def extend(self, other: Findings) -> None:
        self.checks += other.checks
        self.samples += other.samples
        self.skipped += other.skipped
