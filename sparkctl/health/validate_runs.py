"""`sparkctl validate` runs in the health history: their rail and busbw figures feed the same
series as `health --probe`, and a figure far below its trend makes the validate run degraded.
"""

from __future__ import annotations

from dataclasses import replace

from sparkctl.checks.result import CheckResult, Report, Verdict
from sparkctl.health.regression import RegressionPolicy, regression_checks
from sparkctl.health.samples import COLLECTIVE_BUSBW, Sample, rail_bandwidth_samples
from sparkctl.health.store import HistoryStore

BUSBW_UNIT = "GB/s"


def busbw_samples(checks: list[CheckResult]) -> list[Sample]:
    """collective.<name> checks that measured a busbw (GB/s) -> one sample each."""
    return [Sample(COLLECTIVE_BUSBW, float(c.measured), {"collective": c.id.split(".", 1)[1]},
                   unit=BUSBW_UNIT)
            for c in checks
            if c.id in ("collective.all_reduce", "collective.all_gather")
            and c.unit == BUSBW_UNIT and isinstance(c.measured, (int, float))
            and not isinstance(c.measured, bool)]


def validate_samples(run) -> list[Sample]:
    """The samples of a validate.runner.ValidateRun."""
    return rail_bandwidth_samples(run.rail_gbps) + busbw_samples(run.report.checks)


def record_validate_run(run, store: HistoryStore, target: str,
                        policy: RegressionPolicy = RegressionPolicy()) -> Report:
    """Judge the run's figures against their history, then store the run (source validate).

    Returns the report with the regression checks added (the one that is stored too).
    """
    samples = validate_samples(run)
    regressions = regression_checks(samples, store, target, policy)
    report = run.report
    if regressions:
        checks = [*report.checks, *regressions]
        report = replace(report, checks=checks, verdict=Verdict.worst(c.verdict for c in checks))
    store.record_run(report, samples, target=target, source="validate")
    return report
