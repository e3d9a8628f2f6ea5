"""Pure parts of the lab (no root needed): names, rates, link plans, image recipe, keys."""

from __future__ import annotations

import dataclasses

import pytest

from sparkctl.cluster import Cluster
from sparkctl.errors import InputError
from sparkctl.lab import names, paths, wiring
from sparkctl.lab.image import ImageRecipe
from sparkctl.lab.keys import known_hosts_lines
from sparkctl.topology.builtins import BUILTINS, builtin_spec
from sparkctl.topology.hardware import netdev


@pytest.mark.parametrize("text, mbit", [("2gbit", 2000), ("500mbit", 500), ("1.5gbit", 1500),
                                         ("750", 750), ("2GBIT", 2000)])
def test_rates(text, mbit):
    assert wiring.parse_rate_mbit(text) == mbit


@pytest.mark.parametrize("text", ["", "fast", "0mbit", "500gbit", "2 tbit", "-1gbit"])
def test_bad_rates(text):
    with pytest.raises(InputError, match="cannot use link rate"):
        wiring.parse_rate_mbit(text)


@pytest.mark.parametrize("name", ["lab", "a", "ci2", "abcdefgh"])
def test_lab_names_fit_interface_names(name):
    paths.validate_lab_name(name)
    for ifname in (names.mgmt_bridge(name), names.mgmt_host_veth(name, 3)):
        assert len(ifname) <= 15 and name in ifname


@pytest.mark.parametrize("name", ["", "Lab", "9lab", "lab-1", "abcdefghi", "a/b"])
def test_bad_lab_names(name):
    with pytest.raises(InputError, match="invalid lab name"):
        paths.validate_lab_name(name)


def test_node_names_must_be_hostnames():
    names.check_node_name("spark-1")
    for bad in ("switch", "-x", "a_b", "x" * 64, "a.b"):
        with pytest.raises(InputError):
            names.check_node_name(bad)


@pytest.mark.parametrize("topology", list(BUILTINS))
def test_link_plan_follows_the_graph(topology):
    spec = builtin_spec(topology)
    cluster = Cluster.from_spec(spec)
    _, links = wiring.plan_links("lab", spec)
    plugged = [li for li in links if li.plugged]
    assert len(plugged) == 2 * len(spec.cables)  # one veth pair per rail per cable
    # Every (node, port, rail) appears exactly once, plugged or not: all four twins exist.
    node_ends = [(e.node, e.port, e.rail) for li in links for e in (li.a, li.b)
                 if e.node in spec.node_names]
    assert sorted(node_ends) == sorted((n, p, r) for n in spec.node_names
                                       for p in (0, 1) for r in (0, 1))
    for li in links:
        for end in (li.a, li.b):
            if end.node in spec.node_names:
                assert end.ifname == netdev(end.port, end.rail)
    # Plugged ends match the address plan's peers.
    for li in plugged:
        if li.b.node == "switch":
            continue
        item = cluster.plan.interface(li.a.node, li.a.ifname)
        assert (li.b.node, li.b.ifname) in {(p.host, p.interface) for p in item.peers}


def test_image_digest_follows_the_recipe():
    base = ImageRecipe()
    assert base.digest() == ImageRecipe().digest()
    more = dataclasses.replace(base, packages=base.packages + ("tcpdump",))
    assert more.digest() != base.digest()


def test_known_hosts_lines():
    text = known_hosts_lines([(["spark-1", "10.250.0.1"], b"ssh-ed25519 AAAAkey root@spark-1\n")])
    assert text == "spark-1,10.250.0.1 ssh-ed25519 AAAAkey\n"
