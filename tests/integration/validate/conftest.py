"""Labs for validate's integration tests: one configured, provisioned lab per module (named
val*), faults injected and cleared in turn, always brought down. Root only."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sparkctl.checks.result import CheckResult, Report, Verdict

BIN = Path(sys.executable).parent
SETTLE_AFTER_CLEAR_S = 2.5


def sparkctl(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{BIN}:{os.environ.get('PATH', '')}"}
    return subprocess.run([str(BIN / "sparkctl"), *args], capture_output=True, text=True,
                           timeout=timeout, env=env)


@dataclass
class ValidationLab:
    name: str
    topology: str

    def context(self):
        from sparkctl.targets import resolve_target

        return resolve_target(lab=self.name)

    def validate(self, *phases: str, budget: float = 120) -> Report:
        from sparkctl.validate.runner import ValidateOptions, validate

        return validate(self.context(), ValidateOptions(phases=phases or (
            "links", "rails", "collective"), budget_s=budget))

    @contextmanager
    def fault(self, kind: str, *args: str, settle_s: float = 0.0,
              settle_after_s: float = 0.0) -> Iterator[None]:
        """Inject, yield, clear. A link that comes back needs a moment for IPv6 duplicate
        address detection before its link-local address answers neighbour probes; a re-plugged
        veth has a new MAC, which peers' neighbour caches learn within seconds."""
        from sparkctl.lab import faults

        faults.inject(self.name, kind, list(args))
        try:
            time.sleep(settle_s)
            yield
        finally:
            faults.clear(self.name)
            time.sleep(max(settle_after_s, SETTLE_AFTER_CLEAR_S))


@contextmanager
def validation_lab(name: str, topology: str) -> Iterator[ValidationLab]:
    from sparkctl.lab import lifecycle
    from sparkctl.topology.builtins import builtin_spec

    lifecycle.down(name)  # a leftover from a killed run
    lifecycle.up(builtin_spec(topology, None), name=name, configured=True,
                 log=lambda m: print(m, file=sys.stderr))
    try:
        # mpirun needs every node to reach every other by name: the ssh_mesh role does that.
        done = sparkctl("provision", "--lab", name, "--tags", "ssh_mesh,mpi,nccl",
                        timeout=300)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
        yield ValidationLab(name, topology)
    finally:
        lifecycle.down(name)


def failing(report: Report) -> list[CheckResult]:
    """Everything not passed (info, the figures a platform cannot judge, is not a problem)."""
    return [c for c in report.checks if c.verdict not in (Verdict.PASS, Verdict.INFO)]


def by_key(report: Report) -> dict[tuple[str, str], CheckResult]:
    return {(c.id, c.subject): c for c in report.checks}


def explain(report: Report) -> str:
    return "\n".join(f"{c.verdict} {c.id} {c.subject}: {c.diagnosis}" for c in failing(report))
