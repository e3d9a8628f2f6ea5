#!/usr/bin/env python3
"""Provisioning speed on the lab (root): from scratch and idempotent re-runs.

For `single` and `switch4`, median of N (default 3) wall times of `sparkctl provision` via
the Python API (render + ansible-runner + playbook):
  scratch        a freshly built lab, nothing configured yet
  rerun-warm     converged cluster, run again right away (ControlPersist masters alive)
  rerun-cold     converged cluster, SSH control masters closed first
  rerun-defaults converged cluster, Ansible defaults: no pipelining, no ControlPersist,
                 full fact gathering
Targets (issue 4): switch4 re-run <= 1.3x single; tuned >= 3x faster than defaults.

usage: sudo .venv/bin/python bench/bench_provision.py [--repeat 3] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent
LABS = {"single": "provbs", "switch4": "provb4"}


def sparkctl(*args: str) -> None:
    subprocess.run([str(BIN / "sparkctl"), *args], check=True, capture_output=True,
                   timeout=900)


def close_masters(state: Path) -> None:
    for sock in (state / "cp").glob("*"):
        subprocess.run(["ssh", "-o", f"ControlPath={sock}", "-O", "exit", "x"],
                       capture_output=True, timeout=10, check=False)


def timed_run(lab: str, runs: Path, tuned: bool = True) -> float:
    from sparkctl.provision.runner import ProvisionRequest, provision
    from sparkctl.targets import resolve_target

    began = time.monotonic()
    result = provision(resolve_target(lab=lab), ProvisionRequest(runs_dir=runs, tuned=tuned))
    elapsed = time.monotonic() - began
    if not result.ok:
        raise SystemExit(f"{lab}: run failed: {result.failures[:2]} ({result.run_dir})")
    return elapsed


def bench(topology: str, repeat: int, state: Path) -> dict[str, list[float]]:
    lab = LABS[topology]
    runs = state / "runs"
    times: dict[str, list[float]] = {k: [] for k in
                                     ("scratch", "rerun-warm", "rerun-cold", "rerun-defaults")}
    try:
        for _ in range(repeat):
            sparkctl("lab", "down", "--name", lab)
            sparkctl("lab", "up", "--topology", topology, "--name", lab)
            close_masters(state)
            times["scratch"].append(timed_run(lab, runs))
        for _ in range(repeat):
            times["rerun-warm"].append(timed_run(lab, runs))
        for _ in range(repeat):
            close_masters(state)
            times["rerun-cold"].append(timed_run(lab, runs))
        for _ in range(repeat):
            close_masters(state)
            times["rerun-defaults"].append(timed_run(lab, runs, tuned=False))
    finally:
        close_masters(state)
        sparkctl("lab", "down", "--name", lab)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--topologies", default="single,switch4")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("bench_provision needs root (it builds labs)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="sparkctl-bench-") as tmp:
        os.environ["SPARKCTL_STATE_DIR"] = tmp
        results = {t: bench(t, args.repeat, Path(tmp)) for t in args.topologies.split(",")}
    medians = {t: {k: statistics.median(v) for k, v in r.items()} for t, r in results.items()}
    load = os.getloadavg()
    if args.json:
        print(json.dumps({"runs": results, "median_s": medians, "cpus": os.cpu_count(),
                          "loadavg": load}, indent=2))
        return 0
    print(f"provisioning wall time, median of {args.repeat} (s); {os.cpu_count()} CPUs, "
          f"load {load[0]:.1f}")
    print(f"{'topology':<9} {'scratch':>8} {'rerun-warm':>11} {'rerun-cold':>11} "
          f"{'rerun-defaults':>15} {'defaults/cold':>14}")
    for topology, m in medians.items():
        print(f"{topology:<9} {m['scratch']:8.2f} {m['rerun-warm']:11.2f} "
              f"{m['rerun-cold']:11.2f} {m['rerun-defaults']:15.2f} "
              f"{m['rerun-defaults'] / m['rerun-cold']:13.2f}x")
    if {"single", "switch4"} <= medians.keys():
        s, f = medians["single"], medians["switch4"]
        print(f"switch4/single re-run: warm {f['rerun-warm'] / s['rerun-warm']:.2f}x, "
              f"cold {f['rerun-cold'] / s['rerun-cold']:.2f}x (target <= 1.3x)")
        print(f"defaults/tuned (cold) re-run: single "
              f"{s['rerun-defaults'] / s['rerun-cold']:.2f}x, switch4 "
              f"{f['rerun-defaults'] / f['rerun-cold']:.2f}x (target >= 3x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
