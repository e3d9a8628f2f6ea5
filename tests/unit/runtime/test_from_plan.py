"""`--from-plan` with the real planner's JSON: the checkpoint and TP/PP it recommends."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from sparkctl.cli.app import app

runner = CliRunner()


def _plan(tmp_path, *args) -> tuple[dict, object]:
    r = runner.invoke(app, ["plan", *args, "--format", "json"])
    assert r.exit_code in (0, 1), r.output
    path = tmp_path / "plan.json"
    path.write_text(r.stdout)
    return json.loads(r.stdout), path


def test_render_takes_model_and_split_from_the_plan(tmp_path, cluster_file):
    data, path = _plan(tmp_path, "--model", "gpt-oss-120b")
    best = data["recommended"]
    topology = {1: "single", 2: "direct", 3: "ring3", 4: "switch4"}[best["nodes"]]
    r = runner.invoke(app, ["runtime", "render", "vllm", "--cluster",
                            str(cluster_file(topology)), "--from-plan", str(path),
                            "-o", str(tmp_path / "o"), "--format", "json"])
    assert r.exit_code == 0, r.output
    launch = json.loads(r.stdout)
    assert (launch["tp"], launch["pp"]) == (best["tp"], best["pp"])
    assert launch["model"] == data["model"]["hf_id"] or "checkpoint" in " ".join(launch["notes"])
    assert any("from the plan" in n for n in launch["notes"])


def test_a_quantized_plan_serves_that_checkpoint(tmp_path, cluster_file):
    # The catalogue lists nvidia/Qwen3.5-397B-A17B-NVFP4 as the model's nvfp4 checkpoint.
    data, path = _plan(tmp_path, "--model", "Qwen3.5-397B-A17B", "--quant", "nvfp4")
    best = data["recommended"]
    assert best is not None
    topology = {1: "single", 2: "direct", 3: "ring3", 4: "switch4"}[best["nodes"]]
    r = runner.invoke(app, ["runtime", "render", "vllm", "--cluster",
                            str(cluster_file(topology)), "--from-plan", str(path),
                            "-o", str(tmp_path / "o"), "--format", "json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["model"] == "nvidia/Qwen3.5-397B-A17B-NVFP4"


def test_explicit_model_and_tp_win_over_the_plan(tmp_path, cluster_file):
    path = tmp_path / "plan.json"
    path.write_text(json.dumps({"model": {"name": "gpt-oss-120b", "hf_id": "openai/gpt-oss-120b"},
                                "recommended": {"topology": "switch4", "nodes": 4, "tp": 4,
                                                "pp": 1}}))
    r = runner.invoke(app, ["runtime", "render", "trtllm", "--cluster",
                            str(cluster_file("switch4")), "--from-plan", str(path),
                            "--model", "acme/x", "--tp", "2", "--pp", "2",
                            "-o", str(tmp_path / "o"), "--format", "json"])
    assert r.exit_code == 0, r.output
    launch = json.loads(r.stdout)
    assert (launch["model"], launch["tp"], launch["pp"]) == ("acme/x", 2, 2)
