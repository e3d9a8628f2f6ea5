"""A run's time budget: every remote step gets min(its own timeout, what is left)."""

from __future__ import annotations

import time

from sparkctl.checks.result import CheckResult, Verdict

MIN_STEP_S = 1.0  # below this much budget a step is not started at all


class Budget:
    def __init__(self, seconds: float) -> None:
        self.started = time.monotonic()
        self.deadline = self.started + seconds

    @classmethod
    def until(cls, deadline: float) -> Budget:
        """A budget ending at a time.monotonic() instant (a caller's own deadline)."""
        budget = cls(0.0)
        budget.deadline = deadline
        return budget

    def left(self) -> float:
        return self.deadline - time.monotonic()

    def timeout(self, wanted: float) -> float:
        return max(0.0, min(wanted, self.left()))

    def exhausted(self) -> bool:
        return self.left() < MIN_STEP_S


def budget_exhausted(check_id: str, kind: str, subject: str) -> CheckResult:
    return CheckResult(check_id, kind, subject, Verdict.FAIL, "not run", None, None,
                       "Not measured: the run's time budget was spent before this check.",
                       "Raise --budget, or fix the slow/unreachable nodes reported above.")
