"""`sparkctl discover`: how the Sparks are really cabled, and drift from the declaration."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from sparkctl.cli.common import ClusterOpt, HostsOpt, InventoryOpt, LabOpt, TopologyOpt, number


class DiscoverFormat(str, Enum):
    table = "table"
    json = "json"
    dot = "dot"


def discover(
    topology: TopologyOpt = None,
    hosts: HostsOpt = None,
    cluster: ClusterOpt = None,
    inventory: InventoryOpt = None,
    lab: LabOpt = None,
    format: Annotated[DiscoverFormat, typer.Option(
        "--format", "-f", help="table, json or dot (Graphviz).")] = DiscoverFormat.table,
    write_cluster: Annotated[Path | None, typer.Option(
        "--write-cluster", help="Write a cluster file matching the observed cabling.")] = None,
    window: Annotated[float, typer.Option(
        "--window", help="Seconds every node sends and listens for discovery frames.",
        callback=number(0.2, 30.0))] = 1.5,
    bring_up: Annotated[bool, typer.Option(
        "--bring-up", help="Set administratively-down ConnectX-7 twins up for the window "
        "(waiting 3 s for link), then down again. For fresh, unprovisioned Sparks.")] = False,
) -> None:
    """Discover the real cabling over SSH and show drift from the declared topology.

    Every node sends raw Ethernet frames (EtherType 0x88B5) out of each ConnectX-7 twin with
    carrier and listens on all of them: no IP addresses or IPv6 needed. `--hosts a,b,c` alone
    discovers without comparing. Exit 0: cabling matches (or nothing declared); 1: drift;
    2: usage error or a node could not be probed.
    """
    from sparkctl.cli.common import print_json, target_from_options
    from sparkctl.discover import render
    from sparkctl.discover.run import INCOMPLETE
    from sparkctl.discover.run import discover as run_discovery
    from sparkctl.discover.scope import scope_for_hosts, scope_for_target
    from sparkctl.errors import EnvironmentProblem
    from sparkctl.targets import split_hosts

    names = split_hosts(hosts)
    if names is not None and not any((topology, cluster, inventory, lab)):
        scope = scope_for_hosts(names)
    else:
        scope = scope_for_target(target_from_options(topology, hosts, cluster, inventory, lab))
    result = run_discovery(scope.nodes, scope.endpoints, scope.declared, window, bring_up)
    if format == DiscoverFormat.json:
        print_json(render.to_json(result, scope.source), kind="discover")
    elif format == DiscoverFormat.dot:
        typer.echo(render.to_dot(result), nl=False)
    else:
        typer.echo(render.to_table(result, scope.source), nl=False)
    if result.verdict == INCOMPLETE:
        failed = [f"{f.subject}: {f.message}" for f in result.findings if f.severity == "error"]
        raise EnvironmentProblem("discovery is incomplete:\n  " + "\n  ".join(failed),
                                 hint="fix access to these nodes and rerun; no file was written")
    if write_cluster is not None:
        from sparkctl.discover.writer import write_cluster_file

        spec = write_cluster_file(result, write_cluster)
        typer.echo(f"wrote {write_cluster} ({spec.topology}, nodes "
                   f"{', '.join(spec.node_names)})", err=True)
    raise typer.Exit(int(result.exit_code))
