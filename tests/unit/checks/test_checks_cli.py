"""`sparkctl analyze` through the real typer app: exit codes and JSON shape."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from sparkctl.cli.app import app

from .conftest import FIXTURES

GOOD = str(FIXTURES / "nccl-tests/spark_koyo_all_gather_2node_switch_good_21GBps.txt")
BAD = str(FIXTURES / "nccl-tests/spark_koyo_all_gather_2node_direct_degraded_2p8GBps.txt")
RAIL = str(FIXTURES / "perftest"
           / "spark_nvidia_playbook_client2_run_infinitely_roceP2p1s0f0_97Gbps.txt")
FEC_NONE = str(FIXTURES / "ethtool/spark_koyo_show_fec_direct_None.txt")

runner = CliRunner()


def _json(args):
    result = runner.invoke(app, ["analyze", "--format", "json", *args])
    if not result.stdout.strip().startswith("{"):
        return result, None
    doc = json.loads(result.stdout)
    assert doc["schema_version"] == 1
    return result, doc["results"]


def test_all_pass_exits_0_with_one_json_entry_per_file():
    result, data = _json([GOOD, RAIL])
    assert result.exit_code == 0, result.output
    assert [set(entry) for entry in data] == [{"file", "tool", "metrics", "verdict",
                                               "diagnosis"}] * 2
    assert [(e["tool"], e["verdict"]) for e in data] == [("nccl-tests", "pass"),
                                                         ("ib_write_bw", "pass")]
    metrics = data[0]["metrics"]
    assert set(metrics) >= {"collective", "rows", "avg_busbw_GBps", "out_of_bounds",
                            "transport", "errors"}
    assert metrics["rows"][-1]["in_place"]["busbw_GBps"] == 22.46
    assert metrics["avg_busbw_GBps"] == 21.4033 and metrics["transport"] is None
    assert data[1]["metrics"]["average_Gbps"] == 97.28


def test_any_failure_exits_1():
    result, data = _json([GOOD, BAD])
    assert result.exit_code == 1
    assert [e["verdict"] for e in data] == ["pass", "fail"]
    assert "~3 GB/s" in data[1]["diagnosis"]


def test_degraded_exits_1():
    result, data = _json([FEC_NONE])
    assert result.exit_code == 1 and data[0]["verdict"] == "degraded"


def test_garbage_is_unparseable_and_exits_1(tmp_path):
    junk = tmp_path / "junk.bin"
    junk.write_bytes(bytes(range(256)) * 4)
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    result, data = _json([str(junk), str(empty)])
    assert result.exit_code == 1
    assert [(e["tool"], e["verdict"]) for e in data] == [("unparseable", "unparseable")] * 2
    assert data[1]["diagnosis"] == "empty file" and data[1]["metrics"] == {}


def test_missing_file_exits_2_with_a_clear_message(tmp_path):
    missing = tmp_path / "nope.txt"
    result = runner.invoke(app, ["analyze", GOOD, str(missing)])
    assert result.exit_code == 2
    assert f"{missing}: no such file" in result.output
    assert "Traceback" not in result.output


def test_usage_errors_exit_2():
    assert runner.invoke(app, ["analyze"]).exit_code == 2
    assert runner.invoke(app, ["analyze", "--format", "yaml", GOOD]).exit_code == 2
    bad_topology = runner.invoke(app, ["analyze", "--topology", "mesh9", GOOD])
    assert bad_topology.exit_code == 2 and "unknown topology" in bad_topology.output


def test_directory_is_a_usage_error(tmp_path):
    result = runner.invoke(app, ["analyze", str(tmp_path)])
    assert result.exit_code == 2 and "is a directory" in result.output


def test_topology_changes_the_judgement():
    _, default = _json([GOOD])
    assert "No --topology given" in default[0]["diagnosis"]
    _, ring = _json(["--topology", "ring3", GOOD])
    assert ring[0]["verdict"] == "pass" and "No --topology" not in ring[0]["diagnosis"]
    result, single = _json(["--topology", "single", BAD])
    assert result.exit_code == 0 and single[0]["verdict"] == "pass"


def test_table_output_names_file_tool_and_verdict():
    result = runner.invoke(app, ["analyze", BAD], env={"COLUMNS": "200"})
    assert result.exit_code == 1
    assert "nccl-tests" in result.output and "fail" in result.output
