#!/usr/bin/python
# ruff: noqa: E402  (Ansible modules put DOCUMENTATION before the imports)
"""Everything the roles need to know about a node, in one round trip.

Ansible's setup module gathers far more than sparkctl reads and costs about a second per
host; this module returns only: the login user and home, the product name from
/etc/dgx-release, network interfaces with their IPv4 addresses, free space on /, memory,
and the node's own SSH host public keys (for pinned known_hosts).
"""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: sparkctl_node_facts
short_description: Minimal facts for sparkctl's roles
options:
  dgx_release:
    description: Path of the DGX release file.
    type: str
    default: /etc/dgx-release
  ssh_dir:
    description: Directory holding the SSH host public keys.
    type: str
    default: /etc/ssh
author: sparkctl
"""

RETURN = r"""
ansible_facts:
  description: C(sparkctl_node) with user, home, dgx_name, interfaces, free_disk_mb,
    memory_mb and ssh_host_keys.
  type: dict
  returned: always
"""

import glob
import json
import os
import pwd
import re

from ansible.module_utils.basic import AnsibleModule


def dgx_name(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            text = handle.read()
    except OSError:
        return None
    match = re.search(r'^DGX_NAME="?([^"\n]*)"?', text, re.MULTILINE)
    return match.group(1) if match else ""


def interfaces(module):
    ip = module.get_bin_path("ip", required=True)
    rc, out, err = module.run_command([ip, "-j", "addr", "show"], check_rc=False)
    if rc != 0:
        module.fail_json(msg=f"ip -j addr show failed: {err.strip()}")
    result = {}
    for link in json.loads(out or "[]"):
        result[link["ifname"]] = {
            "mtu": link.get("mtu"),
            "up": "UP" in link.get("flags", []),
            "ipv4": [f"{a['local']}/{a['prefixlen']}" for a in link.get("addr_info", [])
                     if a.get("family") == "inet"],
        }
    return result


def memory_mb():
    with open("/proc/meminfo", encoding="ascii") as handle:
        for line in handle:
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) // 1024
    return 0


def host_keys(ssh_dir):
    keys = []
    for path in sorted(glob.glob(os.path.join(ssh_dir, "ssh_host_*_key.pub"))):
        try:
            with open(path, encoding="ascii") as handle:
                fields = handle.read().split()
        except OSError:
            continue
        if len(fields) >= 2:
            keys.append({"type": fields[0], "key": fields[1]})
    return keys


def main():
    module = AnsibleModule(
        argument_spec={
            "dgx_release": {"type": "str", "default": "/etc/dgx-release"},
            "ssh_dir": {"type": "str", "default": "/etc/ssh"},
        },
        supports_check_mode=True,
    )
    user = pwd.getpwuid(os.getuid())
    disk = os.statvfs("/")
    facts = {
        "user": user.pw_name,
        "home": user.pw_dir,
        "dgx_name": dgx_name(module.params["dgx_release"]),
        "interfaces": interfaces(module),
        "free_disk_mb": disk.f_bavail * disk.f_frsize // (1024 * 1024),
        "memory_mb": memory_mb(),
        "ssh_host_keys": host_keys(module.params["ssh_dir"]),
    }
    module.exit_json(changed=False, ansible_facts={"sparkctl_node": facts})


if __name__ == "__main__":
    main()
