"""What one DGX Spark offers the cluster network (facts/dgx-spark.md, "Interfaces").

Each QSFP port is driven by two PCIe Gen5 x4 links, so Linux sees two "twin" netdevs and two
RDMA devices per port. One twin is one *rail*. A cable carries both rails of its port.
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_SPARKS = 4  # the mission's range: 1-4 nodes
PORTS = (0, 1)  # p0 is the QSFP port nearest the RJ45 jack
RAILS = (0, 1)
MGMT_INTERFACE = "enP7s7"  # onboard 10GbE, used for NCCL/MPI bootstrap

# (port, rail) -> (netdev, RDMA device)
_TWINS: dict[tuple[int, int], tuple[str, str]] = {
    (0, 0): ("enp1s0f0np0", "rocep1s0f0"),
    (0, 1): ("enP2p1s0f0np0", "roceP2p1s0f0"),
    (1, 0): ("enp1s0f1np1", "rocep1s0f1"),
    (1, 1): ("enP2p1s0f1np1", "roceP2p1s0f1"),
}

LINE_RATE_MBPS = 200_000  # ethtool "Speed: 200000Mb/s" per port


@dataclass(frozen=True)
class RailDevice:
    """One twin of one port: its netdev and its RDMA device."""

    port: int
    rail: int
    netdev: str
    hca: str


def netdev(port: int, rail: int) -> str:
    return _TWINS[(port, rail)][0]


def hca(port: int, rail: int) -> str:
    return _TWINS[(port, rail)][1]


def rail_devices(port: int) -> tuple[RailDevice, RailDevice]:
    return tuple(RailDevice(port, rail, *_TWINS[(port, rail)]) for rail in RAILS)  # type: ignore[return-value]


def device_by_netdev(name: str) -> RailDevice | None:
    for (port, rail), (dev, rdma) in _TWINS.items():
        if dev == name:
            return RailDevice(port, rail, dev, rdma)
    return None


def all_netdevs() -> list[str]:
    return [dev for dev, _ in _TWINS.values()]
