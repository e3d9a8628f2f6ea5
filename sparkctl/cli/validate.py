"""`sparkctl validate`: links, rail bandwidth and collectives of a live cluster (thin wrapper)."""

from __future__ import annotations

import time
from enum import StrEnum
from pathlib import Path

import typer

from sparkctl.cli.common import (
    ClusterOpt,
    HostsOpt,
    InventoryOpt,
    JunitDegraded,
    JunitDegradedOpt,
    LabOpt,
    OutputOpt,
    TopologyOpt,
    WaitOpt,
    number,
)


class ValidateFormat(StrEnum):
    table = "table"
    json = "json"
    junit = "junit"
    html = "html"


class Phase(StrEnum):
    links = "links"
    rails = "rails"
    collective = "collective"


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
    output_format: ValidateFormat = typer.Option(
        ValidateFormat.table, "--format", "-f",
        help="table (a summary; every check with --verbose), json, junit, or html (one "
             "self-contained page; give -o report.html)."),
    output: OutputOpt = None,
    junit_degraded: JunitDegradedOpt = JunitDegraded.fail,
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print nothing when every check "
                               "passes, one line otherwise (the -o file is still written)."),
    budget: float = typer.Option(None, "--budget", callback=number(5.0, 86400.0),
                                 help="Seconds the whole run may take, dead or frozen nodes "
                                 "included; checks not reached in time are `skipped` "
                                 "(default: 90 with --quick, else 600)."),
    wait: WaitOpt = 0.0,
    tcp: bool = typer.Option(False, "--tcp", help="On dgx-spark, measure rails with iperf3 "
                             "(TCP) instead of ib_write_bw."),
    all_gather: bool = typer.Option(False, "--all-gather", help="Kept for old scripts: on "
                                    "dgx-spark all_gather_perf always runs (NVIDIA's verdict, "
                                    "16G or the 4G fallback), all_reduce beside it."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Every check in the table "
                                 "(not only the summary), and progress on stderr."),
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

    Exit 0 when every check passes, 1 when any is degraded, failed or skipped, 2 on bad
    usage or environment, when another run measures the same nodes (see --wait), or when
    nothing could be checked. Rail Gb/s and busbw are recorded in the health history (unless
    --no-history); one far below its trailing median is a `degraded` regression check.
    Checks ids: `sparkctl checks list`.
    """
    started = time.monotonic()
    from sparkctl.cli.common import budget_option, emit, finish_run, target_from_options
    from sparkctl.errors import InputError
    from sparkctl.health.store import default_db_path
    from sparkctl.report.terminal import terminal_for
    from sparkctl.validate.output import render, summary_line
    from sparkctl.validate.runner import PHASES, ValidateOptions, ValidateRequest, validate_target

    if quick and only:
        raise InputError("--quick and --only both pick phases", hint="use one of them")
    budget_s = budget_option(budget)
    phases = ("links",) if quick else tuple(p.value for p in only) if only else PHASES
    target = target_from_options(topology, hosts, cluster, inventory, lab)
    options = ValidateOptions(phases=phases, budget_s=budget_s or (90.0 if quick else 600.0),
                              rail_tcp=tcp, all_gather=all_gather, started=started)
    log = (lambda m: typer.echo(f"validate: {m}", err=True)) if verbose else None
    request = ValidateRequest(options, None if no_history else (db or default_db_path()),
                              regression_pct, wait)
    run = validate_target(target, request, log)
    report = run.report
    term = terminal_for(plain=output is not None or quiet)
    emit(render(report, output_format.value, target.description, color=term.color,
                not_applicable=run.not_applicable, verbose=verbose, width=term.width,
                target=target, junit_degraded=junit_degraded.value),
         output, quiet=quiet, summary=summary_line(report, target.description),
         healthy=report.verdict == "pass")
    finish_run(report, "validate", degraded_ok=junit_degraded is JunitDegraded.warn)
