"""Plans and contexts for validate's unit tests (real topology model, no network)."""

from ipaddress import IPv4Address, IPv4Interface

from sparkctl.targets import resolve_target
from sparkctl.topology.addressing import InterfacePlan, Peer
from sparkctl.validate.context import LabShaping, ValidationContext


def iface(node="spark-1", name="enp1s0f1np1", address="192.168.100.1/24", mtu=9000,
          peers=(("spark-2", "enp1s0f1np1", "192.168.100.2"),), port=1, rail=0,
          hca="rocep1s0f1") -> InterfacePlan:
    return InterfacePlan(node=node, name=name, hca=hca, port=port, rail=rail,
                         address=IPv4Interface(address), mtu=mtu,
                         peers=tuple(Peer(h, i, IPv4Address(a)) for h, i, a in peers),
                         segment="test")


def context_for(topology: str, n: int, *, lab_rate: float | None = None) -> ValidationContext:
    """A ValidationContext for a built-in topology (what `validate` builds from a target)."""
    from sparkctl.validate.context import context_from_target

    hosts = ",".join(f"spark-{i + 1}" for i in range(n))
    ctx = context_from_target(resolve_target(topology=topology, hosts=hosts))
    if lab_rate is not None:
        ctx = ValidationContext(ctx.description, ctx.topology, "lab", ctx.mtu, ctx.nodes,
                                LabShaping(lab_rate, 200_000 / lab_rate), ctx.gid_index,
                                ctx.hostfile)
    return ctx


