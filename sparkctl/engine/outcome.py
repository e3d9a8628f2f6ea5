"""What a report means as a process exit code (sparkctl.exitcodes), for validate and health.

- 0: every judged check passed (`info` checks do not count against it);
- 1: a check failed or is degraded, or some checks were skipped (the run did not verify all
  it was asked to: a node stopped answering, the budget ran out);
- 2: nothing at all was judged: the selection had no check that can run on this target
  (e.g. `--only collective` on one node), or the budget was too small to start any. An empty
  run is not a pass; it is reported with the verdict `skipped` and exit 2, the code for a
  request that cannot be carried out as given, so neither cron nor CI mistakes it for a
  healthy cluster or for a broken one.
"""

from __future__ import annotations

from sparkctl.checks.result import Report, Verdict
from sparkctl.exitcodes import ExitCode


def exit_code(report: Report) -> ExitCode:
    if report.judged == 0:
        return ExitCode.USAGE
    return ExitCode.OK if report.verdict is Verdict.PASS else ExitCode.FAILED


def nothing_checked(report: Report, what: str) -> str | None:
    """The message for a run that judged nothing, or None."""
    if report.judged:
        return None
    reasons = sorted({c.diagnosis for c in report.checks if c.verdict is Verdict.SKIPPED})
    why = f": {reasons[0]}" if reasons else (
        ": no check of this selection applies to this target")
    return f"{what} checked nothing{why}"
