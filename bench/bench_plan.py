"""Time `sparkctl plan --model NAME` as a whole process for every catalogue model.

Prints the median wall time of 3 runs per model (target: < 0.5 s each), the median CPU time of
the child (user + sys; steadier than wall time on a busy machine) and what the planner answered.
Run: .venv/bin/python bench/bench_plan.py [--runs N] [--format json]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

TARGET_S = 0.5
TIMEOUT_S = 30


def _child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def time_plan(name: str, runs: int) -> tuple[float, float, int, str]:
    cmd = [sys.executable, "-m", "sparkctl", "plan", "--model", name, "--format", "json"]
    samples, cpu, rc, answer = [], [], 0, ""
    for _ in range(runs):
        cpu_before = _child_cpu()
        start = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT_S, check=False)
        samples.append(time.perf_counter() - start)
        cpu.append(_child_cpu() - cpu_before)
        rc = proc.returncode
        if rc in (0, 1):
            data = json.loads(proc.stdout)
            rec = data["recommended"]
            answer = (f"{data['request']['quant']} {rec['topology']}" if rec
                      else f"{data['request']['quant']} none")
        else:
            answer = proc.stderr.strip().splitlines()[0][:60] if proc.stderr else ""
    return statistics.median(samples), statistics.median(cpu), rc, answer


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--format", choices=("table", "json"), default="table")
    args = parser.parse_args()

    from sparkctl.plan.catalogue import load_catalogue

    rows = []
    for model in load_catalogue():
        median, cpu, rc, answer = time_plan(model.name, args.runs)
        rows.append({"model": model.name, "median_s": round(median, 3),
                     "cpu_s": round(cpu, 3), "exit": rc,
                     "answer": answer, "under_target": median < TARGET_S})
    if args.format == "json":
        print(json.dumps(rows, indent=2))
        return 0
    width = max(len(r["model"]) for r in rows)
    print(f"{'model':<{width}}  median_s  cpu_s  exit  under {TARGET_S}s  "
          "answer (native quant, default context x1)")
    for r in rows:
        print(f"{r['model']:<{width}}  {r['median_s']:>8.3f}  {r['cpu_s']:>5.3f}  {r['exit']:>4}  "
              f"{'yes' if r['under_target'] else 'NO':>10}  {r['answer']}")
    worst = max(r["median_s"] for r in rows)
    print(f"\n{len(rows)} models, median of {args.runs} runs each; slowest {worst:.3f} s "
          f"(target < {TARGET_S} s); load average {os.getloadavg()[0]:.2f} on "
          f"{os.cpu_count()} CPUs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
