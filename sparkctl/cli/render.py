"""`sparkctl render (target) -o DIR`: write a self-contained Ansible bundle."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from sparkctl.cli.common import (
    ClusterOpt,
    HostsOpt,
    InventoryOpt,
    LabOpt,
    TopologyOpt,
    target_from_options,
    whole,
)


def render(
    output: Annotated[Path, typer.Option("--output", "-o", help="Directory to write the bundle "
                                         "into (new, empty, or an earlier bundle).")],
    topology: TopologyOpt = None,
    hosts: HostsOpt = None,
    cluster: ClusterOpt = None,
    inventory: InventoryOpt = None,
    lab: LabOpt = None,
    forks: Annotated[int | None, typer.Option(help="Ansible forks (default: node count, "
                                              "at least 5).", callback=whole(1, 256))] = None,
) -> None:
    """Write inventory, vars, ansible.cfg, site.yml and roles: runs with plain ansible-playbook."""
    from sparkctl.bootstrap.store import open_store, planned_id
    from sparkctl.render.bundle import BundleOptions, render_bundle

    target = target_from_options(topology, hosts, cluster, inventory, lab)
    # The bundle's mesh key is the cluster id's, the one provision and bootstrap use; the id
    # is recorded only once the bundle is written (a refused render leaves nothing behind).
    cluster_id = planned_id(target)
    bundle = render_bundle(target, output, BundleOptions(forks=forks, cluster_id=cluster_id))
    open_store(target, create=True, new_id=cluster_id)
    typer.echo(f"wrote bundle for {bundle.cluster_name} ({', '.join(bundle.hosts)}) to "
               f"{bundle.root}")
    typer.echo(f"run it with: cd {bundle.root} && ansible-playbook site.yml")
