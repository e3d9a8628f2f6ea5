"""Link and RDMA counters: what counts trouble, what is normal on 200G PAM4, and deltas.

On 200G PAM4 links FEC corrects bit errors all the time: `rx_corrected_bits_phy` and the
per-lane `rx_err_lane_N_phy` grow on healthy links, and `link_down_events_phy` counts every
peer reboot or replug (facts/dgx-spark.md, corrections). What FEC could not correct (symbol,
PCS and CRC errors), discards and `rx_out_of_buffer` are trouble, and RoCE transport errors
live in /sys/class/infiniband/<hca>/ports/1/hw_counters/. All of them say something only as
deltas over a window: a since-boot total may be years old.

A counter that was not in both snapshots has no delta and is never reported as zero.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sparkctl.checks.judge.base import Judgement, incomplete
from sparkctl.checks.result import Verdict

# Errors FEC did not correct: frames lost or corrupted on the wire.
POST_FEC_ERRORS = ("rx_pcs_symbol_err_phy", "rx_symbol_err_phy", "rx_crc_errors_phy",
                   "rx_symbol_errors_phy", "symbol_error", "port_rcv_errors",
                   "fec_uncorrectable_blocks", "rx_fec_uncorrectable_errors")
# Drops: buffers overflowed or the NIC could not take the packet.
DISCARDS = ("rx_discards_phy", "tx_discards_phy", "rx_out_of_buffer", "port_xmit_discards",
            "rx_buff_alloc_err", "rx_wqe_err", "rx_oversize_pkts_sw_drop", "rx_xdp_tx_err",
            "tx_pause_storm_error_events")
PCIE_ERRORS = ("rx_pci_signal_integrity", "tx_pci_signal_integrity")
# RoCE transport errors (hw_counters): retransmissions, sequence errors, lost ACKs.
ROCE_ERRORS = ("out_of_sequence", "packet_seq_err", "local_ack_timeout_err",
               "rnr_nak_retry_err", "out_of_buffer", "implied_nak_seq_err",
               "req_transport_retries_exceeded", "duplicate_request", "req_cqe_error",
               "resp_cqe_error", "resp_local_length_error", "req_remote_access_errors",
               "resp_remote_access_errors", "req_remote_invalid_request", "rx_icrc_encapsulated")
# Normal on PAM4 links, or events rather than errors: shown, never judged.
_NORMAL = re.compile(r"^(?:rx_corrected_bits_phy|rx_err_lane_\d+_phy|rx_fec_corrected\w*|"
                     r"fec_corrected\w*|link_down_events_phy|link_downed|"
                     r"link_error_recovery|np_cnp_sent|rp_cnp_handled|rp_cnp_ignored|"
                     r"np_ecn_marked_roce_packets|resp_cqe_flush_error|req_cqe_flush_error)$")
_PRIO_DISCARDS = re.compile(r"^rx_prio\d+_discards$")

_KINDS = (
    ("post-FEC", POST_FEC_ERRORS,
     "the physical link loses frames FEC could not correct (cable, transceiver, or FEC "
     "mismatch between the ends)",
     "Reseat or replace the cable, check FEC is RS on both ends (ethtool --show-fec), and "
     "watch whether the counters keep growing."),
    ("RoCE transport", ROCE_ERRORS,
     "RDMA had to retransmit or lost acknowledgements (drops somewhere on the path, or "
     "mismatched PFC/ECN)",
     "Compare drops on both ends and the switch port; enable PFC/ECN for RoCE (mlnx_qos "
     "--trust dscp --pfc 0,0,0,1,0,0,0,0) and keep MTU equal end to end."),
    ("discard", DISCARDS,
     "the NIC dropped packets because receive buffers overflowed (congestion or a receiver "
     "that cannot keep up)",
     "Enable PFC/ECN for RoCE traffic (mlnx_qos --trust dscp --pfc 0,0,0,1,0,0,0,0) or "
     "reduce the offered load; watch whether the counters grow."),
    ("PCIe", PCIE_ERRORS,
     "the PCIe link between NIC and host reported signal-integrity events",
     "Watch whether the counter grows; persistent growth needs a hardware check."),
)


def classify(name: str) -> str | None:
    """"post-FEC", "RoCE transport", "discard", "PCIe", "normal" or None (not an error).

    A name may carry its device ("mlx5_0/1:out_of_buffer"); the counter's own name decides.
    """
    name = name.rsplit(":", 1)[-1]
    if _NORMAL.match(name):
        return "normal"
    if _PRIO_DISCARDS.match(name):
        return "discard"
    for kind, names, _, _ in _KINDS:
        if name in names:
            return kind
    return None


def judged(counters: Mapping[str, int]) -> dict[str, int]:
    """The counters that count trouble (not the PAM4-normal ones, not traffic)."""
    return {k: v for k, v in counters.items() if classify(k) not in (None, "normal")}


def judge_counters(counters: Mapping[str, int]) -> Judgement:
    """Judge counter values that are already deltas over a window (any increase is trouble).

    FEC-corrected bits, per-lane corrected errors and link-down events are reported but never
    fail: they grow on healthy 200G PAM4 links and with every peer reboot.
    """
    watched = judged(counters)
    normal = {k: v for k, v in counters.items() if classify(k) == "normal" and v}
    note = _normal_note(normal)
    if not watched:
        return Judgement(None, "None of the counters shown count errors or discards"
                               + (f" ({note})" if note else "") + ".")
    bad = {k: v for k, v in watched.items() if v > 0}
    if not bad:
        return Judgement(Verdict.PASS, f"All {len(watched)} error/discard counters are 0"
                                       + (f"; {note}" if note else "") + ".",
                         measured=0, expected=0, unit="errors")
    top = ", ".join(f"{k}={v}" for k, v in sorted(bad.items(), key=lambda kv: -kv[1])[:3])
    for kind, _names, cause, hint in _KINDS:
        if any(classify(k) == kind for k in bad):
            return Judgement(Verdict.DEGRADED, f"{kind} error counters grew ({top}): {cause}.",
                             hint, measured=sum(bad.values()), expected=0, unit="errors")
    raise AssertionError("every judged counter has a kind")


def _normal_note(normal: Mapping[str, int]) -> str:
    if not normal:
        return ""
    shown = ", ".join(f"{k}={v}" for k, v in sorted(normal.items())[:3])
    return (f"{shown} are FEC corrections or link events, normal on 200G PAM4 links and "
            "after peer reboots")


def judge_counter_snapshot(counters: Mapping[str, int]) -> Judgement:
    """One since-boot snapshot: zero error counters pass; non-zero ones need a second one."""
    watched = judged(counters)
    normal = {k: v for k, v in counters.items() if classify(k) == "normal" and v}
    note = _normal_note(normal)
    if not watched:
        return Judgement(None, "no error or discard counter is shown"
                               + (f"; {note}" if note else "") + ".")
    bad = {k: v for k, v in watched.items() if v > 0}
    if not bad:
        return Judgement(Verdict.PASS, f"All {len(watched)} error/discard counters are 0 since "
                                       "the counters were last reset"
                                       + (f"; {note}" if note else "") + ".",
                         measured=0, expected=0, unit="errors")
    top = ", ".join(f"{k}={v}" for k, v in sorted(bad.items(), key=lambda kv: -kv[1])[:3])
    return incomplete(
        f"since-boot totals {top}: one snapshot cannot tell whether they still grow (they may "
        "date from a recabling or a reboot long ago), so they are not judged.",
        missing="a second snapshot of the same counters after a test, to judge the deltas",
        hint="Save `ethtool -S IF` (or the hw_counters) before and after a bandwidth test in "
             "one file; analyze judges the difference.")


@dataclass(frozen=True)
class CounterDelta:
    """What changed between two snapshots of one device's counters."""

    deltas: dict[str, int]
    reset: list[str] = field(default_factory=list)  # went down: counted since the reset
    unseen: list[str] = field(default_factory=list)  # in only one snapshot: no delta at all

    def metrics(self) -> dict[str, Any]:
        return {"deltas": dict(self.deltas), "reset": list(self.reset),
                "unseen": list(self.unseen)}


def counter_delta(before: Mapping[str, int], after: Mapping[str, int]) -> CounterDelta:
    """Deltas of the counters present in both snapshots.

    A counter that went down was reset (driver reload, reboot): what it counts now happened
    since then, so its new value is the delta (a lower bound of the window's errors). A
    counter missing from either snapshot is listed as unseen, never given a delta of 0.
    """
    deltas: dict[str, int] = {}
    reset: list[str] = []
    for name in sorted(set(before) & set(after)):
        if after[name] < before[name]:
            reset.append(name)
            deltas[name] = after[name]
        else:
            deltas[name] = after[name] - before[name]
    unseen = sorted(set(before) ^ set(after))
    return CounterDelta(deltas=deltas, reset=reset, unseen=unseen)


def judge_counter_delta(delta: CounterDelta, *, window: str | None = None) -> Judgement:
    judged_delta = judge_counters(delta.deltas)
    extra = []
    if delta.unseen:
        extra.append(f"{len(delta.unseen)} counter(s) in only one snapshot, not judged "
                     f"({', '.join(delta.unseen[:3])})")
    if delta.reset:
        extra.append(f"{', '.join(delta.reset[:3])} reset in between (counted since the reset)")
    where = f" over {window}" if window else " between the two snapshots"
    diagnosis = judged_delta.diagnosis.rstrip(".") + where + "."
    if extra:
        diagnosis += " " + "; ".join(extra) + "."
    return Judgement(judged_delta.verdict, diagnosis, judged_delta.hint,
                     measured=judged_delta.measured, expected=judged_delta.expected,
                     unit=judged_delta.unit)
