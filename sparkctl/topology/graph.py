"""The cluster as a networkx MultiGraph: parallel cables between two Sparks are real edges."""

from __future__ import annotations

import networkx as nx

from sparkctl.topology.hardware import rail_devices
from sparkctl.topology.model import SWITCH, ClusterSpec


def build_graph(spec: ClusterSpec) -> nx.MultiGraph:
    """Nodes: Sparks (kind=spark, index, mgmt_address, ports) and the switch (kind=switch).

    Edges: one per cable, keyed by the cable's index in the spec, with attributes
    `cable` (the Cable) and `ends` ({node: port}; the switch end has port None).
    """
    graph = nx.MultiGraph(name=spec.name, topology=spec.topology, mtu=spec.mtu)
    for node in spec.nodes:
        graph.add_node(
            node.name,
            kind="spark",
            index=node.index,
            mgmt_address=node.mgmt_address,
            ports={p: rail_devices(p) for p in (0, 1)},
        )
    if any(c.to_switch for c in spec.cables):
        graph.add_node(SWITCH, kind="switch")
    for index, cable in enumerate(spec.cables):
        graph.add_edge(cable.a.node, cable.b.node, key=index, cable=cable,
                       ends={cable.a.node: cable.a.port, cable.b.node: cable.b.port})
    return graph


def spark_nodes(graph: nx.MultiGraph) -> list[str]:
    return sorted((n for n, d in graph.nodes(data=True) if d.get("kind") == "spark"),
                  key=lambda n: graph.nodes[n]["index"])


def used_ports(graph: nx.MultiGraph, node: str) -> list[int]:
    """The QSFP ports of `node` that carry a cable, ascending."""
    ports = set()
    for _, _, data in graph.edges(node, data=True):
        cable = data["cable"]
        for end in cable.ends():
            if end.node == node and end.port is not None:
                ports.add(end.port)
    return sorted(ports)


def switchless_cycles(graph: nx.MultiGraph) -> list[list[str]]:
    """Simple cycles of 3+ Sparks that do not pass through the switch."""
    simple = nx.Graph()
    simple.add_nodes_from(spark_nodes(graph))
    simple.add_edges_from((u, v) for u, v in graph.edges() if SWITCH not in (u, v) and u != v)
    return [c for c in nx.simple_cycles(simple) if len(c) >= 3]


def is_ring(graph: nx.MultiGraph) -> bool:
    """A switchless 3-cycle: NCCL needs subnet-aware routing and unmerged NICs there."""
    return any(len(c) == 3 for c in switchless_cycles(graph))
