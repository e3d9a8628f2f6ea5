"""Per-rail state of what is cabled: both twins up, line rate, MTU, twin addressing.

Cables are compared elsewhere; this module looks inside each cabled port, where the common
silent failures live (facts/dgx-spark.md): one twin down or unaddressed, a switch port
negotiated at 100G, an MTU that one end never got.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sparkctl.discover.findings import DRIFT, NOTE, Finding
from sparkctl.discover.observe import Endpoint, Observation
from sparkctl.discover.reports import InterfaceReport, NodeReport
from sparkctl.topology.hardware import RAILS, netdev
from sparkctl.topology.model import PortRef

if TYPE_CHECKING:
    from sparkctl.platform import Platform


@dataclass(frozen=True)
class RailContext:
    reports: dict[str, NodeReport]
    platform: Platform | None  # None when unknown (bare hosts that are not DGX Sparks)
    planned_mtu: int | None  # None without a declaration
    window_s: float
    planned_addresses: dict[tuple[str, str], str] | None = None  # (node, netdev) -> "a.b.c.d/24"

    def iface(self, node: str, name: str) -> InterfaceReport | None:
        report = self.reports.get(node)
        return report.interface(name) if report else None


def _dev(ref: PortRef, rail: int) -> str:
    """The netdev of one rail of a Spark's port (never the switch end)."""
    assert ref.port is not None, ref
    return netdev(ref.port, rail)


def why_down(iface: InterfaceReport | None, window_s: float) -> str:
    if iface is None or not iface.exists:
        return "the netdev does not exist (mlx5 driver not loaded?)"
    if not iface.admin_up:
        return "administratively down"
    if not iface.carrier:
        return "no carrier"
    return f"carrier up, but no discovery frame crossed in {window_s:g} s"


def _fix_down(node: str, iface: InterfaceReport | None, others: list[str]) -> str:
    if iface is not None and iface.exists and not iface.admin_up:
        return (f"run `ip link set {iface.name} up` on {node} (`sparkctl provision` brings it up "
                "and keeps it up)")
    if iface is not None and iface.exists and not iface.carrier:
        return (f"reseat the cable at {' and '.join(others)}; if that twin stays dark, replace "
                "the cable or transceiver (one of its two x4 halves does not link)")
    if iface is not None and iface.exists:
        return ("check that the switch port or far end forwards broadcast frames on this rail, "
                "then rerun with a longer --window")
    return f"check `ip link` on {node}; the ConnectX-7 driver must expose all four twins"


def port_state(ref: PortRef, ctx: RailContext) -> str | None:
    """Why a port carries no observed cable, for missing-cable findings."""
    states = []
    for rail in RAILS:
        name = _dev(ref, rail)
        states.append(f"{name}: {why_down(ctx.iface(ref.node, name), ctx.window_s)}")
    return f"{ref}: " + ", ".join(states)


def twin_findings(observation: Observation, ctx: RailContext) -> list[Finding]:
    found = []
    for item in observation.cables:
        if len(item.rails) == len(RAILS):
            continue
        ends = [e for e in item.cable.ends() if not e.is_switch]
        for rail in RAILS:
            if rail in item.rails:
                continue
            name_of = {e: _dev(e, rail) for e in ends}
            ifaces = {e: ctx.iface(e.node, name_of[e]) for e in ends}
            causes = {e: why_down(ifaces[e], ctx.window_s) for e in ends}
            admin_down = [e for e, i in ifaces.items()
                          if i is not None and i.exists and not i.admin_up]
            subjects = admin_down or ends
            up_rail = item.rails[0] if item.rails else None
            for subject in subjects:
                others = [f"{e} {name_of[e]}: {causes[e]}" for e in ends if e != subject]
                message = (f"only one twin up on {subject}: rail {rail} ({name_of[subject]}) is "
                           f"{causes[subject]}")
                if up_rail is not None:
                    message += f"; rail {up_rail} ({_dev(subject, up_rail)}) works"
                if others:
                    message += f" [{'; '.join(others)}]"
                fix = _fix_down(subject.node, ifaces[subject], [str(e) for e in ends])
                found.append(Finding("one-twin", DRIFT, str(subject), message, fix))
    for item in observation.cables:
        if item.crossed:
            found.append(Finding(
                "crossed-rails", DRIFT, ",".join(str(e) for e in item.cable.ends()),
                f"rail 0 at one end of {item.cable} reaches rail 1 at the other; the address "
                "plan pairs twins rail by rail",
                "use a straight QSFP cable (no breakout or crossed lanes) between the ports"))
    return found


def _cabled_endpoints(observation: Observation) -> list[Endpoint]:
    ends = []
    for item in observation.cables:
        for ref in item.cable.ends():
            if ref.is_switch:
                continue
            for rail in item.rails:
                assert ref.port is not None
                ends.append(Endpoint(ref.node, ref.port, rail, _dev(ref, rail)))
    return sorted(set(ends))


def speed_findings(observation: Observation, ctx: RailContext) -> list[Finding]:
    if ctx.platform is None:
        return []
    if ctx.platform.link_speed_mbps is None:
        return [Finding("speed-not-checked", NOTE, ctx.platform.name,
                        f"line rate not checked: {ctx.platform.link_speed_note}")]
    line_rate = ctx.platform.link_speed_mbps
    found = []
    for end in _cabled_endpoints(observation):
        iface = ctx.iface(end.node, end.netdev)
        if iface is None or not iface.up:
            continue
        to_switch = any(c.cable.to_switch for c in observation.cables_at(end.port_ref))
        if iface.speed_mbps is None:
            found.append(Finding("speed-unknown", NOTE, str(end.port_ref),
                                 f"{end}: the driver reports no speed",
                                 f"check `ethtool {end.netdev}` on {end.node}"))
        elif iface.speed_mbps < line_rate:
            fix = (f"force 200G on the switch port (autonegotiation off, matching FEC), and on "
                   f"{end.node}: `ethtool -s {end.netdev} speed 200000 autoneg off`"
                   if to_switch else
                   f"reseat the cable at {end.port_ref}; if it stays below 200G, use a 200G-rated "
                   "QSFP cable")
            found.append(Finding(
                "slow-link", DRIFT, str(end.port_ref),
                f"{end} links at {iface.speed_mbps} Mb/s; a Spark port runs at {line_rate}",
                fix))
    return found


def mtu_findings(observation: Observation, ctx: RailContext) -> list[Finding]:
    found = []
    unprovisioned: dict[str, list[str]] = defaultdict(list)
    for end in _cabled_endpoints(observation):
        iface = ctx.iface(end.node, end.netdev)
        if iface is None or iface.mtu is None or ctx.planned_mtu is None:
            continue
        if iface.mtu == ctx.planned_mtu:
            continue
        if iface.ipv4:
            found.append(Finding(
                "mtu-differs", DRIFT, str(end.port_ref),
                f"{end} has MTU {iface.mtu}; the plan says {ctx.planned_mtu}",
                f"run `sparkctl provision` again, or `ip link set {end.netdev} mtu "
                f"{ctx.planned_mtu}` on {end.node} (and make it persistent in netplan)"))
        else:
            unprovisioned[end.node].append(f"{end.netdev} {iface.mtu}")
    if unprovisioned:
        count = sum(len(items) for items in unprovisioned.values())
        mtus = sorted({item.rsplit(" ", 1)[1] for items in unprovisioned.values()
                       for item in items})
        found.append(Finding(
            "mtu-not-provisioned", NOTE, ",".join(unprovisioned),
            f"{count} cabled interface(s) without an IPv4 address have MTU {'/'.join(mtus)}, the "
            f"plan says {ctx.planned_mtu}: not provisioned yet",
            "`sparkctl provision` sets addresses and MTU"))
    # Both ends of one point-to-point rail must agree, declared or not: jumbo frames from the
    # larger side are dropped by the smaller one.
    for item in observation.cables:
        if item.cable.to_switch:
            continue
        for rail in item.rails:
            a, b = item.cable.a, item.cable.b
            ia = ctx.iface(a.node, _dev(a, rail))
            ib = ctx.iface(b.node, _dev(b, rail))
            if ia and ib and ia.mtu and ib.mtu and ia.mtu != ib.mtu:
                small = (a, ia) if ia.mtu < ib.mtu else (b, ib)
                big = max(ia.mtu, ib.mtu)
                found.append(Finding(
                    "mtu-mismatch", DRIFT, f"{a},{b}",
                    f"rail {rail} of {item.cable}: MTU {ia.mtu} at {a} ({ia.name}) vs {ib.mtu} at "
                    f"{b} ({ib.name}); frames above {min(ia.mtu, ib.mtu)} bytes are dropped",
                    f"set the same MTU at both ends, e.g. `ip link set {small[1].name} mtu {big}` "
                    f"on {small[0].node} (`sparkctl provision` sets the plan's MTU)"))
    return found


def address_findings(observation: Observation, ctx: RailContext) -> list[Finding]:
    found = []
    ports = sorted({r for c in observation.cables for r in c.cable.ends() if not r.is_switch},
                   key=lambda r: (r.node, r.port))
    for ref in ports:
        found_twins = [ctx.iface(ref.node, _dev(ref, rail)) for rail in RAILS]
        twins = [t for t in found_twins if t is not None]
        if len(twins) < len(RAILS):
            continue
        addressed = [t for t in twins if t.ipv4]
        if len(addressed) == 1:
            bare = next(t for t in twins if not t.ipv4)
            planned = (ctx.planned_addresses or {}).get((ref.node, bare.name))
            fix = ("run `sparkctl provision` again" + (
                f", or add {planned} to {bare.name} on {ref.node}" if planned else ""))
            found.append(Finding(
                "twin-unaddressed", DRIFT, str(ref),
                f"{ref}: {addressed[0].name} has {', '.join(addressed[0].ipv4)} but its twin "
                f"{bare.name} has no IPv4 address; NCCL will use one rail (half the bandwidth)",
                fix))
        if len(addressed) == 2:
            shared = set(twins[0].ipv4_networks) & set(twins[1].ipv4_networks)
            if shared:
                found.append(Finding(
                    "twins-same-subnet", DRIFT, str(ref),
                    f"{ref}: both twins ({twins[0].name}, {twins[1].name}) sit in "
                    f"{', '.join(str(n) for n in sorted(shared))}; the kernel answers from either "
                    "and NCCL fails (eugr/spark-vllm-docker#270)",
                    "give each twin its own /24 (`sparkctl provision` does)"))
    return found


def silent_findings(observation: Observation, ctx: RailContext) -> list[Finding]:
    """Links with carrier that no cluster node answered on, on ports with no observed cable."""
    found = []
    cabled = {r for c in observation.cables for r in c.cable.ends()}
    for end in observation.silent:
        if end.port_ref in cabled:
            continue  # a port whose other twin worked: twin_findings explains this rail
        strangers = observation.strangers.get(end)
        if strangers:
            message = (f"{end} has a link to something that is not a Spark of this cluster "
                       f"(heard {', '.join(strangers[:4])})")
            fix = (f"unplug {end.port_ref}, or add the node behind it to the cluster "
                   "(a switch must also have other Sparks of this cluster on it)")
        else:
            message = (f"{end} has carrier, but no frame from a node of this cluster crossed "
                       f"in {ctx.window_s:g} s")
            fix = (f"check what {end.port_ref} is cabled to; if it is a node of this cluster, "
                   "rerun with a longer --window")
        found.append(Finding("unknown-link", DRIFT, str(end.port_ref), message, fix))
    return found


def segment_findings(observation: Observation) -> list[Finding]:
    found = []
    for rail, segs in sorted(observation.switch_segments.items()):
        if len(segs) > 1:
            parts = " | ".join(", ".join(sorted(str(r) for r in seg)) for seg in segs)
            found.append(Finding(
                "split-switch", DRIFT, ",".join(sorted(str(r) for seg in segs for r in seg)),
                f"rail {rail} forms {len(segs)} separate switch segments ({parts}); the nodes "
                "of one segment cannot reach the others",
                "put every Spark's switch port in one L2 segment (same switch, same VLAN)"))
    return found


def admin_findings(reports: dict[str, NodeReport]) -> list[Finding]:
    """Twins found administratively down: brought up for the look (--bring-up), or hidden."""
    found = []
    hidden = []
    for node, report in reports.items():
        provisioned = any(i.ipv4 for i in report.interfaces)
        for iface in report.interfaces:
            if iface.brought_up:
                found.append(Finding(
                    "admin-down", DRIFT if provisioned else NOTE, node,
                    f"{iface.name} was administratively down; discovery set it up for the "
                    "window and down again" + ("" if provisioned else " (not provisioned yet)"),
                    f"`sparkctl provision` brings it up, or `ip link set {iface.name} up` on "
                    f"{node}"))
            elif iface.exists and not iface.admin_up:
                hidden.append(f"{node}:{iface.name}")
    if hidden:
        found.append(Finding(
            "cannot-see", NOTE, ",".join(sorted({h.split(":")[0] for h in hidden})),
            f"{len(hidden)} twin(s) are administratively down, and discovery cannot see what they "
            f"are cabled to: {', '.join(hidden)}",
            "rerun with --bring-up to set them up for the window (and down again after)"))
    return found


def rail_findings(observation: Observation, ctx: RailContext) -> list[Finding]:
    return (twin_findings(observation, ctx) + speed_findings(observation, ctx)
            + mtu_findings(observation, ctx) + address_findings(observation, ctx)
            + silent_findings(observation, ctx) + segment_findings(observation))
