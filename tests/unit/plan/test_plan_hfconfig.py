"""config.json input: small configs written with the fields facts/models.yaml quotes from the
published configs (values as given there; fields the facts do not give are left out)."""

from __future__ import annotations

import pytest

from sparkctl.errors import InputError
from sparkctl.plan.catalogue import find_model
from sparkctl.plan.lookup import resolve_model
from sparkctl.plan.planner import PlanRequest, plan

from .conftest import GIB

# openai/gpt-oss-120b: 36 layers alternating sliding(128)/full, 64 heads, 8 KV, head_dim 64.
GPT_OSS_120B = {
    "architectures": ["GptOssForCausalLM"], "model_type": "gpt_oss",
    "num_hidden_layers": 36, "hidden_size": 2880, "num_attention_heads": 64,
    "num_key_value_heads": 8, "head_dim": 64, "sliding_window": 128,
    "layer_types": ["sliding_attention", "full_attention"] * 18,
    "max_position_embeddings": 131072, "quantization_config": {"quant_method": "mxfp4"},
}
# deepseek-ai/DeepSeek-V3: MLA, 61 layers, 128 heads, kv_lora_rank 512, rope 64, block FP8.
DEEPSEEK_V3 = {
    "architectures": ["DeepseekV3ForCausalLM"], "model_type": "deepseek_v3",
    "num_hidden_layers": 61, "hidden_size": 7168, "num_attention_heads": 128,
    "num_key_value_heads": 128, "kv_lora_rank": 512, "q_lora_rank": 1536,
    "qk_rope_head_dim": 64, "qk_nope_head_dim": 128, "v_head_dim": 128,
    "max_position_embeddings": 163840,
    "quantization_config": {"quant_method": "fp8", "weight_block_size": [128, 128]},
}
# Qwen/Qwen3.5-397B-A17B (multimodal wrapper: the LM sits in text_config).
QWEN35_397B = {
    "architectures": ["Qwen3_5MoeForConditionalGeneration"],
    "text_config": {
        "num_hidden_layers": 60, "hidden_size": 4096, "num_attention_heads": 32,
        "num_key_value_heads": 2, "head_dim": 256, "full_attention_interval": 4,
        "linear_num_value_heads": 64, "linear_num_key_heads": 16,
        "linear_key_head_dim": 128, "linear_value_head_dim": 128,
        "max_position_embeddings": 262144,
    },
    "torch_dtype": "bfloat16",
}
# meta-llama Llama-3 70B family: no head_dim key, so hidden_size / heads = 8192 / 64 = 128.
LLAMA_70B = {
    "architectures": ["LlamaForCausalLM"], "num_hidden_layers": 80, "hidden_size": 8192,
    "num_attention_heads": 64, "num_key_value_heads": 8, "max_position_embeddings": 131072,
    "torch_dtype": "bfloat16",
}
# nvidia Nemotron-3-Nano: the facts give the pattern and Mamba heads but NOT ssm_state_size.
NEMOTRON_NANO = {
    "architectures": ["NemotronHForCausalLM"], "num_hidden_layers": 52, "hidden_size": 2688,
    "num_attention_heads": 32, "num_key_value_heads": 2, "head_dim": 128,
    "hybrid_override_pattern": "MEMEM*EMEMEM*EMEMEM*EMEMEM*EMEMEM*EMEMEMEM*EMEMEMEME",
    "mamba_num_heads": 64, "mamba_head_dim": 64, "torch_dtype": "bfloat16",
}


def test_gpt_oss_config_plans_exactly_like_the_catalogue(write_config):
    path = write_config(GPT_OSS_120B)
    from_config = plan(resolve_model(str(path), params_b=116.83), PlanRequest())
    from_catalogue = plan(find_model("gpt-oss-120b"), PlanRequest())
    assert from_config.quant == "mxfp4"  # read from quantization_config
    assert from_config.model.origin == str(path)
    for a, b in zip(from_config.topologies, from_catalogue.topologies, strict=True):
        assert (a.weights_gib, a.kv_gib, a.headroom_gib, a.max_context_tokens, a.tp, a.pp) == \
            (b.weights_gib, b.kv_gib, b.headroom_gib, b.max_context_tokens, b.tp, b.pp)
    assert from_config.model_confidence == "given"


def test_mla_config(write_config):
    model = resolve_model(str(write_config(DEEPSEEK_V3)), params_b=671)
    assert model.attention == "mla"
    result = plan(model, PlanRequest(quant="int4", context_tokens=32768))
    assert result.kv_bytes_per_token == 61 * (512 + 64) * 2
    switch4 = result.topologies[-1]
    assert switch4.kv_gib == pytest.approx(61 * 576 * 2 * 32768 / GIB)  # replicated, not /4
    assert plan(model, PlanRequest()).quant == "fp8"


def test_hybrid_linear_attention_config_in_text_config(write_config):
    model = resolve_model(str(write_config(QWEN35_397B)), params_b=397)
    assert model.attention == "hybrid"
    assert model.kv_layer_counts() == (15, 0)            # 60 // full_attention_interval 4
    assert int(model.linear_state.layers.value) == 45
    assert model.linear_state.elements_per_layer() * 45 == 47185920  # facts' derived figure
    result = plan(model, PlanRequest(quant="nvfp4"))
    assert result.kv_bytes_per_token == 30720             # facts' derived figure
    assert result.recommended == "direct"


def test_head_dim_from_hidden_size(write_config):
    model = resolve_model(str(write_config(LLAMA_70B)), params_b=70)
    assert int(model.head_dim.value) == 128
    assert plan(model, PlanRequest()).kv_bytes_per_token == 327680  # facts' derived figure


def test_folder_holding_a_config(write_config, tmp_path):
    write_config(LLAMA_70B)
    model = resolve_model(str(tmp_path), params_b=70)
    assert model.origin == str(tmp_path / "config.json")


def test_missing_mamba_state_size_is_an_error_naming_the_field(write_config):
    with pytest.raises(InputError) as err:
        resolve_model(str(write_config(NEMOTRON_NANO)), params_b=31.6)
    assert "ssm_state_size is missing" in str(err.value)


@pytest.mark.parametrize("drop,field", [
    ("num_hidden_layers", "num_hidden_layers"),
    ("hidden_size", "hidden_size"),  # no head_dim either, so head size cannot be derived
])
def test_missing_fields_are_errors(write_config, drop, field):
    fields = {k: v for k, v in LLAMA_70B.items() if k != drop}
    with pytest.raises(InputError) as err:
        resolve_model(str(write_config(fields)), params_b=70)
    assert f"{field} is missing" in str(err.value)
    assert "config.json" in str(err.value)


def test_mla_without_rope_dim(write_config):
    fields = {k: v for k, v in DEEPSEEK_V3.items() if k != "qk_rope_head_dim"}
    with pytest.raises(InputError, match="qk_rope_head_dim is missing"):
        resolve_model(str(write_config(fields)), params_b=671)


def test_parameter_count_is_never_guessed(write_config):
    model = resolve_model(str(write_config(LLAMA_70B)))
    with pytest.raises(InputError) as err:
        plan(model, PlanRequest())
    assert "parameter count is unknown" in str(err.value)
    assert "--params" in str(err.value)


def test_unknown_format_needs_quant(write_config):
    fields = {k: v for k, v in LLAMA_70B.items() if k != "torch_dtype"}
    model = resolve_model(str(write_config(fields)), params_b=70)
    with pytest.raises(InputError, match="pass --quant"):
        plan(model, PlanRequest())
    assert plan(model, PlanRequest(quant="bf16")).quant == "bf16"


def test_broken_json_names_file_and_line(write_config, tmp_path):
    path = tmp_path / "config.json"
    path.write_text('{\n  "num_hidden_layers": 80,\n  oops\n}\n', encoding="utf-8")
    with pytest.raises(InputError) as err:
        resolve_model(str(path), params_b=70)
    assert f"{path}:3:" in str(err.value)


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match="no such config.json"):
        resolve_model(str(tmp_path / "nope.json"))


@pytest.mark.parametrize("bad", [0, -4, "80", True])
def test_non_positive_or_non_integer_fields(write_config, bad):
    with pytest.raises(InputError, match="num_hidden_layers must be a positive integer"):
        resolve_model(str(write_config({**LLAMA_70B, "num_hidden_layers": bad})), params_b=70)


def test_layer_types_length_must_match(write_config):
    with pytest.raises(InputError, match="layer_types lists 2 layers"):
        resolve_model(str(write_config({**GPT_OSS_120B, "layer_types": ["full_attention"] * 2})),
                      params_b=116.83)


def test_sliding_layers_without_a_window_are_refused(write_config):
    # Found by mypy: the planner's notes read sliding_window.value and crashed on None.
    config = {k: v for k, v in GPT_OSS_120B.items() if k != "sliding_window"}
    with pytest.raises(InputError, match="sliding_window is missing"):
        resolve_model(str(write_config(config)), params_b=116.83)


def test_heterogeneous_blocks_are_refused(write_config):
    with pytest.raises(InputError, match="block_configs"):
        resolve_model(str(write_config({**LLAMA_70B, "block_configs": [{}]})), params_b=49)
