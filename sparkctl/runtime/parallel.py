"""TP x PP for a runtime launch: one GPU per Spark, so TP x PP is the node count.

When the model is in the planner's catalogue, TP is checked against its attention, KV and
linear-attention heads with the planner's own rule (sparkctl.plan.memory.tp_problem), so a
launch that the engine would reject at load time is refused before anything starts.
"""

from __future__ import annotations

from dataclasses import dataclass

from sparkctl.errors import InputError


@dataclass(frozen=True)
class Parallel:
    tp: int
    pp: int
    checked_against: str | None  # the catalogue model TP was checked on; None: not checked


def parse_tp(text: str | None) -> int | None:
    """None for 'auto' (or not given); otherwise a positive integer."""
    if text is None or text.strip().lower() == "auto":
        return None
    try:
        value = int(text)
    except ValueError:
        raise InputError(f"--tp must be 'auto' or a whole number, got {text!r}",
                         hint="e.g. --tp auto (one rank per node) or --tp 2") from None
    if value < 1:
        raise InputError(f"--tp must be at least 1, got {value}")
    return value


def catalogue_model(model_id: str):
    """The catalogue ModelSpec whose name, HF id, alias or any checkpoint id is `model_id`,
    or None. A local path or an unknown repo is not an error: it is just not checked."""
    from sparkctl.plan.catalogue import load_catalogue

    wanted = model_id.strip().rstrip("/").lower()
    for model in load_catalogue():
        keys = {model.name.lower(), *(a.lower() for a in model.aliases)}
        if model.hf_id:
            keys.add(model.hf_id.lower())
        keys.update(c.hf_id.lower() for c in model.checkpoints if c.hf_id)
        if wanted in keys:
            return model
    return None


def resolve_parallel(model_id: str, nodes: int, tp: int | None, pp: int | None) -> Parallel:
    if pp is not None and pp < 1:
        raise InputError(f"--pp must be at least 1, got {pp}")
    if tp is None:
        pp = pp or 1
        if nodes % pp:
            raise InputError(f"--pp {pp} does not divide the {nodes} nodes of the target",
                             hint="one GPU per Spark: TP x PP must equal the node count")
        tp = nodes // pp
    pp = pp if pp is not None else max(1, nodes // tp)
    if tp * pp != nodes:
        raise InputError(
            f"TP {tp} x PP {pp} = {tp * pp} ranks, but the target has {nodes} "
            f"node{'s' if nodes != 1 else ''} with one GPU each",
            hint=f"use --tp auto, or choose TP and PP whose product is {nodes}")
    model = catalogue_model(model_id)
    if model is None:
        return Parallel(tp, pp, None)
    from sparkctl.plan.memory import tp_problem

    problem = tp_problem(model, tp)
    if problem is not None:
        raise InputError(
            f"TP {tp} does not fit {model.name}: {problem}",
            hint=_suggestion(model, nodes, tp_problem))
    return Parallel(tp, pp, model.name)


def _suggestion(model, nodes: int, tp_problem) -> str:
    options = [f"--tp {t} --pp {nodes // t}" for t in range(nodes - 1, 0, -1)
               if nodes % t == 0 and tp_problem(model, t) is None]
    text = f"use pipeline parallelism instead: {options[0]}" if options else ""
    valid = [n for n in (2, 4) if n != nodes and tp_problem(model, n) is None]
    if valid:
        text += ("; or " if text else "") + ("a topology with " + " or ".join(map(str, valid))
                                             + " nodes for plain TP")
    return text or "this model cannot be split by TP over this many nodes"
