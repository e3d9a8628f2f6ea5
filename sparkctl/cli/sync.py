"""`sparkctl sync (target) SRC`: copy a model directory or image to every node (thin)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from sparkctl.cli.common import (
    ClusterOpt,
    DataFormat,
    HostsOpt,
    InventoryOpt,
    LabOpt,
    TopologyOpt,
    target_from_options,
)
from sparkctl.exitcodes import ExitCode


def sync(
    src: Annotated[str, typer.Argument(
        help="A directory or file (on this machine, or on --from NODE), or docker:IMAGE.",
        show_default=False)],
    topology: TopologyOpt = None,
    hosts: HostsOpt = None,
    cluster: ClusterOpt = None,
    inventory: InventoryOpt = None,
    lab: LabOpt = None,
    to: Annotated[str | None, typer.Option(
        "--to", help="Absolute directory on the nodes (default: SRC's own path; for one "
        "file, its directory).")] = None,
    from_node: Annotated[str | None, typer.Option(
        "--from", help="The node that holds SRC (default: this machine).")] = None,
    nodes: Annotated[str | None, typer.Option(
        "--nodes", help="Only these receivers (comma-separated; default: every other node).")]
    = None,
    streams: Annotated[int | None, typer.Option(
        "--streams", min=1, max=16, help="TCP streams per rail (default: 4 on dgx-spark, 1 in "
        "the lab).")] = None,
    stall_timeout: Annotated[float, typer.Option(
        "--stall-timeout", min=2.0, help="Seconds a stream may carry nothing before its node "
        "counts as lost.")] = 20.0,
    budget: Annotated[float, typer.Option(
        "--budget", min=10.0, help="Seconds the whole sync may take.")] = 3600.0,
    verify: Annotated[bool, typer.Option(
        "--verify", help="Re-read files the nodes already hold instead of trusting their "
        "verified-state record.")] = False,
    output_format: Annotated[DataFormat, typer.Option(
        "--format", help="table or json.")] = DataFormat.table,
    output: Annotated[Path | None, typer.Option(
        "-o", "--output", help="Write the report here (atomically).")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")] = False,
) -> None:
    """Copy SRC to every other node over the data rails, pipelined node to node.

    Every chunk is checked against its SHA-256; a rerun resumes where an interrupted sync
    stopped. Exit 0 when every node has everything, 1 when a node failed (named in the
    report), 2 on bad input.
    """
    from sparkctl.sync.session import SyncRequest, run_sync

    target = target_from_options(topology, hosts, cluster, inventory, lab)
    request = SyncRequest(src=src, to=to, from_node=from_node, nodes=nodes,
                          streams_per_rail=streams, stall_s=stall_timeout, budget_s=budget,
                          verify=verify)
    show_bars = not quiet and sys.stderr.isatty()
    report, problem = run_sync(target, request, show_bars)
    if report is not None:
        _emit(report, output_format, output)
    if problem is not None:
        raise problem
    assert report is not None  # run_sync returns a report whenever there is no problem
    raise typer.Exit(int(ExitCode.OK if report.verdict == "pass" else ExitCode.FAILED))


def _emit(report, output_format: DataFormat, output: Path | None) -> None:
    from sparkctl.cli.common import print_json

    if output_format is DataFormat.json:
        print_json(report.to_dict(), output, kind="sync")
        return
    from sparkctl.report.terminal import terminal_for
    from sparkctl.sync.display import table_text

    term = terminal_for(plain=output is not None)
    text = table_text(report, term.color, term.width)
    if output is None:
        typer.echo(text, nl=False)
    else:
        from sparkctl.fileio import atomic_write

        atomic_write(output, text)
