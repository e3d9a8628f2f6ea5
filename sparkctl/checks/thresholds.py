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


# The collective verdict (issue 13 item 6): NVIDIA judges `# Avg bus bandwidth` of
# all_gather_perf -b 16G -e 16G -f 2 (spark_cluster_setup.py; its NCCL playbook also runs
# all_gather at 16G). Where 16 GiB does not fit in a node's free unified memory, validate
# measures at 4 GiB and keeps NVIDIA's floors there, because 4 GiB already saturates the rails:
# a healthy 2-node switch run measures busbw 22.14 / 22.46 GB/s at 4 GiB (out-of-place /
# in-place; tests/fixtures/nccl-tests/spark_koyo_all_gather_2node_switch_good_21GBps.txt,
# source in tests/fixtures/SOURCES.md), above 21.875; community ring3 runs reach 18.70 GB/s
# at 32 MB (facts/dgx-spark.md), far above the ring's 10.
NVIDIA_COLLECTIVE = "all_gather"
NVIDIA_COLLECTIVE_BYTES = 16 * 1024**3
FALLBACK_COLLECTIVE_BYTES = 4 * 1024**3
COLLECTIVE_FALLBACK_DIRECT_SWITCH = Expectation(
    id="collective.busbw.direct-switch.4g", minimum=COLLECTIVE_DIRECT_SWITCH.minimum,
    unit="GB/s",
    source=f"{NVIDIA_PLAYBOOK} = 21.875 GB/s at 16G, kept at 4G: a healthy 2-node switch run "
           "measures 22.14/22.46 GB/s busbw at 4 GiB (koyo, nccl-tests 2.18.3, NCCL 2.28.9)")
COLLECTIVE_FALLBACK_RING3 = Expectation(
    id="collective.busbw.ring3.4g", minimum=COLLECTIVE_RING3.minimum, unit="GB/s",
    source=f"{NVIDIA_PLAYBOOK} for ring = 10 GB/s at 16G, kept at 4G: ring3 reaches 18.70 "
           "GB/s already at 32 MB (community ring3 results)",
    healthy=COLLECTIVE_RING3.healthy)


def collective_verdict_expectation(topology: str | None, size_bytes: int) -> Expectation | None:
    """NVIDIA's floor for all_gather's `# Avg bus bandwidth` at 16 GiB, or the documented
    4 GiB fallback's; None for `single` and for any other size (no sourced figure)."""
    at_16g = collective_expectation(topology)
    if at_16g is None:
        return None
    if size_bytes == NVIDIA_COLLECTIVE_BYTES:
        return at_16g
    if size_bytes == FALLBACK_COLLECTIVE_BYTES:
        return (COLLECTIVE_FALLBACK_RING3 if at_16g is COLLECTIVE_RING3
                else COLLECTIVE_FALLBACK_DIRECT_SWITCH)
    return None
