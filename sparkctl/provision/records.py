"""Run directories: one per provisioning run, kept with ansible-runner's artifacts."""

from __future__ import annotations

import dataclasses
import json
import os
import secrets
import time
from pathlib import Path

from sparkctl.fileio import atomic_write
from sparkctl.render.bundle import state_root


def default_runs_dir() -> Path:
    return state_root() / "runs"


def new_run_dir(runs_dir: Path | None, cluster_name: str) -> Path:
    """A fresh, absolute directory: <runs>/<UTC time>-<cluster>-<random>."""
    parent = Path(runs_dir or default_runs_dir()).expanduser().absolute()
    parent.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    path = parent / f"{stamp}-{cluster_name}-{secrets.token_hex(3)}"
    path.mkdir(mode=0o700)
    return path


def write_summary(run_dir: Path, result) -> Path:
    data = {
        "status": result.status,
        "rc": result.rc,
        "duration_s": round(result.duration_s, 3),
        "started": result.started,
        "command": result.command,
        "hosts": {h: dataclasses.asdict(s) for h, s in result.stats.items()},
        "failures": [dataclasses.asdict(f) for f in result.failures],
        "artifacts": str(result.artifacts_dir) if result.artifacts_dir else None,
    }
    return atomic_write(run_dir / "summary.json", json.dumps(data, indent=2) + "\n")


def private_dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, 0o700)
    return path
