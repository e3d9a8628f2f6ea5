"""One subnet per segment: overlapping pools are refused, and a plan that would give one
subnet to two segments is refused by an invariant that runs on every plan."""

from __future__ import annotations

import dataclasses
from ipaddress import IPv4Network

import pytest

from sparkctl.cluster import Cluster
from sparkctl.errors import InvalidTopology
from sparkctl.topology import addressing
from sparkctl.topology.addressing import plan_addresses, plan_invariants
from sparkctl.topology.builtins import BUILTINS, builtin_spec


@pytest.mark.parametrize("pool", [
    ("192.168.100.0/22", "192.168.100.0/23"),
    ("192.168.100.0/22", "192.168.100.0/22"),
    ("10.0.0.0/8", "10.20.0.0/16"),
])
def test_overlapping_pools_are_refused(pool):
    spec = dataclasses.replace(builtin_spec("ring3"), pool=tuple(IPv4Network(p) for p in pool))
    with pytest.raises(InvalidTopology) as err:
        Cluster.from_spec(spec)
    assert [v.code for v in err.value.violations] == ["pool-overlap"]
    assert "overlap" in str(err.value)


@pytest.mark.parametrize("name", sorted(BUILTINS))
def test_every_builtin_plan_satisfies_the_invariants(name):
    assert plan_invariants(plan_addresses(builtin_spec(name))) == []


def test_the_invariant_refuses_a_plan_that_reuses_a_subnet(monkeypatch):
    """A planner bug that handed one /24 to two cables must stop before anything is written:
    simulate it by making every segment draw the same subnet."""
    real = addressing._check_pool

    def one_subnet_for_all(spec, needed):
        subnets, problems = real(spec, needed)
        return [subnets[0]] * len(subnets), problems

    monkeypatch.setattr(addressing, "_check_pool", one_subnet_for_all)
    with pytest.raises(InvalidTopology) as err:
        Cluster.from_spec(builtin_spec("ring3"))
    codes = {v.code for v in err.value.violations}
    assert {"subnet-reused", "twins-share-subnet", "address-reused"} <= codes


def test_written_addresses_on_two_segments_in_one_subnet_are_refused():
    ifaces = [("a", "enp1s0f0np0", "192.168.100.1/24", [("b", "enp1s0f1np1")]),
              ("b", "enp1s0f1np1", "192.168.100.2/24", [("a", "enp1s0f0np0")]),
              ("a", "enP2p1s0f0np0", "192.168.100.3/24", [("b", "enP2p1s0f1np1")])]
    from ipaddress import IPv4Interface

    found = addressing.written_plan_violations(
        [(n, d, IPv4Interface(a), p) for n, d, a, p in ifaces])
    assert [v.code for v in found] == ["subnet-reused"]
    assert addressing.written_plan_violations(
        [(n, d, IPv4Interface(a), p) for n, d, a, p in ifaces[:2]]) == []
