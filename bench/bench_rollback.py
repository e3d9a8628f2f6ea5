"""Time from a bad network plan to its rollback, and to the run failing (issue 17 item 2).

A direct lab; spark-1's plan gets the management bridge's address (this controller's) on
a data twin, which cuts management the moment netplan applies it. Each run:
`sparkctl provision --tags network --limit spark-1` with that plan and a dead-man timeout
of --deadman seconds. Printed per run, from the node's own record
(/var/lib/sparkctl/network-journal/rolled-back.json; node and controller share a clock):
start -> timer armed, armed -> journal restored (= the timeout + the restore itself),
the restore alone, and start -> the run failed with the rollback diagnosis. Needs root.

    .venv/bin/python bench/bench_rollback.py [--runs 3] [--deadman 20] [--lab NAME]
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

import yaml

BIN = Path(sys.executable).parent / "sparkctl"
NODE = "spark-1"


def sparkctl(*args: str, timeout: float = 900, check: bool = True):
    proc = subprocess.run([str(BIN), *args], capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)
    if check and proc.returncode != 0:
        raise SystemExit(f"sparkctl {' '.join(args)} -> {proc.returncode}\n{proc.stderr[-2000:]}")
    return proc


def bad_plan(inventory: Path, deadman: int, reconnect: int) -> Path:
    sparks = yaml.safe_load(inventory.read_text())["all"]["children"]["sparks"]
    interfaces = sparks["hosts"][NODE]["sparkctl_interfaces"]
    controller = sparks["vars"]["sparkctl_lab_mgmt_subnet"].rsplit(".", 1)[0] + ".254/24"
    path = inventory.parent / "host_vars" / f"{NODE}.yml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(yaml.safe_dump({
        "sparkctl_interfaces": [dict(interfaces[0], address=controller)] + interfaces[1:],
        "network_deadman_s": deadman, "network_reconnect_timeout_s": reconnect}))
    return path


def one_run(lab: str, inventory: Path, deadman: int, reconnect: int) -> dict:
    path = bad_plan(inventory, deadman, reconnect)
    start = time.time()
    try:
        proc = sparkctl("provision", "--lab", lab, "--tags", "network", "--limit", NODE,
                        check=False)
    finally:
        path.unlink()
    failed = time.time()
    out = proc.stdout + proc.stderr
    if proc.returncode != 1 or "was rolled back" not in out:
        return {"verdict": "fail", "reason": f"exit {proc.returncode}, no rollback diagnosis",
                "tail": out[-1500:]}
    marker = json.loads(sparkctl("lab", "console", "--name", lab, NODE, "--", "cat",
                                 "/var/lib/sparkctl/network-journal/rolled-back.json").stdout)
    return {"verdict": "pass", "start_to_armed_s": marker["armed_epoch"] - start,
            "armed_to_restored_s": marker["restored_epoch"] - marker["armed_epoch"],
            "restore_s": marker["seconds"], "start_to_restored_s": marker["restored_epoch"] - start,
            "start_to_run_failed_s": failed - start}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--deadman", type=int, default=20)
    parser.add_argument("--reconnect", type=int, default=8)
    parser.add_argument("--lab", default=None, help="an existing direct lab to use")
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("bench_rollback needs root (it brings up a lab)")
    os.environ.setdefault("SPARKCTL_STATE_DIR", tempfile.mkdtemp(prefix="bench-rollback."))
    lab = args.lab or "benchrb"
    if args.lab is None:
        sparkctl("lab", "up", "--topology", "direct", "--name", lab)
    from sparkctl.lab.paths import lab_inventory_path

    inventory = lab_inventory_path(lab)
    try:
        # The first run also installs the journal tool; every run is a rollback.
        runs = [one_run(lab, inventory, args.deadman, args.reconnect) for _ in range(args.runs)]
    finally:
        if args.lab is None:
            sparkctl("lab", "down", "--name", lab, check=False)
    print(f"bad plan on {NODE} (management address on a data twin), dead-man {args.deadman} s, "
          f"reconnect wait {args.reconnect} s, {args.runs} runs")
    good = [r for r in runs if r["verdict"] == "pass"]
    for run in runs:
        if run["verdict"] != "pass":
            print(f"  run: fail - {run['reason']}\n{run['tail']}")
    for key in ("start_to_armed_s", "armed_to_restored_s", "restore_s", "start_to_restored_s",
                "start_to_run_failed_s"):
        values = [r[key] for r in good]
        if values:
            print(f"  {key:<24} median {statistics.median(values):6.1f} s  "
                  f"min {min(values):6.1f}  max {max(values):6.1f}")
        else:
            print(f"  {key:<24} incomplete (no run rolled back)")


if __name__ == "__main__":
    main()
