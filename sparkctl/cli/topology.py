"""`sparkctl topology`: list, show and draw cluster topologies."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from sparkctl.cli.common import DataFormat, HostsOpt, print_json

app = typer.Typer(no_args_is_help=True, help="List, show and draw cluster topologies.")


class ShowFormat(str, Enum):
    table = "table"
    json = "json"
    dot = "dot"
    mermaid = "mermaid"


NameOrFile = Annotated[str, typer.Argument(
    help="A built-in topology name, a cluster file, or an inventory written by sparkctl.")]


@app.command("list")
def list_topologies(
    format: Annotated[DataFormat, typer.Option("--format", "-f", help="table or json.")
                      ] = DataFormat.table,
) -> None:
    """List the built-in topologies and how each is cabled."""
    from sparkctl.topology.builtins import BUILTINS

    if format == DataFormat.json:
        print_json(kind="topology-list", data=[{
            "name": t.name, "nodes": t.nodes, "summary": t.summary, "cabling": t.cabling}
            for t in BUILTINS.values()])
        return
    from rich.console import Console
    from rich.table import Table

    table = Table("topology", "nodes", "what for", "cabling")
    for t in BUILTINS.values():
        table.add_row(t.name, str(t.nodes), t.summary, t.cabling)
    Console().print(table)


@app.command("show")
def show(
    name_or_file: NameOrFile,
    hosts: HostsOpt = None,
    format: Annotated[ShowFormat, typer.Option(
        "--format", "-f", help="table, json, dot or mermaid.")] = ShowFormat.table,
) -> None:
    """Show cables, ports, rails, subnets and addresses of a topology.

    Examples: `sparkctl topology show ring3 --hosts a,b,c`, `sparkctl topology show cluster.yaml
    --format json`, `sparkctl topology show switch4 --format dot | dot -Tsvg > s.svg`.
    """
    from sparkctl.render import diagram
    from sparkctl.targets import resolve_name_or_file

    cluster = resolve_name_or_file(name_or_file, hosts).cluster
    if format == ShowFormat.json:
        print_json(diagram.to_json(cluster), kind="topology-show")
    elif format == ShowFormat.dot:
        typer.echo(diagram.to_dot(cluster), nl=False)
    elif format == ShowFormat.mermaid:
        typer.echo(diagram.to_mermaid(cluster), nl=False)
    else:
        _print_table(cluster)


def _print_table(cluster) -> None:
    from rich.console import Console
    from rich.table import Table

    from sparkctl.render.diagram import cable_rows

    spec = cluster.spec
    console = Console()
    console.print(f"[bold]{spec.name}[/]: topology {spec.topology}, {len(spec.nodes)} Spark(s), "
                  f"platform {spec.platform}, MTU {spec.mtu}")
    nodes = Table("node", "mgmt address", "ports used", "NCCL_IB_HCA", title="Nodes")
    for node in spec.nodes:
        ports = sorted({i.port for i in cluster.plan.interfaces[node.name]})
        nodes.add_row(node.name, node.mgmt_address, ", ".join(f"p{p}" for p in ports) or "-",
                      cluster.nccl_env(node.name).get("NCCL_IB_HCA", "-"))
    console.print(nodes)
    if not spec.cables:
        console.print("No cables: a single Spark needs no cluster network.")
        return
    cables = Table("cable", "rail", "end A", "end B", "subnet", title="Cables and rails")
    for row in cable_rows(cluster):
        ends = [f"{e['node']} {e['interface']} {e['address']}" if e["interface"]
                else "switch fabric" for e in row["ends"]]
        cables.add_row(row["cable"], str(row["rail"]), ends[0], ends[1], row["subnet"])
    console.print(cables)


@app.command("draw")
def draw(
    name_or_file: NameOrFile,
    output: Annotated[Path, typer.Option("--output", "-o",
                                         help="Diagram file: .svg, .png or .pdf.")],
    hosts: HostsOpt = None,
) -> None:
    """Draw a printable cabling diagram (nodes, ports, rails, subnets) with Graphviz."""
    from sparkctl.render.diagram import draw as draw_diagram
    from sparkctl.targets import resolve_name_or_file

    cluster = resolve_name_or_file(name_or_file, hosts).cluster
    path = draw_diagram(cluster, output)
    typer.echo(f"wrote {path}")
