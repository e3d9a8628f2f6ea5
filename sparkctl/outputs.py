"""Versioned JSON documents: every `--format json` output (and a provision run's summary.json)
carries `schema_version` and has a JSON Schema shipped in sparkctl/data/schemas/<kind>.json.

A list output becomes an object holding the list under its `items` key, since a bare JSON
array has nowhere to carry a version. `schema_version` goes up when a field is removed or
changes meaning; added fields keep it (the schemas allow them).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 1

# kind -> the key a list output is held under (None: the output is an object already)
KINDS: dict[str, str | None] = {
    "validate": None, "health": None, "health-history": None, "checks-list": "checks",
    "topology-list": "topologies", "topology-show": None, "analyze": "results", "plan": None,
    "plan-list": "models", "discover": None, "runtime-render": None, "runtime-status": None,
    "sync": None, "bootstrap": None, "lab-status": None, "lab-list": "labs",
    "lab-shims": "shims", "provision-summary": None,
}


def versioned(kind: str, data: Any) -> dict[str, Any]:
    """`data` as the `kind` document: schema_version first, a list under its key."""
    key = KINDS[kind]
    if key is not None:
        return {"schema_version": SCHEMA_VERSION, key: data}
    if not isinstance(data, dict):
        raise TypeError(f"{kind}: an object output, got {type(data).__name__}")
    return {"schema_version": SCHEMA_VERSION, **data}


def schema_dir() -> Path:
    return Path(__file__).resolve().parent / "data" / "schemas"


def schema(kind: str) -> dict[str, Any]:
    if kind not in KINDS:
        raise KeyError(kind)
    loaded: dict[str, Any] = json.loads((schema_dir() / f"{kind}.json").read_text())
    return loaded
