"""From what every node heard to cables: layer-2 segments, point-to-point links and the switch.

A *segment* is a set of interfaces that heard each other's frames (union of "X heard Y").
Two interfaces of two different ports and nothing else on it: one rail of a cable. More than
two interfaces, or any station that is none of the cluster's interfaces (a switch's LLDP, STP):
a switch. Rails are then folded into cables, because a cable carries both twins of a port.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from sparkctl.discover.reports import NodeReport
from sparkctl.topology.hardware import device_by_netdev
from sparkctl.topology.model import SWITCH, Cable, ClusterSpec, PortRef


@dataclass(frozen=True, order=True)
class Endpoint:
    """One twin netdev of one Spark port."""

    node: str
    port: int
    rail: int
    netdev: str

    @property
    def port_ref(self) -> PortRef:
        return PortRef(self.node, self.port)

    def __str__(self) -> str:
        return f"{self.node}:p{self.port} rail {self.rail} ({self.netdev})"


@dataclass(frozen=True)
class ObservedCable:
    cable: Cable
    rails: tuple[int, ...]  # rails whose frames crossed this cable
    crossed: bool = False  # rail 0 at one end reached rail 1 at the other (point-to-point only)
    via_segment: bool = False  # a two-member segment read as a switch because of the declaration


@dataclass(frozen=True)
class Observation:
    nodes: tuple[str, ...]
    cables: tuple[ObservedCable, ...]
    silent: tuple[Endpoint, ...]  # carrier up, yet no frame crossed in either direction
    strangers: dict[Endpoint, tuple[str, ...]] = field(default_factory=dict)  # foreign MACs
    switch_segments: dict[int, tuple[frozenset[PortRef], ...]] = field(default_factory=dict)

    def cables_at(self, ref: PortRef) -> list[ObservedCable]:
        return [c for c in self.cables if ref in c.cable.ends()]


class _Sets:
    """Union-find over endpoints."""

    def __init__(self) -> None:
        self.parent: dict[Endpoint, Endpoint] = {}

    def find(self, item: Endpoint) -> Endpoint:
        self.parent.setdefault(item, item)
        while self.parent[item] != item:
            self.parent[item] = self.parent[self.parent[item]]
            item = self.parent[item]
        return item

    def union(self, a: Endpoint, b: Endpoint) -> None:
        self.parent[self.find(a)] = self.find(b)

    def groups(self) -> list[frozenset[Endpoint]]:
        out: dict[Endpoint, set[Endpoint]] = defaultdict(set)
        for item in self.parent:
            out[self.find(item)].add(item)
        return [frozenset(g) for g in out.values()]


def endpoints_of(reports: list[NodeReport]) -> dict[tuple[str, str], Endpoint]:
    found = {}
    for report in reports:
        for iface in report.interfaces:
            dev = device_by_netdev(iface.name)
            if dev is not None and iface.exists:
                found[(report.node, iface.name)] = Endpoint(report.node, dev.port, dev.rail,
                                                            iface.name)
    return found


def segments(reports: list[NodeReport]) -> list[frozenset[Endpoint]]:
    """Sets of interfaces that heard each other, each of two or more members."""
    endpoints = endpoints_of(reports)
    sets = _Sets()
    for report in reports:
        for seen in report.heard:
            here = endpoints.get((report.node, seen.on))
            there = endpoints.get((seen.node, seen.iface))
            if here is not None and there is not None and here != there:
                sets.union(here, there)
    return sorted((g for g in sets.groups() if len(g) >= 2), key=lambda g: sorted(g))


def _strangers(reports: list[NodeReport]) -> dict[Endpoint, tuple[str, ...]]:
    endpoints = endpoints_of(reports)
    ours = {i.mac.lower() for r in reports for i in r.interfaces if i.mac}
    found = {}
    for report in reports:
        for netdev, macs in report.stations.items():
            end = endpoints.get((report.node, netdev))
            others = tuple(sorted(m for m in (x.lower() for x in macs) if m not in ours))
            if end is not None and others:
                found[end] = others
    return found


def _order_key(nodes: list[str]):
    index = {n: i for i, n in enumerate(nodes)}

    def key(ref: PortRef):
        return (ref.node == SWITCH, index.get(ref.node, len(index)), ref.port or 0)
    return key


def observe(reports: list[NodeReport]) -> Observation:
    nodes = [r.node for r in reports]
    key = _order_key(nodes)
    strangers = _strangers(reports)
    p2p: dict[tuple[PortRef, PortRef], set[int]] = defaultdict(set)
    crossed: set[tuple[PortRef, PortRef]] = set()
    to_switch: dict[PortRef, set[int]] = defaultdict(set)
    switch_segments: dict[int, list[frozenset[PortRef]]] = defaultdict(list)
    in_segment: set[Endpoint] = set()
    for seg in segments(reports):
        in_segment |= seg
        ports = {e.port_ref for e in seg}
        foreign = any(e in strangers for e in seg)
        if len(seg) == 2 and len(ports) == 2 and not foreign:
            a, b = sorted(seg, key=lambda e: key(e.port_ref))
            pair = (a.port_ref, b.port_ref)
            p2p[pair].add(a.rail)
            if a.rail != b.rail:
                crossed.add(pair)
            continue
        for end in seg:
            to_switch[end.port_ref].add(end.rail)
        for rail in sorted({e.rail for e in seg}):
            switch_segments[rail].append(frozenset(e.port_ref for e in seg if e.rail == rail))
    # One port carries one cable: if one rail of it reached a switch, a two-member segment on
    # the other rail is that switch too (it just had no other talker on that rail).
    for (ref_a, ref_b), rails in list(p2p.items()):
        if ref_a in to_switch or ref_b in to_switch:
            for ref in (ref_a, ref_b):
                to_switch[ref] |= rails
            del p2p[(ref_a, ref_b)]
    cables = [ObservedCable(Cable(a, b), tuple(sorted(rails)), crossed=(a, b) in crossed)
              for (a, b), rails in p2p.items()]
    cables += [ObservedCable(Cable(ref, PortRef(SWITCH, None)), tuple(sorted(rails)))
               for ref, rails in to_switch.items()]
    cables.sort(key=lambda c: (key(c.cable.a), key(c.cable.b)))
    silent = []
    for end in endpoints_of(reports).values():
        iface = next(r for r in reports if r.node == end.node).interface(end.netdev)
        if iface is not None and iface.up and end not in in_segment:
            silent.append(end)
    return Observation(nodes=tuple(nodes), cables=tuple(cables), silent=tuple(sorted(silent)),
                       strangers=strangers,
                       switch_segments={r: tuple(s) for r, s in switch_segments.items()})


def read_as_declared_switch(observation: Observation,
                            declared: ClusterSpec | None) -> tuple[Observation, list[str]]:
    """A switch carrying only two cluster ports looks exactly like a cable at layer 2.

    Where the declaration puts both ends of such a cable on the switch, read it that way, and
    say so: nothing on the wire can tell the two apart.
    """
    if declared is None:
        return observation, []
    declared_switch = {end for c in declared.cables if c.to_switch for end in c.ends()
                       if not end.is_switch}
    cables, notes = [], []
    for item in observation.cables:
        a, b = item.cable.ends()
        if not item.cable.to_switch and not item.crossed and a in declared_switch \
                and b in declared_switch:
            for end in (a, b):
                cables.append(ObservedCable(Cable(end, PortRef(SWITCH, None)), item.rails,
                                            via_segment=True))
            notes.append(f"{a} and {b} share a segment with no other station: a switch with "
                         "only these two ports in use and a direct cable look the same at layer "
                         "2; read as the declared switch")
        else:
            cables.append(item)
    if not notes:
        return observation, []
    key = _order_key(list(observation.nodes))
    cables.sort(key=lambda c: (key(c.cable.a), key(c.cable.b)))
    return Observation(observation.nodes, tuple(cables), observation.silent,
                       observation.strangers, observation.switch_segments), notes
