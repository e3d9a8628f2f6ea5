"""validate runs in the health history: rail and busbw samples, and regressions on them."""

from datetime import UTC, datetime

from sparkctl.checks.result import CheckResult, Report, Verdict
from sparkctl.health.regression import regression_checks
from sparkctl.health.samples import rail_bandwidth_samples
from sparkctl.health.store import HistoryStore
from sparkctl.health.validate_runs import busbw_samples, record_validate_run, validate_samples
from sparkctl.targets import resolve_target
from sparkctl.validate import rails
from sparkctl.validate.rail_probe import RailMeasurement
from sparkctl.validate.runner import ValidateRun

TARGET = resolve_target(topology="switch4", hosts="spark-1,spark-2,spark-3,spark-4")
TESTS = rails.plan_rail_tests(TARGET, 5301)


def busbw_check(value, unit="GB/s", verdict=Verdict.PASS):
    return CheckResult("collective.all_reduce", "collective", "cluster", verdict, value, 0.05,
                       unit, "judged")


def validate_run(gbps: float, busbw: float = 0.21) -> ValidateRun:
    report = Report.from_checks([busbw_check(busbw)], started=datetime.now(UTC),
                                duration_s=10.0)
    return ValidateRun(report, [RailMeasurement(t, gbps) for t in TESTS])


def test_rail_samples_are_one_series_per_direction_and_cable():
    samples = rail_bandwidth_samples([RailMeasurement(TESTS[0], 1.99)])
    assert samples[0].labels == {"node": "spark-1", "iface": "enp1s0f1np1",
                                 "peer": "spark-2", "peer_iface": "enp1s0f1np1"}
    assert samples[0].subject == "spark-1/enp1s0f1np1 -> spark-2/enp1s0f1np1"
    assert samples[0].unit == "Gb/s" and samples[0].value == 1.99


def test_busbw_samples_only_from_busbw_figures():
    """A collective that ran and failed is a failed measurement (no value, not 4.0 GB/s);
    one that never ran (skipped) is no sample at all."""
    checks = [busbw_check(0.21), busbw_check(4, unit="ranks", verdict=Verdict.FAIL),
              busbw_check(None, unit=None, verdict=Verdict.SKIPPED)]
    samples = busbw_samples(checks)
    assert [(s.metric, s.value, s.labels) for s in samples] == [
        ("collective_busbw_gbps", 0.21, {"collective": "all_reduce"}),
        ("collective_busbw_gbps", None, {"collective": "all_reduce"})]
    assert len(validate_samples(validate_run(1.99))) == len(TESTS) + 1


def test_failed_rail_test_is_stored_without_a_value_and_never_joins_a_trend(tmp_path):
    """The invented-1.0 case: a rail test that failed is `ok = 0` with no number."""
    with HistoryStore(tmp_path / "h.db") as store:
        for _ in range(3):
            record_validate_run(validate_run(1.98), store, "lab:x")
        failed = validate_run(1.98)
        failed.rail_gbps[0] = RailMeasurement(TESTS[0], None)
        record_validate_run(failed, store, "lab:x")
        rows = store.db.execute("SELECT value, ok FROM samples WHERE subject = ? ORDER BY ts, "
                                "run_id", (TESTS[0].subject,)).fetchall()
        assert rows[-1] == (None, 0) and all(r == (1.98, 1) for r in rows[:-1])
        key = rail_bandwidth_samples([RailMeasurement(TESTS[0], 1.0)])[0].labels_key
        assert [p.value for p in store.series("rail_bandwidth_gbps", key)] == [1.98] * 3


def test_validate_run_falling_below_trend_is_degraded_with_history(tmp_path):
    with HistoryStore(tmp_path / "h.db") as store:
        for gbps in (1.98, 1.99, 1.97):
            report = record_validate_run(validate_run(gbps), store, "lab:x")
            assert report.verdict is Verdict.PASS  # no regression checks until 3 runs exist
        slow = validate_run(1.99)
        slow.rail_gbps[3] = RailMeasurement(TESTS[3], 0.99)
        report = record_validate_run(slow, store, "lab:x")
        assert report.verdict is Verdict.DEGRADED
        flagged = [c for c in report.checks if c.verdict is not Verdict.PASS]
        assert [(c.id, c.subject) for c in flagged] == [
            ("regression.rail_bandwidth_gbps", TESTS[3].subject)]
        assert "last 3: 1.98, 1.99, 1.97; now 0.99" in flagged[0].diagnosis
        runs = store.runs(target="lab:x")
        assert [r.source for r in runs] == ["validate"] * 4
        assert runs[-1].verdict == "degraded"  # the stored report carries the regression
        # The series is shared: a health --probe sample of the same rail is judged on it.
        probe = rail_bandwidth_samples([RailMeasurement(TESTS[0], 1.0)])
        assert regression_checks(probe, store, "lab:x")[0].verdict is Verdict.DEGRADED
        assert regression_checks(probe, store, "lab:other") == []  # other cluster: no trend
