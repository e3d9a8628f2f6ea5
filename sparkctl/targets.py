"""The one resolver: a target -> its nodes, how to reach each, and the plan (DESIGN.md, "Targets").

Every command that acts on a cluster takes exactly one of `--topology NAME --hosts ..`,
`--cluster FILE`, `--inventory FILE` or `--lab NAME` and turns it into a `Target` here, so
`provision`, `validate`, `health`, `discover` and `runtime` see the same nodes, reached the
same way.

An inventory is read with Ansible's own machinery (InventoryManager + VariableManager), so
host vars, group vars, `group_vars/`/`host_vars/` directories next to the inventory and their
precedence are Ansible's, and the connection variables are templated as Ansible templates
them. This module is the only reader of inventories: the resolved host vars go to
`cluster.spec_from_inventory` (which validates them) and to everything that needs a host's
variables. Targets without an inventory (`--topology`, `--cluster`) get the inventory sparkctl
would write for them, with its variables merged the way Ansible merges that shape.
"""

from __future__ import annotations

import contextlib
import json
import shlex
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from ipaddress import IPv4Address, IPv4Interface
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sparkctl.cluster import (
    Cluster,
    load_cluster_file,
    spec_from_inventory,
    spec_from_inventory_doc,
)
from sparkctl.errors import InputError, Location
from sparkctl.topology.addressing import InterfacePlan, Peer
from sparkctl.topology.builtins import BUILTINS, builtin_spec
from sparkctl.yamlload import load_yaml_text, read_bounded_text

if TYPE_CHECKING:
    from sparkctl.platform import Platform

SPARK_GROUP = "sparks"
# The variables Ansible's ssh connection plugin reads to reach a host (and templates first).
CONNECTION_VARS = ("ansible_host", "ansible_ssh_host", "ansible_port", "ansible_ssh_port",
                   "ansible_user", "ansible_ssh_user", "ansible_ssh_private_key_file",
                   "ansible_private_key_file", "ansible_ssh_common_args",
                   "ansible_ssh_extra_args")
# Variables VariableManager adds that are not the inventory's.
_MAGIC_VARS = frozenset({
    "ansible_config_file", "ansible_facts", "ansible_playbook_python", "ansible_version",
    "group_names", "groups", "inventory_dir", "inventory_file", "inventory_hostname",
    "inventory_hostname_short", "playbook_dir", "omit", "ansible_check_mode",
    "ansible_diff_mode", "ansible_forks", "ansible_inventory_sources", "ansible_run_tags",
    "ansible_skip_tags", "ansible_verbosity", "ansible_search_path", "ansible_dependent_role_names",
    "ansible_play_role_names", "ansible_role_names"})


@dataclass(frozen=True)
class Connection:
    """How Ansible reaches a node: its resolved connection variables, nothing guessed.

    `port` and `user` are None when the inventory sets none; ssh's own configuration
    (~/.ssh/config) or its defaults then decide, for Ansible and for the probes alike.
    """

    host: str
    port: int | None = None
    user: str | None = None
    key_file: str | None = None
    ssh_args: tuple[str, ...] = ()  # ansible_ssh_common_args + ansible_ssh_extra_args, split


@dataclass(frozen=True)
class Node:
    name: str
    index: int
    connection: Connection
    interfaces: tuple[InterfacePlan, ...]  # what provisioning applies: what checks expect
    nccl_env: dict[str, str] = field(default_factory=dict)

    def interface(self, name: str) -> InterfacePlan | None:
        return next((i for i in self.interfaces if i.name == name), None)


@dataclass(frozen=True)
class Target:
    cluster: Cluster
    inventory_path: Path | None  # an inventory that already exists (--inventory, --lab)
    description: str
    hostvars: dict[str, dict[str, Any]] = field(default_factory=dict, repr=False)
    nodes: tuple[Node, ...] = ()

    @property
    def node_names(self) -> list[str]:
        return [n.name for n in self.nodes]

    def node(self, name: str) -> Node:
        found = next((n for n in self.nodes if n.name == name), None)
        if found is None:
            raise KeyError(name)
        return found

    @property
    def group_vars(self) -> dict[str, Any]:
        """The variables every node has with the same value (what a group sets)."""
        values = list(self.hostvars.values())
        if not values:
            return {}
        return {k: v for k, v in values[0].items() if all(o.get(k) == v for o in values[1:])}

    @cached_property
    def platform(self) -> Platform:
        """Chosen once, from the target's `sparkctl_platform` (raises for a lab without its
        shaping figures, when something asks)."""
        from sparkctl.platform import platform_for

        return platform_for(self.cluster.spec.platform, self.group_vars,
                            str(self.inventory_path) if self.inventory_path else None)

    @property
    def gid_index(self) -> int:
        """The RoCE GID index NCCL and ib_write_bw use (sparkctl_nccl_env.NCCL_IB_GID_INDEX)."""
        from sparkctl.topology.environment import DEFAULT_GID_INDEX

        env = self.group_vars.get("sparkctl_nccl_env") or {}
        try:
            return int(env.get("NCCL_IB_GID_INDEX", DEFAULT_GID_INDEX))
        except (TypeError, ValueError, AttributeError):
            return DEFAULT_GID_INDEX

    @property
    def key(self) -> str:
        """What tells clusters apart in the history: the inventory file, else the description."""
        if self.inventory_path is not None:
            return str(Path(self.inventory_path).resolve())
        return self.description

    @property
    def machines(self) -> str:
        """The machines themselves (where and how they are reached), for the measurement lock:
        two targets naming the same nodes share it."""
        return ",".join(sorted(f"{n.connection.user or ''}@{n.connection.host}:"
                               f"{n.connection.port or 22}" for n in self.nodes))


def split_hosts(hosts: str | None) -> list[str] | None:
    if hosts is None:
        return None
    names = [h.strip() for h in hosts.split(",")]
    if not any(names):
        raise InputError("--hosts is empty",
                         hint="give names or addresses: --hosts spark-1,10.0.0.12")
    if any(not n for n in names):
        raise InputError(f"--hosts {hosts!r} has an empty name",
                         hint="separate names with single commas, no trailing comma")
    return names


# --- reading an inventory (Ansible's rules) --------------------------------------------------

@contextlib.contextmanager
def _ansible_warnings() -> Iterator[list[str]]:
    """Collect what Ansible would print as warnings: a failed parse explains itself there."""
    from ansible.utils.display import Display

    caught: list[str] = []
    original = Display.warning

    original_error = getattr(Display, "error_as_warning", None)

    def keep(self: object, msg: object, *args: object, **kwargs: object) -> None:
        caught.append(str(msg))

    def keep_error(self: object, msg: object, exception: object = None, *args: object,
                   **kwargs: object) -> None:
        caught.append(f"{msg} {exception}" if exception is not None else str(msg))

    setattr(Display, "warning", keep)  # noqa: B010 - patched for the read, then restored
    if original_error is not None:
        setattr(Display, "error_as_warning", keep_error)  # noqa: B010
    try:
        yield caught
    finally:
        setattr(Display, "warning", original)  # noqa: B010
        if original_error is not None:
            setattr(Display, "error_as_warning", original_error)  # noqa: B010


def _plain(value: Any) -> Any:
    """Ansible's tagged str/int/dict/list as the plain Python values everything else expects."""
    return json.loads(json.dumps(value, default=str))


def _parse_failure(path: Path, warnings: list[str], exc: Exception) -> InputError:
    # The yaml plugin's complaint names the field; the auto plugin's says only that the file
    # is no plugin config.
    detail = next((w for w in warnings if "'yaml' plugin" in w),
                  next((w for w in warnings if "'auto' plugin" in w),
                       warnings[0] if warnings else str(exc)))
    reason = detail.split("\n")[0]
    for plugin in ("auto", "yaml"):
        for sep in (": ", ". "):
            reason = reason.removeprefix(f"Failed to parse inventory with '{plugin}' plugin{sep}")
    line = None
    for text in detail.splitlines():
        if text.startswith("Origin: ") and text.count(":") >= 2:
            with contextlib.suppress(ValueError):
                line = int(text.rsplit(":", 2)[-2])
    return InputError(f"cannot read inventory: {reason[:300]}",
                      location=Location(str(path), line),
                      hint="`ansible-inventory -i FILE --list` shows how Ansible reads it")


def read_inventory(path: Path) -> dict[str, dict[str, Any]]:
    """Every host of group `sparks` -> its variables, resolved by Ansible, in node order."""
    text = read_bounded_text(path, "inventory")  # a regular file, bounded, UTF-8
    if path.suffix.lower() in (".yml", ".yaml", ".json") or text.lstrip().startswith("all:"):
        # The bounded loader first: an alias bomb or a 5000-deep nest is refused in
        # milliseconds, before Ansible's own loader expands it. An inventory in sparkctl's
        # shape is then checked as written (every value, with its file:line), which names a
        # hand-edit Ansible would only call "invalid data".
        document = load_yaml_text(text, str(path), positions=True)
        if isinstance(document, dict) and set(document) == {"all"}:
            spec_from_inventory_doc(document, str(path))
    from ansible import constants as C
    from ansible.errors import AnsibleError
    from ansible.inventory.manager import InventoryManager
    from ansible.parsing.dataloader import DataLoader
    from ansible.template import Templar
    from ansible.vars.manager import VariableManager

    # A source no plugin can parse is an error, not an empty inventory with a warning.
    C.INVENTORY_UNPARSED_IS_FAILED = True
    with _ansible_warnings() as warnings:
        try:
            loader = DataLoader()
            inventory = InventoryManager(loader=loader, sources=[str(path)])
            variables = VariableManager(loader=loader, inventory=inventory)
            group = inventory.groups.get(SPARK_GROUP)
            if group is None or not group.get_hosts():
                raise InputError(
                    f"the inventory has no hosts in group '{SPARK_GROUP}'",
                    location=Location(str(path)),
                    hint="sparkctl inventories list nodes under all.children.sparks.hosts "
                         "(write one with `sparkctl inventory ... -o FILE`)")
            resolved: dict[str, dict[str, Any]] = {}
            for host in group.get_hosts():
                hvars = variables.get_vars(host=host, include_hostvars=False)
                templar = Templar(loader=loader, variables=hvars)
                plain = {k: v for k, v in hvars.items() if k not in _MAGIC_VARS}
                for name in CONNECTION_VARS:
                    if name in plain:
                        try:
                            plain[name] = templar.template(plain[name])
                        except AnsibleError as exc:
                            raise InputError(f"host {host.name}: {name} cannot be templated: "
                                             f"{str(exc).splitlines()[0][:200]}",
                                             location=Location(str(path))) from None
                resolved[_plain(host.name)] = _plain(plain)  # names are tagged too
        except AnsibleError as exc:
            raise _parse_failure(path, warnings, exc) from None
    return dict(sorted(resolved.items(), key=lambda kv: (_index(kv[1]), kv[0])))


def _index(hvars: Mapping[str, Any]) -> int:
    value = hvars.get("sparkctl_node_index", 0)
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _generated_hostvars(cluster: Cluster) -> dict[str, dict[str, Any]]:
    """The inventory sparkctl writes for a cluster, host over group as Ansible merges it."""
    from sparkctl.render.inventory import build_inventory

    group = build_inventory(cluster)["all"]["children"][SPARK_GROUP]
    return {name: {**group["vars"], **hvars} for name, hvars in group["hosts"].items()}


# --- nodes ------------------------------------------------------------------------------------

def connection_of(name: str, hvars: Mapping[str, Any], where: str = "inventory") -> Connection:
    """The connection variables of one host, with Ansible's aliases (ansible_ssh_*)."""

    def first(*names: str) -> Any:
        return next((hvars[n] for n in names if hvars.get(n) is not None), None)

    port = first("ansible_port", "ansible_ssh_port")
    if port is not None:
        try:
            port = int(port)
        except (TypeError, ValueError):
            raise InputError(f"host {name}: ansible_port must be a port number, got "
                             f"{str(port)[:40]!r}", location=Location(where)) from None
        if not 1 <= port <= 65535:
            raise InputError(f"host {name}: ansible_port {port} is not 1-65535",
                             location=Location(where))
    args: list[str] = []
    for var in ("ansible_ssh_common_args", "ansible_ssh_extra_args"):
        text = hvars.get(var)
        if text:
            try:
                args += shlex.split(str(text))
            except ValueError as exc:
                raise InputError(f"host {name}: {var} is not a valid argument list ({exc})",
                                 location=Location(where)) from None
    user = first("ansible_user", "ansible_ssh_user")
    key = first("ansible_ssh_private_key_file", "ansible_private_key_file")
    return Connection(host=str(first("ansible_host", "ansible_ssh_host") or name),
                      port=port, user=None if user is None else str(user),
                      key_file=None if key is None else str(key), ssh_args=tuple(args))


def _inventory_interfaces(hvars: Mapping[str, Any], node: str,
                          where: str) -> tuple[InterfacePlan, ...]:
    """The interfaces an inventory assigns a host: what provisioning applied, so what to find.

    Read from the inventory itself rather than re-planned from its cabling: the plan it holds
    is the one the network role wrote to the nodes.
    """
    items = []
    for index, item in enumerate(hvars.get("sparkctl_interfaces") or []):
        try:
            items.append(InterfacePlan(
                node=node, name=str(item["name"]), hca=str(item["hca"]), port=int(item["port"]),
                rail=int(item["rail"]), address=IPv4Interface(item["address"]),
                mtu=int(item["mtu"]),
                peers=tuple(Peer(str(p["host"]), str(p["interface"]), IPv4Address(p["address"]))
                            for p in item.get("peers") or []),
                segment=str(item.get("segment", ""))))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise InputError(
                f"host {node}, sparkctl_interfaces[{index}] is malformed ({exc})",
                location=Location(where),
                hint="regenerate the inventory with `sparkctl inventory ... -o FILE`") from None
    return tuple(sorted(items, key=lambda i: (i.port, i.rail)))


def _nodes(cluster: Cluster, hostvars: dict[str, dict[str, Any]],
           inventory: Path | None) -> tuple[Node, ...]:
    where = str(inventory) if inventory else cluster.spec.name
    nodes = []
    for spec_node in cluster.spec.nodes:
        hvars = hostvars.get(spec_node.name, {})
        if inventory is not None:
            interfaces = _inventory_interfaces(hvars, spec_node.name, where)
        else:
            interfaces = tuple(sorted(cluster.plan.interfaces.get(spec_node.name, []),
                                      key=lambda i: (i.port, i.rail)))
        nodes.append(Node(name=spec_node.name, index=spec_node.index,
                          connection=connection_of(spec_node.name, hvars, where),
                          interfaces=interfaces, nccl_env=cluster.nccl_env(spec_node.name)))
    return tuple(nodes)


def target_from_cluster(cluster: Cluster, description: str,
                        group_vars: Mapping[str, Any] | None = None) -> Target:
    """A target without an inventory file; `group_vars` are added to every node's variables
    (as an inventory's group vars would be, e.g. a lab's shaping figures)."""
    hostvars = {name: {**(group_vars or {}), **hvars}
                for name, hvars in _generated_hostvars(cluster).items()}
    return Target(cluster, None, description, hostvars, _nodes(cluster, hostvars, None))


def target_from_inventory(path: Path, description: str | None = None) -> Target:
    hostvars = read_inventory(path)
    for name, hvars in hostvars.items():  # how to reach each: checked before anything else
        connection_of(name, hvars, str(path))
    # Ansible's resolved host vars carry the group's already (spec_from_inventory validates
    # every value they hold).
    cluster = Cluster.from_spec(spec_from_inventory(hostvars, {}, str(path)))
    return Target(cluster, path, description or str(path), hostvars,
                  _nodes(cluster, hostvars, path))


def load_inventory_file(path: Path) -> Cluster:
    return target_from_inventory(Path(path)).cluster


def resolve_target(*, topology: str | None = None, hosts: str | None = None,
                   cluster: Path | None = None, inventory: Path | None = None,
                   lab: str | None = None) -> Target:
    given = [name for name, value in (("--topology", topology), ("--cluster", cluster),
                                       ("--inventory", inventory), ("--lab", lab)) if value]
    if len(given) != 1:
        raise InputError(
            "give exactly one target" + (f" (got {', '.join(given)})" if given else ""),
            hint="--topology NAME --hosts h1,h2 | --cluster FILE | --inventory FILE | --lab NAME")
    if hosts is not None and topology is None:
        raise InputError("--hosts goes with --topology",
                         hint="cluster files and inventories list their own nodes")
    if topology:
        spec = builtin_spec(topology, split_hosts(hosts))
        return target_from_cluster(Cluster.from_spec(spec), f"built-in {topology}")
    if cluster:
        return target_from_cluster(Cluster.from_spec(load_cluster_file(cluster)), str(cluster))
    if inventory:
        return target_from_inventory(Path(inventory))
    from sparkctl.lab.paths import lab_inventory_path  # lazy: only --lab needs the lab

    assert lab is not None  # exactly one target was given, and it is not another kind
    path = lab_inventory_path(lab)
    if not path.exists():
        raise InputError(f"no lab named {lab!r} is up",
                         hint=f"start it with `sparkctl lab up --name {lab} --topology ring3`")
    return target_from_inventory(path, f"lab {lab}")


def resolve_name_or_file(value: str, hosts: str | None = None) -> Target:
    """For `topology show NAME_OR_FILE`: a built-in name, a cluster file or an inventory."""
    if value in BUILTINS:
        return resolve_target(topology=value, hosts=hosts)
    path = Path(value)
    if not path.exists():
        raise InputError(f"{value!r} is neither a built-in topology nor a file",
                         hint=f"built-ins: {', '.join(BUILTINS)}")
    if hosts is not None:
        raise InputError("--hosts only applies to built-in topologies")
    head = read_bounded_text(path, "file")
    if _looks_like_inventory(head):
        return resolve_target(inventory=path)
    return resolve_target(cluster=path)


def _looks_like_inventory(text: str) -> bool:
    try:
        data = load_yaml_text(text, "<probe>")
    except InputError:
        return False
    return isinstance(data, dict) and set(data) == {"all"}
