#!/usr/bin/python
# ruff: noqa: E402  (Ansible modules put DOCUMENTATION before the imports)
"""Find the RoCE v2 GID index that carries an IPv4 address on an HCA (port 1).

The kernel lists each GID in /sys/class/infiniband/HCA/ports/1/gids/N with its type in
.../gid_attrs/types/N; RoCE v2 over IPv4 shows the address as ::ffff:a.b.c.d. The index
moves when IPv6 addresses come and go, so it is read, not assumed.
"""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: sparkctl_roce_gid
short_description: Find the RoCE v2 GID index of an IPv4 address on an RDMA device
options:
  hca:
    description: RDMA device name, e.g. rocep1s0f1.
    type: str
    required: true
  address:
    description: IPv4 address assigned to the HCA's netdev.
    type: str
    required: true
  port:
    description: HCA port number.
    type: int
    default: 1
  sysfs:
    description: Root of the infiniband class directory.
    type: str
    default: /sys/class/infiniband
author: sparkctl
"""

RETURN = r"""
index:
  description: The GID index.
  type: int
  returned: success
"""

import ipaddress
import os

from ansible.module_utils.basic import AnsibleModule


def gid_to_ipv4(gid):
    try:
        addr = ipaddress.IPv6Address(gid)
    except ValueError:
        return None
    mapped = addr.ipv4_mapped
    return str(mapped) if mapped else None


def find_index(port_dir, address):
    gids_dir = os.path.join(port_dir, "gids")
    types_dir = os.path.join(port_dir, "gid_attrs", "types")
    seen = []
    for name in sorted(os.listdir(gids_dir), key=lambda n: int(n) if n.isdigit() else -1):
        if not name.isdigit():
            continue
        try:
            with open(os.path.join(gids_dir, name), encoding="ascii") as handle:
                gid = handle.read().strip()
            with open(os.path.join(types_dir, name), encoding="ascii") as handle:
                kind = handle.read().strip()
        except OSError:
            continue  # unpopulated entries cannot be read (EINVAL)
        ipv4 = gid_to_ipv4(gid)
        if ipv4:
            seen.append(f"{name}:{kind}:{ipv4}")
        if ipv4 == address and kind.lower() == "roce v2":
            return int(name), seen
    return None, seen


def main():
    module = AnsibleModule(
        argument_spec={
            "hca": {"type": "str", "required": True},
            "address": {"type": "str", "required": True},
            "port": {"type": "int", "default": 1},
            "sysfs": {"type": "str", "default": "/sys/class/infiniband"},
        },
        supports_check_mode=True,
    )
    port_dir = os.path.join(module.params["sysfs"], module.params["hca"], "ports",
                            str(module.params["port"]))
    if not os.path.isdir(port_dir):
        module.fail_json(msg=f"no RDMA port {port_dir}: is {module.params['hca']} present "
                         "(rdma link show)?")
    index, seen = find_index(port_dir, module.params["address"])
    if index is None:
        module.fail_json(msg=f"{module.params['hca']}: no RoCE v2 GID for "
                         f"{module.params['address']}; IPv4 GIDs found: "
                         f"{', '.join(seen) or 'none'}. Is the address on the HCA's netdev?")
    module.exit_json(changed=False, index=index)


if __name__ == "__main__":
    main()
