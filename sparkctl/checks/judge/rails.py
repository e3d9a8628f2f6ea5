"""Rails: per-rail RDMA bandwidth (ib_write_bw and siblings), its failure signatures, iperf3.

A rail is one twin of a QSFP port: one PCIe Gen5 x4 link, ~92-97 Gb/s with ib_write_bw.
"""

from __future__ import annotations

import re

from sparkctl.checks import thresholds as T
from sparkctl.checks.judge.base import (
    Judgement,
    Measurement,
    Signature,
    first_signature,
    incomplete,
)
from sparkctl.checks.result import Verdict

# The CX-7 power-throttle signature: Ethernet at 200G and PCIe at Gen5 x4, yet TCP and RDMA
# capped near 13 Gb/s (NVIDIA/dgx-spark-playbooks PR#108 returns its own status for a rail
# measuring 8-25 Gb/s with healthy link and PCIe; facts/dgx-spark.md, corrections).
THROTTLE_BAND_GBPS = (8.0, 25.0)
THROTTLE_SOURCE = "NVIDIA/dgx-spark-playbooks PR#108 (check-connectx-bandwidth)"
# Below this message size ib_write_bw measures message rate, not a rail's bandwidth (perftest's
# default size is 65536 B; NVIDIA's guide measures 92.57/97.28 Gb/s with it).
MIN_RAIL_MESSAGE_BYTES = 65536
# UDP iperf3: a receiver that lost more than this share of the datagrams did not carry the
# rate the sender offered.
UDP_LOSS_MAX_PCT = 1.0


def judge_rail_bandwidth(measured_Gbps: float,
                         expectation: T.Expectation = T.RAIL_BANDWIDTH, *,
                         link_speed_mbps: int | None = None,
                         pcie_width: int | None = None) -> Judgement:
    exp = expectation
    base: Measurement = dict(measured=round(measured_Gbps, 2), expected=exp.minimum, unit=exp.unit)
    got = f"{measured_Gbps:.2f} Gb/s"
    if measured_Gbps >= exp.minimum:
        return Judgement(Verdict.PASS, f"{got} >= {exp.minimum:g} Gb/s per rail ({exp.source}).",
                         **base)
    throttle = judge_rail_throttle(measured_Gbps, link_speed_mbps, pcie_width,
                                   expectation=exp)
    if throttle is not None:
        return throttle
    ratio = measured_Gbps / exp.minimum
    if ratio >= T.RAIL_FAR_BELOW:
        return Judgement(
            Verdict.DEGRADED,
            f"{got} is {ratio:.0%} of the {exp.minimum:g} Gb/s a rail carries: the link runs "
            "below its rate (100G autonegotiation, MTU, or a contended rail).",
            "Check ethtool shows 200000Mb/s on both ends, the same MTU end to end, and that no "
            "other traffic shares the rail during the test.", **base)
    return Judgement(
        Verdict.FAIL,
        f"{got} is far below {exp.minimum:g} Gb/s: the signature of a degraded NIC path "
        "(ethtool may still say 200000Mb/s while RDMA moves ~13 Gb/s).",
        "Update the CX-7 driver/firmware (DGX OS updates), reseat the cable, and recheck per "
        "rail with ib_write_bw --report_gbits.", **base)


def judge_rail_throttle(measured_Gbps: float, link_speed_mbps: int | None,
                        pcie_width: int | None = None, *,
                        expectation: T.Expectation = T.RAIL_BANDWIDTH) -> Judgement | None:
    """The CX-7 power-throttle signature, or None when the measurement is not in its band.

    Its own diagnosis: a link that says 200000Mb/s and a rail that moves 8-25 Gb/s is not a
    cable or MTU problem (those give 40-90 Gb/s or no link); updating the driver stack and a
    full power cycle of both nodes is what recovers it.
    """
    low, high = THROTTLE_BAND_GBPS
    if not low <= measured_Gbps <= high:
        return None
    if link_speed_mbps is not None and link_speed_mbps < 200_000:
        return None  # a slow link explains a slow rail
    if pcie_width is not None and pcie_width < 4:
        return None  # the PCIe link explains it (see links.judge_pcie_link)
    known = ("the link reports 200000Mb/s" if link_speed_mbps
             else "if ethtool reports 200000Mb/s on this port")
    return Judgement(
        Verdict.FAIL,
        f"{measured_Gbps:.2f} Gb/s on one rail while {known}: the ConnectX-7 power-throttle "
        f"signature ({low:g}-{high:g} Gb/s with a healthy 200G link and PCIe Gen5 x4; "
        f"{THROTTLE_SOURCE}).",
        "Update the DGX OS driver stack (sudo apt update && sudo apt full-upgrade), then power "
        "both nodes off and on together; recheck each rail with ib_write_bw --report_gbits.",
        measured=round(measured_Gbps, 2), expected=expectation.minimum, unit=expectation.unit)


def judge_rail_message_size(size_bytes: int) -> Judgement | None:
    """None when the message size can show a rail's bandwidth; otherwise why it cannot."""
    if size_bytes >= MIN_RAIL_MESSAGE_BYTES:
        return None
    return incomplete(
        f"the largest message is {size_bytes} B: at that size ib_write_bw measures the message "
        "rate, not the bandwidth a rail carries, so it is not judged.",
        missing=f"a result row at {MIN_RAIL_MESSAGE_BYTES} B or more",
        hint="Rerun without -s (default 65536 B) or with -a.")


def judge_udp_loss(lost_pct: float | None, receiver_Gbps: float | None) -> Judgement | None:
    """A UDP test is judged on what arrived: loss above 1% fails whatever the sender sent."""
    if lost_pct is None:
        return None
    if lost_pct > UDP_LOSS_MAX_PCT:
        rate = f" (receiver {receiver_Gbps} Gb/s)" if receiver_Gbps is not None else ""
        return Judgement(Verdict.FAIL,
                         f"UDP test lost {lost_pct:g}% of its datagrams{rate}: the sender's rate "
                         "did not reach the receiver.",
                         "Lower -b to what the path carries, check MTU and drops on both ends "
                         "(ethtool -S deltas), and judge the receiver's rate.",
                         measured=lost_pct, expected=UDP_LOSS_MAX_PCT, unit="%")
    return None


# ibv_wc_status values perftest prints as "Failed status N" (infiniband/verbs.h).
WC_STATUS = {4: "IBV_WC_LOC_PROT_ERR", 5: "IBV_WC_WR_FLUSH_ERR", 10: "IBV_WC_REM_ACCESS_ERR",
             12: "IBV_WC_RETRY_EXC_ERR", 13: "IBV_WC_RNR_RETRY_EXC_ERR"}

_PERFTEST_ERRORS: tuple[Signature, ...] = (
    (re.compile(r"Did not detect devices|Unable to find the Infiniband/RoCE device|"
                r"IB device \S+ not found"),
     "perftest sees no RDMA device (driver not loaded, container without /dev/infiniband, or "
     "userspace rdma-core too old for the kernel)",
     "Run ibv_devinfo on the same host/container; pass --device /dev/infiniband and use a "
     "current rdma-core."),
    (re.compile(r"Failed status 12"),
     "RDMA transport retries ran out (IBV_WC_RETRY_EXC_ERR): packets to the peer are lost or "
     "the peer is unreachable on that GID",
     "Check GID index (-x 3 for RoCEv2 IPv4), that the peer address is on this rail's subnet, "
     "MTU on both ends and switch QoS/PFC."),
    (re.compile(r"Completion with error|Failed status \d+"),
     "an RDMA operation completed with an error",
     "Check GID index, MTU and switch QoS on both ends; the status number names the cause."),
    (re.compile(r"Couldn't read remote address|Unable to read to socket/rdma_cm|"
                r"Failed to exchange data|Couldn't connect to|Unable to init the socket"),
     "client and server could not exchange connection data over TCP (server not started, wrong "
     "port/IP, or a firewall)",
     "Start the server first with the same options, use the same -p port on both, and allow it "
     "through the firewall."),
    (re.compile(r"Failed to modify QP|Unable to Connect the HCA's"),
     "the queue pair could not be brought up (wrong GID index, or the peer is not reachable on "
     "that rail)",
     "Use GID index 3 for RoCEv2 IPv4 and the peer's address on the same rail's subnet."),
)


def judge_perftest_errors(errors: list[str]) -> Judgement:
    return first_signature(errors, _PERFTEST_ERRORS, "perftest failed",
                            "Read perftest's first error line on both client and server.")


def judge_iperf3_errors(errors: list[str]) -> Judgement:
    text = "\n".join(errors)
    if re.search(r"Connection refused", text):
        cause = "nothing accepted the connection: no iperf3 server on that address/port, or a " \
                "firewall rejects it"
        hint = "Start `iperf3 -s` on the peer and allow TCP 5201 (or your -p) in its firewall."
    elif re.search(r"control socket has closed unexpectedly", text):
        cause = "the server closed the control connection (busy with another client, killed, " \
                "or not an iperf3 server)"
        hint = "Run one client at a time against a real `iperf3 -s` and check the server log."
    elif re.search(r"No route to host|timed out|Connection timed out", text):
        cause = "the peer is unreachable (no route, or packets silently dropped)"
        hint = "Check addresses and routes per rail, and firewalls that drop rather than reject."
    else:
        cause = errors[0] if errors else "unknown error"
        hint = "Read iperf3's error on both client and server."
    return Judgement(Verdict.FAIL, f"iperf3 failed: {cause}.", hint,
                     measured=len(errors), expected=0, unit="errors")
