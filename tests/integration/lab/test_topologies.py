"""Every built-in topology as a lab: SSH, interface names, cabling, isolation, clean teardown."""

from __future__ import annotations

import json

import pytest

from sparkctl.cluster import Cluster
from sparkctl.lab import lifecycle
from sparkctl.topology.builtins import builtin_spec
from sparkctl.topology.hardware import MGMT_INTERFACE, all_netdevs

from .conftest import lab_leftovers, node_links, ssh

pytestmark = pytest.mark.lab

TOPOLOGIES = ["single", "direct", "direct-dual", "ring3", "switch4"]


@pytest.fixture(scope="module", params=TOPOLOGIES)
def topo_lab(request, lab_factory):
    topology = request.param
    name = "t" + topology.replace("-", "")[:7]
    record = lab_factory(name, topology)
    cluster = Cluster.from_spec(builtin_spec(topology))
    yield topology, record, cluster
    lifecycle.down(name)
    assert lab_leftovers(record) == [], "lab down left things behind"


def test_ssh_reaches_every_node_with_strict_host_keys(topo_lab):
    _, record, _ = topo_lab
    for node in record.nodes:
        out = ssh(record, node.name, "hostname; id -u; python3 -c 'print(42)'").stdout.split()
        assert out == [node.name, "1000", "42"]  # the DGX OS first user, not root


def test_every_node_has_the_spark_interface_names_and_no_data_addresses(topo_lab):
    _, record, _ = topo_lab
    for node in record.nodes:
        links = json.loads(ssh(record, node.name, "ip -j addr show").stdout)
        names = {item["ifname"] for item in links}
        assert names == {"lo", MGMT_INTERFACE, *all_netdevs()}
        for item in links:
            inet = [a for a in item.get("addr_info", []) if a["family"] == "inet"]
            if item["ifname"] == MGMT_INTERFACE:
                assert [a["local"] for a in inet] == [node.mgmt_address]
            elif item["ifname"] != "lo":
                assert inet == [], f"lab up must leave {item['ifname']} unaddressed"


def test_cabling_matches_the_graph(topo_lab):
    """Give every planned interface its planned address (temporarily) and ping every peer
    through exactly that interface; uncabled ports must have no carrier."""
    _, record, cluster = topo_lab
    plan = cluster.plan.interfaces
    for node in record.nodes:
        # The twins are NetworkManager's on a fresh node: take them away from it first, or
        # its DHCP attempt ends by flushing the addresses (as it would on DGX OS).
        cmds = [f"nmcli device set {i.name} managed no && ip addr add {i.address} dev {i.name}"
                for i in plan[node.name]]
        if cmds:
            ssh(record, node.name, " && ".join(cmds), root=True)
    try:
        for node in record.nodes:
            planned = {i.name: i for i in plan[node.name]}
            carriers = json.loads(ssh(record, node.name, "ip -j link show").stdout)
            for item in carriers:
                if item["ifname"] in all_netdevs():
                    cabled = item["ifname"] in planned
                    assert ("NO-CARRIER" not in item["flags"]) == cabled, (node.name, item)
            pings = [f"ping -c1 -W2 -I {i.name} {p.address} >/dev/null 2>&1 || "
                     f"echo unreachable {i.name} {p.host}:{p.interface} {p.address}"
                     for i in planned.values() for p in i.peers]
            if pings:
                out = ssh(record, node.name, "; ".join(pings)).stdout
                assert out == "", f"from {node.name}: {out}"
    finally:
        for node in record.nodes:
            cmds = [f"ip addr del {i.address} dev {i.name}; nmcli device set {i.name} managed yes"
                    for i in plan[node.name]]
            if cmds:
                ssh(record, node.name, "; ".join(cmds), check=False, root=True)


def test_veth_peers_match_the_cables(topo_lab):
    """The same check from the host side: each veth's peer is the interface the graph says."""
    topology, record, cluster = topo_lab
    expected = set()
    for cable in cluster.spec.cables:
        for rail in (0, 1):
            ends = []
            for end in cable.ends():
                ends.append("switch" if end.is_switch else f"{end.node}:p{end.port}r{rail}")
            expected.add(frozenset(ends))
    seen = set()
    for link in record.links:
        if not link.plugged:
            continue
        here = node_links(link.a.netns)[link.a.ifname]
        there = node_links(link.b.netns)[link.b.ifname]
        assert here["link_index"] == there["ifindex"] and there["link_index"] == here["ifindex"]
        ends = []
        for end in (link.a, link.b):
            ends.append("switch" if end.node == "switch" else f"{end.node}:p{end.port}r{end.rail}")
        seen.add(frozenset(ends))
    assert seen == expected


def test_nodes_are_isolated(topo_lab):
    _, record, _ = topo_lab
    first = record.nodes[0].name
    ssh(record, first, "echo secret > /root/only-here && touch /etc/only-here", root=True)
    for node in record.nodes[1:]:
        out = ssh(record, node.name, "ls /root/only-here /etc/only-here", check=False,
                  root=True)
        assert out.returncode != 0 and "No such file" in out.stderr
    # Own PID namespace: PID 1 is the node's systemd, not the host's init.
    assert ssh(record, first, "cat /proc/1/comm").stdout.strip() == "systemd"
    # Kernel-wide sysctls are read-only, network ones writable.
    assert ssh(record, first, "echo 1 > /proc/sys/kernel/domainname", check=False,
               root=True).returncode
    ssh(record, first, "sysctl -qw net.ipv4.conf.all.forwarding=1", root=True)
    with open("/proc/sys/net/ipv4/conf/all/forwarding") as host:
        assert host.read().strip() == "0", "a node changed the host's forwarding"
    ssh(record, first, "sysctl -qw net.ipv4.conf.all.forwarding=0", root=True)
