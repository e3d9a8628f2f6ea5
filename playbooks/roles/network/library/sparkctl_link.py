#!/usr/bin/python
# ruff: noqa: E402  (Ansible modules put DOCUMENTATION before the imports)
"""Check that netplan brought the ConnectX-7 twins to the plan, and clear what their previous
owner left behind.

netplan is the only thing that configures the twins (address, MTU, up). This module reads
the result with `ip -j addr show` (and NetworkManager's view with nmcli, where it runs) and:
- reports as problems what netplan should have done and did not (a missing address, another
  MTU, a link down) and a NetworkManager connection still active on a twin;
- removes leftovers no netplan file can remove: IPv4 addresses that are not planned (a DHCP
  lease from NetworkManager's "Wired connection N", an older plan) and the IPv6 link-local
  address NetworkManager gave the twin before networkd took it over (`link-local: []` stops
  new ones, it does not delete an existing one).
A converged node reports changed=false.
"""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: sparkctl_link
short_description: Check ConnectX-7 twins against the plan and remove stray addresses
description:
  - Planned interfaces must be up and, while they have carrier, carry their planned IPv4
    address and MTU (netplan's job); a difference is reported and fails the task (in check
    mode it is reported as a change).
  - No NetworkManager connection may be active on a planned or purged interface.
  - Stray IPv4 addresses and IPv6 link-local addresses on planned and purged interfaces are
    removed (check mode only reports them).
  - With O(verify_only) nothing is changed and any difference fails the task.
options:
  interfaces:
    description: Planned interfaces, each with C(name), C(address) (CIDR) and C(mtu).
    type: list
    elements: dict
    required: true
  purge:
    description: Other interface names (unplanned twins) that must carry no IPv4 address.
    type: list
    elements: str
    default: []
  verify_only:
    description: Report differences as a failure instead of removing leftovers.
    type: bool
    default: false
author: sparkctl
"""

EXAMPLES = r"""
- name: Check the plan after netplan apply
  sparkctl_link:
    interfaces: [{name: enp1s0f1np1, address: 192.168.100.1/24, mtu: 9000}]
    purge: [enp1s0f0np0, enP2p1s0f0np0]
"""

RETURN = r"""
actions:
  description: The leftovers removed (or, in check mode, to remove), as commands.
  type: list
  elements: str
  returned: always
problems:
  description: Where the live state differs from the plan in a way only netplan may fix.
  type: list
  elements: str
  returned: always
"""

import json
import os

from ansible.module_utils.basic import AnsibleModule

ACTIVE_NM_STATES = ("connected", "connecting")


def current_state(module, ip):
    rc, out, err = module.run_command([ip, "-j", "addr", "show"], check_rc=False)
    if rc != 0:
        module.fail_json(msg=f"ip -j addr show failed: {err.strip()}", rc=rc)
    return {link["ifname"]: link for link in json.loads(out or "[]")}


def nm_devices(module):
    """{device: (state, connection)} from NetworkManager, or {} where it does not run."""
    nmcli = module.get_bin_path("nmcli")
    if nmcli is None:
        return {}
    rc, out, _ = module.run_command([nmcli, "-t", "-f", "DEVICE,STATE,CONNECTION", "device"],
                                    check_rc=False)
    if rc != 0:  # NetworkManager not running: nobody else holds the twins
        return {}
    return parse_nmcli(out)


def parse_nmcli(text):
    devices = {}
    for line in text.splitlines():
        # nmcli -t separates fields with ':' and escapes a ':' inside a value as '\:'.
        fields, current, escaped = [], "", False
        for char in line:
            if escaped:
                current, escaped = current + char, False
            elif char == "\\":
                escaped = True
            elif char == ":":
                fields.append(current)
                current = ""
            else:
                current += char
        fields.append(current)
        if len(fields) == 3:
            devices[fields[0]] = (fields[1], fields[2])
    return devices


def _ipv4(link):
    return [f"{a['local']}/{a['prefixlen']}" for a in link.get("addr_info", [])
            if a.get("family") == "inet"]


def _ipv6_link_local(link):
    return [f"{a['local']}/{a['prefixlen']}" for a in link.get("addr_info", [])
            if a.get("family") == "inet6" and a.get("scope") == "link"]


def plan_actions(state, interfaces, purge, nm=None):
    """(actions, problems). Actions only remove leftovers: argv lists for ip, or
    ('sysctl', path, value) tuples; problems are what netplan should have made true."""
    actions, problems = [], []
    nm = nm or {}
    planned = {item["name"]: item for item in interfaces}
    for name in list(planned) + [n for n in purge if n not in planned]:
        link = state.get(name)
        item = planned.get(name)
        if link is None:
            if item is not None:
                problems.append(f"interface {name} does not exist")
            continue
        flags = link.get("flags", [])
        if item is not None and "UP" not in flags:
            problems.append(f"{name} is down")
        elif item is not None and "LOWER_UP" in flags:
            # Without carrier (cable out, peer down) systemd-networkd holds the address back
            # until the link returns: that is netplan's plan working, not a difference.
            mtu, address = int(item["mtu"]), item["address"]
            if link.get("mtu") != mtu:
                problems.append(f"{name} has MTU {link.get('mtu')}, the plan says {mtu}")
            if address not in _ipv4(link):
                problems.append(f"{name} lacks its planned address {address}")
        nm_state, connection = nm.get(name, ("", ""))
        if nm_state.startswith(ACTIVE_NM_STATES) and connection not in ("", "--"):
            problems.append(f"NetworkManager still holds {name} (connection "
                            f"'{connection}', {nm_state})")
        for addr in _ipv4(link):
            if item is None or addr != item["address"]:
                actions.append(["addr", "del", addr, "dev", name])
        if _ipv6_link_local(link):
            # addr_gen_mode 1: the kernel makes no new fe80:: when the link flaps, as
            # netplan's `link-local: []` intends.
            actions.append(("sysctl", f"/proc/sys/net/ipv6/conf/{name}/addr_gen_mode", "1"))
            for addr in _ipv6_link_local(link):
                actions.append(["-6", "addr", "del", addr, "dev", name])
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
    params = module.params
    before = current_state(module, ip)
    actions, problems = plan_actions(before, params["interfaces"], params["purge"],
                                     nm_devices(module))
    described = [describe(a) for a in actions]
    if problems and module.check_mode and not params["verify_only"]:
        # The role runs `netplan apply` when the live state differs; a dry run says so.
        module.exit_json(changed=True, problems=problems, actions=described,
                         msg="netplan apply would bring: " + "; ".join(problems))
    if problems:
        module.fail_json(msg="netplan did not bring the twins to the plan: "
                         + "; ".join(problems), problems=problems, actions=described)
    if params["verify_only"]:
        if actions:
            module.fail_json(msg="leftovers on the twins: " + "; ".join(described),
                             problems=[], actions=described)
        module.exit_json(changed=False, actions=[], problems=[])
    if not actions:
        module.exit_json(changed=False, actions=[], problems=[])
    diff = {"before": _summary(before, params),
            "after": "would run:\n" + "\n".join(described) + "\n"}
    if not module.check_mode:
        for action in actions:
            run_action(module, ip, action)
        after_state = current_state(module, ip)
        remaining, _ = plan_actions(after_state, params["interfaces"], params["purge"])
        diff["after"] = _summary(after_state, params)
        if remaining:
            module.fail_json(msg="still there after removing: "
                             + "; ".join(describe(a) for a in remaining), actions=described,
                             problems=[])
    module.exit_json(changed=True, actions=described, problems=[], diff=diff)


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
