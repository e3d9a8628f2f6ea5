"""Reading `sparkctl plan --format json` output (shape: sparkctl/plan/report.py) for
`runtime ... --from-plan FILE`: which model to serve and how to split it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from sparkctl.errors import InputError, Location


@dataclass(frozen=True)
class PlanChoice:
    model_id: str | None  # the checkpoint to serve, None when the plan names no HF id
    model_name: str
    quant: str | None
    topology: str
    nodes: int
    tp: int
    pp: int
    source: str  # where model_id came from, for the render notes
    context_tokens: int | None = None  # the context the plan sized the memory for


_KINDS = {dict: "an object", str: "a string", int: "an integer"}


def _need(data: dict, key: str, kind, where: str, path: Path):
    value = data.get(key) if isinstance(data, dict) else None
    if not isinstance(value, kind) or isinstance(value, bool):
        raise InputError(f"plan {where + '.' if where else ''}{key} must be "
                         f"{_KINDS[kind]}, got {value!r}",
                         location=Location(str(path)),
                         hint="write the plan with `sparkctl plan --model M --format json "
                         "> plan.json`")
    return value


def read_plan(path: Path) -> PlanChoice:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"plan file {path} does not exist",
                         hint="write one with `sparkctl plan --model M --format json > FILE`"
                         ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read plan file {path}: {exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"plan is not valid JSON: {exc.msg}",
                         location=Location(str(path), exc.lineno, exc.colno),
                         hint="pass the output of `sparkctl plan --format json`") from None
    if not isinstance(data, dict):
        raise InputError("plan must be a JSON object (the output of `sparkctl plan "
                         "--format json`)", location=Location(str(path)))
    model = _need(data, "model", dict, "", path)
    name = _need(model, "name", str, "model", path)
    hf_id = model.get("hf_id")
    if hf_id is not None and not isinstance(hf_id, str):
        raise InputError(f"plan model.hf_id must be a string or null, got {hf_id!r}",
                         location=Location(str(path)))
    if "recommended" not in data:
        raise InputError("plan has no 'recommended' key", location=Location(str(path)),
                         hint="pass the output of `sparkctl plan --format json`")
    best = data["recommended"]
    if best is None:
        raise InputError(f"the plan found no topology of 1-4 Sparks that holds {name}",
                         location=Location(str(path)),
                         hint="re-plan with a smaller quantization or context (see its 'reason')")
    topology = _need(best, "topology", str, "recommended", path)
    nodes, tp, pp = (_need(best, k, int, "recommended", path) for k in ("nodes", "tp", "pp"))
    if min(nodes, tp, pp) < 1 or tp * pp != nodes:
        raise InputError(f"plan recommends {nodes} nodes with TP {tp} x PP {pp}, which do not "
                         "multiply out", location=Location(str(path)))
    # isinstance() of a .get() narrows the call, not the value it returned: hence the cast.
    request = cast(dict[str, Any],
                   data.get("request") if isinstance(data.get("request"), dict) else {})
    quant = request.get("quant") if isinstance(request.get("quant"), str) else None
    context = request.get("context_tokens")
    if not isinstance(context, int) or isinstance(context, bool) or context < 1:
        context = None
    model_id, source = _checkpoint(name, hf_id, quant)
    return PlanChoice(model_id, name, quant, topology, nodes, tp, pp, source, context)


def _checkpoint(name: str, hf_id: str | None, quant: str | None) -> tuple[str | None, str]:
    """The catalogue's checkpoint for the planned quantization, when it lists one: a plan for
    nvfp4 should serve the NVFP4 weights, not the BF16 base repository."""
    from sparkctl.runtime.parallel import catalogue_model

    model = catalogue_model(hf_id or name)
    if model is not None and quant is not None:
        checkpoint = model.checkpoint_for(quant)
        if checkpoint is not None and checkpoint.hf_id:
            return checkpoint.hf_id, f"catalogue checkpoint for {quant} ({checkpoint.format})"
    return hf_id, "the plan's model.hf_id"
