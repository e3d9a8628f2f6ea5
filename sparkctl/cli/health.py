"""`sparkctl health`: quick bounded checks for cron, history, and the timer that runs them.

Thin: options in, sparkctl.health out. Exit 0 healthy, 1 degraded/failed, 2 usage or
environment (including "another run for this target is still going").
"""

from __future__ import annotations

import time
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from sparkctl.cli.bootstrap import AskBecomeOpt, BecomeStdinOpt, become_password
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
    file_path,
    number,
    target_from_options,
    whole,
)


class HealthFormat(StrEnum):
    table = "table"
    json = "json"
    prometheus = "prometheus"
    junit = "junit"


class HistoryFormat(StrEnum):
    table = "table"
    json = "json"


class Where(StrEnum):
    controller = "controller"
    node = "node"


DbOpt = Annotated[Path | None, typer.Option(
    "--db", help="History database (SQLite). Default: /var/lib/sparkctl/health.db as root, "
                 "else ~/.local/state/sparkctl/health.db; env SPARKCTL_HEALTH_DB.")]

app = typer.Typer(help="Quick bounded health checks for cron, their history and a timer.",
                  invoke_without_command=True, no_args_is_help=False)


@app.callback()
def health(
    ctx: typer.Context,
    topology: TopologyOpt = None, hosts: HostsOpt = None, cluster: ClusterOpt = None,
    inventory: InventoryOpt = None, lab: LabOpt = None,
    probe: Annotated[bool, typer.Option(
        "--probe", help="Add a short bounded bandwidth probe per rail (1 s per rail test, "
                        "validate's rail measurement; records rail_bandwidth_gbps for "
                        "regression detection). Takes the cluster's measurement lock.")] = False,
    probe_every: Annotated[int | None, typer.Option(
        "--probe-every", help="Probe (as --probe) on every Nth run of this target: when the "
                              "N-1 runs since its last rail bandwidth figure did not. For "
                              "timers (`health install --probe-every N`).",
        callback=whole(1, 10000))] = None,
    cluster_label: Annotated[str | None, typer.Option(
        "--cluster-id", hidden=True, help="The `cluster` label of the Prometheus series "
                                          "(set by `health install`).")] = None,
    output_format: Annotated[HealthFormat, typer.Option(
        "--format", "-f", help="table, json, prometheus (node_exporter textfile) or junit."
    )] = HealthFormat.table,
    output: OutputOpt = None,
    junit_degraded: JunitDegradedOpt = JunitDegraded.fail,
    db: DbOpt = None,
    no_history: Annotated[bool, typer.Option(
        "--no-history", help="Neither read nor write the history database.")] = False,
    budget: Annotated[float | None, typer.Option(
        "--budget", help="Seconds the whole run may take, dead or frozen nodes included "
                         "(default 20, 40 with --probe); what is not measured in time is "
                         "`skipped`.", callback=number(3.0, 86400.0))] = None,
    wait: WaitOpt = 0.0,
    regression_pct: Annotated[float, typer.Option(
        "--regression-pct", help="Degraded when a bandwidth falls this many percent below "
                                 "its trailing median.", callback=number(1.0, 99.0))] = 20.0,
    retention_days: Annotated[float, typer.Option(
        "--retention-days", help="Drop history older than this (0 keeps everything).",
        callback=number(0.0, 36500.0))] = 90.0,
    lock_file: Annotated[Path | None, typer.Option(
        "--lock-file", help="Lock against overlapping runs. Default: next to the database, "
                            "one per target.", callback=file_path)] = None,
    quiet: Annotated[bool, typer.Option(
        "--quiet", "-q", help="Cron mode: print nothing when healthy, one line otherwise "
                              "(the -o file is still written, in every format).")] = False,
    verbose: Annotated[bool, typer.Option(
        "--verbose", "-v", help="Every check in the table (not only the summary), and "
                                "progress on stderr.")] = False,
) -> None:
    """Check every node quickly (no bandwidth load unless --probe) within --budget seconds.

    Exit 0 healthy, 1 degraded, failed or skipped, 2 usage/environment error, another run
    for the same target still in progress (see --wait), or nothing checked.
    """
    if ctx.invoked_subcommand is not None:
        return
    started = time.monotonic()
    from sparkctl.cli.common import budget_option, emit, finish_run
    from sparkctl.health import exporters
    from sparkctl.health.lock import lock_path_for
    from sparkctl.health.naming import checked_cluster_id
    from sparkctl.health.regression import RegressionPolicy
    from sparkctl.health.run import (
        DEFAULT_BUDGET_S,
        DEFAULT_PROBE_BUDGET_S,
        HealthOptions,
        HealthRequest,
        health_target,
        probe_due,
    )
    from sparkctl.health.store import default_db_path, target_key
    from sparkctl.report.terminal import terminal_for

    budget = budget_option(budget)
    target = target_from_options(topology, hosts, cluster, inventory, lab)
    db_path = db or default_db_path()
    probe = probe or probe_due(None if no_history else db_path, target_key(target), probe_every)
    if budget is None:
        budget = DEFAULT_PROBE_BUDGET_S if probe else DEFAULT_BUDGET_S
    options = HealthOptions(budget_s=budget, probe=probe, started=started,
                            regression=RegressionPolicy(drop_pct=regression_pct),
                            cluster_id=cluster_label and checked_cluster_id(cluster_label))
    request = HealthRequest(options, None if no_history else db_path, retention_days,
                            lock_file or lock_path_for(db_path, target_key(target)), wait)
    log = (lambda m: typer.echo(f"health: {m}", err=True)) if verbose else None
    run = health_target(target, request, log)
    term = terminal_for(plain=output is not None or quiet)
    emit(exporters.render(run, output_format.value, color=term.color, verbose=verbose,
                          width=term.width, junit_degraded=junit_degraded.value),
         output, quiet=quiet,
         summary=exporters.summary_line(run), healthy=run.report.verdict == "pass")
    finish_run(run.report, "health", degraded_ok=junit_degraded is JunitDegraded.warn)


@app.command("history")
def history(
    db: DbOpt = None,
    since: Annotated[str | None, typer.Option(
        "--since", help="Only this recent: 30m, 12h, 7d, 2w.")] = None,
    metric: Annotated[list[str] | None, typer.Option(
        "--metric", help="Show this metric's values (repeatable), e.g. "
                               "rail_bandwidth_gbps, collective_busbw_gbps, rail_speed_mbps.")
    ] = None,
    plot: Annotated[Path | None, typer.Option(
        "--plot", help="Draw a trend plot (PNG/SVG) of the metrics (default: bandwidth and "
                       "busbw) with thresholds; needs pip install 'dgx-sparkctl[plot]'.")] = None,
    output_format: Annotated[HistoryFormat, typer.Option(
        "--format", "-f", help="table or json.")] = HistoryFormat.table,
    target: Annotated[str | None, typer.Option(
        "--target", help="Only this cluster's runs: its target as `health history` lists it, "
                         "or a part only it has (a lab name, an inventory file name).")] = None,
) -> None:
    """Print stored health runs, or the values of --metric over time; optionally plot them."""
    from sparkctl.errors import InputError
    from sparkctl.health import history as hist
    from sparkctl.health.store import HistoryStore, default_db_path

    db_path = db or default_db_path()
    if not db_path.exists():
        raise InputError(f"no health history at {db_path}",
                         hint="run `sparkctl health ...` first, or give --db PATH")
    with HistoryStore(db_path, retention_days=0) as store:
        query = hist.HistoryQuery(since_ts=hist.parse_since(since), metrics=list(metric or []),
                                  target=hist.resolve_target(store, target))
        if plot is not None:
            from sparkctl.checks import thresholds
            from sparkctl.health.plot import DEFAULT_PLOT_METRICS, _matplotlib, plot_trend

            _matplotlib()  # fail with the install hint before reading anything
            plot_query = hist.HistoryQuery(query.since_ts,
                                           query.metrics or list(DEFAULT_PLOT_METRICS),
                                           query.target)
            points = store.points(since_ts=plot_query.since_ts, metrics=plot_query.metrics,
                                  target=plot_query.target)
            plot_trend(points, plot, thresholds={
                "rail_bandwidth_gbps": thresholds.RAIL_BANDWIDTH.minimum,
                "collective_busbw_gbps": thresholds.COLLECTIVE_DIRECT_SWITCH.minimum})
        if output_format is HistoryFormat.json:
            from sparkctl.cli.common import print_json

            print_json(hist.history_dict(store, query), kind="health-history")
        else:
            hist.print_history(store, query)
            if plot is not None:
                typer.echo(f"plot written to {plot}")


@app.command("install")
def install(
    topology: TopologyOpt = None, hosts: HostsOpt = None, cluster: ClusterOpt = None,
    inventory: InventoryOpt = None, lab: LabOpt = None,
    every: Annotated[str, typer.Option(
        "--every", help="How often: 5m, 15m, 1h (minutes must divide 60, hours 24).")] = "15m",
    on: Annotated[Where, typer.Option(
        "--on", help="controller: this machine checks the cluster; node: every node runs "
                     "the check (needs sparkctl on the nodes).")] = Where.controller,
    textfile_dir: Annotated[Path, typer.Option(
        "--textfile-dir", help="node_exporter's textfile collector directory (default: the "
                               "one Debian/Ubuntu's prometheus-node-exporter reads); the run "
                               "writes sparkctl-<cluster id>.prom there.")
    ] = Path("/var/lib/prometheus/node-exporter"),
    probe_every: Annotated[int | None, typer.Option(
        "--probe-every", help="Make every Nth scheduled run a --probe run, so the bandwidth "
                              "series regression detection watches is recorded from the "
                              "timer (e.g. --every 15m --probe-every 4: hourly).",
        callback=whole(1, 10000))] = None,
    sparkctl_bin: Annotated[str | None, typer.Option(
        "--sparkctl-bin", help="sparkctl on the machine that runs the timer. Default: this "
                               "one's path (--on controller) or /usr/local/bin/sparkctl.")
    ] = None,
    skip_binary_check: Annotated[bool, typer.Option(
        "--skip-binary-check", help="Schedule even where sparkctl is not installed yet (runs "
                                    "fail until it is).")] = False,
    check: Annotated[bool, typer.Option(
        "--check", help="Show what would change (ansible --check --diff); change nothing.")
    ] = False,
    ask_become_pass: AskBecomeOpt = False,
    become_password_stdin: BecomeStdinOpt = False,
) -> None:
    """Install a systemd timer (or a cron entry where there is no systemd) running health."""
    from sparkctl.health import timer

    target = target_from_options(topology, hosts, cluster, inventory, lab)
    result = timer.install(target, every=every, on=str(on), textfile_dir=textfile_dir,
                           sparkctl_bin=sparkctl_bin, require_binary=not skip_binary_check,
                           check=check, probe_every=probe_every,
                           become_password=become_password(ask_become_pass,
                                                           become_password_stdin))
    typer.echo(result.summary())


@app.command("uninstall")
def uninstall(
    topology: TopologyOpt = None, hosts: HostsOpt = None, cluster: ClusterOpt = None,
    inventory: InventoryOpt = None, lab: LabOpt = None,
    on: Annotated[Where, typer.Option("--on", help="Where it was installed.")
                  ] = Where.controller,
    check: Annotated[bool, typer.Option(
        "--check", help="Show what would change (ansible --check --diff); change nothing.")
    ] = False,
    ask_become_pass: AskBecomeOpt = False,
    become_password_stdin: BecomeStdinOpt = False,
) -> None:
    """Remove the health timer/cron entry that `health install` put there."""
    from sparkctl.health import timer

    target = target_from_options(topology, hosts, cluster, inventory, lab)
    result = timer.uninstall(target, on=str(on), check=check,
                             become_password=become_password(ask_become_pass,
                                                             become_password_stdin))
    typer.echo(result.summary())
