"""Every rule fires on a spec built in code (the file corpus covers the same through YAML)."""

import pytest

from sparkctl.cluster import Cluster
from sparkctl.errors import InvalidTopology
from sparkctl.topology.model import SWITCH, Cable, ClusterSpec, PortRef, SparkNode


def spec(names, cables, **kw):
    nodes = tuple(SparkNode(n, i, f"10.0.0.{i + 1}") for i, n in enumerate(names))
    cabled = tuple(Cable(PortRef(*_end(a)), PortRef(*_end(b))) for a, b in cables)
    return ClusterSpec(name="t", topology="custom", nodes=nodes, cables=cabled, **kw)


def _end(text):
    if text == SWITCH:
        return (SWITCH, None)
    node, port = text.split(":p")
    return (node, int(port))


def codes(s):
    with pytest.raises(InvalidTopology) as err:
        Cluster.from_spec(s)
    return {v.code for v in err.value.violations}, err.value


def test_valid_custom_cabling_passes():
    Cluster.from_spec(spec(["a", "b", "c"], [("a:p0", "b:p0"), ("b:p1", "c:p1")]))


@pytest.mark.parametrize("names,cables,code,node,port", [
    ([], [], "node-count", None, None),
    (["a", "b", "c", "d", "e"], [(n + ":p1", SWITCH) for n in "abcde"], "node-count", None, None),
    (["a", "a"], [("a:p0", "a:p1")], "duplicate-host", "a", None),
    (["a", "b"], [("a:p2", "b:p0")], "bad-port", "a", 2),
    (["a", "b"], [("a:p0", "a:p1"), ("a:p1", "b:p1")], "self-loop", "a", 0),
    (["a", "b", "c"], [("a:p0", "b:p0"), ("a:p0", "c:p0")], "port-reused", "a", 0),
    (["a", "b", "c"], [("a:p0", "b:p0")], "disconnected", "c", None),
    (["a", "b", "c", "d"], [("a:p0", "b:p1"), ("b:p0", "c:p1"), ("c:p0", "d:p1"),
                            ("d:p0", "a:p1")], "long-ring", "a", None),
    (["a", "b"], [("a:p0", "z:p0")], "unknown-node", None, None),
    (["a_b", "c"], [("a_b:p0", "c:p0")], "bad-hostname", None, None),
    (["switch", "c"], [("c:p1", SWITCH)], "reserved-name", "switch", None),
])
def test_each_rule_names_node_and_port(names, cables, code, node, port):
    found, err = codes(spec(names, cables))
    assert code in found
    violation = next(v for v in err.violations if v.code == code)
    assert violation.node == node and violation.port == port
    assert violation.hint, "every violation says how to fix it"


def test_mtu_limits():
    ok = spec(["a", "b"], [("a:p1", "b:p1")], mtu=1280)
    Cluster.from_spec(ok)
    for bad in (1279, 9217, 100):
        found, _ = codes(spec(["a", "b"], [("a:p1", "b:p1")], mtu=bad))
        assert found == {"bad-mtu"}


def test_three_ring_is_allowed_and_four_ring_is_explained():
    Cluster.from_spec(spec(["a", "b", "c"], [("a:p0", "b:p1"), ("b:p0", "c:p1"), ("c:p0", "a:p1")]))
    _, err = codes(spec(["a", "b", "c", "d"], [("a:p0", "b:p1"), ("b:p0", "c:p1"),
                                               ("c:p0", "d:p1"), ("d:p0", "a:p1")]))
    assert "IP forwarding" in str(err) and "switch4" in str(err)


def test_pool_problems_become_violations():
    from ipaddress import IPv4Network as N

    found, _ = codes(spec(["a", "b"], [("a:p0", "b:p0"), ("a:p1", "b:p1")],
                          pool=(N("192.168.100.0/23"),)))
    assert found == {"pool-too-small"}
    found, _ = codes(spec(["a", "b"], [("a:p1", "b:p1")], reserved=(N("192.168.100.0/24"),)))
    assert found == {"pool-overlap"}
    found, err = codes(spec(["a", "b"], [("a:p1", "b:p1")], pool=(N("10.0.0.0/22"),)))
    assert found == {"pool-overlap"} and "10.0.0.1" in str(err)  # mgmt 10.0.0.x inside pool


def test_both_ports_of_one_node_to_the_switch_is_refused():
    # Found by the hypothesis test: both ports on one fabric put twins in one subnet.
    found, err = codes(spec(["a", "b"], [("a:p0", SWITCH), ("a:p1", SWITCH), ("b:p1", SWITCH)]))
    assert found == {"switch-twice"}
    assert err.violations[0].node == "a" and err.violations[0].port == 1
