"""Fault injection: break a lab the way real clusters break, and put it back.

Each fault records what `fault clear` needs to undo it; clear undoes faults newest first.
"""

from __future__ import annotations

import ipaddress
import json
import time
from collections.abc import Callable

from sparkctl.errors import InputError, RunFailed
from sparkctl.lab import nodes, state, wiring
from sparkctl.lab.lifecycle import lab_lock
from sparkctl.lab.state import FaultRecord, LabRecord, LinkEnd, LinkRecord
from sparkctl.lab.status import load_record
from sparkctl.lab.system import ip_batch, run
from sparkctl.topology.hardware import RAILS, netdev

FAULT_KINDS = ("link-down", "mtu", "degrade", "drop-tcp", "sshd-stop", "swap-cables")
SSHD_WAIT_S = 10.0


def inject(lab: str, kind: str, args: list[str]) -> FaultRecord:
    handler = _INJECT.get(kind)
    if handler is None:
        raise InputError(f"unknown fault {kind!r}", hint=f"choose one of: {', '.join(FAULT_KINDS)}")
    with lab_lock(lab):
        record = load_record(lab)
        fault = handler(record, args)
        record.faults.append(fault)
        state.save(record)
        return fault


def clear(lab: str) -> list[FaultRecord]:
    """Undo every active fault, newest first; returns those undone."""
    with lab_lock(lab):
        record = load_record(lab)
        undone = []
        while record.faults:
            fault = record.faults[-1]
            _UNDO[fault.kind](record, fault)
            record.faults.pop()
            undone.append(fault)
            state.save(record)
        return undone


# --- helpers -----------------------------------------------------------------------------

def _need(args: list[str], count: int, usage: str) -> None:
    if len(args) != count:
        raise InputError(f"expected {count} argument{'s' if count != 1 else ''}: {usage}")


def _iface_info(netns: str, ifname: str) -> dict | None:
    out = run(["ip", "-n", netns, "-j", "addr", "show", "dev", ifname], check=False,
              timeout=10).stdout
    try:
        items = json.loads(out or "[]")
    except ValueError:
        return None
    return items[0] if items else None


def _node_iface(record: LabRecord, node_name: str, ifname: str) -> tuple[str, dict]:
    node = record.node(node_name)
    info = _iface_info(node.netns, ifname)
    if info is None:
        present = sorted(wiring.existing_links(node.netns) - {"lo"})
        raise InputError(f"{node_name} has no interface {ifname!r}",
                         hint=f"its interfaces: {', '.join(present)}")
    return node.netns, info


def _data_link(record: LabRecord, netns: str, ifname: str) -> LinkRecord:
    for link in record.links:
        if link.other(netns, ifname) is not None:
            return link
    raise InputError(f"{ifname} is not a data link (the fault applies to the ConnectX-7 twins)",
                     hint=f"use one of: {', '.join(netdev(p, r) for p in (0, 1) for r in RAILS)}")


# --- link-down ---------------------------------------------------------------------------

def _link_down(record: LabRecord, args: list[str]) -> FaultRecord:
    _need(args, 2, "link-down NODE IFACE")
    netns, info = _node_iface(record, args[0], args[1])
    ip_batch([f"link set {args[1]} down"], netns=netns, what="link-down")
    return FaultRecord("link-down", args, {"netns": netns, "ifname": args[1],
                                           "was_up": "UP" in info.get("flags", [])})


def _undo_link_down(record: LabRecord, fault: FaultRecord) -> None:
    if fault.undo["was_up"]:
        ip_batch([f"link set {fault.undo['ifname']} up"], netns=fault.undo["netns"],
                 what="clearing link-down")


# --- mtu ---------------------------------------------------------------------------------

def _mtu(record: LabRecord, args: list[str]) -> FaultRecord:
    _need(args, 3, "mtu NODE IFACE VALUE")
    try:
        value = int(args[2])
    except ValueError:
        value = 0
    if not 68 <= value <= 65535:
        raise InputError(f"MTU {args[2]!r} is not a number between 68 and 65535")
    netns, info = _node_iface(record, args[0], args[1])
    ip_batch([f"link set {args[1]} mtu {value}"], netns=netns, what="mtu fault")
    return FaultRecord("mtu", args, {"netns": netns, "ifname": args[1], "mtu": info["mtu"]})


def _undo_mtu(record: LabRecord, fault: FaultRecord) -> None:
    ip_batch([f"link set {fault.undo['ifname']} mtu {fault.undo['mtu']}"],
             netns=fault.undo["netns"], what="clearing mtu fault")


# --- degrade -----------------------------------------------------------------------------

def _degrade(record: LabRecord, args: list[str]) -> FaultRecord:
    _need(args, 3, "degrade NODE IFACE PERCENT")
    try:
        percent = float(args[2].rstrip("%"))
    except ValueError:
        percent = -1
    if not 0 < percent < 100:
        raise InputError(f"degrade percent {args[2]!r} must be above 0 and below 100",
                         hint="degrade spark-1 enp1s0f1np1 50 halves that link's rate")
    netns, _ = _node_iface(record, args[0], args[1])
    link = _data_link(record, netns, args[1])
    rate = record.rate_mbit * (100 - percent) / 100
    # Both ends, so the cable is slow in both directions, as a bad cable or NIC is.
    ends = [(e.netns, e.ifname) for e in (link.a, link.b)]
    for ns, ifname in ends:
        wiring.shape(ns, [ifname], rate)
    return FaultRecord("degrade", args, {"ends": ends, "rate_mbit": record.rate_mbit,
                                         "degraded_mbit": rate})


def _undo_degrade(record: LabRecord, fault: FaultRecord) -> None:
    for ns, ifname in fault.undo["ends"]:
        wiring.shape(ns, [ifname], fault.undo["rate_mbit"])


# --- drop-tcp ----------------------------------------------------------------------------

def _addresses_of(record: LabRecord, node_name: str) -> list[str]:
    """Every IPv4 address the node has now, plus its planned data addresses."""
    node = record.node(node_name)
    found = {node.mgmt_address}
    out = run(["ip", "-n", node.netns, "-j", "-4", "addr", "show"], timeout=10).stdout
    for item in json.loads(out or "[]"):
        for addr in item.get("addr_info", []):
            if not ipaddress.IPv4Address(addr["local"]).is_loopback:
                found.add(addr["local"])
    try:
        from sparkctl.targets import load_inventory_file

        cluster = load_inventory_file(record.inventory_path)
        found.update(str(i.address.ip) for i in cluster.plan.interfaces.get(node_name, []))
    except Exception:  # noqa: BLE001 - the plan only widens the rule; live addresses suffice
        pass
    return sorted(found, key=ipaddress.IPv4Address)


def _drop_tcp(record: LabRecord, args: list[str]) -> FaultRecord:
    _need(args, 2, "drop-tcp NODE PEER")
    node = record.node(args[0])
    record.node(args[1])
    if args[0] == args[1]:
        raise InputError("drop-tcp needs two different nodes: NODE drops TCP from PEER")
    rules = [["INPUT", "-p", "tcp", "-s", addr, "-j", "DROP"]
             for addr in _addresses_of(record, args[1])]
    # A firewall on one node (the ufw trap): ICMP passes, TCP from PEER is dropped.
    for rule in rules:
        nodes.node_exec(node, ["iptables", "-w", "5", "-I", *rule], what="drop-tcp")
    return FaultRecord("drop-tcp", args, {"node": node.name, "rules": rules})


def _undo_drop_tcp(record: LabRecord, fault: FaultRecord) -> None:
    node = record.node(fault.undo["node"])
    for rule in fault.undo["rules"]:
        nodes.node_exec(node, ["iptables", "-w", "5", "-D", *rule], check=False,
                        what="clearing drop-tcp")


# --- sshd-stop ---------------------------------------------------------------------------

def _wait_sshd(address: str, want_up: bool) -> None:
    deadline = time.monotonic() + SSHD_WAIT_S
    while time.monotonic() < deadline:
        if (nodes.sshd_banner(address, timeout=0.5) is not None) == want_up:
            return
        time.sleep(0.05)
    raise RunFailed(f"sshd on {address} did not {'start' if want_up else 'stop'} "
                    f"within {SSHD_WAIT_S:g} s")


def _sshd_stop(record: LabRecord, args: list[str]) -> FaultRecord:
    _need(args, 1, "sshd-stop NODE")
    node = record.node(args[0])
    # As an admin would: open sessions stay (sshd's per-connection processes live on).
    nodes.node_exec(node, ["systemctl", "stop", "ssh.service"], what="sshd-stop")
    _wait_sshd(node.mgmt_address, want_up=False)
    return FaultRecord("sshd-stop", args, {"node": node.name})


def _undo_sshd_stop(record: LabRecord, fault: FaultRecord) -> None:
    node = record.node(fault.undo["node"])
    if nodes.current_init(node) is not None:
        nodes.node_exec(node, ["systemctl", "start", "ssh.service"],
                        what="clearing sshd-stop")
        _wait_sshd(node.mgmt_address, want_up=True)


# --- swap-cables -------------------------------------------------------------------------

def _port_ref(record: LabRecord, text: str) -> tuple[str, int]:
    node_name, _, port_text = text.partition(":")
    record.node(node_name)
    port_text = port_text.lower().removeprefix("p")
    if port_text not in ("0", "1"):
        raise InputError(f"cannot read port {text!r}", hint="write NODE:p0 or NODE:p1")
    return node_name, int(port_text)


def _capture(end: LinkEnd) -> dict:
    info = _iface_info(end.netns, end.ifname) or {}
    return {"mtu": info.get("mtu"), "up": "UP" in info.get("flags", []),
            "master": info.get("master"),
            "addresses": [f"{a['local']}/{a['prefixlen']}" for a in info.get("addr_info", [])
                          if a.get("family") == "inet"]}


def _restore(end: LinkEnd, saved: dict, rate_mbit: int, shaped: bool) -> None:
    cmds = []
    if saved.get("mtu"):
        cmds.append(f"link set {end.ifname} mtu {saved['mtu']}")
    if saved.get("master"):
        cmds.append(f"link set {end.ifname} master {saved['master']}")
    # replace, not add: systemd-networkd may have put the planned address back already
    cmds += [f"addr replace {a} dev {end.ifname}" for a in saved.get("addresses", [])]
    cmds.append(f"link set {end.ifname} {'up' if saved.get('up') else 'down'}")
    ip_batch(cmds, netns=end.netns, what=f"restoring {end.ifname}")
    if shaped:
        wiring.shape(end.netns, [end.ifname], rate_mbit)


def swap_ports(record: LabRecord, first: tuple[str, int], second: tuple[str, int]) -> None:
    """Re-plug: what was cabled to `first` now reaches `second` and the reverse.

    A veth pair cannot be re-paired, so both pairs are deleted and made again; each end keeps
    its addresses, MTU, bridge port and up/down state, as a re-plugged NIC does.
    """
    for rail in RAILS:
        x = (record.node(first[0]).netns, netdev(first[1], rail))
        y = (record.node(second[0]).netns, netdev(second[1], rail))
        link_x = next(li for li in record.links if li.other(*x) is not None)
        link_y = next(li for li in record.links if li.other(*y) is not None)
        end_x = link_x.a if (link_x.a.netns, link_x.a.ifname) == x else link_x.b
        end_y = link_y.a if (link_y.a.netns, link_y.a.ifname) == y else link_y.b
        far_x, far_y = link_x.other(*x), link_y.other(*y)
        assert far_x is not None and far_y is not None  # the links were picked for it
        ends = [end_x, end_y, far_x, far_y]
        saved = {(e.netns, e.ifname): _capture(e) for e in ends}
        ip_batch([f"link del {end_x.ifname}"], netns=end_x.netns, what="unplugging")
        ip_batch([f"link del {end_y.ifname}"], netns=end_y.netns, what="unplugging")
        new_x, new_y = LinkRecord(end_x, far_y), LinkRecord(end_y, far_x)
        ip_batch([wiring.veth_command(new_x), wiring.veth_command(new_y)], what="re-plugging")
        for end in ends:
            shaped = end.netns != record.spare_netns
            _restore(end, saved[(end.netns, end.ifname)], record.rate_mbit, shaped)
        record.links = [li for li in record.links if li is not link_x and li is not link_y]
        record.links += [new_x, new_y]


def _swap_cables(record: LabRecord, args: list[str]) -> FaultRecord:
    _need(args, 2, "swap-cables NODE_A:PORT NODE_B:PORT")
    first, second = _port_ref(record, args[0]), _port_ref(record, args[1])
    if first == second:
        raise InputError("swap-cables needs two different ports")
    x = (record.node(first[0]).netns, netdev(first[1], 0))
    y = (record.node(second[0]).netns, netdev(second[1], 0))
    for link in record.links:
        if link.other(*x) is not None and link.other(*y) is not None:
            raise InputError(f"{args[0]} and {args[1]} are the two ends of one cable; "
                             "swapping them changes nothing",
                             hint="swap ports of two different cables")
    swap_ports(record, first, second)
    return FaultRecord("swap-cables", args, {"first": list(first), "second": list(second)})


def _undo_swap_cables(record: LabRecord, fault: FaultRecord) -> None:
    swap_ports(record, tuple(fault.undo["first"]), tuple(fault.undo["second"]))


_INJECT: dict[str, Callable[[LabRecord, list[str]], FaultRecord]] = {
    "link-down": _link_down, "mtu": _mtu, "degrade": _degrade, "drop-tcp": _drop_tcp,
    "sshd-stop": _sshd_stop, "swap-cables": _swap_cables,
}
_UNDO: dict[str, Callable[[LabRecord, FaultRecord], None]] = {
    "link-down": _undo_link_down, "mtu": _undo_mtu, "degrade": _undo_degrade,
    "drop-tcp": _undo_drop_tcp, "sshd-stop": _undo_sshd_stop, "swap-cables": _undo_swap_cables,
}
