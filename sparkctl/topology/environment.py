"""NCCL / MPI environment and the mpirun hostfile, derived from the graph (facts/dgx-spark.md).

Sources for each variable are in notes/hardware.md; the NCCL ones were read in NVIDIA/nccl at
v2.30.7-1 (commit 73cf1122).
"""

from __future__ import annotations

import re

import networkx as nx

from sparkctl.topology.graph import spark_nodes, used_ports
from sparkctl.topology.hardware import MGMT_INTERFACE, RAILS, all_netdevs, hca
from sparkctl.topology.model import SWITCH, ClusterSpec, Violation

# RoCE v2 over IPv4 sits at GID index 3 on DGX OS (NVIDIA's perftest guide uses -x 3). This is
# the *plan*: the rdma role measures each HCA's index on the node and writes the node's own
# value to /etc/sparkctl/rdma.env, which nccl.env and the runtime containers use instead.
DEFAULT_GID_INDEX = 3
# NVIDIA/nccl src/transport/net_ib/connect.cc: NCCL_PARAM(IbGidIndex, "IB_GID_INDEX", -1);
# -1 makes ncclIbGetGidIndex pick the RoCE v2 IPv4 GID of each HCA itself. Used when one
# node's HCAs measure different indexes (NCCL takes a single value per process).
AUTO_GID_INDEX = -1
# NCCL_IB_SUBNET_AWARE_ROUTING first appears in NVIDIA/nccl commit 5c1c4288 ("Add subnet-aware
# routing for DGX Spark multi-node ring connection"), first tagged v2.30.7-1; older NCCL
# ignores the variable and a ring's QPs land on ports with no path to the peer.
SUBNET_ROUTING_MIN_NCCL = "2.30.7"

# Values written into nccl.env, which is read both by a shell (`set -a; . nccl.env`) and by
# `docker --env-file` (literal). Only characters that mean the same in both are allowed, so
# no quoting is needed in either format.
_PORTABLE_VALUE = re.compile(r"^[A-Za-z0-9_.,:/+=@-]*$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Linux netdev names (dev_valid_name): 1-15 characters, no '/', ':' or whitespace.
_IFNAME = re.compile(r"^(?!\.{1,2}$)[A-Za-z0-9_.-]{1,15}$")


def port_peers(graph: nx.MultiGraph, node: str) -> dict[int, set[str]]:
    """For each cabled port of `node`: the nodes (or 'switch') at the other ends."""
    peers: dict[int, set[str]] = {}
    for _, _, data in graph.edges(node, data=True):
        ends = data["cable"].ends()
        for here, there in (ends, ends[::-1]):
            if here.node == node and here.port is not None and there.node != node:
                peers.setdefault(here.port, set()).add(there.node)
    return peers


def ports_reach_different_peers(graph: nx.MultiGraph, node: str) -> bool:
    """True when the node's two ports lead to different neighbours (a ring, or a custom
    cabling like p0 to a Spark and p1 to the switch), so each port sits on other subnets."""
    peers = port_peers(graph, node)
    return len(peers) > 1 and len({frozenset(p) for p in peers.values()}) > 1


def needs_subnet_routing(graph: nx.MultiGraph) -> bool:
    """Some node reaches different peers through its two ports: NCCL then needs
    NCCL_IB_SUBNET_AWARE_ROUTING, so NCCL >= SUBNET_ROUTING_MIN_NCCL."""
    return any(ports_reach_different_peers(graph, n) for n in spark_nodes(graph))


def nccl_env(graph: nx.MultiGraph, node: str, gid_index: int = DEFAULT_GID_INDEX,
             mgmt_interface: str = MGMT_INTERFACE) -> dict[str, str]:
    """The environment NCCL and OpenMPI need on `node`.

    Bootstrap and MPI's own TCP traffic go over the management interface (NVIDIA's cluster
    script uses enP7s7; the cluster file can name Wi-Fi or a CX7 netdev); data goes over RoCE
    on every HCA of every cabled port: listing both twins is what gets a port to 22-24 GB/s
    instead of ~13.5 GB/s with one.
    """
    env = {
        "NCCL_SOCKET_IFNAME": mgmt_interface,
        "OMPI_MCA_btl_tcp_if_include": mgmt_interface,
        "UCX_NET_DEVICES": mgmt_interface,
    }
    ports = used_ports(graph, node)
    if ports:
        env["NCCL_IB_HCA"] = ",".join(hca(p, r) for p in ports for r in RAILS)
        env["NCCL_IB_GID_INDEX"] = str(gid_index)
        # NVIDIA's cluster script sets it on every topology; NCCL keeps the default device
        # whenever all of its ports reach the peer (2-node and switch), so it only acts where
        # a port has no path to the peer (connect.cc ncclIbFindDevBySubnet).
        env["NCCL_IB_SUBNET_AWARE_ROUTING"] = "1"
        if ports_reach_different_peers(graph, node):
            # NCCL fuses the two ports of one PCI device into one NIC by default (init.cc
            # ncclIbGetPciPath zeroes the PCI function; topo.cc default NCCL_NET_MERGE_LEVEL is
            # PATH_PORT): rocep1s0f0+rocep1s0f1 and roceP2p1s0f0+roceP2p1s0f1, i.e. port 0 and
            # port 1. A fused NIC spreads its QPs over both ports, and subnet-aware routing
            # only accepts a device whose ports *all* reach the peer, which a fused NIC never
            # does when its ports go to different neighbours. MERGE_NICS=0 keeps the four HCAs
            # apart (init.cc: "Skipping makeVDevice"), so routing can pick the right one.
            env["NCCL_IB_MERGE_NICS"] = "0"
            # The routing lives in NCCL's built-in IB transport; an external net plugin
            # (libnccl-net.so in some images) would replace it. NVIDIA's ring recipe.
            env["NCCL_NET_PLUGIN"] = "none"
    for key, value in env.items():
        check_env_value(key, value)
    return dict(sorted(env.items()))


def check_env_value(key: str, value: str) -> None:
    """Refuse what could not be written unquoted into both a shell and a docker env file."""
    if not _ENV_NAME.match(key) or not _PORTABLE_VALUE.match(value):
        from sparkctl.errors import InputError

        raise InputError(f"environment value {key}={value!r} cannot be written to nccl.env",
                         hint="names and values may use letters, digits and _ . , : / + = @ -")


def check_mgmt_interface_name(name: object) -> str | None:
    """Why `name` is not a usable interface name, or None."""
    if not isinstance(name, str) or not _IFNAME.match(name):
        return (f"management_interface must be a network interface name (1-15 letters, "
                f"digits, '_', '.', '-'), got {name!r}")
    return None


def mgmt_interface_violations(spec: ClusterSpec) -> list[Violation]:
    """A ConnectX-7 netdev as the management interface must be cabled on every node: its
    planned address is what NCCL bootstraps on and what the runtimes advertise."""
    name = spec.mgmt_interface
    problem = check_mgmt_interface_name(name)
    where = spec.location("management_interface")
    if problem:
        return [Violation("bad-mgmt-interface", problem, location=where,
                          hint="enP7s7 (default), wlP9s9 or a cabled ConnectX-7 netdev")]
    if name not in all_netdevs():
        return []
    from sparkctl.topology.hardware import device_by_netdev

    dev = device_by_netdev(name)
    assert dev is not None  # name is one of all_netdevs()
    found = []
    for node in spec.nodes:
        cabled = {end.port for c in spec.cables for end in c.ends()
                  if end.node == node.name and end.node != SWITCH}
        if dev.port not in cabled:
            found.append(Violation(
                "mgmt-not-cabled", f"management_interface {name} is port {dev.port} rail "
                f"{dev.rail}, which has no cable on this node", node=node.name, port=dev.port,
                location=where, hint="choose a netdev of a port every node has cabled, or "
                "enP7s7 / wlP9s9"))
    return found


def hostfile(graph: nx.MultiGraph, slots: int = 1) -> str:
    """An OpenMPI hostfile: one GPU (one rank) per Spark, peers by name (ssh config maps them)."""
    return "".join(f"{name} slots={slots}\n" for name in spark_nodes(graph))
