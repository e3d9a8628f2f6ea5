"""Data model of a cluster as the user declares it: Sparks, cables, network parameters."""

from __future__ import annotations

import dataclasses
import ipaddress
from dataclasses import dataclass, field
from ipaddress import IPv4Network

from sparkctl.errors import Location
from sparkctl.topology.hardware import MGMT_INTERFACE

SWITCH = "switch"  # the name of the one L2 switch node; reserved, no Spark may use it
PLATFORMS = ("dgx-spark", "lab")
DEFAULT_PLATFORM = "dgx-spark"
DEFAULT_MTU = 9000  # community-proven on Spark; NVIDIA keeps 1500 on switches (facts)
# facts/dgx-spark.md "MTU on a switch": NVIDIA's switch guide keeps the default MTU 1500, and a
# switch port with a smaller MTU than the hosts drops RoCE frames. So a cabling through a switch
# gets 1500 unless the cluster file says the switch carries more (`switch: {mtu: 9000}`).
SWITCH_DEFAULT_MTU = 1500
MTU_MIN, MTU_MAX = 1280, 9216  # IPv6 minimum .. ConnectX-7 maximum
# Two aligned /22s: 192.168.100.0 - 192.168.107.255, eight /24 rails. Starts at .100 so
# switch and direct clusters get NVIDIA's documented 192.168.100.x / 192.168.101.x.
DEFAULT_POOL = (IPv4Network("192.168.100.0/22"), IPv4Network("192.168.104.0/22"))
RAIL_PREFIX = 24


@dataclass(frozen=True)
class SparkNode:
    name: str
    index: int  # 0-based position in the cluster; decides host numbers in every rail subnet
    mgmt_address: str  # IP or resolvable name of the management interface
    ssh_user: str | None = None
    ssh_port: int = 22


@dataclass(frozen=True, order=True)
class PortRef:
    """One end of a cable: a Spark's QSFP port, or the switch (port None)."""

    node: str
    port: int | None

    @property
    def is_switch(self) -> bool:
        return self.node == SWITCH

    def __str__(self) -> str:
        return self.node if self.port is None else f"{self.node}:p{self.port}"


@dataclass(frozen=True)
class Cable:
    a: PortRef
    b: PortRef

    @property
    def to_switch(self) -> bool:
        return self.a.is_switch or self.b.is_switch

    def ends(self) -> tuple[PortRef, PortRef]:
        return (self.a, self.b)

    def __str__(self) -> str:
        return f"{self.a} -- {self.b}"


@dataclass(frozen=True)
class ClusterSpec:
    """A declared cluster. Build a `Cluster` from it to validate and plan."""

    name: str
    topology: str  # a built-in name, or "custom" for explicit cables
    nodes: tuple[SparkNode, ...]
    cables: tuple[Cable, ...]
    mtu: int = DEFAULT_MTU
    pool: tuple[IPv4Network, ...] = DEFAULT_POOL
    reserved: tuple[IPv4Network, ...] = ()
    platform: str = DEFAULT_PLATFORM
    # The interface NCCL/MPI bootstrap and runtime control traffic use (NCCL_SOCKET_IFNAME ...).
    mgmt_interface: str = MGMT_INTERFACE
    # What the switch carries, when the cluster file says (`switch: {mtu: N}`); None: unknown.
    switch_mtu: int | None = None
    # False when `mtu` is the topology's default rather than the user's choice.
    mtu_declared: bool = field(default=True, compare=False)
    # Where things were declared ("node:NAME", "cable:INDEX", "mtu", ...) for file:line errors.
    locations: dict[str, Location] = field(default_factory=dict, compare=False, repr=False)

    def node(self, name: str) -> SparkNode:
        for node in self.nodes:
            if node.name == name:
                return node
        raise KeyError(name)

    @property
    def node_names(self) -> list[str]:
        return [n.name for n in self.nodes]

    def with_management(self, mgmt: dict[str, tuple[str, str | None, int]]) -> ClusterSpec:
        """A copy with (address, ssh user, ssh port) replaced for the named nodes."""
        nodes = []
        for node in self.nodes:
            if node.name in mgmt:
                address, user, port = mgmt[node.name]
                node = dataclasses.replace(node, mgmt_address=address, ssh_user=user,
                                           ssh_port=port)
            nodes.append(node)
        return dataclasses.replace(self, nodes=tuple(nodes))

    def location(self, key: str) -> Location | None:
        return self.locations.get(key)


@dataclass(frozen=True)
class Violation:
    """One broken rule; names the node and port where it can."""

    code: str
    message: str
    node: str | None = None
    port: int | None = None
    hint: str | None = None
    location: Location | None = None

    def __str__(self) -> str:
        where = ""
        if self.location:
            where = f"{self.location}: "
        if self.node is not None:
            where += f"{self.node}:p{self.port}: " if self.port is not None else f"{self.node}: "
        text = where + self.message
        if self.hint:
            text += f" (fix: {self.hint})"
        return text


def default_mtu(cables: tuple[Cable, ...] | list[Cable], switch_mtu: int | None = None) -> int:
    """The rail MTU when the cluster does not set one: 9000 between Sparks; through a switch,
    1500 unless the switch is declared to carry more (then up to 9000)."""
    if not any(c.to_switch for c in cables):
        return DEFAULT_MTU
    if switch_mtu is None:
        return SWITCH_DEFAULT_MTU
    return min(DEFAULT_MTU, switch_mtu)


def parse_network(text: str) -> IPv4Network:
    """Parse an IPv4 CIDR; raises ValueError with a readable message."""
    try:
        return ipaddress.IPv4Network(text, strict=True)
    except ValueError as exc:
        raise ValueError(f"{text!r} is not an IPv4 network in CIDR form ({exc})") from None
