"""Measure every rail's bandwidth over live SSH sessions: the one probe validate and health run.

Servers start on the receivers, clients on the senders once a server says READY, in rounds
that never load an interface twice (rails.schedule). A test that is not `pass` is measured
again alone once, time permitting: a healthy rail that lost a race for CPU recovers, a
degraded one stays slow. Returns the localized checks and the Gb/s of every measured test.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sparkctl.checks.result import CheckResult, Verdict
from sparkctl.probe.ssh import CommandResult, ProbePool, RemoteProcess
from sparkctl.validate import expect, rails
from sparkctl.validate import reachability as R
from sparkctl.validate.budget import Budget, budget_exhausted
from sparkctl.validate.context import ValidationContext

SERVER_READY_S = 8.0
STEP_SLACK_S = 10.0  # a round's timeout beyond its test time: connects, teardown
RETEST_MARGIN_S = 10.0  # budget a lone re-measurement needs beyond its test time

Log = Callable[[str], None]


@dataclass(frozen=True)
class RailMeasurement:
    test: rails.RailTest
    gbps: float


@dataclass
class RailProbe:
    checks: list[CheckResult] = field(default_factory=list)  # rail.bandwidth, one per test
    measurements: list[RailMeasurement] = field(default_factory=list)  # tests with a figure


def default_seconds(ctx: ValidationContext) -> float:
    return 2.0 if ctx.is_lab else 3.0


def probe_rails(pool: ProbePool, ctx: ValidationContext, budget: Budget, *,
                seconds: float | None = None, parallel: int | None = None,
                tcp: bool = False, retest: bool = True, log: Log | None = None) -> RailProbe:
    """Every planned rail test, measured within `budget`.

    `seconds` per test (default 2 s lab, 3 s hardware); `parallel` tests per round (default
    2 in the lab, whose 2 cores are the bottleneck; unlimited on hardware); `tcp` uses iperf3
    on hardware instead of ib_write_bw (the lab always uses iperf3).
    """
    log = log or (lambda _msg: None)
    use_iperf3 = ctx.is_lab or tcp
    seconds = seconds or default_seconds(ctx)
    if parallel is None and ctx.is_lab:
        parallel = 2
    # With --tcp on hardware the same per-rail figure applies; one TCP stream may fall short
    # of it on a healthy rail, which the notes say.
    expectation = expect.rail_bandwidth(ctx)
    tests = rails.plan_rail_tests(ctx, rails.IPERF3_BASE_PORT if use_iperf3
                                  else rails.PERFTEST_BASE_PORT)
    results: dict[rails.RailTest, CheckResult] = {}
    for round_ in rails.schedule(tests, parallel):
        for test, check in zip(round_, measure_round(pool, ctx, budget, round_, seconds,
                                                      use_iperf3, expectation), strict=True):
            results[test] = check
    if retest:
        for test in tests:
            check = results[test]
            if check.verdict is not Verdict.PASS and isinstance(check.measured, (int, float)):
                if budget.left() < seconds + RETEST_MARGIN_S:
                    break
                log(f"re-measuring {test.subject} alone")
                results[test] = measure_round(pool, ctx, budget, [test], seconds, use_iperf3,
                                              expectation)[0]
    measured = [RailMeasurement(t, float(results[t].measured)) for t in tests
                if isinstance(results[t].measured, (int, float))
                and not isinstance(results[t].measured, bool)]
    return RailProbe(rails.localize([(t, results[t]) for t in tests]), measured)


def _unreachable(pool: ProbePool, node: str) -> str | None:
    return None if pool.reachable(node) else pool.failures.get(node, "unreachable")


def measure_round(pool: ProbePool, ctx: ValidationContext, budget: Budget,
                  tests: list[rails.RailTest], seconds: float, use_iperf3: bool,
                  expectation) -> list[CheckResult]:
    """Run `tests` together (servers, then clients on READY) and judge each one."""
    if budget.left() < seconds + 3:
        return [budget_exhausted("rail.bandwidth", rails.KIND, t.subject) for t in tests]
    timeout = budget.timeout(seconds + SERVER_READY_S + STEP_SLACK_S)
    servers: dict[rails.RailTest, RemoteProcess] = {}
    for test in tests:
        if _unreachable(pool, test.sender) or _unreachable(pool, test.receiver):
            continue
        if use_iperf3:
            command = rails.iperf3_server(test, seconds)
        else:
            hca = ctx.node(test.receiver).interface(test.receiver_if).hca
            command = rails.perftest_server(test, seconds, hca, ctx.gid_index)
        servers[test] = pool.start(test.receiver, command, timeout)
    clients: dict[rails.RailTest, RemoteProcess | CheckResult] = {}
    for test in tests:
        for who in (test.sender, test.receiver):
            if error := _unreachable(pool, who):
                clients[test] = R.unreachable("rail.bandwidth", test.subject, who, error)
                break
        if test in clients:
            continue
        if servers[test].wait_for_line("READY", budget.timeout(SERVER_READY_S)) is None:
            result = servers[test].wait() if servers[test].channel is None else None
            tool = "iperf3" if use_iperf3 else "ib_write_bw"
            clients[test] = rails.not_run(
                test, f"The {tool} server on {test.receiver} did not start listening "
                f"({(result.error if result else None) or 'no READY within the time limit'}).",
                f"Run `{tool} -s` by hand on {test.receiver}; is the tool installed, the port "
                "free?")
            continue
        command = (rails.iperf3_client(test, seconds) if use_iperf3
                   else rails.perftest_client(test, seconds, ctx.gid_index))
        clients[test] = pool.start(test.sender, command, timeout)
    out: list[CheckResult] = []
    for test in tests:
        client = clients[test]
        if isinstance(client, CheckResult):
            out.append(client)
            continue
        result: CommandResult = client.wait()
        if result.error and not result.stdout.strip():
            out.append(rails.not_run(test, f"The client on {test.sender} failed: "
                                     f"{result.error}.", "Rerun; check the node is responsive."))
        elif use_iperf3:
            out.append(rails.judge_iperf3(test, result.stdout, expectation, ctx.is_lab))
        else:
            out.append(rails.judge_perftest(test, result.stdout + result.stderr, expectation))
    for proc in servers.values():
        proc.close_stdin()
        proc.wait()
    return out
