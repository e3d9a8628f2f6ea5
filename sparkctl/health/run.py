"""One quick health run: health's selection of checks, run by the engine within one budget.

Stages: connect to every node (node.ssh), then every node answers three commands at once
(link facts, a quick reach probe, the health script) and each check is judged; with --probe,
validate's rail probe measures every rail for PROBE_SECONDS per test between the nodes that
answered. Regressions are judged against the history, which `health_target` then records.
A dead or frozen node costs at most the budget (sparkctl.engine.session).
"""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

from sparkctl.checks.result import Report
from sparkctl.engine import registry
from sparkctl.engine.budget import Budget
from sparkctl.engine.lock import measurement_lock
from sparkctl.engine.nodes import connect_stage
from sparkctl.engine.session import Session, Skip, Stage, finish, now, run_stages
from sparkctl.health.naming import cluster_id
from sparkctl.health.regression import RegressionPolicy, regression_checks
from sparkctl.health.samples import Sample, rail_bandwidth_samples
from sparkctl.health.stages import SAMPLES, health_stage
from sparkctl.health.store import HistoryStore, target_key
from sparkctl.validate.rail_probe import MEASUREMENTS, RailOptions, rail_stage

__all__ = ["HealthOptions", "HealthRun", "health_target", "run_health", "target_key"]

DEFAULT_BUDGET_S = 20.0
DEFAULT_PROBE_BUDGET_S = 40.0  # the quick checks plus a rail probe that re-measures slow rails
PROBE_SECONDS = 1.0  # per rail test: long enough for a steady TCP/RDMA rate, short for cron
CONNECT_TIMEOUT_S = 3.0  # paramiko may spend this on each of connect, banner and auth


@dataclass(frozen=True)
class HealthOptions:
    budget_s: float = DEFAULT_BUDGET_S
    probe: bool = False
    regression: RegressionPolicy = RegressionPolicy()
    started: float | None = None  # time.monotonic() the budget counts from (None: now)
    rail_base_port: int | None = None
    cluster_id: str | None = None  # the exported `cluster` label (None: naming.cluster_id)


@dataclass
class HealthRun:
    report: Report
    samples: list[Sample]
    skipped: list[Skip]  # checks that do not apply on this platform, with why
    target: str
    run_id: int | None = None
    cluster: str = ""  # the `cluster` label of the exported series (sparkctl.health.naming)
    platform: str = ""
    rail_floor_gbps: float | None = None  # the platform's rail pass threshold, where known

    def to_dict(self) -> dict:
        doc = self.report.to_dict()
        doc["skipped"] = [s.to_dict() for s in self.skipped]
        doc["target"] = self.target
        return doc


def stages(options: HealthOptions, store: HistoryStore | None, key: str) -> list[Stage]:
    from sparkctl.health.counters import METRIC

    previous = store.latest(METRIC, target=key) if store is not None else {}
    chosen = [connect_stage(CONNECT_TIMEOUT_S), health_stage(previous)]
    if options.probe:
        chosen.append(rail_stage(RailOptions(seconds=PROBE_SECONDS,
                                             base_port=options.rail_base_port)))
    return chosen


def run_health(target, options: HealthOptions, store: HistoryStore | None,
               log=None) -> HealthRun:
    """The checks, judged; nothing recorded (health_target records). `log`: progress lines."""
    started_at = now()
    session = Session(target, Budget(options.budget_s, started=options.started),
                      log=log or (lambda _m: None))
    key = target_key(target)
    selection = registry.HEALTH
    try:
        session.not_applicable += [Skip(c.id, "cluster", why) for c, why in
                                   registry.not_applicable(selection, target.platform.missing)]
        run_stages(session, stages(options, store, key))
    finally:
        if session.pool is not None:
            session.pool.close()
    samples: list[Sample] = list(session.data.get(SAMPLES, []))
    samples += rail_bandwidth_samples(session.data.get(MEASUREMENTS, []))
    report = finish(session, started_at)
    samples = _node_up_samples(session, report) + samples
    if store is not None:
        report = report.with_checks(regression_checks(samples, store, key, options.regression))
    return HealthRun(report, samples, session.not_applicable, key,
                     cluster=options.cluster_id or cluster_id(target),
                     platform=target.platform.name, rail_floor_gbps=_rail_floor(target))


def probe_due(db: Path | None, key: str, every: int | None) -> bool:
    """`--probe-every N`: probe when the N-1 runs since the target's newest rail
    bandwidth sample (from a probe or a validate) did not, or when it has none yet."""
    if not every:
        return False
    if every == 1 or db is None or not db.exists():
        return True
    from sparkctl.health.samples import RAIL_BANDWIDTH

    with HistoryStore(db, retention_days=0) as store:
        since = store.runs_since_sample(RAIL_BANDWIDTH, target=key)
    return since is None or since >= every - 1


def _rail_floor(target) -> float | None:
    floor = target.platform.rail_floor
    return float(floor.minimum) if floor is not None else None


def _node_up_samples(session: Session, report: Report) -> list[Sample]:
    down = {c.subject for c in report.checks if c.id == "node.ssh" and c.verdict != "pass"}
    return [Sample("node_up", float(n.name not in down), {"node": n.name})
            for n in session.nodes]


@dataclass(frozen=True)
class HealthRequest:
    options: HealthOptions = field(default_factory=HealthOptions)
    db: Path | None = None  # None: no history read or written
    retention_days: float = 90.0
    lock_file: Path | None = None  # None: next to the database, one per target
    wait_s: float = 0.0  # how long to wait for another run's lock


def health_target(target, request: HealthRequest, log=None) -> HealthRun:
    """A health run as cron runs it: the target's health lock (and, with --probe, its
    measurement lock), the checks, and the run recorded in the history."""
    import time

    from sparkctl.health.lock import RunLock, lock_path_for
    from sparkctl.health.store import default_db_path

    started = request.options.started or time.monotonic()
    db = request.db
    lock = request.lock_file or lock_path_for(db or default_db_path(), target_key(target))
    with ExitStack() as stack:
        held = stack.enter_context(RunLock(lock, request.wait_s))
        waited = held.waited_s
        if request.options.probe:
            waited += stack.enter_context(measurement_lock(target.machines,
                                                           request.wait_s)).waited_s
        options = _restarted(request.options, started + waited)
        if db is None:
            return run_health(target, options, None, log)
        with HistoryStore(db, retention_days=request.retention_days) as store:
            run = run_health(target, options, store, log)
            run.run_id = store.record_run(run.report, run.samples, target=run.target)
            return run


def _restarted(options: HealthOptions, started: float) -> HealthOptions:
    from dataclasses import replace

    return replace(options, started=started)
