"""Regression detection: a value far below its own recent past is `degraded`.

Only metrics where more is better are watched (bandwidths); each new value is compared with
the median of the same series' trailing window. The median, not the mean, so one bad run in
the window neither hides the next nor raises an alarm by itself.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from sparkctl.checks.result import CheckResult, Verdict
from sparkctl.health.samples import COLLECTIVE_BUSBW, RAIL_BANDWIDTH, Sample

DEFAULT_DROP_PCT = 20.0
DEFAULT_WINDOW = 10
MIN_HISTORY = 3  # fewer earlier values than this: no trend to compare with yet

# Series judged for regressions: rail probe bandwidth (health --probe) and collective busbw
# recorded from validate runs.
WATCHED_METRICS = (RAIL_BANDWIDTH, COLLECTIVE_BUSBW)


@dataclass(frozen=True)
class RegressionPolicy:
    drop_pct: float = DEFAULT_DROP_PCT
    window: int = DEFAULT_WINDOW
    min_history: int = MIN_HISTORY


def judge_regression(metric: str, subject: str, value: float, history: Sequence[float],
                     policy: RegressionPolicy = RegressionPolicy(), *,
                     unit: str | None = None) -> CheckResult | None:
    """A CheckResult for `value` against its trailing median; None while history is short."""
    window = list(history)[-policy.window:]
    if len(window) < policy.min_history:
        return None
    median = statistics.median(window)
    floor = median * (1 - policy.drop_pct / 100)
    change = (value - median) / median * 100 if median else 0.0
    shown = ", ".join(f"{v:g}" for v in window)
    trail = (f"last {len(window)}: {shown}; now {value:g} ({change:+.0f}% vs median {median:g}, "
             f"threshold -{policy.drop_pct:g}%)")
    def check(verdict: Verdict, diagnosis: str, hint: str | None = None) -> CheckResult:
        return CheckResult(f"regression.{metric}", "regression", subject, verdict,
                           round(value, 4), round(floor, 4), unit, diagnosis, hint)

    if median > 0 and value < floor:
        return check(
            Verdict.DEGRADED,
            f"{metric} fell more than {policy.drop_pct:g}% below its trailing median: {trail}.",
            "Something changed since the earlier runs: a reseated cable at a lower speed, "
            "a firmware or driver update, MTU, or another job sharing the rail. Compare "
            "with `sparkctl health history --metric " + metric + "`.")
    return check(Verdict.PASS, f"within its trend: {trail}.")


def regression_checks(samples: Sequence[Sample], store, target: str,
                      policy: RegressionPolicy = RegressionPolicy()) -> list[CheckResult]:
    """Judge every watched sample against its series in `store` (a HistoryStore), before the
    run that produced them is recorded. Health and validate runs share the series."""
    out = []
    for sample in samples:
        if sample.metric not in WATCHED_METRICS or sample.value is None:
            continue
        history = store.series(sample.metric, sample.labels_key, limit=policy.window,
                               target=target)
        check = judge_regression(sample.metric, sample.subject, sample.value,
                                 [p.value for p in history if p.value is not None], policy,
                                 unit=sample.unit)
        if check is not None:
            out.append(check)
    return out
