"""Prometheus output, the shipped alert rules and the Grafana dashboard, checked by promtool
(Debian's `prometheus` package; .ci/setup installs it) and against sparkctl's metric table."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from sparkctl.checks.result import CheckResult, Report, Verdict
from sparkctl.health.exporters import to_prometheus
from sparkctl.health.findings import Skip
from sparkctl.health.metrics import BY_SOURCE, METRICS, emitted_names, markdown_table
from sparkctl.health.run import HealthRun
from sparkctl.health.samples import Sample

REPO = Path(__file__).resolve().parents[3]
MONITORING = REPO / "sparkctl" / "data" / "monitoring"
RULES = MONITORING / "sparkctl-alerts.yml"
DASHBOARD = MONITORING / "sparkctl-dashboard.json"
RULE_TESTS = Path(__file__).with_name("sparkctl-alerts.test.yml")

needs_promtool = pytest.mark.skipif(shutil.which("promtool") is None,
                                    reason="promtool missing (apt-get install prometheus)")


def promtool(*args: str, stdin: str | None = None, cwd: Path | None = None):
    return subprocess.run(["promtool", *args], input=stdin, capture_output=True, text=True,
                          timeout=60, cwd=cwd)


# --- the runs ------------------------------------------------------------------------------

RAIL = {"node": "spark-1", "iface": "enp1s0f1np1"}
TEST = {**RAIL, "peer": "spark-2", "peer_iface": "enp1s0f1np1"}
VALUES = {  # one sample of every history metric the exporter knows, in sparkctl's units
    "node_up": ({"node": "spark-1"}, 1.0), "rail_up": (RAIL, 1.0),
    "rail_speed_mbps": (RAIL, 200000.0), "rail_mtu_bytes": (RAIL, 9000.0),
    "rail_bandwidth_gbps": (TEST, 92.57), "collective_busbw_gbps": ({"collective": "all_reduce"},
                                                                    24.1),
    "rdma_counter": ({"node": "spark-1", "device": "rocep1s0f1", "counter": "symbol_error"}, 3.0),
    "rdma_counter_delta": ({"node": "spark-1", "device": "rocep1s0f1",
                            "counter": "symbol_error"}, 0.0),
    "gpu_temperature_celsius": ({"node": "spark-1", "gpu": "0"}, 41.0),
    "gpu_power_watts": ({"node": "spark-1", "gpu": "0"}, 11.5),
    "gpu_ecc_uncorrected_errors": ({"node": "spark-1", "gpu": "0"}, 0.0),
    "gpu_sm_clock_mhz": ({"node": "spark-1", "gpu": "0"}, 2418.0),
    "gpu_throttle_reasons": ({"node": "spark-1", "gpu": "0"}, 0.0),
    "disk_used_ratio": ({"node": "spark-1", "mount": "/"}, 0.31),
    "memory_available_ratio": ({"node": "spark-1"}, 0.8),
    "memory_pressure_full_avg10": ({"node": "spark-1"}, 0.25),
    "drift_ok": ({"node": "spark-1", "file": "nccl_env"}, 1.0),
}


def full_run(verdict: Verdict) -> HealthRun:
    """A dgx-spark run with every metric; `verdict` on the MTU check sets the outcome."""
    checks = [CheckResult("node.ssh", "node", "spark-1", Verdict.PASS),
              CheckResult("link.mtu", "link", "spark-1/enp1s0f1np1", verdict, 1500, 9000,
                          "bytes"),
              CheckResult("rail.bandwidth", "rail", "spark-1/enp1s0f1np1 -> spark-2", Verdict.PASS,
                          92.57, 90.0, "Gb/s"),
              CheckResult("rail.bandwidth", "rail", "spark-2/enp1s0f1np1 -> spark-1",
                          Verdict.SKIPPED, diagnosis="budget spent"),
              CheckResult("regression.rail_bandwidth_gbps", "regression",
                          "spark-1/enp1s0f1np1 -> spark-2", Verdict.PASS)]
    samples = [Sample(metric, value, labels) for metric, (labels, value) in VALUES.items()]
    samples.append(Sample("rail_bandwidth_gbps", None, {**TEST, "node": "spark-2",
                                                        "peer": "spark-1"}))
    report = Report.from_checks(checks, started=datetime(2026, 12, 1, tzinfo=UTC),
                                duration_s=4.2)
    return HealthRun(report, samples, [Skip("gpu.driver_version", "cluster", "why")],
                     "/etc/sparkctl/a.yml", cluster="c-a1", platform="dgx-spark",
                     rail_floor_gbps=90.0)


def families(text: str) -> dict:
    from prometheus_client.parser import text_string_to_metric_families

    return {f.name: f for f in text_string_to_metric_families(text)}


@needs_promtool
@pytest.mark.parametrize("verdict", [Verdict.PASS, Verdict.DEGRADED, Verdict.FAIL])
def test_promtool_check_metrics_is_clean_on_healthy_degraded_and_failing_runs(verdict):
    text = to_prometheus(full_run(verdict), now=1.8e9)
    result = promtool("check", "metrics", stdin=text)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (result.stdout + result.stderr).strip() == ""


@needs_promtool
def test_promtool_check_metrics_rejects_the_first_waves_names():
    """The check can fail: issue 15's finding, reproduced."""
    old = ("# HELP sparkctl_rdma_counter x\n# TYPE sparkctl_rdma_counter counter\n"
           'sparkctl_rdma_counter{node="a"} 1\n')
    result = promtool("check", "metrics", stdin=old)
    assert result.returncode != 0
    assert "should not include type 'counter'" in result.stdout + result.stderr


def test_every_metric_in_the_table_is_emitted_and_nothing_else():
    parsed = families(to_prometheus(full_run(Verdict.FAIL)))
    written = {f"{n}_total" if f.type == "counter" else n for n, f in parsed.items()}
    assert written == emitted_names()
    for name, family in parsed.items():
        full = f"{name}_total" if family.type == "counter" else name
        assert family.type == METRICS[full].type
        for sample in family.samples:
            assert sample.labels["cluster"] == "c-a1"
            assert set(sample.labels) - {"cluster"} == set(METRICS[full].labels), full


def test_values_are_in_base_units():
    parsed = families(to_prometheus(full_run(Verdict.PASS)))

    def value(name, **labels):
        return next(s.value for s in parsed[name].samples
                    if all(s.labels.get(k) == v for k, v in labels.items()))

    assert value("sparkctl_rail_bandwidth_bytes_per_second", node="spark-1") == 92.57e9 / 8
    assert value("sparkctl_rail_speed_bytes_per_second") == 200e9 / 8
    assert value("sparkctl_gpu_sm_clock_hertz") == 2418e6
    assert value("sparkctl_collective_busbw_bytes_per_second") == 24.1e9
    assert value("sparkctl_memory_pressure_full_10s_ratio") == 0.0025
    assert value("sparkctl_rail_bandwidth_floor_bytes_per_second") == 90e9 / 8
    # the failed test: no value, its `_up` is 0
    assert value("sparkctl_rail_bandwidth_up", node="spark-2") == 0.0
    assert [s.labels["node"] for s in parsed["sparkctl_rail_bandwidth_bytes_per_second"].samples
            ] == ["spark-1"]


def test_state_is_a_value_and_series_keep_their_labels_when_it_changes():
    def series(verdict):
        parsed = families(to_prometheus(full_run(verdict), now=1.0))
        return {(n, tuple(sorted(s.labels.items()))): s.value
                for n, f in parsed.items() for s in f.samples}

    healthy, failing = series(Verdict.PASS), series(Verdict.FAIL)
    assert healthy.keys() == failing.keys()  # same series, other values
    key = ("sparkctl_check_status", (("check", "link.mtu"), ("cluster", "c-a1"),
                                     ("subject", "spark-1/enp1s0f1np1")))
    assert (healthy[key], failing[key]) == (0.0, 2.0)
    assert all("verdict" not in dict(labels) for _, labels in healthy)
    skipped = ("sparkctl_check_status", (("check", "rail.bandwidth"), ("cluster", "c-a1"),
                                         ("subject", "spark-2/enp1s0f1np1 -> spark-1")))
    assert healthy[skipped] == 3.0


BASE_UNITS = ("_bytes_per_second", "_bytes", "_seconds", "_hertz",
              "_celsius", "_watts", "_ratio", "_total", "_up", "_ok", "_info", "_status",
              "_not_applicable", "_since_last_run", "_throttle_reasons")


@pytest.mark.parametrize("name", sorted(METRICS))
def test_names_follow_the_prometheus_conventions(name):
    """https://prometheus.io/docs/practices/naming/: base units, `_total` on counters (and
    only there), no type in the name, snake_case with the application prefix."""
    assert re.fullmatch(r"sparkctl_[a-z][a-z0-9_]*", name)
    assert name.endswith(BASE_UNITS), name
    assert not re.search(r"_(mbps|gbps|mhz|ms|bits|percent|counter|gauge)(_|$)", name)
    assert (METRICS[name].type == "counter") == name.endswith("_total")
    assert METRICS[name].help


def test_every_history_metric_has_a_prometheus_name():
    assert set(VALUES) == set(BY_SOURCE)


def test_the_readme_lists_every_metric():
    readme = (REPO / "README.md").read_text()
    assert markdown_table() in readme, "README's Metrics table differs from metrics.py"


# --- rules and dashboard -------------------------------------------------------------------

_KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and",
             "or", "unless", "offset", "inf", "nan",
             # aggregation operators may take `by (...)` before their parentheses
             "sum", "avg", "min", "max", "count", "group", "stddev", "stdvar", "topk",
             "bottomk", "quantile", "count_values"}


def metric_names(expr: str) -> set[str]:
    """Metric names an expression selects: identifiers outside {...}, "...", [...], not
    function calls, keywords or the label lists after by/on/without/ignoring/group_*."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    text = re.sub(r"\{[^}]*\}", " ", text)
    text = re.sub(r"\[[^\]]*\]", " ", text)
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", r"\1 ",
                  text)
    names = set()
    for match in re.finditer(r"[a-zA-Z_:][a-zA-Z0-9_:]*", text):
        word, rest = match.group(0), text[match.end():].lstrip()
        if word in _KEYWORDS or rest.startswith("("):
            continue
        if re.fullmatch(r"\d+[smhdwy]|e\d+", word):  # durations, exponents
            continue
        names.add(word)
    return names


def rule_expressions() -> dict[str, str]:
    doc = yaml.safe_load(RULES.read_text())
    return {r["alert"]: r["expr"] for g in doc["groups"] for r in g["rules"]}


def dashboard_expressions() -> dict[str, str]:
    doc = json.loads(DASHBOARD.read_text())
    found = {}
    for panel in doc["panels"]:
        for target in panel.get("targets", []):
            found[f"{panel['title']} {target['refId']}"] = target["expr"]
    for var in doc["templating"]["list"]:
        if var["type"] == "query":
            inner = re.fullmatch(r"label_values\((.*), *\w+\)", var["query"]["query"])
            found[f"variable {var['name']}"] = inner.group(1)
    return found


GRAFANA_VARS = {"$__rate_interval": "5m", "$__interval": "1m", "$__range": "1h"}


def grafana_to_promql(expr: str) -> str:
    for var, value in GRAFANA_VARS.items():
        expr = expr.replace(var, value)
    assert "$" not in re.sub(r'"(?:[^"\\]|\\.)*"', "", expr), expr  # only inside strings
    return expr


def test_the_name_check_finds_names_and_flags_a_stale_one():
    expr = ('last_over_time(sparkctl_rail_bandwidth_gbps{cluster="$c"}[3h]) < on (cluster) '
            'group_left () sum by (node) (rate(sparkctl_rdma_port_errors_total[5m]))')
    assert metric_names(expr) == {"sparkctl_rail_bandwidth_gbps",
                                  "sparkctl_rdma_port_errors_total"}
    assert metric_names(expr) - emitted_names() == {"sparkctl_rail_bandwidth_gbps"}
    assert metric_names("time() - sparkctl_last_run_timestamp_seconds > 3600") == {
        "sparkctl_last_run_timestamp_seconds"}


def test_rules_and_dashboard_reference_only_metrics_sparkctl_emits():
    exprs = {**rule_expressions(), **dashboard_expressions()}
    assert len(exprs) >= 20
    for where, expr in exprs.items():
        names = metric_names(expr)
        assert names, f"{where}: no metric in {expr!r}"
        assert names <= emitted_names(), f"{where}: {sorted(names - emitted_names())}"


def test_the_rule_unit_tests_feed_series_sparkctl_emits():
    doc = yaml.safe_load(RULE_TESTS.read_text())
    fed = {s["series"].split("{")[0] for t in doc["tests"] for s in t["input_series"]}
    assert fed <= emitted_names(), sorted(fed - emitted_names())
    alerts = {a["alertname"] for t in doc["tests"] for a in t["alert_rule_test"]}
    assert alerts == set(rule_expressions())  # every rule has a unit test


def test_the_rules_cover_what_issue_15_names():
    assert {"SparkctlRailDown", "SparkctlRailBandwidthBelowThreshold",
            "SparkctlBandwidthRegression", "SparkctlHealthStale",
            "SparkctlNodeUnreachable"} <= set(rule_expressions())


def test_the_dashboard_is_templated_by_cluster_with_panels_per_node_and_rail():
    doc = json.loads(DASHBOARD.read_text())
    variables = {v["name"]: v for v in doc["templating"]["list"]}
    assert {"datasource", "cluster", "node"} <= set(variables)
    rows = [p for p in doc["panels"] if p["type"] == "row"]
    assert [r.get("repeat") for r in rows] == ["node"]
    ids = [p["id"] for p in doc["panels"]]
    assert len(ids) == len(set(ids))
    for panel in doc["panels"]:
        for target in panel.get("targets", []):
            assert 'cluster="$cluster"' in target["expr"], panel["title"]
    per_rail = [t["legendFormat"] for p in doc["panels"] for t in p.get("targets", [])
                if "rail" in t["expr"]]
    assert any("{{iface}}" in legend for legend in per_rail)


@needs_promtool
def test_promtool_check_rules_accepts_the_shipped_rules():
    result = promtool("check", "rules", str(RULES))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 6 rules found" in result.stdout


@needs_promtool
def test_promtool_rule_unit_tests_pass():
    result = promtool("test", "rules", RULE_TESTS.name, cwd=RULE_TESTS.parent)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


@needs_promtool
def test_promtool_rule_unit_tests_fail_on_a_broken_rule(tmp_path):
    """The unit tests can fail: a rail-down rule that watches the wrong value."""
    rules = tmp_path / "sparkctl" / "data" / "monitoring"
    rules.mkdir(parents=True)
    (rules / RULES.name).write_text(RULES.read_text().replace("sparkctl_rail_up == 0",
                                                              "sparkctl_rail_up == 2"))
    tests = tmp_path / "tests" / "unit" / "monitoring"
    tests.mkdir(parents=True)
    shutil.copy(RULE_TESTS, tests)
    result = promtool("test", "rules", RULE_TESTS.name, cwd=tests)
    assert result.returncode != 0
    assert "SparkctlRailDown" in result.stdout + result.stderr


@needs_promtool
def test_every_dashboard_expression_parses_with_promtool(tmp_path):
    exprs = dashboard_expressions()
    doc = {"groups": [{"name": "dashboard", "rules": [
        {"record": f"sparkctl:dashboard_{i}", "expr": grafana_to_promql(e)}
        for i, e in enumerate(exprs.values())]}]}
    path = tmp_path / "dashboard-rules.yml"
    path.write_text(yaml.safe_dump(doc))
    result = promtool("check", "rules", str(path))
    assert result.returncode == 0, result.stdout + result.stderr
    # and a broken one does not parse
    path.write_text(yaml.safe_dump({"groups": [{"name": "x", "rules": [
        {"record": "x:y", "expr": "sum(sparkctl_node_up{cluster=\"$cluster\"}"}]}]}))
    assert promtool("check", "rules", str(path)).returncode != 0
