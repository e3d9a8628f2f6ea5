"""Pure judging: numbers (and the few strings tools print) in, verdict + diagnosis + hint out.

Each function returns a `Judgement`; `validate` and `health` wrap it into a `CheckResult` with
their own id and subject, `analyze` prints it per file. A `Judgement` whose verdict is None
means "nothing here to judge" (a server banner, a version string).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sparkctl.checks import thresholds as T
from sparkctl.checks.result import CheckResult, Scalar, Verdict
from sparkctl.topology import hardware


@dataclass(frozen=True)
class Judgement:
    verdict: Verdict | None
    diagnosis: str
    hint: str | None = None
    measured: Scalar = None
    expected: Scalar = None
    unit: str | None = None

    def to_check(self, id: str, kind: str, subject: str) -> CheckResult:
        if self.verdict is None:
            raise ValueError(f"{id}: nothing was judged ({self.diagnosis})")
        return CheckResult(id=id, kind=kind, subject=subject, verdict=self.verdict,
                           measured=self.measured, expected=self.expected, unit=self.unit,
                           diagnosis=self.diagnosis, hint=self.hint)


def worst(judgements: Iterable[Judgement]) -> Judgement:
    """The most severe judgement; the first of equals. Inconclusive ones lose to any verdict."""
    best: Judgement | None = None
    for j in judgements:
        if best is None:
            best = j
        elif j.verdict is not None and (
                best.verdict is None or j.verdict.severity > best.verdict.severity):
            best = j
    if best is None:
        raise ValueError("no judgements to combine")
    return best


# --- collectives -------------------------------------------------------------------------

def judge_busbw(measured_GBps: float, expectation: T.Expectation, *,
                transport: str | None = None, nccl_release: bool | None = None) -> Judgement:
    """Judge saturated bus bandwidth against a topology's expectation, naming the signature."""
    exp = expectation
    base = dict(measured=round(measured_GBps, 3), expected=exp.minimum, unit=exp.unit)
    got = f"busbw {measured_GBps:.2f} GB/s"
    if measured_GBps >= exp.minimum:
        if exp.healthy and measured_GBps < exp.healthy.low:
            return Judgement(
                Verdict.DEGRADED,
                f"{got} meets the {exp.minimum:g} GB/s minimum but is below the healthy "
                f"{exp.healthy.low:g}-{exp.healthy.high:g} GB/s ({exp.healthy.source}).",
                "Check that both twins of each port are in NCCL_IB_HCA and MTU is 9000 on "
                "every hop.", **base)
        return Judgement(Verdict.PASS, f"{got} >= {exp.minimum:g} GB/s ({exp.source}).",
                         **base)
    ratio = measured_GBps / exp.reference
    if transport == "Socket":
        return Judgement(
            Verdict.FAIL,
            f"{got}: NCCL used NET/Socket (TCP) instead of RDMA, which caps near 3 GB/s.",
            "Make the RDMA devices visible (rdma-core installed, --device /dev/infiniband in "
            "containers), unset NCCL_NET/NCCL_IB_DISABLE, and check that no net plugin "
            "falls back to TCP; rerun with NCCL_DEBUG=INFO and look for 'Using network IB'.",
            **base)
    if measured_GBps <= T.SOCKET_FALLBACK_MAX_GBPS:
        if nccl_release is False:
            cause = "a non-release NCCL build (dev builds plateau near 3 GB/s)"
        elif transport == "IB":
            cause = ("NCCL reports NET/IB, so suspect a non-release NCCL build or a link left "
                     "in a bad state after recabling (reboot both nodes)")
        else:
            cause = ("the signature of NCCL falling back to TCP sockets (NET/Socket, e.g. a net "
                     "plugin's silent fallback) or of a non-release NCCL build")
        return Judgement(
            Verdict.FAIL, f"{got} is ~3 GB/s: {cause}.",
            "Rerun with NCCL_DEBUG=INFO NCCL_DEBUG_SUBSYS=INIT,NET: 'Using network Socket' or "
            "'NET/IB : No device found' means fallback; use a release NCCL (2.28.9+) built "
            "for sm_121.", **base)
    if ratio >= T.NEAR_MISS:
        return Judgement(
            Verdict.DEGRADED,
            f"{got} is {ratio:.0%} of the expected {exp.reference:g} GB/s: the rails work but "
            "run below their rate, typically MTU 1500 instead of 9000 or small messages.",
            "Set MTU 9000 on every CX-7 interface and switch port, and measure with "
            "messages of 1 GB or more.", **base)
    if ratio >= T.HALF_BAND[0]:
        return Judgement(
            Verdict.DEGRADED,
            f"{got} is about half of the expected {exp.reference:g} GB/s: only one twin of "
            "the port carries traffic (one HCA in NCCL_IB_HCA) or one rail is down.",
            "List both twins in NCCL_IB_HCA (e.g. rocep1s0f1,roceP2p1s0f1), check "
            "ibdev2netdev shows both Up, and that each twin has its own subnet.", **base)
    return Judgement(
        Verdict.FAIL,
        f"{got} is far below the expected {exp.reference:g} GB/s (under "
        f"{T.HALF_BAND[0]:.0%}): a rail is degraded or traffic takes a slow path.",
        "Measure each rail with ib_write_bw --report_gbits; check ethtool speed 200000 and "
        "error counters, firmware and driver.", **base)


def judge_corruption(out_of_bounds: int | None, wrong: int) -> Judgement | None:
    if (out_of_bounds or 0) > 0 or wrong > 0:
        what = []
        if out_of_bounds:
            what.append(f"{out_of_bounds} out-of-bounds values")
        if wrong:
            what.append(f"{wrong} wrong elements")
        return Judgement(
            Verdict.FAIL, f"nccl-tests found {' and '.join(what)}: data was corrupted.",
            "Treat the node as faulty: check dmesg for GPU/NIC errors, ECC and cables, and do "
            "not trust results from it until a rerun is clean.",
            measured=(out_of_bounds or 0) + wrong, expected=0, unit="values")
    return None


_NCCL_ERRORS: tuple[tuple[re.Pattern[str], str, str], ...] = (
    (re.compile(r"Invalid number of GPUs"),
     "the run asked for more GPUs than the node has (DGX Spark has one GPU)",
     "Use -g 1 and one MPI rank per node: mpirun -np N -H host1:1,host2:1 ..."),
    (re.compile(r"no socket interface found", re.I),
     "NCCL_SOCKET_IFNAME names an interface that does not exist or has no address",
     "Set NCCL_SOCKET_IFNAME to an interface that is up with an IPv4 address on every node "
     "(enP7s7 for bootstrap over management)."),
    (re.compile(r"ibv_modify_qp failed with 110"),
     "RDMA queue pairs could not connect (timeout): wrong GID index, no route on that subnet, "
     "or both twins in one subnet",
     "Use GID index 3 (RoCEv2 IPv4), give each twin its own subnet, and check ping between the "
     "peers' CX-7 addresses."),
    (re.compile(r"Got completion from peer .* with error"),
     "RDMA transfers failed mid-run (work completion error from the peer)",
     "Check cables, link error counters (ethtool -S) and PFC/MTU consistency on both ends."),
    (re.compile(r"libibverbs", re.I),
     "libibverbs could not be loaded, so NCCL cannot use RDMA",
     "Install rdma-core (libibverbs1, ibverbs-providers) inside the container or host."),
    (re.compile(r"NET/IB ?: No device found", re.I),
     "NCCL saw no RDMA device and fell back to TCP sockets",
     "Pass --device /dev/infiniband to containers and check ibv_devinfo lists the CX-7."),
    (re.compile(r"Could not resolve hostname|ORTE was unable to reliably start"),
     "mpirun could not start its daemons on the other nodes (name resolution or ssh)",
     "Make every host name resolvable from the launcher and passwordless ssh work both ways."),
    (re.compile(r"Connection closed by (?:remote peer|localRank)"),
     "a peer rank went away during the run",
     "Look at the first failing rank's log; the error there is the cause."),
    (re.compile(r"invalid usage", re.I),
     "NCCL rejected its configuration (invalid usage)",
     "Rerun with NCCL_DEBUG=WARN; the WARN line names the bad setting."),
    (re.compile(r"internal error", re.I),
     "NCCL hit an internal error, usually after a network/bootstrap failure on another rank",
     "Find the first WARN line across all ranks' logs."),
)


def _first_signature(errors: list[str], signatures, prefix: str,
                     fallback_hint: str) -> Judgement:
    """A failed run: the first known signature among the error lines names the cause."""
    text = "\n".join(errors)
    for pattern, cause, hint in signatures:
        if pattern.search(text):
            return Judgement(Verdict.FAIL, f"{prefix}: {cause}.", hint,
                             measured=len(errors), expected=0, unit="errors")
    first = errors[0] if errors else "unknown error"
    return Judgement(Verdict.FAIL, f"{prefix}: {first[:200]}.", fallback_hint,
                     measured=len(errors), expected=0, unit="errors")


def judge_nccl_errors(errors: list[str]) -> Judgement:
    """A failed run: name the first known signature among the error lines."""
    return _first_signature(errors, _NCCL_ERRORS, "The run failed",
                            "Read the first error line of the failing rank.")


def judge_nccl_network(transport: str | None, ib_devices: list[str], *,
                       ib_unusable: bool, warnings: list[str],
                       nccl_release: bool | None) -> Judgement:
    """What an NCCL_DEBUG=INFO log says about the network path."""
    if warnings:
        return judge_nccl_errors(warnings)
    if transport == "Socket" or (ib_unusable and transport != "IB"):
        return Judgement(
            Verdict.FAIL,
            "NCCL fell back to TCP sockets (NET/Socket), or cannot use RDMA at all: expect "
            "~3 GB/s instead of ~22 GB/s.",
            "Make the RDMA devices visible to NCCL: rdma-core (libibverbs) installed, "
            "--device /dev/infiniband for containers, ibv_devinfo lists the CX-7; then look "
            "for 'Using network IB'.",
            measured=transport or "none", expected="IB")
    if transport != "IB":
        return Judgement(None, "the log does not show which network NCCL chose "
                               "('Using network ...' missing; cut short?).")
    spark = [d for d in ib_devices if hardware_twin(d) is not None]
    if spark and len(spark) == 1 and hardware_twin(spark[0]) not in ib_devices:
        return Judgement(
            Verdict.DEGRADED,
            f"NCCL uses NET/IB on {spark[0]} only, without its twin {hardware_twin(spark[0])}: "
            "about half the port's bandwidth.",
            "List both twins in NCCL_IB_HCA and check both are Up (ibdev2netdev).",
            measured=len(spark), expected=2, unit="HCAs")
    note = ""
    if nccl_release is False:
        note = " The NCCL build is not a release version; dev builds plateau near 3 GB/s."
        return Judgement(Verdict.DEGRADED, "NCCL uses NET/IB." + note,
                         "Use a release NCCL (2.28.9+) built for sm_121.",
                         measured="IB", expected="IB")
    devices = f" on {', '.join(ib_devices)}" if ib_devices else ""
    return Judgement(Verdict.PASS, f"NCCL uses NET/IB (RDMA){devices}.",
                     measured="IB", expected="IB")


def hardware_twin(hca: str) -> str | None:
    """The other RDMA device of the same QSFP port on a DGX Spark, or None if not a Spark HCA."""
    for port in hardware.PORTS:
        names = [hardware.hca(port, rail) for rail in hardware.RAILS]
        if hca in names:
            return names[1 - names.index(hca)]
    return None


# --- rails, links, counters ----------------------------------------------------------------

def judge_rail_bandwidth(measured_Gbps: float,
                         expectation: T.Expectation = T.RAIL_BANDWIDTH) -> Judgement:
    exp = expectation
    base = dict(measured=round(measured_Gbps, 2), expected=exp.minimum, unit=exp.unit)
    got = f"{measured_Gbps:.2f} Gb/s"
    if measured_Gbps >= exp.minimum:
        return Judgement(Verdict.PASS, f"{got} >= {exp.minimum:g} Gb/s per rail ({exp.source}).",
                         **base)
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


def judge_link_speed(speed_mbps: int | None, link_detected: bool | None, *,
                     expected_mbps: int = int(T.LINK_SPEED.minimum)) -> Judgement:
    base = dict(measured=speed_mbps, expected=expected_mbps, unit="Mb/s")
    if link_detected is False:
        return Judgement(Verdict.FAIL, "No link: the port has no carrier (no cable or peer "
                                       "down).",
                         "Seat the QSFP cable and check the peer/switch port is enabled.", **base)
    if speed_mbps is None:
        return Judgement(Verdict.FAIL, "The link speed is unknown, so the link is not up.",
                         "Check the cable and the peer port.", **base)
    if speed_mbps >= expected_mbps:
        return Judgement(Verdict.PASS, f"Link up at {speed_mbps} Mb/s.", **base)
    if speed_mbps == 100_000 and expected_mbps == 200_000:
        return Judgement(
            Verdict.DEGRADED,
            "Link at 100000 Mb/s: the switch port autonegotiated 100G instead of 200G.",
            "Force 200G on the switch port (e.g. MikroTik: set speed 200G-baseCR4 and disable "
            "auto-negotiation) or use a 200G-rated cable.", **base)
    return Judgement(Verdict.DEGRADED,
                     f"Link at {speed_mbps} Mb/s, below the expected {expected_mbps} Mb/s.",
                     "Check cable rating, switch port speed and autonegotiation.", **base)


def judge_fec(active: str | None, *, speed_mbps: int | None = None) -> Judgement:
    base = dict(measured=active, expected="RS", unit=None)
    if active is None:
        return Judgement(None, "The FEC state is not shown.")
    if active.upper() in ("RS", "RS-FEC", "LLRS"):
        return Judgement(Verdict.PASS, f"Active FEC {active}: what 200G PAM4 links use.", **base)
    if active.lower() in ("none", "off"):
        return Judgement(
            Verdict.DEGRADED,
            "Active FEC is None: 200G (50G PAM4 lanes) links need RS-FEC, and without it bit "
            "errors turn into retransmissions.",
            "Set RS on both ends (ethtool --set-fec IF encoding rs) and on the switch port; if "
            "bandwidth stays low after recabling, reboot both nodes.", **base)
    return Judgement(Verdict.DEGRADED, f"Active FEC {active} instead of RS.",
                     "Set RS on both ends (ethtool --set-fec IF encoding rs).", **base)


# Counters that count loss or corruption; any increase means trouble on that port.
ERROR_COUNTERS = (
    "rx_discards_phy", "tx_discards_phy", "rx_out_of_buffer", "rx_crc_errors_phy",
    "rx_symbol_err_phy", "rx_pcs_symbol_err_phy", "rx_corrected_bits_phy",
    "rx_pci_signal_integrity", "tx_pci_signal_integrity", "link_down_events_phy",
    "rx_wqe_err", "rx_buff_alloc_err", "rx_oversize_pkts_sw_drop", "rx_xdp_tx_err",
    "tx_pause_storm_error_events", "symbol_error", "port_rcv_errors", "link_downed",
)
_LANE_ERRORS = re.compile(r"^rx_err_lane_\d+_phy$")
_PRIO_DISCARDS = re.compile(r"^rx_prio\d+_discards$")


def judge_counters(counters: Mapping[str, int]) -> Judgement:
    bad = {k: v for k, v in counters.items()
           if v > 0 and (k in ERROR_COUNTERS or _LANE_ERRORS.match(k) or _PRIO_DISCARDS.match(k))}
    watched = [k for k in counters if k in ERROR_COUNTERS or _LANE_ERRORS.match(k)
               or _PRIO_DISCARDS.match(k)]
    if not watched:
        return Judgement(None, "None of the counters shown are error or discard counters.")
    if not bad:
        return Judgement(Verdict.PASS, f"All {len(watched)} error/discard counters are 0.",
                         measured=0, expected=0, unit="errors")
    top = sorted(bad.items(), key=lambda kv: -kv[1])[:3]
    names = ", ".join(f"{k}={v}" for k, v in top)
    if any(_LANE_ERRORS.match(k) or k in ("rx_corrected_bits_phy", "rx_symbol_err_phy",
                                           "rx_pcs_symbol_err_phy", "rx_crc_errors_phy")
           for k in bad):
        cause = "the physical link sees bit errors (cable, transceiver or FEC)"
        hint = "Reseat or replace the cable, check FEC is RS on both ends, and watch if they grow."
    elif any("discard" in k or "out_of_buffer" in k for k in bad):
        cause = "the NIC dropped packets because receive buffers overflowed (congestion)"
        hint = ("Enable PFC/ECN for RoCE traffic (mlnx_qos --trust dscp --pfc 0,0,0,1,0,0,0,0) "
                "or reduce the offered load; watch whether the counters grow.")
    elif any("pci" in k for k in bad):
        cause = "the PCIe link between NIC and host reported signal-integrity events"
        hint = "Watch whether the counter grows; persistent growth needs a hardware check."
    else:
        cause = "error counters are non-zero"
        hint = "Watch whether the counters grow under load."
    return Judgement(Verdict.DEGRADED, f"Non-zero error counters ({names}): {cause}.", hint,
                     measured=sum(bad.values()), expected=0, unit="errors")


@dataclass(frozen=True)
class PortState:
    device: str  # RDMA device
    active: bool
    link_layer: str | None = None


def judge_rdma_ports(ports: list[PortState]) -> Judgement:
    """Every cabled QSFP port must have both twins active; at least one port must be up."""
    active = {p.device for p in ports if p.active}
    if not ports:
        return Judgement(None, "No RDMA ports listed.")
    if not active:
        return Judgement(Verdict.FAIL, "No RDMA port is active: no cable, or the driver is down.",
                         "Check cabling and `ibv_devinfo`; load mlx5_ib.",
                         measured=0, expected=">=1", unit="ports")
    half = sorted(d for d in active if (t := hardware_twin(d)) and t not in active
                  and t in {p.device for p in ports})
    if half:
        twins = ", ".join(f"{d} (twin {hardware_twin(d)} down)" for d in half)
        return Judgement(Verdict.DEGRADED,
                         f"Only one rail of a cabled port is active: {twins}; that port carries "
                         "half its bandwidth.",
                         "Bring the twin up (ip link set <netdev> up, give it its own subnet) "
                         "and check the cable is fully seated.",
                         measured=len(active), expected=len(active) + len(half), unit="ports")
    not_ethernet = sorted(p.device for p in ports if p.active and p.link_layer
                          and p.link_layer != "Ethernet" and hardware_twin(p.device))
    if not_ethernet:
        return Judgement(Verdict.DEGRADED,
                         f"{', '.join(not_ethernet)} report link layer other than Ethernet; "
                         "DGX Spark runs RoCE.", "Set the CX-7 ports to Ethernet mode.",
                         measured=len(not_ethernet), expected=0, unit="ports")
    return Judgement(Verdict.PASS,
                     f"{len(active)} of {len(ports)} RDMA ports active, twins paired: "
                     f"{', '.join(sorted(active))}.",
                     measured=len(active), expected=len(active), unit="ports")


def judge_gpus(count: int, ecc_uncorrected: list[int | None]) -> Judgement:
    if count == 0:
        return Judgement(Verdict.FAIL, "nvidia-smi lists no GPU.",
                         "Check the driver is loaded (dmesg, nvidia-smi -L).",
                         measured=0, expected=">=1", unit="GPUs")
    errors = sum(e for e in ecc_uncorrected if e)
    if errors:
        return Judgement(Verdict.FAIL,
                         f"{errors} uncorrectable ECC errors since the driver loaded: GPU memory "
                         "corrupted data.", "Drain the node, reset the GPU, and check again; "
                         "persistent errors need an RMA.", measured=errors, expected=0,
                         unit="errors")
    return Judgement(Verdict.PASS, f"{count} GPU(s) visible, no uncorrectable ECC errors "
                                   "reported.", measured=count, expected=">=1", unit="GPUs")


# --- perftest and iperf3 errors -------------------------------------------------------------

# ibv_wc_status values perftest prints as "Failed status N" (infiniband/verbs.h).
WC_STATUS = {4: "IBV_WC_LOC_PROT_ERR", 5: "IBV_WC_WR_FLUSH_ERR", 10: "IBV_WC_REM_ACCESS_ERR",
             12: "IBV_WC_RETRY_EXC_ERR", 13: "IBV_WC_RNR_RETRY_EXC_ERR"}

_PERFTEST_ERRORS: tuple[tuple[re.Pattern[str], str, str], ...] = (
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
    return _first_signature(errors, _PERFTEST_ERRORS, "perftest failed",
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


def saturated_busbw(points: list[tuple[int, float]],
                    largest: int = T.LARGEST_SIZES_JUDGED) -> tuple[float, int] | None:
    """Best busbw among the `largest` biggest message sizes, and the biggest size.

    Small messages never saturate the link, so the sweep average understates a healthy
    fabric (the 2-node switch run averages 21.40 GB/s over 1-4 GB but reaches 22.46 at 4 GB).
    """
    sizes = sorted({size for size, _ in points})
    if not sizes:
        return None
    judged = set(sizes[-largest:])
    return max(bw for size, bw in points if size in judged), sizes[-1]
