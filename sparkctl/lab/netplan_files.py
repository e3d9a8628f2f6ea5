"""netplan files a lab writes into its nodes before they boot: the management link (as DGX OS
leaves it) and, for `lab up --configured`, the data plan pre-applied.

Both are rendered by netplan at boot exactly like any other file; nothing configures a link
behind netplan's back.
"""

from __future__ import annotations

import yaml

from sparkctl.lab.access import NodeFile
from sparkctl.topology.hardware import MGMT_INTERFACE, all_netdevs

# The installer's file name on Ubuntu; DGX OS's own mgmt file is not documented
# (facts/dgx-os.md section 2), what matters is that it names no renderer.
MGMT_PATH = "/etc/netplan/00-installer-config.yaml"
# The network role's path: provisioning replaces the --configured file with its own.
CONFIGURED_PATH = "/etc/netplan/40-sparkctl.yaml"


def _dump(header: str, ethernets: dict) -> str:
    body = yaml.safe_dump({"network": {"version": 2, "ethernets": ethernets}},
                          sort_keys=False, default_flow_style=False)
    return header + body


def mgmt_file(address: str, prefix: int) -> NodeFile:
    """enP7s7 with its static lab address and no renderer of its own: NetworkManager renders
    it, as netplan's default renderer (/usr/lib/netplan/00-network-manager-all.yaml)."""
    header = ("# Written by sparkctl lab: the management link. No renderer here, so netplan's\n"
              "# default renders it: NetworkManager, as on DGX OS.\n")
    text = _dump(header, {MGMT_INTERFACE: {"addresses": [f"{address}/{prefix}"]}})
    return NodeFile(MGMT_PATH, text, 0o600)


def configured_file(planned: list) -> NodeFile:
    """`lab up --configured`: the node as provisioned, but with IPv6 link-local kept (health's
    and discover's neighbour probes use it); each CX7 twin rendered by systemd-networkd."""
    header = ("# Written by `sparkctl lab up --configured`: the address plan, pre-applied.\n"
              "# `sparkctl provision` (network role) replaces this file with its own.\n")
    ethernets: dict = {}
    by_name = {item.name: item for item in planned}
    for name in all_netdevs():
        entry: dict = {"renderer": "networkd", "dhcp4": False, "dhcp6": False,
                       "accept-ra": False, "optional": True}
        item = by_name.get(name)
        if item is not None:
            entry["mtu"] = int(item.mtu)
            entry["addresses"] = [str(item.address)]
        ethernets[name] = entry
    return NodeFile(CONFIGURED_PATH, _dump(header, ethernets), 0o600)
