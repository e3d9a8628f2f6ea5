"""Lab fixtures for health: one switch4 and one ring3 lab, provisioned with the real roles;
session-scoped, so the two-cluster test finds both up side by side without a lab of its own."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]


def sparkctl(*args: str, timeout: float = 180) -> subprocess.CompletedProcess:
    """The real CLI in a subprocess, as cron runs it."""
    return subprocess.run([sys.executable, "-m", "sparkctl", *args], capture_output=True,
                          text=True, timeout=timeout, cwd=REPO, stdin=subprocess.DEVNULL)


def health_json(lab: str, db: Path, *extra: str) -> tuple[int, dict]:
    done = sparkctl("health", "--lab", lab, "--db", str(db), "-f", "json", *extra, timeout=60)
    assert done.returncode in (0, 1), done.stderr
    doc = json.loads(done.stdout)
    import jsonschema

    from sparkctl.outputs import schema

    jsonschema.validate(doc, schema("health"))  # every lab run's JSON against its schema
    return done.returncode, doc


def provisioned_lab(name: str, topology: str):
    """A configured lab with the nccl.env and hostfile health checks for drift (the network
    role is left out: the lab's own addressing keeps the rails' IPv6 link-local addresses,
    which the neighbour probe needs)."""
    sparkctl("lab", "down", "--name", name, timeout=120)  # a leftover from a killed run
    up = sparkctl("lab", "up", "--topology", topology, "--name", name, "--configured",
                  timeout=600)
    assert up.returncode == 0, up.stderr
    try:
        prov = sparkctl("provision", "--lab", name, "--tags", "nccl,mpi", timeout=300)
        assert prov.returncode == 0, prov.stdout[-2000:] + prov.stderr[-2000:]
        yield name
    finally:
        sparkctl("lab", "down", "--name", name, timeout=120)


@pytest.fixture(scope="session")
def switch4_lab():
    yield from provisioned_lab("hlt4", "switch4")


@pytest.fixture(scope="session")
def ring3_lab():
    yield from provisioned_lab("hlt3", "ring3")
