"""The model catalogue shipped as package data (sparkctl/data/models.yaml): loading and lookup."""

from __future__ import annotations

import difflib
import functools
from importlib import resources
from typing import Any, Literal, overload

import yaml

from sparkctl.errors import InputError
from sparkctl.plan.constants import CONFIDENCE_ORDER, QUANTS, Sourced
from sparkctl.plan.model import (
    ATTENTION_KINDS,
    LINEAR_STATE_KINDS,
    Checkpoint,
    LinearState,
    ModelSpec,
    SparkResult,
)

CATALOGUE_RESOURCE = "data/models.yaml"
_SOURCED_FIELDS = ("params_b", "layers", "full_attention_layers", "attention_heads", "kv_heads",
                   "head_dim", "kv_lora_rank", "qk_rope_head_dim", "sliding_window",
                   "sliding_window_layers", "max_context")


class CatalogueError(InputError):
    """The shipped catalogue itself is malformed (a packaging bug, reported like bad input)."""


def _sourced(raw: Any, where: str) -> Sourced | None:
    if raw is None:
        return None
    if not isinstance(raw, dict) or not {"value", "source", "confidence"} <= raw.keys():
        raise CatalogueError(f"{where}: expected {{value, source, confidence}}, got {raw!r}")
    if raw["confidence"] not in CONFIDENCE_ORDER:
        raise CatalogueError(f"{where}: unknown confidence tag {raw['confidence']!r}",
                             hint=f"use one of {', '.join(CONFIDENCE_ORDER)}")
    value = raw["value"]
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise CatalogueError(f"{where}: value must be a positive number, got {value!r}")
    return Sourced(value, str(raw["source"]), raw["confidence"], str(raw.get("note", "")))


@overload
def _quant(raw: Any, where: str, *, allow_none: Literal[False] = False) -> str: ...
@overload
def _quant(raw: Any, where: str, *, allow_none: bool) -> str | None: ...
def _quant(raw: Any, where: str, *, allow_none: bool = False) -> str | None:
    if raw is None and allow_none:
        return None
    if not isinstance(raw, str) or raw not in QUANTS:
        raise CatalogueError(f"{where}: unknown quant {raw!r}", hint=f"one of {', '.join(QUANTS)}")
    return raw


def _model(raw: dict[str, Any], index: int) -> ModelSpec:
    name = raw.get("name")
    if not isinstance(name, str) or not name:
        raise CatalogueError(f"{CATALOGUE_RESOURCE}: model #{index + 1} has no name")
    where = f"{CATALOGUE_RESOURCE}: {name}"
    attention = raw.get("attention")
    if attention not in ATTENTION_KINDS:
        raise CatalogueError(f"{where}: attention must be one of {ATTENTION_KINDS}")
    fields = {f: _sourced(raw.get(f), f"{where}.{f}") for f in _SOURCED_FIELDS}
    linear = None
    if raw.get("linear_state") is not None:
        ls = raw["linear_state"]
        if ls.get("kind") not in LINEAR_STATE_KINDS:
            raise CatalogueError(f"{where}.linear_state.kind must be one of {LINEAR_STATE_KINDS}")
        layers = _sourced(ls.get("layers"), f"{where}.linear_state.layers")
        if layers is None:
            raise CatalogueError(f"{where}.linear_state.layers is required")
        linear = LinearState(
            ls["kind"], layers,
            *(_sourced(ls.get(n), f"{where}.linear_state.{n}")
              for n in ("heads", "head_dim", "state_size")))
    checkpoints = []
    for i, ck in enumerate(raw.get("checkpoints") or []):
        size_raw = ck.get("size")
        unit = (size_raw or {}).get("unit", "GB")
        if unit not in ("GB", "GiB"):
            raise CatalogueError(f"{where}.checkpoints[{i}].size.unit must be GB or GiB")
        checkpoints.append(Checkpoint(
            quant=_quant(ck.get("quant"), f"{where}.checkpoints[{i}].quant"),
            format=str(ck.get("format", "")), hf_id=ck.get("hf_id"),
            size=_sourced(size_raw, f"{where}.checkpoints[{i}].size"), size_unit=unit))
    results = []
    for i, r in enumerate(raw.get("spark_results") or []):
        if r.get("confidence") not in CONFIDENCE_ORDER:
            raise CatalogueError(
                f"{where}.spark_results[{i}]: bad confidence {r.get('confidence')!r}")
        results.append(SparkResult(
            nodes=r.get("nodes"), quant=_quant(r.get("quant"), f"{where}.spark_results[{i}]",
                                              allow_none=True),
            format=str(r.get("format", "")), engine=str(r.get("engine", "")),
            result=str(r.get("result", "")), source=str(r["source"]),
            confidence=r["confidence"], model_variant=r.get("model_variant")))
    return ModelSpec(
        name=name, origin="catalogue", attention=attention, hf_id=raw.get("hf_id"),
        aliases=tuple(str(a) for a in raw.get("aliases") or ()),
        linear_state=linear,
        native_quant=_quant(raw.get("native_quant"), f"{where}.native_quant", allow_none=True),
        checkpoints=tuple(checkpoints), spark_results=tuple(results),
        notes=tuple(str(n) for n in raw.get("notes") or ()),
        checks={k: int(v) for k, v in (raw.get("checks") or {}).items()},
        **fields)


@functools.lru_cache(maxsize=1)
def load_catalogue() -> tuple[ModelSpec, ...]:
    """Every model of the shipped catalogue, in file order."""
    text = resources.files("sparkctl").joinpath(CATALOGUE_RESOURCE).read_text(encoding="utf-8")
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    data = yaml.load(text, Loader=loader)  # noqa: S506 - a safe loader either way
    if not isinstance(data, dict) or not isinstance(data.get("models"), list):
        raise CatalogueError(f"{CATALOGUE_RESOURCE}: expected a mapping with a 'models' list")
    models = tuple(_model(raw, i) for i, raw in enumerate(data["models"]))
    seen: dict[str, str] = {}
    for m in models:
        for key in _keys(m):
            if key in seen and seen[key] != m.name:
                raise CatalogueError(f"{CATALOGUE_RESOURCE}: {key!r} names both {seen[key]} "
                                     f"and {m.name}")
            seen[key] = m.name
    return models


def _keys(model: ModelSpec) -> list[str]:
    keys = [model.name.lower()]
    if model.hf_id:
        keys.append(model.hf_id.lower())
    keys.extend(a.lower() for a in model.aliases)
    return keys


def find_model(name: str) -> ModelSpec:
    """The catalogue model called `name` (case-insensitive; HF id and aliases work too)."""
    wanted = name.strip().lower()
    index = {key: m for m in load_catalogue() for key in _keys(m)}
    if wanted in index:
        return index[wanted]
    close = difflib.get_close_matches(wanted, list(index), n=3, cutoff=0.6)
    # A prefix or substring (e.g. "qwen3.5") is a near miss too, even when difflib scores it low.
    close += [k for k in index if wanted and (wanted in k) and k not in close]
    suggestions = list(dict.fromkeys(index[k].name for k in close))[:4]
    hint = (f"did you mean: {', '.join(suggestions)}?" if suggestions else
            "run `sparkctl plan --list` for the catalogue, or pass a config.json path")
    raise InputError(f"unknown model {name!r}", hint=hint)
