"""Regression detection on synthetic series: each branch shown firing and not firing."""

from sparkctl.checks.result import Verdict
from sparkctl.health.regression import RegressionPolicy, judge_regression

STEADY = [22.1, 21.9, 22.4, 22.0, 21.8, 22.3, 22.2, 21.9, 22.0, 22.1]


def test_steady_series_passes():
    check = judge_regression("collective_busbw_gbps", "cluster", 21.7, STEADY, unit="GB/s")
    assert check.verdict is Verdict.PASS
    assert check.expected == round(22.05 * 0.8, 4)


def test_drop_beyond_threshold_is_degraded_with_history_in_diagnosis():
    check = judge_regression("collective_busbw_gbps", "cluster", 13.49, STEADY, unit="GB/s")
    assert check.verdict is Verdict.DEGRADED
    assert check.id == "regression.collective_busbw_gbps"
    assert "22.1, 21.9, 22.4" in check.diagnosis and "now 13.49" in check.diagnosis
    assert "-39%" in check.diagnosis
    assert check.measured == 13.49


def test_threshold_is_configurable():
    value = 19.0  # -14% of the median
    assert judge_regression("m", "s", value, STEADY).verdict is Verdict.PASS
    tight = RegressionPolicy(drop_pct=10)
    assert judge_regression("m", "s", value, STEADY, tight).verdict is Verdict.DEGRADED


def test_median_ignores_one_outlier_in_the_window():
    series = [22.0, 22.1, 3.0, 21.9, 22.2]  # one bad run earlier
    assert judge_regression("m", "s", 21.5, series).verdict is Verdict.PASS
    assert judge_regression("m", "s", 12.0, series).verdict is Verdict.DEGRADED


def test_only_the_trailing_window_counts():
    old_fast = [40.0] * 20 + [22.0] * 10  # hardware changed long ago; window is 10
    assert judge_regression("m", "s", 21.0, old_fast).verdict is Verdict.PASS


def test_short_history_gives_no_verdict():
    assert judge_regression("m", "s", 1.0, [22.0, 22.0]) is None
    assert judge_regression("m", "s", 1.0, []) is None


def test_boundary_exactly_at_floor_is_not_a_regression():
    assert judge_regression("m", "s", 80.0, [100.0] * 5).verdict is Verdict.PASS
    assert judge_regression("m", "s", 79.99, [100.0] * 5).verdict is Verdict.DEGRADED
