#!/usr/bin/env python3
"""Wall time of whole `sparkctl` processes for the cluster-model commands (target < 0.3 s).

Usage: python bench/bench_cli.py [--runs 9]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

COMMANDS = [
    ["topology", "show", "switch4", "--format", "json"],
    ["inventory", "--topology", "switch4"],
    ["topology", "show", "ring3"],
]


def sparkctl() -> str:
    here = Path(sys.executable).parent / "sparkctl"
    return str(here) if here.exists() else (shutil.which("sparkctl") or "sparkctl")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    exe = sparkctl()
    print(f"{'command':<50} {'median s':>9} {'min s':>7} {'max s':>7}")
    for argv in COMMANDS:
        times = []
        for _ in range(args.runs):
            start = time.perf_counter()
            subprocess.run([exe, *argv], stdout=subprocess.DEVNULL, check=True, timeout=60)
            times.append(time.perf_counter() - start)
        print(f"{'sparkctl ' + ' '.join(argv):<50} {statistics.median(times):>9.3f} "
              f"{min(times):>7.3f} {max(times):>7.3f}")


if __name__ == "__main__":
    main()
