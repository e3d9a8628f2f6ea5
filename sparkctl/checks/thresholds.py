"""Expected values, in one table, each with its source (../shared/facts/dgx-spark.md).

Judging code in `diagnose.py` reads only this module for numbers, so a changed figure is a
one-line change here.
"""

from __future__ import annotations

from dataclasses import dataclass

from sparkctl.errors import InputError


@dataclass(frozen=True)
class Band:
    low: float
    high: float
    source: str


@dataclass(frozen=True)
class Expectation:
    id: str
    minimum: float  # pass at or above this
    unit: str
    source: str
    healthy: Band | None = None  # what healthy systems reach; below it is "degraded"

    @property
    def reference(self) -> float:
        """The value ratios are taken against to recognise signatures (half, ~3 GB/s)."""
        return self.healthy.low if self.healthy else self.minimum


NVIDIA_PLAYBOOK = ("NVIDIA dgx-spark-playbooks, multi-sparks-through-switch "
                   "spark_cluster_setup: MIN_NCCL_TEST_BW")

COLLECTIVE_DIRECT_SWITCH = Expectation(
    id="collective.busbw.direct-switch", minimum=21.875, unit="GB/s",
    source=f"{NVIDIA_PLAYBOOK} = 21.875 GB/s (175 Gbps), all_gather 16G")
COLLECTIVE_RING3 = Expectation(
    id="collective.busbw.ring3", minimum=10.0, unit="GB/s",
    source=f"{NVIDIA_PLAYBOOK} for ring = 10 GB/s (80 Gbps)",
    healthy=Band(18.70, 20.75, "community ring3 results: 18.70 GB/s @32MB, 20.75 @16GB"))
RAIL_BANDWIDTH = Expectation(
    id="rail.bandwidth", minimum=90.0, unit="Gb/s",
    source="NVIDIA connect-two-sparks performance guide: ib_write_bw 92.57 + 97.28 Gb/s per rail")
LINK_SPEED = Expectation(
    id="link.speed", minimum=200_000, unit="Mb/s",
    source="NVIDIA spark_cluster_setup pre-validate: ethtool Speed 200000Mb/s per CX-7 port")

# nccl-tests signatures (facts, "Failure signatures").
SOCKET_FALLBACK_MAX_GBPS = 4.5  # TCP sockets/dev NCCL plateau at ~3 GB/s (3.04 observed)
HALF_BAND = (0.40, 0.75)  # busbw / reference: one twin in NCCL_IB_HCA or one rail down
NEAR_MISS = 0.75  # above this fraction of the reference: tuning (MTU), not a broken rail
RAIL_FAR_BELOW = 0.40  # ~13 Gb/s on a 200G link: degraded NIC/firmware (facts)
# Message sizes below this may not saturate the link (facts: NVIDIA's threshold is for 16 GB).
SATURATING_BYTES = 512 * 1024 * 1024
LARGEST_SIZES_JUDGED = 3  # judge the best busbw among this many largest sizes

# Collectives whose busbw the NVIDIA/community figures describe (busbw normalises them).
JUDGED_COLLECTIVES = ("all_reduce", "all_gather", "reduce_scatter")

_DIRECT_SWITCH = ("direct", "direct-dual", "switch2", "switch3", "switch4")
TOPOLOGIES = ("single", *_DIRECT_SWITCH, "ring3")


def collective_expectation(topology: str | None) -> Expectation | None:
    """Expected busbw for a topology; None for `single` (nothing crosses the network).

    No topology means the direct/switch figure (the strictest NVIDIA publishes); callers say
    so in the diagnosis.
    """
    if topology is None or topology in _DIRECT_SWITCH:
        return COLLECTIVE_DIRECT_SWITCH
    if topology == "ring3":
        return COLLECTIVE_RING3
    if topology == "single":
        return None
    raise InputError(f"unknown topology {topology!r}",
                     hint=f"use one of: {', '.join(TOPOLOGIES)}")
