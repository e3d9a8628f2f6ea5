"""One run of checks against a target: the scheduler that keeps it inside its budget.

A run is a list of `Stage`s (a selection). Each stage runs in a worker thread while the
scheduler waits, at most until the budget's end minus what building the report needs; a
stage may itself run work on every node in parallel (`Session.parallel`), bounded the same
way. When the budget runs out, whatever the stage has not recorded yet is `skipped`, with
the reason and the nodes the run was still waiting on, and those nodes' `node.ssh` turns into
a failure: nothing waits on a frozen node, nothing unmeasured is called failed, and the run
ends within its budget however the nodes behave (the abandoned worker threads are daemons;
remote commands end on the node through their own `timeout`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sparkctl.checks.result import CheckResult, Report, Verdict
from sparkctl.engine import registry
from sparkctl.engine.budget import Budget

if TYPE_CHECKING:
    from sparkctl.platform import Platform
    from sparkctl.probe.ssh import ProbePool
    from sparkctl.targets import Node, Target

# Kept from every budget for judging, the report, the history write and the output.
FINISH_RESERVE_S = 0.5
Log = Callable[[str], None]


@dataclass(frozen=True)
class Skip:
    """A check that does not apply here (the platform lacks what it needs): shown with why,
    never turned into a pass, and not part of the verdict."""

    id: str
    subject: str
    reason: str

    def to_dict(self) -> dict[str, str]:
        return {"id": self.id, "subject": self.subject, "reason": self.reason}


@dataclass(frozen=True)
class Stage:
    name: str
    run: Callable[[Session], None]
    # The (check id, subject) pairs the stage reports, for the ones it could not reach.
    expected: Callable[[Session], list[tuple[str, str]]] = lambda _s: []
    min_s: float = 1.0  # a stage is not started with less budget left than this


class _Cut(Exception):
    """Raised in an abandoned stage thread that tries to record after the cut-off."""


@dataclass
class Session:
    target: Target
    budget: Budget
    pool: ProbePool | None = None
    log: Log = lambda _m: None
    checks: dict[tuple[str, str], CheckResult] = field(default_factory=dict)
    not_applicable: list[Skip] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)  # what stages hand later stages
    # seconds from its stage's start to each result (JUnit testcase times)
    timings: dict[tuple[str, str], float] = field(default_factory=dict)
    stage_started: float = field(default_factory=time.monotonic)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _open: bool = True

    @property
    def platform(self) -> Platform:
        return self.target.platform

    @property
    def nodes(self) -> tuple[Node, ...]:
        return self.target.nodes

    @property
    def probes(self) -> ProbePool:
        """The connections (the connect stage opens them before any other stage runs)."""
        if self.pool is None:
            raise RuntimeError("no connections: the connect stage runs first")
        return self.pool

    def record(self, *checks: CheckResult) -> None:
        """Add (or replace, by id and subject) results; ignored once the stage was cut off."""
        with self._lock:
            if not self._open:
                raise _Cut()
            for check in checks:
                if check.id not in registry.CHECKS:
                    raise KeyError(f"check id {check.id!r} is not in sparkctl.engine.registry")
                self.checks[(check.id, check.subject)] = check
                self.timings[(check.id, check.subject)] = time.monotonic() - self.stage_started

    def results(self, check_id: str | None = None) -> list[CheckResult]:
        with self._lock:
            return [c for c in self.checks.values() if check_id is None or c.id == check_id]

    def unreachable(self, node: str) -> str | None:
        """Why `node` cannot be used (never connected, or stopped answering), or None."""
        if self.pool is None:
            return "unreachable: no connection"
        if self.pool.reachable(node):
            return None
        return self.pool.failures.get(node, "unreachable")

    def parallel(self, jobs: list[Callable[[], Any]], reserve: float = 0.0) -> list[Any]:
        """Run jobs at once; each result, or None for a job still running when the budget
        (less `reserve`) ends."""
        if not jobs:
            return []
        out: list[Any] = [None] * len(jobs)
        errors: list[BaseException] = []

        def work(i: int, job: Callable[[], Any]) -> None:
            try:
                out[i] = job()
            except _Cut:
                pass
            except BaseException as exc:  # noqa: BLE001 - re-raised in the caller
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(i, job), daemon=True)
                   for i, job in enumerate(jobs)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(max(0.0, self.budget.left() - FINISH_RESERVE_S - reserve))
        if errors:
            raise errors[0]
        return out


def run_stages(session: Session, stages: list[Stage]) -> None:
    """Run the stages in order within the session's budget (see the module docstring)."""
    # paramiko logs a failed handshake with a traceback from its own thread; the failure is
    # already in node.ssh, and cron mail must stay one line.
    logging.getLogger("paramiko").addHandler(logging.NullHandler())
    logging.getLogger("paramiko").propagate = False
    budget = session.budget
    for index, stage in enumerate(stages):
        if budget.left() - FINISH_RESERVE_S < stage.min_s:
            for later in stages[index:]:
                _skip_missing(session, later, f"Not measured: the run's {budget.seconds:g} s "
                                              "budget was spent before this check could start.")
            return
        error: list[BaseException] = []
        session.stage_started = time.monotonic()
        session.log(f"{stage.name}: starting ({budget.left():.1f} s of the budget left)")

        def work(stage: Stage = stage, error: list[BaseException] = error) -> None:
            try:
                stage.run(session)
            except _Cut:
                pass
            except BaseException as exc:  # noqa: BLE001 - re-raised below
                error.append(exc)

        thread = threading.Thread(target=work, name=f"stage-{stage.name}", daemon=True)
        thread.start()
        thread.join(max(0.0, budget.left() - FINISH_RESERVE_S))
        if error:
            raise error[0]
        if thread.is_alive():
            waiting = session.pool.in_flight() if session.pool is not None else []
            with session._lock:
                session._open = False  # the abandoned thread's late results are dropped
            for host in waiting:
                session.probes.mark_lost(host, f"unreachable: {host} stopped answering (a command "
                                             f"was still running when the {budget.seconds:g} s "
                                             "budget ended)")
            why = f" (still waiting on {', '.join(waiting)})" if waiting else ""
            _skip_missing(session, stage, f"Not measured: the run's {budget.seconds:g} s "
                                          f"budget ran out while this was being measured{why}.")
            for later in stages[index + 1:]:
                _skip_missing(session, later, f"Not measured: the run's {budget.seconds:g} s "
                                              "budget was spent before this check could start.")
            return


def _skip_missing(session: Session, stage: Stage, reason: str) -> None:
    hint = ("Raise --budget, or fix what is slow: a node that stopped answering is named in "
            "its node.ssh result.")
    try:
        expected = stage.expected(session)
    except Exception:  # noqa: BLE001 - a stage that cannot even list its checks has none
        expected = []
    with session._lock:
        for check_id, subject in expected:
            if (check_id, subject) not in session.checks:
                session.checks[(check_id, subject)] = CheckResult(
                    check_id, registry.spec(check_id).kind, subject, Verdict.SKIPPED, None,
                    None, None, reason, hint)


def skipped(check_id: str, subject: str, reason: str, hint: str | None = None) -> CheckResult:
    """A check that could not be measured, with why; it carries no value."""
    return CheckResult(check_id, registry.spec(check_id).kind, subject, Verdict.SKIPPED, None,
                       None, None, reason, hint)


def finish(session: Session, started: datetime, extra: list[CheckResult] | None = None
           ) -> Report:
    """The report: node.ssh of a node that stopped answering mid-run becomes a failure."""
    with session._lock:
        session._open = False
        checks = dict(session.checks)
    if session.pool is not None:
        for (check_id, subject), check in list(checks.items()):
            if check_id == "node.ssh" and check.verdict is Verdict.PASS \
                    and not session.pool.reachable(subject):
                why = session.pool.failures.get(subject, "unreachable")
                checks[(check_id, subject)] = CheckResult(
                    "node.ssh", "node", subject, Verdict.FAIL, "stopped answering", "reachable",
                    None, f"{subject} answered at first, then {why.removeprefix('unreachable: ')}"
                    "; what it had not measured yet is skipped.",
                    "Check the node: a frozen sshd, a hung kernel (unified-memory OOM), or a "
                    "management link that went down.")
    from sparkctl.engine.outcome import with_outcome

    return with_outcome(Report.from_checks([*checks.values(), *(extra or [])], started=started,
                                           duration_s=time.monotonic() - session.budget.started,
                                           timings=dict(session.timings)))


def now() -> datetime:
    return datetime.now(UTC)
