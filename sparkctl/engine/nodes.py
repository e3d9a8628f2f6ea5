"""Stages every selection shares: connecting (node.ssh), link facts and the link judges, and
reachability over the rails (link.ping / link.tcp / link.neighbours).

Measuring here, judging in sparkctl.validate.links and sparkctl.validate.reachability (pure
functions tested with plain facts); validate and health call the same judges, with the
probe parameters their selection gives (validate pings 3 times and runs its own TCP
listeners; health pings once and connects to sshd).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from sparkctl.checks.result import CheckResult, Verdict
from sparkctl.engine.session import FINISH_RESERVE_S, Session, Stage, skipped
from sparkctl.probe.hosts import endpoints_for_target
from sparkctl.probe.ssh import ProbePool, RemoteProcess
from sparkctl.topology.hardware import all_netdevs
from sparkctl.validate import hardware, links
from sparkctl.validate import reachability as R
from sparkctl.validate.facts import RDMA_ENV_PATH, FactsError, NodeFacts, parse_node_facts
from sparkctl.validate.scripts import python_command

if TYPE_CHECKING:
    from sparkctl.probe.hosts import SshEndpoint
    from sparkctl.probe.ssh import CommandResult
    from sparkctl.targets import Node

FACTS_TIMEOUT_S = 15.0
LINK_CHECK_IDS = ("link.carrier", "link.speed", "link.mtu", "link.address")
RDMA_CHECK_IDS = ("rdma.port", "rdma.gid")


# --- node.ssh -----------------------------------------------------------------------------

def ssh_command(ep: SshEndpoint) -> str:
    """The ssh command line that reaches the node the way the probe does."""
    hops = ",".join(f"{j.user + '@' if j.user else ''}{j.address}:{j.port}" for j in ep.jumps)
    jump = f" -J {hops}" if hops else ""
    return f"ssh -p {ep.port}{jump} {ep.user + '@' if ep.user else ''}{ep.address}"


def judge_ssh(name: str, endpoint: SshEndpoint, error: str | None,
              seconds: float | None = None
              ) -> CheckResult:
    where = endpoint.describe()
    if error:
        return CheckResult(
            "node.ssh", "node", name, Verdict.FAIL, "unreachable", "reachable", None,
            f"{name} ({where}) is {error}; its checks are skipped.",
            f"Check the node is powered and sshd runs (`{ssh_command(endpoint)}`).")
    took = f" in {seconds:.2f} s" if seconds is not None else ""
    return CheckResult("node.ssh", "node", name, Verdict.PASS, "reachable", "reachable", None,
                       f"SSH to {where} works{took}.")


def connect_stage(connect_timeout: float) -> Stage:
    def run(session: Session) -> None:
        # As every probe reaches nodes: what the inventory leaves unset comes from bootstrap.
        endpoints = endpoints_for_target(session.target)
        started = time.monotonic()
        # Ends a little before the stage would be cut off, so a node that never finishes its
        # handshake is reported as such (node.ssh fail), not as "not measured".
        pool = ProbePool(endpoints, connect_timeout=max(0.5, connect_timeout),
                         deadline=session.budget.deadline - FINISH_RESERVE_S - 0.3)
        session.pool = pool
        pool.__enter__()
        took = time.monotonic() - started
        for ep in endpoints:
            session.record(judge_ssh(ep.name, ep, pool.failures.get(ep.name),
                                     took if ep.name in pool.sessions else None))

    return Stage("connect", run, lambda s: [("node.ssh", n.name) for n in s.nodes], min_s=0.5)


# --- link facts ---------------------------------------------------------------------------

def facts_request(session: Session, node: Node, ethtool_stats: bool, nic: bool = False
                  ) -> dict[str, object]:
    """What a node reports. Where the platform has RDMA: the RoCE hw_counters, the node's
    measured GID indexes (rdma.env) and, with `ethtool_stats`, `ethtool -S`; with `nic`,
    each CX-7 function's PCIe link and firmware (validate)."""
    platform = session.platform
    request: dict[str, object] = {
        "netdevs": sorted({i.name for i in node.interfaces} | set(all_netdevs())),
        "hcas": [i.hca for i in node.interfaces] if platform.has_rdma else [],
        "ethtool_stats": ethtool_stats and platform.has_rdma}
    if platform.has_rdma:
        request["hw_counters"] = True
        request["rdma_env"] = rdma_env_path(session, node)
        if nic:
            request["nic"] = list(all_netdevs())
    return request


def rdma_env_path(session: Session, node: Node) -> str:
    return str(session.target.hostvars.get(node.name, {}).get("rdma_env_path", RDMA_ENV_PATH))


def facts_command(session: Session, node: Node, ethtool_stats: bool, nic: bool = False) -> str:
    return python_command("link_facts", facts_request(session, node, ethtool_stats, nic))


def judge_facts(name: str, ok: bool, stdout: str, error: str | None
                ) -> tuple[NodeFacts | None, CheckResult]:
    """The parsed facts of a node and its link.facts result."""
    if not ok:
        return None, CheckResult("link.facts", "link", name, Verdict.FAIL, None, None, None,
                                 f"no link facts from {name}: {error or 'no output'}.",
                                 "Run the probe by hand: python3 must be on the node.")
    try:
        facts = parse_node_facts(name, stdout)
    except FactsError as exc:
        return None, CheckResult("link.facts", "link", name, Verdict.FAIL, None, None, None,
                                 str(exc), "Is python3 (3.8+) on the node?")
    return facts, CheckResult("link.facts", "link", name, Verdict.PASS, len(facts.netdevs),
                              None, "netdevs", f"{name} reported {len(facts.netdevs)} netdevs "
                              f"and {len(facts.hcas)} RDMA devices.")


def link_expected(session: Session, nic: bool = False) -> list[tuple[str, str]]:
    out = []
    for node in session.nodes:
        out.append(("link.facts", node.name))
        for iface in node.interfaces:
            out += [(c, links.subject(node.name, iface.name)) for c in LINK_CHECK_IDS]
            if session.platform.has_rdma:
                out += [(c, links.subject(node.name, iface.hca)) for c in RDMA_CHECK_IDS]
        out.append(("link.stray", f"{node.name}/unplanned"))
        if nic and session.platform.has_rdma:
            out += [("link.pcie", links.subject(node.name, n)) for n in all_netdevs()]
    if nic and session.platform.has_rdma:
        out.append(("link.firmware", "cluster"))
    return out


def judge_links(session: Session, facts: dict[str, NodeFacts], nic: bool = False) -> None:
    """Every link check of every node (a node without facts: its checks are skipped); with
    `nic` (validate on a platform with the CX-7), each function's PCIe link and the firmware."""
    platform = session.platform
    for node in session.nodes:
        if node.name not in facts:
            why = session.unreachable(node.name) or "its link facts could not be read"
            session.record(*(skipped(c, s, f"Not measured: {node.name} {_as_reason(why)}.")
                             for c, s in _node_link_subjects(session, node, nic)))
            continue
        session.record(*links.node_link_checks(
            node.name, node.interfaces, facts[node.name], facts,
            expected_speed=platform.link_speed_mbps, speed_note=platform.link_speed_note,
            cx7_netdevs=all_netdevs(), rdma=platform.has_rdma,
            gid_index=session.target.gid_index))
        if nic and platform.has_rdma:
            session.record(*hardware.pcie_checks(node.name, facts[node.name], all_netdevs()))
    if nic and platform.has_rdma:
        session.record(hardware.firmware_check(
            {n.name: facts[n.name] for n in session.nodes if n.name in facts},
            [n.name for n in session.nodes if n.name not in facts]))


def _node_link_subjects(session: Session, node: Node, nic: bool) -> list[tuple[str, str]]:
    return [(c, s) for c, s in link_expected(session, nic) if c != "link.facts"
            and s.split("/")[0] == node.name]


def _as_reason(why: str) -> str:
    return "is " + why if why.startswith("unreachable") else "gave no answer: " + why


def facts_stage(counters: bool, judge: bool = True) -> Stage:
    """validate: link facts of every node, then (`judge`) its link checks. Facts are gathered
    whatever the phases: they feed the reachability diagnoses, the rail tests' GID indexes and
    the throttle diagnosis, and a node that cannot report them is known before any bandwidth
    test waits on it. `counters`: ask for `ethtool -S` too (the counters are judged only as
    deltas around the rail test, sparkctl.validate.counters)."""

    def run(session: Session) -> None:
        names = [n.name for n in session.nodes if session.probes.reachable(n.name)]
        by_name = {n.name: n for n in session.nodes}
        timeout = session.budget.timeout(FACTS_TIMEOUT_S, reserve=FINISH_RESERVE_S)

        def ask(name: str) -> CommandResult:
            return session.probes.run(name, facts_command(session, by_name[name], counters,
                                                          nic=judge), timeout)

        results = session.parallel([partial(ask, n) for n in names])
        facts: dict[str, NodeFacts] = {}
        for name, result in zip(names, results, strict=True):
            if result is None:
                continue
            parsed, check = judge_facts(name, result.ok, result.stdout, result.error or (
                f"exit {result.exit_status}: {result.stderr.strip()[:200]}"))
            if check.verdict is not Verdict.PASS:  # a node's facts are news only when missing
                session.record(check)
            if parsed is not None:
                facts[name] = parsed
        session.data["facts"] = facts
        if judge:
            judge_links(session, facts, nic=True)

    return Stage("links", run, lambda s: link_expected(s, nic=True) if judge else [])


# --- reachability -------------------------------------------------------------------------

LISTENER_READY_S = 8.0
REACH_TIMEOUT_S = 20.0
TCP_CONNECT_TIMEOUT_S = 2.0


def reach_expected(session: Session) -> list[tuple[str, str]]:
    out = []
    for node in session.nodes:
        for iface in node.interfaces:
            for peer in iface.peers:
                sub = R.ping_subject(node.name, iface, peer)
                out += [("link.ping", sub), ("link.tcp", sub)]
    return out


def judge_reach(session: Session, reports: dict[str, R.ReachReport | str],
                listeners: dict[str, R.ListenerReport] | None = None,
                listener_errors: dict[str, str] | None = None,
                refused_is_reachable: bool = False) -> None:
    live = R.LiveLinks.from_facts(session.data.get("facts", {}))
    for node in session.nodes:
        if not any(i.peers for i in node.interfaces):
            continue
        report = reports.get(node.name)
        if report is None or (isinstance(report, str) and session.unreachable(node.name)):
            why = session.unreachable(node.name) or report or "no reachability result"
            session.record(*(skipped(c, s, f"Not measured from {node.name}: it "
                                           f"{_as_reason(why)}.")
                             for c, s in reach_expected(session) if s.startswith(node.name + "/")))
            continue
        session.record(*R.judge_node_reach(node.name, node.interfaces, report, live,
                                           listeners=listeners, listener_errors=listener_errors,
                                           refused_is_reachable=refused_is_reachable))


def parse_reach_result(result: CommandResult | None) -> R.ReachReport | str:
    if result is None:
        return "no reachability result within the budget"
    try:
        return R.parse_reach(result.stdout) if result.ok else (
            result.error or f"reach probe failed: {result.stderr.strip()[:200]}")
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        return f"unreadable reach probe output ({exc})"


@dataclass(frozen=True)
class ReachPlan:
    pings: R.PingPlan = R.FULL_PINGS


def reach_stage(plan: ReachPlan = ReachPlan()) -> Stage:
    """validate: TCP listeners on every planned address, then pings and connects from every
    node (a listener tells which end's firewall stopped a handshake)."""

    def run(session: Session) -> None:
        facts = session.data.get("facts", {})
        reachable = [n for n in session.nodes if n.name in facts
                     and session.probes.reachable(n.name)]
        budget = session.budget
        listen_s = budget.timeout(LISTENER_READY_S + REACH_TIMEOUT_S + 5, FINISH_RESERVE_S)
        listeners: dict[str, RemoteProcess] = {}
        for node in reachable:
            request = {"addresses": [str(i.address.ip) for i in node.interfaces],
                       "seconds": listen_s}
            listeners[node.name] = session.probes.start(
                node.name, python_command("tcp_listen", request), listen_s + 2)
        ports: dict[str, int] = {}
        listener_errors: dict[str, str] = {}
        for name, proc in listeners.items():
            line = proc.wait_for_line("READY ", budget.timeout(LISTENER_READY_S))
            if line is None:
                result = proc.wait() if proc.channel is None else None
                listener_errors[name] = (result.error if result else None) or \
                    "the TCP listener did not start"
                continue
            ports.update(R.parse_listener(line).ports)
        for node in session.nodes:
            if node.name not in listeners:
                listener_errors[node.name] = session.unreachable(node.name) or "no link facts"
        requests = {node.name: R.reach_request(node.interfaces, ports.get,
                                               tcp_timeout=TCP_CONNECT_TIMEOUT_S,
                                               pings=plan.pings)
                    for node in reachable}
        timeout = budget.timeout(REACH_TIMEOUT_S, reserve=FINISH_RESERVE_S)
        names = list(requests)
        def reach(name: str) -> CommandResult:
            return session.probes.run(name, python_command("reach", requests[name]), timeout)

        results = session.parallel([partial(reach, n) for n in names])
        reports = {name: parse_reach_result(r) for name, r in zip(names, results, strict=True)}
        listener_reports: dict[str, R.ListenerReport] = {}
        for proc in listeners.values():
            proc.close_stdin()
        for name, proc in listeners.items():
            result = proc.wait()
            if name not in listener_errors:
                listener_reports[name] = R.parse_listener(result.stdout)
        judge_reach(session, reports, listener_reports, listener_errors)

    return Stage("reach", run, reach_expected, min_s=2.0)
