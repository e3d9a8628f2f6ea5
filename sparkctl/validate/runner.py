"""Run the validation phases against live nodes within one time budget and build the Report.

Every remote step is bounded by min(its own timeout, what is left of the budget); a node
that cannot be reached turns its checks into `fail: unreachable` and the others still run.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sparkctl.checks.result import CheckResult, Report, Verdict
from sparkctl.probe.ssh import ProbePool, RemoteProcess
from sparkctl.validate import collective as C
from sparkctl.validate import expect, links
from sparkctl.validate import reachability as R
from sparkctl.validate.budget import Budget, budget_exhausted
from sparkctl.validate.context import MANAGEMENT, ValidationContext, cx7_netdevs
from sparkctl.validate.facts import FactsError, NodeFacts, parse_node_facts
from sparkctl.validate.rail_probe import RailMeasurement, probe_rails
from sparkctl.validate.scripts import install_command, python_command

PHASES = ("links", "rails", "collective")
LINK_CHECK_IDS = ("link.carrier", "link.speed", "link.mtu", "link.address")
FACTS_TIMEOUT_S = 15.0
LISTENER_READY_S = 8.0
REACH_TIMEOUT_S = 20.0
TCP_CONNECT_TIMEOUT_S = 2.0

Log = Callable[[str], None]


@dataclass
class ValidateOptions:
    phases: tuple[str, ...] = PHASES
    budget_s: float = 300.0
    connect_timeout_s: float = 5.0
    rail_seconds: float | None = None  # None: 2 s in the lab, 3 s on hardware
    rail_parallel: int | None = None  # None: 2 in the lab (CPU-bound), unlimited on hardware
    rail_tcp: bool = False  # iperf3 instead of ib_write_bw on hardware
    all_gather: bool = False
    collective_timeout_s: float = 300.0
    retest_slow_rails: bool = True


@dataclass
class Run:
    ctx: ValidationContext
    options: ValidateOptions
    pool: ProbePool
    budget: Budget
    log: Log
    checks: list[CheckResult] = field(default_factory=list)
    facts: dict[str, NodeFacts] = field(default_factory=dict)
    rail_gbps: list[RailMeasurement] = field(default_factory=list)

    def unreachable(self, node: str) -> str | None:
        if self.pool.reachable(node):
            return None
        return self.pool.failures.get(node, "unreachable")

    def parallel(self, jobs: list[Callable[[], object]]) -> list:
        if not jobs:
            return []
        with ThreadPoolExecutor(max_workers=min(32, len(jobs))) as executor:
            return list(executor.map(lambda job: job(), jobs))


# --- phase: node reachability ------------------------------------------------------------

def check_nodes(run: Run) -> None:
    for node in run.ctx.nodes:
        error = run.unreachable(node.name)
        ep = node.endpoint
        if error:
            run.checks.append(CheckResult(
                "node.ssh", "node", node.name, Verdict.FAIL, "unreachable", "reachable", None,
                f"{node.name} ({ep.address}:{ep.port}) is {error}; its checks fail as "
                "unreachable.",
                f"Check the node is powered and sshd runs (ssh -p {ep.port} "
                f"{ep.user + '@' if ep.user else ''}{ep.address})."))
        else:
            run.checks.append(CheckResult("node.ssh", "node", node.name, Verdict.PASS,
                                          "reachable", "reachable", None,
                                          f"SSH to {ep.address}:{ep.port} works."))


# --- phase: links --------------------------------------------------------------------------

def gather_facts(run: Run) -> None:
    request_for = {}
    for node in run.ctx.nodes:
        request_for[node.name] = {"netdevs": cx7_netdevs(),
                                  "hcas": [i.hca for i in node.interfaces] if not run.ctx.is_lab
                                  else [], "ethtool_stats": not run.ctx.is_lab}
    names = [n.name for n in run.ctx.nodes if run.pool.reachable(n.name)]
    timeout = run.budget.timeout(FACTS_TIMEOUT_S)
    results = run.parallel([
        (lambda n=n: run.pool.run(n, python_command("link_facts", request_for[n]), timeout))
        for n in names])
    for name, result in zip(names, results, strict=True):
        if not result.ok:
            run.pool.failures[name] = result.error or (
                f"link facts failed (exit {result.exit_status}): {result.stderr.strip()[:200]}")
            continue
        try:
            run.facts[name] = parse_node_facts(name, result.stdout)
        except FactsError as exc:
            run.pool.failures[name] = str(exc)


def link_checks(run: Run) -> None:
    ctx = run.ctx
    speed = expect.link_speed_mbps(ctx)
    for node in ctx.nodes:
        facts = run.facts.get(node.name)
        if facts is None:
            error = run.unreachable(node.name) or run.pool.failures.get(node.name, "no facts")
            for iface in node.interfaces:
                for check_id in LINK_CHECK_IDS:
                    run.checks.append(R.unreachable(check_id, links.subject(node.name,
                                                                            iface.name),
                                                    node.name, error))
            continue
        run.checks += links.node_link_checks(
            node.name, node.interfaces, facts, run.facts, expected_speed=speed,
            cx7_netdevs=cx7_netdevs(), rdma=not ctx.is_lab, gid_index=ctx.gid_index)


def reach_checks(run: Run) -> None:
    ctx = run.ctx
    if run.budget.exhausted():
        for node in ctx.nodes:
            for iface in node.interfaces:
                for peer in iface.peers:
                    for check_id in ("link.ping", "link.tcp"):
                        run.checks.append(budget_exhausted(
                            check_id, "link", R.ping_subject(node.name, iface, peer)))
        return
    reachable = [n for n in ctx.nodes if n.name in run.facts]
    # 1. a listener on every planned address of every reachable node
    listen_s = run.budget.timeout(LISTENER_READY_S + REACH_TIMEOUT_S + 5)
    listeners: dict[str, RemoteProcess] = {}
    for node in reachable:
        request = {"addresses": [str(i.address.ip) for i in node.interfaces],
                   "seconds": listen_s}
        listeners[node.name] = run.pool.start(node.name, python_command("tcp_listen", request),
                                              listen_s + 2)
    ports: dict[str, int] = {}
    listener_errors: dict[str, str] = {}
    for name, proc in listeners.items():
        line = proc.wait_for_line("READY ", run.budget.timeout(LISTENER_READY_S))
        if line is None:
            result = proc.wait() if proc.channel is None else None
            listener_errors[name] = (result.error if result else None) or \
                "the TCP listener did not start"
            continue
        ports.update(R.parse_listener(line).ports)
    for node in ctx.nodes:
        if node.name not in run.facts:
            listener_errors[node.name] = run.unreachable(node.name) or "unreachable"
    # 2. probes from every reachable node
    requests = {node.name: R.reach_request(node.interfaces, ports.get,
                                           tcp_timeout=TCP_CONNECT_TIMEOUT_S)
                for node in reachable}
    timeout = run.budget.timeout(REACH_TIMEOUT_S)
    names = list(requests)
    results = run.parallel([
        (lambda n=n: run.pool.run(n, python_command("reach", requests[n]), timeout))
        for n in names])
    reports: dict[str, R.ReachReport | str] = {}
    for name, result in zip(names, results, strict=True):
        try:
            reports[name] = R.parse_reach(result.stdout) if result.ok else (
                result.error or f"reach probe failed: {result.stderr.strip()[:200]}")
        except (ValueError, KeyError, IndexError) as exc:
            reports[name] = f"unreadable reach probe output ({exc})"
    # 3. listeners end once every client is done
    listener_reports: dict[str, R.ListenerReport] = {}
    for proc in listeners.values():
        proc.close_stdin()
    for name, proc in listeners.items():
        result = proc.wait()
        if name not in listener_errors:
            listener_reports[name] = R.parse_listener(result.stdout)
    judge_reach(run, reports, listener_reports, listener_errors)


def judge_reach(run: Run, reports: dict[str, R.ReachReport | str],
                listeners: dict[str, R.ListenerReport], listener_errors: dict[str, str]) -> None:
    live = R.LiveLinks.from_facts(run.facts)
    for node in run.ctx.nodes:
        report = reports.get(node.name)
        if report is None:
            report = run.unreachable(node.name) or "unreachable"
        run.checks += R.judge_node_reach(node.name, node.interfaces, report, live,
                                         listeners=listeners, listener_errors=listener_errors)


# --- phase: rails --------------------------------------------------------------------------

def rail_checks(run: Run) -> None:
    opts = run.options
    probe = probe_rails(run.pool, run.ctx, run.budget, seconds=opts.rail_seconds,
                        parallel=opts.rail_parallel, tcp=opts.rail_tcp,
                        retest=opts.retest_slow_rails, log=run.log)
    run.checks += probe.checks
    run.rail_gbps += probe.measurements


# --- phase: collective ---------------------------------------------------------------------

def collective_checks(run: Run) -> None:
    ctx = run.ctx
    if len(ctx.nodes) < 2:
        return
    names = [n.name for n in ctx.nodes]
    down = [n for n in names if run.unreachable(n)]
    check_ids = ["collective.all_reduce"]
    if run.options.all_gather and not ctx.is_lab:
        check_ids.append("collective.all_gather")
    if down:
        errors = {n: run.unreachable(n) for n in down}
        run.checks += [C.unreachable_result(i, down, errors) for i in check_ids]
        return
    if run.budget.exhausted():
        run.checks += [budget_exhausted(i, C.KIND, C.SUBJECT) for i in check_ids]
        return
    launcher = names[0]
    if ctx.is_lab:
        lab_collective(run, launcher)
    else:
        for check_id in check_ids:
            name = check_id.split(".", 1)[1]
            timeout = run.budget.timeout(run.options.collective_timeout_s)
            # nccl-tests' -T fires first; the remote `timeout` and the local deadline back it.
            command = C.nccl_tests_command(ctx, collective=name,
                                           timeout_s=max(10, int(timeout) - 15))
            result = run.pool.run(launcher, command, timeout)
            if result.error and not result.stdout.strip():
                run.checks.append(CheckResult(
                    check_id, C.KIND, C.SUBJECT, Verdict.FAIL, None, None, None,
                    f"nccl-tests did not finish on {launcher}: {result.error}.",
                    "A hang here is the NCCL 2.27.7-on-sm_121 signature or a dead peer; "
                    "run it by hand with NCCL_DEBUG=INFO."))
                continue
            run.checks += C.judge_nccl_run(result.stdout + result.stderr, ctx.topology,
                                           result.exit_status, name)


def lab_collective(run: Run, launcher: str) -> None:
    ctx = run.ctx
    names = [n.name for n in ctx.nodes]
    install = run.parallel([
        (lambda n=n: run.pool.run(n, install_command("cpu_allreduce", C.LAB_PROGRAM), 10))
        for n in names])
    failed = {r.host: r.error or r.stderr.strip()[:200] for r in install if not r.ok}
    if failed:
        run.checks.append(C.unreachable_result("collective.all_reduce", sorted(failed), failed))
        return
    netdevs = {n: ctx.data_netdevs(n) for n in names}

    def counters() -> dict[str, dict[str, int]]:
        res = run.parallel([
            (lambda n=n: run.pool.run(n, C.counters_command([*netdevs[n], MANAGEMENT]), 10))
            for n in names])
        return {r.host: C.parse_counters(r.stdout) for r in res}

    before = counters()
    timeout = run.budget.timeout(run.options.collective_timeout_s)
    result = run.pool.run(launcher, C.lab_command(ctx, launcher), timeout)
    after = counters()
    expectation = expect.collective(ctx)
    lab_run = C.parse_lab_output(result.stdout, result.stderr)
    if result.error and not lab_run.rows:
        lab_run.errors.append(result.error)
    on_rails = ctx.rails_shared_by_all()
    run.checks.append(C.judge_lab_run(lab_run, expectation, len(names), result.exit_status,
                                      on_rails))
    if lab_run.rows and on_rails:
        run.checks.append(C.judge_lab_transport(before, after, netdevs))


# --- entry point ---------------------------------------------------------------------------

@dataclass
class ValidateRun:
    report: Report
    rail_gbps: list[RailMeasurement]  # every rail test that produced a figure


def validate(ctx: ValidationContext, options: ValidateOptions | None = None,
             log: Log | None = None) -> Report:
    return validate_run(ctx, options, log).report


def validate_run(ctx: ValidationContext, options: ValidateOptions | None = None,
                 log: Log | None = None) -> ValidateRun:
    options = options or ValidateOptions()
    log = log or (lambda _msg: None)
    started = datetime.now(UTC)
    budget = Budget(options.budget_s)
    with ProbePool([n.endpoint for n in ctx.nodes],
                   connect_timeout=min(options.connect_timeout_s, options.budget_s / 3)) as pool:
        run = Run(ctx, options, pool, budget, log)
        log(f"connected to {len(pool.sessions)}/{len(ctx.nodes)} nodes")
        check_nodes(run)
        # Link facts feed the reachability diagnoses, and unreachable nodes are known before
        # any bandwidth test waits on them, so facts are gathered whatever --only says.
        gather_facts(run)
        if "links" in options.phases:
            link_checks(run)
            reach_checks(run)
            log("links done")
        if "rails" in options.phases:
            rail_checks(run)
            log("rails done")
        if "collective" in options.phases:
            collective_checks(run)
            log("collective done")
    report = Report.from_checks(run.checks, started=started,
                                duration_s=time.monotonic() - budget.started)
    return ValidateRun(report, run.rail_gbps)
