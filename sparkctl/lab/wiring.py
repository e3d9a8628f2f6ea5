"""Network plumbing of a lab: namespaces, the management bridge, data veths, tc shaping.

Everything is created with `ip -batch` / `tc -batch` (one process per namespace, not per
link) and deleted by the names the lab record holds, never by pattern.
"""

from __future__ import annotations

import ipaddress
import json
import re

from sparkctl.errors import InputError
from sparkctl.lab import names
from sparkctl.lab.state import UNPLUGGED, LabRecord, LinkEnd, LinkRecord
from sparkctl.lab.system import ip_batch, run, tc_batch
from sparkctl.topology.hardware import MGMT_INTERFACE, PORTS, RAILS, netdev
from sparkctl.topology.model import SWITCH, ClusterSpec

DEFAULT_RATE = "2gbit"
SWITCH_MTU = 9216  # a 200GbE switch forwards jumbo frames whatever the nodes use
# TCP over a tbf needs a bucket of a few hundred KB at Gbit rates (measured: 64kb gives
# 93 %, 256kb 96 % of the rate, the rest is header overhead).
TBF_BURST = "256kb"
TBF_LATENCY = "20ms"
_RATE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(kbit|mbit|gbit)?\s*$", re.IGNORECASE)
_UNIT_MBIT = {"kbit": 0.001, "mbit": 1.0, "gbit": 1000.0, None: 1.0}


def parse_rate_mbit(text: str) -> int:
    """'2gbit' -> 2000; a bare number is Mbit/s, as in tc."""
    match = _RATE.match(text or "")
    mbit = float(match[1]) * _UNIT_MBIT[match[2] and match[2].lower()] if match else 0
    if not match or not 1 <= mbit <= 100_000:
        raise InputError(f"cannot use link rate {text!r}",
                         hint="give a rate between 1mbit and 100gbit, e.g. --rate 2gbit")
    return int(round(mbit))


def pick_mgmt_subnet(lab: str, taken: set[str]) -> ipaddress.IPv4Network:
    """A /24 in 10.250.0.0/16 used by no other lab and by no route or address on the host."""
    used = [ipaddress.IPv4Network(t) for t in taken]
    for entry in json.loads(run(["ip", "-j", "route", "show", "table", "all"]).stdout or "[]"):
        dst = entry.get("dst", "")
        if dst and dst != "default" and ":" not in dst:
            try:
                used.append(ipaddress.IPv4Network(dst, strict=False))
            except ValueError:
                continue
    # Start from a per-name offset so two labs rarely probe the same subnets.
    start = sum(lab.encode()) % 200
    for step in range(256):
        candidate = ipaddress.IPv4Network(f"10.250.{(start + step) % 256}.0/24")
        if not any(candidate.overlaps(u) for u in used):
            return candidate
    raise InputError("no free management subnet left in 10.250.0.0/16",
                     hint="bring some labs down (`sparkctl lab list`)")


def plan_links(lab: str, spec: ClusterSpec) -> tuple[str | None, list[LinkRecord]]:
    """One veth pair per rail per cable, ends named like the ConnectX-7 twins.

    Ports without a cable get a veth too, whose far end sits down in the spare namespace:
    like a real Spark, every node shows all four twins, the empty ones with NO-CARRIER.
    """
    index = {n.name: n.index for n in spec.nodes}
    links: list[LinkRecord] = []
    switch = None
    cabled: set[tuple[str, int]] = set()
    for cable in spec.cables:
        a, b = cable.a, cable.b
        if a.is_switch:
            a, b = b, a
        assert a.port is not None  # a Spark's end (a switch end is swapped to b)
        cabled.add((a.node, a.port))
        if not b.is_switch:
            assert b.port is not None  # a Spark's end
            cabled.add((b.node, b.port))
        for rail in RAILS:
            end_a = LinkEnd(names.node_netns(lab, a.node), netdev(a.port, rail), a.node,
                            a.port, rail)
            if b.is_switch:
                switch = names.switch_netns(lab)
                end_b = LinkEnd(switch, names.switch_port(index[a.node], a.port, rail),
                                SWITCH, None, rail)
            else:
                assert b.port is not None  # a Spark's end
                end_b = LinkEnd(names.node_netns(lab, b.node), netdev(b.port, rail), b.node,
                                b.port, rail)
            links.append(LinkRecord(end_a, end_b))
    for node in spec.nodes:
        for port in PORTS:
            if (node.name, port) in cabled:
                continue
            for rail in RAILS:
                links.append(LinkRecord(
                    LinkEnd(names.node_netns(lab, node.name), netdev(port, rail), node.name,
                            port, rail),
                    LinkEnd(names.spare_netns(lab), names.unplugged_end(node.index, port, rail),
                            UNPLUGGED, None, rail)))
    return switch, links


def create_namespaces(record: LabRecord) -> None:
    ip_batch([f"netns add {ns}" for ns in record.namespaces()], what="creating namespaces")


def create_mgmt(record: LabRecord) -> None:
    prefix = ipaddress.IPv4Network(record.mgmt_subnet).prefixlen
    cmds = [
        f"link add {record.mgmt_bridge} type bridge",
        f"addr add {record.mgmt_host_address}/{prefix} dev {record.mgmt_bridge}",
        f"link set {record.mgmt_bridge} up",
    ]
    for node in record.nodes:
        cmds += [
            f"link add {node.host_veth} type veth peer name {MGMT_INTERFACE} netns {node.netns}",
            f"link set {node.host_veth} master {record.mgmt_bridge} up",
        ]
    ip_batch(cmds, what="creating the management bridge")


def veth_command(link: LinkRecord) -> str:
    return (f"link add {link.a.ifname} netns {link.a.netns} type veth "
            f"peer name {link.b.ifname} netns {link.b.netns}")


def create_links(record: LabRecord) -> None:
    ip_batch([veth_command(link) for link in record.links], what="creating data links")


def configure_namespaces(record: LabRecord) -> None:
    """The switch's bridges, the spare ports, and tc shaping on every data veth end.

    Nodes' own links are left as a NIC is at power-on (down, no addresses, MTU 1500): their
    systemd, NetworkManager and netplan bring them up, as on DGX OS.
    """
    ends_by_ns: dict[str, list[LinkEnd]] = {}
    for link in record.links:
        for end in (link.a, link.b):
            ends_by_ns.setdefault(end.netns, []).append(end)
    if record.switch_netns:
        cmds = ["link set lo up"]
        for rail in RAILS:
            bridge = names.switch_bridge(rail)
            cmds += [f"link add {bridge} type bridge", f"link set {bridge} mtu {SWITCH_MTU}",
                     f"link set {bridge} up"]
        for end in ends_by_ns.get(record.switch_netns, []):
            cmds += [f"link set {end.ifname} mtu {SWITCH_MTU}",
                     f"link set {end.ifname} master {names.switch_bridge(end.rail)} up"]
        ip_batch(cmds, netns=record.switch_netns, what="configuring the switch")
    ip_batch(["link set lo up"], netns=record.spare_netns, what="configuring spare ports")
    for netns, ends in ends_by_ns.items():
        if netns != record.spare_netns:
            shape(netns, [e.ifname for e in ends], record.rate_mbit)


def shape(netns: str, ifnames: list[str], rate_mbit: float) -> None:
    tc_batch([f"qdisc replace dev {ifname} root tbf rate {rate_mbit:g}mbit "
              f"burst {TBF_BURST} latency {TBF_LATENCY}" for ifname in ifnames],
             netns=netns, what=f"shaping links in {netns}")


def existing_namespaces() -> set[str]:
    out = run(["ip", "-j", "netns", "list"], check=False).stdout.strip()
    try:
        return {item["name"] for item in json.loads(out or "[]")}
    except ValueError:
        return set()


def existing_links(netns: str | None = None) -> set[str]:
    argv = ["ip"] + (["-n", netns] if netns else []) + ["-j", "link", "show"]
    out = run(argv, check=False).stdout.strip()
    try:
        return {item["ifname"] for item in json.loads(out or "[]")}
    except ValueError:
        return set()


def delete_network(record: LabRecord) -> None:
    """Delete the lab's root-side veths and bridge, then its namespaces (which take the rest).

    Root-side veths go first: `ip netns del` removes the veths inside asynchronously, and a
    quick `lab up` could otherwise race a half-deleted peer (facts/lab-machine.md).
    """
    host = existing_links()
    cmds = [f"link del {n.host_veth}" for n in record.nodes if n.host_veth in host]
    if record.mgmt_bridge in host:
        cmds.append(f"link del {record.mgmt_bridge}")
    if cmds:
        ip_batch(cmds, what="deleting the management network")
    present = existing_namespaces()
    dels = [f"netns del {ns}" for ns in record.namespaces() if ns in present]
    if dels:
        ip_batch(dels, what="deleting namespaces")
