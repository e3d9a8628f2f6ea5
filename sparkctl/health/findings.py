"""What each health check family hands back: judged checks, raw samples, and visible skips."""

from __future__ import annotations

from dataclasses import dataclass, field

from sparkctl.checks.result import CheckResult
from sparkctl.engine.session import Skip
from sparkctl.health.samples import Sample

__all__ = ["Findings", "Skip"]


@dataclass
class Findings:
    checks: list[CheckResult] = field(default_factory=list)
    samples: list[Sample] = field(default_factory=list)
    skipped: list[Skip] = field(default_factory=list)

    def extend(self, other: Findings) -> None:
        self.checks += other.checks
        self.samples += other.samples
        self.skipped += other.skipped
