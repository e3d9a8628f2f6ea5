"""Cluster files (YAML) and the validated `Cluster` built from a spec.

Errors in a file carry file:line:column of the offending key or value, so users fix the
right line on the first try.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import networkx as nx
import yaml

from sparkctl.errors import InputError, InvalidTopology, Location
from sparkctl.topology.addressing import AddressPlan, PlanError, plan_addresses
from sparkctl.topology.builtins import BUILTINS, builtin_spec
from sparkctl.topology.environment import (
    check_mgmt_interface_name,
    hostfile,
    mgmt_interface_violations,
    nccl_env,
)
from sparkctl.topology.graph import build_graph
from sparkctl.topology.hardware import MGMT_INTERFACE, device_by_netdev
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
    parse_network,
)
from sparkctl.topology.rules import check_spec


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


# --- YAML with positions ------------------------------------------------------------------

class _Map(dict):
    mark: Any = None
    key_marks: dict
    value_marks: dict


class _Seq(list):
    mark: Any = None
    item_marks: list


class _Loader(yaml.SafeLoader):
    path = "<cluster file>"


def _construct_map(loader: _Loader, node: yaml.MappingNode) -> _Map:
    loader.flatten_mapping(node)
    result = _Map()
    result.mark, result.key_marks, result.value_marks = node.start_mark, {}, {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in result:
            raise InputError(f"key {key!r} appears twice", hint="keep one of them",
                             location=_loc(loader.path, key_node.start_mark))
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_marks[key] = key_node.start_mark
        result.value_marks[key] = value_node.start_mark
    return result


def _construct_seq(loader: _Loader, node: yaml.SequenceNode) -> _Seq:
    result = _Seq(loader.construct_object(item, deep=True) for item in node.value)
    result.mark, result.item_marks = node.start_mark, [item.start_mark for item in node.value]
    return result


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_map)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_seq)


def _loc(path: str, mark) -> Location:
    return Location(path, mark.line + 1, mark.column + 1) if mark else Location(path)


# --- schema -------------------------------------------------------------------------------

_TOP_KEYS = {"name", "topology", "nodes", "cables", "mtu", "pool", "reserved", "platform",
             "ssh_user", "ssh_port", "management_interface", "switch"}
_NODE_KEYS = {"name", "address", "user", "port"}
_CABLE = re.compile(r"^\s*(?P<a>[^\s:]+(?::p\d+)?)\s*--\s*(?P<b>[^\s:]+(?::p\d+)?)\s*$")
_END = re.compile(r"^(?P<node>[^\s:]+)(?::p(?P<port>\d+))?$")


class _Reader:
    """Turns the parsed YAML into a ClusterSpec, raising InputError at the exact position."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.locations: dict[str, Location] = {}

    def fail(self, message: str, mark, hint: str | None = None):
        raise InputError(message, hint=hint, location=_loc(self.path, mark))

    def read(self, doc: Any) -> ClusterSpec:
        if not isinstance(doc, _Map):
            self.fail("a cluster file must be a YAML mapping (nodes:, topology: or cables:, ...)",
                      getattr(doc, "mark", None), hint="see `sparkctl init --help` for an example")
        for key in doc:
            if key not in _TOP_KEYS:
                self.fail(f"unknown key {key!r}", doc.key_marks[key],
                          hint=f"allowed keys: {', '.join(sorted(_TOP_KEYS))}")
        for key in doc:
            self.locations[key] = _loc(self.path, doc.value_marks[key])
        ssh_user = self._opt_str(doc, "ssh_user")
        ssh_port = self._port(doc, "ssh_port", 22)
        nodes = self._nodes(doc, ssh_user, ssh_port)
        topology, cables = self._cabling(doc, [n.name for n in nodes])
        switch_mtu = self._switch(doc, cables)
        mtu = doc.get("mtu", default_mtu(cables, switch_mtu))
        if not isinstance(mtu, int) or isinstance(mtu, bool):
            self.fail(f"mtu must be an integer, got {mtu!r}", doc.value_marks["mtu"],
                      hint="e.g. mtu: 9000")
        if switch_mtu is not None and mtu > switch_mtu:
            self.fail(f"mtu {mtu} is more than the switch carries ({switch_mtu}): the switch "
                      "would drop the larger RoCE frames", doc.value_marks["mtu"],
                      hint=f"lower mtu to {switch_mtu}, or raise the switch ports' MTU and "
                      "say so in switch: {mtu: N}")
        mgmt = doc.get("management_interface", MGMT_INTERFACE)
        problem = check_mgmt_interface_name(mgmt)
        if problem:
            self.fail(problem, doc.value_marks["management_interface"],
                      hint="enP7s7 (onboard 10GbE, the default), wlP9s9 (Wi-Fi) or a cabled "
                      "ConnectX-7 netdev such as enp1s0f1np1")
        platform = doc.get("platform", DEFAULT_PLATFORM)
        if platform not in PLATFORMS:
            self.fail(f"unknown platform {platform!r}", doc.value_marks["platform"],
                      hint=f"use one of: {', '.join(PLATFORMS)}")
        name = self._opt_str(doc, "name") or Path(self.path).stem
        return ClusterSpec(
            name=name, topology=topology, nodes=tuple(nodes), cables=tuple(cables), mtu=mtu,
            pool=self._networks(doc, "pool", DEFAULT_POOL),
            reserved=self._networks(doc, "reserved", ()), platform=platform,
            mgmt_interface=mgmt, switch_mtu=switch_mtu, mtu_declared="mtu" in doc,
            locations=self.locations)

    def _switch(self, doc: _Map, cables: list[Cable]) -> int | None:
        """`switch: {mtu: N}`: what the switch's ports carry (facts: "MTU on a switch")."""
        if "switch" not in doc:
            return None
        value = doc["switch"]
        mark = doc.value_marks["switch"]
        if not any(c.to_switch for c in cables):
            self.fail("'switch' is set but no cable goes to a switch", doc.key_marks["switch"],
                      hint="remove 'switch', or cable ports to it ('spark-1:p1 -- switch')")
        if not isinstance(value, _Map) or set(value) != {"mtu"}:
            self.fail(f"switch must be a mapping with one key, mtu; got {value!r}", mark,
                      hint="e.g. switch: {mtu: 9000} once the switch ports carry jumbo frames")
        mtu = value["mtu"]
        if not isinstance(mtu, int) or isinstance(mtu, bool) or not MTU_MIN <= mtu <= MTU_MAX:
            self.fail(f"switch mtu must be an integer {MTU_MIN}-{MTU_MAX}, got {mtu!r}",
                      value.value_marks["mtu"], hint="e.g. switch: {mtu: 9000}")
        return mtu

    def _opt_str(self, doc: _Map, key: str) -> str | None:
        value = doc.get(key)
        if value is not None and not isinstance(value, str):
            self.fail(f"{key} must be a string, got {value!r}", doc.value_marks[key])
        return value

    def _port(self, doc: _Map, key: str, default: int) -> int:
        value = doc.get(key, default)
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 65535:
            self.fail(f"{key} must be a TCP port number 1-65535, got {value!r}",
                      doc.value_marks[key])
        return value

    def _nodes(self, doc: _Map, ssh_user: str | None, ssh_port: int) -> list[SparkNode]:
        if "nodes" not in doc:
            self.fail("missing key 'nodes'", doc.mark,
                      hint="list your Sparks: nodes: [{name: spark-1, address: 10.0.0.11}, ...]")
        items = doc["nodes"]
        if not isinstance(items, _Seq) or not items:
            self.fail("'nodes' must be a non-empty list of Sparks", doc.value_marks["nodes"],
                      hint="nodes: [{name: spark-1, address: 10.0.0.11}, ...]")
        self.locations["nodes"] = _loc(self.path, doc.value_marks["nodes"])
        nodes = []
        for index, (item, mark) in enumerate(zip(items, items.item_marks, strict=True)):
            if isinstance(item, str):
                item_map: dict = {"name": item}
                marks = {"name": mark}
            elif isinstance(item, _Map):
                item_map, marks = item, item.value_marks
                for key in item:
                    if key not in _NODE_KEYS:
                        self.fail(f"unknown node key {key!r}", item.key_marks[key],
                                  hint=f"allowed: {', '.join(sorted(_NODE_KEYS))}")
            else:
                self.fail(f"a node must be a name or a mapping, got {item!r}", mark)
            name = item_map.get("name")
            if not isinstance(name, str) or not name:
                self.fail("every node needs a name", mark, hint="name: spark-1")
            address = item_map.get("address", name)
            if not isinstance(address, str):
                self.fail(f"address of {name} must be a string", marks.get("address", mark))
            user = item_map.get("user", ssh_user)
            port = item_map.get("port", ssh_port)
            if not isinstance(port, int) or isinstance(port, bool) or not 1 <= port <= 65535:
                self.fail(f"ssh port of {name} must be 1-65535, got {port!r}",
                          marks.get("port", mark))
            self.locations.setdefault(f"node:{name}", _loc(self.path, mark))
            nodes.append(SparkNode(name=name, index=index, mgmt_address=address, ssh_user=user,
                                   ssh_port=port))
        return nodes

    def _cabling(self, doc: _Map, hosts: list[str]) -> tuple[str, list[Cable]]:
        topology = doc.get("topology")
        has_cables = "cables" in doc
        if topology is None and not has_cables:
            self.fail("give either 'topology' (a built-in) or 'cables'", doc.mark,
                      hint=f"topology: one of {', '.join(BUILTINS)}")
        if topology is not None and topology != "custom" and has_cables:
            self.fail("give 'topology' or 'cables', not both", doc.key_marks["cables"],
                      hint="remove 'topology' to cable by hand, or 'cables' to use the built-in")
        if topology is not None and topology != "custom":
            if topology not in BUILTINS:
                self.fail(f"unknown topology {topology!r}", doc.value_marks["topology"],
                          hint=f"use one of: {', '.join(BUILTINS)}, or list cables")
            try:
                return topology, list(builtin_spec(topology, hosts).cables)
            except InputError as exc:
                self.fail(exc.message, doc.value_marks["topology"], hint=exc.hint)
        items = doc.get("cables")
        if not isinstance(items, _Seq):
            self.fail("'cables' must be a list like ['spark-1:p0 -- spark-2:p1']",
                      doc.value_marks.get("cables", doc.mark))
        cables = []
        for index, (item, mark) in enumerate(zip(items, items.item_marks, strict=True)):
            cables.append(self._cable(item, mark))
            self.locations[f"cable:{index}"] = _loc(self.path, mark)
        return "custom", cables

    def _cable(self, item: Any, mark) -> Cable:
        match = _CABLE.match(item) if isinstance(item, str) else None
        if not match:
            self.fail(f"cannot read cable {item!r}", mark,
                      hint="write 'spark-1:p0 -- spark-2:p1' or 'spark-1:p1 -- switch'")
        ends = []
        for text in (match["a"], match["b"]):
            end = _END.match(text)
            if end["node"] == SWITCH:
                if end["port"] is not None:
                    self.fail("switch ports are not numbered; write just 'switch'", mark)
                ends.append(PortRef(SWITCH, None))
            elif end["port"] is None:
                self.fail(f"cable end {text!r} lacks a port", mark,
                          hint=f"write {text}:p0 or {text}:p1")
            else:
                ends.append(PortRef(end["node"], int(end["port"])))
        return Cable(*ends)

    def _networks(self, doc: _Map, key: str, default: tuple) -> tuple:
        if key not in doc:
            return default
        value = doc[key]
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or (key == "pool" and not items):
            self.fail(f"{key} must be a CIDR or a list of CIDRs", doc.value_marks[key],
                      hint="e.g. 192.168.100.0/22")
        nets = []
        for item in items:
            try:
                nets.append(parse_network(str(item)))
            except ValueError as exc:
                self.fail(f"{key}: {exc}", doc.value_marks[key],
                          hint="write the network address with its prefix, e.g. 10.0.0.0/8")
        return tuple(nets)


def parse_cluster_text(text: str, path: str = "<cluster file>") -> ClusterSpec:
    loader = _Loader(text)
    loader.path = path
    try:
        doc = loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise InputError(f"not valid YAML: {exc.problem or exc.context}",
                         location=_loc(path, mark),
                         hint="check indentation and quoting around this position") from None
    except yaml.YAMLError as exc:
        raise InputError(f"not valid YAML: {exc}", location=Location(path)) from None
    finally:
        loader.dispose()
    return _Reader(path).read(doc)


def load_cluster_file(path: str | Path) -> ClusterSpec:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"cluster file {path} does not exist",
                         hint="create one with `sparkctl init --topology ring3 --hosts a,b,c "
                         f"-o {path}`") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read cluster file {path}: {exc}") from None
    return parse_cluster_text(text, str(path))


def load_cluster(path: str | Path) -> Cluster:
    """Load and validate; rule violations carry the file position of what they name."""
    return Cluster.from_spec(load_cluster_file(path))


# --- writing ------------------------------------------------------------------------------

def render_cluster_file(spec: ClusterSpec) -> str:
    """A commented cluster file that loads back into the same spec."""
    from sparkctl.topology.builtins import BUILTINS as builtins

    lines = [
        f"# sparkctl cluster file: {spec.name}",
        "# Load it with: sparkctl topology show cluster.yaml | sparkctl provision --cluster FILE",
        f"name: {spec.name}",
        "# platform: dgx-spark (real DGX Spark, DGX OS) or lab (simulated by `sparkctl lab`)",
        f"platform: {spec.platform}",
        "# Management addresses are how sparkctl and Ansible reach each node over SSH (enP7s7).",
        "nodes:",
    ]
    for node in spec.nodes:
        lines.append(f"  - name: {node.name}")
        lines.append(f"    address: {node.mgmt_address}")
        if node.ssh_user:
            lines.append(f"    user: {node.ssh_user}")
        if node.ssh_port != 22:
            lines.append(f"    port: {node.ssh_port}")
    if spec.topology in builtins:
        lines += [
            f"# Built-in cabling: {builtins[spec.topology].cabling}",
            "# Replace 'topology' with a 'cables' list to describe other cabling, e.g.",
            "#   cables: ['spark-1:p0 -- spark-2:p1', 'spark-1:p1 -- switch']",
            f"topology: {spec.topology}",
        ]
    else:
        lines.append("# One cable per line: NODE:pPORT -- NODE:pPORT, or NODE:pPORT -- switch")
        lines.append("cables:")
        lines += [f"  - '{c}'" for c in spec.cables]
    if spec.switch_mtu is not None:
        lines += ["# What the switch ports carry; the rails' MTU may not exceed it.",
                  f"switch: {{mtu: {spec.switch_mtu}}}"]
    lines += [
        "# MTU of every data rail: 9000 (community), 4200 (RoCE active_mtu 4096), 1500 (NVIDIA;"
        " the default through a switch)",
        f"mtu: {spec.mtu}",
        "# NCCL/MPI bootstrap and runtime control interface: enP7s7 (10GbE), wlP9s9 (Wi-Fi)",
        "# or a cabled ConnectX-7 netdev (NVIDIA's vLLM/TRT-LLM playbooks use enp1s0f1np1).",
        f"management_interface: {spec.mgmt_interface}",
        "# Data-rail subnets are /24s carved from the pool, one per rail per cable.",
        "pool: [" + ", ".join(str(n) for n in spec.pool) + "]",
        "# Networks the pool must never touch (management, VPNs, ...).",
        "reserved: [" + ", ".join(str(n) for n in spec.reserved) + "]",
    ]
    return "\n".join(lines) + "\n"


def spec_from_inventory(inventory: dict, path: str) -> ClusterSpec:
    """Rebuild the declared cluster from an inventory sparkctl wrote (DESIGN.md shape)."""
    try:
        group = inventory["all"]["children"]["sparks"]
        hosts: dict = group["hosts"]
        gvars: dict = group.get("vars", {})
    except (KeyError, TypeError):
        raise InputError("not a sparkctl inventory: expected all.children.sparks.hosts",
                         location=Location(path),
                         hint="write one with `sparkctl inventory ... -o FILE`") from None
    ordered = sorted(hosts.items(), key=lambda kv: kv[1].get("sparkctl_node_index", 0))
    nodes = []
    topology = gvars.get("sparkctl_topology", "custom")
    # (rail-0 subnet, cable): the plan numbers subnets in declaration order, so sorting by
    # subnet restores the order, and with it the very addresses the inventory holds.
    found: dict[frozenset, tuple] = {}
    switch_ports: list[tuple[int, PortRef]] = []
    for index, (name, hvars) in enumerate(ordered):
        nodes.append(SparkNode(name=name, index=index,
                               mgmt_address=str(hvars.get("ansible_host", name)),
                               ssh_user=hvars.get("ansible_user"),
                               ssh_port=int(hvars.get("ansible_port", 22))))
        for iface in hvars.get("sparkctl_interfaces", []):
            if iface.get("rail") != 0:
                continue
            here = PortRef(name, int(iface["port"]))
            peers = iface.get("peers", [])
            if len(peers) != 1 or str(topology).startswith("switch"):
                switch_ports.append((index, here))
                continue
            dev = device_by_netdev(peers[0]["interface"])
            if dev is None:
                raise InputError(f"unknown peer interface {peers[0]['interface']!r} on {name}",
                                 location=Location(path))
            there = PortRef(peers[0]["host"], dev.port)
            subnet = ipaddress.IPv4Interface(iface["address"]).network
            found.setdefault(frozenset((here, there)), (subnet, Cable(here, there)))
    cables = [Cable(ref, PortRef(SWITCH, None)) for _, ref in sorted(switch_ports)]
    cables += [cable for _, cable in sorted(found.values(), key=lambda item: item[0])]
    if topology not in BUILTINS:
        topology = "custom"
    reserved = tuple(parse_network(n) for n in gvars.get("sparkctl_reserved", []))
    pool = tuple(parse_network(n) for n in gvars.get("sparkctl_pool", [])) or DEFAULT_POOL
    spec = ClusterSpec(
        name=str(gvars.get("sparkctl_cluster_name", Path(path).stem)), topology=topology,
        nodes=tuple(nodes), cables=tuple(cables), mtu=int(gvars.get("sparkctl_mtu", DEFAULT_MTU)),
        pool=pool, reserved=reserved, platform=gvars.get("sparkctl_platform", DEFAULT_PLATFORM),
        mgmt_interface=str(gvars.get("sparkctl_mgmt_interface", MGMT_INTERFACE)),
        switch_mtu=_opt_int(gvars.get("sparkctl_switch_mtu")))
    return spec


def _opt_int(value) -> int | None:
    return None if value is None else int(value)


def with_platform(spec: ClusterSpec, platform: str) -> ClusterSpec:
    return dataclasses.replace(spec, platform=platform)


def management_ip(node: SparkNode) -> ipaddress.IPv4Address | None:
    try:
        return ipaddress.IPv4Address(node.mgmt_address)
    except ValueError:
        return None
