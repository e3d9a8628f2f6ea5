"""Disk and memory pressure of one node, from `df -P -k` and /proc/meminfo (+ PSI)."""

from __future__ import annotations

from dataclasses import dataclass

from sparkctl.checks.result import CheckResult, Verdict
from sparkctl.health.findings import Findings
from sparkctl.health.samples import Sample

# A full root or /var breaks logging, apt and container pulls; nccl-tests' 16 GB buffers can
# OOM-freeze a unified-memory node (facts/dgx-spark.md), so low memory is worth a warning.
DISK_DEGRADED_PCT = 85.0
DISK_FAIL_PCT = 95.0
MEM_AVAILABLE_DEGRADED_PCT = 10.0
MEM_AVAILABLE_FAIL_PCT = 3.0
PSI_FULL_AVG10_DEGRADED = 10.0  # % of the last 10 s every task stalled on memory


@dataclass(frozen=True)
class DiskUse:
    mount: str
    used_pct: float
    available_kib: int


def parse_df(lines: list[str]) -> list[DiskUse]:
    """`df -P -k` rows, one per mount point (a directory on its parent's filesystem shows once)."""
    found: list[DiskUse] = []
    for line in lines[1:] if lines and lines[0].startswith("Filesystem") else lines:
        parts = line.split()
        if len(parts) < 6 or not parts[4].endswith("%"):
            continue
        if any(d.mount == parts[5] for d in found):
            continue  # /var on the root filesystem is listed under "/" again
        try:
            found.append(DiskUse(parts[5], float(parts[4].rstrip("%")), int(parts[3])))
        except ValueError:
            continue
    return found


def parse_meminfo(lines: list[str]) -> dict[str, int]:
    values = {}
    for line in lines:
        key, _, rest = line.partition(":")
        parts = rest.split()
        if parts and parts[0].isdigit():
            values[key.strip()] = int(parts[0])
    return values


def parse_psi_full_avg10(lines: list[str]) -> float | None:
    for line in lines:
        if line.startswith("full"):
            for word in line.split()[1:]:
                key, _, value = word.partition("=")
                if key == "avg10":
                    try:
                        return float(value)
                    except ValueError:
                        return None
    return None


def judge_disks(node: str, disks: list[DiskUse]) -> Findings:
    out = Findings()
    if not disks:
        out.checks.append(CheckResult(
            "host.disk", "host", node, Verdict.FAIL, diagnosis="df printed no usable rows.",
            hint="Run `df -P -k /` on the node; a hung NFS mount can also cause this."))
        return out
    for disk in disks:
        subject = f"{node}:{disk.mount}"
        out.samples.append(Sample("disk_used_ratio", disk.used_pct / 100,
                                  {"node": node, "mount": disk.mount}))
        if disk.used_pct >= DISK_FAIL_PCT:
            verdict, why = Verdict.FAIL, "is nearly full"
        elif disk.used_pct >= DISK_DEGRADED_PCT:
            verdict, why = Verdict.DEGRADED, "is filling up"
        else:
            verdict, why = Verdict.PASS, "has room"
        out.checks.append(CheckResult(
            "host.disk", "host", subject, verdict, measured=disk.used_pct,
            expected=f"<{DISK_DEGRADED_PCT:g}", unit="%",
            diagnosis=f"{disk.mount} is {disk.used_pct:g}% used and {why} "
                      f"({disk.available_kib // 1024} MiB free).",
            hint=None if verdict is Verdict.PASS else
            "Free space: old containers/images (docker system prune), model caches, logs."))
    return out


def judge_memory(node: str, meminfo: dict[str, int], psi_full_avg10: float | None) -> Findings:
    out = Findings()
    total, available = meminfo.get("MemTotal"), meminfo.get("MemAvailable")
    if not total or available is None:
        out.checks.append(CheckResult(
            "host.memory", "host", node, Verdict.FAIL,
            diagnosis="/proc/meminfo lacks MemTotal/MemAvailable.", hint="Check the node."))
        return out
    pct = available / total * 100
    out.samples.append(Sample("memory_available_ratio", available / total, {"node": node}))
    if psi_full_avg10 is not None:
        out.samples.append(Sample("memory_pressure_full_avg10", psi_full_avg10, {"node": node}))
    if pct < MEM_AVAILABLE_FAIL_PCT:
        verdict, why = Verdict.FAIL, "the node is about to swap or OOM-kill"
    elif pct < MEM_AVAILABLE_DEGRADED_PCT:
        verdict, why = Verdict.DEGRADED, "little headroom for a model or a test buffer"
    elif psi_full_avg10 is not None and psi_full_avg10 >= PSI_FULL_AVG10_DEGRADED:
        verdict, why = Verdict.DEGRADED, (f"tasks stalled on memory {psi_full_avg10:g}% of the "
                                          "last 10 s (PSI)")
    else:
        verdict, why = Verdict.PASS, "enough headroom"
    out.checks.append(CheckResult(
        "host.memory", "host", node, verdict, measured=round(pct, 1),
        expected=f">={MEM_AVAILABLE_DEGRADED_PCT:g}", unit="% available",
        diagnosis=f"{available // 1024} of {total // 1024} MiB available ({pct:.1f}%): {why}.",
        hint=None if verdict is Verdict.PASS else
        "Find the largest consumers (ps aux --sort=-rss | head); on GB10 GPU and CPU share "
        "this memory, so a loaded model counts here."))
    return out
