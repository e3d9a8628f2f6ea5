"""What differs between a real DGX Spark and the simulated one, in one object.

A `Platform` is chosen once per target, from the inventory's (or cluster file's)
`sparkctl_platform`, and every check asks it instead of testing a platform name: which tool
measures a rail and against what ceiling, whether RDMA devices and a GPU exist, what the link
speed must be, which collective runs and what it can prove. The lab is one more Platform, not
a flag threaded through the checks. The two definitions below are the only places that know
a platform's name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sparkctl.checks import thresholds as T
from sparkctl.errors import InputError, Location
from sparkctl.topology.model import PLATFORMS


class RailTool(StrEnum):
    PERFTEST = "ib_write_bw"  # RoCE, NVIDIA's connect-two-sparks guide
    IPERF3 = "iperf3"  # TCP: the lab, or --tcp on hardware


class CollectiveTool(StrEnum):
    NCCL_TESTS = "nccl-tests"  # all_reduce_perf / all_gather_perf under mpirun, on the GPUs
    CPU_MPI = "cpu-mpi"  # the lab: the same mpirun and pinning, a CPU all-reduce (mpi4py)


# facts/lab-machine.md: "ethtool on veth: Speed 10000Mb/s fixed".
LAB_VETH_SPEED_MBPS = 10_000
# A lab rail passes at its shaped ceiling within 10 % (tc tbf is exact to ~0.5 %).
LAB_RAIL_TOLERANCE = 0.10


@dataclass(frozen=True)
class Platform:
    name: str
    description: str
    has_rdma: bool  # RDMA devices (rdma.* checks, ib_write_bw, NCCL NET/IB)
    has_gpu: bool  # nvidia-smi, GPU health, nccl-tests
    runs_containers: bool  # docker with the NVIDIA runtime: `runtime up` can start a model
    # The negotiated speed a rail's netdev must report; None where the links report a fixed
    # figure that proves nothing (veth): link.speed is then `info`, with `link_speed_note`.
    link_speed_mbps: int | None
    link_speed_note: str
    rail_tool: RailTool
    rail_floor: T.Expectation | None  # None: unknown (a lab target without its shaped rate)
    rail_scale: float  # real figure = measured figure x scale (1 on hardware)
    rail_seconds: float  # per rail test
    rail_parallel: int | None  # rail tests at once (None: as many as never share an interface)
    rail_slow_hint: str
    rail_below_floor: str | None  # the platform's words for a rail under its floor
    collective_tool: CollectiveTool
    collectives: tuple[str, ...]  # collectives this platform can run
    # True: busbw is judged against NVIDIA's floor. False: busbw is reported (`info`) and the
    # run is judged on what it can prove: every rank, correct sums, data over the rails.
    collective_judges_busbw: bool
    collective_proves: str

    @property
    def rail_expectation(self) -> T.Expectation:
        if self.rail_floor is None:
            raise InputError(
                "the target says sparkctl_platform: lab but has no sparkctl_lab_rate_mbit, so "
                "the rail ceiling is unknown",
                hint="validate a lab with --lab NAME (its inventory carries the shaped rate)")
        return self.rail_floor

    def rail_tool_for(self, tcp: bool) -> RailTool:
        """--tcp measures rails with iperf3 where ib_write_bw is the default."""
        return RailTool.IPERF3 if tcp else self.rail_tool

    def collective_expectation(self, topology: str | None) -> T.Expectation | None:
        if not self.collective_judges_busbw:
            return None
        return T.collective_expectation(topology if topology in T.TOPOLOGIES else None)

    @property
    def missing(self) -> dict[str, str]:
        """Capabilities this platform lacks -> why (the reason a check that needs one is
        skipped as not applicable)."""
        out = {}
        if not self.has_rdma:
            out["rdma"] = f"{self.description} has no RDMA devices"
        if not self.has_gpu:
            out["gpu"] = f"{self.description} has no GPU"
        if not self.has_rdma:  # the CX-7 brings both: RDMA devices and its PCIe functions
            out["nic"] = (f"{self.description} has no ConnectX-7 PCIe functions or firmware "
                          "(its rails are veths)")
        return out


DGX_SPARK = Platform(
    name="dgx-spark", description="a DGX Spark (DGX OS, ConnectX-7, GB10)",
    has_rdma=True, has_gpu=True, runs_containers=True,
    link_speed_mbps=int(T.LINK_SPEED.minimum), link_speed_note=T.LINK_SPEED.source,
    rail_tool=RailTool.PERFTEST, rail_floor=T.RAIL_BANDWIDTH, rail_scale=1.0,
    rail_seconds=3.0, rail_parallel=None,
    rail_slow_hint="Check the cable and the NIC's PCIe link (lspci -vv LnkSta) at both ends.",
    rail_below_floor=None,  # the hardware judge names the signature (half rate, ~13 Gb/s)
    collective_tool=CollectiveTool.NCCL_TESTS, collectives=("all_reduce", "all_gather"),
    collective_judges_busbw=True,
    collective_proves="NCCL's bus bandwidth against NVIDIA's floor, and from NCCL's debug "
                      "log that the data took the RDMA rails (NET/IB)")


def lab_platform(rate_mbit: float | None, scale: float = 1.0) -> Platform:
    """The simulated Spark: veth links shaped to `rate_mbit` by tc tbf, no RDMA, no GPU."""
    floor = None if rate_mbit is None else T.Expectation(
        id="rail.bandwidth.lab", minimum=round(rate_mbit / 1000 * (1 - LAB_RAIL_TOLERANCE), 3),
        unit="Gb/s", source=f"lab links shaped to {rate_mbit:g} Mbit/s by tc tbf, within "
                            f"{LAB_RAIL_TOLERANCE:.0%}")
    return Platform(
        name="lab", description="a simulated Spark (lab node)",
        has_rdma=False, has_gpu=False, runs_containers=False,
        link_speed_mbps=None,
        link_speed_note=f"a veth reports a fixed {LAB_VETH_SPEED_MBPS} Mb/s whatever it carries; "
                        "the lab's line rate is its tc shaping, which rail.bandwidth measures",
        rail_tool=RailTool.IPERF3, rail_floor=floor, rail_scale=scale,
        # The lab's 2 cores are its bottleneck: two tests at a time, 2 s each.
        rail_seconds=2.0, rail_parallel=2,
        rail_slow_hint="Check `tc qdisc show` on both ends of the lab link (a degrade fault?) "
                       "and that nothing else loads the lab machine.",
        rail_below_floor="this rail runs below its shaped rate, as a degraded cable or NIC "
                         "does.",
        collective_tool=CollectiveTool.CPU_MPI, collectives=("all_reduce",),
        # The CPU all-reduce runs every rank, the TCP stack and the shaping on the same few
        # cores (measured on 2 cores, switch4: 0.11-0.22 GB/s against a 0.5 GB/s two-rail
        # ceiling): its busbw says how busy the machine was, not what the links carry.
        collective_judges_busbw=False,
        collective_proves="that MPI runs one rank per node over the planned interfaces with "
                          "correct sums, and (where the rails can be pinned) that both twins "
                          "carried the data and management did not; not bandwidth (the CPU "
                          "bounds it; rail.bandwidth measures the links)")


def platform_for(name: str, group_vars: Mapping[str, Any], where: str | None = None) -> Platform:
    """The Platform a target declares (`sparkctl_platform`), with the lab's shaping figures
    (`sparkctl_lab_rate_mbit`, `sparkctl_lab_scale`) when its inventory has them."""
    location = Location(where) if where else None
    if name == DGX_SPARK.name:
        return DGX_SPARK
    if name not in PLATFORMS:
        raise InputError(f"unknown platform {name!r}", location=location,
                         hint=f"use one of: {', '.join(PLATFORMS)}")
    rate = group_vars.get("sparkctl_lab_rate_mbit")
    if rate is None:
        return lab_platform(None)
    try:
        rate_f, scale_f = float(rate), float(group_vars.get("sparkctl_lab_scale", 1))
    except (TypeError, ValueError):
        raise InputError("sparkctl_lab_rate_mbit and sparkctl_lab_scale must be numbers",
                         location=location) from None
    if not (0 < rate_f < float("inf")) or not (0 < scale_f < float("inf")):
        raise InputError("sparkctl_lab_rate_mbit and sparkctl_lab_scale must be finite and > 0",
                         location=location)
    return lab_platform(rate_f, scale_f)
