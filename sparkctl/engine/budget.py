"""A run's time budget: every remote step gets min(its own timeout, what is left of it)."""

from __future__ import annotations

import math
import time

from sparkctl.errors import InputError

MIN_STEP_S = 1.0  # below this much budget a step is not started at all


def checked_budget(seconds: float | None, option: str = "--budget") -> float:
    """A budget from a user: finite and above zero, or a clear error (exit 2)."""
    if seconds is None or isinstance(seconds, bool):
        raise InputError(f"{option} needs a number of seconds")
    try:
        value = float(seconds)
    except (TypeError, ValueError):
        raise InputError(f"{option} must be a number of seconds") from None
    if not math.isfinite(value) or value <= 0:
        raise InputError(f"{option} must be a finite number of seconds above 0, got {value!r}",
                         hint=f"e.g. {option} 60")
    return value


class Budget:
    """`seconds` from now (or from `started`, a time.monotonic() instant)."""

    def __init__(self, seconds: float, *, started: float | None = None) -> None:
        self.seconds = checked_budget(seconds) if seconds != 0 else 0.0
        self.started = time.monotonic() if started is None else started
        self.deadline = self.started + self.seconds

    @classmethod
    def until(cls, deadline: float) -> Budget:
        """A budget ending at a time.monotonic() instant (a caller's own deadline)."""
        budget = cls(0.0)
        budget.deadline = deadline
        budget.seconds = max(0.0, deadline - budget.started)
        return budget

    def left(self) -> float:
        return self.deadline - time.monotonic()

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def timeout(self, wanted: float, reserve: float = 0.0) -> float:
        """`wanted`, or less so that `reserve` seconds are still left afterwards."""
        return max(0.0, min(wanted, self.left() - reserve))

    def exhausted(self, need: float = MIN_STEP_S) -> bool:
        return self.left() < need

    def sub(self, reserve: float) -> Budget:
        """The same budget ending `reserve` seconds earlier (time kept for what follows)."""
        return Budget.until(self.deadline - reserve)
