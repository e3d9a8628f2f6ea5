"""NVIDIA's capacity tiers (facts/dgx-spark.md; blog March 2026): ~120B on one Spark, ~400B on
two, ~700B on four. NVIDIA does not say which quantization or context; these tests assume a
4-bit format (named per test), one sequence and the default BF16 KV cache."""

from __future__ import annotations

import pytest

from sparkctl.plan.catalogue import find_model
from sparkctl.plan.planner import PlanRequest, plan


def _fits(result):
    return {f.topology: f.fits for f in result.topologies}


@pytest.mark.parametrize("name,quant", [
    ("gpt-oss-120b", "mxfp4"),                       # 116.83B, native MXFP4 (4.25 bits)
    ("NVIDIA-Nemotron-3-Super-120B-A12B", "nvfp4"),  # 120B, NVIDIA's NVFP4 release
])
def test_a_120b_4bit_model_fits_one_node(name, quant):
    result = plan(find_model(name), PlanRequest(quant=quant, context_tokens=131072))
    assert result.recommended == "single"


@pytest.mark.parametrize("quant", ["nvfp4", "int4"])
def test_a_400b_4bit_model_needs_two_nodes(quant):
    # Qwen3.5-397B-A17B: NVIDIA's NVFP4 build or Intel's INT4 AutoRound, 128k context.
    result = plan(find_model("Qwen3.5-397B-A17B"),
                  PlanRequest(quant=quant, context_tokens=131072))
    assert _fits(result)["single"] is False
    assert result.recommended == "direct"


@pytest.mark.parametrize("name,quant", [
    ("GLM-5", "int4"),         # 744B, Intel INT4 mixed AutoRound (planner: int4 g128)
    ("GLM-5", "nvfp4"),        # 744B, nvidia/GLM-5-NVFP4
    ("DeepSeek-V3", "nvfp4"),  # 671B, nvidia/DeepSeek-R1-NVFP4
    ("DeepSeek-V3", "int4"),
])
def test_a_700b_4bit_model_needs_four_nodes(name, quant):
    result = plan(find_model(name), PlanRequest(quant=quant, context_tokens=32768))
    assert _fits(result) == {"single": False, "direct": False, "ring3": False, "switch4": True}
    assert result.recommended == "switch4"


def test_beyond_the_tiers_nothing_fits():
    # Kimi K2 (1T) even at 4 bits: the only K2-family INT4 recipe found uses TP=8.
    result = plan(find_model("Kimi-K2-Instruct"), PlanRequest(quant="int4", context_tokens=32768))
    assert result.recommended is None
    assert "does not fit even switch4" in result.reason


def test_bf16_400b_does_not_fit_four_nodes():
    result = plan(find_model("Qwen3.5-397B-A17B"), PlanRequest(quant="bf16"))
    assert result.recommended is None
