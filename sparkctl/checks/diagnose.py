"""The judges, under the import path their callers use (`from sparkctl.checks import diagnose`).

The judging code lives by domain in `sparkctl.checks.judge`: `links` (speed, FEC, RDMA ports,
PCIe, firmware), `rails` (per-rail bandwidth, throttle signature, perftest/iperf3 errors),
`collective` (busbw, corruption, the NCCL version for rings), `counters` (PAM4-aware error
counters and deltas), `gpu` (nvidia-smi and its failures) and `logs` (NCCL and launcher
error lines, by layer). This module only re-exports them.
"""

from __future__ import annotations

from sparkctl.checks import thresholds as T
from sparkctl.checks.judge.base import (
    Judgement,
    Signature,
    first_signature,
    hardware_twin,
    incomplete,
    worst,
)
from sparkctl.checks.judge.collective import (
    RING_MIN_NCCL,
    judge_busbw,
    judge_corruption,
    judge_nccl_for_ring,
    judge_saturation,
    nccl_version_tuple,
    ring_version_note,
    saturated_busbw,
)
from sparkctl.checks.judge.counters import (
    DISCARDS,
    POST_FEC_ERRORS,
    ROCE_ERRORS,
    CounterDelta,
    counter_delta,
    judge_counter_delta,
    judge_counter_snapshot,
    judge_counters,
)
from sparkctl.checks.judge.gpu import (
    classify_nvidia_smi_failure,
    judge_gpus,
    judge_nvidia_smi_failure,
)
from sparkctl.checks.judge.links import (
    PcieLink,
    PortState,
    judge_fec,
    judge_firmware,
    judge_link_speed,
    judge_pcie_links,
    judge_rdma_ports,
)
from sparkctl.checks.judge.logs import judge_nccl_errors, judge_nccl_network
from sparkctl.checks.judge.rails import (
    WC_STATUS,
    judge_iperf3_errors,
    judge_perftest_errors,
    judge_rail_bandwidth,
    judge_rail_message_size,
    judge_rail_throttle,
    judge_udp_loss,
)
from sparkctl.checks.result import CheckResult, Scalar, Verdict

# Every counter the judges count as trouble, for callers that list them.
ERROR_COUNTERS = POST_FEC_ERRORS + DISCARDS + ROCE_ERRORS
_first_signature = first_signature  # the name the first wave used

__all__ = [
    "DISCARDS", "ERROR_COUNTERS", "POST_FEC_ERRORS", "RING_MIN_NCCL", "ROCE_ERRORS",
    "WC_STATUS", "CheckResult", "CounterDelta", "Judgement", "PcieLink", "PortState", "Scalar",
    "Signature", "T", "Verdict", "classify_nvidia_smi_failure", "counter_delta",
    "first_signature", "hardware_twin", "incomplete", "judge_busbw", "judge_corruption",
    "judge_counter_delta", "judge_counter_snapshot", "judge_counters", "judge_fec",
    "judge_firmware", "judge_gpus", "judge_iperf3_errors", "judge_link_speed",
    "judge_nccl_errors", "judge_nccl_for_ring", "judge_nccl_network", "judge_nvidia_smi_failure",
    "judge_pcie_links", "judge_perftest_errors", "judge_rail_bandwidth",
    "judge_rail_message_size", "judge_rail_throttle", "judge_rdma_ports", "judge_saturation",
    "judge_udp_loss", "nccl_version_tuple", "ring_version_note", "saturated_busbw", "worst",
]
