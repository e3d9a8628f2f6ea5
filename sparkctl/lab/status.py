"""What a lab looks like right now: nodes, processes, sshd, links and active faults."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from sparkctl.errors import InputError
from sparkctl.lab import nodes, paths, state, wiring
from sparkctl.lab.state import LabRecord
from sparkctl.lab.system import run


@dataclass(frozen=True)
class NodeStatus:
    name: str
    mgmt_address: str
    netns: str
    pid: int | None  # host PID of the node's PID 1
    running: bool
    sshd: str  # "up" or "down"


def load_record(name: str) -> LabRecord:
    record = state.load(paths.validate_lab_name(name))
    if record is None:
        raise InputError(f"no lab named {name!r}",
                         hint=f"start one with `sparkctl lab up --name {name} --topology ring3`"
                         " (see `sparkctl lab list`)")
    return record


def node_statuses(record: LabRecord) -> list[NodeStatus]:
    def one(node) -> NodeStatus:
        init = nodes.current_init(node)
        up = init is not None and nodes.sshd_banner(node.mgmt_address, timeout=1.0) is not None
        return NodeStatus(node.name, node.mgmt_address, node.netns,
                          init.pid if init else None, init is not None, "up" if up else "down")

    with ThreadPoolExecutor(max_workers=max(1, len(record.nodes))) as pool:
        return list(pool.map(one, record.nodes))


def _link_states(netns: str) -> dict[str, dict]:
    out = run(["ip", "-n", netns, "-j", "link", "show"], check=False, timeout=10).stdout
    try:
        return {item["ifname"]: item for item in json.loads(out or "[]")}
    except ValueError:
        return {}


def link_statuses(record: LabRecord) -> list[dict]:
    present = wiring.existing_namespaces()
    states = {ns: _link_states(ns) for ns in record.namespaces() if ns in present}
    rows = []
    for link in record.links:
        if not link.plugged:
            continue
        row: dict[str, Any] = {"rail": link.a.rail}
        for key, end in (("a", link.a), ("b", link.b)):
            info = states.get(end.netns, {}).get(end.ifname, {})
            row[key] = {"node": end.node, "interface": end.ifname,
                        "state": info.get("operstate", "absent"), "mtu": info.get("mtu")}
        rows.append(row)
    return rows


def lab_status(name: str) -> dict:
    """The `lab status --format json` document."""
    record = load_record(name)
    node_rows = node_statuses(record)
    running = [n for n in node_rows if n.running]
    overall = ("up" if len(running) == len(node_rows) else "stopped" if not running
               else "degraded")
    return {
        "name": record.name,
        "state": overall,
        "topology": record.topology,
        "inventory": str(record.inventory_path),
        "key": None if record.fresh else str(record.key_path),
        "known_hosts": str(record.known_hosts_path),
        "mgmt_subnet": record.mgmt_subnet,
        "rate_mbit": record.rate_mbit,
        "scale": record.scale,
        "configured": record.configured,
        "fresh": record.fresh,
        "user": record.user,
        "password_file": str(record.password_path),
        "host_keys": str(record.host_keys_path),
        "created": record.created,
        "nodes": [
            {"name": n.name, "mgmt_address": n.mgmt_address, "netns": n.netns, "pid": n.pid,
             "running": n.running, "sshd": n.sshd}
            for n in node_rows
        ],
        "links": link_statuses(record),
        "faults": [{"id": i + 1, "kind": f.kind, "args": f.args}
                   for i, f in enumerate(record.faults)],
    }


def lab_list() -> list[dict]:
    rows = []
    for name in state.list_names():
        record = state.load(name)
        if record is None:
            continue
        alive = sum(nodes.current_init(n) is not None for n in record.nodes)
        rows.append({"name": name, "topology": record.topology, "nodes": len(record.nodes),
                     "running": alive, "mgmt_subnet": record.mgmt_subnet,
                     "state": "up" if alive == len(record.nodes) else
                     ("stopped" if not alive else "degraded"),
                     "faults": len(record.faults), "inventory": str(record.inventory_path)})
    return rows
