"""Collectives: bus bandwidth against a topology, data corruption, the NCCL version for rings.

busbw is judged on the largest message sizes only (small messages never saturate a link),
and only when the run reached a saturating size: a sweep cut short has no verdict.
"""

from __future__ import annotations

import re

from sparkctl.checks import thresholds as T
from sparkctl.checks.judge.base import Judgement, Measurement, incomplete
from sparkctl.checks.result import Verdict

# NCCL_IB_SUBNET_AWARE_ROUTING (NVIDIA/nccl 5c1c4288, "Add subnet-aware routing for DGX Spark
# multi-node ring connection") is first tagged in v2.30.7-1 (facts/dgx-spark.md, corrections).
RING_MIN_NCCL = (2, 30, 7)
RING_NCCL_SOURCE = ("NCCL_IB_SUBNET_AWARE_ROUTING first appears in NVIDIA/nccl v2.30.7-1 "
                    "(commit 5c1c4288, 2026-06)")
_VERSION = re.compile(r"(\d+)\.(\d+)\.(\d+)")


def judge_busbw(measured_GBps: float, expectation: T.Expectation, *,
                transport: str | None = None, nccl_release: bool | None = None) -> Judgement:
    """Judge saturated bus bandwidth against a topology's expectation, naming the signature."""
    exp = expectation
    base: Measurement = dict(measured=round(measured_GBps, 3), expected=exp.minimum, unit=exp.unit)
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


def nccl_version_tuple(version: str | None) -> tuple[int, int, int] | None:
    """(2, 28, 9) from "2.28.9+cuda13.0", "2.28.9-1" or nccl-tests' "22809" code."""
    if not version:
        return None
    if version.isdigit():  # NCCL_VERSION_CODE: major*10000 + minor*100 + patch (since 2.9)
        code = int(version)
        if code >= 20900:
            return code // 10000, code // 100 % 100, code % 100
        return None
    match = _VERSION.search(version)
    return (int(match.group(1)), int(match.group(2)), int(match.group(3))) if match else None


def nccl_version_text(version: tuple[int, int, int]) -> str:
    return ".".join(str(v) for v in version)


def judge_nccl_for_ring(version: str | None, topology: str | None) -> Judgement:
    """A ring needs NCCL >= 2.30.7 (subnet-aware routing); older builds hang or fail QP setup.

    NVIDIA's cluster script builds a special ring branch of an older NCCL, so an old version
    on a ring that completed is not a failure by itself: callers combine this judgement with
    the run's own (see `ring_version_note`).
    """
    if topology != "ring3":
        return Judgement(None, "not a ring: any release NCCL routes direct and switch links.")
    parsed = nccl_version_tuple(version)
    if parsed is None:
        return incomplete("the NCCL version is not in the output, so whether this ring's NCCL "
                          "has subnet-aware routing is unknown.",
                          missing="the NCCL version (nccl-tests banner 'nccl-library=' or "
                                  "NCCL_DEBUG=INFO 'NCCL version' line)",
                          hint="Rerun with NCCL_DEBUG=INFO to print 'NCCL version ...'.")
    if parsed >= RING_MIN_NCCL:
        return Judgement(Verdict.PASS, f"NCCL {nccl_version_text(parsed)} has subnet-aware "
                                       f"routing for rings ({RING_NCCL_SOURCE}).",
                         measured=nccl_version_text(parsed), expected=">=2.30.7")
    return Judgement(
        Verdict.FAIL,
        f"ring on NCCL {nccl_version_text(parsed)}, older than 2.30.7: it lacks "
        "NCCL_IB_SUBNET_AWARE_ROUTING, so traffic between ring neighbours can take the wrong "
        f"twin's subnet and queue pairs time out (ibv_modify_qp failed with 110) or hang "
        f"({RING_NCCL_SOURCE}).",
        "Use NCCL >= 2.30.7 (or NVIDIA's dgxspark-3node-ring branch) in the host and the "
        "container, with NCCL_IB_SUBNET_AWARE_ROUTING=1.",
        measured=nccl_version_text(parsed), expected=">=2.30.7")


def ring_version_note(version: str | None, topology: str | None) -> str | None:
    """For a ring run that did not fail: say so when its NCCL predates subnet-aware routing."""
    judged = judge_nccl_for_ring(version, topology)
    if judged.verdict is not Verdict.FAIL:
        return None
    return (f"NCCL {judged.measured} predates subnet-aware routing (2.30.7); this ring worked, "
            "presumably with NVIDIA's ring branch; a stock build of this version fails rings.")


def judge_saturation(largest_bytes: int, collective: str | None) -> Judgement | None:
    """None when the sweep reached a saturating size; otherwise why no verdict can be given."""
    if largest_bytes >= T.SATURATING_BYTES:
        return None
    name = collective or "collective"
    return incomplete(
        f"the largest message in this {name} run is {_size(largest_bytes)}, below the "
        f"{_size(T.SATURATING_BYTES)} that saturates a 200G link; busbw at small sizes says "
        "nothing about the fabric (it is latency-bound), so it is not judged.",
        missing=f"rows at {_size(T.SATURATING_BYTES)} or more (NVIDIA judges all_gather at "
                "16 GiB: -b 16G -e 16G)",
        hint="Rerun with -e 1G or more (NVIDIA: all_gather_perf -b 16G -e 16G -f 2).")


def _size(n: int) -> str:
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= scale:
            return f"{n / scale:g} {unit}"
    return f"{n} B"
