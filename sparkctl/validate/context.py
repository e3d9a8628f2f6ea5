"""What `validate` checks: the nodes, their planned interfaces and the platform's figures.

Built from a resolved Target (cluster file, inventory or lab); the inventory adds what only
it knows (how to reach nodes over SSH, the lab's shaped rate).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Interface
from pathlib import Path

import yaml

from sparkctl.errors import InputError, Location
from sparkctl.probe.hosts import SshEndpoint, endpoints_for_target
from sparkctl.topology.addressing import InterfacePlan, Peer
from sparkctl.topology.environment import DEFAULT_GID_INDEX
from sparkctl.topology.hardware import MGMT_INTERFACE, all_netdevs, device_by_netdev

LAB = "lab"
DGX_SPARK = "dgx-spark"


@dataclass(frozen=True)
class LabShaping:
    rate_mbit: float  # tc tbf rate on every lab data link
    scale: float  # real figure = lab figure x scale


@dataclass(frozen=True)
class NodeUnderTest:
    name: str
    index: int
    endpoint: SshEndpoint
    interfaces: tuple[InterfacePlan, ...]
    nccl_env: dict[str, str] = field(default_factory=dict)

    def interface(self, name: str) -> InterfacePlan | None:
        return next((i for i in self.interfaces if i.name == name), None)


@dataclass(frozen=True)
class ValidationContext:
    description: str
    topology: str
    platform: str
    mtu: int
    nodes: tuple[NodeUnderTest, ...]
    lab: LabShaping | None = None
    gid_index: int = DEFAULT_GID_INDEX
    hostfile: str = ""

    @property
    def is_lab(self) -> bool:
        return self.platform == LAB

    def node(self, name: str) -> NodeUnderTest:
        for node in self.nodes:
            if node.name == name:
                return node
        raise KeyError(name)

    def owner_of(self, address: str) -> tuple[str, InterfacePlan] | None:
        """The node and planned interface that own an IPv4 address."""
        for node in self.nodes:
            for iface in node.interfaces:
                if str(iface.address.ip) == address:
                    return node.name, iface
        return None

    def rails_shared_by_all(self) -> bool:
        """True when every node sits on the same rail subnets (direct, switch; not a ring).

        Only then can OpenMPI's TCP transport be pinned to the rails: it pairs every address
        a peer advertises without asking the routing table, and hangs on one it cannot reach
        (open-mpi/ompi#2168, #4963), which a ring's per-cable subnets always have.
        """
        nets = {frozenset(i.address.network for i in n.interfaces) for n in self.nodes}
        return len(nets) == 1

    def data_netdevs(self, node: str) -> list[str]:
        """The netdevs NCCL (or the lab's MPI) sends data on: twins of the HCAs in NCCL_IB_HCA."""
        hcas = [h for h in self.node(node).nccl_env.get("NCCL_IB_HCA", "").split(",") if h]
        planned = {i.hca: i.name for i in self.node(node).interfaces}
        return [planned[h] for h in hcas if h in planned]


def _sparks_group(inventory_path: Path | None) -> dict:
    if inventory_path is None:
        return {}
    try:
        data = yaml.safe_load(Path(inventory_path).read_text(encoding="utf-8"))
        return dict(data["all"]["children"]["sparks"])
    except (OSError, yaml.YAMLError, KeyError, TypeError, AttributeError) as exc:
        raise InputError(f"cannot read the sparks group of inventory {inventory_path}: {exc}",
                         location=Location(str(inventory_path))) from None


def _inventory_interfaces(group: dict, node: str, where: str) -> tuple[InterfacePlan, ...]:
    """The interfaces an inventory assigns a host: what provisioning applied, so what to find.

    Read from the inventory itself rather than re-planned from its cabling: the plan it holds
    is the one the network role wrote to the nodes.
    """
    hvars = (group.get("hosts") or {}).get(node) or {}
    items = []
    for index, item in enumerate(hvars.get("sparkctl_interfaces") or []):
        try:
            items.append(InterfacePlan(
                node=node, name=str(item["name"]), hca=str(item["hca"]), port=int(item["port"]),
                rail=int(item["rail"]), address=IPv4Interface(item["address"]),
                mtu=int(item["mtu"]),
                peers=tuple(Peer(str(p["host"]), str(p["interface"]), IPv4Address(p["address"]))
                            for p in item.get("peers") or []),
                segment=str(item.get("segment", ""))))
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(
                f"{where}: host {node}, sparkctl_interfaces[{index}] is malformed ({exc})",
                location=Location(where),
                hint="regenerate the inventory with `sparkctl inventory ... -o FILE`") from None
    return tuple(sorted(items, key=lambda i: (i.port, i.rail)))


def context_from_target(target) -> ValidationContext:
    """Everything validate needs from a resolved `sparkctl.targets.Target`."""
    cluster = target.cluster
    spec = cluster.spec
    group = _sparks_group(target.inventory_path)
    gvars = dict(group.get("vars") or {})
    endpoints = {e.name: e for e in endpoints_for_target(target)}
    nodes = []
    for node in spec.nodes:
        if node.name not in endpoints:
            raise InputError(f"node {node.name} has no SSH endpoint in {target.description}")
        if target.inventory_path is not None:
            interfaces = _inventory_interfaces(group, node.name, str(target.inventory_path))
        else:
            interfaces = tuple(sorted(cluster.plan.interfaces.get(node.name, []),
                                      key=lambda i: (i.port, i.rail)))
        nodes.append(NodeUnderTest(name=node.name, index=node.index,
                                   endpoint=endpoints[node.name], interfaces=interfaces,
                                   nccl_env=cluster.nccl_env(node.name)))
    lab = None
    if spec.platform == LAB:
        rate = gvars.get("sparkctl_lab_rate_mbit")
        if rate is None:
            raise InputError(
                f"{target.description} says sparkctl_platform: lab but has no "
                "sparkctl_lab_rate_mbit, so the rail ceiling is unknown",
                location=Location(str(target.inventory_path)) if target.inventory_path else None,
                hint="validate a lab with --lab NAME (its inventory carries the shaped rate)")
        lab = LabShaping(rate_mbit=float(rate), scale=float(gvars.get("sparkctl_lab_scale", 1)))
    gid = gvars.get("sparkctl_nccl_env", {}).get("NCCL_IB_GID_INDEX", DEFAULT_GID_INDEX)
    return ValidationContext(
        description=target.description, topology=spec.topology, platform=spec.platform,
        mtu=spec.mtu, nodes=tuple(nodes), lab=lab, gid_index=int(gid),
        hostfile=cluster.hostfile())


def cx7_netdevs() -> list[str]:
    """Every ConnectX-7 netdev a Spark has, cabled or not (stray addresses hide anywhere)."""
    return all_netdevs()


def twin_hca(netdev: str) -> str | None:
    dev = device_by_netdev(netdev)
    return dev.hca if dev else None


MANAGEMENT = MGMT_INTERFACE
