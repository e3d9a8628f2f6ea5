"""`validate`: validate's selection of checks, run by the engine within one time budget.

Stages: connect (node.ssh), link facts and link checks (always: unreachable nodes are known
before any bandwidth test waits on them), then the phases asked for: reachability (links),
rail bandwidth (rails), the collective. `validate_target` adds what a run around it needs:
the target's measurement lock, and the history (rail and busbw figures recorded and judged
against their trend).
"""

from __future__ import annotations

import time
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from pathlib import Path

from sparkctl.checks.result import Report
from sparkctl.engine import registry
from sparkctl.engine.budget import Budget
from sparkctl.engine.lock import measurement_lock
from sparkctl.engine.nodes import ReachPlan, connect_stage, facts_stage, reach_stage
from sparkctl.engine.session import Log, Session, Skip, Stage, finish, now, run_stages
from sparkctl.validate.collective import CollectiveOptions, collective_stage
from sparkctl.validate.rail_probe import MEASUREMENTS, RailMeasurement, RailOptions, rail_stage

PHASES = ("links", "rails", "collective")


@dataclass
class ValidateOptions:
    phases: tuple[str, ...] = PHASES
    budget_s: float = 300.0
    connect_timeout_s: float = 5.0
    rail_seconds: float | None = None  # None: the platform's (2 s lab, 3 s hardware)
    rail_parallel: int | None = None  # None: the platform's (2 in the lab, unlimited on hw)
    rail_tcp: bool = False  # iperf3 instead of ib_write_bw on hardware
    all_gather: bool = False
    collective_timeout_s: float = 300.0
    retest_slow_rails: bool = True
    started: float | None = None  # time.monotonic() the budget counts from (None: now)
    rail_base_port: int | None = None  # None: drawn for the run


@dataclass
class ValidateRun:
    report: Report
    rail_gbps: list[RailMeasurement]  # every rail test that produced a figure
    not_applicable: list[Skip] = field(default_factory=list)
    judges_busbw: bool = True  # the platform's collective busbw is a judged figure


def stages(options: ValidateOptions) -> list[Stage]:
    chosen = [connect_stage(min(options.connect_timeout_s, options.budget_s / 3)),
              facts_stage(counters=True, judge="links" in options.phases)]
    if "links" in options.phases:
        chosen.append(reach_stage(ReachPlan()))
    if "rails" in options.phases:
        chosen.append(rail_stage(RailOptions(
            seconds=options.rail_seconds, parallel=options.rail_parallel, tcp=options.rail_tcp,
            retest=options.retest_slow_rails, base_port=options.rail_base_port)))
    if "collective" in options.phases:
        chosen.append(collective_stage(CollectiveOptions(
            all_gather=options.all_gather, timeout_s=options.collective_timeout_s)))
    return chosen


def validate_run(target, options: ValidateOptions | None = None,
                 log: Log | None = None) -> ValidateRun:
    """The checks, judged; nothing locked or recorded (validate_target does both)."""
    options = options or ValidateOptions()
    if "rails" in options.phases:
        target.platform.rail_expectation  # noqa: B018 - an unknown floor is an input error now
    started_at = now()
    session = Session(target, Budget(options.budget_s, started=options.started),
                      log=log or (lambda _m: None))
    session.not_applicable += [Skip(c.id, "cluster", why) for c, why in
                               registry.not_applicable(registry.VALIDATE,
                                                       target.platform.missing)]
    try:
        run_stages(session, stages(options))
    finally:
        if session.pool is not None:
            session.pool.close()
    report = finish(session, started_at)
    session.log(f"done: {report.verdict} ({len(report.checks)} checks)")
    return ValidateRun(report, list(session.data.get(MEASUREMENTS, [])), session.not_applicable,
                       target.platform.collective_judges_busbw)


def validate(target, options: ValidateOptions | None = None, log: Log | None = None) -> Report:
    return validate_run(target, options, log).report


@dataclass(frozen=True)
class ValidateRequest:
    options: ValidateOptions = field(default_factory=ValidateOptions)
    db: Path | None = None  # the history; None: neither recorded nor judged against it
    regression_pct: float = 20.0
    wait_s: float = 0.0  # how long to wait for another run's measurement lock


def validate_target(target, request: ValidateRequest, log: Log | None = None) -> ValidateRun:
    """A validate run as users run it: the target's measurement lock (validate loads the
    links), the checks, and (unless request.db is None) the history."""
    from sparkctl.health.regression import RegressionPolicy
    from sparkctl.health.store import HistoryStore, target_key
    from sparkctl.health.validate_runs import record_validate_run

    started = request.options.started or time.monotonic()
    with ExitStack() as stack:
        # Opened first: an unusable --db is a usage error before minutes of measuring.
        store = stack.enter_context(HistoryStore(request.db)) if request.db else None
        waited = stack.enter_context(measurement_lock(target.machines, request.wait_s)).waited_s
        options = replace(request.options, started=started + waited)
        run = validate_run(target, options, log)
        if store is not None:
            run.report = record_validate_run(run, store, target_key(target),
                                             RegressionPolicy(drop_pct=request.regression_pct))
        return run
