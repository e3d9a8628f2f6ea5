"""The rail probe without a lab: unreachable ends and a spent budget are named, not hung on,
and nothing is measured for them. (Measured rails are exercised in tests/integration:
validate's and health --probe's.)"""

import time

from sparkctl.checks.result import Verdict
from sparkctl.engine.budget import Budget
from sparkctl.engine.session import Session
from sparkctl.probe.ssh import ProbePool
from sparkctl.validate import rails
from sparkctl.validate.rail_probe import MEASUREMENTS, RailOptions, probe_rails


def session_for(target, budget: Budget) -> Session:
    pool = ProbePool([])  # nothing connected
    pool.failures.update({n.name: "unreachable: connection refused" for n in target.nodes})
    return Session(target, budget, pool)


def test_unreachable_ends_skip_every_test_through_them(make_context):
    session = session_for(make_context("switch4", 4), Budget(30))
    started = time.monotonic()
    probe_rails(session, RailOptions(seconds=1))
    assert time.monotonic() - started < 1
    checks = session.results("rail.bandwidth")
    assert len(checks) == 8 and session.data[MEASUREMENTS] == []
    assert all(c.verdict is Verdict.SKIPPED and c.measured is None for c in checks)
    assert "connection refused" in checks[0].diagnosis


def test_spent_budget_is_reported_per_test(make_context):
    target = make_context("switch4", 4)
    session = Session(target, Budget.until(time.monotonic() - 1), ProbePool([]))
    session.pool.sessions.update({n.name: object() for n in target.nodes})  # "connected"
    probe_rails(session, RailOptions(seconds=1))
    checks = session.results("rail.bandwidth")
    assert len(checks) == 8
    assert all(c.verdict is Verdict.SKIPPED and "budget" in c.diagnosis for c in checks)


def test_budget_until_a_deadline():
    budget = Budget.until(time.monotonic() + 5)
    assert 4 < budget.left() <= 5 and not budget.exhausted()
    assert Budget.until(time.monotonic() + 0.5).exhausted()


def test_ports_are_drawn_per_run_inside_the_range(make_context):
    target = make_context("switch4", 4)
    bases = {rails.run_base_port(8) for _ in range(20)}
    assert len(bases) > 1  # two runs almost never share a port block
    low, high = rails.PORT_RANGE
    assert all(low <= b and b + 8 < high for b in bases)
    tests = rails.plan_rail_tests(target, 21000)
    assert [t.port for t in tests] == list(range(21000, 21008))
