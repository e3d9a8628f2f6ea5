"""Shared helpers for the planner tests."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

GIB = 2**30
USABLE = 119.0  # default usable GiB per Spark (constants.USABLE_GIB_PER_NODE)
OVERHEAD = 0.1 * 119.0  # default: (1 - vLLM gpu_memory_utilization 0.9) x usable


@pytest.fixture
def write_config(tmp_path: Path):
    """Write a config.json built from published config fields; returns its path."""

    def write(fields: dict, name: str = "config.json") -> Path:
        path = tmp_path / name
        path.write_text(json.dumps(fields, indent=2), encoding="utf-8")
        return path

    return write
