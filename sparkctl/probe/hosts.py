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
        return _bootstrapped(target, endpoints_from_inventory(data))
    return _bootstrapped(target, [SshEndpoint(name=n.name, address=n.mgmt_address,
                                              port=n.ssh_port, user=n.ssh_user)
                                  for n in target.cluster.spec.nodes])


def _bootstrapped(target, endpoints: list[SshEndpoint]) -> list[SshEndpoint]:
    """What the inventory leaves unset comes from `sparkctl bootstrap` (user, login key,
    pinned known_hosts), as for Ansible runs (sparkctl.bootstrap.connection)."""
    from dataclasses import replace

    from sparkctl.bootstrap.store import open_store

    store = open_store(target, create=False)
    if store is None:
        return endpoints
    known = str(store.known_hosts) if store.known_hosts.exists() else None
    return [replace(ep, user=ep.user or store.state.user,
                    key_file=ep.key_file or store.state.login_key,
                    known_hosts=ep.known_hosts or known) for ep in endpoints]


def default_user() -> str:
    return os.environ.get("USER") or "root"
