"""Turning the --model argument into a ModelSpec: a catalogue name or a config.json path."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from sparkctl.errors import InputError
from sparkctl.plan.catalogue import find_model
from sparkctl.plan.constants import Sourced
from sparkctl.plan.hfconfig import load_config
from sparkctl.plan.model import ModelSpec


def resolve_model(text: str, params_b: float | None = None) -> ModelSpec:
    """A path ending in .json, or a folder that is not a catalogue name, is read as a config;
    anything else is looked up in the catalogue. --params overrides the catalogue's count."""
    if not text.strip():
        raise InputError("--model is empty", hint="a catalogue name or a config.json path")
    if text.endswith(".json"):
        return load_config(text, params_b)
    try:
        model = find_model(text)
    except InputError:
        if Path(text).is_dir():
            return load_config(text, params_b)
        raise
    if params_b is not None:
        model = replace(model, params_b=Sourced(params_b, "--params", "given"),
                        notes=(*model.notes, f"parameter count {params_b:g}B from --params "
                               "(catalogue value overridden)"))
    return model
