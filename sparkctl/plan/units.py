"""Parsing of the planner's human-sized inputs: contexts ("128k") and parameter counts ("120b")."""

from __future__ import annotations

import math
import re

from sparkctl.errors import InputError
from sparkctl.plan.constants import CONTEXT_SUFFIXES

_CONTEXT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kKmM]?)\s*$")
_PARAMS = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([bBtT]?)\s*$")


def parse_context(text: str | int) -> int:
    """Tokens from "131072", "128k" (x1024) or "1m" (x1024^2); must be at least 1."""
    raw = str(text)
    match = _CONTEXT.match(raw)
    if not match:
        raise InputError(f"--context {raw!r} is not a token count",
                         hint="write it as 32768, 32k or 1m (k = 1024 tokens)")
    number, suffix = float(match.group(1)), match.group(2).lower()
    tokens = number * CONTEXT_SUFFIXES.get(suffix, 1)
    if tokens < 1 or not math.isfinite(tokens):
        raise InputError(f"--context {raw!r}: the context must be at least 1 token",
                         hint="e.g. --context 32k")
    if tokens != int(tokens):
        raise InputError(f"--context {raw!r} is not a whole number of tokens",
                         hint="e.g. --context 32k or --context 32768")
    return int(tokens)


def parse_params_b(text: str | float) -> float:
    """Billions of parameters from "120", "120b", "116.83B" or "1t"."""
    raw = str(text)
    match = _PARAMS.match(raw)
    if not match:
        raise InputError(f"--params {raw!r} is not a parameter count",
                         hint="billions of parameters, e.g. --params 120b or --params 1t")
    value = float(match.group(1)) * (1000.0 if match.group(2).lower() == "t" else 1.0)
    if value <= 0:
        raise InputError(f"--params {raw!r}: the parameter count must be positive")
    return value


def format_tokens(tokens: int | None) -> str:
    """131072 -> "128k"; other counts stay exact."""
    if tokens is None:
        return "unbounded"
    if tokens >= 1024 and tokens % 1024 == 0:
        return f"{tokens // 1024}k"
    return str(tokens)
