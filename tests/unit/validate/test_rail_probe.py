"""The rail probe without a lab: unreachable ends and a spent budget are named, not hung on.
(Measured rails are exercised in tests/integration: validate's and health --probe's.)"""

import time

from sparkctl.checks.result import Verdict
from sparkctl.probe.ssh import ProbePool
from sparkctl.validate.budget import Budget
from sparkctl.validate.rail_probe import probe_rails


def test_unreachable_ends_fail_every_test_through_them(make_context):
    ctx = make_context("switch4", 4)
    pool = ProbePool([])  # nothing connected
    pool.failures.update({n.name: "unreachable: connection refused" for n in ctx.nodes})
    started = time.monotonic()
    probe = probe_rails(pool, ctx, Budget(30), seconds=1)
    assert time.monotonic() - started < 1
    assert len(probe.checks) == 8 and probe.measurements == []
    assert all(c.verdict is Verdict.FAIL and c.measured == "unreachable" for c in probe.checks)
    assert "connection refused" in probe.checks[0].diagnosis


def test_spent_budget_is_reported_per_test(make_context):
    ctx = make_context("switch4", 4)
    probe = probe_rails(ProbePool([]), ctx, Budget.until(time.monotonic() - 1), seconds=1)
    assert len(probe.checks) == 8
    assert all(c.measured == "not run" and "budget" in c.diagnosis for c in probe.checks)


def test_budget_until_a_deadline():
    budget = Budget.until(time.monotonic() + 5)
    assert 4 < budget.left() <= 5 and not budget.exhausted()
    assert Budget.until(time.monotonic() + 0.5).exhausted()
