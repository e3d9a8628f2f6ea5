"""`sparkctl inventory`: the Ansible inventory for a cluster (for CI pipelines too)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from sparkctl.cli.common import ClusterOpt, HostsOpt, InventoryOpt, LabOpt, TopologyOpt, file_path


def inventory(
    topology: TopologyOpt = None,
    hosts: HostsOpt = None,
    cluster: ClusterOpt = None,
    inventory: InventoryOpt = None,
    lab: LabOpt = None,
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="Write here (atomically) instead of stdout.",
        callback=file_path)] = None,
) -> None:
    """Print or write the Ansible inventory (YAML) for a cluster.

    `ansible-inventory -i FILE --list` accepts it; every host carries its interfaces, rails,
    addresses and peers, the group carries topology, platform, MTU and the NCCL environment.
    """
    from sparkctl.cli.common import target_from_options
    from sparkctl.render.inventory import build_inventory, dump_inventory, write_inventory

    target = target_from_options(topology, hosts, cluster, inventory, lab)
    if target.inventory_path is not None:
        text = target.inventory_path.read_text(encoding="utf-8")
        data = None
    else:
        data = build_inventory(target.cluster)
        text = dump_inventory(data)
    if output is None:
        typer.echo(text, nl=False)
    elif data is not None:
        write_inventory(output, data)
        typer.echo(f"wrote {output}", err=True)
    else:
        from sparkctl.fileio import atomic_write

        atomic_write(output, text)
        typer.echo(f"wrote {output}", err=True)
