"""`sparkctl validate` runs in the health history: their rail and busbw figures feed the same
series as `health --probe`, and a figure far below its trend makes the validate run degraded.
"""

from __future__ import annotations

from sparkctl.checks.result import CheckResult, Report
from sparkctl.health.regression import RegressionPolicy, regression_checks
from sparkctl.health.samples import COLLECTIVE_BUSBW, Sample, rail_bandwidth_samples
from sparkctl.health.store import HistoryStore

BUSBW_UNIT = "GB/s"


def _busbw(check: CheckResult) -> float | None:
    if check.unit == BUSBW_UNIT and isinstance(check.measured, (int, float)) \
            and not isinstance(check.measured, bool):
        return float(check.measured)
    return None


def busbw_samples(checks: list[CheckResult]) -> list[Sample]:
    """collective.<name> checks that were judged -> one sample each: the busbw (GB/s), or no
    value when the collective ran and gave none (errors, a hang)."""
    return [Sample(COLLECTIVE_BUSBW, _busbw(c), {"collective": c.id.split(".", 1)[1]},
                   unit=BUSBW_UNIT)
            for c in checks
            if c.id in ("collective.all_reduce", "collective.all_gather") and c.verdict.judged]


def validate_samples(run) -> list[Sample]:
    """The samples of a validate.runner.ValidateRun. A busbw the platform does not judge (the
    lab's CPU all-reduce) is no trend to watch, so it is not recorded."""
    busbw = busbw_samples(run.report.checks) if getattr(run, "judges_busbw", True) else []
    return rail_bandwidth_samples(run.rail_gbps) + busbw


def record_validate_run(run, store: HistoryStore, target: str,
                        policy: RegressionPolicy = RegressionPolicy()) -> Report:
    """Judge the run's figures against their history, then store the run (source validate).

    Returns the report with the regression checks added (the one that is stored too).
    """
    samples = validate_samples(run)
    report = run.report.with_checks(regression_checks(samples, store, target, policy))
    store.record_run(report, samples, target=target, source="validate")
    return report
