"""Resolve the one target every cluster command takes (DESIGN.md, "Targets")."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sparkctl.cluster import Cluster, load_cluster_file, spec_from_inventory_doc
from sparkctl.errors import InputError
from sparkctl.topology.builtins import BUILTINS, builtin_spec
from sparkctl.yamlload import load_yaml_file, load_yaml_text, read_bounded_text


@dataclass(frozen=True)
class Target:
    cluster: Cluster
    inventory_path: Path | None  # an inventory that already exists (--inventory, --lab)
    description: str


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


def load_inventory_file(path: Path) -> Cluster:
    data = load_yaml_file(path, "inventory", positions=True)
    return Cluster.from_spec(spec_from_inventory_doc(data, str(path)))


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
        return Target(Cluster.from_spec(spec), None, f"built-in {topology}")
    if cluster:
        return Target(Cluster.from_spec(load_cluster_file(cluster)), None, str(cluster))
    if inventory:
        return Target(load_inventory_file(inventory), inventory, str(inventory))
    from sparkctl.lab.paths import lab_inventory_path  # lazy: only --lab needs the lab

    path = lab_inventory_path(lab)
    if not path.exists():
        raise InputError(f"no lab named {lab!r} is up",
                         hint=f"start it with `sparkctl lab up --name {lab} --topology ring3`")
    return Target(load_inventory_file(path), path, f"lab {lab}")


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
