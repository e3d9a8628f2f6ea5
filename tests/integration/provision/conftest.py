"""Lab fixtures for provisioning tests: one lab per topology per module, provisioned twice
through the real runner; nodes are then inspected over SSH with testinfra, driven by the
lab's own inventory. Root only; labs are named prov* and always brought down."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent


def sparkctl(*args: str, timeout: float = 600, env: dict | None = None,
             check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(BIN / "sparkctl"), *args], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})},
                          stdin=subprocess.DEVNULL)
    if check and proc.returncode != 0:
        raise AssertionError(f"sparkctl {' '.join(args)} -> {proc.returncode}\n"
                             f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc


@pytest.fixture(scope="session")
def state_dir(tmp_path_factory) -> Iterator[Path]:
    """sparkctl's per-user state (cluster keys, control sockets, runs) for this session."""
    path = tmp_path_factory.mktemp("sparkctl-state")
    saved = {k: os.environ.get(k) for k in ("SPARKCTL_STATE_DIR", "PATH")}
    os.environ["SPARKCTL_STATE_DIR"] = str(path)
    # testinfra's ansible backend runs ansible-inventory by name.
    os.environ["PATH"] = f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"
    yield path
    close_control_masters(path)
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def close_control_masters(state: Path) -> None:
    """End the ControlPersist masters so the next run opens fresh SSH connections (a
    stopped sshd does not end connections that are already open)."""
    for sock in (state / "cp").glob("*"):
        subprocess.run(["ssh", "-o", f"ControlPath={sock}", "-O", "exit", "sparkctl-lab"],
                       capture_output=True, timeout=10, check=False)


@dataclass
class Lab:
    name: str
    topology: str
    inventory: Path

    def ssh(self, node: str, command: str, timeout: float = 30) -> subprocess.CompletedProcess:
        return sparkctl("lab", "ssh", "--name", self.name, node, command, timeout=timeout,
                        check=False)


@pytest.fixture(scope="module")
def lab_factory(state_dir) -> Iterator:
    made: list[str] = []

    def make(topology: str, name: str) -> Lab:
        sparkctl("lab", "down", "--name", name, check=False)
        sparkctl("lab", "up", "--topology", topology, "--name", name, timeout=900)
        made.append(name)
        from sparkctl.lab.paths import lab_inventory_path

        return Lab(name=name, topology=topology, inventory=lab_inventory_path(name))

    yield make
    for name in made:
        sparkctl("lab", "down", "--name", name, check=False, timeout=300)


def run_summary(run_dir: Path) -> dict:
    return json.loads((run_dir / "summary.json").read_text())


def latest_run(state: Path) -> Path:
    runs = sorted((state / "runs").iterdir(), key=lambda p: p.stat().st_mtime)
    return runs[-1]
