"""Built-in topologies: the cabling NVIDIA documents for 1-4 Sparks (facts/dgx-spark.md)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sparkctl.errors import InputError
from sparkctl.topology.model import SWITCH, Cable, ClusterSpec, PortRef, SparkNode, default_mtu


def _p(node: str, port: int) -> PortRef:
    return PortRef(node, port)


def _single(h: list[str]) -> list[Cable]:
    return []


def _direct(h: list[str]) -> list[Cable]:
    # NVIDIA's two-node guide cables port 1 to port 1 (enp1s0f1np1 on both ends).
    return [Cable(_p(h[0], 1), _p(h[1], 1))]


def _direct_dual(h: list[str]) -> list[Cable]:
    return [Cable(_p(h[0], 0), _p(h[1], 0)), Cable(_p(h[0], 1), _p(h[1], 1))]


def _ring3(h: list[str]) -> list[Cable]:
    # N1 p0 -> N2 p1, N2 p0 -> N3 p1, N3 p0 -> N1 p1
    return [Cable(_p(h[i], 0), _p(h[(i + 1) % 3], 1)) for i in range(3)]


def _switch(h: list[str]) -> list[Cable]:
    return [Cable(_p(name, 1), PortRef(SWITCH, None)) for name in h]


@dataclass(frozen=True)
class BuiltinTopology:
    name: str
    nodes: int
    summary: str
    cabling: str
    cables: Callable[[list[str]], list[Cable]]


BUILTINS: dict[str, BuiltinTopology] = {
    t.name: t
    for t in (
        BuiltinTopology("single", 1, "one Spark, no cluster network (models up to ~120B)",
                        "no cables", _single),
        BuiltinTopology("direct", 2, "two Sparks, one QSFP cable (models up to ~400B)",
                        "N1 p1 -- N2 p1", _direct),
        BuiltinTopology("direct-dual", 2, "two Sparks, two QSFP cables",
                        "N1 p0 -- N2 p0, N1 p1 -- N2 p1", _direct_dual),
        BuiltinTopology("ring3", 3, "three Sparks in a switchless ring (fine-tuning)",
                        "N1 p0 -- N2 p1, N2 p0 -- N3 p1, N3 p0 -- N1 p1", _ring3),
        BuiltinTopology("switch2", 2, "two Sparks through a RoCE 200GbE switch",
                        "every node p1 -- switch", _switch),
        BuiltinTopology("switch3", 3, "three Sparks through a RoCE 200GbE switch",
                        "every node p1 -- switch", _switch),
        BuiltinTopology("switch4", 4, "four Sparks through a RoCE 200GbE switch (~700B, TP4)",
                        "every node p1 -- switch", _switch),
    )
}


def default_hosts(count: int) -> list[str]:
    return [f"spark-{i}" for i in range(1, count + 1)]


def builtin_spec(name: str, hosts: list[str] | None = None, **params) -> ClusterSpec:
    """A ClusterSpec for a built-in topology. Host names double as management addresses."""
    topo = BUILTINS.get(name)
    if topo is None:
        raise InputError(
            f"unknown topology {name!r}",
            hint=f"choose one of: {', '.join(BUILTINS)} (or describe cables in a cluster file)",
        )
    if hosts is None:
        hosts = default_hosts(topo.nodes)
    hosts = [h.strip() for h in hosts]
    if len(hosts) != topo.nodes:
        raise InputError(
            f"topology {name!r} needs exactly {topo.nodes} host{'s' if topo.nodes > 1 else ''},"
            f" got {len(hosts)}",
            hint=f"pass --hosts with {topo.nodes} comma-separated names ({topo.cabling})",
        )
    nodes = tuple(SparkNode(name=h, index=i, mgmt_address=h) for i, h in enumerate(hosts))
    cables = tuple(topo.cables(hosts))
    if "mtu" not in params:
        params.update(mtu=default_mtu(cables, params.get("switch_mtu")), mtu_declared=False)
    return ClusterSpec(name=params.pop("cluster_name", name), topology=name, nodes=nodes,
                       cables=cables, **params)
