#!/usr/bin/env python3
"""First contact on a fresh switch4 lab (root): bootstrap, and provisioning with a become
password (-K) against the --sudo nopasswd path.

Each repetition builds a fresh lab (`sparkctl lab up --fresh`) and times, as a user runs
them (the CLI, password on stdin):
  bootstrap          sparkctl bootstrap --password-stdin --accept-new   (first contact)
  bootstrap-again    the same command once more (nothing to change)
  provision-K        sparkctl provision --become-password-stdin        (from scratch)
  provision-K-again  the same, converged
Then on the same nodes:
  bootstrap-nopasswd sparkctl bootstrap --sudo nopasswd                (writes sudoers)
  provision-nopasswd sparkctl provision                                (converged, no -K)
and, on a second fresh lab built with bootstrap --sudo nopasswd from the start:
  provision-nopasswd-scratch  sparkctl provision                       (from scratch)
Figures are medians over --repeat runs, in seconds; a step that fails ends the bench with
its output (no figure is made up).

usage: sudo .venv/bin/python bench/bench_bootstrap.py [--repeat 3] [--json]
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
LABS = ("bootbk", "bootbn")


def sparkctl(*args: str, stdin: str | None = None) -> float:
    began = time.monotonic()
    proc = subprocess.run([str(BIN / "sparkctl"), *args], capture_output=True, text=True,
                          input=stdin, stdin=None if stdin is not None else subprocess.DEVNULL,
                          timeout=1800)
    elapsed = time.monotonic() - began
    if proc.returncode != 0:
        raise SystemExit(f"sparkctl {' '.join(args)} failed ({proc.returncode}):\n"
                         f"{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    return elapsed


def fresh(lab: str) -> str:
    sparkctl("lab", "down", "--name", lab)
    sparkctl("lab", "up", "--fresh", "--topology", "switch4", "--name", lab)
    status = subprocess.run([str(BIN / "sparkctl"), "lab", "status", "--name", lab, "-f",
                             "json"], capture_output=True, text=True, check=True, timeout=60)
    return Path(json.loads(status.stdout)["password_file"]).read_text().strip() + "\n"


def once(state: Path, times: dict[str, list[float]]) -> None:
    keep, nopasswd = LABS
    try:
        password = fresh(keep)
        target = ["--lab", keep]
        boot = ["bootstrap", *target, "--password-stdin", "--accept-new"]
        times["bootstrap"].append(sparkctl(*boot, stdin=password))
        times["bootstrap-again"].append(sparkctl(*boot, stdin=password))
        k = ["provision", *target, "--become-password-stdin"]
        times["provision-K"].append(sparkctl(*k, stdin=password))
        times["provision-K-again"].append(sparkctl(*k, stdin=password))
        times["bootstrap-nopasswd"].append(sparkctl(*boot, "--sudo", "nopasswd",
                                                    stdin=password))
        times["provision-nopasswd"].append(sparkctl("provision", *target))
    finally:
        sparkctl("lab", "down", "--name", keep)
    try:
        password = fresh(nopasswd)
        sparkctl("bootstrap", "--lab", nopasswd, "--password-stdin", "--accept-new", "--sudo",
                 "nopasswd", stdin=password)
        times["provision-nopasswd-scratch"].append(sparkctl("provision", "--lab", nopasswd))
    finally:
        sparkctl("lab", "down", "--name", nopasswd)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("the lab needs root: sudo .venv/bin/python bench/bench_bootstrap.py")
    names = ("bootstrap", "bootstrap-again", "provision-K", "provision-K-again",
             "bootstrap-nopasswd", "provision-nopasswd", "provision-nopasswd-scratch")
    times: dict[str, list[float]] = {n: [] for n in names}
    with tempfile.TemporaryDirectory(prefix="sbb-") as tmp:
        os.environ["SPARKCTL_STATE_DIR"] = tmp  # a private cluster store for the bench
        for _ in range(args.repeat):
            once(Path(tmp), times)
    medians = {n: round(statistics.median(v), 2) for n, v in times.items()}
    if args.json:
        print(json.dumps({"topology": "switch4", "repeat": args.repeat, "median_s": medians,
                          "runs_s": {n: [round(x, 2) for x in v] for n, v in times.items()}},
                         indent=2))
        return
    print(f"switch4, fresh lab, median of {args.repeat} (seconds):")
    for name in names:
        runs = ", ".join(f"{x:.1f}" for x in times[name])
        print(f"  {name:<28} {medians[name]:7.2f}   ({runs})")
    ratio = medians["provision-K"] / medians["provision-nopasswd-scratch"]
    print(f"  provision -K / nopasswd from scratch: {ratio:.2f}x")


if __name__ == "__main__":
    main()
