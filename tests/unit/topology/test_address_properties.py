"""Properties of the address plan over random valid cablings and pools."""

import ipaddress
import itertools

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from sparkctl.cluster import Cluster
from sparkctl.errors import InvalidTopology
from sparkctl.topology.addressing import plan_addresses
from sparkctl.topology.model import SWITCH, Cable, ClusterSpec, PortRef, SparkNode

PORTS = [(n, p) for n in range(4) for p in (0, 1)]


@st.composite
def cablings(draw):
    count = draw(st.integers(1, 4))
    free = [(n, p) for n, p in PORTS if n < count]
    draw(st.randoms()).shuffle(free)
    cables = []
    use_switch = draw(st.booleans())
    while len(free) >= 1:
        action = draw(st.sampled_from(["pair", "switch", "stop"] if use_switch else
                                      ["pair", "stop"]))
        if action == "stop":
            break
        if action == "switch":
            n, p = free.pop()
            cables.append(((n, p), None))
        elif len(free) >= 2:
            a, b = free.pop(), free.pop()
            cables.append((a, b))
    return count, cables


@st.composite
def pools(draw):
    # Random aligned networks in private space, big enough for 8 rails.
    base = draw(st.sampled_from(["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"]))
    parent = ipaddress.IPv4Network(base)
    prefix = draw(st.integers(19, 21))
    subnets = list(itertools.islice(parent.subnets(new_prefix=prefix), 64))
    pool = draw(st.sampled_from(subnets))
    # Reserved networks are drawn away from the pool.
    reserved = [n for n in draw(st.lists(st.sampled_from(subnets), max_size=3)) if n != pool]
    return (pool,), tuple(reserved)


def build(count, cables, pool, reserved, mtu=9000):
    names = [f"n{i}" for i in range(count)]
    nodes = tuple(SparkNode(name, i, f"203.0.113.{i + 1}") for i, name in enumerate(names))
    specs = []
    for a, b in cables:
        end_b = PortRef(SWITCH, None) if b is None else PortRef(names[b[0]], b[1])
        specs.append(Cable(PortRef(names[a[0]], a[1]), end_b))
    return ClusterSpec(name="p", topology="custom", nodes=nodes, cables=tuple(specs), mtu=mtu,
                       pool=pool, reserved=reserved)


def valid_cluster(count, cables, pool, reserved):
    try:
        return Cluster.from_spec(build(count, cables, pool, reserved))
    except InvalidTopology:
        assume(False)


@settings(max_examples=300, deadline=None)
@given(cablings(), pools())
def test_address_plan_invariants(cabling, pool_reserved):
    count, cables = cabling
    pool, reserved = pool_reserved
    cluster = valid_cluster(count, cables, pool, reserved)
    interfaces = cluster.plan.all_interfaces()

    addresses = [i.address.ip for i in interfaces]
    assert len(addresses) == len(set(addresses)), "addresses are unique"

    for node in cluster.spec.nodes:
        by_port = {}
        for item in cluster.plan.interfaces[node.name]:
            by_port.setdefault(item.port, []).append(item.address.network)
        for nets in by_port.values():
            assert len(nets) == len(set(nets)), "twins of one port never share a subnet"

    for item in interfaces:
        for peer in item.peers:
            assert peer.address in item.address.network, "both ends of a rail share a subnet"
        assert any(item.address.ip in p for p in pool)
        assert not any(item.address.network.overlaps(r) for r in reserved)

    again = plan_addresses(build(count, cables, pool, reserved))
    assert again == cluster.plan, "the plan is deterministic"


@settings(max_examples=100, deadline=None)
@given(cablings())
def test_every_cabled_port_gets_both_rails(cabling):
    count, cables = cabling
    cluster = valid_cluster(count, cables, (ipaddress.IPv4Network("192.168.96.0/20"),), ())
    for cable in cluster.spec.cables:
        for end in cable.ends():
            if end.is_switch:
                continue
            rails = {i.rail for i in cluster.plan.interfaces[end.node] if i.port == end.port}
            assert rails == {0, 1}
