"""Plans and targets for validate's unit tests (real topology model, no network)."""

import dataclasses
from ipaddress import IPv4Address, IPv4Interface

from sparkctl.cluster import Cluster
from sparkctl.targets import Target, resolve_target, target_from_cluster
from sparkctl.topology.addressing import InterfacePlan, Peer


def iface(node="spark-1", name="enp1s0f1np1", address="192.168.100.1/24", mtu=9000,
          peers=(("spark-2", "enp1s0f1np1", "192.168.100.2"),), port=1, rail=0,
          hca="rocep1s0f1") -> InterfacePlan:
    return InterfacePlan(node=node, name=name, hca=hca, port=port, rail=rail,
                         address=IPv4Interface(address), mtu=mtu,
                         peers=tuple(Peer(h, i, IPv4Address(a)) for h, i, a in peers),
                         segment="test")


def context_for(topology: str, n: int, *, lab_rate: float | None = None) -> Target:
    """The Target `validate` resolves for a built-in topology; with `lab_rate`, a lab one
    (platform lab, links shaped to lab_rate Mbit/s)."""
    hosts = ",".join(f"spark-{i + 1}" for i in range(n))
    target = resolve_target(topology=topology, hosts=hosts)
    if lab_rate is None:
        return target
    spec = dataclasses.replace(target.cluster.spec, platform="lab")
    return target_from_cluster(Cluster.from_spec(spec), target.description,
                               {"sparkctl_lab_rate_mbit": lab_rate,
                                "sparkctl_lab_scale": 200_000 / lab_rate})
