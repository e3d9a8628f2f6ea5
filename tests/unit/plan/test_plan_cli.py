"""`sparkctl plan` through the real typer app."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from sparkctl.cli.app import app

runner = CliRunner()


def run(*args):
    return runner.invoke(app, ["plan", *args])


def test_table_for_a_catalogue_model():
    result = run("--model", "Qwen3.5-397B-A17B", "--quant", "nvfp4", "--context", "128k")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "recommended: direct" in out
    for topo in ("single", "direct", "ring3", "switch4"):
        assert topo in out
    assert "PP3" in out and "TP3 is invalid" in out
    assert "confidence:" in out


def test_json_shape():
    result = run("-m", "glm-5", "--quant", "int4", "--context", "32k", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data) == {"schema_version", "model", "request", "weights_total_gib",
                         "kv_bytes_per_token",
                         "topologies", "recommended", "reason", "notes", "confidence",
                         "spark_results"}
    assert [t["name"] for t in data["topologies"]] == ["single", "direct", "ring3", "switch4"]
    assert data["recommended"] == {"topology": "switch4", "nodes": 4, "tp": 4, "pp": 1}
    assert data["request"]["context_tokens"] == 32768
    assert data["model"]["fields"]["params_b"]["confidence"] == "primary"
    assert set(data["topologies"][0]) >= {"fits", "headroom_gib", "max_context_tokens", "tp"}


def test_nothing_fits_exits_1():
    result = run("-m", "Kimi-K2-Instruct")
    assert result.exit_code == 1
    assert "recommended: none" in result.stdout


def test_list():
    result = run("--list")
    assert result.exit_code == 0
    assert "gpt-oss-120b" in result.stdout and "KV geometry unknown" in result.stdout
    data = json.loads(run("--list", "--format", "json").stdout)["models"]
    assert len(data) == 14


@pytest.mark.parametrize("args,message", [
    (["-m", "gpt-oss-12b"], "did you mean: gpt-oss-120b"),
    (["-m", "gpt-oss-120b", "--context", "0"], "the context must be at least 1 token"),
    (["-m", "gpt-oss-120b", "--concurrency", "-1"], "--concurrency must be at least 1"),
    (["-m", "gpt-oss-120b", "--quant", "q4_k_m"], "unknown quantization 'q4_k_m'"),
    (["-m", "gpt-oss-120b", "--kv-dtype", "int8"], "unknown KV cache dtype"),
    ([], "--model is required"),
])
def test_bad_input_exits_2_with_a_message(args, message):
    result = run(*args)
    assert result.exit_code == 2
    assert "sparkctl: error:" in result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.output


def test_config_path(write_config):
    path = write_config({"num_hidden_layers": 80, "hidden_size": 8192, "num_attention_heads": 64,
                         "num_key_value_heads": 8, "torch_dtype": "bfloat16"})
    result = run("-m", str(path), "--params", "70b", "--context", "32k", "-f", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["model"]["origin"] == str(path)
    assert data["recommended"]["topology"] == "direct"  # 70B BF16 = 130.4 GiB of weights
    missing = run("-m", str(path), "--context", "32k")
    assert missing.exit_code == 2 and "--params" in missing.stderr
