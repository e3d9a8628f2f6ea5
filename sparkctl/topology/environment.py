"""NCCL / MPI environment and the mpirun hostfile, derived from the graph (facts/dgx-spark.md)."""

from __future__ import annotations

import networkx as nx

from sparkctl.topology.graph import is_ring, spark_nodes, used_ports
from sparkctl.topology.hardware import MGMT_INTERFACE, RAILS, hca

# RoCE v2 over IPv4 sits at GID index 3 on DGX OS (NVIDIA's perftest guide uses -x 3); the
# rdma role records the real index and overrides this where it differs.
DEFAULT_GID_INDEX = 3


def nccl_env(graph: nx.MultiGraph, node: str, gid_index: int = DEFAULT_GID_INDEX) -> dict[str, str]:
    """The environment NCCL and OpenMPI need on `node`.

    Bootstrap and MPI's own TCP traffic go over management (as NVIDIA's cluster script does);
    data goes over RoCE on every HCA of every cabled port: listing both twins is what gets
    a port to 22-24 GB/s instead of ~13.5 GB/s with one.
    """
    env = {
        "NCCL_SOCKET_IFNAME": MGMT_INTERFACE,
        "OMPI_MCA_btl_tcp_if_include": MGMT_INTERFACE,
        "UCX_NET_DEVICES": MGMT_INTERFACE,
    }
    ports = used_ports(graph, node)
    if not ports:
        return env
    env["NCCL_IB_HCA"] = ",".join(hca(p, r) for p in ports for r in RAILS)
    env["NCCL_IB_GID_INDEX"] = str(gid_index)
    env["NCCL_IB_SUBNET_AWARE_ROUTING"] = "1"
    if is_ring(graph):
        # NVIDIA's ring recipe: each neighbour sits on its own subnets, so NICs must not merge
        # and the external net plugin must not take over.
        env["NCCL_NET_PLUGIN"] = "none"
        env["NCCL_IB_MERGE_NICS"] = "0"
    return dict(sorted(env.items()))


def hostfile(graph: nx.MultiGraph, slots: int = 1) -> str:
    """An OpenMPI hostfile: one GPU (one rank) per Spark, peers by name (ssh config maps them)."""
    return "".join(f"{name} slots={slots}\n" for name in spark_nodes(graph))
