"""The replication tree on the real topologies' address plans."""

from __future__ import annotations

from sparkctl.cluster import Cluster
from sparkctl.probe.hosts import SshEndpoint
from sparkctl.sync.nodes import RailAddress, SyncNode
from sparkctl.sync.plan import LOOPBACK, plan_tree, shared_rails
from sparkctl.topology.builtins import builtin_spec
from sparkctl.topology.model import Cable, PortRef


def nodes_of(spec) -> list[SyncNode]:
    cluster = Cluster.from_spec(spec)
    out = []
    for node in spec.nodes:
        rails = tuple(RailAddress(i.name, i.address.ip, i.address.network, i.port, i.rail)
                      for i in sorted(cluster.plan.interfaces[node.name],
                                      key=lambda i: (i.port, i.rail)))
        out.append(SyncNode(node.name, node.index, SshEndpoint(node.name, node.name), rails))
    return out


def chain(tree):
    return [(h.parent, h.child) for h in tree.hops]


def test_switch4_is_one_chain_over_both_rails_of_every_hop():
    nodes = nodes_of(builtin_spec("switch4"))
    tree = plan_tree(nodes, "spark-1", ["spark-2", "spark-3", "spark-4"])
    assert chain(tree) == [("spark-1", "spark-2"), ("spark-2", "spark-3"),
                           ("spark-3", "spark-4")]
    first = tree.hops[0]
    assert first.pairs == (("192.168.100.1", "192.168.100.2"),
                           ("192.168.101.1", "192.168.101.2"))  # both twins, own subnets
    assert tree.streams(1) == 2 and tree.streams(4) == 8
    assert first.stream_ends(4) == [first.pairs[0], first.pairs[1]] * 2
    assert tree.order() == ["spark-1", "spark-2", "spark-3", "spark-4"]


def test_ring3_follows_the_cables_from_any_source():
    nodes = nodes_of(builtin_spec("ring3"))
    by = {n.name: n for n in nodes}
    for source in ("spark-1", "spark-2", "spark-3"):
        others = [n for n in by if n != source]
        tree = plan_tree(nodes, source, others)
        assert len(tree.hops) == 2 and tree.unreachable == ()
        for hop in tree.hops:
            assert hop.pairs == shared_rails(by[hop.parent], by[hop.child])
            assert len(hop.pairs) == 2  # the two twins of the one cable between them
    # spark-1 p0 -> spark-2 p1 carries 192.168.100/101 (the first cable)
    tree = plan_tree(nodes, "spark-1", ["spark-2", "spark-3"])
    assert tree.hops[0].pairs[0][1].startswith("192.168.10")


def test_direct_dual_uses_all_four_rails():
    nodes = nodes_of(builtin_spec("direct-dual"))
    tree = plan_tree(nodes, "spark-1", ["spark-2"])
    assert len(tree.hops[0].pairs) == 4 and tree.streams(1) == 4


def test_failed_nodes_go_last_so_they_never_stand_between_source_and_healthy_nodes():
    nodes = nodes_of(builtin_spec("switch4"))
    tree = plan_tree(nodes, "spark-1", ["spark-3", "spark-4", "spark-2"])
    assert [h.child for h in tree.hops] == ["spark-3", "spark-4", "spark-2"]


def test_controller_source_enters_the_head_over_loopback():
    nodes = nodes_of(builtin_spec("switch3"))
    tree = plan_tree(nodes, None, ["spark-1", "spark-2", "spark-3"])
    assert tree.hops[0].parent is None and tree.hops[0].pairs == ((None, LOOPBACK),)
    assert chain(tree)[1:] == [("spark-1", "spark-2"), ("spark-2", "spark-3")]
    assert tree.order()[0] == "controller"
    assert tree.streams(1) == 2  # the rail hops set the width; the feed hop follows it


def test_a_star_without_a_chain_becomes_a_tree():
    spec = builtin_spec("ring3")
    star = type(spec)(name="star", topology="custom", nodes=spec.nodes,
                      cables=(Cable(PortRef("spark-1", 0), PortRef("spark-2", 1)),
                              Cable(PortRef("spark-1", 1), PortRef("spark-3", 0))),
                      mtu=spec.mtu, pool=spec.pool, reserved=spec.reserved,
                      platform=spec.platform)
    nodes = nodes_of(star)
    tree = plan_tree(nodes, "spark-2", ["spark-1", "spark-3"])
    assert chain(tree) == [("spark-2", "spark-1"), ("spark-1", "spark-3")]
    tree = plan_tree(nodes, "spark-1", ["spark-2", "spark-3"])  # the hub feeds both
    assert sorted(chain(tree)) == [("spark-1", "spark-2"), ("spark-1", "spark-3")]
    assert len(tree.children("spark-1")) == 2


def test_unreachable_members_are_named_and_helpers_forward_only_when_needed():
    spec = builtin_spec("ring3")
    line = type(spec)(name="line", topology="custom", nodes=spec.nodes,
                      cables=(Cable(PortRef("spark-1", 0), PortRef("spark-2", 1)),
                              Cable(PortRef("spark-2", 0), PortRef("spark-3", 1))),
                      mtu=spec.mtu, pool=spec.pool, reserved=spec.reserved,
                      platform=spec.platform)
    nodes = nodes_of(line)
    # spark-2 already has the data: without it as a helper spark-3 is out of reach
    alone = plan_tree(nodes, "spark-1", ["spark-3"])
    assert alone.unreachable == ("spark-3",)
    helped = plan_tree(nodes, "spark-1", ["spark-3"], helpers=["spark-2"])
    assert chain(helped) == [("spark-1", "spark-2"), ("spark-2", "spark-3")]
    assert helped.unreachable == ()
    # a helper that is not needed is not in the tree
    switch = nodes_of(builtin_spec("switch3"))
    tree = plan_tree(switch, "spark-1", ["spark-3"], helpers=["spark-2"])
    assert chain(tree) == [("spark-1", "spark-3")]
