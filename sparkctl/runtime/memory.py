"""vLLM's --max-model-len on Spark's unified memory, sized with the planner.

vLLM takes the model's whole context by default and refuses to start when one sequence of it
does not fit the KV cache left under --gpu-memory-utilization. On a catalogue model the
planner (sparkctl.plan) knows the weights and KV bytes per token: the launch gets the planned
context (the plan's, or the planner's default capped at the model's maximum) when it fits the
node count at that utilization, else the largest context that does, with a warning.
"""

from __future__ import annotations

from dataclasses import dataclass

# A model sparkctl cannot size (not in the catalogue) gets this. It is a choice, not a
# measurement: NVIDIA's two-Spark TRT-LLM recipe serves with --max_num_tokens 32768, and 32k
# holds the common chat workloads; raise or lower it with --max-model-len.
UNSIZED_MAX_MODEL_LEN = 32768
_ROUND = 1024  # contexts are offered in whole k


@dataclass(frozen=True)
class ContextChoice:
    tokens: int
    note: str
    warning: str | None = None


def max_model_len(model_id: str, nodes: int, utilization: float, *,
                  quant: str | None = None, context: int | None = None) -> ContextChoice:
    from sparkctl.errors import InputError
    from sparkctl.plan.constants import PLAN_TOPOLOGIES, USABLE_GIB_PER_NODE
    from sparkctl.plan.planner import PlanRequest, plan
    from sparkctl.plan.units import format_tokens
    from sparkctl.runtime.parallel import catalogue_model

    model = catalogue_model(model_id)
    if model is None:
        return _unsized(f"{model_id} is not in the catalogue")
    if quant is None:
        # A published checkpoint's id names its own number format (an NVFP4 repo is not BF16).
        wanted = model_id.strip().rstrip("/").lower()
        quant = next((c.quant for c in model.checkpoints
                      if c.hf_id and c.hf_id.lower() == wanted), None)
    usable = USABLE_GIB_PER_NODE.value
    # What vLLM leaves outside its budget at this utilization is the planner's overhead.
    request = PlanRequest(quant=quant, context_tokens=context,
                          overhead_gib=round((1.0 - utilization) * usable, 2))
    try:
        result = plan(model, request)
    except InputError as exc:
        return _unsized(f"the planner cannot size {model.name} ({exc.message})")
    topology = next((t.name for t in PLAN_TOPOLOGIES if t.nodes == nodes), None)
    fit = next((f for f in result.topologies if f.topology == topology), None)
    where = (f"{nodes} node{'s' if nodes != 1 else ''} at --gpu-memory-utilization "
             f"{utilization:g}")
    if fit is None or fit.fits:
        return ContextChoice(result.context_tokens,
                             f"--max-model-len {result.context_tokens}: {result.context_origin}"
                             f", which the planner fits in {where}")
    room = fit.max_context_tokens
    if room is not None and room >= _ROUND:
        tokens = min(result.context_tokens, room // _ROUND * _ROUND)
        return ContextChoice(
            tokens, f"--max-model-len {tokens}: the largest context the planner fits in {where}",
            f"{model.name}: {format_tokens(result.context_tokens)} tokens do not fit in {where}"
            f"; serving {format_tokens(tokens)}")
    return ContextChoice(
        result.context_tokens, f"--max-model-len {result.context_tokens}: "
        f"{result.context_origin}",
        f"{model.name} ({result.quant}) does not fit in {where} by the planner's estimate "
        f"(short by {-fit.headroom_gib:.1f} GiB per node): the engine will most likely fail "
        "to load; see `sparkctl plan`")


def _unsized(why: str) -> ContextChoice:
    return ContextChoice(UNSIZED_MAX_MODEL_LEN,
                         f"--max-model-len {UNSIZED_MAX_MODEL_LEN}: {why}, so its memory "
                         "cannot be sized; set --max-model-len to change it")
