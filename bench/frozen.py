"""Freeze a lab node mid-run and time the run against its budget (bench_health, bench_validate).

The node freezes when the run's --verbose progress says a stage starts (`when`), by SIGSTOP
of every sshd in it (established sessions hang too) or by taking its management link down
from inside; it is thawed afterwards. Returns the whole process's wall time and its report.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

# OpenSSH >= 9.8 (the lab's trixie nodes) serves connections from `sshd-session` processes.
SSHD = "sshd|sshd-session"
FREEZE = {"sshd": ["pkill", "-STOP", "-x", SSHD], "link": ["ip", "link", "set", "enP7s7", "down"]}
THAW = {"sshd": ["pkill", "-CONT", "-x", SSHD], "link": ["ip", "link", "set", "enP7s7", "up"]}


def frozen_run(lab: str, node: str, how: str, args: list[str], budget: float,
               when: str = "rails: starting") -> tuple[float, int, dict]:
    from sparkctl.lab import nodes
    from sparkctl.lab.status import load_record

    record = load_record(lab).node(node)
    started = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "sparkctl", *args, "--verbose", "--budget",
                             str(budget)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, stdin=subprocess.DEVNULL)
    try:
        for line in proc.stderr:
            if when in line:
                nodes.node_exec(record, FREEZE[how])
                break
        out, _ = proc.communicate(timeout=budget + 60)
        wall = time.monotonic() - started
    finally:
        nodes.node_exec(record, THAW[how], check=False)
        time.sleep(1.5)
    return wall, proc.returncode, json.loads(out)


def print_frozen(label: str, lab: str, node: str, args: list[str], budget: float,
                 runs: int) -> None:
    for how in ("sshd", "link"):
        walls, skipped = [], []
        for _ in range(runs):
            wall, _rc, doc = frozen_run(lab, node, how, args, budget)
            walls.append(wall)
            skipped.append(sum(c["verdict"] == "skipped" and c["id"] == "rail.bandwidth"
                               for c in doc["checks"]))
        print(f"{label}, {node} frozen ({how}) when the rails start, budget {budget:g} s: "
              f"wall max {max(walls):.2f} s (over budget by {max(walls) - budget:+.2f} s), "
              f"min {min(walls):.2f} s; rail tests skipped per run {skipped}")
