"""Measure every rail's bandwidth over live SSH sessions: the one probe validate and health run.

Servers start on the receivers, clients on the senders once a server says READY, in rounds
that never load an interface twice (rails.schedule). A test that is not `pass` is measured
again alone once, time permitting: a healthy rail that lost a race for CPU recovers, a
degraded one stays slow. Results are recorded round by round, so a run cut off by its
budget keeps what it measured and skips the rest. The platform says which tool measures a
rail, for how long, how many at once and against what floor. Test ports are drawn afresh
for every run.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sparkctl.checks.result import CheckResult, Verdict
from sparkctl.engine.session import FINISH_RESERVE_S, Session, Stage, skipped
from sparkctl.platform import RailTool
from sparkctl.probe.ssh import CommandResult, RemoteProcess
from sparkctl.validate import rails

SERVER_READY_S = 8.0
STEP_SLACK_S = 10.0  # a round's timeout beyond its test time: connects, teardown
RETEST_MARGIN_S = 10.0  # budget a lone re-measurement needs beyond its test time
MEASUREMENTS = "rail_measurements"  # Session.data key: list[RailMeasurement]


@dataclass(frozen=True)
class RailMeasurement:
    """A rail test that ran: its figure, or None when it ran and gave none (failed)."""

    test: rails.RailTest
    gbps: float | None


@dataclass(frozen=True)
class RailOptions:
    seconds: float | None = None  # None: the platform's
    parallel: int | None = None  # None: the platform's
    tcp: bool = False  # iperf3 instead of ib_write_bw where that is the default
    retest: bool = True
    base_port: int | None = None  # None: drawn for this run


@dataclass
class _Probe:
    tests: list[rails.RailTest]
    outcomes: dict[rails.RailTest, rails.RailOutcome] = field(default_factory=dict)


def planned_tests(session: Session, options: RailOptions) -> list[rails.RailTest]:
    """The run's tests (ports drawn once per run and kept in the session)."""
    tests = session.data.get("rail_tests")
    if tests is None:
        count = len(rails.plan_rail_tests(session.target, 0))
        base = options.base_port or rails.run_base_port(count)
        tests = session.data["rail_tests"] = rails.plan_rail_tests(session.target, base)
    return tests


def rail_stage(options: RailOptions = RailOptions()) -> Stage:
    def run(session: Session) -> None:
        probe_rails(session, options)

    return Stage("rails", run, lambda s: [("rail.bandwidth", t.subject)
                                          for t in planned_tests(s, options)]
                 or [("rail.bandwidth", "cluster")], min_s=3.0)


def probe_rails(session: Session, options: RailOptions = RailOptions()) -> None:
    """Every planned rail test, measured within the session's budget; records rail.bandwidth
    checks and the measured figures (Session.data[MEASUREMENTS])."""
    platform = session.platform
    tool = platform.rail_tool_for(options.tcp)
    seconds = options.seconds or platform.rail_seconds
    parallel = options.parallel if options.parallel is not None else platform.rail_parallel
    probe = _Probe(planned_tests(session, options))
    if not probe.tests:
        session.record(skipped("rail.bandwidth", "cluster", "Not run: no planned rail has a "
                                                            "peer to measure against."))
        return

    def publish() -> None:
        measured = [t for t in probe.tests if t in probe.outcomes]
        session.record(*rails.localize([(t, probe.outcomes[t].check) for t in measured]))
        session.data[MEASUREMENTS] = [RailMeasurement(t, probe.outcomes[t].gbps)
                                      for t in measured
                                      if probe.outcomes[t].check.verdict is not Verdict.SKIPPED]

    for round_ in rails.schedule(probe.tests, parallel):
        probe.outcomes.update(zip(round_, measure_round(session, round_, seconds, tool),
                                  strict=True))
        publish()
    if options.retest:
        for test in probe.tests:
            outcome = probe.outcomes[test]
            if outcome.check.verdict is Verdict.PASS or outcome.gbps is None:
                continue
            if session.budget.left() - FINISH_RESERVE_S < seconds + RETEST_MARGIN_S:
                break
            session.log(f"re-measuring {test.subject} alone")
            probe.outcomes[test] = measure_round(session, [test], seconds, tool)[0]
            publish()


def measure_round(session: Session, tests: list[rails.RailTest], seconds: float,
                  tool: RailTool) -> list[rails.RailOutcome]:
    """Run `tests` together (servers, then clients on READY) and judge each one."""
    pool, budget, platform = session.probes, session.budget, session.platform
    if budget.left() - FINISH_RESERVE_S < seconds + 3:
        return [rails.RailOutcome(_unreachable_end(session, t) or skipped(
            "rail.bandwidth", t.subject, f"Not measured: the run's {budget.seconds:g} s "
            "budget was spent before this rail's turn.",
            "Raise --budget, or fix the slow/unreachable nodes reported above."))
            for t in tests]
    timeout = budget.timeout(seconds + SERVER_READY_S + STEP_SLACK_S, reserve=FINISH_RESERVE_S)
    gid = session.target.gid_index
    servers: dict[rails.RailTest, RemoteProcess] = {}
    for test in tests:
        if session.unreachable(test.sender) or session.unreachable(test.receiver):
            continue
        if tool is RailTool.IPERF3:
            command = rails.iperf3_server(test, seconds)
        else:
            plan = session.target.node(test.receiver).interface(test.receiver_if)
            assert plan is not None  # tests are planned from these interfaces
            hca = plan.hca
            command = rails.perftest_server(test, seconds, hca, gid)
        servers[test] = pool.start(test.receiver, command, timeout)
    clients: dict[rails.RailTest, RemoteProcess | CheckResult] = {}
    for test in tests:
        if unreachable := _unreachable_end(session, test):
            clients[test] = unreachable
            continue
        if servers[test].wait_for_line("READY", budget.timeout(SERVER_READY_S)) is None:
            gone = servers[test].wait() if servers[test].channel is None else None
            clients[test] = rails.not_run(
                test, f"The {tool} server on {test.receiver} did not start listening "
                f"({(gone.error if gone else None) or 'no READY within the time limit'}).",
                f"Run `{tool} -s` by hand on {test.receiver}; is the tool installed, the port "
                "free?")
            continue
        command = (rails.iperf3_client(test, seconds) if tool is RailTool.IPERF3
                   else rails.perftest_client(test, seconds, gid))
        clients[test] = pool.start(test.sender, command, timeout)
    out: list[rails.RailOutcome] = []
    below, hint = platform.rail_below_floor, platform.rail_slow_hint
    for test in tests:
        client = clients[test]
        if isinstance(client, CheckResult):
            out.append(rails.RailOutcome(client))
            continue
        result: CommandResult = client.wait()
        if result.error and not result.stdout.strip():
            lost = session.unreachable(test.sender) or session.unreachable(test.receiver)
            out.append(rails.RailOutcome(
                skipped("rail.bandwidth", test.subject, f"Not measured: {lost}.")
                if lost else rails.not_run(test, f"The client on {test.sender} failed: "
                                           f"{result.error}.",
                                           "Rerun; check the node is responsive.")))
        elif tool is RailTool.IPERF3:
            out.append(rails.judge_iperf3(test, result.stdout, platform.rail_expectation,
                                          below, hint if below else None))
        else:
            out.append(rails.judge_perftest(test, result.stdout + result.stderr,
                                            platform.rail_expectation, below,
                                            hint if below else None))
    for proc in servers.values():
        proc.close_stdin()
        proc.wait()
    return out


def _unreachable_end(session: Session, test: rails.RailTest) -> CheckResult | None:
    for who in (test.sender, test.receiver):
        if error := session.unreachable(who):
            return skipped("rail.bandwidth", test.subject, f"Not measured: {who} is {error}.",
                           f"Bring {who} back (see its node.ssh result).")
    return None
