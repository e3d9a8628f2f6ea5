"""`sparkctl analyze FILE...`: detect, parse and judge saved tool outputs (thin wrapper)."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path

import typer

from sparkctl.exitcodes import ExitCode


class OutputFormat(StrEnum):
    table = "table"
    json = "json"


_STYLE = {"pass": "green", "degraded": "yellow", "fail": "red", "incomplete": "cyan",
          "unparseable": "magenta"}
STDIN = "-"


def analyze(
    files: list[Path] = typer.Argument(..., metavar="FILE...", show_default=False,
                                       help="Saved outputs of nccl-tests (text or -J JSON), "
                                            "NCCL_DEBUG logs, mpirun, ib_write_bw/lat and "
                                            "siblings, iperf3, ethtool (-S, -i, --show-fec), "
                                            "ibv_devinfo/ibdev2netdev/rdma link/ibstat, rdma "
                                            "stat, lspci -vv, nvidia-smi; '-' reads stdin. "
                                            "A file may hold several outputs (a pasted "
                                            "terminal session): each is analysed."),
    output_format: OutputFormat = typer.Option(OutputFormat.table, "--format",
                                               help="table or json."),
    topology: str | None = typer.Option(
        None, "--topology",
        help="Judge collectives against this topology's expected bus bandwidth (single, "
             "direct, direct-dual, switch2-4, ring3). Default: the direct/switch threshold."),
) -> None:
    """Detect which tool produced each FILE, parse it, and print metrics, verdict, diagnosis.

    Exit 0 if every file passes, 1 if any is degraded, failed, incomplete or unparseable,
    2 on bad usage (a missing file, a FIFO or device instead of a file).
    """
    from sparkctl.checks import thresholds
    from sparkctl.checks.analyze import MAX_BYTES, analyze_bytes, analyze_file
    from sparkctl.errors import InputError

    if topology is not None and topology not in thresholds.TOPOLOGIES:
        raise InputError(f"unknown topology {topology!r} for --topology",
                         hint=f"use one of: {', '.join(thresholds.TOPOLOGIES)}")
    if sum(1 for path in files if str(path) == STDIN) > 1:
        raise InputError("'-' (stdin) given more than once", hint="pass '-' once")
    for path in files:  # fail on a missing file before printing anything
        if str(path) != STDIN and not path.exists():
            raise InputError(f"{path}: no such file", hint="check the path; nothing was analyzed")
    results = []
    for path in files:
        if str(path) == STDIN:
            data = sys.stdin.buffer.read(MAX_BYTES + 1)
            results.append(analyze_bytes(data, name="<stdin>", topology=topology))
        else:
            results.append(analyze_file(path, topology=topology))
    if output_format is OutputFormat.json:
        from sparkctl.outputs import versioned

        typer.echo(json.dumps(versioned("analyze", [r.to_dict() for r in results]), indent=2))
    else:
        _print_table(results)
    ok = all(r.verdict == "pass" for r in results)
    raise typer.Exit(int(ExitCode.OK if ok else ExitCode.FAILED))


def _print_table(results) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    table = Table(show_lines=True)
    table.add_column("File", overflow="fold")
    table.add_column("Tool")
    table.add_column("Verdict")
    table.add_column("Diagnosis", overflow="fold")
    for r in results:
        rows = [(r.file, r.tool, r.verdict, r.diagnosis)]
        if r.parts:
            rows = [(f"{r.file} [lines {p['lines'][0]}-{p['lines'][1]}]" if p["lines"]
                     else r.file, p["tool"], p["verdict"], p["diagnosis"]) for p in r.parts]
        for file, tool, verdict, diagnosis in rows:
            style = _STYLE.get(verdict, "")
            table.add_row(escape(file), escape(tool), f"[{style}]{verdict}[/{style}]",
                          escape(diagnosis))
    Console().print(table)
