#!/usr/bin/python
# ruff: noqa: E402  (Ansible modules put DOCUMENTATION before the imports)
"""Bring ConnectX-7 (or lab veth) interfaces to the planned state with iproute2.

Reads the current state with `ip -j addr show`, computes the actions needed, and only runs
them when something differs, so a converged node reports changed=false. Used on `lab`
(no systemd, no netplan apply) to apply the plan and on `dgx-spark` after `netplan apply`
to remove stray addresses and to verify the end state.
"""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: sparkctl_link
short_description: Set addresses, MTU and link state of data interfaces with iproute2
description:
  - Planned interfaces get exactly their planned IPv4 address and MTU, are up, and carry no
    IPv6 link-local address.
  - Interfaces listed in O(purge) that are not planned lose every IPv4 address.
  - With O(verify_only) nothing is changed; the module fails when the state differs.
options:
  interfaces:
    description: Planned interfaces, each with C(name), C(address) (CIDR) and C(mtu).
    type: list
    elements: dict
    required: true
  purge:
    description: Interface names whose IPv4 addresses must go unless they are planned.
    type: list
    elements: str
    default: []
  verify_only:
    description: Report differences as a failure instead of fixing them.
    type: bool
    default: false
author: sparkctl
"""

EXAMPLES = r"""
- name: Apply the plan
  sparkctl_link:
    interfaces: [{name: enp1s0f1np1, address: 192.168.100.1/24, mtu: 9000}]
    purge: [enp1s0f0np0, enP2p1s0f0np0]
"""

RETURN = r"""
actions:
  description: The iproute2 commands that were (or, in check mode, would be) run.
  type: list
  elements: str
  returned: always
"""

import json
import os

from ansible.module_utils.basic import AnsibleModule


def current_state(module, ip):
    rc, out, err = module.run_command([ip, "-j", "addr", "show"], check_rc=False)
    if rc != 0:
        module.fail_json(msg=f"ip -j addr show failed: {err.strip()}", rc=rc)
    return {link["ifname"]: link for link in json.loads(out or "[]")}


def _ipv4(link):
    return [f"{a['local']}/{a['prefixlen']}" for a in link.get("addr_info", [])
            if a.get("family") == "inet"]


def _ipv6_link_local(link):
    return [f"{a['local']}/{a['prefixlen']}" for a in link.get("addr_info", [])
            if a.get("family") == "inet6" and a.get("scope") == "link"]


def plan_actions(state, interfaces, purge):
    """(actions, problems): actions are argv lists or ('sysctl', path, value) tuples."""
    actions, problems = [], []
    planned = {item["name"] for item in interfaces}
    for item in interfaces:
        name, address, mtu = item["name"], item["address"], int(item["mtu"])
        link = state.get(name)
        if link is None:
            problems.append(f"interface {name} does not exist")
            continue
        if link.get("mtu") != mtu:
            actions.append(["link", "set", "dev", name, "mtu", str(mtu)])
        if _ipv6_link_local(link):
            # addr_gen_mode 1 stops the kernel from re-creating fe80:: when the link flaps,
            # the iproute2 equivalent of netplan's `link-local: []`.
            actions.append(("sysctl", f"/proc/sys/net/ipv6/conf/{name}/addr_gen_mode", "1"))
            for addr in _ipv6_link_local(link):
                actions.append(["-6", "addr", "del", addr, "dev", name])
        for addr in _ipv4(link):
            if addr != address:
                actions.append(["addr", "del", addr, "dev", name])
        if address not in _ipv4(link):
            actions.append(["addr", "add", address, "dev", name])
        if "UP" not in link.get("flags", []):
            actions.append(["link", "set", "dev", name, "up"])
    for name in purge:
        if name in planned or name not in state:
            continue
        for addr in _ipv4(state[name]):
            actions.append(["addr", "del", addr, "dev", name])
    return actions, problems


def describe(action):
    if isinstance(action, tuple):
        return f"echo {action[2]} > {action[1]}"
    return "ip " + " ".join(action)


def run_action(module, ip, action):
    if isinstance(action, tuple):
        _, path, value = action
        if os.path.exists(path):
            with open(path, "w", encoding="ascii") as handle:
                handle.write(value)
        return
    rc, _, err = module.run_command([ip, *action], check_rc=False)
    if rc != 0:
        module.fail_json(msg=f"{describe(action)} failed: {err.strip()}", rc=rc)


def main():
    module = AnsibleModule(
        argument_spec={
            "interfaces": {"type": "list", "elements": "dict", "required": True},
            "purge": {"type": "list", "elements": "str", "default": []},
            "verify_only": {"type": "bool", "default": False},
        },
        supports_check_mode=True,
    )
    ip = module.get_bin_path("ip", required=True)
    before = current_state(module, ip)
    actions, problems = plan_actions(before, module.params["interfaces"], module.params["purge"])
    described = [describe(a) for a in actions]
    if problems:
        module.fail_json(msg="; ".join(problems), actions=described)
    if module.params["verify_only"]:
        if actions:
            module.fail_json(msg="interfaces differ from the plan: " + "; ".join(described),
                             actions=described)
        module.exit_json(changed=False, actions=[])
    if not actions:
        module.exit_json(changed=False, actions=[])
    diff = {"before": _summary(before, module.params),
            "after": "would run:\n" + "\n".join(described) + "\n"}
    if not module.check_mode:
        for action in actions:
            run_action(module, ip, action)
        after_state = current_state(module, ip)
        remaining, _ = plan_actions(after_state, module.params["interfaces"],
                                    module.params["purge"])
        diff["after"] = _summary(after_state, module.params)
        if remaining:
            module.fail_json(msg="still differs after applying: "
                             + "; ".join(describe(a) for a in remaining), actions=described)
    module.exit_json(changed=True, actions=described, diff=diff)


def _summary(state, params):
    names = [i["name"] for i in params["interfaces"]] + [
        n for n in params["purge"] if n in state]
    lines = []
    for name in dict.fromkeys(names):
        link = state.get(name, {})
        lines.append(f"{name}: mtu={link.get('mtu')} flags={','.join(link.get('flags', []))} "
                     f"inet={' '.join(_ipv4(link)) or '-'} "
                     f"ll6={' '.join(_ipv6_link_local(link)) or '-'}")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
