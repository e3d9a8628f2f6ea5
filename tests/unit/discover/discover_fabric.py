"""Hand-built wirings -> the NodeReports the agent would send for them.

This is test scaffolding for sparkctl's own agent format (not tool output): it lets the
classification, comparison and rail checks run on any cabling, including ones no lab can
build (crossed rails, strangers on a segment, 100G ports).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sparkctl.discover.reports import InterfaceReport, NodeReport, Sighting
from sparkctl.topology.hardware import RAILS, all_netdevs, netdev
from sparkctl.topology.model import Cable, PortRef

Wire = tuple[str, str]  # (node, netdev)


def mac_of(node: str, name: str) -> str:
    n = int(node.rsplit("-", 1)[-1]) if node[-1].isdigit() else 9
    return f"02:00:00:{n:02x}:{all_netdevs().index(name):02x}:01"


def segments_for(cables: list[Cable]) -> list[list[Wire]]:
    """One L2 segment per rail per cable; all switch ports of one rail share a segment."""
    segs: list[list[Wire]] = []
    switch: dict[int, list[Wire]] = {r: [] for r in RAILS}
    for cable in cables:
        ends = [e for e in cable.ends() if not e.is_switch]
        for rail in RAILS:
            wires = [(e.node, netdev(e.port, rail)) for e in ends]
            if cable.to_switch:
                switch[rail] += wires
            else:
                segs.append(wires)
    segs += [w for w in switch.values() if w]
    return segs


def cables(*texts: str) -> list[Cable]:
    out = []
    for text in texts:
        a, b = (t.strip() for t in text.split("--"))

        def ref(t: str) -> PortRef:
            if t == "switch":
                return PortRef("switch", None)
            node, port = t.split(":p")
            return PortRef(node, int(port))
        out.append(Cable(ref(a), ref(b)))
    return out


@dataclass
class Fabric:
    nodes: list[str]
    segments: list[list[Wire]]
    admin_down: set[Wire] = field(default_factory=set)
    dark: set[Wire] = field(default_factory=set)  # admin up, but the lane does not link
    speed: dict[Wire, int] = field(default_factory=dict)
    mtu: dict[Wire, int] = field(default_factory=dict)
    ipv4: dict[Wire, list[str]] = field(default_factory=dict)
    strangers: dict[Wire, list[str]] = field(default_factory=dict)  # foreign MACs heard there
    deaf: set[Wire] = field(default_factory=set)  # carrier, but frames never cross
    dgx_name: str | None = "DGX Spark"

    def _segment_of(self, wire: Wire) -> list[Wire] | None:
        return next((s for s in self.segments if wire in s), None)

    def _linked(self, wire: Wire) -> bool:
        if wire in self.admin_down or wire in self.dark:
            return False
        seg = self._segment_of(wire)
        if seg is None:
            return wire in self.strangers
        others = [w for w in seg if w != wire and w not in self.admin_down and w not in self.dark]
        return bool(others) or wire in self.strangers

    def reports(self) -> dict[str, NodeReport]:
        out = {}
        for node in self.nodes:
            ifaces, heard = [], []
            for name in all_netdevs():
                wire = (node, name)
                up = self._linked(wire)
                ifaces.append(InterfaceReport(
                    name=name, exists=True, mac=mac_of(node, name),
                    admin_up=wire not in self.admin_down, carrier=up,
                    operstate="up" if up else "down",
                    speed_mbps=self.speed.get(wire, 200_000) if up else None,
                    mtu=self.mtu.get(wire, 1500), ipv4=tuple(self.ipv4.get(wire, ())),
                    sent=10 if up else 0))
                seg = self._segment_of(wire)
                if not up or seg is None or wire in self.deaf:
                    continue
                for other in seg:
                    if other != wire and self._linked(other) and other not in self.deaf:
                        heard.append(Sighting(on=name, node=other[0], iface=other[1],
                                              mac=mac_of(*other), src_mac=mac_of(*other),
                                              count=10))
            stations = {name: tuple(macs) for (n, name), macs in self.strangers.items()
                        if n == node}
            out[node] = NodeReport(node=node, hostname=node, dgx_name=self.dgx_name,
                                   interfaces=tuple(ifaces), heard=tuple(heard),
                                   stations=stations)
        return out


def fabric(nodes: list[str], *texts: str, **kw) -> Fabric:
    return Fabric(nodes, segments_for(cables(*texts)), **kw)
