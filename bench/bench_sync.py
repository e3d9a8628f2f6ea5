#!/usr/bin/env python3
"""`sparkctl sync` on lab switch4 and ring3 clusters (root): pipelined sync vs one transfer
vs sequential rsync over ssh, and what one core moves through ssh.

Per topology, in the same run, with a generated directory on spark-1 (default 2 GiB):
1. one transfer over one link pair: `sync --nodes spark-2` (both twins of one cable);
2. all nodes: `sync` to every other node (chain spark-1 -> spark-2 -> ...);
3. the baseline the anchors use: rsync -a over ssh from spark-1 to each node in turn,
   over the data rail (`ssh spark-N` from the ssh_mesh role).
Figures: time(all) / time(one) (target <= 1.2), achieved rate / shaped ceiling of the
rails used (target >= 85 %), rsync's total time.
Then, once: ssh throughput per core (bytes / CPU seconds of the busier end, sshd or the
client) for the ciphers OpenSSH offers, over the lab's unshaped management link, beside
a plain TCP stream (iperf3) and SHA-256 per core on a node.

Data lands on the nodes' tmpfs (/tmp): page-cache writes to this VM's ext4 cost ~2 CPU s
per GB (see notes/sync.md), which on two shared cores, not the rails, would set the pace.
The host's load average is printed beside each figure: other work on the two cores shows.

Usage: sudo .venv/bin/python bench/bench_sync.py [--size-mib 2048] [--rate 2gbit]
       [--topologies switch4,ring3] [--repeat 1] [--prefix usb]
Brings its own labs up and down; figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

WORK = "/tmp/sync-bench"
SRC = f"{WORK}/src"


def sparkctl_bin() -> str:
    here = Path(sys.executable).parent / "sparkctl"
    return str(here) if here.exists() else (shutil.which("sparkctl") or "sparkctl")


def sparkctl(*args: str, timeout: float = 1800, check: bool = True):
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}"}
    started = time.monotonic()
    done = subprocess.run([sparkctl_bin(), *args], capture_output=True, text=True,
                          timeout=timeout, env=env, stdin=subprocess.DEVNULL)
    if check and done.returncode != 0:
        raise SystemExit(f"sparkctl {' '.join(args)} -> {done.returncode}\n"
                         f"{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return done, time.monotonic() - started


def on_node(lab: str, node: str, command: str, timeout: float = 600) -> str:
    done, _ = sparkctl("lab", "ssh", "--name", lab, node, command, timeout=timeout)
    return done.stdout


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def cpu_ticks() -> tuple[int, int]:
    """(busy, total) jiffies of the whole machine: lab nodes, the bench and anyone else."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields) - idle, sum(fields)


def busy_cores(before: tuple[int, int], after: tuple[int, int]) -> float:
    busy, total = after[0] - before[0], after[1] - before[1]
    return busy / total * (os.cpu_count() or 1) if total else 0.0


def inventory(lab: str) -> dict:
    import yaml

    from sparkctl.lab.paths import lab_inventory_path

    return yaml.safe_load(lab_inventory_path(lab).read_text())["all"]["children"]["sparks"]


def clear(lab: str, nodes: list[str], path: str) -> None:
    for node in nodes:
        on_node(lab, node, f"rm -rf {path}")


def generate(lab: str, size_mib: int, files: int) -> None:
    each = size_mib // files
    on_node(lab, "spark-1", f"rm -rf {SRC} && mkdir -p {SRC} && for i in $(seq 1 {files}); "
            f"do head -c {each}M /dev/urandom > {SRC}/model-$i.safetensors; done && "
            f"echo '{{\"model_type\": \"bench\"}}' > {SRC}/config.json", timeout=1800)


def run_sync(lab: str, dest: str, *extra: str) -> dict:
    ticks = cpu_ticks()
    done, wall = sparkctl("sync", "--lab", lab, "--from", "spark-1", SRC, "--to", dest,
                          "--format", "json", "--quiet", *extra, check=False)
    try:
        report = json.loads(done.stdout)
    except ValueError:
        raise SystemExit(f"sync printed no JSON (rc {done.returncode}): "
                         f"{done.stderr[-2000:]}") from None
    if report["verdict"] != "pass":
        raise SystemExit(f"sync failed: {json.dumps(report['nodes'], indent=1)}")
    report["wall_s"] = wall
    report["busy_cores"] = busy_cores(ticks, cpu_ticks())
    return report


RSYNC_LOOP = (
    "import subprocess, sys, time\n"
    "for node in sys.argv[2:]:\n"
    "    started = time.monotonic()\n"
    "    done = subprocess.run(['rsync', '-a', sys.argv[1] + '/', node + ':' + sys.argv[1]"
    " + '-rsync/'])\n"
    "    print('RSYNC', node, time.monotonic() - started, done.returncode, flush=True)\n")


def rsync_baseline(lab: str, others: list[str]) -> dict[str, float]:
    """rsync -a over ssh from spark-1 to each node in turn (the anchors' way), over the data
    rail: `ssh spark-N` resolves to spark-N's first rail address (ssh_mesh role)."""
    import shlex

    out = on_node(lab, "spark-1", f"python3 -c {shlex.quote(RSYNC_LOOP)} {SRC} "
                  + " ".join(others), timeout=3600)
    times = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[0] == "RSYNC" and parts[3] == "0":
            times[parts[1]] = float(parts[2])
    if set(times) != set(others):
        raise SystemExit(f"rsync baseline incomplete: {out[-1000:]}")
    return times


def ssh_per_core(lab: str, size_mib: int = 1024) -> list[str]:
    """Bytes per CPU second through one ssh connection: client and sshd CPU measured."""
    group = inventory(lab)
    host = group["hosts"]["spark-2"]
    key = host["ansible_ssh_private_key_file"]
    known = re.search(r"UserKnownHostsFile=(\S+)", host["ansible_ssh_common_args"]).group(1)
    blob = Path("/dev/shm/sparkctl-bench-ssh")
    with blob.open("wb") as handle:
        handle.truncate(size_mib << 20)  # zeros: ssh does not compress by default
    lines = []
    try:
        for cipher in ("aes128-gcm@openssh.com", "aes256-gcm@openssh.com",
                       "chacha20-poly1305@openssh.com", "aes128-ctr"):
            before = os.times()
            started = time.monotonic()
            with blob.open("rb") as stdin:
                done = subprocess.run(
                    ["ssh", "-c", cipher, "-i", key, "-o", f"UserKnownHostsFile={known}",
                     "-o", "StrictHostKeyChecking=yes", "-o", "IdentitiesOnly=yes",
                     "-o", "BatchMode=yes", f"root@{host['ansible_host']}",
                     "cat >/dev/null; echo TICKS $(cut -d' ' -f14,15 /proc/$PPID/stat) "
                     "$(getconf CLK_TCK)"],
                    stdin=stdin, capture_output=True, text=True, timeout=600)
            wall = time.monotonic() - started
            after = os.times()
            client = (after.children_user - before.children_user
                      + after.children_system - before.children_system)
            ticks = re.search(r"TICKS (\d+) (\d+) (\d+)", done.stdout)
            if not ticks:
                lines.append(f"  ssh {cipher}: no measurement ({done.stderr.strip()[-200:]})")
                continue
            server = (int(ticks.group(1)) + int(ticks.group(2))) / int(ticks.group(3))
            gb = (size_mib << 20) / 1e9
            busier = max(client, server)
            lines.append(f"  ssh {cipher:<30} {gb / busier * 8:5.2f} Gb/s per core "
                         f"(client {client:.2f} CPU s, sshd {server:.2f} CPU s for {gb:.2f} "
                         f"GB; one connection {gb / wall * 8:.2f} Gb/s wall; load {load()})")
    finally:
        blob.unlink(missing_ok=True)
    lines.append(iperf3_line(lab, host["ansible_host"]))
    lines.append(sha256_line(lab))
    return lines


def iperf3_line(lab: str, address: str) -> str:
    server = subprocess.Popen(
        [sparkctl_bin(), "lab", "ssh", "--name", lab, "spark-2",
         "timeout 15 iperf3 -s -1 -B " + address],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(1.0)
        done = subprocess.run(["iperf3", "-c", address, "-t", "4", "-J"], capture_output=True,
                              text=True, timeout=30)
        data = json.loads(done.stdout)
        end = data["end"]
        gbps = end["sum_received"]["bits_per_second"] / 1e9
        cpu = end["cpu_utilization_percent"]
        return (f"  plain TCP (iperf3, 1 stream, same path): {gbps:.2f} Gb/s at "
                f"{cpu['host_total']:.0f} % of a core sending, {cpu['remote_total']:.0f} % "
                f"receiving -> {gbps / max(cpu['host_total'], cpu['remote_total']) * 100:.1f}"
                f" Gb/s per core (load {load()})")
    except (ValueError, KeyError, subprocess.TimeoutExpired) as exc:
        return f"  plain TCP (iperf3): no measurement ({exc})"
    finally:
        server.wait(timeout=20)


def sha256_line(lab: str) -> str:
    out = on_node(lab, "spark-1", "python3 -c \"import hashlib,os,time;b=os.urandom(4<<20);"
                  "t=time.process_time();[hashlib.sha256(b).digest() for _ in range(128)];"
                  "print(512*1.048576/(time.process_time()-t))\"")
    return f"  SHA-256 (python hashlib) on a node: {float(out.strip()) / 1000:.2f} GB/s per core"


class Lines(list):
    """Figures, printed the moment they exist (a later failure keeps the earlier ones)."""

    def append(self, line: str) -> None:
        print(line, flush=True)
        super().append(line)

    def __iadd__(self, more):
        for line in more:
            self.append(line)
        return self


def controller_source(lab: str, nodes: list[str], size_mib: int) -> list[str]:
    """This machine as the source: its data enters spark-1 through SSH (paramiko, one
    channel per stream) and goes on over the rails; the SSH hop sets the pace."""
    local = Path(f"/dev/shm/sparkctl-bench-src-{os.getpid()}")
    local.mkdir()
    try:
        with (local / "weights.bin").open("wb") as handle:
            for _ in range(size_mib):
                handle.write(os.urandom(1 << 20))
        done, _ = sparkctl("sync", "--lab", lab, str(local), "--to", f"{WORK}/ctl",
                           "--format", "json", "--quiet", check=False)
        report = json.loads(done.stdout)
        clear(lab, nodes, f"{WORK}/ctl")
        if report["verdict"] != "pass":
            return [f"  controller as source: failed ({json.dumps(report['nodes'])[:300]})"]
        gbps = report["total_bytes"] * 8 / 1e9 / report["transfer_s"]
        return [f"  controller as source ({size_mib} MiB to {len(nodes)} nodes, first hop over "
                f"SSH): {report['transfer_s']:.2f} s = {gbps:.2f} Gb/s; load {load()}"]
    finally:
        shutil.rmtree(local, ignore_errors=True)


def bench_topology(topology: str, args) -> list[str]:
    from sparkctl.lab import lifecycle
    from sparkctl.topology.builtins import builtin_spec

    name = f"{args.prefix}{topology.replace('switch', 'sw').replace('ring', 'r')}"[:8]
    lifecycle.down(name)
    lines = Lines()
    lines.append(f"{topology} (lab {name}, rails shaped to {args.rate} each, MTU 9000)")
    try:
        lifecycle.up(builtin_spec(topology, None), name=name, rate=args.rate, configured=True,
                     log=lambda _m: None)
        sparkctl("provision", "--lab", name, "--tags", "ssh_mesh")  # rsync needs node ssh
        rate_mbit = float(inventory(name)["vars"]["sparkctl_lab_rate_mbit"])
        nodes = sorted(inventory(name)["hosts"])
        others = [n for n in nodes if n != "spark-1"]
        generate(name, args.size_mib, args.files)
        if args.ssh and topology == args.topologies[0]:
            lines.append("ssh and plain TCP per core (management link, unshaped):")
            lines += ssh_per_core(name)
        ones, alls, rsyncs = [], [], []
        for attempt in range(args.repeat):
            clear(name, others, WORK + "/one")
            one = run_sync(name, f"{WORK}/one", "--nodes", "spark-2")
            clear(name, others, WORK + "/one")
            all_ = run_sync(name, f"{WORK}/all")
            clear(name, others, WORK + "/all")
            rs = rsync_baseline(name, others)
            clear(name, others, SRC + "-rsync")
            ones.append(one)
            alls.append(all_)
            rsyncs.append(rs)
            rails = len(next(iter(all_["transport"]["rails"].values())))
            ceiling = rate_mbit * rails / 1000
            size_gb = all_["total_bytes"] * 8 / 1e9
            rate = size_gb / all_["transfer_s"]
            lines.append(
                f"  run {attempt + 1}: one transfer {one['transfer_s']:.2f} s; all "
                f"{len(others)} nodes {all_['transfer_s']:.2f} s "
                f"({all_['transfer_s'] / one['transfer_s']:.2f}x one); {rate:.2f} Gb/s = "
                f"{rate / ceiling * 100:.0f} % of the {ceiling:.1f} Gb/s "
                f"of {rails} rails; sequential rsync over ssh {sum(rs.values()):.1f} s "
                f"({', '.join(f'{n} {t:.1f}' for n, t in rs.items())}); load {load()}")
            lines.append(f"    CPU busy during the sync: one transfer {one['busy_cores']:.2f}, all "
                         f"nodes {all_['busy_cores']:.2f} of {os.cpu_count()} cores "
                         "(whole machine)")
            chain = " | ".join(" -> ".join(c) for c in all_["transport"]["chain"])
            lines.append(f"    data path {chain}; "
                         f"{all_['transport']['streams']} streams; per node "
                         + ", ".join(f"{n['node']} {n['seconds']:.2f} s"
                                     for n in all_["nodes"]))
        if topology == args.topologies[0]:
            lines += controller_source(name, others + ["spark-1"], min(args.size_mib, 512))
        if args.repeat > 1:
            ratio = statistics.median(a["transfer_s"] / o["transfer_s"]
                                      for a, o in zip(alls, ones, strict=True))
            lines.append(f"  median all/one {ratio:.2f}x over {args.repeat} runs")
    finally:
        if not args.keep:
            lifecycle.down(name)
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=2048)
    parser.add_argument("--files", type=int, default=8)
    parser.add_argument("--rate", default="2gbit", help="tc rate of every lab rail")
    parser.add_argument("--topologies", default="switch4,ring3")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--prefix", default="usb", help="lab name prefix")
    parser.add_argument("--no-ssh", dest="ssh", action="store_false",
                        help="skip the ssh per-core measurement")
    parser.add_argument("--keep", action="store_true", help="leave the labs up")
    args = parser.parse_args()
    args.topologies = args.topologies.split(",")
    if os.geteuid() != 0:
        raise SystemExit("bench_sync needs root (it brings labs up)")
    available = int(re.search(r"MemAvailable:\s+(\d+)", Path("/proc/meminfo").read_text())
                    .group(1)) * 1024
    needed = (args.size_mib << 20) * 5  # source + the widest fan-out (3 copies) + slack
    if available < needed:
        raise SystemExit(f"needs ~{needed >> 30} GiB of free memory for tmpfs copies, "
                         f"{available >> 30} GiB available; lower --size-mib")
    print(f"bench_sync: {args.size_mib} MiB in {args.files} files, load {load()}")
    for topology in args.topologies:
        bench_topology(topology, args)


if __name__ == "__main__":
    main()
