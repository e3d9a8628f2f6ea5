"""Capacity plan: which of the built-in topologies holds a model, and the smallest that does."""

from __future__ import annotations

from dataclasses import dataclass

from sparkctl.errors import InputError
from sparkctl.plan import memory
from sparkctl.plan.constants import (
    BYTES_PER_PARAM,
    DEFAULT_CONCURRENCY,
    DEFAULT_CONTEXT_TOKENS,
    GIB,
    KV_BYTES_PER_ELEMENT,
    KV_DTYPES,
    LINEAR_STATE_BYTES_PER_ELEMENT,
    PLAN_TOPOLOGIES,
    QUANTS,
    USABLE_GIB_PER_NODE,
    Sourced,
    default_overhead_gib,
)
from sparkctl.plan.model import ModelSpec, weakest
from sparkctl.plan.units import format_tokens


@dataclass(frozen=True)
class PlanRequest:
    """What the user asked for; None means "use the default"."""

    quant: str | None = None
    context_tokens: int | None = None
    concurrency: int = DEFAULT_CONCURRENCY
    kv_dtype: str = "bf16"
    usable_gib: float | None = None
    overhead_gib: float | None = None


@dataclass(frozen=True)
class TopologyFit:
    """The memory budget of one node of one topology (all nodes are alike under TP or PP)."""

    topology: str
    nodes: int
    tp: int
    pp: int
    parallel: str  # "TP2", "PP3"
    parallel_reason: str  # why, when it is not plain TP over every node; else ""
    tp_checked: bool
    weights_gib: float
    kv_gib: float
    linear_state_gib: float | None
    overhead_gib: float
    total_gib: float
    usable_gib: float
    headroom_gib: float
    max_context_tokens: int | None
    kv_heads_per_rank: int | None
    fits: bool


@dataclass(frozen=True)
class Plan:
    model: ModelSpec
    params_b: Sourced
    quant: str
    bytes_per_param: Sourced
    context_tokens: int
    context_origin: str
    concurrency: int
    kv_dtype: str
    usable_gib: float
    overhead_gib: float
    weights_total_gib: float
    kv_bytes_per_token: float  # whole model, TP1, full-context layers only
    topologies: tuple[TopologyFit, ...]
    recommended: str | None
    reason: str
    notes: tuple[str, ...]
    confidence: str  # weakest tag of every input, planner constants included
    model_confidence: str  # weakest tag of the model's own numbers
    weakest_inputs: tuple[str, ...]


def _validate(req: PlanRequest) -> None:
    if req.quant is not None and req.quant not in QUANTS:
        raise InputError(f"unknown quantization {req.quant!r}",
                         hint=f"use --quant with one of: {', '.join(QUANTS)}")
    if req.kv_dtype not in KV_DTYPES:
        raise InputError(f"unknown KV cache dtype {req.kv_dtype!r}",
                         hint=f"use --kv-dtype with one of: {', '.join(KV_DTYPES)}")
    if req.context_tokens is not None and req.context_tokens < 1:
        raise InputError(f"--context must be at least 1 token, got {req.context_tokens}",
                         hint="e.g. --context 32k")
    if req.concurrency < 1:
        raise InputError(f"--concurrency must be at least 1, got {req.concurrency}",
                         hint="the number of sequences served at once, e.g. --concurrency 4")
    if req.usable_gib is not None and req.usable_gib <= 0:
        raise InputError(f"--usable-gib must be positive, got {req.usable_gib}")
    if req.overhead_gib is not None and req.overhead_gib < 0:
        raise InputError(f"--overhead-gib cannot be negative, got {req.overhead_gib}")


def _require_geometry(model: ModelSpec, params_b: Sourced | None) -> Sourced:
    missing = model.missing_for_kv()
    if missing:
        raise InputError(
            f"{model.name}: cannot size the KV cache, {', '.join(missing)} unknown",
            hint="the catalogue has no sourced value for it; pass a config.json that has it")
    if params_b is None:
        raise InputError(
            f"{model.name}: the parameter count is unknown (config.json does not carry it)",
            hint="pass it with --params, e.g. --params 120b (billions)")
    return params_b


def _context(model: ModelSpec, requested: int | None) -> tuple[int, str]:
    if requested is not None:
        return requested, "requested"
    limit = int(model.max_context.value) if model.max_context else None
    if limit is not None and limit < DEFAULT_CONTEXT_TOKENS:
        return limit, f"default {format_tokens(DEFAULT_CONTEXT_TOKENS)} capped at the model's " \
                      f"max context {limit}"
    return DEFAULT_CONTEXT_TOKENS, f"default {format_tokens(DEFAULT_CONTEXT_TOKENS)}"


def _fit(model: ModelSpec, params_b: float, quant: str, kv_dtype: str, context: int,
         concurrency: int, usable: float, overhead: float, topo_name: str,
         nodes: int) -> TopologyFit:
    par = memory.parallelism_for(model, nodes)
    weights = memory.weight_bytes_per_node(model, params_b, quant, par) / GIB
    rates = memory.kv_rates(model, par, kv_dtype)
    kv = concurrency * rates.bytes_per_sequence(context) / GIB
    state = memory.linear_state_bytes_per_sequence(model, par)
    state_gib = None if state is None else concurrency * state / GIB
    total = weights + kv + (state_gib or 0.0) + overhead
    headroom = usable - total
    budget = (usable - weights - overhead) * GIB / concurrency - (state or 0.0)
    kv_heads = None
    if model.attention != "mla":
        assert model.kv_heads is not None  # _require_geometry: missing_for_kv() was empty
        kv_heads = memory.kv_heads_per_rank(int(model.kv_heads.value), par.tp)
    return TopologyFit(
        topology=topo_name, nodes=nodes, tp=par.tp, pp=par.pp, parallel=par.label,
        parallel_reason=par.why, tp_checked=par.tp_checked, weights_gib=weights, kv_gib=kv,
        linear_state_gib=state_gib,
        overhead_gib=overhead, total_gib=total, usable_gib=usable, headroom_gib=headroom,
        max_context_tokens=memory.max_context_tokens(budget, rates), kv_heads_per_rank=kv_heads,
        fits=headroom >= 0)


def _notes(model: ModelSpec, quant: str, kv_dtype: str, context: int,
           fits: tuple[TopologyFit, ...]) -> list[str]:
    notes = [f"{f.topology}: {f.parallel_reason}" for f in fits if f.parallel_reason]
    full, sliding = model.kv_layer_counts()
    if model.attention == "mla":
        notes.append("MLA: each TP rank holds the full latent KV cache (not split by head), so "
                     "KV per node does not shrink with TP; decode-context-parallel is not "
                     "modelled")
    elif model.kv_heads is not None:
        kv = int(model.kv_heads.value)
        replicated = [f for f in fits if f.tp > kv]
        if replicated:
            notes.append(f"{kv} KV heads: at TP{replicated[0].tp} each rank keeps 1 KV head "
                         f"(replicated), so KV per node stops shrinking past TP{kv}")
    if sliding:
        assert model.sliding_window is not None  # catalogue and hfconfig give both
        notes.append(f"{sliding} of {full + sliding} KV layers use a "
                     f"{int(model.sliding_window.value)}-token sliding window: their KV is "
                     "capped at the window per sequence")
    ls = model.linear_state
    if ls is not None:
        kind = "Gated DeltaNet" if ls.kind == "gated_deltanet" else "Mamba-2"
        if ls.elements_per_layer() is None:
            notes.append(f"{int(ls.layers.value)} {kind} layers: state size unknown "
                         f"({', '.join(ls.missing())} not sourced), not counted - memory is "
                         "a lower bound")
        else:
            one = memory.Parallelism(1, 1)
            per_seq = memory.linear_state_bytes_per_sequence(model, one)
            assert per_seq is not None  # elements_per_layer() is known here
            per_seq /= GIB
            notes.append(f"{int(ls.layers.value)} {kind} layers keep no per-token KV but a fixed "
                         f"state of {per_seq:.2f} GiB per sequence (FP32, counted whole on every "
                         "TP rank; conv state not counted)")
    if model.max_context is not None and context > int(model.max_context.value):
        notes.append(f"context {context} exceeds the model's max context "
                     f"{int(model.max_context.value)}")
    bpp = BYTES_PER_PARAM[quant]
    notes.append(f"weights = params x {bpp.value:g} B/param ({quant}); tensors a checkpoint "
                 "leaves unquantized (embeddings, lm_head, router, often attention) are counted "
                 "at that rate, so real checkpoints can be larger")
    if model.origin == "catalogue":
        ck = model.checkpoint_for(quant)
        if ck is None:
            notes.append(f"the catalogue lists no {quant} checkpoint of {model.name}: the "
                         "figures are for a hypothetical build")
        elif ck.size is not None:
            size = f"{ck.size.value:g} {ck.size_unit}" + (
                "" if ck.size_unit == "GiB" else f" = {ck.size_gib():.1f} GiB")
            assert model.params_b is not None  # plan() required it (_require_geometry)
            planned = memory.weight_bytes_total(float(model.params_b.value), quant) / GIB
            notes.append(f"published {ck.format} size: {size}, planner: {planned:.1f} GiB "
                         f"({ck.size.confidence}; {ck.size.source})")
    if kv_dtype == "fp8":
        notes.append("KV in FP8 (vLLM --kv-cache-dtype fp8)")
    notes.extend(model.notes)
    return notes


def _reason(fits: tuple[TopologyFit, ...], best: TopologyFit | None, context: int,
            concurrency: int) -> str:
    load = f"{format_tokens(context)} tokens x {concurrency} sequence" + (
        "s" if concurrency != 1 else "")
    if best is None:
        last = fits[-1]
        return (f"does not fit even {last.topology} ({last.nodes} nodes, {last.parallel}): "
                f"needs {last.total_gib:.1f} GiB per node of {last.usable_gib:.1f} usable; try "
                "a 4-bit --quant, --kv-dtype fp8 or a shorter --context")
    smaller = [f for f in fits if f.nodes < best.nodes]
    why = f"{best.topology} is the smallest topology that holds {load}: " \
          f"{best.total_gib:.1f} of {best.usable_gib:.1f} GiB per node " \
          f"({best.headroom_gib:.1f} GiB headroom, {best.parallel})"
    if smaller:
        prev = smaller[-1]
        if prev.weights_gib + prev.overhead_gib > prev.usable_gib:
            why += (f"; on {prev.topology} the weights ({prev.weights_gib:.1f} GiB per node) and "
                    f"overhead alone exceed {prev.usable_gib:.1f} GiB")
        else:
            why += (f"; {prev.topology} is short by {-prev.headroom_gib:.1f} GiB (max context "
                    f"there: {format_tokens(prev.max_context_tokens)})")
    return why


def plan(model: ModelSpec, request: PlanRequest) -> Plan:
    """Evaluate every planner topology for `model` and pick the smallest that fits."""
    _validate(request)
    params = _require_geometry(model, model.params_b)
    quant = request.quant or model.native_quant
    if quant is None:
        raise InputError(f"{model.name}: cannot tell the checkpoint's number format",
                         hint=f"pass --quant ({', '.join(QUANTS)})")
    context, origin = _context(model, request.context_tokens)
    usable = request.usable_gib if request.usable_gib is not None else USABLE_GIB_PER_NODE.value
    overhead = (request.overhead_gib if request.overhead_gib is not None
                else default_overhead_gib(usable))
    if overhead >= usable:
        raise InputError(f"--overhead-gib {overhead} leaves nothing of --usable-gib {usable}")
    fits = tuple(
        _fit(model, float(params.value), quant, request.kv_dtype, context, request.concurrency,
             usable, overhead, t.name, t.nodes)
        for t in PLAN_TOPOLOGIES)
    best = next((f for f in fits if f.fits), None)
    one = memory.Parallelism(1, 1)
    kv_per_token = memory.kv_rates(model, one, request.kv_dtype).full_per_token
    inputs = model.sourced_fields()
    inputs[f"bytes_per_param.{quant}"] = BYTES_PER_PARAM[quant]
    inputs[f"kv_bytes_per_element.{request.kv_dtype}"] = KV_BYTES_PER_ELEMENT[request.kv_dtype]
    if request.usable_gib is None:
        inputs["usable_gib"] = USABLE_GIB_PER_NODE
    if model.linear_state is not None:
        inputs["linear_state_bytes_per_element"] = LINEAR_STATE_BYTES_PER_ELEMENT
    model_worst = weakest([s.confidence for s in model.sourced_fields().values()])
    worst = weakest([s.confidence for s in inputs.values()])
    return Plan(
        model=model, params_b=params, quant=quant, bytes_per_param=BYTES_PER_PARAM[quant],
        context_tokens=context, context_origin=origin, concurrency=request.concurrency,
        kv_dtype=request.kv_dtype, usable_gib=usable, overhead_gib=overhead,
        weights_total_gib=memory.weight_bytes_total(float(params.value), quant) / GIB,
        kv_bytes_per_token=kv_per_token, topologies=fits,
        recommended=best.topology if best else None,
        reason=_reason(fits, best, context, request.concurrency),
        notes=tuple(_notes(model, quant, request.kv_dtype, context, fits)),
        confidence=worst, model_confidence=model_worst,
        weakest_inputs=tuple(sorted(n for n, s in inputs.items() if s.confidence == worst)))
