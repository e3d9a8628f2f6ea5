"""Cabling rules. Each violation names the node and port and says how to fix it."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

import networkx as nx

from sparkctl import values
from sparkctl.errors import Location
from sparkctl.topology.graph import spark_nodes, switchless_cycles
from sparkctl.topology.hardware import MAX_SPARKS, PORTS
from sparkctl.topology.model import MTU_MAX, MTU_MIN, SWITCH, ClusterSpec, Violation
from sparkctl.values import HOST_LABEL, shown


def check_spec(spec: ClusterSpec, graph: nx.MultiGraph) -> list[Violation]:
    """Every rule, in a stable order; an empty list means the cluster is valid."""
    found: list[Violation] = []
    found += _check_values(spec)
    found += _check_nodes(spec)
    found += _check_cables(spec)
    found += _check_mtu(spec)
    if not any(v.code in ("unknown-node", "bad-port") for v in found):
        found += _check_connected(spec, graph)
        found += _check_cycles(graph)
    return found


def _check_values(spec: ClusterSpec) -> list[Violation]:
    """The values every writer renders, checked again on the spec itself: a spec built in
    Python (not loaded from a file) gets the same guarantee as a loaded one."""
    checks: list[tuple[str, str | None, Callable[[Any], object], object, Location | None]] = [
        ("cluster name", None, values.cluster_name, spec.name, spec.location("name"))]
    for node in spec.nodes:
        loc = spec.location(f"node:{node.name}")
        checks.append(("management address", node.name, values.address, node.mgmt_address, loc))
        if node.ssh_user is not None:
            checks.append(("ssh user", node.name, values.user_name, node.ssh_user, loc))
        checks.append(("ssh port", node.name, values.tcp_port, node.ssh_port, loc))
    found = []
    for what, node, check, value, loc in checks:
        try:
            check(value)
        except values.BadValue as bad:
            found.append(Violation("bad-value", f"{what}: {bad.message}", node=shown(node)
                                   if node is not None and not HOST_LABEL.fullmatch(node)
                                   else node, hint=bad.hint, location=loc))
    return found


def _check_nodes(spec: ClusterSpec) -> list[Violation]:
    found = []
    count = len(spec.nodes)
    if count == 0:
        found.append(Violation("node-count", "the cluster has no Sparks",
                               hint="list 1 to 4 nodes"))
    elif count > MAX_SPARKS:
        found.append(Violation(
            "node-count", f"{count} Sparks declared; sparkctl supports 1 to {MAX_SPARKS}",
            hint=f"remove {count - MAX_SPARKS} node(s); larger clusters need a different fabric",
            location=spec.location("nodes")))
    seen: dict[str, int] = {}
    for node in spec.nodes:
        loc = spec.location(f"node:{node.name}")
        if node.name == SWITCH:
            found.append(Violation("reserved-name", f"'{SWITCH}' is reserved for the switch",
                                   node=node.name, hint="rename this Spark", location=loc))
        elif not HOST_LABEL.fullmatch(node.name):
            # fullmatch: `$` would let a trailing newline through
            found.append(Violation(
                "bad-hostname", f"{shown(node.name)} is not a valid host name",
                hint="use letters, digits and '-' (1-63 characters, no '-' at either end)",
                location=loc))
        if node.name in seen:
            found.append(Violation("duplicate-host", f"host {node.name!r} is declared twice",
                                   node=node.name, hint="give every Spark its own name",
                                   location=loc))
        seen[node.name] = 1
    return found


def _check_cables(spec: ClusterSpec) -> list[Violation]:
    found = []
    names = set(spec.node_names)
    users: dict[tuple[str, int], list[int]] = defaultdict(list)
    for index, cable in enumerate(spec.cables):
        loc = spec.location(f"cable:{index}")
        if cable.a.is_switch and cable.b.is_switch:
            found.append(Violation("switch-loop", f"cable {cable} joins the switch to itself",
                                   hint="remove it", location=loc))
            continue
        for end in cable.ends():
            if end.is_switch:
                continue
            if end.node not in names:
                found.append(Violation(
                    "unknown-node", f"cable {cable} names unknown node {end.node!r}",
                    hint=f"declare it under nodes, or use one of: {', '.join(sorted(names))}",
                    location=loc))
            if end.port not in PORTS:
                found.append(Violation(
                    "bad-port", f"port p{end.port} does not exist (a Spark has p0 and p1)",
                    node=end.node, port=end.port, hint="use p0 or p1", location=loc))
            else:
                users[(end.node, end.port)].append(index)
        if cable.a.node == cable.b.node:
            found.append(Violation(
                "self-loop", f"cable {cable} connects the node to itself",
                node=cable.a.node, port=cable.a.port,
                hint="a loopback cable carries no cluster traffic; cable it to another Spark",
                location=loc))
    switch_ports: dict[str, list[int]] = defaultdict(list)
    for index, cable in enumerate(spec.cables):
        if cable.to_switch and not (cable.a.is_switch and cable.b.is_switch):
            end = cable.b if cable.a.is_switch else cable.a
            switch_ports[end.node].append(index)
    for node, cables in sorted(switch_ports.items()):
        if len(cables) > 1:
            found.append(Violation(
                "switch-twice",
                "both QSFP ports go to the switch: two interfaces of one node would share each "
                "rail subnet, and the kernel would answer from either",
                node=node, port=spec.cables[cables[1]].a.port
                if not spec.cables[cables[1]].a.is_switch else spec.cables[cables[1]].b.port,
                hint="cable one port per Spark to the switch (NVIDIA uses p1)",
                location=spec.location(f"cable:{cables[1]}")))
    for (node, port), cables in sorted(users.items()):
        if len(cables) > 1:
            listed = ", ".join(str(spec.cables[i]) for i in cables)
            found.append(Violation(
                "port-reused", f"port carries {len(cables)} cables ({listed})",
                node=node, port=port, hint="a QSFP port takes one cable; move one to a free port",
                location=spec.location(f"cable:{cables[1]}")))
    return found


def _check_mtu(spec: ClusterSpec) -> list[Violation]:
    if MTU_MIN <= spec.mtu <= MTU_MAX:
        return []
    return [Violation(
        "bad-mtu", f"MTU {shown(spec.mtu)} is outside {MTU_MIN}-{MTU_MAX}",
        hint="use 9000 (community default), 4200 (RoCE active_mtu 4096) or 1500 (NVIDIA default)",
        location=spec.location("mtu"))]


def _check_connected(spec: ClusterSpec, graph: nx.MultiGraph) -> list[Violation]:
    sparks = spark_nodes(graph)
    if len(sparks) < 2 or nx.is_connected(graph):
        return []
    components = sorted((sorted(c - {SWITCH}) for c in nx.connected_components(graph)),
                        key=lambda c: c[:1])
    components = [c for c in components if c]
    main, *rest = sorted(components, key=len, reverse=True)
    return [
        Violation("disconnected",
                  f"not cabled to the rest of the cluster ({', '.join(main)})",
                  node=part[0],
                  hint="add a cable from a free port of this node to the others",
                  location=spec.location(f"node:{part[0]}"))
        for part in rest
    ]


def _check_cycles(graph: nx.MultiGraph) -> list[Violation]:
    found = []
    for cycle in switchless_cycles(graph):
        if len(cycle) > 3:
            found.append(Violation(
                "long-ring",
                f"switchless ring of {len(cycle)} Sparks ({' -> '.join(cycle)}): traffic between "
                "non-adjacent nodes would need IP forwarding and static routes, which NCCL's "
                "subnet-aware routing does not provide",
                node=cycle[0],
                hint="use a RoCE switch for 4 nodes (topology switch4), or a 3-node ring"))
    return found
