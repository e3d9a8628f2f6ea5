"""`sparkctl analyze FILE...`: detect, parse and judge saved tool outputs (thin wrapper)."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path

import typer

from sparkctl.exitcodes import ExitCode


class OutputFormat(StrEnum):
    table = "table"
    json = "json"


_STYLE = {"pass": "green", "degraded": "yellow", "fail": "red", "unparseable": "magenta"}


def analyze(
    files: list[Path] = typer.Argument(..., metavar="FILE...", show_default=False,
                                       help="Saved outputs of nccl-tests (text or -J JSON), "
                                            "NCCL_DEBUG logs, ib_write_bw/lat, iperf3, ethtool, "
                                            "ibv_devinfo/ibdev2netdev/rdma link/ibstat, "
                                            "nvidia-smi."),
    output_format: OutputFormat = typer.Option(OutputFormat.table, "--format",
                                               help="table or json."),
    topology: str | None = typer.Option(
        None, "--topology",
        help="Judge collectives against this topology's expected bus bandwidth (single, "
             "direct, direct-dual, switch2-4, ring3). Default: the direct/switch threshold."),
) -> None:
    """Detect which tool produced each FILE, parse it, and print metrics, verdict, diagnosis.

    Exit 0 if every file passes, 1 if any is degraded, failed or unparseable, 2 on bad usage.
    """
    from sparkctl.checks import thresholds
    from sparkctl.checks.analyze import analyze_file
    from sparkctl.errors import InputError

    if topology is not None and topology not in thresholds.TOPOLOGIES:
        raise InputError(f"unknown topology {topology!r} for --topology",
                         hint=f"use one of: {', '.join(thresholds.TOPOLOGIES)}")
    for path in files:  # fail on a missing file before printing anything
        if not path.exists():
            raise InputError(f"{path}: no such file", hint="check the path; nothing was analyzed")
    results = [analyze_file(path, topology=topology) for path in files]
    if output_format is OutputFormat.json:
        typer.echo(json.dumps([r.to_dict() for r in results], indent=2))
    else:
        _print_table(results)
    ok = all(r.verdict == "pass" for r in results)
    raise typer.Exit(int(ExitCode.OK if ok else ExitCode.FAILED))


def _print_table(results) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(show_lines=True)
    table.add_column("File", overflow="fold")
    table.add_column("Tool")
    table.add_column("Verdict")
    table.add_column("Diagnosis", overflow="fold")
    for r in results:
        style = _STYLE.get(r.verdict, "")
        table.add_row(r.file, r.tool, f"[{style}]{r.verdict}[/{style}]", r.diagnosis)
    Console().print(table)
