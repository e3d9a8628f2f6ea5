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
from functools import partial

from sparkctl.checks.result import CheckResult, Verdict
from sparkctl.engine.session import FINISH_RESERVE_S, Session, Stage, skipped
from sparkctl.platform import RailTool
from sparkctl.probe.ssh import CommandResult, RemoteProcess
from sparkctl.validate import counters as K
from sparkctl.validate import hardware, rails
from sparkctl.validate.facts import NodeFacts, parse_node_facts
from sparkctl.validate.links import measured_gid, subject
from sparkctl.validate.scripts import python_command

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


COUNTER_WINDOW = "the rail bandwidth test"
SNAPSHOT_TIMEOUT_S = 10.0


def counter_subjects(session: Session) -> list[tuple[str, str]]:
    if not session.platform.has_rdma:
        return []
    return [(K.CHECK, subject(n.name, i.hca)) for n in session.nodes for i in n.interfaces]


def rail_stage(options: RailOptions = RailOptions()) -> Stage:
    def run(session: Session) -> None:
        before = counter_snapshot(session) if session.platform.has_rdma else {}
        probe_rails(session, options)
        if session.platform.has_rdma:
            judge_counter_window(session, before, counter_snapshot(session))

    return Stage("rails", run, lambda s: ([("rail.bandwidth", t.subject)
                                           for t in planned_tests(s, options)]
                                          or [("rail.bandwidth", "cluster")])
                 + counter_subjects(s), min_s=3.0)


def snapshot_command(node) -> str:
    return python_command("link_facts", {
        "netdevs": [i.name for i in node.interfaces], "hcas": [i.hca for i in node.interfaces],
        "ethtool_stats": True, "hw_counters": True})


def counter_snapshot(session: Session) -> dict[str, NodeFacts | str]:
    """Every reachable node's rail counters now (or why not), read at once."""
    names = [n.name for n in session.nodes if session.probes.reachable(n.name)]
    by_name = {n.name: n for n in session.nodes}
    timeout = session.budget.timeout(SNAPSHOT_TIMEOUT_S, reserve=FINISH_RESERVE_S)

    def read(name: str) -> CommandResult:
        return session.probes.run(name, snapshot_command(by_name[name]), timeout)

    results = session.parallel([partial(read, n) for n in names])
    out: dict[str, NodeFacts | str] = {}
    for name, result in zip(names, results, strict=True):
        if result is None or not result.ok:
            out[name] = (result.error if result else None) or "no counter snapshot"
            continue
        try:
            out[name] = parse_node_facts(name, result.stdout)
        except ValueError as exc:
            out[name] = str(exc)
    return out


def judge_counter_window(session: Session, before: dict[str, NodeFacts | str],
                         after: dict[str, NodeFacts | str]) -> None:
    """rdma.counter_delta of every rail over the rail test (sparkctl.validate.counters)."""
    for node in session.nodes:
        for iface in node.interfaces:
            sub = subject(node.name, iface.hca)
            ends = []
            for snap in (before.get(node.name), after.get(node.name)):
                ends.append(K.rail_counters(snap, iface.name, iface.hca)
                            if isinstance(snap, NodeFacts) else None)
            check = K.judge_window(sub, ends[0], ends[1], COUNTER_WINDOW)
            if check.verdict is Verdict.SKIPPED and session.unreachable(node.name):
                check = skipped(K.CHECK, sub, f"Not measured: {node.name} is "
                                f"{session.unreachable(node.name)}.")
            session.record(check)


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
    gids: dict[rails.RailTest, tuple[int, int] | CheckResult] = {
        t: _gid_indexes(session, t) for t in tests} if tool is RailTool.PERFTEST else {}
    servers: dict[rails.RailTest, RemoteProcess] = {}
    for test in tests:
        if session.unreachable(test.sender) or session.unreachable(test.receiver):
            continue
        if tool is RailTool.IPERF3:
            command = rails.iperf3_server(test, seconds)
        else:
            indexes = gids[test]
            if isinstance(indexes, CheckResult):
                continue
            command = rails.perftest_server(test, seconds, _receiver_hca(session, test),
                                            indexes[1])
        servers[test] = pool.start(test.receiver, command, timeout)
    clients: dict[rails.RailTest, RemoteProcess | CheckResult] = {}
    for test in tests:
        if unreachable := _unreachable_end(session, test):
            clients[test] = unreachable
            continue
        if isinstance(gids.get(test), CheckResult):
            clients[test] = gids[test]  # type: ignore[assignment]
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
                   else rails.perftest_client(test, seconds, gids[test][0]))  # type: ignore[index]
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
                                            hint if below else None,
                                            link_evidence(session, test),
                                            gid_note(gids[test])))
    for proc in servers.values():
        proc.close_stdin()
        proc.wait()
    return out


def _receiver_hca(session: Session, test: rails.RailTest) -> str:
    plan = session.target.node(test.receiver).interface(test.receiver_if)
    assert plan is not None  # tests are planned from these interfaces
    return plan.hca


def _gid_indexes(session: Session, test: rails.RailTest) -> tuple[int, int] | CheckResult:
    """(sender's, receiver's) RoCE v2 GID index for this test's HCAs, as each node measured
    them (its rdma.env), or the skipped check saying which node is not provisioned."""
    facts: dict[str, NodeFacts] = session.data.get("facts", {})
    planned = session.target.gid_index
    out = []
    for node, hca in ((test.sender, test.sender_if.hca),
                      (test.receiver, _receiver_hca(session, test))):
        if node not in facts:
            return skipped("rail.bandwidth", test.subject,
                           f"Not measured: no link facts from {node}, so its GID index for "
                           f"{hca} is unknown.")
        index, _source, missing = measured_gid(facts[node], hca, planned)
        if index is None:
            return skipped("rail.bandwidth", test.subject,
                           f"Not measured: ib_write_bw -x needs {node}'s GID index for {hca} "
                           f"and {missing}.",
                           "Provision RDMA first: sparkctl provision --tags rdma.")
        out.append(index)
    return out[0], out[1]


def gid_note(indexes: tuple[int, int] | CheckResult) -> str | None:
    if isinstance(indexes, CheckResult):
        return None
    return f"ib_write_bw ran with -x {indexes[0]} (sender) / -x {indexes[1]} (receiver), " \
           "each node's measured index from its /etc/sparkctl/rdma.env"


def link_evidence(session: Session, test: rails.RailTest) -> rails.LinkEvidence:
    """What the link facts say about this test's two ends: the slower negotiated speed and
    the narrower PCIe width (the throttle signature needs a healthy 200G link and x4)."""
    facts: dict[str, NodeFacts] = session.data.get("facts", {})
    speeds, widths = [], []
    for node, netdev in ((test.sender, test.sender_if.name), (test.receiver, test.receiver_if)):
        node_facts = facts.get(node)
        if node_facts is None:
            continue
        speed = node_facts.netdev(netdev).speed_mbps
        if speed and speed > 0:
            speeds.append(speed)
        nic = node_facts.nics.get(netdev)
        if nic is not None:
            link, _ = hardware.pcie_link(nic)
            if link is not None and link.sta_width is not None:
                widths.append(link.sta_width)
    return rails.LinkEvidence(min(speeds) if speeds else None, min(widths) if widths else None)


def _unreachable_end(session: Session, test: rails.RailTest) -> CheckResult | None:
    for who in (test.sender, test.receiver):
        if error := session.unreachable(who):
            return skipped("rail.bandwidth", test.subject, f"Not measured: {who} is {error}.",
                           f"Bring {who} back (see its node.ssh result).")
    return None
