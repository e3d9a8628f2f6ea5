"""Which nodes to probe, how to reach them, and what (if anything) was declared about them."""

from __future__ import annotations

from dataclasses import dataclass

from sparkctl.topology.model import ClusterSpec, SparkNode


@dataclass(frozen=True)
class Scope:
    nodes: tuple[SparkNode, ...]
    endpoints: list  # sparkctl.probe.hosts.SshEndpoint, one per node, same order
    declared: ClusterSpec | None  # None: only host names were given, nothing to compare
    source: str


def scope_for_target(target) -> Scope:
    """Any resolved target (sparkctl.targets.Target) is also a declaration to compare with."""
    from sparkctl.probe.hosts import endpoints_for_target

    spec = target.cluster.spec
    endpoints = endpoints_for_target(target)
    by_name = {e.name: e for e in endpoints}
    return Scope(nodes=spec.nodes, endpoints=[by_name[n.name] for n in spec.nodes],
                 declared=spec, source=target.description)


def scope_for_hosts(hosts: list[str]) -> Scope:
    """Bare host names: discover what is cabled without a declaration. Each name is reached
    as `ssh NAME` would reach it (~/.ssh/config applies)."""
    from sparkctl.probe.hosts import endpoint_for
    from sparkctl.targets import Connection

    nodes = tuple(SparkNode(name=h, index=i, mgmt_address=h) for i, h in enumerate(hosts))
    return Scope(nodes=nodes, endpoints=[endpoint_for(h, Connection(host=h)) for h in hosts],
                 declared=None, source="hosts " + ",".join(hosts))
