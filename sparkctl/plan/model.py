"""What the planner knows about one model: its memory geometry, each number with its source."""

from __future__ import annotations

from dataclasses import dataclass, field

from sparkctl.plan.constants import CONFIDENCE_ORDER, Sourced

ATTENTION_KINDS = ("gqa", "mla", "hybrid")
LINEAR_STATE_KINDS = ("gated_deltanet", "mamba2")


@dataclass(frozen=True)
class LinearState:
    """Fixed-size recurrent state of linear-attention (Gated DeltaNet) or Mamba-2 layers.

    Elements per sequence = layers x heads x head_dim x state_size. For Gated DeltaNet heads are
    the value heads, head_dim the value head dim and state_size the key head dim; for Mamba-2
    state_size is ssm_state_size. A None state_size means the size is unknown.
    """

    kind: str
    layers: Sourced
    heads: Sourced | None
    head_dim: Sourced | None
    state_size: Sourced | None

    def elements_per_layer(self) -> int | None:
        if self.heads is None or self.head_dim is None or self.state_size is None:
            return None
        return int(self.heads.value) * int(self.head_dim.value) * int(self.state_size.value)

    def missing(self) -> list[str]:
        names = {"heads": self.heads, "head_dim": self.head_dim, "state_size": self.state_size}
        return [name for name, value in names.items() if value is None]


@dataclass(frozen=True)
class Checkpoint:
    """A published checkpoint of the model in one planner quantization."""

    quant: str
    format: str
    hf_id: str | None = None
    size: Sourced | None = None
    size_unit: str = "GB"

    def size_gib(self) -> float | None:
        if self.size is None:
            return None
        scale = 1.0 if self.size_unit == "GiB" else 1e9 / 2**30
        return float(self.size.value) * scale


@dataclass(frozen=True)
class SparkResult:
    """One published run of the model on DGX Spark hardware."""

    nodes: int | None
    quant: str | None
    format: str
    engine: str
    result: str
    source: str
    confidence: str
    model_variant: str | None = None


@dataclass(frozen=True)
class ModelSpec:
    """Memory geometry of a model.

    full_attention_layers: layers that keep KV for the whole context. For "gqa" it defaults to
    layers - sliding_window_layers; for "hybrid" it is explicit (the rest are linear/Mamba or MoE).
    """

    name: str
    origin: str  # "catalogue" or the config.json path
    attention: str
    layers: Sourced | None
    params_b: Sourced | None = None
    hf_id: str | None = None
    aliases: tuple[str, ...] = ()
    full_attention_layers: Sourced | None = None
    attention_heads: Sourced | None = None
    kv_heads: Sourced | None = None
    head_dim: Sourced | None = None
    kv_lora_rank: Sourced | None = None
    qk_rope_head_dim: Sourced | None = None
    sliding_window: Sourced | None = None
    sliding_window_layers: Sourced | None = None
    linear_state: LinearState | None = None
    max_context: Sourced | None = None
    native_quant: str | None = None
    checkpoints: tuple[Checkpoint, ...] = ()
    spark_results: tuple[SparkResult, ...] = ()
    notes: tuple[str, ...] = ()
    checks: dict[str, int] = field(default_factory=dict)

    def kv_layer_counts(self) -> tuple[int, int]:
        """(layers with full-context KV, layers with sliding-window KV)."""
        sliding = int(self.sliding_window_layers.value) if self.sliding_window_layers else 0
        if self.full_attention_layers is not None:
            return int(self.full_attention_layers.value), sliding
        if self.layers is None:
            return 0, sliding
        return int(self.layers.value) - sliding, sliding

    def missing_for_kv(self) -> list[str]:
        """Names of the fields the KV-cache model needs but this spec lacks."""
        missing = []
        if self.layers is None:
            missing.append("num_hidden_layers")
        if self.attention == "mla":
            if self.kv_lora_rank is None:
                missing.append("kv_lora_rank")
            if self.qk_rope_head_dim is None:
                missing.append("qk_rope_head_dim")
        else:
            if self.kv_heads is None:
                missing.append("num_key_value_heads")
            if self.head_dim is None:
                missing.append("head_dim")
        return missing

    def checkpoint_for(self, quant: str) -> Checkpoint | None:
        return next((c for c in self.checkpoints if c.quant == quant), None)

    def sourced_fields(self) -> dict[str, Sourced]:
        """Every number this spec carries, by name, for reports and confidence tracking."""
        names = ("params_b", "layers", "full_attention_layers", "attention_heads", "kv_heads",
                 "head_dim", "kv_lora_rank", "qk_rope_head_dim", "sliding_window",
                 "sliding_window_layers", "max_context")
        out = {n: getattr(self, n) for n in names if getattr(self, n) is not None}
        if self.linear_state is not None:
            ls = self.linear_state
            for n in ("layers", "heads", "head_dim", "state_size"):
                value = getattr(ls, n)
                if value is not None:
                    out[f"linear_state.{n}"] = value
        return out


def weakest(tags: list[str]) -> str:
    """The least reliable of a set of confidence tags.

    Values the user supplied (tag "given": --params, or "config": their config.json) are taken as
    given and do not rank; when nothing else is left the answer is "given".
    """
    rank = {t: i for i, t in enumerate(CONFIDENCE_ORDER)}
    ranked = [rank[t] for t in tags if t in rank]
    return CONFIDENCE_ORDER[max(ranked)] if ranked else "given"
