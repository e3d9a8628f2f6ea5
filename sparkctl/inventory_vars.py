"""The inventory variables sparkctl reads or renders, validated at load.

An inventory is as much input as a cluster file, and more often edited by hand: every variable
a role template or a sparkctl command reads gets its field's validator (sparkctl.values), and
every other string, key or value, at any depth, is refused if it holds a control character:
a newline in any variable is how it becomes a second line of a generated file.

The checks take one host's variables and the group's (Ansible merges them: host beats group),
so they serve a raw YAML inventory and Ansible's resolved host vars alike. When the mappings
come from sparkctl.yamlload with positions, errors carry file:line:column; otherwise the file,
the host and the field path.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from typing import Any, NoReturn

from sparkctl import values
from sparkctl.errors import InputError, Location
from sparkctl.topology.builtins import BUILTINS
from sparkctl.topology.hardware import MAX_SPARKS, PORTS, RAILS
from sparkctl.topology.model import MTU_MAX, MTU_MIN, PLATFORMS
from sparkctl.values import BadValue, kind
from sparkctl.yamlload import MarkedMap, MarkedSeq, location

MAX_WALK_DEPTH = 64


@dataclass(frozen=True)
class Where:
    """Where a value sits: the file, the host (None for group vars), the field path and the
    YAML mark of the value when the loader kept positions."""

    path: str
    host: str | None
    field: str
    mark: Any = None

    def child(self, key: Any, container: Any) -> Where:
        name = f"{self.field}[{key}]" if isinstance(key, int) else f"{self.field}.{key}"
        return Where(self.path, self.host, name, mark_of(container, key) or self.mark)

    def fail(self, problem: BadValue | str, hint: str | None = None) -> NoReturn:
        message = problem.message if isinstance(problem, BadValue) else problem
        hint = hint or (problem.hint if isinstance(problem, BadValue) else None)
        who = f"host {self.host}, " if self.host else ""
        raise InputError(f"{who}{self.field}: {message}", hint=hint,
                         location=location(self.path, self.mark) if self.mark is not None
                         else Location(self.path))

    def check(self, validator: Callable[[Any], Any], value: Any) -> Any:
        try:
            return validator(value)
        except BadValue as bad:
            self.fail(bad)


def mark_of(container: Any, key: Any) -> Any:
    if isinstance(container, MarkedMap):
        return container.value_marks.get(key)
    if isinstance(container, MarkedSeq) and isinstance(key, int) and key < len(container):
        return container.item_marks[key]
    return None


# --- the variables ----------------------------------------------------------------------------

@dataclass(frozen=True)
class PeerVars:
    host: str
    interface: str
    address: IPv4Address


@dataclass(frozen=True)
class InterfaceVars:
    name: str
    port: int
    rail: int
    address: IPv4Interface
    peers: tuple[PeerVars, ...]
    hca: str | None = None
    mtu: int | None = None


@dataclass(frozen=True)
class HostVars:
    """What sparkctl reads of one host; None where the inventory does not say."""

    name: str
    index: int | None
    address: str | None
    user: str | None
    port: int | None
    interfaces: tuple[InterfaceVars, ...] = ()


@dataclass(frozen=True)
class GroupVars:
    cluster_name: str | None = None
    topology: str | None = None
    platform: str | None = None
    mtu: int | None = None
    mgmt_interface: str | None = None
    switch_mtu: int | None = None
    pool: tuple[IPv4Network, ...] = ()
    reserved: tuple[IPv4Network, ...] = ()
    sources: dict[str, Where] = field(default_factory=dict, compare=False, repr=False)


def _mapping(value: Any, where: Where) -> Mapping:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        where.fail(f"must be a mapping, got {kind(value)}")
    return value


def _list(value: Any, where: Where) -> list:
    # An explicit null is a hand-edit slip: the roles would loop over None.
    if not isinstance(value, list):
        where.fail(f"must be a list, got {kind(value)}")
    return value


def _networks(value: Any, where: Where) -> tuple[IPv4Network, ...]:
    items = [value] if isinstance(value, str) else _list(value, where)
    if not items and where.field.endswith("sparkctl_pool"):
        where.fail("is empty", hint="give the data-network pool, e.g. [192.168.100.0/22]")
    return tuple(where.child(i, items).check(values.ipv4_network, item)
                 for i, item in enumerate(items))


_HOSTFILE_LINE = re.compile(r"(?P<host>\S+) slots=(?P<slots>[0-9]{1,3})")


def _hostfile(value: Any, where: Where) -> str:
    """An OpenMPI hostfile as sparkctl writes it: `NAME slots=N` per line, nothing else
    (the hostfile format has no quoting, so each line is checked whole)."""
    if not isinstance(value, str):
        where.fail(f"must be a string, got {kind(value)}")
    lines = value.split("\n")
    if len(lines) > 4 * MAX_SPARKS:
        where.fail(f"has {len(lines)} lines; sparkctl writes one per Spark")
    for number, line in enumerate(lines, 1):
        if not line:
            continue
        match = _HOSTFILE_LINE.fullmatch(line)
        if not match:
            where.fail(f"line {number} is not `NAME slots=N`: {values.shown(line)}",
                       hint="regenerate the inventory with `sparkctl inventory`")
        try:
            values.host_name(match["host"])
        except BadValue as bad:
            where.fail(f"line {number}: {bad.message}", hint=bad.hint)
    return value


def _env(value: Any, where: Where) -> dict[str, str]:
    env = {}
    if not isinstance(value, Mapping):
        where.fail(f"must be a mapping of variable names to values, got {kind(value)}")
    mapping = value
    for key, item in mapping.items():
        inner = where.child(key, mapping)
        inner.check(values.env_name, key)
        env[key] = inner.check(values.env_value, item)
    return env


def _peer(item: Any, where: Where) -> PeerVars:
    mapping = _mapping(item, where)
    for key in ("host", "interface", "address"):
        if key not in mapping:
            where.fail(f"a peer needs {key}:", hint="peers: [{host: spark-2, interface: "
                       "enp1s0f1np1, address: 192.168.100.2}]")
    return PeerVars(
        host=where.child("host", mapping).check(values.host_name, mapping["host"]),
        interface=where.child("interface", mapping).check(values.interface_name,
                                                          mapping["interface"]),
        address=where.child("address", mapping).check(values.ipv4_address, mapping["address"]))


def _interface(item: Any, where: Where) -> InterfaceVars:
    if not isinstance(item, Mapping):
        where.fail(f"an interface must be a mapping (name, port, rail, address, ...), got "
                   f"{kind(item)}")
    for key in ("name", "port", "rail", "address"):
        if key not in item:
            where.fail(f"an interface needs {key}:",
                       hint="regenerate the inventory with `sparkctl inventory`")

    def get(key: str, check: Callable[[Any], Any]) -> Any:
        return where.child(key, item).check(check, item[key]) if key in item else None

    peers_where = where.child("peers", item)
    peers = _list(item["peers"], peers_where) if "peers" in item else []
    for key, value in item.items():  # whatever else an interface carries: no control chars
        if key not in ("name", "hca", "port", "rail", "address", "mtu", "peers"):
            _walk(key, value, where.child(key, item), 0)
    return InterfaceVars(
        name=get("name", values.interface_name),
        port=get("port", lambda v: _one_of_ints(v, PORTS, "port")),
        rail=get("rail", lambda v: _one_of_ints(v, RAILS, "rail")),
        address=get("address", values.ipv4_interface),
        hca=get("hca", values.rdma_device),
        mtu=get("mtu", lambda v: values.integer(v, 1, 65535)),
        peers=tuple(_peer(p, peers_where.child(i, peers)) for i, p in enumerate(peers)))


def _one_of_ints(value: Any, allowed: tuple[int, ...], what: str) -> int:
    number = values.integer(value)
    if number not in allowed:
        raise BadValue(f"{what} {number} does not exist (a Spark has {what}s "
                       f"{', '.join(str(a) for a in allowed)})")
    return number


def _interfaces(value: Any, where: Where) -> tuple[InterfaceVars, ...]:
    items = _list(value, where)
    if len(items) > len(PORTS) * len(RAILS):
        where.fail(f"lists {len(items)} interfaces; a Spark has {len(PORTS) * len(RAILS)}")
    return tuple(_interface(item, where.child(i, items)) for i, item in enumerate(items))


def _topology(value: Any) -> str:
    return values.one_of(value, (*BUILTINS, "custom"), "topology")


# Variable -> validator of its value. Host-level and cluster-level alike: Ansible lets either
# sit in host or group vars, so both are checked in every host's merged view.
FIELDS: dict[str, Callable[[Any, Where], Any]] = {
    "ansible_host": lambda v, w: w.check(values.address, v),
    "ansible_user": lambda v, w: w.check(values.user_name, v),
    "ansible_port": lambda v, w: w.check(lambda x: values.tcp_port(x, allow_text=True), v),
    "ansible_ssh_private_key_file": lambda v, w: w.check(values.path_text, v),
    "sparkctl_node_index": lambda v, w: w.check(lambda x: values.integer(x, 0, 63), v),
    "sparkctl_interfaces": _interfaces,
    "sparkctl_nccl_env": _env,
    "sparkctl_cluster_name": lambda v, w: w.check(values.cluster_name, v),
    "sparkctl_topology": lambda v, w: w.check(_topology, v),
    "sparkctl_platform": lambda v, w: w.check(lambda x: values.one_of(x, PLATFORMS, "platform"), v),
    "sparkctl_mtu": lambda v, w: w.check(lambda x: values.integer(x, 1, 65535), v),
    "sparkctl_mgmt_interface": lambda v, w: w.check(values.interface_name, v),
    "sparkctl_switch_mtu": lambda v, w: w.check(lambda x: values.integer(x, MTU_MIN, MTU_MAX), v),
    "sparkctl_pool": _networks,
    "sparkctl_reserved": _networks,
    "sparkctl_mpi_hostfile": _hostfile,
    "sparkctl_lab_name": lambda v, w: w.check(values.cluster_name, v),
    "sparkctl_lab_rate_mbit": lambda v, w: w.check(lambda x: values.finite_number(x, 0, 1e7,
                                                                                  lo_open=True), v),
    "sparkctl_lab_scale": lambda v, w: w.check(lambda x: values.finite_number(x, 0, 1e7,
                                                                             lo_open=True), v),
    "sparkctl_lab_mgmt_subnet": lambda v, w: w.check(values.ipv4_network, v),
}


def register_field(name: str, check: Callable[[Any], Any]) -> None:
    """Add a variable (e.g. a new role's) with a plain validator from sparkctl.values."""
    FIELDS[name] = lambda v, w: w.check(check, v)


def _walk(key: Any, value: Any, where: Where, depth: int) -> None:
    """Any other variable: plain keys, and no control character in any string at any depth."""
    if depth > MAX_WALK_DEPTH:
        where.fail(f"nested deeper than {MAX_WALK_DEPTH} levels")
    if isinstance(key, str):
        index = values.first_control(key)
        if index is not None:
            where.fail(f"key {values.shown(key)} contains a control character")
    if isinstance(value, str):
        where.check(lambda v: values.control_free(v, 65536), value)
    elif isinstance(value, Mapping):
        for sub, item in value.items():
            _walk(sub, item, where.child(sub, value), depth + 1)
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            _walk(index, item, where.child(index, value), depth + 1)


def _checked(merged: Mapping, sources: Mapping[str, Mapping], path: str,
             host: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in merged.items():
        where = Where(path, host, str(key), mark_of(sources[key], key))
        if not isinstance(key, str):
            where.fail(f"variable names are strings, got {kind(key)} {values.shown(key)}")
        check = FIELDS.get(key)
        if check is not None:
            out[key] = check(value, where)
        else:
            _walk(key, value, where, 0)
    return out


def check_host(name: Any, host_vars: Any, group_vars: Mapping, path: str,
               where: Where) -> tuple[HostVars, dict[str, Any]]:
    """One host: its name, and every variable of its merged view (group < host)."""
    name = where.check(values.host_name, name)
    hvars = _mapping(host_vars, Where(path, name, "host vars", where.mark))
    merged = {**group_vars, **hvars}
    sources = {**{k: group_vars for k in group_vars}, **{k: hvars for k in hvars}}
    checked = _checked(merged, sources, path, name)
    return HostVars(
        name=name, index=checked.get("sparkctl_node_index"),
        address=checked.get("ansible_host"), user=checked.get("ansible_user"),
        port=checked.get("ansible_port"),
        interfaces=checked.get("sparkctl_interfaces") or ()), checked


def check_inventory_vars(hosts: Any, group_vars: Any, path: str,
                         where: Where | None = None) -> tuple[list[HostVars], GroupVars]:
    """Validate every host's variables; return what sparkctl reads of them, in order."""
    where = where or Where(path, None, "hosts")
    if not isinstance(hosts, Mapping) or not hosts:
        where.fail(f"must be a non-empty mapping of host names, got {kind(hosts)}",
                   hint="list nodes under all.children.sparks.hosts")
    if len(hosts) > MAX_SPARKS:
        where.fail(f"{len(hosts)} hosts; sparkctl supports 1 to {MAX_SPARKS} Sparks")
    gvars = _mapping(group_vars, Where(path, None, "vars", where.mark))
    group_checked = _checked(gvars, {k: gvars for k in gvars}, path, None)
    result, first = [], None
    for name, hvars in hosts.items():
        key_mark = hosts.key_marks.get(name) if isinstance(hosts, MarkedMap) else None
        host_where = Where(path, None, "host name", key_mark)
        checked_host, checked = check_host(name, hvars, gvars, path, host_where)
        result.append(checked_host)
        first = checked if first is None else first

    def cluster_level(key: str) -> Any:
        # Group vars when given; Ansible's resolved host vars carry them per host instead.
        return group_checked.get(key, (first or {}).get(key))

    return result, GroupVars(
        cluster_name=cluster_level("sparkctl_cluster_name"),
        topology=cluster_level("sparkctl_topology"),
        platform=cluster_level("sparkctl_platform"),
        mtu=cluster_level("sparkctl_mtu"),
        mgmt_interface=cluster_level("sparkctl_mgmt_interface"),
        switch_mtu=cluster_level("sparkctl_switch_mtu"),
        pool=cluster_level("sparkctl_pool") or (),
        reserved=cluster_level("sparkctl_reserved") or (),
        sources={k: Where(path, None, k, mark_of(gvars, k)) for k in gvars})
