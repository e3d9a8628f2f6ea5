"""Lab figures: `lab up` + `lab down` of switch4 with a warm base image (target < 5 s), and
iperf3 throughput on a shaped rail against its configured rate. Needs root.

    .venv/bin/python bench/bench_lab.py [--cycles 5] [--seconds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

from sparkctl.lab import lifecycle, shell
from sparkctl.lab.image import ensure_base_image
from sparkctl.topology.builtins import builtin_spec

LAB = "benchlab"


def ssh(record, node: str, command: str, timeout: float = 60) -> str:
    out = subprocess.run(shell.ssh_argv(record, node, [command]), capture_output=True,
                         text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    if out.returncode != 0:
        raise SystemExit(f"ssh {node} {command!r} failed: {out.stderr}")
    return out.stdout


def bench_up_down(cycles: int) -> None:
    ups, downs = [], []
    for _ in range(cycles):
        started = time.perf_counter()
        record = lifecycle.up(builtin_spec("switch4"), name=LAB).record
        ups.append(time.perf_counter() - started)
        started = time.perf_counter()
        lifecycle.down(LAB)
        downs.append(time.perf_counter() - started)
    total = [u + d for u, d in zip(ups, downs, strict=True)]
    print(f"switch4 lab up (4 nodes, sshd answering, inventory written): "
          f"median {statistics.median(ups):.2f} s, max {max(ups):.2f} s over {cycles} cycles")
    print(f"switch4 lab down: median {statistics.median(downs):.2f} s, max {max(downs):.2f} s")
    print(f"switch4 up + down: median {statistics.median(total):.2f} s (target < 5 s)")
    del record


def bench_rate(rate: str, seconds: int) -> None:
    record = lifecycle.up(builtin_spec("direct"), name=LAB, rate=rate, configured=True).record
    try:
        ssh(record, "spark-2", "iperf3 -s -1 -D -B 192.168.100.2")
        time.sleep(0.3)
        out = json.loads(ssh(record, "spark-1", f"iperf3 -c 192.168.100.2 -t {seconds} -J"))
        got = out["end"]["sum_received"]["bits_per_second"] / 1e6
        print(f"iperf3 over shaped rail enp1s0f1np1 (direct, MTU 9000), rate {rate}: "
              f"{got:.0f} Mbit/s = {got / record.rate_mbit:.1%} of {record.rate_mbit} Mbit/s "
              f"(stands for {got * record.scale / 1000:.0f} of 200 Gb/s)")
    finally:
        lifecycle.down(LAB)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cycles", type=int, default=5)
    parser.add_argument("--seconds", type=int, default=3)
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench_lab needs root")
    started = time.perf_counter()
    image = ensure_base_image()
    print(f"base image {image.digest}: "
          + (f"built in {image.build_seconds:.0f} s" if image.built_now else
             f"warm (checked in {time.perf_counter() - started:.3f} s)"))
    lifecycle.down(LAB)
    bench_up_down(args.cycles)
    for rate in ("2gbit", "1gbit", "500mbit"):
        bench_rate(rate, args.seconds)


if __name__ == "__main__":
    main()
