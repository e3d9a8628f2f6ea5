#!/usr/bin/python
# ruff: noqa: E402  (Ansible modules put DOCUMENTATION before the imports)
"""Which interface and IPv4 addresses carry the controller's connection to this node, and,
with expectations, a check that they are unchanged (after `netplan apply`).

The node's own view of the connection comes from SSH_CONNECTION ("client port server port"),
so it works when the inventory names the node by host name or mDNS name; run it without
become (sudo resets the environment).
"""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: sparkctl_mgmt_link
short_description: Find (and check) the management interface and its IPv4 addresses
description:
  - The management address is the server address of this SSH session, else O(address).
  - Returns the interface holding it and all IPv4 addresses on that interface.
  - With O(expect_interface) and O(expect_addresses), fails unless both are unchanged.
  - Without them it never fails (a local connection may reach no interface address).
options:
  address:
    description: Fallback management address (the inventory's ansible_host).
    type: str
    required: true
  expect_interface:
    description: The interface that held the address before.
    type: str
  expect_addresses:
    description: The IPv4 addresses (CIDR) that interface had before.
    type: list
    elements: str
author: sparkctl
"""

EXAMPLES = r"""
- name: Note the management link
  sparkctl_mgmt_link:
    address: "{{ ansible_host }}"
  become: false
  register: before
"""

RETURN = r"""
address:
  description: The management address.
  type: str
  returned: always
interface:
  description: The interface holding it (null when none does).
  type: str
  returned: always
addresses:
  description: IPv4 addresses (CIDR) on that interface.
  type: list
  elements: str
  returned: always
"""

import json
import os

from ansible.module_utils.basic import AnsibleModule


def session_address(environ, fallback):
    parts = environ.get("SSH_CONNECTION", "").split()
    return parts[2] if len(parts) == 4 else fallback


def find(links, address):
    """(interface, [ipv4 CIDR on it]) for the interface holding address, else (None, [])."""
    for link in links:
        inet = [a for a in link.get("addr_info", []) if a.get("family") == "inet"]
        if any(a.get("local") == address for a in inet):
            return link["ifname"], sorted(f"{a['local']}/{a['prefixlen']}" for a in inet)
    return None, []


def main():
    module = AnsibleModule(
        argument_spec={
            "address": {"type": "str", "required": True},
            "expect_interface": {"type": "str"},
            "expect_addresses": {"type": "list", "elements": "str"},
        },
        supports_check_mode=True,
    )
    ip = module.get_bin_path("ip", required=True)
    rc, out, err = module.run_command([ip, "-j", "-4", "addr", "show"], check_rc=False)
    if rc != 0:
        module.fail_json(msg=f"ip -j -4 addr show failed: {err.strip()}")
    address = session_address(os.environ, module.params["address"])
    interface, addresses = find(json.loads(out or "[]"), address)
    result = {"changed": False, "address": address, "interface": interface,
              "addresses": addresses}
    want_if = module.params["expect_interface"]
    want = module.params["expect_addresses"]
    if want_if is not None or want is not None:
        if interface != want_if or sorted(want or []) != addresses:
            module.fail_json(
                msg=f"the management link changed: {address} was on {want_if} "
                    f"({', '.join(want or []) or 'no IPv4'}), now "
                    + (f"on {interface} ({', '.join(addresses)})" if interface
                       else "on no interface"), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
