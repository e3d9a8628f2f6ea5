#!/usr/bin/env python3
"""Wall time of `sparkctl discover` on lab switch4 and ring3 (target < 5 s per run).

Brings up its own labs (names disbsw4, disbr3; needs root), runs the whole CLI process
several times per lab, prints median/min/max and the in-process phases of the last run
(SSH connect, agent window, analysis), then takes the labs down.

Usage: sudo .venv/bin/python bench/bench_discover.py [--runs 5] [--window 1.5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

LABS = [("disbsw4", "switch4"), ("disbr3", "ring3")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--window", type=float, default=1.5)
    args = parser.parse_args()
    from sparkctl.lab import lifecycle
    from sparkctl.topology.builtins import builtin_spec

    print(f"window {args.window:g} s, {args.runs} runs per lab")
    print(f"{'lab':<10} {'verdict':<8} {'median s':>9} {'min s':>7} {'max s':>7}   "
          "phases of last run (connect / agents / analyze)")
    for name, topology in LABS:
        lifecycle.down(name)
        try:
            up = lifecycle.up(builtin_spec(topology), name=name)
            times, data = [], {}
            for _ in range(args.runs):
                start = time.perf_counter()
                proc = subprocess.run(
                    [sys.executable, "-m", "sparkctl", "discover", "--lab", name, "-f", "json",
                     "--window", str(args.window)], capture_output=True, text=True, timeout=60)
                times.append(time.perf_counter() - start)
                data = json.loads(proc.stdout)
            t = data.get("timings", {})
            print(f"{topology:<10} {data['verdict']:<8} {statistics.median(times):>9.3f} "
                  f"{min(times):>7.3f} {max(times):>7.3f}   "
                  f"{t.get('connect_s', 0):.3f} / {t.get('probe_s', 0):.3f} / "
                  f"{t.get('analyze_s', 0):.3f}  (lab up {up.seconds:.2f} s)")
        finally:
            lifecycle.down(name)


if __name__ == "__main__":
    main()
