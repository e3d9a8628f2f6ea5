"""`sparkctl sync` input errors: exit 2, a clear message, no traceback, nothing contacted;
and a run against nodes that cannot be reached fails naming them (exit 1)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from sparkctl.cli.app import app

runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, ["sync", *args])


@pytest.mark.parametrize(("args", "message"), [
    (["--topology", "switch4", "/no/such/dir"], "SRC /no/such/dir does not exist on this"),
    (["--topology", "switch4", "--from", "spark-9", "/models/x"],
     "--from 'spark-9' is not a node of this cluster"),
    (["--topology", "switch4", "--from", "spark-1", "models/x"],
     "must be an absolute path (or ~/...)"),
    (["--topology", "switch4", "--from", "spark-1", "/models/x", "--to", "models"],
     "--to 'models' is not an absolute path"),
    (["--topology", "switch4", "--from", "spark-1", "/models/x", "--to", "/m\nx"],
     "contains control characters"),
    (["--topology", "switch4", "--from", "spark-1", "/models/\x1b[2Jx"],
     "contains control characters"),
    (["--topology", "switch4", "--from", "spark-1", "/models/x", "--to", "/"],
     "--to / would fill the nodes' root directory"),
    (["--topology", "switch4", "--from", "spark-1", "docker:Bad Image;rm -rf"],
     "is not a docker image reference"),
    (["--topology", "switch4", "--from", "spark-1", "/m", "--nodes", "spark-1,spark-2"],
     "--nodes includes the source spark-1"),
    (["--topology", "switch4", "--from", "spark-1", "/m", "--nodes", "spark-7"],
     "--nodes names spark-7, not a node"),
    (["--topology", "single", "--from", "spark-1", "/m"], "no node to sync to"),
    (["/m"], "give exactly one target"),
])
def test_bad_input_is_exit_2_with_the_reason(args, message):
    result = invoke(*args)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output


def test_unreachable_nodes_fail_by_name_with_exit_1(tmp_path):
    # Port 9 on loopback: nothing listens, SSH is refused at once.
    cluster = tmp_path / "c.yaml"
    cluster.write_text("name: c\nplatform: dgx-spark\ntopology: switch2\nssh_port: 9\n"
                       "nodes:\n  - {name: spark-1, address: 127.0.0.1}\n"
                       "  - {name: spark-2, address: 127.0.0.1}\n")
    src = tmp_path / "model"
    src.mkdir()
    (src / "weights").write_bytes(b"w" * 1000)
    out = tmp_path / "report.json"
    result = invoke("--cluster", str(cluster), str(src), "--format", "json", "-o", str(out),
                    "--budget", "30")
    assert result.exit_code == 1, result.output
    assert "sync incomplete on spark-1, spark-2" in result.output
    report = json.loads(out.read_text())
    assert report["verdict"] == "fail" and report["source_node"] is None
    assert {n["node"]: n["state"] for n in report["nodes"]} == {"spark-1": "failed",
                                                               "spark-2": "failed"}
    assert all("127.0.0.1:9" in n["error"] for n in report["nodes"])
    assert set(report) >= {"verdict", "kind", "source", "destination", "transport", "nodes",
                           "started", "duration_s", "transfer_s"}
    table = invoke("--cluster", str(cluster), str(src), "--budget", "30")
    assert table.exit_code == 1
    assert "spark-1" in table.output and "failed" in table.output
    assert "verdict fail" in table.output


def test_an_unreachable_source_node_is_exit_1_naming_it(tmp_path):
    cluster = tmp_path / "c.yaml"
    cluster.write_text("name: c\nplatform: dgx-spark\ntopology: switch2\nssh_port: 9\n"
                       "nodes:\n  - {name: spark-1, address: 127.0.0.1}\n"
                       "  - {name: spark-2, address: 127.0.0.1}\n")
    result = invoke("--cluster", str(cluster), "--from", "spark-1", "/models/x")
    assert result.exit_code == 1
    assert "spark-1 (the source): unreachable" in result.output
