"""`sparkctl plan`: which topology a model needs (capacity planner; no cluster is touched)."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from sparkctl.cli.common import DataFormat, number, whole
from sparkctl.exitcodes import ExitCode


def plan(
    model: Annotated[str | None, typer.Option(
        "--model", "-m", help="Catalogue name (see --list) or path to a Hugging Face "
        "config.json.")] = None,
    quant: Annotated[str | None, typer.Option(
        "--quant", help="Weight format: bf16, fp8, nvfp4, mxfp4 or int4 "
        "(default: the model's native release).")] = None,
    context: Annotated[str | None, typer.Option(
        "--context", help="Tokens per sequence: 32768, 32k, 128k, 1m (k = 1024) "
        "(default: 128k, or the model's max context if smaller).")] = None,
    concurrency: Annotated[int, typer.Option(
        "--concurrency", help="Sequences served at once.",
        callback=whole(None, 1_000_000))] = 1,
    kv_dtype: Annotated[str, typer.Option(
        "--kv-dtype", help="KV cache element type: bf16 or fp8.")] = "bf16",
    usable_gib: Annotated[float | None, typer.Option(
        "--usable-gib", help="Memory usable per Spark, GiB (default: 119).",
        callback=number(0.0, 4096.0, lo_open=True))] = None,
    overhead_gib: Annotated[float | None, typer.Option(
        "--overhead-gib", help="Runtime reserve per node, GiB (default: 10% of usable).",
        callback=number(0.0, 4096.0))] = None,
    params: Annotated[str | None, typer.Option(
        "--params", help="Parameter count in billions (e.g. 120b); required with a "
        "config.json.")] = None,
    format: Annotated[DataFormat, typer.Option("--format", "-f")] = DataFormat.table,
    list_models: Annotated[bool, typer.Option(
        "--list", help="List the model catalogue and exit.")] = False,
) -> None:
    """Plan which topology (single, direct, ring3, switch4) holds a model.

    Per node: weights split by TP (or PP), KV cache for --context x --concurrency, runtime
    overhead; prints fit, headroom and max context per topology and the smallest that fits.
    Exits 1 when no topology fits. Example: `sparkctl plan -m Qwen3.5-397B-A17B --quant nvfp4`.
    """
    from sparkctl.errors import InputError
    from sparkctl.plan import report

    if list_models:
        from sparkctl.plan.catalogue import load_catalogue

        models = load_catalogue()
        if format == DataFormat.json:
            from sparkctl.cli.common import print_json

            print_json(kind="plan-list", data=[{
                         "name": m.name, "hf_id": m.hf_id, "aliases": list(m.aliases),
                         "params_b": m.params_b.value if m.params_b else None,
                         "attention": m.attention, "native_quant": m.native_quant,
                         "plannable": not m.missing_for_kv()} for m in models])
        else:
            sys.stdout.write(report.render_catalogue(models))
        return
    if model is None:
        raise InputError("--model is required",
                         hint="a catalogue name (`sparkctl plan --list`) or a config.json path")

    from sparkctl.plan.lookup import resolve_model
    from sparkctl.plan.planner import PlanRequest
    from sparkctl.plan.planner import plan as make_plan
    from sparkctl.plan.units import parse_context, parse_params_b

    spec = resolve_model(model, parse_params_b(params) if params is not None else None)
    result = make_plan(spec, PlanRequest(
        quant=quant.lower() if quant else None,
        context_tokens=parse_context(context) if context is not None else None,
        concurrency=concurrency, kv_dtype=kv_dtype.lower(), usable_gib=usable_gib,
        overhead_gib=overhead_gib))
    sys.stdout.write(report.render_json(result) + "\n" if format == DataFormat.json
                     else report.render_table(result))
    if result.recommended is None:
        raise typer.Exit(int(ExitCode.FAILED))
