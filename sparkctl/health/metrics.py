"""The Prometheus metrics sparkctl exports: one table, read by the exporter, the README's
metric list and the tests that hold the shipped alert rules and dashboard to it.

History keeps its own metric names (`rail_bandwidth_gbps`, ...: the regression checks and
existing databases are keyed by them); Prometheus gets names in base units, per the
Prometheus naming conventions (https://prometheus.io/docs/practices/naming/): bytes per second
(for bits too: "always use bytes", and promtool rejects `_bits`), hertz, seconds, bytes,
ratios 0-1; counters end in `_total`; a state is a value (`sparkctl_check_status`), never a
label that changes with it.
"""

from __future__ import annotations

from dataclasses import dataclass

PREFIX = "sparkctl_"


@dataclass(frozen=True)
class MetricDef:
    name: str  # full Prometheus name
    type: str  # gauge or counter
    help: str
    labels: tuple[str, ...]  # besides `cluster`, which every series has
    source: str | None = None  # the history sample metric it comes from (None: derived)
    scale: float = 1.0  # Prometheus value = sample value * scale


_DEFS = (
    MetricDef("sparkctl_cluster_info", "gauge",
              "Always 1; labels name the cluster's target and platform", ("target", "platform")),
    MetricDef("sparkctl_node_up", "gauge", "1 if the node answered over SSH within the budget",
              ("node",), "node_up"),
    MetricDef("sparkctl_rail_up", "gauge", "1 if the rail netdev exists and has carrier",
              ("node", "iface"), "rail_up"),
    MetricDef("sparkctl_rail_speed_bytes_per_second", "gauge",
              "Link speed the rail netdev reports", ("node", "iface"), "rail_speed_mbps", 1e6 / 8),
    MetricDef("sparkctl_rail_mtu_bytes", "gauge", "MTU of the rail netdev", ("node", "iface"),
              "rail_mtu_bytes"),
    MetricDef("sparkctl_rail_bandwidth_bytes_per_second", "gauge",
              "Bounded probe bandwidth of one rail test (sender node/iface to peer/peer_iface); "
              "absent when the test failed", ("node", "iface", "peer", "peer_iface"),
              "rail_bandwidth_gbps", 1e9 / 8),
    MetricDef("sparkctl_rail_bandwidth_up", "gauge",
              "1 if the rail test produced a figure, 0 if it failed",
              ("node", "iface", "peer", "peer_iface")),
    MetricDef("sparkctl_rail_bandwidth_floor_bytes_per_second", "gauge",
              "The pass threshold rail tests are judged against on this platform", ()),
    MetricDef("sparkctl_collective_busbw_bytes_per_second", "gauge",
              "Collective bus bandwidth (nccl-tests busbw) from validate runs",
              ("collective",), "collective_busbw_gbps", 1e9),
    MetricDef("sparkctl_collective_busbw_up", "gauge",
              "1 if the collective produced a busbw, 0 if it failed", ("collective",)),
    MetricDef("sparkctl_rdma_port_errors_total", "counter",
              "RDMA port error counter as the HCA reports it (resets at reboot)",
              ("node", "device", "counter"), "rdma_counter"),
    MetricDef("sparkctl_rdma_port_errors_since_last_run", "gauge",
              "Increase of an RDMA port error counter since the previous health run",
              ("node", "device", "counter"), "rdma_counter_delta"),
    MetricDef("sparkctl_gpu_temperature_celsius", "gauge", "GPU temperature", ("node", "gpu"),
              "gpu_temperature_celsius"),
    MetricDef("sparkctl_gpu_power_watts", "gauge", "GPU power draw", ("node", "gpu"),
              "gpu_power_watts"),
    MetricDef("sparkctl_gpu_ecc_uncorrected_errors_total", "counter",
              "Uncorrectable volatile ECC errors since the driver loaded", ("node", "gpu"),
              "gpu_ecc_uncorrected_errors"),
    MetricDef("sparkctl_gpu_sm_clock_hertz", "gauge", "Current SM clock", ("node", "gpu"),
              "gpu_sm_clock_mhz", 1e6),
    MetricDef("sparkctl_gpu_throttle_reasons", "gauge",
              "Active clock event reasons (nvidia-smi bitmask)", ("node", "gpu"),
              "gpu_throttle_reasons"),
    MetricDef("sparkctl_disk_used_ratio", "gauge", "Used fraction of the filesystem (0-1)",
              ("node", "mount"), "disk_used_ratio"),
    MetricDef("sparkctl_memory_available_ratio", "gauge", "MemAvailable / MemTotal (0-1)",
              ("node",), "memory_available_ratio"),
    MetricDef("sparkctl_memory_pressure_full_10s_ratio", "gauge",
              "PSI memory 'full' avg10: fraction of the last 10 s all tasks stalled on memory",
              ("node",), "memory_pressure_full_avg10", 0.01),
    MetricDef("sparkctl_drift_ok", "gauge",
              "1 if the file on the node matches what provisioning wrote", ("node", "file"),
              "drift_ok"),
    MetricDef("sparkctl_check_ok", "gauge",
              "1 if the check passed (or is info), 0 if degraded, failed or skipped",
              ("check", "subject")),
    MetricDef("sparkctl_check_status", "gauge",
              "Verdict of the check: 0 pass or info, 1 degraded, 2 fail, 3 skipped (not measured)",
              ("check", "subject")),
    MetricDef("sparkctl_check_not_applicable", "gauge",
              "1 for a check that does not apply on this platform", ("check", "subject")),
    MetricDef("sparkctl_health_status", "gauge",
              "Overall verdict: 0 pass, 1 degraded, 2 fail, 3 skipped (nothing judged)", ()),
    MetricDef("sparkctl_health_ok", "gauge", "1 if the overall verdict is pass", ()),
    MetricDef("sparkctl_last_run_timestamp_seconds", "gauge",
              "When the last health run finished (Unix time)", ()),
    MetricDef("sparkctl_last_run_duration_seconds", "gauge", "How long the last health run took",
              ()),
)

METRICS: dict[str, MetricDef] = {m.name: m for m in _DEFS}
BY_SOURCE: dict[str, MetricDef] = {m.source: m for m in _DEFS if m.source}
# Measurements that can fail: a `_up` series says whether they produced a value.
UP_OF: dict[str, str] = {"rail_bandwidth_gbps": "sparkctl_rail_bandwidth_up",
                         "collective_busbw_gbps": "sparkctl_collective_busbw_up"}
STATUS_CODE = {"pass": 0, "info": 0, "degraded": 1, "fail": 2, "skipped": 3}


def emitted_names() -> set[str]:
    """Every metric name sparkctl writes (what rules and dashboards may reference)."""
    return set(METRICS)


def markdown_table() -> str:
    """The README's metric list."""
    lines = ["| metric | type | labels (and `cluster`) | meaning |", "|---|---|---|---|"]
    for m in _DEFS:
        labels = ", ".join(f"`{x}`" for x in m.labels) or "-"
        lines.append(f"| `{m.name}` | {m.type} | {labels} | {m.help} |")
    return "\n".join(lines) + "\n"
