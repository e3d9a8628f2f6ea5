"""Quoting per output format, for the writers (validation at load comes first: sparkctl.values).

Validated values are inert in every format, so these are a second line of defence; each one
is exact for its format, so a value that slipped past validation still cannot end a line or
start a command.
"""

from __future__ import annotations

import json
import shlex
from typing import Any

import yaml

shell = shlex.quote  # the same function as Ansible's `quote` filter


def yaml_scalar(value: Any) -> str:
    """One YAML scalar on one line: plain where YAML reads it back as the same value,
    quoted otherwise (JSON's double-quoted strings are YAML too, with escaped newlines)."""
    text = yaml.safe_dump(value, default_flow_style=True, width=1 << 20, allow_unicode=False)
    if text.endswith("\n...\n"):
        text = text[: -len("\n...\n")]
    text = text.strip()
    if "\n" in text or yaml.safe_load(text) != value:
        return json.dumps(value)
    return text


def comment_text(value: Any) -> str:
    """Text for inside a `#` comment line: one line, control characters escaped."""
    text = str(value)
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
