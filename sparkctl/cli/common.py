"""Options shared by every command that acts on a cluster, and output helpers."""

from __future__ import annotations

import json
import sys
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from sparkctl.targets import Target

TopologyOpt = Annotated[str | None, typer.Option(
    "--topology", "-t", help="Built-in topology: single, direct, direct-dual, ring3, switch2-4.")]
HostsOpt = Annotated[str | None, typer.Option(
    "--hosts", "-H", help="Comma-separated host names or addresses, in cabling order (N1,N2,..).")]
ClusterOpt = Annotated[Path | None, typer.Option(
    "--cluster", "-c", help="Cluster file (YAML); write one with `sparkctl init`.")]
InventoryOpt = Annotated[Path | None, typer.Option(
    "--inventory", "-i", help="Inventory written by sparkctl (`sparkctl inventory -o`).")]
LabOpt = Annotated[str | None, typer.Option(
    "--lab", help="Name of a running simulated cluster (`sparkctl lab up`).")]


def target_from_options(topology: str | None, hosts: str | None, cluster: Path | None,
                        inventory: Path | None, lab: str | None) -> Target:
    # Lazy: the graph model (networkx) costs ~0.1 s to import; --help should not pay it.
    from sparkctl.targets import resolve_target

    return resolve_target(topology=topology, hosts=hosts, cluster=cluster, inventory=inventory,
                          lab=lab)


class DataFormat(str, Enum):
    table = "table"
    json = "json"


def print_json(data: Any, output: Path | None = None) -> None:
    text = json.dumps(data, indent=2, sort_keys=False) + "\n"
    if output is None:
        sys.stdout.write(text)
    else:
        from sparkctl.fileio import atomic_write

        atomic_write(output, text)
