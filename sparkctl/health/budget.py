"""The whole-run time budget: every wait in a health run is cut to what is left of it."""

from __future__ import annotations

import time
from dataclasses import dataclass, field


@dataclass
class Deadline:
    budget_s: float
    started: float = field(default_factory=time.monotonic)

    @property
    def at(self) -> float:
        return self.started + self.budget_s

    def remaining(self) -> float:
        return max(0.0, self.at - time.monotonic())

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def cap(self, wanted_s: float, reserve_s: float = 0.0) -> float:
        """`wanted_s`, or less so that `reserve_s` of the budget is still left afterwards."""
        return max(0.0, min(wanted_s, self.remaining() - reserve_s))
