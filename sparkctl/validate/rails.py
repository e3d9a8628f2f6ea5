"""Rail bandwidth: which sender/receiver pairs to measure, in which rounds, and the verdicts.

Every rail of every node sends once and receives once: on a cable the two ends measure each
other; on a switch each node sends to the next node in index order (a ring of pairs), so a
slow rail shows in two tests and can be told apart from a slow peer.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sparkctl.checks import diagnose as G
from sparkctl.checks import thresholds as T
from sparkctl.checks.parsers import iperf3, perftest
from sparkctl.checks.parsers.common import ParseError
from sparkctl.checks.result import CheckResult, Verdict
from sparkctl.topology.addressing import InterfacePlan
from sparkctl.validate.links import subject
from sparkctl.validate.scripts import PATH_PREFIX, server_command

KIND = "rail"
# Each run draws its test ports from here (one per test, a fresh block per run), below
# Linux's ephemeral range (32768-60999), so two runs never fight over a port even on nodes
# two targets share; NVIDIA's guide uses 12000/12001 for ib_write_bw.
PORT_RANGE = (20000, 32000)


@dataclass(frozen=True)
class RailTest:
    sender: str
    sender_if: InterfacePlan
    receiver: str
    receiver_if: str
    receiver_address: str
    port: int

    @property
    def subject(self) -> str:
        return f"{subject(self.sender, self.sender_if.name)} -> " \
               f"{subject(self.receiver, self.receiver_if)}"

    @property
    def ends(self) -> tuple[str, str]:
        return subject(self.sender, self.sender_if.name), subject(self.receiver, self.receiver_if)


def run_base_port(tests: int, rng=None) -> int:
    """A random first port for this run's `tests` consecutive ports inside PORT_RANGE."""
    import random

    low, high = PORT_RANGE
    return (rng or random.SystemRandom()).randrange(low, high - max(tests, 1))


def plan_rail_tests(target, base_port: int) -> list[RailTest]:
    """One test per rail per node, in node order (a sparkctl.targets.Target's nodes)."""
    order = [n.name for n in sorted(target.nodes, key=lambda n: n.index)]
    tests: list[RailTest] = []
    for node in sorted(target.nodes, key=lambda n: n.index):
        after = order[order.index(node.name) + 1:] + order[:order.index(node.name)]
        for iface in node.interfaces:
            peers = {p.host: p for p in iface.peers}
            target = next((peers[h] for h in after if h in peers), None)
            if target is None:
                continue
            tests.append(RailTest(node.name, iface, target.host, target.interface,
                                  str(target.address), base_port + len(tests)))
    return tests


def schedule(tests: list[RailTest], max_parallel: int | None) -> list[list[RailTest]]:
    """Rounds in which no interface is used twice and at most `max_parallel` tests run."""
    pending = list(tests)
    rounds: list[list[RailTest]] = []
    while pending:
        busy: set[str] = set()
        current: list[RailTest] = []
        for test in list(pending):
            if max_parallel is not None and len(current) >= max_parallel:
                break
            if busy.isdisjoint(test.ends):
                current.append(test)
                busy.update(test.ends)
                pending.remove(test)
        rounds.append(current)
    return rounds


# --- commands --------------------------------------------------------------------------------

def iperf3_server(test: RailTest, seconds: float) -> str:
    return server_command(["iperf3", "-s", "-1", "-B", test.receiver_address, "-p",
                           str(test.port)], test.port)


def iperf3_client(test: RailTest, seconds: float) -> str:
    argv = ["iperf3", "-c", test.receiver_address, "-B", str(test.sender_if.address.ip),
            "-p", str(test.port), "-t", f"{seconds:g}", "-J", "--connect-timeout", "3000"]
    return PATH_PREFIX + " ".join(shlex.quote(a) for a in argv)


def _perftest_argv(hca: str, port: int, seconds: float, gid_index: int) -> list[str]:
    # NVIDIA's connect-two-sparks guide: ib_write_bw -d DEV -i 1 -p PORT -F --report_gbits;
    # -D bounds the run in time, -x picks the RoCE v2 GID of the rail's IPv4 address.
    return ["ib_write_bw", "-d", hca, "-i", "1", "-p", str(port), "-F", "--report_gbits",
            "-x", str(gid_index), "-D", f"{max(1, round(seconds))}"]


def perftest_server(test: RailTest, seconds: float, receiver_hca: str, gid_index: int) -> str:
    return server_command(_perftest_argv(receiver_hca, test.port, seconds, gid_index), test.port)


def perftest_client(test: RailTest, seconds: float, gid_index: int) -> str:
    argv = _perftest_argv(test.sender_if.hca, test.port, seconds, gid_index)
    return PATH_PREFIX + " ".join(shlex.quote(a) for a in argv + [test.receiver_address])


# --- judging ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class RailOutcome:
    """A judged rail test, and its figure when one was measured (None: nothing measured,
    and nothing is invented for it; failed tests record no Gb/s)."""

    check: CheckResult
    gbps: float | None = None


def _check(test: RailTest, judgement: G.Judgement) -> CheckResult:
    return judgement.to_check("rail.bandwidth", KIND, test.subject)


@dataclass(frozen=True)
class LinkEvidence:
    """What the link facts say about a rail test's ends (None: not known)."""

    speed_mbps: int | None = None  # the slower end's negotiated speed
    pcie_width: int | None = None  # the narrower end's trained PCIe width


def judge_measured(test: RailTest, measured_gbps: float, expectation: T.Expectation,
                   below_floor: str | None = None, hint: str | None = None,
                   evidence: LinkEvidence = LinkEvidence()) -> CheckResult:
    """A measured figure against the platform's floor. `below_floor`/`hint`: the platform's
    own words for a slow rail (the lab's shaped links), instead of hardware signatures.
    `evidence` tells the CX-7 power-throttle signature (8-25 Gb/s on a 200G link at PCIe x4)
    from a slow link or a narrow PCIe link."""
    judgement = G.judge_rail_bandwidth(measured_gbps, expectation,
                                       link_speed_mbps=evidence.speed_mbps,
                                       pcie_width=evidence.pcie_width)
    if below_floor and judgement.verdict is not Verdict.PASS:
        ratio = measured_gbps / expectation.minimum
        judgement = G.Judgement(
            judgement.verdict,
            f"{measured_gbps:.2f} Gb/s is {ratio:.0%} of the {expectation.minimum:g} Gb/s "
            f"floor ({expectation.source}): {below_floor}",
            hint or judgement.hint, judgement.measured, judgement.expected, judgement.unit)
    return _check(test, judgement)


@dataclass(frozen=True)
class _Tool:
    name: str
    parse: Callable[[str], Any]  # text -> a run with .errors
    figure: str  # the run's Gb/s attribute
    judge_errors: Callable[[list[str]], G.Judgement]
    no_figure: str  # what "no figure, no error" means
    hint: str


_IPERF3 = _Tool("iperf3", iperf3.parse_json, "receiver_Gbps", G.judge_iperf3_errors,
                "no receiver total", "Run the same iperf3 by hand on the sender.")
_PERFTEST = _Tool("ib_write_bw", perftest.parse, "average_Gbps", G.judge_perftest_errors,
                  "no bandwidth rows", "Run the same ib_write_bw by hand on both nodes.")


def _judge_output(tool: _Tool, test: RailTest, out: str, expectation: T.Expectation,
                  below_floor: str | None, hint: str | None,
                  evidence: LinkEvidence = LinkEvidence(), note: str | None = None
                  ) -> RailOutcome:
    """A tool's output: its figure judged, or a failure that carries no value (a failed
    test's error count is not a bandwidth)."""
    try:
        run = tool.parse(out)
    except ParseError as exc:
        return _no_value(test, expectation, Verdict.FAIL, f"{tool.name} gave no result: {exc}.",
                         tool.hint)
    figure: float | None = getattr(run, tool.figure)
    if run.errors or figure is None:
        judged = tool.judge_errors(run.errors or [tool.no_figure])
        diagnosis = judged.diagnosis + (f" ({note})" if note else "")
        return _no_value(test, expectation, judged.verdict or Verdict.FAIL, diagnosis,
                         judged.hint)
    return RailOutcome(judge_measured(test, figure, expectation, below_floor, hint, evidence),
                       figure)


def _no_value(test: RailTest, expectation: T.Expectation, verdict: Verdict, diagnosis: str,
              hint: str | None) -> RailOutcome:
    return RailOutcome(CheckResult("rail.bandwidth", KIND, test.subject, verdict, None,
                                   expectation.minimum, expectation.unit, diagnosis, hint))


def judge_iperf3(test: RailTest, client_out: str, expectation: T.Expectation,
                 below_floor: str | None = None, hint: str | None = None) -> RailOutcome:
    return _judge_output(_IPERF3, test, client_out, expectation, below_floor, hint)


def judge_perftest(test: RailTest, client_out: str, expectation: T.Expectation,
                   below_floor: str | None = None, hint: str | None = None,
                   evidence: LinkEvidence = LinkEvidence(), gid_note: str | None = None
                   ) -> RailOutcome:
    """`gid_note`: which GID indexes the test used, added to a failure's diagnosis (a wrong
    index is one cause of QP and retry errors)."""
    return _judge_output(_PERFTEST, test, client_out, expectation, below_floor, hint,
                         evidence, gid_note)


def not_run(test: RailTest, why: str, hint: str) -> CheckResult:
    return CheckResult("rail.bandwidth", KIND, test.subject, Verdict.FAIL, None, None, "Gb/s",
                       why, hint)


def localize(results: list[tuple[RailTest, CheckResult]]) -> list[CheckResult]:
    """Name the interface common to every slow test when there is exactly one.

    With each rail sending once and receiving once, a rail slow in both directions shows in
    two tests that share only that interface; that, not either peer, is what to fix.
    """
    slow = [(t, c) for t, c in results if c.verdict is not Verdict.PASS
            and isinstance(c.measured, (int, float))]
    common: set[str] | None = None
    for test, _ in slow:
        common = set(test.ends) if common is None else common & set(test.ends)
    if len(slow) < 2 or not common or len(common) != 1:
        return [c for _, c in results]
    culprit = next(iter(common))
    out = []
    for test, check in results:
        if (test, check) in slow:
            check = CheckResult(check.id, check.kind, check.subject, check.verdict,
                                check.measured, check.expected, check.unit,
                                f"{check.diagnosis} Every slow test goes through {culprit}, "
                                "so that rail (its cable, NIC or switch port) is the one at "
                                "fault.", check.hint)
        out.append(check)
    return out
