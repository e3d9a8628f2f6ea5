# Copyright: sparkctl maintainers
# ruff: noqa: E402  (Ansible plugins put DOCUMENTATION before the imports)
# Apache License 2.0 (see LICENSE)
"""Inventory plugin: a DGX Spark cluster's inventory from its sparkctl cluster description.

The hosts and variables are built by sparkctl's own code (the cluster file loader, the
topology rules, the address plan and the inventory builder), so they are those of
`sparkctl inventory --cluster FILE`, errors included (file:line:column, node, port, fix).
That is why sparkctl must be importable from the Python that runs Ansible.
"""

from __future__ import annotations

DOCUMENTATION = r"""
---
name: cluster
short_description: The inventory of a DGX Spark cluster, from a sparkctl cluster description
version_added: 0.1.0
author: sparkctl maintainers
description:
  - Reads a sparkctl cluster description (nodes, topology or explicit cables, MTU, address
    pool) and gives the hosts, groups and variables that C(sparkctl inventory) writes for it
    - group C(sparks) with every node's management address, data interfaces, rails,
    addresses and peers, and the cluster's topology, platform, MTU, MPI hostfile and NCCL
    environment.
  - The description is a cluster file (O(cluster_file)) or the same keys inline (O(cluster)).
    Errors name the file, line and column, the node or port, and the fix, as sparkctl does.
  - The inventory file's name must end in C(.cluster.yml) or C(.cluster.yaml), for example
    C(spark.cluster.yml). The C(auto) inventory plugin (enabled by default) loads this one
    from the file's C(plugin) key.
requirements:
  - The C(dgx-sparkctl) Python package in the Python that runs Ansible (for example
    C(pip install dgx-sparkctl) in the same virtualenv as ansible-core). The plugin builds the
    inventory with sparkctl's own loader, rules and address plan instead of a copy of them.
options:
  plugin:
    description: Marks the file as a source for this plugin.
    required: true
    type: str
    choices: [sparkctl.dgx_spark.cluster]
  cluster_file:
    description:
      - A sparkctl cluster file (C(sparkctl init) writes one). A relative path is taken from
        the directory of this inventory file.
      - Give this or O(cluster), not both.
    type: str
  cluster:
    description:
      - The cluster described inline, with the keys of a cluster file (C(nodes), C(topology)
        or C(cables), C(ssh_user), C(mtu), C(pool), C(reserved), C(platform), C(name)).
      - Without C(name), the cluster is named after this file (C(spark.cluster.yml) is C(spark)).
      - Give this or O(cluster_file), not both.
    type: dict
"""

EXAMPLES = r"""
# spark.cluster.yml: the cluster file next to it.
plugin: sparkctl.dgx_spark.cluster
cluster_file: cluster.yaml
---
# lab.cluster.yml: the cluster inline.
plugin: sparkctl.dgx_spark.cluster
cluster:
  name: bench
  ssh_user: nvidia
  nodes:
    - {name: spark-1, address: 10.0.0.11}
    - {name: spark-2, address: 10.0.0.12}
    - {name: spark-3, address: 10.0.0.13}
  topology: ring3

# Then: ansible-inventory -i spark.cluster.yml --list
#       ansible-playbook -i spark.cluster.yml sparkctl.dgx_spark.site
"""

import os
import sys

from ansible.errors import AnsibleParserError
from ansible.plugins.inventory import BaseInventoryPlugin

NAME = "sparkctl.dgx_spark.cluster"
SUFFIXES = (".cluster.yml", ".cluster.yaml")
KEYS = ("plugin", "cluster_file", "cluster")


class InventoryModule(BaseInventoryPlugin):
    NAME = NAME
    # The values come from a local file the user wrote, exactly as in the YAML inventory that
    # `sparkctl inventory` would write from it (and which ansible-core trusts): the same trust
    # keeps the two inventories equal (ansible-core >= 2.19 marks other values unsafe).
    trusted_by_default = True

    def verify_file(self, path):
        return super().verify_file(path) and os.path.basename(path).endswith(SUFFIXES)

    def parse(self, inventory, loader, path, cache=True):
        super().parse(inventory, loader, path, cache)
        self._read_config_data(path)
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
        root = _top_mapping(text, path)
        unknown = [key for key in root if key not in KEYS]
        if unknown:
            raise AnsibleParserError(
                f"{path}: unknown key {unknown[0]!r} (this plugin reads {', '.join(KEYS)})")
        cluster_file = self.get_option("cluster_file")
        if (cluster_file is None) == ("cluster" not in root):
            raise AnsibleParserError(
                f"{path}: give exactly one of cluster_file (a sparkctl cluster file) and "
                "cluster (the same keys inline)")
        sparkctl = _import_sparkctl(path)
        try:
            if cluster_file is not None:
                data = sparkctl.inventory_from_file(
                    os.path.join(os.path.dirname(os.path.abspath(path)), cluster_file))
            else:
                data = sparkctl.inventory_from_text(_inline_text(text, root["cluster"]), path,
                                                    _default_name(path))
        except sparkctl.SparkctlError as exc:
            raise AnsibleParserError(str(exc)) from None
        self._add_group("all", data.get("all") or {}, None)

    def _add_group(self, name, group, parent):
        if name != "all":
            self.inventory.add_group(name)
            self.inventory.add_child(parent, name)
        for host, host_vars in (group.get("hosts") or {}).items():
            self.inventory.add_host(host, group=name)
            for key, value in (host_vars or {}).items():
                self.inventory.set_variable(host, key, value)
        for key, value in (group.get("vars") or {}).items():
            self.inventory.set_variable(name, key, value)
        for child, sub in (group.get("children") or {}).items():
            self._add_group(child, sub or {}, name)


class _Sparkctl:
    """The three sparkctl calls behind `sparkctl inventory --cluster FILE`."""

    def __init__(self):
        import dataclasses

        from sparkctl.cluster import Cluster, load_cluster_file, parse_cluster_text
        from sparkctl.errors import SparkctlError
        from sparkctl.render.inventory import build_inventory

        self.SparkctlError = SparkctlError
        self._replace = dataclasses.replace
        self._cluster = Cluster
        self._load = load_cluster_file
        self._parse = parse_cluster_text
        self._build = build_inventory

    def inventory_from_file(self, path):
        return self._build(self._cluster.from_spec(self._load(path)))

    def inventory_from_text(self, text, path, default_name):
        spec = self._parse(text, path)
        if not spec.locations.get("name"):
            spec = self._replace(spec, name=default_name)
        return self._build(self._cluster.from_spec(spec))


def _import_sparkctl(path):
    try:
        return _Sparkctl()
    except ImportError as exc:
        raise AnsibleParserError(
            f"{path}: the {NAME} inventory plugin needs the dgx-sparkctl Python package in "
            f"the Python that runs Ansible ({sys.executable}): "
            f"{sys.executable} -m pip install dgx-sparkctl ({exc})") from None


def _top_mapping(text, path):
    """The file's top-level keys -> their YAML value nodes (with positions)."""
    import yaml

    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        raise AnsibleParserError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(node, yaml.MappingNode):
        raise AnsibleParserError(f"{path}: expected a mapping with a plugin key")
    return {key.value: value for key, value in node.value}


def _inline_text(text, node):
    """The text of the inline cluster, at its own lines and columns, so sparkctl's errors
    point into this file where the mistake is."""
    start, end = node.start_mark, node.end_mark
    return "\n" * start.line + " " * start.column + text[start.index:end.index] + "\n"


def _default_name(path):
    base = os.path.basename(path)
    for suffix in SUFFIXES:
        if base.endswith(suffix):
            return base[: -len(suffix)] or "cluster"
    return base
