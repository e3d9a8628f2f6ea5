"""Pure memory arithmetic for one node of a tensor/pipeline-parallel deployment.

Units: bytes unless a name says GiB. Formulas (facts/models.yaml `formulas`):
- weights per node = params x bytes/param / TP x (largest pipeline stage's share of the layers)
- GQA KV per token = 2 x kv_layers x kv_heads_per_rank x head_dim x bytes/element
- MLA KV per token = kv_layers x (kv_lora_rank + qk_rope_head_dim) x bytes/element, the same on
  every TP rank (the latent is not split by head)
- sliding-window layers hold at most `window` tokens per sequence
- linear-attention / Mamba layers hold a fixed state per sequence, independent of the context
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sparkctl.plan.constants import (
    BYTES_PER_PARAM,
    KV_BYTES_PER_ELEMENT,
    LINEAR_STATE_BYTES_PER_ELEMENT,
)
from sparkctl.plan.model import ModelSpec


@dataclass(frozen=True)
class Parallelism:
    """How one topology splits the model: TP within the layers, PP across layer stages."""

    tp: int
    pp: int
    why: str = ""  # why this split, when it is not plain TP over every node
    tp_checked: bool = True  # False when no head count was known to check TP divisibility

    @property
    def label(self) -> str:
        return f"PP{self.pp}" if self.pp > 1 else f"TP{self.tp}"


def tp_problem(model: ModelSpec, tp: int) -> str | None:
    """Why tensor parallelism of `tp` is invalid for the model, or None when it is valid."""
    if tp == 1:
        return None
    if model.attention_heads is not None and int(model.attention_heads.value) % tp:
        return f"{int(model.attention_heads.value)} attention heads are not divisible by {tp}"
    if model.attention != "mla" and model.kv_heads is not None:
        kv = int(model.kv_heads.value)
        # vLLM's QKVParallelLinear: tp >= kv needs tp % kv == 0 (replicas), else kv % tp == 0.
        if (tp >= kv and tp % kv) or (tp < kv and kv % tp):
            return f"{kv} KV heads cannot be spread over {tp} ranks (neither divides the other)"
    if model.linear_state is not None and model.linear_state.heads is not None:
        heads = int(model.linear_state.heads.value)
        if heads % tp:
            return f"{heads} {model.linear_state.kind} heads are not divisible by {tp}"
    return None


def parallelism_for(model: ModelSpec, nodes: int) -> Parallelism:
    """TP across all nodes when the heads allow it, else pipeline parallel (TP1 per node)."""
    if nodes == 1:
        return Parallelism(1, 1)
    problem = tp_problem(model, nodes)
    if problem is not None:
        return Parallelism(1, nodes, f"TP{nodes} is invalid ({problem}): pipeline parallel, "
                                     f"{nodes} stages of whole layers")
    if model.attention_heads is not None:
        return Parallelism(nodes, 1)
    if model.attention != "mla" and model.kv_heads is not None:
        return Parallelism(nodes, 1, f"TP{nodes} checked on the KV heads only (attention head "
                                     "count unknown)")
    return Parallelism(nodes, 1, f"TP{nodes} not checked (head counts unknown)", False)


def stage_share(count: int, pp: int) -> int:
    """Layers of one kind on the largest pipeline stage (stages split layers as evenly as
    they can)."""
    return math.ceil(count / pp) if count else 0


def weight_bytes_total(params_b: float, quant: str) -> float:
    return params_b * 1e9 * BYTES_PER_PARAM[quant].value


def weight_bytes_per_node(model: ModelSpec, params_b: float, quant: str,
                          par: Parallelism) -> float:
    total = weight_bytes_total(params_b, quant) / par.tp
    if par.pp == 1 or model.layers is None:
        return total
    layers = int(model.layers.value)
    return total * stage_share(layers, par.pp) / layers


def kv_heads_per_rank(kv_heads: int, tp: int) -> int:
    """KV heads one TP rank holds: split while they divide, never below one (replicated)."""
    return max(1, kv_heads // tp)


def kv_bytes_per_token_per_layer(model: ModelSpec, tp: int, kv_dtype: str) -> float:
    element = KV_BYTES_PER_ELEMENT[kv_dtype].value
    # The planner calls this once missing_for_kv() is empty (_require_geometry).
    if model.attention == "mla":
        assert model.kv_lora_rank is not None and model.qk_rope_head_dim is not None
        return (int(model.kv_lora_rank.value) + int(model.qk_rope_head_dim.value)) * element
    assert model.kv_heads is not None and model.head_dim is not None
    heads = kv_heads_per_rank(int(model.kv_heads.value), tp)
    return 2 * heads * int(model.head_dim.value) * element


@dataclass(frozen=True)
class KvRates:
    """Per-node KV growth: bytes per token for full layers and for sliding-window layers."""

    full_per_token: float
    sliding_per_token: float
    window: int

    def bytes_per_sequence(self, context: int) -> float:
        return (self.full_per_token * context
                + self.sliding_per_token * min(context, self.window))


def kv_rates(model: ModelSpec, par: Parallelism, kv_dtype: str) -> KvRates:
    per_layer = kv_bytes_per_token_per_layer(model, par.tp, kv_dtype)
    full, sliding = model.kv_layer_counts()
    window = int(model.sliding_window.value) if model.sliding_window else 0
    return KvRates(per_layer * stage_share(full, par.pp),
                   per_layer * stage_share(sliding, par.pp), window)


def linear_state_bytes_per_sequence(model: ModelSpec, par: Parallelism) -> float | None:
    """Recurrent state per sequence on one node; None when the catalogue lacks its size.

    Not divided by TP: the facts do not say how engines shard it, so the planner counts it whole.
    """
    ls = model.linear_state
    if ls is None:
        return 0.0
    per_layer = ls.elements_per_layer()
    if per_layer is None:
        return None
    layers = stage_share(int(ls.layers.value), par.pp)
    return layers * per_layer * LINEAR_STATE_BYTES_PER_ELEMENT.value


def max_context_tokens(budget_per_sequence: float, rates: KvRates) -> int | None:
    """Longest context one sequence can hold in `budget_per_sequence` bytes; None = no limit."""
    if budget_per_sequence <= 0:
        return 0
    both = rates.full_per_token + rates.sliding_per_token
    if both == 0:
        return None
    tokens = budget_per_sequence / both
    if rates.sliding_per_token and tokens > rates.window:
        if rates.full_per_token == 0:
            return None  # every KV layer is windowed: the context does not grow the cache
        tokens = (budget_per_sequence - rates.sliding_per_token * rates.window) / (
            rates.full_per_token)
    return max(0, math.floor(tokens))
