"""Targets for the runtime tests: built-in cablings with IPv4 management addresses (runtimes
advertise addresses, never names)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sparkctl.targets import resolve_target
from sparkctl.topology.builtins import BUILTINS

MODEL = "openai/gpt-oss-120b"  # catalogue: 64 attention heads, 8 KV heads


def cluster_text(topology: str, platform: str | None = None, hostnames: bool = False) -> str:
    nodes = "\n".join(
        f"  - {{name: spark-{i + 1}, address: "
        f"{'spark-' + str(i + 1) if hostnames else '10.0.0.' + str(11 + i)}}}"
        for i in range(BUILTINS[topology].nodes))
    extra = f"platform: {platform}\n" if platform else ""
    return f"name: golden\ntopology: {topology}\n{extra}nodes:\n{nodes}\n"


@pytest.fixture(name="cluster_text")
def cluster_text_fixture():
    return cluster_text


@pytest.fixture
def cluster_file(tmp_path: Path):
    def make(topology: str, **kwargs) -> Path:
        path = tmp_path / f"{topology}-{len(list(tmp_path.glob('*.yaml')))}.yaml"
        path.write_text(cluster_text(topology, **kwargs))
        return path
    return make


@pytest.fixture
def target(cluster_file):
    def make(topology: str, **kwargs):
        return resolve_target(cluster=cluster_file(topology, **kwargs))
    return make
