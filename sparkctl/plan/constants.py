"""Every number the capacity planner assumes, each with its source and confidence.

Confidence tags follow facts/models.yaml: primary (vendor file), mirror (vendor file read through a
copy), derived (arithmetic on cited values), secondary (third party), unconfirmed (single
unverified mention). Nothing here is tuned to make a result come out; change a value only with a
new source.
"""

from __future__ import annotations

from dataclasses import dataclass

GIB = 2**30
GB = 10**9

# Weakest-last order used when the planner reports the weakest input behind a result.
CONFIDENCE_ORDER = ("primary", "mirror", "derived", "secondary", "unconfirmed")


@dataclass(frozen=True)
class Sourced:
    """A number together with where it comes from."""

    value: float
    source: str
    confidence: str
    note: str = ""


# --- weights: bytes per parameter, scales included where the format carries them --------------
BYTES_PER_PARAM: dict[str, Sourced] = {
    "bf16": Sourced(2.0, "facts/models.yaml formulas.weight_memory.bytes_per_param.bf16",
                    "primary"),
    # DeepSeek-V3 / MiniMax-M2 / GLM-5-FP8 style: E4M3 plus one FP32 scale per 128x128 block.
    "fp8": Sourced(1.0 + 4 / (128 * 128),
                   "facts/models.yaml formulas.weight_memory.bytes_per_param.fp8_e4m3_block128 "
                   "(1 B + one FP32 scale per 128x128 block)", "derived"),
    "nvfp4": Sourced(0.5625, "https://nvidia.github.io/cuda-rust/cutile/latest/tutorials/"
                     "11-nvfp4-inference.html (E2M1 + one E4M3 scale per 16 values)", "primary"),
    "mxfp4": Sourced(0.53125, "https://arxiv.org/abs/2508.10925 (gpt-oss card: 4.25 bits; "
                     "E2M1 + one E8M0 scale per 32 values)", "secondary"),
    # GPTQ/AWQ/AutoRound W4A16 at the common group size 128 with FP16 scales: 0.5 + 2/128.
    "int4": Sourced(0.5 + 2 / 128,
                    "facts/models.yaml formulas.weight_memory.bytes_per_param.int4_w4a16_group "
                    "(g128, FP16 scales; g32 BF16 scales would be 0.5625)", "derived"),
}
QUANTS: tuple[str, ...] = tuple(BYTES_PER_PARAM)

# --- KV cache element size ---------------------------------------------------------------------
KV_BYTES_PER_ELEMENT: dict[str, Sourced] = {
    "bf16": Sourced(2, "facts/models.yaml formulas.kv_cache_gqa_mha.notes (BF16/FP16 = 2)",
                    "secondary"),
    "fp8": Sourced(1, "facts/models.yaml formulas.kv_cache_gqa_mha.notes (vLLM --kv-cache-dtype "
                   "fp8 halves KV)", "secondary"),
}
KV_DTYPES: tuple[str, ...] = tuple(KV_BYTES_PER_ELEMENT)

# Recurrent state of linear-attention / Mamba layers. NVIDIA recommends a float32 SSM cache for
# Nemotron 3 Super; the planner uses FP32 for every such layer so it never under-counts.
LINEAR_STATE_BYTES_PER_ELEMENT = Sourced(
    4, "https://docs.nvidia.com/nemotron/nightly/usage-cookbook/Nemotron-3-Super/"
    "SparkDeploymentGuide/README.html (float32 mamba_ssm_cache)", "primary")

# --- one DGX Spark -----------------------------------------------------------------------------
# Two OEM boxes measured 119 and 121 GiB visible to the OS (of 128 GB); the lower is the default.
USABLE_GIB_PER_NODE = Sourced(
    119.0, "https://www.tobias-weiss.org/articles/ai/2-node-dgx-spark-deepseek-v4-cluster/ "
    "(119-121 GiB visible per node)", "secondary")

# vLLM keeps 1 - gpu_memory_utilization of device memory outside its budget (legacy default 0.9;
# current docs 0.92 — the older, larger reserve is used). The planner reserves that share of the
# usable memory for the OS, CUDA context and runtime. Activation peak and CUDA graphs come out of
# the engine's budget and have no sourced size (facts: runtime_overheads.activation_memory), so
# they are not counted separately: pass --overhead-gib to reserve more (community 4-node recipes
# keep ~15-18 GiB of headroom per node).
ENGINE_MEMORY_FRACTION = Sourced(
    0.9, "https://docs.vllm.ai/en/v0.10.2/api/vllm/config/cache.html (gpu_memory_utilization "
    "default 0.9)", "primary")


def default_overhead_gib(usable_gib: float) -> float:
    """Runtime reserve per node: the share of usable memory vLLM leaves outside its budget."""
    return round((1.0 - ENGINE_MEMORY_FRACTION.value) * usable_gib, 2)


# --- tensor parallel rules ---------------------------------------------------------------------
TP_RULE = Sourced(
    1, "vLLM vllm/model_executor/layers/linear.py QKVParallelLinear: num_heads = "
    "divide(heads, tp); "
    "tp >= kv_heads -> 1 KV head per rank, replicas = divide(tp, kv_heads); else "
    "divide(kv_heads, tp) (divide() asserts exact division)", "mirror")
MLA_REPLICATION = Sourced(
    1, "facts/models.yaml formulas.kv_cache_mla.notes (latent not split by head: every TP rank "
    "holds the full latent cache unless decode-context-parallel is enabled)", "primary")

# --- contexts ----------------------------------------------------------------------------------
# "128k" in model cards means 131072 tokens (e.g. Llama 3 max_position_embeddings), so k = 1024.
CONTEXT_SUFFIXES = {"k": 1024, "m": 1024 * 1024}
DEFAULT_CONTEXT_TOKENS = 131072
DEFAULT_CONCURRENCY = 1


# --- the topologies the planner compares (facts/dgx-spark.md; NVIDIA's capacity tiers) ---------
@dataclass(frozen=True)
class PlanTopology:
    name: str
    nodes: int
    nvidia_tier: str


PLAN_TOPOLOGIES: tuple[PlanTopology, ...] = (
    PlanTopology("single", 1, "1 node: models up to ~120B"),
    PlanTopology("direct", 2, "2 nodes: models up to ~400B"),
    PlanTopology("ring3", 3, "3-node ring: positioned for fine-tuning"),
    PlanTopology("switch4", 4, "4 nodes + RoCE 200GbE switch, 512 GB: models up to ~700B"),
)
NVIDIA_TIERS = Sourced(
    0, "https://developer.nvidia.com/blog/scaling-autonomous-ai-agents-and-workloads-with-nvidia-"
    "dgx-spark (read via https://thecryptopost.io/nvidia-dgx-spark-now-scales-to-4-nodes-for-700b-"
    "parameter-ai-agents)", "secondary")
