"""How to reach each node: derived from the same inventory Ansible uses."""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass
from pathlib import Path

import yaml

from sparkctl.errors import InputError


@dataclass(frozen=True)
class SshEndpoint:
    name: str
    address: str
    port: int = 22
    user: str | None = None
    key_file: str | None = None
    known_hosts: str | None = None  # None: the user's ~/.ssh/known_hosts


def _known_hosts_from_args(args: str | None) -> str | None:
    for word in shlex.split(args or ""):
        if word.startswith("UserKnownHostsFile="):
            return word.split("=", 1)[1]
    return None


def endpoints_from_inventory(inventory: dict) -> list[SshEndpoint]:
    group = inventory["all"]["children"]["sparks"]
    gvars = group.get("vars", {}) or {}
    result = []
    hosts = sorted(group["hosts"].items(), key=lambda kv: kv[1].get("sparkctl_node_index", 0))
    for name, hvars in hosts:
        merged = {**gvars, **(hvars or {})}
        result.append(SshEndpoint(
            name=name,
            address=str(merged.get("ansible_host", name)),
            port=int(merged.get("ansible_port", 22)),
            user=merged.get("ansible_user"),
            key_file=merged.get("ansible_ssh_private_key_file"),
            known_hosts=_known_hosts_from_args(merged.get("ansible_ssh_common_args")),
        ))
    return result


def endpoints_for_target(target) -> list[SshEndpoint]:
    """SSH endpoints for a resolved Target (sparkctl.targets.Target)."""
    if target.inventory_path is not None:
        try:
            data = yaml.safe_load(Path(target.inventory_path).read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise InputError(f"cannot read inventory {target.inventory_path}: {exc}") from None
        return endpoints_from_inventory(data)
    return [SshEndpoint(name=n.name, address=n.mgmt_address, port=n.ssh_port, user=n.ssh_user)
            for n in target.cluster.spec.nodes]


def default_user() -> str:
    return os.environ.get("USER") or "root"
