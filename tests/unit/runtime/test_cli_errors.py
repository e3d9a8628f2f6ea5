"""Bad inputs to `sparkctl runtime` end with a clear message and exit 2, never a traceback."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from sparkctl.cli.app import app
from sparkctl.render.inventory import build_inventory, write_inventory
from sparkctl.targets import resolve_target

MODEL = "openai/gpt-oss-120b"
runner = CliRunner()


def run(*args):
    result = runner.invoke(app, ["runtime", *map(str, args)])
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        result.exception
    return result


def test_unknown_runtime(cluster_file, tmp_path):
    r = run("render", "tgi", "--cluster", cluster_file("direct"), "--model", MODEL,
            "-o", tmp_path / "o")
    assert r.exit_code == 2
    assert "unknown runtime 'tgi'" in r.output and "vllm, trtllm, sglang" in r.output


def test_tp_that_does_not_divide_the_heads_is_refused_with_a_pp_suggestion(cluster_file,
                                                                           tmp_path):
    r = run("render", "vllm", "--cluster", cluster_file("ring3"), "--model", MODEL,
            "--tp", "auto", "-o", tmp_path / "o")
    assert r.exit_code == 2
    assert "TP 3 does not fit gpt-oss-120b: 64 attention heads are not divisible by 3" \
        in r.output
    assert "--tp 1 --pp 3" in r.output
    assert not (tmp_path / "o").exists()


def test_the_same_tp_passes_for_a_model_outside_the_catalogue(cluster_file, tmp_path):
    r = run("render", "vllm", "--cluster", cluster_file("ring3"), "--model", "acme/odd-model",
            "-o", tmp_path / "o")
    assert r.exit_code == 0, r.output
    assert "not in the catalogue" in r.output


def test_catalogue_is_matched_by_checkpoint_id_too(cluster_file, tmp_path):
    # Qwen3-235B's NVFP4 checkpoint is listed under the model: TP3 is checked and refused.
    r = run("render", "vllm", "--cluster", cluster_file("ring3"), "--model",
            "Qwen/Qwen3-235B-A22B-FP8", "-o", tmp_path / "o")
    assert r.exit_code == 2 and "Qwen3-235B-A22B" in r.output


@pytest.mark.parametrize("args, message", [
    (["--tp", "3"], "TP 3 x PP 1 = 3 ranks, but the target has 2 nodes"),
    (["--tp", "two"], "--tp must be 'auto' or a whole number"),
    (["--pp", "3"], "--pp 3 does not divide the 2 nodes"),
    (["--port", "70000"], "--port must be 1-65535"),
    (["--image", "bad image"], "is not a container image reference"),
])
def test_bad_options(cluster_file, tmp_path, args, message):
    r = run("render", "vllm", "--cluster", cluster_file("direct"), "--model", MODEL, *args,
            "-o", tmp_path / "o")
    assert r.exit_code == 2 and message in r.output, r.output


def test_model_is_required_and_must_be_an_id(cluster_file, tmp_path):
    r = run("render", "vllm", "--cluster", cluster_file("single"), "-o", tmp_path / "o")
    assert r.exit_code == 2 and "--model is required" in r.output
    r = run("render", "vllm", "--cluster", cluster_file("single"), "--model", "a b; rm -rf",
            "-o", tmp_path / "o")
    assert r.exit_code == 2 and "is not a Hugging Face id" in r.output


def test_sglang_defaults_to_nvidias_playbook_image(cluster_file, tmp_path):
    # NVIDIA/dgx-spark-playbooks nvidia/sglang/README.md: lmsysorg/sglang:latest-cu130.
    r = run("render", "sglang", "--cluster", cluster_file("direct"), "--model", MODEL,
            "-o", tmp_path / "o", "--format", "json")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.output)
    assert doc["image"] == "lmsysorg/sglang:latest-cu130"
    assert "nvidia/sglang/README.md" in doc["image_source"]


@pytest.mark.parametrize("args, message", [
    (["--gpu-memory-utilization", "0.99"], "--gpu-memory-utilization must be 0.05-0.95"),
    (["--max-model-len", "0"], "--max-model-len must be at least 1"),
])
def test_bad_vllm_memory_settings(cluster_file, tmp_path, args, message):
    r = run("render", "vllm", "--cluster", cluster_file("direct"), "--model", MODEL,
            "-o", tmp_path / "o", *args)
    assert r.exit_code == 2 and message in r.output


def test_vllm_memory_settings_are_refused_for_other_runtimes(cluster_file, tmp_path):
    r = run("render", "trtllm", "--cluster", cluster_file("direct"), "--model", MODEL,
            "-o", tmp_path / "o", "--max-model-len", "4096")
    assert r.exit_code == 2 and "apply to vllm" in r.output


def test_ring_render_warns_about_the_containers_nccl(cluster_file, tmp_path):
    r = run("render", "vllm", "--cluster", cluster_file("ring3"), "--model", MODEL,
            "--tp", "1", "--pp", "3", "-o", tmp_path / "o")
    assert r.exit_code == 0, r.output
    assert "warning: ring3:" in r.output and "must be >= 2.30.7" in r.output
    ok = run("render", "vllm", "--cluster", cluster_file("switch4"), "--model", MODEL,
             "-o", tmp_path / "p")
    assert ok.exit_code == 0 and "warning:" not in ok.output


def test_host_names_are_refused_as_advertised_addresses(cluster_file, tmp_path):
    r = run("render", "sglang", "--cluster", cluster_file("direct", hostnames=True),
            "--model", MODEL, "--image", "x/sglang:1", "-o", tmp_path / "o")
    assert r.exit_code == 2
    assert "node spark-1: management address 'spark-1' is not an IPv4 address" in r.output


def test_render_will_not_overwrite_a_foreign_directory(cluster_file, tmp_path):
    (tmp_path / "o").mkdir()
    (tmp_path / "o" / "mine.txt").write_text("keep")
    r = run("render", "vllm", "--cluster", cluster_file("single"), "--model", MODEL,
            "-o", tmp_path / "o")
    assert r.exit_code == 2 and "holds no sparkctl runtime render" in r.output
    assert (tmp_path / "o" / "mine.txt").read_text() == "keep"


def test_up_and_down_on_a_lab_target_are_refused(cluster_file, tmp_path):
    lab = resolve_target(cluster=cluster_file("direct", platform="lab"))
    inventory = write_inventory(tmp_path / "inv.yml", build_inventory(lab.cluster))
    for action in ("up", "down"):
        r = run(action, "vllm", "--inventory", inventory, "--model", MODEL,
                "--runs-dir", tmp_path / "runs")
        assert r.exit_code == 2, r.output
        assert "sparkctl_platform lab, with no GPU and no docker" in r.output
    assert not (tmp_path / "runs").exists()  # refused before any run started


def _plan_json(tmp_path, **changes):
    data = {"model": {"name": "gpt-oss-120b", "hf_id": MODEL},
            "request": {"quant": "mxfp4"},
            "recommended": {"topology": "direct", "nodes": 2, "tp": 2, "pp": 1}}
    for key, value in changes.items():
        data[key] = value
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(data, indent=2))
    return path


@pytest.mark.parametrize("text, message", [
    ('{"model": {"name": "x"},\n "recommended": }', "plan.json:2:17: plan is not valid JSON"),
    ("[1, 2]", "plan must be a JSON object"),
    ('{"model": {"name": "x"}}', "plan has no 'recommended' key"),
    ('{"model": {"name": "x"}, "recommended": null}',
     "the plan found no topology of 1-4 Sparks that holds x"),
    ('{"model": {"name": "x"}, "recommended": {"topology": "direct", "nodes": "2", "tp": 2,'
     ' "pp": 1}}', "plan recommended.nodes must be an integer, got '2'"),
    ('{"model": {"name": "x"}, "recommended": {"topology": "direct", "nodes": 2, "tp": 1,'
     ' "pp": 1}}', "do not multiply out"),
    ('{"recommended": null}', "plan model must be an object"),
])
def test_malformed_plans(cluster_file, tmp_path, text, message):
    path = tmp_path / "plan.json"
    path.write_text(text)
    r = run("render", "vllm", "--cluster", cluster_file("direct"), "--from-plan", path,
            "-o", tmp_path / "o")
    assert r.exit_code == 2, r.output
    assert message in r.output, r.output


def test_plan_for_another_node_count_is_refused(cluster_file, tmp_path):
    r = run("render", "vllm", "--cluster", cluster_file("switch4"), "--from-plan",
            _plan_json(tmp_path), "-o", tmp_path / "o")
    assert r.exit_code == 2
    assert "the plan recommends direct (2 nodes) for gpt-oss-120b, but" in r.output


def test_missing_plan_file(cluster_file, tmp_path):
    r = run("render", "vllm", "--cluster", cluster_file("direct"), "--from-plan",
            tmp_path / "nope.json", "-o", tmp_path / "o")
    assert r.exit_code == 2 and "does not exist" in r.output


def test_no_traceback_from_the_real_console_script(cluster_file, tmp_path):
    proc = subprocess.run([sys.executable, "-m", "sparkctl", "runtime", "render", "tgi",
                           "--cluster", str(cluster_file("direct")), "--model", MODEL],
                          capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and "unknown runtime" in proc.stderr
