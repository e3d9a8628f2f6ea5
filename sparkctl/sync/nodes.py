"""The nodes a sync reaches: SSH endpoints and planned rail addresses, from one target.

This is the only module that reads sparkctl's target and SSH layers, so moving to the one
resolver (targets.py) and its connection model later is a change here only.
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network

from sparkctl.probe.hosts import SshEndpoint, endpoints_for_target
from sparkctl.probe.ssh import ProbePool


@dataclass(frozen=True)
class RailAddress:
    interface: str  # netdev, e.g. enp1s0f1np1
    address: IPv4Address
    network: IPv4Network
    port: int
    rail: int


@dataclass(frozen=True)
class SyncNode:
    name: str
    index: int
    endpoint: SshEndpoint
    rails: tuple[RailAddress, ...]


@dataclass(frozen=True)
class SyncCluster:
    description: str
    platform: str  # dgx-spark | lab
    nodes: tuple[SyncNode, ...]

    def node(self, name: str) -> SyncNode:
        for node in self.nodes:
            if node.name == name:
                return node
        raise KeyError(name)

    @property
    def names(self) -> list[str]:
        return [n.name for n in self.nodes]


def cluster_for_sync(target) -> SyncCluster:
    """Nodes of a resolved `sparkctl.targets.Target` with their SSH endpoint and the rail
    addresses of the cluster's address plan (an inventory's plan keeps its addresses)."""
    spec = target.cluster.spec
    endpoints = {e.name: e for e in endpoints_for_target(target)}
    nodes = []
    for node in spec.nodes:
        planned = sorted(target.cluster.plan.interfaces.get(node.name, []),
                         key=lambda i: (i.port, i.rail))
        rails = tuple(RailAddress(i.name, i.address.ip, i.address.network, i.port, i.rail)
                      for i in planned)
        nodes.append(SyncNode(node.name, node.index, endpoints[node.name], rails))
    return SyncCluster(target.description, spec.platform, tuple(nodes))


def open_pool(nodes: list[SyncNode], connect_timeout: float) -> ProbePool:
    """SSH to these nodes through the probe layer (host keys checked, RejectPolicy)."""
    return ProbePool([n.endpoint for n in nodes], connect_timeout=connect_timeout)
