"""Lab figures, all measured here and now (needs root):

- switch4 `lab up` / `lab down` with a warm base image (target: up <= 5 s), and per node the
  time from launch to sshd answering plus systemd's own userspace boot time;
- `lab reboot` of one node (systemd restarts, sshd answers again);
- the management blip of `netplan apply` on a node: how long its management address is gone,
  seen from the host with `ip -ts monitor address` in the node's namespace;
- iperf3 throughput on a shaped rail against its configured rate.

    .venv/bin/python bench/bench_lab.py [--cycles 5] [--applies 5] [--seconds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time
from datetime import datetime

from sparkctl.lab import lifecycle, nodes, shell
from sparkctl.lab.image import ensure_base_image
from sparkctl.topology.builtins import builtin_spec

LAB = "benchlab"


def ssh(record, node: str, command: str, timeout: float = 60) -> str:
    out = subprocess.run(shell.ssh_argv(record, node, [command]), capture_output=True,
                         text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    if out.returncode != 0:
        raise SystemExit(f"ssh {node} {command!r} failed: {out.stderr}")
    return out.stdout


def _stats(values: list[float]) -> str:
    return (f"median {statistics.median(values):.2f} s, min {min(values):.2f}, "
            f"max {max(values):.2f} (n={len(values)})")


def userspace_boot_s(record, node) -> float | None:
    """systemd-analyze's 'Startup finished in X (userspace)' on the node, in seconds."""
    for _ in range(100):  # the boot may still be finishing when sshd already answers
        done = nodes.node_exec(node, ["systemd-analyze"], check=False)
        match = re.search(r"in ([\d.]+)(ms|s) \(userspace\)", done.stdout)
        if match:
            return float(match[1]) / (1000 if match[2] == "ms" else 1)
        time.sleep(0.1)
    return None


def bench_up_down(cycles: int) -> None:
    ups, downs, boots, userspace = [], [], [], []
    for _ in range(cycles):
        started = time.perf_counter()
        result = lifecycle.up(builtin_spec("switch4"), name=LAB)
        ups.append(time.perf_counter() - started)
        boots += list(result.boot_seconds.values())
        userspace += [u for n in result.record.nodes
                      if (u := userspace_boot_s(result.record, n)) is not None]
        started = time.perf_counter()
        lifecycle.down(LAB)
        downs.append(time.perf_counter() - started)
    print(f"switch4 lab up (4 systemd nodes, sshd answering, inventory written): {_stats(ups)}"
          " (target <= 5 s)")
    print(f"switch4 lab down: {_stats(downs)}")
    print(f"per node, launch to sshd answering (4 booting at once): {_stats(boots)}")
    if userspace:
        print(f"per node, systemd-analyze userspace boot: {_stats(userspace)}")


def bench_reboot(count: int) -> None:
    record = lifecycle.up(builtin_spec("direct"), name=LAB).record
    try:
        took = [lifecycle.reboot(LAB, ["spark-2"])["spark-2"] for _ in range(count)]
        print(f"lab reboot of one node (systemd stops, boots, sshd answers): {_stats(took)}")
    finally:
        lifecycle.down(LAB)
    del record


def mgmt_gaps(monitor_text: str, address: str) -> list[float]:
    """Seconds between each 'Deleted ... inet ADDRESS' and the next re-add of ADDRESS."""
    gaps, gone = [], None
    pattern = re.compile(rf"\[([0-9T:.-]+)\] (Deleted )?\S+ +\S+ +inet {re.escape(address)}/")
    for stamp, deleted in pattern.findall(monitor_text):
        when = datetime.fromisoformat(stamp)
        if deleted:
            gone = when
        elif gone is not None:
            gaps.append((when - gone).total_seconds())
            gone = None
    return gaps


def bench_netplan_apply(applies: int) -> None:
    """netplan apply on a provisioned node: NetworkManager restarts, the mgmt address blinks."""
    record = lifecycle.up(builtin_spec("direct"), name=LAB).record
    try:
        env = {**os.environ, "SPARKCTL_STATE_DIR": f"/tmp/{LAB}-state",
               "PATH": f"{os.path.dirname(sys.executable)}:{os.environ.get('PATH', '')}"}
        started = time.perf_counter()
        done = subprocess.run([os.path.join(os.path.dirname(sys.executable), "sparkctl"),
                               "provision", "--lab", LAB, "--tags", "network"], env=env,
                              capture_output=True, text=True, timeout=600)
        if done.returncode != 0:
            raise SystemExit(f"provision failed: {done.stdout[-2000:]}")
        print(f"provision --tags network of a fresh direct lab (netplan apply on both "
              f"nodes, reconnect, checks): {time.perf_counter() - started:.1f} s")
        node = record.node("spark-1")
        gaps, durations = [], []
        for _ in range(applies):
            monitor = subprocess.Popen(["ip", "-n", node.netns, "-ts", "monitor", "address",
                                        "dev", "enP7s7"], stdout=subprocess.PIPE, text=True)
            time.sleep(0.2)
            started = time.perf_counter()
            nodes.node_exec(node, ["netplan", "apply"], timeout=120)
            durations.append(time.perf_counter() - started)
            time.sleep(3)  # NetworkManager puts the address back after apply returns
            monitor.terminate()
            gaps += mgmt_gaps(monitor.communicate(timeout=10)[0], node.mgmt_address)
        print(f"netplan apply on a provisioned node: {_stats(durations)}")
        if gaps:
            print(f"management address gone during netplan apply: {_stats(gaps)}")
        else:
            print("management address gone during netplan apply: no blink seen (incomplete)")
    finally:
        lifecycle.down(LAB)


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
    parser.add_argument("--applies", type=int, default=5)
    parser.add_argument("--reboots", type=int, default=5)
    parser.add_argument("--seconds", type=int, default=3)
    parser.add_argument("--skip-rates", action="store_true")
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench_lab needs root")
    started = time.perf_counter()
    image = ensure_base_image()
    print(f"base image {image.digest}: "
          + (f"built in {image.build_seconds:.0f} s" if image.built_now else
             f"warm (checked in {time.perf_counter() - started:.3f} s)"))
    with open("/proc/loadavg") as load:
        print(f"load average before: {load.read().split()[0]} (2 cores shared)")
    lifecycle.down(LAB)
    bench_up_down(args.cycles)
    bench_reboot(args.reboots)
    bench_netplan_apply(args.applies)
    if not args.skip_rates:
        for rate in ("2gbit", "1gbit", "500mbit"):
            bench_rate(rate, args.seconds)


if __name__ == "__main__":
    main()
