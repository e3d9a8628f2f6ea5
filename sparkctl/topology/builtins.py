"""Built-in topologies: the cabling NVIDIA documents for 1-4 Sparks (facts/dgx-spark.md)."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

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


# One DNS label (RFC 1123); an FQDN is two or more of them joined by dots.
_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")


def node_for_host(host: str, index: int) -> tuple[str, str]:
    """(node name, management address) for one `--hosts` entry at 0-based `index`.

    A bare IP address names no node, so the node is `spark-N` (its position); an FQDN's
    node is its first label (`spark-a.lab.example` -> `spark-a`); a short name is both.
    Anything else stays the name, and the cluster rules say what is wrong with it.
    """
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return f"spark-{index + 1}", host
    labels = host.rstrip(".").split(".")
    if len(labels) > 1 and all(_LABEL.match(label) for label in labels) \
            and not labels[-1].isdigit():
        return labels[0], host
    return host, host


def nodes_for_hosts(hosts: list[str]) -> list[tuple[str, str]]:
    """Node names and addresses for `--hosts`, refusing two hosts that would share a name."""
    pairs = [node_for_host(h, i) for i, h in enumerate(hosts)]
    # A repeated plain name is left to the rules ("declared twice"); a repeated address
    # would otherwise become two nodes.
    repeated = sorted({h for (name, _), h in zip(pairs, hosts, strict=True)
                       if name != h and hosts.count(h) > 1})
    if repeated:
        raise InputError(f"--hosts lists {', '.join(repeated)} more than once",
                         hint="give every Spark once, in cabling order")
    seen: dict[str, str] = {}
    for (name, _), host in zip(pairs, hosts, strict=True):
        if name in seen and seen[name] != host:
            raise InputError(
                f"--hosts {seen[name]!r} and {host!r} would both be node {name!r}",
                hint="name the nodes in a cluster file (nodes: [{name: spark-1, address: "
                     "10.0.0.11}, ...]) and use --cluster FILE")
        seen.setdefault(name, host)
    return pairs


def builtin_spec(name: str, hosts: list[str] | None = None, *, derive_names: bool = True,
                 **params: Any) -> ClusterSpec:
    """A ClusterSpec for a built-in topology. `hosts` are `--hosts` entries: names, FQDNs or
    management addresses (node_for_host gives their node names). `derive_names=False`
    takes them as node names verbatim (a cluster file's nodes, whose rules check them)."""
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
    pairs = nodes_for_hosts(hosts) if derive_names else [(h, h) for h in hosts]
    nodes = tuple(SparkNode(name=node, index=i, mgmt_address=address)
                  for i, (node, address) in enumerate(pairs))
    names = [node for node, _ in pairs]
    cables = tuple(topo.cables(names))
    if "mtu" not in params:
        params.update(mtu=default_mtu(cables, params.get("switch_mtu")), mtu_declared=False)
    return ClusterSpec(name=params.pop("cluster_name", name), topology=name, nodes=nodes,
                       cables=cables, **params)
