"""Reading a Hugging Face `config.json` into the planner's ModelSpec.

Only what the memory model needs is read: layer counts and kinds, KV heads and head size (or the
MLA latent width), sliding windows, linear-attention / Mamba state sizes and the context limit.
A config never carries the parameter count, so it comes from --params; a missing field is an
error naming the field, never a guess.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sparkctl.errors import InputError, Location
from sparkctl.plan.constants import Sourced
from sparkctl.plan.model import LinearState, ModelSpec

CONFIG_CONFIDENCE = "config"  # read from the user's own file: taken as given


def _read(path: Path) -> dict[str, Any]:
    if path.is_dir():
        path = path / "config.json"
    if not path.is_file():
        raise InputError(f"{path}: no such config.json",
                         hint="pass the path of a Hugging Face config.json or a catalogue name")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InputError(f"not valid JSON: {exc.msg}",
                         location=Location(str(path), exc.lineno, exc.colno)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read: {exc}") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: expected a JSON object at the top level")
    # Multimodal wrappers (e.g. Qwen3.5 *ForConditionalGeneration) keep the LM in text_config.
    text = data.get("text_config")
    if isinstance(text, dict):
        data = {**data, **text}
    return data


class _Fields:
    """Typed access to config keys, each answer tagged with where it came from."""

    def __init__(self, path: Path, data: dict[str, Any]) -> None:
        self.path, self.data = path, data

    def src(self, key: str, value: float, note: str = "") -> Sourced:
        return Sourced(value, f"{self.path}: {key}", CONFIG_CONFIDENCE, note)

    def int_or_none(self, key: str) -> int | None:
        value = self.data.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise InputError(f"{self.path}: {key} must be a positive integer, got {value!r}")
        return value

    def need(self, key: str, why: str) -> int:
        value = self.int_or_none(key)
        if value is None:
            raise InputError(f"{self.path}: {key} is missing ({why})",
                             hint="use the model's published config.json, or a catalogue name "
                                  "(`sparkctl plan --list`)")
        return value


def _quant(data: dict[str, Any]) -> str | None:
    qc = data.get("quantization_config")
    if isinstance(qc, dict):
        method = str(qc.get("quant_method", "")).lower()
        algo = str(qc.get("quant_algo", "")).upper()
        if method == "fp8" or (method == "modelopt" and "FP8" in algo):
            return "fp8"
        if method == "modelopt" and "NVFP4" in algo:
            return "nvfp4"
        if method == "mxfp4":
            return "mxfp4"
        if method in ("gptq", "awq", "auto-round", "autoround") and qc.get("bits") == 4:
            return "int4"
        return None
    dtype = data.get("torch_dtype") or data.get("dtype")
    return "bf16" if dtype in ("bfloat16", "float16") else None


def _layer_kinds(f: _Fields, layers: int) -> tuple[int, int, int, str, list[str]]:
    """(full-attention, sliding-window, linear/Mamba) layer counts, the key they were read from,
    and notes on how."""
    data, notes = f.data, list[str]()
    pattern = data.get("hybrid_override_pattern")
    if isinstance(pattern, str) and pattern:
        if len(pattern) != layers:
            raise InputError(f"{f.path}: hybrid_override_pattern has {len(pattern)} layers but "
                             f"num_hidden_layers is {layers}")
        return pattern.count("*"), 0, pattern.count("M"), "hybrid_override_pattern", notes
    types = data.get("layer_types")
    if isinstance(types, list) and types:
        if len(types) != layers:
            raise InputError(f"{f.path}: layer_types lists {len(types)} layers but "
                             f"num_hidden_layers is {layers}")
        known = {"full_attention", "sliding_attention", "linear_attention"}
        unknown = sorted({str(t) for t in types} - known)
        if unknown:
            raise InputError(f"{f.path}: layer_types has kinds the planner cannot size: "
                             f"{', '.join(unknown)}",
                             hint=f"known kinds: {', '.join(sorted(known))}")
        return (types.count("full_attention"), types.count("sliding_attention"),
                types.count("linear_attention"), "layer_types", notes)
    if data.get("linear_num_value_heads") is not None:
        interval = f.need("full_attention_interval", "a linear-attention model without "
                          "layer_types needs it to tell which layers keep KV")
        full = layers // interval
        return full, 0, layers - full, "full_attention_interval", notes
    attn_types = data.get("attn_type_list")
    if isinstance(attn_types, list) and 0 in attn_types:
        raise InputError(f"{f.path}: attn_type_list has linear (lightning) attention layers, "
                         "whose state the planner cannot size")
    window = data.get("sliding_window")
    pattern_n = data.get("sliding_window_pattern")
    if window and isinstance(pattern_n, int) and pattern_n > 0:
        # Gemma 3 convention: every pattern_n-th layer is global, the rest slide.
        full = sum(1 for i in range(layers) if (i + 1) % pattern_n == 0)
        notes.append(f"sliding layers from sliding_window_pattern {pattern_n}")
        return full, layers - full, 0, "sliding_window_pattern", notes
    if window and data.get("use_sliding_window", True) is not False:
        notes.append("sliding_window without layer_types: every layer taken as sliding "
                     "(Mistral convention)")
        return 0, layers, 0, "sliding_window", notes
    return layers, 0, 0, "num_hidden_layers", notes


def load_config(path_text: str, params_b: float | None) -> ModelSpec:
    """A ModelSpec from a config.json (or a folder holding one)."""
    path = Path(path_text)
    data = _read(path)
    if path.is_dir():
        path = path / "config.json"
    f = _Fields(path, data)
    if data.get("block_configs") is not None:
        raise InputError(f"{path}: heterogeneous block_configs (DeciLM / NAS-pruned models) "
                         "are not supported: layers differ in KV heads")
    layers = f.need("num_hidden_layers", "the KV cache grows per layer")
    full, sliding, linear, basis, notes = _layer_kinds(f, layers)
    heads = f.int_or_none("num_attention_heads")
    name = str(data.get("_name_or_path") or path.parent.name or path.name)
    common: dict[str, Any] = {
        "name": name, "origin": str(path), "layers": f.src("num_hidden_layers", layers),
        "attention_heads": f.src("num_attention_heads", heads) if heads else None,
        "params_b": Sourced(params_b, "--params", "given") if params_b else None,
        "native_quant": _quant(data),
    }
    max_ctx = f.int_or_none("max_position_embeddings")
    if max_ctx:
        common["max_context"] = f.src("max_position_embeddings", max_ctx)
    if data.get("kv_lora_rank") is not None:
        rank = f.need("kv_lora_rank", "MLA latent width")
        rope = f.need("qk_rope_head_dim", "MLA caches the rope part of the key next to the latent")
        return ModelSpec(attention="mla", kv_lora_rank=f.src("kv_lora_rank", rank),
                         qk_rope_head_dim=f.src("qk_rope_head_dim", rope),
                         full_attention_layers=f.src(basis, full),
                         notes=tuple(notes), **common)
    kv = f.int_or_none("num_key_value_heads")
    if kv is None:
        heads_for_kv = f.need("num_attention_heads", "num_key_value_heads is absent, and HF "
                              "then uses num_attention_heads")
        kv_src = f.src("num_attention_heads", heads_for_kv,
                       "num_key_value_heads absent: HF default = num_attention_heads (MHA)")
        notes.append("num_key_value_heads absent: taken as num_attention_heads (HF default, MHA)")
    else:
        kv_src = f.src("num_key_value_heads", kv)
    head_dim = f.int_or_none("head_dim")
    if head_dim is not None:
        hd_src = f.src("head_dim", head_dim)
    else:
        hidden = f.need("hidden_size", "head_dim is absent, so it is hidden_size / "
                        "num_attention_heads")
        n_heads = f.need("num_attention_heads", "head_dim is absent, so it is hidden_size / "
                         "num_attention_heads")
        if hidden % n_heads:
            raise InputError(f"{path}: hidden_size {hidden} is not divisible by "
                             f"num_attention_heads {n_heads}; add head_dim")
        hd_src = Sourced(hidden // n_heads, f"{path}: hidden_size / num_attention_heads",
                         CONFIG_CONFIDENCE)
    window = f.need("sliding_window", "layer_types has sliding_attention layers, whose KV it "
                    "caps") if sliding else None
    linear_state = _linear_state(f, linear, basis) if linear else None
    return ModelSpec(
        attention="hybrid" if linear else "gqa", kv_heads=kv_src, head_dim=hd_src,
        full_attention_layers=f.src(basis, full) if linear or sliding else None,
        sliding_window=f.src("sliding_window", window) if window else None,
        sliding_window_layers=f.src(basis, sliding) if sliding else None,
        linear_state=linear_state, notes=tuple(notes), **common)


def _linear_state(f: _Fields, layers: int, basis: str) -> LinearState:
    if basis == "hybrid_override_pattern":
        why = "Mamba-2 state = heads x head_dim x ssm_state_size per layer"
        return LinearState(
            "mamba2", f.src(basis, layers),
            f.src("mamba_num_heads", f.need("mamba_num_heads", why)),
            f.src("mamba_head_dim", f.need("mamba_head_dim", why)),
            f.src("ssm_state_size", f.need("ssm_state_size", why)))
    why = "Gated DeltaNet state = value heads x value dim x key dim per layer"
    return LinearState(
        "gated_deltanet", f.src(basis, layers),
        f.src("linear_num_value_heads", f.need("linear_num_value_heads", why)),
        f.src("linear_value_head_dim", f.need("linear_value_head_dim", why)),
        f.src("linear_key_head_dim", f.need("linear_key_head_dim", why)))
