"""Time a quick `sparkctl health` on lab single and switch4, and on switch4 with a dead node.

Targets (issue 6): switch4 <= 3 s and <= 1.5x single; with one node dead the run stays
within its budget. "Dead" here is a node whose sshd port silently drops packets (iptables
DROP on its management interface inside the node's namespace), the worst case for a client:
every SSH step waits for its timeout. A stopped sshd (connection refused) is also timed.
Also times `health --probe` on switch4 (1 s iperf3 per rail test, 8 tests, 2 at a time),
and `health --probe` while a node freezes mid-run (sshd SIGSTOPped, or its management link
down): the wall time against the budget (bench/frozen.py).
Prints the median and max of N runs of the whole process (wall) and the run's own duration_s.
Root only (builds labs named hfb1/hfb4 and removes them).
Run: .venv/bin/python bench/bench_health.py [--runs N] [--budget S]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def sparkctl(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sparkctl", *args], capture_output=True,
                          text=True, timeout=timeout, cwd=REPO, stdin=subprocess.DEVNULL)


def time_health(lab: str, db: Path, runs: int, budget: float, *extra: str) -> dict:
    walls, inner, verdicts = [], [], set()
    for _ in range(runs):
        started = time.monotonic()
        done = sparkctl("health", "--lab", lab, "--db", str(db), "-f", "json", "--budget",
                        str(budget), *extra, timeout=budget + 30)
        walls.append(time.monotonic() - started)
        doc = json.loads(done.stdout)
        inner.append(doc["duration_s"])
        verdicts.add(doc["verdict"])
    return {"wall_median_s": round(statistics.median(walls), 3),
            "wall_max_s": round(max(walls), 3),
            "run_median_s": round(statistics.median(inner), 3),
            "run_max_s": round(max(inner), 3), "verdicts": sorted(verdicts)}


def up(name: str, topology: str) -> None:
    done = sparkctl("lab", "up", "--topology", topology, "--name", name, "--configured")
    if done.returncode != 0:
        sys.exit(f"lab up {name} failed: {done.stderr}")
    done = sparkctl("provision", "--lab", name, "--tags", "nccl,mpi")
    if done.returncode != 0:
        sys.exit(f"provision {name} failed: {done.stdout[-1500:]}")


def blackhole(lab: str, node: str, on: bool) -> None:
    """Drop SSH on the node's management interface, inside the node (its own iptables)."""
    from sparkctl.lab import nodes
    from sparkctl.lab.status import load_record

    record = load_record(lab)
    nodes.node_exec(record.node(node), ["iptables", "-w", "5", "-I" if on else "-D", "INPUT",
                                        "-p", "tcp", "--dport", "22", "-i", "enP7s7", "-j",
                                        "DROP"], what="bench blackhole")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--budget", type=float, default=20.0)
    parser.add_argument("--frozen-budget", type=float, default=12.0,
                        help="budget of the runs during which a node freezes")
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "health.db"
        try:
            up("hfb1", "single")
            up("hfb4", "switch4")
            sparkctl("health", "--lab", "hfb4", "--db", str(db), "--quiet")  # warm caches
            results["single"] = time_health("hfb1", db, args.runs, args.budget)
            results["switch4"] = time_health("hfb4", db, args.runs, args.budget)
            results["switch4 --probe (budget 40 s)"] = time_health(
                "hfb4", db, max(2, args.runs // 2), 40.0, "--probe")
            sparkctl("lab", "fault", "--name", "hfb4", "sshd-stop", "spark-4")
            results["switch4, sshd stopped on spark-4"] = time_health("hfb4", db, args.runs,
                                                                      args.budget)
            sparkctl("lab", "fault", "--name", "hfb4", "clear")
            blackhole("hfb4", "spark-4", True)
            try:
                results["switch4, spark-4 silent (SSH dropped)"] = time_health(
                    "hfb4", db, max(2, args.runs // 2), args.budget)
            finally:
                blackhole("hfb4", "spark-4", False)
            from frozen import print_frozen  # bench/frozen.py, next to this script

            print_frozen("health --probe", "hfb4", "spark-3", ["health", "--lab", "hfb4",
                                                                "--probe", "--no-history",
                                                                "-f", "json"],
                         args.frozen_budget, max(2, args.runs // 2))
        finally:
            sparkctl("lab", "down", "--name", "hfb1")
            sparkctl("lab", "down", "--name", "hfb4")
    print(f"health, {args.runs} runs each (fewer for --probe and silent), "
          f"budget {args.budget:g} s")
    print(f"{'case':40} {'wall med':>9} {'wall max':>9} {'run med':>8} {'run max':>8}  verdicts")
    for case, r in results.items():
        print(f"{case:40} {r['wall_median_s']:9.3f} {r['wall_max_s']:9.3f} "
              f"{r['run_median_s']:8.3f} {r['run_max_s']:8.3f}  {','.join(r['verdicts'])}")
    ratio = results["switch4"]["wall_median_s"] / results["single"]["wall_median_s"]
    print(f"switch4 / single (wall median): {ratio:.2f}x (target <= 1.5x); "
          f"switch4 <= 3 s: {results['switch4']['wall_median_s'] <= 3}")
    dead = max(r["wall_max_s"] for c, r in results.items() if "spark-4" in c)
    print(f"worst dead-node wall time: {dead:.2f} s (budget {args.budget:g} s)")


if __name__ == "__main__":
    main()
