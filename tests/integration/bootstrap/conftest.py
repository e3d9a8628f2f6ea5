"""Fresh-Spark labs for the bootstrap tests: one `lab up --fresh` per module, always brought
down. Root only. Labs are named boot*; sparkctl's state (cluster store,
runs) lives in a per-session temporary directory."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ..provision.conftest import BIN, close_control_masters
from .fresh import FreshCluster, fresh_cluster


def sparkctl(*args: str, stdin: str | None = None, timeout: float = 600,
             check: bool = False) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(BIN / "sparkctl"), *args], capture_output=True, text=True,
                          timeout=timeout, input=stdin,
                          stdin=None if stdin is not None else subprocess.DEVNULL)
    if check and proc.returncode != 0:
        raise AssertionError(f"sparkctl {' '.join(args)} -> {proc.returncode}\n"
                             f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc


@pytest.fixture(scope="session")
def state_dir(tmp_path_factory) -> Iterator[Path]:
    path = tmp_path_factory.mktemp("bst")
    saved = {k: os.environ.get(k) for k in ("SPARKCTL_STATE_DIR", "PATH")}
    os.environ["SPARKCTL_STATE_DIR"] = str(path)
    os.environ["PATH"] = f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"
    yield path
    close_control_masters(path)
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="module")
def fresh_lab(state_dir) -> Iterator:
    made: list[str] = []

    def make(topology: str, name: str) -> FreshCluster:
        sparkctl("lab", "down", "--name", name)
        sparkctl("lab", "up", "--fresh", "--topology", topology, "--name", name, timeout=900,
                 check=True)
        made.append(name)
        return fresh_cluster(name)

    yield make
    close_control_masters(state_dir)
    for name in made:
        sparkctl("lab", "down", "--name", name, timeout=300)


@dataclass
class Login:
    """How the controller logs in after bootstrap (from its JSON report)."""

    user: str
    key: str
    known_hosts: str

    def ssh(self, address: str, command: str, timeout: float = 60
            ) -> subprocess.CompletedProcess:
        argv = ["ssh", "-i", self.key, "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
                "-o", f"UserKnownHostsFile={self.known_hosts}",
                "-o", "StrictHostKeyChecking=yes", "-o", "ControlPath=none",
                "-o", "ConnectTimeout=10", "-l", self.user, "-T", address, command]
        return subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)


def bootstrap(cluster: FreshCluster, *extra: str, password: str | None = None
              ) -> tuple[subprocess.CompletedProcess, dict | None]:
    proc = sparkctl("bootstrap", *cluster.target_args(), "--password-stdin", "--format",
                    "json", *extra, stdin=(password or cluster.password) + "\n", timeout=300)
    try:
        report = json.loads(proc.stdout)
    except ValueError:
        report = None
    return proc, report


def login_of(report: dict) -> Login:
    return Login(report["user"], report["login_key"], report["known_hosts"][0])


def files_under(*roots: Path) -> list[Path]:
    return [p for root in roots if root.exists() for p in root.rglob("*") if p.is_file()]


def grep(paths: list[Path], needle: str) -> list[str]:
    data = needle.encode()
    return [str(p) for p in paths if data in p.read_bytes()]
