"""The Ansible inventory in the DESIGN.md shape, from a validated Cluster."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from sparkctl.cluster import Cluster
from sparkctl.fileio import atomic_write


def interface_vars(cluster: Cluster, node: str) -> list[dict[str, Any]]:
    return [
        {
            "name": item.name,
            "hca": item.hca,
            "port": item.port,
            "rail": item.rail,
            "address": str(item.address),
            "mtu": item.mtu,
            "peers": [{"host": p.host, "interface": p.interface, "address": str(p.address)}
                      for p in item.peers],
        }
        for item in cluster.plan.interfaces[node]
    ]


def build_inventory(cluster: Cluster, host_vars: dict[str, dict] | None = None,
                    group_vars: dict | None = None) -> dict:
    spec = cluster.spec
    envs = {n.name: cluster.nccl_env(n.name) for n in spec.nodes}
    # One env for the group where every node agrees; otherwise each host carries its own.
    common_env = envs[spec.nodes[0].name] if len({repr(e) for e in envs.values()}) == 1 else None
    hosts: dict[str, dict] = {}
    for node in spec.nodes:
        hvars: dict[str, Any] = {"ansible_host": node.mgmt_address}
        if node.ssh_user:
            hvars["ansible_user"] = node.ssh_user
        if node.ssh_port != 22:
            hvars["ansible_port"] = node.ssh_port
        hvars["sparkctl_node_index"] = node.index
        hvars["sparkctl_interfaces"] = interface_vars(cluster, node.name)
        if common_env is None:
            hvars["sparkctl_nccl_env"] = envs[node.name]
        hvars.update((host_vars or {}).get(node.name, {}))
        hosts[node.name] = hvars
    gvars: dict[str, Any] = {
        "sparkctl_cluster_name": spec.name,
        "sparkctl_topology": spec.topology,
        "sparkctl_platform": spec.platform,
        "sparkctl_mtu": spec.mtu,
        "sparkctl_mgmt_interface": spec.mgmt_interface,
        "sparkctl_pool": [str(n) for n in spec.pool],
        "sparkctl_reserved": [str(n) for n in spec.reserved],
        "sparkctl_mpi_hostfile": cluster.hostfile(),
    }
    if spec.switch_mtu is not None:
        gvars["sparkctl_switch_mtu"] = spec.switch_mtu
    if common_env is not None:
        gvars["sparkctl_nccl_env"] = common_env
    gvars.update(group_vars or {})
    return {"all": {"children": {"sparks": {"hosts": hosts, "vars": gvars}}}}


def dump_inventory(inventory: dict) -> str:
    header = "# Written by sparkctl; regenerate rather than edit by hand.\n"
    return header + yaml.safe_dump(inventory, sort_keys=False, default_flow_style=False, width=100)


def write_inventory(path: str | Path, inventory: dict) -> Path:
    return atomic_write(path, dump_inventory(inventory))
