"""Names of everything a lab creates; each carries the lab name so labs never collide.

Inside a node, interfaces are named like the real Spark's (enP7s7, enp1s0f0np0, ...); those
need no lab name because they live in the lab's own namespaces.
"""

from __future__ import annotations

import re

from sparkctl.errors import InputError

_HOSTNAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")


def node_netns(lab: str, node: str) -> str:
    return f"sparkctl-{lab}-{node}"


def switch_netns(lab: str) -> str:
    return f"sparkctl-{lab}-switch"


def spare_netns(lab: str) -> str:
    return f"sparkctl-{lab}-spare"


def unplugged_end(node_index: int, port: int, rail: int) -> str:
    return f"u{node_index}p{port}r{rail}"


def mgmt_bridge(lab: str) -> str:
    return f"sl-{lab}-br"


def mgmt_host_veth(lab: str, index: int) -> str:
    return f"sl-{lab}-m{index}"


def switch_bridge(rail: int) -> str:
    return f"br-rail{rail}"


def switch_port(node_index: int, port: int, rail: int) -> str:
    # Switch-side end of a node's cable, e.g. swp1p1r0 = spark index 1, QSFP p1, rail 0.
    return f"swp{node_index}p{port}r{rail}"


def check_node_name(name: str) -> str:
    if not _HOSTNAME.match(name) or name == "switch":
        raise InputError(
            f"node name {name!r} cannot be a lab node",
            hint="lab node names become hostnames: letters, digits and inner hyphens, "
            "at most 63 characters, and not 'switch'")
    return name
