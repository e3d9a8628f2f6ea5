"""Rendering a Plan: a table for people, JSON for scripts.

JSON shape of `sparkctl plan --format json` (stable; GiB are 2^30 bytes, rounded to 0.01):

    {
      "model": {
        "name": str, "hf_id": str|null, "origin": "catalogue" | "<path to config.json>",
        "attention": "gqa" | "mla" | "hybrid",
        "params_b": float, "max_context_tokens": int|null,
        "fields": {"<name>": {"value": number, "source": str, "confidence": str}, ...}
      },
      "request": {
        "quant": "bf16|fp8|nvfp4|mxfp4|int4", "bytes_per_param": float,
        "context_tokens": int, "context_origin": str, "concurrency": int,
        "kv_dtype": "bf16|fp8", "usable_gib": float, "overhead_gib": float
      },
      "weights_total_gib": float,
      "kv_bytes_per_token": float,          # whole model, TP1, full-context layers only
      "topologies": [                       # single, direct, ring3, switch4 in that order
        {"name": str, "nodes": int, "tp": int, "pp": int,
         "parallel": "TP2" | "PP3", "parallel_reason": str, "tp_checked": bool,
         "fits": bool,
         "weights_gib": float, "kv_gib": float, "linear_state_gib": float|null,
         "overhead_gib": float, "total_gib": float, "usable_gib": float,
         "headroom_gib": float,             # usable - total; negative = short by that much
         "max_context_tokens": int|null,    # per sequence at the requested concurrency;
                                            # null = memory does not bound it
         "kv_heads_per_rank": int|null}     # null for MLA
      ],
      "recommended": {"topology": str, "nodes": int, "tp": int, "pp": int} | null,
      "reason": str,
      "notes": [str, ...],
      "confidence": {"overall": str, "model": str, "weakest_inputs": [str, ...]},
      "spark_results": [{"nodes", "quant", "format", "engine", "result", "source",
                         "confidence", "model_variant"}, ...]   # catalogue models only
    }

Per-node figures are for the busiest node (under PP, the largest pipeline stage). The command
exits 0 when some topology fits and 1 when none does.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict
from typing import Any

from sparkctl.plan.constants import ENGINE_MEMORY_FRACTION
from sparkctl.plan.model import ModelSpec
from sparkctl.plan.planner import Plan, TopologyFit
from sparkctl.plan.units import format_tokens


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def plan_to_dict(plan: Plan) -> dict[str, Any]:
    m = plan.model
    best = next((f for f in plan.topologies if f.topology == plan.recommended), None)
    return {
        "model": {
            "name": m.name, "hf_id": m.hf_id, "origin": m.origin, "attention": m.attention,
            "params_b": plan.params_b.value,
            "max_context_tokens": int(m.max_context.value) if m.max_context else None,
            "fields": {name: {"value": s.value, "source": s.source, "confidence": s.confidence}
                       for name, s in m.sourced_fields().items()},
        },
        "request": {
            "quant": plan.quant, "bytes_per_param": plan.bytes_per_param.value,
            "context_tokens": plan.context_tokens, "context_origin": plan.context_origin,
            "concurrency": plan.concurrency, "kv_dtype": plan.kv_dtype,
            "usable_gib": _r(plan.usable_gib), "overhead_gib": _r(plan.overhead_gib),
        },
        "weights_total_gib": _r(plan.weights_total_gib),
        "kv_bytes_per_token": plan.kv_bytes_per_token,
        "topologies": [_fit_dict(f) for f in plan.topologies],
        "recommended": None if best is None else {
            "topology": best.topology, "nodes": best.nodes, "tp": best.tp, "pp": best.pp},
        "reason": plan.reason,
        "notes": list(plan.notes),
        "confidence": {"overall": plan.confidence, "model": plan.model_confidence,
                       "weakest_inputs": list(plan.weakest_inputs)},
        "spark_results": [asdict(r) for r in m.spark_results],
    }


def _fit_dict(f: TopologyFit) -> dict[str, Any]:
    return {
        "name": f.topology, "nodes": f.nodes, "tp": f.tp, "pp": f.pp, "parallel": f.parallel,
        "parallel_reason": f.parallel_reason, "tp_checked": f.tp_checked, "fits": f.fits,
        "weights_gib": _r(f.weights_gib), "kv_gib": _r(f.kv_gib),
        "linear_state_gib": _r(f.linear_state_gib), "overhead_gib": _r(f.overhead_gib),
        "total_gib": _r(f.total_gib), "usable_gib": _r(f.usable_gib),
        "headroom_gib": _r(f.headroom_gib), "max_context_tokens": f.max_context_tokens,
        "kv_heads_per_rank": f.kv_heads_per_rank,
    }


def render_json(plan: Plan) -> str:
    from sparkctl.outputs import versioned

    return json.dumps(versioned("plan", plan_to_dict(plan)), indent=2)


def short_tokens(tokens: int | None) -> str:
    if tokens is None:
        return "unbounded"
    if tokens < 10_000:
        return str(tokens)
    if tokens < 1024 * 1024:
        return f"{tokens // 1024}k"
    return f"{tokens / (1024 * 1024):.1f}M"


def render_table(plan: Plan) -> str:
    m = plan.model
    model_max = int(m.max_context.value) if m.max_context else None
    origin = "catalogue" if m.origin == "catalogue" else f"config {m.origin}"
    overhead_note = ("" if plan.overhead_gib != round(
        (1 - ENGINE_MEMORY_FRACTION.value) * plan.usable_gib, 2) else
        f" (default: {1 - ENGINE_MEMORY_FRACTION.value:.0%} of usable, as vLLM "
        f"gpu_memory_utilization {ENGINE_MEMORY_FRACTION.value})")
    full, sliding = m.kv_layer_counts()
    kv_layers = f"{full} full-context KV layers"
    if sliding:
        assert m.sliding_window is not None  # catalogue and hfconfig give both
        kv_layers += f" + {sliding} sliding-window ({int(m.sliding_window.value)} tokens)"
    lines = [
        f"model     {m.name}" + (f" ({m.hf_id})" if m.hf_id else "") + f", {origin}",
        f"          {plan.params_b.value:g}B params, {m.attention.upper()} attention, "
        f"{kv_layers}" + (f", max context {model_max}" if model_max else ""),
        f"weights   {plan.quant}: {plan.bytes_per_param.value:g} B/param -> "
        f"{plan.weights_total_gib:.1f} GiB in total",
        f"KV cache  {plan.kv_dtype}: {plan.kv_bytes_per_token:,.0f} B/token at TP1",
        f"load      {format_tokens(plan.context_tokens)} tokens ({plan.context_origin}) x "
        f"{plan.concurrency} concurrent sequence" + ("s" if plan.concurrency != 1 else ""),
        f"per node  {plan.usable_gib:.1f} GiB usable, {plan.overhead_gib:.1f} GiB runtime "
        f"overhead{overhead_note}",
        "",
    ]
    header = ("topology", "nodes", "split", "weights", "KV", "state", "overhead", "total",
              "headroom", "max ctx", "fits")
    rows = [header]
    above = False
    for f in plan.topologies:
        ctx = short_tokens(f.max_context_tokens)
        if model_max is not None and (f.max_context_tokens is None
                                      or f.max_context_tokens > model_max):
            ctx += "*"
            above = True
        state = "-" if m.linear_state is None else (
            "?" if f.linear_state_gib is None else f"{f.linear_state_gib:.1f}")
        rows.append((f.topology, str(f.nodes), f.parallel, f"{f.weights_gib:.1f}",
                     f"{f.kv_gib:.1f}", state, f"{f.overhead_gib:.1f}", f"{f.total_gib:.1f}",
                     f"{f.headroom_gib:+.1f}", ctx, "yes" if f.fits else "no"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    for r in rows:
        cells = [c.ljust(w) if i in (0, 2, 10) else c.rjust(w)
                 for i, (c, w) in enumerate(zip(r, widths, strict=True))]
        lines.append("  ".join(cells).rstrip())
    lines.append("(GiB per node; max ctx = longest context per sequence at this concurrency)")
    if above:
        lines.append(f"* beyond the model's max context ({model_max}): memory is not the limit")
    lines.append("")
    lines.append(f"recommended: {plan.recommended or 'none of the 1-4 node topologies'}")
    lines.append(f"why: {plan.reason}")
    lines.append(f"confidence: {plan.confidence} (model figures: {plan.model_confidence}; "
                 f"weakest: {', '.join(plan.weakest_inputs)})")
    lines.append("notes:")
    lines.extend(f"  - {n}" for n in plan.notes)
    return "\n".join(lines) + "\n"


def render_catalogue(models: Iterable[ModelSpec]) -> str:
    """The `--list` view: name, size, attention kind, native format and plannability."""
    rows = [("name", "params", "attention", "native", "formats", "hf id")]
    for m in models:
        params = f"{m.params_b.value:g}B" if m.params_b else "?"
        formats = ",".join(dict.fromkeys(c.quant for c in m.checkpoints)) or "-"
        name = m.name + (" (KV geometry unknown)" if m.missing_for_kv() else "")
        rows.append((name, params, m.attention, m.native_quant or "-", formats, m.hf_id or "-"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
                     for r in rows) + "\n"
