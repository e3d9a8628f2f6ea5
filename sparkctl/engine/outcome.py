"""What a report means as a process exit code (sparkctl.exitcodes), for validate and health.

- 0: every judged check passed (`info` checks do not count against it);
- 1: a check failed or is degraded (degraded exits 0 with --junit-degraded warn), or some
  checks were skipped (the run did not verify all it was asked to: a node stopped
  answering, the budget ran out);
- 2: nothing of what was asked was judged (only the preconditions, `node.ssh` and
  `link.facts`, or nothing at all): the selection has no check that can run on this target
  (e.g. `--only collective` on one node), or the budget was too small to start any. Such a
  run is not a pass; it is reported with the verdict `skipped` and exit 2, the code for a
  request that cannot be carried out as given, so neither cron nor CI mistakes it for a
  healthy cluster or for a broken one. A failed precondition (an unreachable node) is a
  failure (exit 1), not an empty run.
"""

from __future__ import annotations

from dataclasses import replace

from sparkctl.checks.result import Report, Verdict
from sparkctl.engine.registry import PRECONDITIONS
from sparkctl.exitcodes import ExitCode


def judged(report: Report) -> int:
    """How many checks beyond the preconditions were judged."""
    return sum(1 for c in report.checks if c.verdict.judged and c.id not in PRECONDITIONS)


def empty(report: Report) -> bool:
    """Nothing of what was asked was judged, and nothing failed."""
    return judged(report) == 0 and report.verdict not in (Verdict.FAIL, Verdict.DEGRADED)


def with_outcome(report: Report) -> Report:
    """The report with the verdict `skipped` when it verified nothing (see the docstring)."""
    return replace(report, verdict=Verdict.SKIPPED) if empty(report) else report


def exit_code(report: Report, *, degraded_ok: bool = False) -> ExitCode:
    """`degraded_ok`: the user asked degraded checks only to warn (--junit-degraded warn), so
    a run whose worst verdict is degraded exits 0; failed or skipped checks still exit 1."""
    if empty(report):
        return ExitCode.USAGE
    if report.verdict is Verdict.PASS:
        return ExitCode.OK
    if degraded_ok and report.verdict is Verdict.DEGRADED and \
            not any(c.verdict is Verdict.SKIPPED for c in report.checks):
        return ExitCode.OK
    return ExitCode.FAILED


def nothing_checked(report: Report, what: str) -> str | None:
    """The message for a run that judged nothing, or None."""
    if not empty(report):
        return None
    reasons = sorted({c.diagnosis for c in report.checks if c.verdict is Verdict.SKIPPED})
    why = f": {reasons[0]}" if reasons else (
        ": no check of this selection applies to this target")
    return f"{what} checked nothing{why}"
