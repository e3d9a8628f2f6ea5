#!/usr/bin/env python3
"""`sparkctl validate` on a lab switch4 (root): wall times, false alarms, detections.

1. wall time of `validate --quick` and of a full validate (links, rails, collective);
2. N healthy full runs: how many report anything but pass (false alarms, target 0);
3. N runs with one rail degraded by 50 % (`lab fault degrade`): how many flag that rail
   (target N), and how many flag a healthy rail instead (misattributions, target 0);
4. runs during which a node freezes when the rails start (sshd SIGSTOPped, or its management
   link down): wall time against --budget (bench/frozen.py).

Usage: sudo .venv/bin/python bench/bench_validate.py [--runs 20] [--lab valbench]
Brings its own lab up and down; figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

DEGRADED = ("spark-3", "enp1s0f1np1")


def sparkctl_bin() -> str:
    here = Path(sys.executable).parent / "sparkctl"
    return str(here) if here.exists() else (shutil.which("sparkctl") or "sparkctl")


def sparkctl(*args: str, timeout: float = 900) -> tuple[subprocess.CompletedProcess, float]:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}"}
    started = time.monotonic()
    done = subprocess.run([sparkctl_bin(), *args], capture_output=True, text=True,
                          timeout=timeout, env=env)
    return done, time.monotonic() - started


def validate(lab: str, *extra: str) -> tuple[dict, float, int]:
    done, seconds = sparkctl("validate", "--lab", lab, "--format", "json", "--no-history", *extra)
    try:
        report = json.loads(done.stdout)
    except ValueError:
        raise SystemExit(f"validate printed no JSON (rc {done.returncode}): "
                         f"{done.stderr[-1000:]}") from None
    return report, seconds, done.returncode


def not_passing(report: dict) -> list[dict]:
    return [c for c in report["checks"] if c["verdict"] not in ("pass", "info")]


def stats(values: list[float]) -> str:
    if not values:
        return "n/a"
    return (f"median {statistics.median(values):.1f} s, min {min(values):.1f}, "
            f"max {max(values):.1f} (n={len(values)})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--timing-runs", type=int, default=3)
    parser.add_argument("--lab", default="valbench")
    parser.add_argument("--frozen-budget", type=float, default=15.0,
                        help="budget of the runs during which a node freezes")
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("bench_validate needs root (it builds a lab)")
    lab = args.lab
    sparkctl("lab", "down", "--name", lab)
    done, up_s = sparkctl("lab", "up", "--topology", "switch4", "--name", lab, "--configured")
    if done.returncode != 0:
        raise SystemExit(f"lab up failed: {done.stderr[-2000:]}")
    try:
        done, prov_s = sparkctl("provision", "--lab", lab, "--tags", "ssh_mesh,mpi,nccl")
        if done.returncode != 0:
            raise SystemExit(f"provision failed: {done.stderr[-2000:]}")
        print(f"lab switch4 up in {up_s:.1f} s; ssh_mesh,mpi,nccl provisioned in {prov_s:.1f} s")
        print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}")

        quick = [validate(lab, "--quick")[1] for _ in range(args.timing_runs)]
        print(f"validate --quick (links only, CLI wall time): {stats(quick)}")

        full_times, false_alarms, alarm_ids = [], 0, {}
        for i in range(args.runs):
            report, seconds, rc = validate(lab)
            full_times.append(seconds)
            bad = not_passing(report)
            if bad or rc != 0:
                false_alarms += 1
                for c in bad:
                    alarm_ids[c["id"]] = alarm_ids.get(c["id"], 0) + 1
                print(f"  healthy run {i + 1}: {len(bad)} checks not passing: "
                      + "; ".join(f"{c['id']} {c['subject']} {c['measured']}" for c in bad[:3]))
        print(f"validate full (links, rails, collective; CLI wall time): {stats(full_times)}")
        print(f"healthy runs: {args.runs}, false alarms: {false_alarms}"
              + (f" ({alarm_ids})" if alarm_ids else ""))

        done, _ = sparkctl("lab", "fault", "--name", lab, "degrade", *DEGRADED, "50")
        if done.returncode != 0:
            raise SystemExit(f"fault injection failed: {done.stderr[-2000:]}")
        try:
            detected, misattributed, rail_times, measured = 0, 0, [], []
            target = "/".join(DEGRADED)
            for i in range(args.runs):
                report, seconds, _ = validate(lab, "--only", "rails")
                rail_times.append(seconds)
                flagged = [c for c in not_passing(report) if c["id"] == "rail.bandwidth"]
                on_target = [c for c in flagged if target in c["subject"]]
                elsewhere = [c for c in flagged if target not in c["subject"]]
                measured += [c["measured"] for c in on_target
                             if isinstance(c["measured"], (int, float))]
                detected += bool(on_target)
                misattributed += bool(elsewhere)
                if not on_target or elsewhere:
                    print(f"  degraded run {i + 1}: on target {len(on_target)}, elsewhere "
                          f"{len(elsewhere)}")
        finally:
            sparkctl("lab", "fault", "--name", lab, "clear")
        print(f"validate --only rails with {target} degraded 50 %: {stats(rail_times)}")
        print(f"degraded runs: {args.runs}, detected: {detected}, runs that also flagged a "
              f"healthy rail: {misattributed}")
        if measured:
            print(f"degraded rail measured {statistics.median(measured):.2f} Gb/s median "
                  f"(shaped ceiling 2.0 Gb/s, pass floor 1.8)")
        from frozen import print_frozen  # bench/frozen.py, next to this script

        print_frozen("validate (links, rails)", lab, "spark-3",
                     ["validate", "--lab", lab, "--only", "links", "--only", "rails",
                      "--no-history", "--format", "json"], args.frozen_budget,
                     args.timing_runs)
    finally:
        sparkctl("lab", "down", "--name", lab)


if __name__ == "__main__":
    main()
