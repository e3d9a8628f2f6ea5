"""`sparkctl validate`: links, rail bandwidth and collectives of a live cluster (thin wrapper)."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path

import typer

from sparkctl.cli.common import (
    ClusterOpt,
    HostsOpt,
    InventoryOpt,
    LabOpt,
    TopologyOpt,
    file_path,
    number,
)
from sparkctl.exitcodes import ExitCode


class ValidateFormat(StrEnum):
    table = "table"
    json = "json"
    junit = "junit"


class Phase(StrEnum):
    links = "links"
    rails = "rails"
    collective = "collective"


_STYLE = {"pass": "green", "degraded": "yellow", "fail": "red"}


def validate(
    topology: TopologyOpt = None,
    hosts: HostsOpt = None,
    cluster: ClusterOpt = None,
    inventory: InventoryOpt = None,
    lab: LabOpt = None,
    quick: bool = typer.Option(False, "--quick",
                               help="Links only: no bandwidth or collective load."),
    only: list[Phase] = typer.Option(None, "--only", help="Run only these phases "
                                     "(repeatable): links, rails, collective."),
    output_format: ValidateFormat = typer.Option(ValidateFormat.table, "--format",
                                                 help="table, json or junit."),
    output: Path | None = typer.Option(None, "-o", "--output", callback=file_path,
                                       help="Write the report here (atomically) instead of "
                                            "stdout."),
    budget: float = typer.Option(None, "--budget", callback=number(5.0, 86400.0),
                                 help="Seconds the whole run may "
                                 "take (default: 90 with --quick, else 600)."),
    tcp: bool = typer.Option(False, "--tcp", help="On dgx-spark, measure rails with iperf3 "
                             "(TCP) instead of ib_write_bw."),
    all_gather: bool = typer.Option(False, "--all-gather", help="Also run all_gather_perf "
                                    "(dgx-spark)."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Progress on stderr."),
    db: Path | None = typer.Option(None, "--db", help="History database shared with `sparkctl "
                                   "health` (default as there: /var/lib/sparkctl/health.db as "
                                   "root, else ~/.local/state/sparkctl/health.db; env "
                                   "SPARKCTL_HEALTH_DB)."),
    no_history: bool = typer.Option(False, "--no-history", help="Neither record this run's "
                                    "rail and busbw figures nor judge them against earlier "
                                    "runs."),
    regression_pct: float = typer.Option(20.0, "--regression-pct", callback=number(1.0, 99.0),
                                         help="Degraded when a bandwidth falls this many "
                                              "percent below its trailing median."),
) -> None:
    """Measure links, rails and collectives over SSH and judge them.

    Exit 0 when every check passes, 1 when any is degraded or failed, 2 on bad usage or
    environment. Rail Gb/s and busbw are recorded in the health history (unless
    --no-history); one far below its trailing median is a `degraded` regression check.
    """
    from sparkctl.cli.common import target_from_options
    from sparkctl.errors import InputError
    from sparkctl.validate.context import context_from_target
    from sparkctl.validate.runner import PHASES, ValidateOptions, validate_run

    if quick and only:
        raise InputError("--quick and --only both pick phases", hint="use one of them")
    phases = ("links",) if quick else tuple(p.value for p in only) if only else PHASES
    target = target_from_options(topology, hosts, cluster, inventory, lab)
    ctx = context_from_target(target)
    options = ValidateOptions(phases=phases, budget_s=budget or (90.0 if quick else 600.0),
                              rail_tcp=tcp, all_gather=all_gather)
    log = (lambda m: typer.echo(f"validate: {m}", err=True)) if verbose else None
    if no_history:
        report = validate_run(ctx, options, log=log).report
    else:
        from sparkctl.health.regression import RegressionPolicy
        from sparkctl.health.store import HistoryStore, default_db_path, target_key
        from sparkctl.health.validate_runs import record_validate_run

        # Opened first: an unusable --db is a usage error before minutes of measuring.
        with HistoryStore(db or default_db_path()) as store:
            report = record_validate_run(validate_run(ctx, options, log=log), store,
                                         target_key(target),
                                         RegressionPolicy(drop_pct=regression_pct))
    _emit(report, output_format, output, ctx.description)
    raise typer.Exit(int(ExitCode.OK if report.verdict == "pass" else ExitCode.FAILED))


def _emit(report, output_format: ValidateFormat, output: Path | None, title: str) -> None:
    from sparkctl.cli.common import print_json

    if output_format is ValidateFormat.json:
        print_json(report.to_dict(), output)
        return
    if output_format is ValidateFormat.junit:
        text = report.to_junit_xml("sparkctl.validate")
    else:
        text = _table_text(report, title, output is None and sys.stdout.isatty())
    if output is None:
        typer.echo(text, nl=False)
    else:
        from sparkctl.fileio import atomic_write

        atomic_write(output, text)


def _table_text(report, title: str, color: bool) -> str:
    import io

    from rich.console import Console
    from rich.table import Table

    from sparkctl.validate.table import format_value, rows

    table = Table(title=f"sparkctl validate: {title}", show_lines=False)
    for name in ("Node", "Rail", "Check", "Target", "Verdict", "Measured", "Expected",
                 "Diagnosis"):
        table.add_column(name, overflow="fold")
    previous = None
    for row in rows(report.checks):
        if previous is not None and row.node != previous:
            table.add_section()
        previous = row.node
        c = row.check
        style = _STYLE.get(str(c.verdict), "")
        diagnosis = c.diagnosis if str(c.verdict) == "pass" else (
            c.diagnosis + (f" Fix: {c.hint}" if c.hint else ""))
        table.add_row(row.node, row.rail, c.id, row.target,
                      f"[{style}]{c.verdict}[/{style}]", format_value(c.measured, c.unit),
                      format_value(c.expected, c.unit), diagnosis)
    buffer = io.StringIO()
    # Colour only on a terminal; a file (-o) or a pipe gets plain text.
    console = Console(file=buffer, width=200 if not color else None, force_terminal=color,
                      no_color=not color, soft_wrap=False)
    console.print(table)
    counts = {v: sum(1 for c in report.checks if str(c.verdict) == v)
              for v in ("pass", "degraded", "fail")}
    console.print(f"verdict: {report.verdict}  ({counts['pass']} pass, "
                  f"{counts['degraded']} degraded, {counts['fail']} fail) in "
                  f"{report.duration_s:.1f} s", highlight=False)
    return buffer.getvalue()
