"""The address plan: one /24 per rail per cable (or per switch fabric rail).

Both ends of one rail of one cable share a subnet; the two twins of a port never do, because
two interfaces in one subnet make the kernel pick either for replies and NCCL then fails
(facts/dgx-spark.md, eugr/spark-vllm-docker#270). A node's host number is its index + 1 in
every subnet, so spark-1 is .1 everywhere and addresses read at a glance.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from typing import cast

from sparkctl.topology.hardware import RAILS, hca, netdev
from sparkctl.topology.model import RAIL_PREFIX, ClusterSpec, PortRef, Violation


@dataclass(frozen=True)
class Peer:
    host: str
    interface: str
    address: IPv4Address


@dataclass(frozen=True)
class InterfacePlan:
    node: str
    name: str  # netdev, e.g. enp1s0f0np0
    hca: str  # RDMA device, e.g. rocep1s0f0
    port: int
    rail: int
    address: IPv4Interface
    mtu: int
    peers: tuple[Peer, ...]
    segment: str  # the L2 segment this rail sits on, e.g. "spark-1:p0 -- spark-2:p1 rail 0"


@dataclass(frozen=True)
class RailSubnet:
    """One L2 segment of one rail and the subnet it gets."""

    label: str
    rail: int
    network: IPv4Network
    members: tuple[tuple[str, str, IPv4Address], ...]  # (node, netdev, address)


@dataclass(frozen=True)
class AddressPlan:
    subnets: tuple[RailSubnet, ...]
    interfaces: dict[str, list[InterfacePlan]]

    def interface(self, node: str, name: str) -> InterfacePlan:
        for item in self.interfaces.get(node, []):
            if item.name == name:
                return item
        raise KeyError(f"{node}:{name}")

    def all_interfaces(self) -> list[InterfacePlan]:
        return [i for items in self.interfaces.values() for i in items]


class PlanError(Exception):
    def __init__(self, violations: list[Violation]) -> None:
        super().__init__("; ".join(str(v) for v in violations))
        self.violations = violations


def _segments(spec: ClusterSpec) -> list[tuple[str, int, list[PortRef]]]:
    """(label, rail, member ports) for every rail segment, in a deterministic order."""
    segments = []
    switch_ports = sorted(
        (end for c in spec.cables if c.to_switch for end in c.ends() if not end.is_switch),
        key=lambda ref: (spec.node(ref.node).index, ref.port))
    if switch_ports:
        for rail in RAILS:
            segments.append((f"switch rail {rail}", rail, switch_ports))
    for cable in spec.cables:
        if cable.to_switch:
            continue
        for rail in RAILS:
            segments.append((f"{cable} rail {rail}", rail, [cable.a, cable.b]))
    return segments


def _check_pool(spec: ClusterSpec, needed: int) -> tuple[list[IPv4Network], list[Violation]]:
    found = []
    # Overlapping pool entries would hand out one /24 twice (once from each entry).
    for index, net in enumerate(spec.pool):
        for other in spec.pool[:index]:
            if net.overlaps(other):
                found.append(Violation(
                    "pool-overlap", f"pool networks {other} and {net} overlap: the plan would "
                    "give one subnet to two rails",
                    hint="list each network once, with no network inside another",
                    location=spec.location("pool")))
    for reserved in spec.reserved:
        for net in spec.pool:
            if net.overlaps(reserved):
                found.append(Violation(
                    "pool-overlap", f"address pool {net} overlaps reserved network {reserved}",
                    hint="choose a pool outside every reserved network",
                    location=spec.location("pool")))
    for node in spec.nodes:
        try:
            mgmt = ipaddress.IPv4Address(node.mgmt_address)
        except ValueError:
            continue  # a host name: nothing to compare
        for net in spec.pool:
            if mgmt in net:
                found.append(Violation(
                    "pool-overlap",
                    f"management address {mgmt} lies inside the data-network pool {net}",
                    node=node.name,
                    hint="move the pool (e.g. pool: 192.168.100.0/22) away from the "
                    "management network, or the data rails would shadow it",
                    location=spec.location("pool")))
    subnets = [s for net in spec.pool for s in
               (net.subnets(new_prefix=RAIL_PREFIX) if net.prefixlen <= RAIL_PREFIX else [])]
    too_narrow = [net for net in spec.pool if net.prefixlen > RAIL_PREFIX]
    for net in too_narrow:
        found.append(Violation(
            "pool-too-small", f"pool network {net} is smaller than one /{RAIL_PREFIX} rail subnet",
            hint=f"give networks of /{RAIL_PREFIX} or larger", location=spec.location("pool")))
    if len(subnets) < needed:
        found.append(Violation(
            "pool-too-small",
            f"the pool holds {len(subnets)} /{RAIL_PREFIX} subnet(s) but this cabling needs "
            f"{needed} (one per rail per cable)",
            hint="widen the pool, e.g. pool: [192.168.100.0/22, 192.168.104.0/22]",
            location=spec.location("pool")))
    return subnets, found


def plan_addresses(spec: ClusterSpec) -> AddressPlan:
    """Assign addresses; raises PlanError with violations when the pool cannot serve."""
    segments = _segments(spec)
    pool, problems = _check_pool(spec, len(segments))
    if problems:
        raise PlanError(problems)
    subnets: list[RailSubnet] = []
    interfaces: dict[str, list[InterfacePlan]] = {n.name: [] for n in spec.nodes}
    for (label, rail, members), network in zip(segments, pool, strict=False):
        # Segments hold Spark ends only (_segments leaves the switch out): every port is set.
        addressed = [
            (ref, netdev(cast(int, ref.port), rail),
             network.network_address + spec.node(ref.node).index + 1)
            for ref in members
        ]
        subnets.append(RailSubnet(label, rail, network,
                                  tuple((r.node, dev, addr) for r, dev, addr in addressed)))
        for ref, dev, addr in addressed:
            assert ref.port is not None  # a Spark end, as above
            peers = tuple(Peer(o.node, odev, oaddr) for o, odev, oaddr in addressed if o != ref)
            interfaces[ref.node].append(InterfacePlan(
                node=ref.node, name=dev, hca=hca(ref.port, rail), port=ref.port, rail=rail,
                address=IPv4Interface(f"{addr}/{network.prefixlen}"), mtu=spec.mtu,
                peers=peers, segment=label))
    for items in interfaces.values():
        items.sort(key=lambda i: (i.port, i.rail))
    plan = AddressPlan(subnets=tuple(subnets), interfaces=interfaces)
    problems = plan_invariants(plan)
    if problems:
        raise PlanError(problems)
    return plan


def plan_invariants(plan: AddressPlan) -> list[Violation]:
    """What every plan must satisfy, checked on the result whatever produced it: each
    segment its own subnet (no two overlapping), each address once, and no node with two
    interfaces in one subnet. A plan that fails is refused before anything is written."""
    found = []
    for index, subnet in enumerate(plan.subnets):
        for other in plan.subnets[:index]:
            if subnet.network.overlaps(other.network):
                found.append(Violation(
                    "subnet-reused", f"subnet {subnet.network} of {subnet.label} overlaps "
                    f"{other.network} of {other.label}: two segments would share addresses",
                    hint="give the pool non-overlapping networks"))
    seen: dict[IPv4Address, str] = {}
    for item in plan.all_interfaces():
        address = item.address.ip
        if address in seen:
            found.append(Violation(
                "address-reused", f"address {address} is planned for both {seen[address]} and "
                f"{item.node}:{item.name}", node=item.node, port=item.port))
        seen.setdefault(address, f"{item.node}:{item.name}")
    for node, items in plan.interfaces.items():
        for index, item in enumerate(items):
            for other in items[:index]:
                if item.address.network.overlaps(other.address.network):
                    found.append(Violation(
                        "twins-share-subnet", f"{other.name} and {item.name} are both in "
                        f"{item.address.network}: the kernel would answer from either",
                        node=node, port=item.port,
                        hint="every rail of every cable needs its own subnet"))
    return found


def written_plan_violations(
        interfaces: list[tuple[str, str, IPv4Interface, list[tuple[str, str]]]]) -> list[Violation]:
    """The same invariant for addresses someone wrote down (an inventory): interfaces are
    (node, netdev, address, peers as (node, netdev)); interfaces that list each other as peers
    form one segment, and each segment must have its own subnet."""
    parent: dict[tuple[str, str], tuple[str, str]] = {}

    def root(key: tuple[str, str]) -> tuple[str, str]:
        while parent.setdefault(key, key) != key:
            key = parent[key]
        return key

    for node, dev, _, peers in interfaces:
        for peer in peers:
            parent[root((node, dev))] = root(peer)
    found = []
    owner: dict[IPv4Network, tuple[tuple[str, str], str]] = {}
    for node, dev, address, _ in interfaces:
        segment = root((node, dev))
        for network, (other_segment, other) in owner.items():
            if network.overlaps(address.network) and other_segment != segment:
                found.append(Violation(
                    "subnet-reused", f"{dev} ({address}) is in the subnet of {other}, which "
                    "is on another cable or rail: one subnet on two segments",
                    node=node, hint="give every rail of every cable its own subnet "
                    "(regenerate the inventory with `sparkctl inventory`)"))
                break
        owner.setdefault(address.network, (segment, f"{node}:{dev}"))
    return found
