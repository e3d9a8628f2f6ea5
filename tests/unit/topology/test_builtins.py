import pytest

from sparkctl.cluster import Cluster
from sparkctl.errors import InputError
from sparkctl.topology.builtins import BUILTINS, builtin_spec
from sparkctl.topology.graph import used_ports
from sparkctl.topology.model import SWITCH

# name -> (sparks, graph nodes incl. switch, cables, ports used per node, subnets)
EXPECTED = {
    "single": (1, 1, 0, [[]], []),
    "direct": (2, 2, 1, [[1], [1]], ["192.168.100.0/24", "192.168.101.0/24"]),
    "direct-dual": (2, 2, 2, [[0, 1], [0, 1]],
                    ["192.168.100.0/24", "192.168.101.0/24", "192.168.102.0/24",
                     "192.168.103.0/24"]),
    "ring3": (3, 3, 3, [[0, 1]] * 3, [f"192.168.{n}.0/24" for n in range(100, 106)]),
    "switch2": (2, 3, 2, [[1]] * 2, ["192.168.100.0/24", "192.168.101.0/24"]),
    "switch3": (3, 4, 3, [[1]] * 3, ["192.168.100.0/24", "192.168.101.0/24"]),
    "switch4": (4, 5, 4, [[1]] * 4, ["192.168.100.0/24", "192.168.101.0/24"]),
}


def test_every_builtin_is_covered():
    assert set(EXPECTED) == set(BUILTINS)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_builtin_shape(name):
    sparks, graph_nodes, cables, ports, subnets = EXPECTED[name]
    cluster = Cluster.from_spec(builtin_spec(name))
    g = cluster.graph
    assert len(cluster.spec.nodes) == sparks
    assert g.number_of_nodes() == graph_nodes
    assert g.number_of_edges() == cables
    assert [used_ports(g, n.name) for n in cluster.spec.nodes] == ports
    assert [str(s.network) for s in cluster.plan.subnets] == subnets
    assert (SWITCH in g) == name.startswith("switch")


def test_ring3_cabling_follows_nvidia():
    cluster = Cluster.from_spec(builtin_spec("ring3", ["a", "b", "c"]))
    assert [str(c) for c in cluster.spec.cables] == ["a:p0 -- b:p1", "b:p0 -- c:p1",
                                                     "c:p0 -- a:p1"]
    # Both ends of one rail share a subnet; node N is host .N in every subnet.
    b = {i.name: i for i in cluster.plan.interfaces["b"]}
    assert str(b["enp1s0f1np1"].address) == "192.168.100.2/24"
    assert str(b["enP2p1s0f1np1"].address) == "192.168.101.2/24"
    assert [(p.host, p.interface, str(p.address)) for p in b["enp1s0f1np1"].peers] == [
        ("a", "enp1s0f0np0", "192.168.100.1")]
    assert str(b["enp1s0f0np0"].address) == "192.168.102.2/24"


def test_direct_dual_is_a_multigraph_with_parallel_cables():
    g = Cluster.from_spec(builtin_spec("direct-dual")).graph
    assert g.number_of_edges("spark-1", "spark-2") == 2


def test_switch_interfaces_see_every_other_node_as_peer():
    cluster = Cluster.from_spec(builtin_spec("switch4"))
    item = cluster.plan.interface("spark-3", "enP2p1s0f1np1")
    assert str(item.address) == "192.168.101.3/24"
    assert [p.host for p in item.peers] == ["spark-1", "spark-2", "spark-4"]
    assert {p.interface for p in item.peers} == {"enP2p1s0f1np1"}


@pytest.mark.parametrize("name,hosts", [("ring3", ["a", "b"]), ("direct", ["a"]),
                                        ("direct-dual", ["a", "b", "c"]),
                                        ("switch4", ["a", "b", "c"]), ("single", ["a", "b"])])
def test_builtin_host_count_is_enforced(name, hosts):
    with pytest.raises(InputError, match=f"needs exactly {BUILTINS[name].nodes} host"):
        builtin_spec(name, hosts)


def test_unknown_builtin_lists_the_choices():
    with pytest.raises(InputError) as err:
        builtin_spec("ring4")
    assert "ring3" in str(err.value)
