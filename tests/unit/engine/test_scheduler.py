"""The scheduler keeps a run inside its budget whatever a stage does, and never calls an
unmeasured check failed: what a cut-off stage did not record is `skipped`, with why."""

from __future__ import annotations

import threading
import time

import pytest

from sparkctl.checks.result import CheckResult, Verdict
from sparkctl.engine import registry
from sparkctl.engine.budget import Budget, checked_budget
from sparkctl.engine.session import FINISH_RESERVE_S, Session, Stage, finish, now, run_stages
from sparkctl.errors import InputError
from sparkctl.probe.ssh import ProbePool
from sparkctl.targets import resolve_target

TARGET = resolve_target(topology="switch2", hosts="spark-1,spark-2")


def check(cid: str, subject: str, verdict: Verdict = Verdict.PASS) -> CheckResult:
    return CheckResult(cid, registry.spec(cid).kind, subject, verdict)


def test_a_stage_that_hangs_is_cut_at_the_budget_and_its_checks_skipped():
    release = threading.Event()

    def hangs(session: Session) -> None:
        session.record(check("link.mtu", "spark-1/enp1s0f1np1"))
        release.wait(30)  # a node that froze mid-command
        session.record(check("link.mtu", "spark-2/enp1s0f1np1"))  # too late: dropped

    expected = lambda _s: [("link.mtu", "spark-1/enp1s0f1np1"),  # noqa: E731
                           ("link.mtu", "spark-2/enp1s0f1np1")]
    after = Stage("after", lambda s: s.record(check("node.ssh", "spark-1")),
                  lambda _s: [("node.ssh", "spark-1")])
    session = Session(TARGET, Budget(2.0))
    started = time.monotonic()
    run_stages(session, [Stage("hangs", hangs, expected), after])
    report = finish(session, now())
    elapsed = time.monotonic() - started
    release.set()
    assert elapsed < 2.0 - FINISH_RESERVE_S + 0.3
    by = {(c.id, c.subject): c for c in report.checks}
    assert by[("link.mtu", "spark-1/enp1s0f1np1")].verdict is Verdict.PASS  # kept
    cut = by[("link.mtu", "spark-2/enp1s0f1np1")]
    assert cut.verdict is Verdict.SKIPPED and cut.measured is None
    assert "budget ran out while this was being measured" in cut.diagnosis
    later = by[("node.ssh", "spark-1")]
    assert later.verdict is Verdict.SKIPPED and "before this check could start" in later.diagnosis
    assert report.verdict is Verdict.SKIPPED  # not everything was verified: not a pass
    time.sleep(0.1)
    assert ("link.mtu", "spark-2/enp1s0f1np1") in by and len(report.checks) == 3


def test_nodes_still_busy_at_the_cut_are_named_and_their_ssh_check_fails():
    class Busy(ProbePool):
        def in_flight(self):
            return ["spark-2"]

    pool = Busy([])
    pool.sessions.update({"spark-1": object(), "spark-2": object()})
    session = Session(TARGET, Budget(2.5), pool)
    session.record(check("node.ssh", "spark-1"), check("node.ssh", "spark-2"))
    stage = Stage("rails", lambda _s: time.sleep(10),
                  lambda _s: [("rail.bandwidth", "spark-1/x -> spark-2/y")])
    run_stages(session, [stage])
    report = finish(session, now())
    by = {(c.id, c.subject): c for c in report.checks}
    assert "still waiting on spark-2" in by[("rail.bandwidth", "spark-1/x -> spark-2/y")].diagnosis
    assert by[("node.ssh", "spark-2")].verdict is Verdict.FAIL
    assert "stopped answering" in by[("node.ssh", "spark-2")].diagnosis
    assert by[("node.ssh", "spark-1")].verdict is Verdict.PASS
    assert report.verdict is Verdict.FAIL


def test_parallel_jobs_still_running_at_the_budget_are_none():
    session = Session(TARGET, Budget(1.0))
    started = time.monotonic()
    out = session.parallel([lambda: 1, lambda: time.sleep(5)])
    assert out == [1, None] and time.monotonic() - started < 1.0


def test_stage_errors_are_raised_not_swallowed():
    def broken(_s):
        raise RuntimeError("a bug")

    with pytest.raises(RuntimeError, match="a bug"):
        run_stages(Session(TARGET, Budget(5)), [Stage("broken", broken)])


def test_only_registered_check_ids_can_be_reported():
    session = Session(TARGET, Budget(5))
    with pytest.raises(KeyError, match="not in sparkctl.engine.registry"):
        session.record(CheckResult("link.made_up", "link", "x", Verdict.PASS))


@pytest.mark.parametrize("value", [float("nan"), float("inf"), 0, -1, "abc", None])
def test_budget_must_be_finite_and_positive(value):
    with pytest.raises(InputError, match="--budget"):
        checked_budget(value)
    assert checked_budget(0.5) == 0.5


def test_platform_needs_make_checks_not_applicable_with_why():
    lab = {"rdma": "lab nodes have no RDMA devices", "gpu": "lab nodes have no GPU"}
    health = {c.id: why for c, why in registry.not_applicable(registry.HEALTH, lab)}
    assert health["gpu.state"] == "lab nodes have no GPU"
    assert health["rdma.counter_delta"] == "lab nodes have no RDMA devices"
    assert "link.mtu" not in health
    assert registry.not_applicable(registry.VALIDATE, {}) == []


def test_readme_lists_the_check_registry():
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[3] / "README.md").read_text()
    start = readme.index("<!-- checks registry:")
    block = readme[readme.index("\n", start) + 1:readme.index("<!-- end of checks registry -->")]
    assert block == registry.markdown(), "run `sparkctl checks list -f markdown` into README"


def test_checks_list_command():
    import json

    from typer.testing import CliRunner

    from sparkctl.cli.app import app

    done = CliRunner().invoke(app, ["checks", "list", "--in", "health", "-f", "json"])
    assert done.exit_code == 0
    ids = {c["id"] for c in json.loads(done.output)["checks"]}
    assert {"node.ssh", "host.disk", "rail.bandwidth"} <= ids and "collective.all_reduce" not in ids
    bad = CliRunner().invoke(app, ["checks", "list", "--in", "nope"])
    assert bad.exit_code == 2


def test_every_registered_judge_exists():
    import importlib

    for check in registry.CHECKS.values():
        module, _, function = check.judge.partition(":")
        assert callable(getattr(importlib.import_module(module), function)), check.id
        assert check.in_ and check.summary, check.id
