"""Cluster files (YAML) and the validated `Cluster` built from a spec.

Errors in a file carry file:line:column of the offending key or value, so users fix the
right line on the first try.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import networkx as nx

from sparkctl import values
from sparkctl.errors import InputError, InvalidTopology, Location
from sparkctl.inventory_vars import Where, check_inventory_vars
from sparkctl.quoting import comment_text, yaml_scalar
from sparkctl.topology.addressing import (
    AddressPlan,
    PlanError,
    plan_addresses,
    written_plan_violations,
)
from sparkctl.topology.builtins import BUILTINS, builtin_spec
from sparkctl.topology.environment import (
    hostfile,
    mgmt_interface_violations,
    nccl_env,
)
from sparkctl.topology.graph import build_graph
from sparkctl.topology.hardware import MAX_SPARKS, MGMT_INTERFACE, device_by_netdev
from sparkctl.topology.model import (
    DEFAULT_MTU,
    DEFAULT_PLATFORM,
    DEFAULT_POOL,
    MTU_MAX,
    MTU_MIN,
    PLATFORMS,
    SWITCH,
    Cable,
    ClusterSpec,
    PortRef,
    SparkNode,
    default_mtu,
)
from sparkctl.topology.rules import check_spec
from sparkctl.values import BadValue, kind, shown
from sparkctl.yamlload import MarkedMap, MarkedSeq, load_yaml_file, load_yaml_text
from sparkctl.yamlload import location as _loc


@dataclass(frozen=True)
class Cluster:
    """A cluster that passed every rule, with its graph and address plan."""

    spec: ClusterSpec
    graph: nx.MultiGraph
    plan: AddressPlan

    @classmethod
    def from_spec(cls, spec: ClusterSpec) -> Cluster:
        graph = build_graph(spec)
        violations = check_spec(spec, graph) + mgmt_interface_violations(spec)
        if violations:
            raise InvalidTopology(violations)
        try:
            plan = plan_addresses(spec)
        except PlanError as exc:
            raise InvalidTopology(exc.violations) from None
        return cls(spec=spec, graph=graph, plan=plan)

    def nccl_env(self, node: str) -> dict[str, str]:
        return nccl_env(self.graph, node, mgmt_interface=self.spec.mgmt_interface)

    def hostfile(self) -> str:
        return hostfile(self.graph)


# --- schema -------------------------------------------------------------------------------

_TOP_KEYS = {"name", "topology", "nodes", "cables", "mtu", "pool", "reserved", "platform",
             "ssh_user", "ssh_port", "management_interface", "switch"}
_NODE_KEYS = {"name", "address", "user", "port"}
_CABLE = re.compile(r"^\s*(?P<a>[^\s:]+(?::p\d+)?)\s*--\s*(?P<b>[^\s:]+(?::p\d+)?)\s*$")
_END = re.compile(r"^(?P<node>[^\s:]+)(?::p(?P<port>\d{1,3}))?$")


def _default_name(path: str) -> str:
    """A cluster file without `name:` is named after the file, made into a valid name."""
    stem = re.sub(r"[^A-Za-z0-9_.-]", "-", Path(path).stem).lstrip("._-")[:63]
    return stem or "cluster"


_V = TypeVar("_V")  # what a validator returns


class _Reader:
    """Turns the parsed YAML into a ClusterSpec, raising InputError at the exact position.

    Every value is checked by its field's validator (sparkctl.values) here, at load, so
    nothing a writer renders later can carry a newline or a shell character.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self.locations: dict[str, Location] = {}

    def fail(self, message: str, mark: Any, hint: str | None = None) -> NoReturn:
        raise InputError(message, hint=hint, location=_loc(self.path, mark))

    def check(self, what: str, validator: Callable[[Any], _V], value: Any, mark: Any) -> _V:
        try:
            return validator(value)
        except BadValue as bad:
            self.fail(f"{what}: {bad.message}", mark, hint=bad.hint)

    def field(self, doc: MarkedMap, key: str, validator: Callable[[Any], Any],
              default: Any = None) -> Any:
        if key not in doc:
            return default
        return self.check(key, validator, doc[key], doc.value_marks[key])

    def read(self, doc: Any) -> ClusterSpec:
        if not isinstance(doc, MarkedMap):
            self.fail("a cluster file must be a YAML mapping (nodes:, topology: or cables:, ...)"
                      f", got {kind(doc)}", getattr(doc, "mark", None),
                      hint="see `sparkctl init --help` for an example")
        for key in doc:
            if key not in _TOP_KEYS:
                self.fail(f"unknown key {shown(key)}", doc.key_marks[key],
                          hint=f"allowed keys: {', '.join(sorted(_TOP_KEYS))}")
        for key in doc:
            self.locations[key] = _loc(self.path, doc.value_marks[key])
        name = self.field(doc, "name", values.cluster_name) or _default_name(self.path)
        ssh_user = self.field(doc, "ssh_user", values.user_name)
        ssh_port = self.field(doc, "ssh_port", values.tcp_port, 22)
        nodes = self._nodes(doc, ssh_user, ssh_port)
        topology, cables = self._cabling(doc, [n.name for n in nodes])
        switch_mtu = self._switch(doc, cables)
        # 1-65535 here; the rules then name the range a rail supports
        mtu = self.field(doc, "mtu", lambda v: values.integer(v, 1, 65535),
                         default_mtu(cables, switch_mtu))
        if switch_mtu is not None and "mtu" in doc and mtu > switch_mtu:
            self.fail(f"mtu {mtu} is more than the switch carries ({switch_mtu}): the switch "
                      "would drop the larger RoCE frames", doc.value_marks["mtu"],
                      hint=f"lower mtu to {switch_mtu}, or raise the switch ports' MTU and "
                      "say so in switch: {mtu: N}")
        mgmt = self.field(doc, "management_interface", values.interface_name, MGMT_INTERFACE)
        platform = self.field(doc, "platform", lambda v: values.one_of(v, PLATFORMS, "platform"),
                              DEFAULT_PLATFORM)
        return ClusterSpec(
            name=name, topology=topology, nodes=tuple(nodes), cables=tuple(cables), mtu=mtu,
            pool=self._networks(doc, "pool", DEFAULT_POOL),
            reserved=self._networks(doc, "reserved", ()), platform=platform,
            mgmt_interface=mgmt, switch_mtu=switch_mtu, mtu_declared="mtu" in doc,
            locations=self.locations)

    def _switch(self, doc: MarkedMap, cables: list[Cable]) -> int | None:
        """`switch: {mtu: N}`: what the switch's ports carry (facts: "MTU on a switch")."""
        if "switch" not in doc:
            return None
        value = doc["switch"]
        if not any(c.to_switch for c in cables):
            self.fail("'switch' is set but no cable goes to a switch", doc.key_marks["switch"],
                      hint="remove 'switch', or cable ports to it ('spark-1:p1 -- switch')")
        if not isinstance(value, MarkedMap) or set(value) != {"mtu"}:
            self.fail(f"switch must be a mapping with one key, mtu; got {kind(value)}",
                      doc.value_marks["switch"],
                      hint="e.g. switch: {mtu: 9000} once the switch ports carry jumbo frames")
        return self.check("switch.mtu", lambda v: values.integer(v, MTU_MIN, MTU_MAX),
                          value["mtu"], value.value_marks["mtu"])

    def _nodes(self, doc: MarkedMap, ssh_user: str | None, ssh_port: int) -> list[SparkNode]:
        if "nodes" not in doc:
            self.fail("missing key 'nodes'", doc.mark,
                      hint="list your Sparks: nodes: [{name: spark-1, address: 10.0.0.11}, ...]")
        items = doc["nodes"]
        if not isinstance(items, MarkedSeq) or not items:
            self.fail(f"'nodes' must be a non-empty list of Sparks, got {kind(items)}",
                      doc.value_marks["nodes"],
                      hint="nodes: [{name: spark-1, address: 10.0.0.11}, ...]")
        if len(items) > MAX_SPARKS:
            self.fail(f"{len(items)} Sparks declared; sparkctl supports 1 to {MAX_SPARKS}",
                      doc.value_marks["nodes"],
                      hint=f"remove {len(items) - MAX_SPARKS} node(s); larger clusters need a "
                      "different fabric")
        self.locations["nodes"] = _loc(self.path, doc.value_marks["nodes"])
        nodes = []
        for index, (item, mark) in enumerate(zip(items, items.item_marks, strict=True)):
            if isinstance(item, str):
                item_map: dict[str, Any] = {"name": item}
                marks = {"name": mark}
            elif isinstance(item, MarkedMap):
                item_map, marks = item, item.value_marks
                for key in item:
                    if key not in _NODE_KEYS:
                        self.fail(f"unknown node key {shown(key)}", item.key_marks[key],
                                  hint=f"allowed: {', '.join(sorted(_NODE_KEYS))}")
            else:
                self.fail(f"a node must be a name or a mapping, got {kind(item)}", mark)
            if "name" not in item_map:
                self.fail("every node needs a name", mark, hint="name: spark-1")
            name = self.check(f"nodes[{index}].name", values.host_name, item_map["name"],
                              marks["name"])
            address = self.check(f"address of {name}", values.address,
                                 item_map.get("address", name), marks.get("address", mark))
            user = ssh_user
            if "user" in item_map:
                user = self.check(f"user of {name}", values.user_name, item_map["user"],
                                  marks["user"])
            port = ssh_port
            if "port" in item_map:
                port = self.check(f"ssh port of {name}", values.tcp_port, item_map["port"],
                                  marks["port"])
            self.locations.setdefault(f"node:{name}", _loc(self.path, mark))
            nodes.append(SparkNode(name=name, index=index, mgmt_address=address, ssh_user=user,
                                   ssh_port=port))
        return nodes

    def _cabling(self, doc: MarkedMap, hosts: list[str]) -> tuple[str, list[Cable]]:
        topology = doc.get("topology")
        has_cables = "cables" in doc
        if topology is not None and not isinstance(topology, str):
            self.fail(f"topology must be the name of a built-in topology, got {kind(topology)}",
                      doc.value_marks["topology"],
                      hint=f"topology: one of {', '.join(BUILTINS)} (or list cables:)")
        if topology is None and not has_cables:
            self.fail("give either 'topology' (a built-in) or 'cables'", doc.mark,
                      hint=f"topology: one of {', '.join(BUILTINS)}")
        if topology is not None and topology != "custom" and has_cables:
            self.fail("give 'topology' or 'cables', not both", doc.key_marks["cables"],
                      hint="remove 'topology' to cable by hand, or 'cables' to use the built-in")
        if topology is not None and topology != "custom":
            if topology not in BUILTINS:
                self.fail(f"unknown topology {shown(topology)}", doc.value_marks["topology"],
                          hint=f"use one of: {', '.join(BUILTINS)}, or list cables")
            try:
                return topology, list(builtin_spec(topology, hosts, derive_names=False).cables)
            except InputError as exc:
                self.fail(exc.message, doc.value_marks["topology"], hint=exc.hint)
        items = doc.get("cables")
        if not isinstance(items, MarkedSeq):
            self.fail("'cables' must be a list like ['spark-1:p0 -- spark-2:p1']",
                      doc.value_marks.get("cables", doc.mark))
        cables = []
        for index, (item, mark) in enumerate(zip(items, items.item_marks, strict=True)):
            cables.append(self._cable(item, mark))
            self.locations[f"cable:{index}"] = _loc(self.path, mark)
        return "custom", cables

    def _cable(self, item: Any, mark: Any) -> Cable:
        hint = "write 'spark-1:p0 -- spark-2:p1' or 'spark-1:p1 -- switch'"
        if not isinstance(item, str):
            self.fail(f"a cable must be a string, got {kind(item)}", mark, hint=hint)
        self.check("cable", lambda v: values.control_free(v, 200), item, mark)
        match = _CABLE.match(item)
        if not match:
            self.fail(f"cannot read cable {shown(item)}", mark, hint=hint)
        ends = []
        for text in (match["a"], match["b"]):
            end = _END.match(text)
            if end is None:
                self.fail(f"cannot read cable end {shown(text)}", mark, hint=hint)
            if end["node"] == SWITCH:
                if end["port"] is not None:
                    self.fail("switch ports are not numbered; write just 'switch'", mark)
                ends.append(PortRef(SWITCH, None))
            elif end["port"] is None:
                self.fail(f"cable end {shown(text)} lacks a port", mark,
                          hint=f"write {text}:p0 or {text}:p1")
            else:
                ends.append(PortRef(end["node"], int(end["port"])))
        return Cable(*ends)

    def _networks(self, doc: MarkedMap, key: str, default: tuple[ipaddress.IPv4Network, ...]
                  ) -> tuple[ipaddress.IPv4Network, ...]:
        if key not in doc:
            return default
        value = doc[key]
        if isinstance(value, str):
            items, marks = [value], [doc.value_marks[key]]
        elif isinstance(value, MarkedSeq) and (value or key != "pool"):
            items, marks = value, value.item_marks
        else:
            self.fail(f"{key} must be a CIDR or a list of CIDRs, got {kind(value)}",
                      doc.value_marks[key], hint="e.g. 192.168.100.0/22")
        return tuple(self.check(key, values.ipv4_network, item, mark)
                     for item, mark in zip(items, marks, strict=True))


def parse_cluster_text(text: str, path: str = "<cluster file>") -> ClusterSpec:
    return _Reader(path).read(load_yaml_text(text, path, positions=True))


def load_cluster_file(path: str | Path) -> ClusterSpec:
    path = Path(path)
    if not path.exists() and not path.is_symlink():
        raise InputError(f"cluster file {path} does not exist",
                         hint="create one with `sparkctl init --topology ring3 --hosts a,b,c "
                         f"-o {path}`")
    return _Reader(str(path)).read(load_yaml_file(path, "cluster file", positions=True))


def load_cluster(path: str | Path) -> Cluster:
    """Load and validate; rule violations carry the file position of what they name."""
    return Cluster.from_spec(load_cluster_file(path))


# --- writing ------------------------------------------------------------------------------

def render_cluster_file(spec: ClusterSpec) -> str:
    """A commented cluster file that loads back into the same spec; every value goes
    through the YAML dumper (yaml_scalar), comments through comment_text."""
    from sparkctl.topology.builtins import BUILTINS as builtins

    y = yaml_scalar
    lines = [
        f"# sparkctl cluster file: {comment_text(spec.name)}",
        "# Load it with: sparkctl topology show cluster.yaml | sparkctl provision --cluster FILE",
        f"name: {y(spec.name)}",
        "# platform: dgx-spark (real DGX Spark, DGX OS) or lab (simulated by `sparkctl lab`)",
        f"platform: {y(spec.platform)}",
        "# Management addresses are how sparkctl and Ansible reach each node over SSH (enP7s7).",
        "nodes:",
    ]
    for node in spec.nodes:
        lines.append(f"  - name: {y(node.name)}")
        lines.append(f"    address: {y(node.mgmt_address)}")
        if node.ssh_user:
            lines.append(f"    user: {y(node.ssh_user)}")
        if node.ssh_port != 22:
            lines.append(f"    port: {y(node.ssh_port)}")
    if spec.topology in builtins:
        lines += [
            f"# Built-in cabling: {builtins[spec.topology].cabling}",
            "# Replace 'topology' with a 'cables' list to describe other cabling, e.g.",
            "#   cables: ['spark-1:p0 -- spark-2:p1', 'spark-1:p1 -- switch']",
            f"topology: {y(spec.topology)}",
        ]
    else:
        lines.append("# One cable per line: NODE:pPORT -- NODE:pPORT, or NODE:pPORT -- switch")
        lines.append("cables:")
        lines += [f"  - {y(str(c))}" for c in spec.cables]
    if spec.switch_mtu is not None:
        lines += ["# What the switch ports carry; the rails' MTU may not exceed it.",
                  f"switch: {{mtu: {y(spec.switch_mtu)}}}"]
    lines += [
        "# MTU of every data rail: 9000 (community), 4200 (RoCE active_mtu 4096), 1500 (NVIDIA;"
        " the default through a switch)",
        f"mtu: {y(spec.mtu)}",
        "# NCCL/MPI bootstrap and runtime control interface: enP7s7 (10GbE), wlP9s9 (Wi-Fi)",
        "# or a cabled ConnectX-7 netdev (NVIDIA's vLLM/TRT-LLM playbooks use enp1s0f1np1).",
        f"management_interface: {y(spec.mgmt_interface)}",
        "# Data-rail subnets are /24s carved from the pool, one per rail per cable.",
        "pool: [" + ", ".join(y(str(n)) for n in spec.pool) + "]",
        "# Networks the pool must never touch (management, VPNs, ...).",
        "reserved: [" + ", ".join(y(str(n)) for n in spec.reserved) + "]",
    ]
    return "\n".join(lines) + "\n"


# --- inventories ----------------------------------------------------------------------------

def sparks_group(inventory: Any, path: str) -> tuple[Mapping[str, Any], Mapping[str, Any]]:
    """(hosts, group vars) of the sparks group of an inventory in the DESIGN.md shape; the
    group vars are all.vars overlaid with sparks.vars, as Ansible merges them."""
    where = Where(path, None, "all.children.sparks.hosts")
    try:
        top = inventory["all"]
        group = top["children"]["sparks"]
        hosts = group["hosts"]
    except (KeyError, TypeError, IndexError):
        where.fail("not a sparkctl inventory: expected all.children.sparks.hosts",
                   hint="write one with `sparkctl inventory ... -o FILE`")
    merged = MarkedMap()
    merged.key_marks, merged.value_marks = {}, {}
    for name, layer in (("all.vars", top.get("vars") if isinstance(top, Mapping) else None),
                        ("all.children.sparks.vars",
                         group.get("vars") if isinstance(group, Mapping) else None)):
        if layer is None:
            continue
        if not isinstance(layer, Mapping):
            Where(path, None, name).fail(f"must be a mapping, got {kind(layer)}")
        merged.update(layer)
        if isinstance(layer, MarkedMap):
            merged.key_marks.update(layer.key_marks)
            merged.value_marks.update(layer.value_marks)
    if isinstance(group, MarkedMap):
        where = Where(path, None, where.field, group.value_marks.get("hosts"))
    return hosts, merged


# inventory variable -> the cluster-file key whose location rule violations cite
_GROUP_KEYS = {"sparkctl_pool": "pool", "sparkctl_reserved": "reserved", "sparkctl_mtu": "mtu"}


def spec_from_inventory(hosts: Any, group_vars: Any, path: str) -> ClusterSpec:
    """The declared cluster, rebuilt from an inventory's variables, every one validated.

    `hosts` maps host name -> that host's variables (None allowed, as in Ansible), and
    `group_vars` holds the sparks group's; Ansible's resolved host vars (group vars already
    merged in) work as well with group_vars={}.
    """
    checked, group = check_inventory_vars(hosts, group_vars, path)
    by_name = {h.name: h for h in checked}
    indices: dict[int, str] = {}
    for host in checked:
        if host.index is not None and host.index in indices:
            Where(path, host.name, "sparkctl_node_index").fail(
                f"{host.index} is also {indices[host.index]}'s index",
                hint="every node needs its own sparkctl_node_index (0, 1, ...)")
        if host.index is not None:
            indices[host.index] = host.name
    ordered = sorted(enumerate(checked), key=lambda p: (p[1].index if p[1].index is not None
                                                        else p[0], p[0]))
    topology = group.topology or "custom"
    nodes = []
    # (rail-0 subnet, cable): the plan numbers subnets in declaration order, so sorting by
    # subnet restores the order, and with it the very addresses the inventory holds.
    found: dict[frozenset[PortRef], tuple[ipaddress.IPv4Network, Cable]] = {}
    switch_ports: list[tuple[int, PortRef]] = []
    for index, (_, host) in enumerate(ordered):
        nodes.append(SparkNode(name=host.name, index=index,
                               mgmt_address=host.address or host.name, ssh_user=host.user,
                               ssh_port=host.port if host.port is not None else 22))
        for number, iface in enumerate(host.interfaces):
            if iface.rail != 0:
                continue
            here = PortRef(host.name, iface.port)
            if len(iface.peers) != 1 or topology.startswith("switch"):
                switch_ports.append((index, here))
                continue
            where = Where(path, host.name, f"sparkctl_interfaces[{number}].peers[0]")
            peer = iface.peers[0]
            if peer.host not in by_name:
                where.fail(f"peer host {shown(peer.host)} is not in the inventory",
                           hint=f"hosts: {', '.join(by_name)}")
            dev = device_by_netdev(peer.interface)
            if dev is None:
                where.fail(f"unknown peer interface {shown(peer.interface)}",
                           hint="a Spark's data interfaces are enp1s0f0np0, enP2p1s0f0np0, "
                           "enp1s0f1np1 and enP2p1s0f1np1")
            there = PortRef(peer.host, dev.port)
            found.setdefault(frozenset((here, there)), (iface.address.network, Cable(here,
                                                                                    there)))
    reused = written_plan_violations([
        (h.name, i.name, i.address, [(p.host, p.interface) for p in i.peers])
        for h in checked for i in h.interfaces])
    if reused:
        raise InvalidTopology(reused, location=Location(path))
    cables = [Cable(ref, PortRef(SWITCH, None)) for _, ref in sorted(switch_ports)]
    cables += [cable for _, cable in sorted(found.values(), key=lambda item: item[0])]
    if topology not in BUILTINS:
        topology = "custom"
    return ClusterSpec(
        name=group.cluster_name or _default_name(path), topology=topology,
        nodes=tuple(nodes), cables=tuple(cables),
        mtu=group.mtu if group.mtu is not None else DEFAULT_MTU,
        pool=group.pool or DEFAULT_POOL, reserved=group.reserved,
        platform=group.platform or DEFAULT_PLATFORM,
        mgmt_interface=group.mgmt_interface or MGMT_INTERFACE, switch_mtu=group.switch_mtu,
        locations={key: _loc(path, group.sources[var].mark) for var, key in _GROUP_KEYS.items()
                   if var in group.sources and group.sources[var].mark is not None})


def spec_from_inventory_doc(inventory: Any, path: str) -> ClusterSpec:
    """spec_from_inventory for a parsed inventory file in the DESIGN.md shape."""
    hosts, group_vars = sparks_group(inventory, path)
    return spec_from_inventory(hosts, group_vars, path)


def with_platform(spec: ClusterSpec, platform: str) -> ClusterSpec:
    return dataclasses.replace(spec, platform=platform)


def management_ip(node: SparkNode) -> ipaddress.IPv4Address | None:
    try:
        return ipaddress.IPv4Address(node.mgmt_address)
    except ValueError:
        return None
