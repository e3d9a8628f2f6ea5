"""One configured switch4 lab (`syncsw4`) for the sync and earlyoom tests of this package,
brought up once and always brought down; data lives on the nodes' tmpfs /tmp. Root only."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent
NODES = ("spark-1", "spark-2", "spark-3", "spark-4")


def sparkctl(*args: str, timeout: float = 600, check: bool = False,
             **kw) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{BIN}:{os.environ.get('PATH', '')}"}
    done = subprocess.run([str(BIN / "sparkctl"), *args], capture_output=True, text=True,
                          timeout=timeout, env=env, stdin=subprocess.DEVNULL, **kw)
    if check and done.returncode != 0:
        raise AssertionError(f"sparkctl {' '.join(args)} -> {done.returncode}\n"
                             f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return done


@dataclass
class SyncLab:
    name: str

    def sh(self, node: str, command: str, timeout: float = 120) -> str:
        done = sparkctl("lab", "ssh", "--name", self.name, node, command, timeout=timeout,
                        check=True)
        return done.stdout

    def tree_digest(self, node: str, path: str) -> str:
        """One digest over every file (path + content) and symlink under path."""
        return self.sh(node, f"cd {path} && find . -path ./.sparkctl-sync -prune -o "
                       "\\( -type f -o -type l \\) -print | sort | while read f; do "
                       "if [ -L \"$f\" ]; then echo \"$f -> $(readlink \"$f\")\"; else "
                       "sha256sum \"$f\"; fi; done | sha256sum").split()[0]

    def listeners(self, node: str) -> list[str]:
        """Listening TCP sockets other than sshd's."""
        return [line for line in self.sh(node, "ss -Hltn").splitlines()
                if line.strip() and not line.split()[3].endswith(":22")]

    def agents(self, node: str) -> str:
        return self.sh(node, "ps -eo args | grep -c '[z]lib.decompress' || true").strip()

    def rx_bytes(self, node: str, iface: str) -> int:
        return int(self.sh(node, f"cat /sys/class/net/{iface}/statistics/rx_bytes"))

    def sync(self, *args: str, timeout: float = 300) -> tuple[subprocess.CompletedProcess,
                                                              dict | None]:
        done = sparkctl("sync", "--lab", self.name, *args, "--format", "json", "--quiet",
                        timeout=timeout)
        try:
            report = json.loads(done.stdout)
        except ValueError:
            report = None
        return done, report

    @contextmanager
    def fault(self, kind: str, *args: str) -> Iterator[None]:
        from sparkctl.lab import faults

        faults.inject(self.name, kind, list(args))
        try:
            yield
        finally:
            faults.clear(self.name)


@pytest.fixture(scope="package")
def lab() -> Iterator[SyncLab]:
    from sparkctl.lab import lifecycle
    from sparkctl.topology.builtins import builtin_spec

    name = "syncsw4"
    lifecycle.down(name)
    lifecycle.up(builtin_spec("switch4", None), name=name, configured=True,
                 log=lambda m: print(m, file=sys.stderr))
    try:
        yield SyncLab(name)
    finally:
        lifecycle.down(name)
