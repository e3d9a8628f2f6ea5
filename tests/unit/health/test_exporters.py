"""Exporters: Prometheus text (checked by prometheus_client's parser), JSON shape, JUnit."""

import json
import xml.etree.ElementTree as ET
from datetime import UTC, datetime

from prometheus_client.parser import text_string_to_metric_families

from sparkctl.checks.result import CheckResult, Report, Verdict
from sparkctl.health.exporters import summary_line, to_json, to_junit, to_prometheus, write_output
from sparkctl.health.findings import Skip
from sparkctl.health.run import HealthRun
from sparkctl.health.samples import Sample


def make_run(verdict=Verdict.FAIL) -> HealthRun:
    checks = [
        CheckResult("node.ssh", "node", "spark-1", Verdict.PASS, diagnosis="answered"),
        CheckResult("link.mtu", "link", "spark-2/enp1s0f1np1", verdict, 1500, 9000, "bytes",
                    diagnosis='MTU "differs"\nhere', hint="set it"),
    ]
    report = Report.from_checks(checks, started=datetime(2026, 11, 27, tzinfo=UTC),
                                duration_s=1.25)
    samples = [Sample("rail_up", 1.0, {"node": "spark-1", "iface": "enp1s0f1np1"}),
               Sample("rail_speed_mbps", 200000.0, {"node": "spark-1", "iface": "enp1s0f1np1"}),
               Sample("node_up", 1.0, {"node": 'we"ird\\name'})]
    return HealthRun(report, samples, [Skip("gpu", "cluster", "lab: no GPU")], "lab hl4")


def families(text: str) -> dict:
    return {f.name: f for f in text_string_to_metric_families(text)}


def test_prometheus_text_parses_and_carries_the_named_metrics():
    text = to_prometheus(make_run(), now=1_800_000_000.0)
    parsed = families(text)
    for name in ("sparkctl_rail_up", "sparkctl_rail_speed_bytes_per_second", "sparkctl_check_ok",
                 "sparkctl_last_run_timestamp_seconds", "sparkctl_health_status",
                 "sparkctl_check_not_applicable", "sparkctl_node_up"):
        assert name in parsed, name
        assert parsed[name].type == "gauge"
    rail = parsed["sparkctl_rail_up"].samples[0]
    assert rail.labels == {"cluster": "", "node": "spark-1", "iface": "enp1s0f1np1"}
    assert rail.value == 1.0
    speed = parsed["sparkctl_rail_speed_bytes_per_second"].samples[0].value
    assert speed == 200e9 / 8  # 200000 Mb/s in bytes per second
    ok = {s.labels["check"]: s.value for s in parsed["sparkctl_check_ok"].samples}
    assert ok == {"node.ssh": 1.0, "link.mtu": 0.0}
    assert parsed["sparkctl_last_run_timestamp_seconds"].samples[0].value == 1_800_000_000.0
    assert parsed["sparkctl_health_status"].samples[0].value == 2.0
    assert parsed["sparkctl_node_up"].samples[0].labels["node"] == 'we"ird\\name'


def test_prometheus_textfile_is_written_atomically(tmp_path):
    target = tmp_path / "sparkctl.prom"
    write_output(to_prometheus(make_run()), target)
    assert families(target.read_text())
    assert [p.name for p in tmp_path.iterdir()] == ["sparkctl.prom"]


def test_json_is_the_design_shape_plus_skipped():
    doc = json.loads(to_json(make_run()))
    assert set(doc) == {"schema_version", "verdict", "checks", "started", "duration_s",
                        "skipped", "target"}
    assert doc["verdict"] == "fail"
    assert set(doc["checks"][0]) == {"id", "kind", "subject", "verdict", "measured",
                                     "expected", "unit", "diagnosis", "hint"}
    assert doc["skipped"] == [{"id": "gpu", "subject": "cluster", "reason": "lab: no GPU"}]


def test_junit_marks_the_failing_check():
    root = ET.fromstring(to_junit(make_run()).split("\n", 1)[1])
    suite = root.find("testsuite")
    assert suite.get("name") == "sparkctl.health"
    # the two checks and the GPU check that does not apply on this platform (skipped)
    assert suite.get("tests") == "3" and suite.get("failures") == "1"
    assert suite.get("skipped") == "1"
    failed = [c for c in suite.iter("testcase") if c.find("failure") is not None]
    assert failed[0].get("name") == "link.mtu [spark-2/enp1s0f1np1]"


def test_summary_line_is_one_line():
    line = summary_line(make_run())
    assert "\n" not in line.replace('"differs"\nhere', "")  # diagnosis text is the caller's
    assert line.startswith("sparkctl health: FAIL (1 of 2 checks not passing")
    assert summary_line(make_run(Verdict.PASS)).startswith("sparkctl health: PASS")


def test_a_failed_rail_test_has_no_bandwidth_sample_and_an_up_of_zero():
    """Issue 12: a failed rail test exported as rail_bandwidth_gbps = 1.0 was invented."""
    run = make_run()
    ends = {"node": "spark-1", "iface": "enp1s0f1np1", "peer": "spark-2",
            "peer_iface": "enp1s0f1np1"}
    other = {**ends, "node": "spark-2", "peer": "spark-1"}
    run.samples += [Sample("rail_bandwidth_gbps", None, ends, "Gb/s"),
                    Sample("rail_bandwidth_gbps", 1.97, other, "Gb/s")]
    parsed = families(to_prometheus(run))
    bandwidth = parsed["sparkctl_rail_bandwidth_bytes_per_second"].samples
    assert [(s.labels["node"], s.value) for s in bandwidth] == [("spark-2", 1.97e9 / 8)]
    up = {s.labels["node"]: s.value for s in parsed["sparkctl_rail_bandwidth_up"].samples}
    assert up == {"spark-1": 0.0, "spark-2": 1.0}


def test_skipped_checks_are_not_ok_and_info_is():
    checks = [CheckResult("link.speed", "link", "a", Verdict.INFO),
              CheckResult("rail.bandwidth", "rail", "b", Verdict.SKIPPED, diagnosis="budget")]
    run = HealthRun(Report.from_checks(checks, started=datetime.now(UTC), duration_s=1), [], [],
                    "t")
    ok = {s.labels["check"]: s.value
          for s in families(to_prometheus(run))["sparkctl_check_ok"].samples}
    assert ok == {"link.speed": 1.0, "rail.bandwidth": 0.0}
    assert families(to_prometheus(run))["sparkctl_health_status"].samples[0].value == 3.0
