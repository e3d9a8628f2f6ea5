"""Planner figures against hand arithmetic for catalogue models (each expression shows its sum)."""

from __future__ import annotations

import math

import pytest

from sparkctl.plan.catalogue import find_model
from sparkctl.plan.planner import PlanRequest, plan

from .conftest import GIB, OVERHEAD, USABLE


def _topo(result, name):
    return next(f for f in result.topologies if f.topology == name)


def test_llama_405b_nvfp4_on_two_nodes_at_32k():
    result = plan(find_model("Llama-3.1-405B-Instruct"),
                  PlanRequest(quant="nvfp4", context_tokens=32768))
    direct = _topo(result, "direct")
    weights = 405e9 * 0.5625 / 2 / GIB                 # 113.9e9 B per node = 106.08 GiB
    kv = 2 * 126 * (8 // 2) * 128 * 2 * 32768 / GIB    # TP2: 4 KV heads per rank -> 7.875 GiB
    assert (direct.tp, direct.pp) == (2, 1)
    assert direct.kv_heads_per_rank == 4
    assert direct.weights_gib == pytest.approx(weights, rel=1e-12)
    assert direct.kv_gib == pytest.approx(kv, rel=1e-12)
    assert kv == pytest.approx(7.875)
    assert direct.headroom_gib == pytest.approx(USABLE - weights - kv - OVERHEAD, rel=1e-9)
    assert direct.fits is False  # 106.08 + 7.875 + 11.9 = 125.86 > 119
    # Longest context that fits: what is left after weights and overhead / KV bytes per token.
    left = (USABLE - weights - OVERHEAD) * GIB
    assert direct.max_context_tokens == math.floor(left / (2 * 126 * 4 * 128 * 2))
    assert direct.max_context_tokens == 4229


def test_qwen35_397b_nvfp4_hybrid_on_two_nodes_at_128k():
    result = plan(find_model("Qwen3.5-397B-A17B"),
                  PlanRequest(quant="nvfp4", context_tokens=131072))
    direct = _topo(result, "direct")
    weights = 397e9 * 0.5625 / 2 / GIB                # 103.99 GiB per node
    kv = 2 * 15 * max(1, 2 // 2) * 256 * 2 * 131072 / GIB  # 15 full-attention layers only
    state = 45 * 64 * 128 * 128 * 4 / GIB             # 45 Gated DeltaNet layers, FP32 state
    assert direct.weights_gib == pytest.approx(weights, rel=1e-12)
    assert direct.kv_gib == pytest.approx(kv, rel=1e-12)
    assert kv == pytest.approx(1.875)
    assert direct.linear_state_gib == pytest.approx(state, rel=1e-12)
    assert direct.headroom_gib == pytest.approx(USABLE - weights - kv - state - OVERHEAD)
    assert direct.fits is True
    # TP4 leaves 1 KV head per rank: 2 KV heads cannot split four ways, so they replicate.
    switch4 = _topo(result, "switch4")
    assert switch4.kv_heads_per_rank == 1
    assert switch4.kv_gib == pytest.approx(kv, rel=1e-12)


def test_glm5_int4_mla_is_replicated_under_tp_and_split_under_pp():
    result = plan(find_model("GLM-5"), PlanRequest(quant="int4", context_tokens=131072))
    weights_total = 744e9 * (0.5 + 2 / 128) / GIB      # int4 g128 FP16 scales: 357.27 GiB
    latent = 78 * (512 + 64) * 2                       # 89,856 B/token, same on every TP rank
    switch4 = _topo(result, "switch4")
    assert switch4.weights_gib == pytest.approx(weights_total / 4, rel=1e-12)
    assert switch4.kv_gib == pytest.approx(latent * 131072 / GIB, rel=1e-12)
    assert _topo(result, "direct").kv_gib == pytest.approx(switch4.kv_gib)
    ring3 = _topo(result, "ring3")
    assert (ring3.tp, ring3.pp) == (1, 3)              # 64 heads % 3 != 0
    assert "64 attention heads are not divisible by 3" in ring3.parallel_reason
    assert ring3.weights_gib == pytest.approx(weights_total * 26 / 78, rel=1e-12)
    assert ring3.kv_gib == pytest.approx(26 * (512 + 64) * 2 * 131072 / GIB, rel=1e-12)
    assert result.recommended == "switch4"


def test_gpt_oss_120b_sliding_window_layers_stop_growing_at_the_window():
    result = plan(find_model("gpt-oss-120b"), PlanRequest(context_tokens=131072))
    single = _topo(result, "single")
    weights = 116.83e9 * 0.53125 / GIB                 # MXFP4 native: 57.80 GiB
    full = 2 * 18 * 8 * 64 * 2                         # 36,864 B/token on 18 full layers
    window = 18 * 128 * (2 * 8 * 64 * 2)               # 18 SWA layers x 128 tokens x 2,048 B
    assert result.quant == "mxfp4"
    assert single.weights_gib == pytest.approx(weights, rel=1e-12)
    assert single.kv_gib == pytest.approx((full * 131072 + window) / GIB, rel=1e-12)
    left = (USABLE - weights - OVERHEAD) * GIB
    assert single.max_context_tokens == math.floor((left - window) / full)


def test_concurrency_multiplies_kv_and_divides_max_context():
    one = _topo(plan(find_model("Llama-3.3-70B-Instruct"),
                     PlanRequest(quant="nvfp4", context_tokens=32768)), "single")
    four = _topo(plan(find_model("Llama-3.3-70B-Instruct"),
                      PlanRequest(quant="nvfp4", context_tokens=32768, concurrency=4)), "single")
    per_token = 2 * 80 * 8 * 128 * 2                   # 327,680 B/token
    assert one.kv_gib == pytest.approx(per_token * 32768 / GIB)  # 10 GiB
    assert four.kv_gib == pytest.approx(4 * one.kv_gib)
    left = (USABLE - 70e9 * 0.5625 / GIB - OVERHEAD) * GIB
    assert four.max_context_tokens == math.floor(left / 4 / per_token)


def test_fp8_kv_halves_the_cache():
    bf16 = _topo(plan(find_model("MiniMax-M2.5"), PlanRequest(context_tokens=65536)), "switch4")
    fp8 = _topo(plan(find_model("MiniMax-M2.5"),
                     PlanRequest(context_tokens=65536, kv_dtype="fp8")), "switch4")
    assert fp8.kv_gib == pytest.approx(bf16.kv_gib / 2)
    assert bf16.kv_gib == pytest.approx(2 * 62 * (8 // 4) * 128 * 2 * 65536 / GIB)


def test_fp8_weights_carry_one_fp32_scale_per_128x128_block():
    result = plan(find_model("MiniMax-M2.5"), PlanRequest(context_tokens=1024))
    assert result.quant == "fp8"  # the native release
    assert result.weights_total_gib == pytest.approx(230e9 * (1 + 4 / 16384) / GIB)


def test_usable_and_overhead_are_configurable():
    default = _topo(plan(find_model("gpt-oss-20b"), PlanRequest()), "single")
    custom = _topo(plan(find_model("gpt-oss-20b"),
                        PlanRequest(usable_gib=100.0, overhead_gib=20.0)), "single")
    assert default.overhead_gib == pytest.approx(11.9)
    assert custom.usable_gib == 100.0 and custom.overhead_gib == 20.0
    assert custom.headroom_gib == pytest.approx(default.headroom_gib - 19.0 - 8.1)
    scaled = plan(find_model("gpt-oss-20b"), PlanRequest(usable_gib=121.0))
    assert scaled.overhead_gib == pytest.approx(12.1)  # default reserve follows --usable-gib


def test_default_context_is_capped_at_the_models_max():
    result = plan(find_model("Qwen3-235B-A22B"), PlanRequest(quant="int4"))
    assert result.context_tokens == 32768  # native max; 128k would need YaRN
    assert "capped" in result.context_origin
    longer = plan(find_model("Qwen3-235B-A22B"), PlanRequest(quant="int4", context_tokens=131072))
    assert any("exceeds the model's max context 32768" in n for n in longer.notes)


def test_unknown_mamba_state_is_flagged_not_invented():
    result = plan(find_model("NVIDIA-Nemotron-3-Nano-30B-A3B"), PlanRequest(quant="nvfp4"))
    assert all(f.linear_state_gib is None for f in result.topologies)
    assert any("state size unknown" in n and "state_size" in n for n in result.notes)
    # 6 attention layers x 2 KV heads x 128 x 2 (K,V) x 2 B
    assert result.kv_bytes_per_token == 2 * 6 * 2 * 128 * 2


def test_weakest_confidence_is_carried_through():
    coder = plan(find_model("Qwen3-Coder-480B-A35B-Instruct"), PlanRequest(quant="fp8"))
    assert coder.model_confidence == "unconfirmed"
    assert "head_dim" in coder.weakest_inputs
    glm = plan(find_model("GLM-5"), PlanRequest(quant="int4"))
    assert glm.model_confidence == "primary"
    assert glm.confidence == "secondary"  # usable GiB and KV element size come from secondary


def test_pipeline_stages_hold_whole_layers():
    # DeepSeek-V3: 61 layers over 3 stages -> the largest stage has ceil(61/3) = 21 layers.
    result = plan(find_model("DeepSeek-V3"), PlanRequest(quant="nvfp4", context_tokens=32768))
    ring3 = _topo(result, "ring3")
    assert (ring3.tp, ring3.pp) == (1, 3)
    assert ring3.weights_gib == pytest.approx(671e9 * 0.5625 / GIB * 21 / 61, rel=1e-12)
    assert ring3.kv_gib == pytest.approx(21 * (512 + 64) * 2 * 32768 / GIB, rel=1e-12)


def test_tp_must_also_spread_the_kv_heads():
    # MiniMax-M2.5: 48 attention heads divide by 3, but 8 KV heads neither divide 3 nor 3 them.
    result = plan(find_model("MiniMax-M2.5"), PlanRequest(context_tokens=32768))
    ring3 = _topo(result, "ring3")
    assert (ring3.tp, ring3.pp) == (1, 3)
    assert "8 KV heads cannot be spread over 3 ranks" in ring3.parallel_reason
    assert _topo(result, "switch4").tp == 4  # 48 % 4 == 0 and 8 % 4 == 0
