"""One quick health run: every node probed in parallel within one time budget, then judged.

Each node gets its own daemon thread that connects and starts three remote commands at once
(validate's link facts and reach programs, and health's own script). The main thread waits
for them only until the budget's end minus what judging and writing need; a node still
silent then is reported as unreachable and its thread is abandoned, so a dead or wedged node
costs at most the budget, never more.

With --probe, validate's rail probe (validate.rail_probe) then measures every rail for
PROBE_SECONDS per test between the nodes that answered, within what is left of the budget.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import yaml

from sparkctl.checks.result import CheckResult, Report, Verdict
from sparkctl.health import counters, drift, gpu, host
from sparkctl.health.budget import Deadline
from sparkctl.health.findings import Findings, Skip
from sparkctl.health.regression import RegressionPolicy, regression_checks
from sparkctl.health.remote import NodeOutput, NodeScriptPlan, build_script, parse_sections
from sparkctl.health.samples import Sample, rail_bandwidth_samples
from sparkctl.health.store import HistoryStore, target_key

__all__ = ["HealthOptions", "HealthRun", "run_health", "target_key"]

DEFAULT_BUDGET_S = 20.0
DEFAULT_PROBE_BUDGET_S = 40.0  # the quick checks plus a rail probe that re-measures slow rails
PROBE_SECONDS = 1.0  # per rail test: long enough for a steady TCP/RDMA rate, short for cron
MIN_BUDGET_S = 3.0
CONNECT_TIMEOUT_S = 3.0  # paramiko may spend this on each of connect, banner and auth
COMMAND_TIMEOUT_S = 10.0
JUDGE_RESERVE_S = 1.0  # kept for judging, the history write and the exporters
BACKSTOP_S = 3.0  # RemoteProcess may outlive its timeout by 2 s (kill + local backstop)
TCP_TIMEOUT_S = 1.0
SSH_PORT = 22  # every Spark runs sshd on all addresses; a connect tests TCP on the rail


@dataclass(frozen=True)
class HealthOptions:
    budget_s: float = DEFAULT_BUDGET_S
    probe: bool = False
    regression: RegressionPolicy = RegressionPolicy()


@dataclass
class NodeResult:
    done: bool = False
    error: str | None = None  # unreachable: ...
    link_facts: str | None = None
    reach: str | None = None
    script: NodeOutput | None = None
    command_errors: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0


@dataclass
class HealthRun:
    report: Report
    samples: list[Sample]
    skipped: list[Skip]
    target: str
    run_id: int | None = None

    def to_dict(self) -> dict:
        doc = self.report.to_dict()
        doc["skipped"] = [s.to_dict() for s in self.skipped]
        doc["target"] = self.target
        return doc


def _host_vars(target) -> dict[str, dict]:
    if target.inventory_path is None:
        return {}
    try:
        doc = yaml.safe_load(Path(target.inventory_path).read_text(encoding="utf-8"))
        group = doc["all"]["children"]["sparks"]
        gvars = group.get("vars") or {}
        return {name: {**gvars, **(hv or {})} for name, hv in group["hosts"].items()}
    except (OSError, yaml.YAMLError, KeyError, TypeError, AttributeError):
        return {}  # the target resolver already validated it; paths fall back to defaults


def run_health(target, options: HealthOptions, store: HistoryStore | None) -> HealthRun:
    from sparkctl.validate.context import context_from_target

    # paramiko logs a failed handshake with a traceback from its own thread; the failure is
    # already in the node.ssh check, and cron mail must stay one line.
    logging.getLogger("paramiko").addHandler(logging.NullHandler())
    logging.getLogger("paramiko").propagate = False
    started_at = datetime.now(UTC)
    deadline = Deadline(max(options.budget_s, MIN_BUDGET_S))
    ctx = context_from_target(target)
    hvars = _host_vars(target)
    plans = {n.name: NodeScriptPlan(
        gpu=not ctx.is_lab,
        nccl_env_path=str(hvars.get(n.name, {}).get("nccl_env_path", drift.NCCL_ENV_PATH)),
        hostfile_path=str(hvars.get(n.name, {}).get("mpi_hostfile_path", drift.HOSTFILE_PATH)))
        for n in ctx.nodes}
    results = {n.name: NodeResult() for n in ctx.nodes}
    threads = [threading.Thread(target=_probe_node, args=(ctx, n, plans[n.name],
                                                          results[n.name], deadline),
                                name=f"health-{n.name}", daemon=True) for n in ctx.nodes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=deadline.cap(deadline.budget_s, reserve_s=JUDGE_RESERVE_S))
    for result in results.values():
        if not result.done and result.error is None:
            result.error = (f"no complete answer within the {deadline.budget_s:g} s budget "
                            "(node hung or overloaded)")
    findings = _judge(ctx, target, results, plans, store)
    if options.probe:
        findings.extend(_probe_rails(ctx, results, deadline))
    if store is not None:
        findings.checks += regression_checks(findings.samples, store, target_key(target),
                                             options.regression)
    report = Report.from_checks(findings.checks, started=started_at,
                                duration_s=deadline.elapsed())
    return HealthRun(report, findings.samples, findings.skipped, target_key(target))


def _probe_node(ctx, node, plan: NodeScriptPlan, result: NodeResult, deadline: Deadline) -> None:
    from sparkctl.probe.ssh import ProbePool
    from sparkctl.validate import context as vctx
    from sparkctl.validate import reachability as R
    from sparkctl.validate.scripts import python_command

    started = time.monotonic()
    try:
        # Worst case paramiko spends connect_timeout on TCP, banner and auth each.
        connect = min(CONNECT_TIMEOUT_S, (deadline.remaining() - JUDGE_RESERVE_S) / 4)
        with ProbePool([node.endpoint], connect_timeout=max(0.5, connect)) as pool:
            if not pool.reachable(node.name):
                result.error = pool.failures.get(node.name, "unreachable")
                return
            timeout = max(0.5, deadline.cap(COMMAND_TIMEOUT_S,
                                            reserve_s=JUDGE_RESERVE_S + BACKSTOP_S))
            facts_req = {"netdevs": sorted({i.name for i in node.interfaces}
                                           | set(vctx.cx7_netdevs())),
                         "hcas": [] if ctx.is_lab else [i.hca for i in node.interfaces],
                         "ethtool_stats": False}
            commands = {
                "link_facts": python_command("link_facts", facts_req),
                "reach": python_command("reach", R.reach_request(
                    node.interfaces, lambda _peer: SSH_PORT, tcp_timeout=TCP_TIMEOUT_S,
                    pings=R.QUICK_PINGS)),
                "script": build_script(plan),
            }
            running = {k: pool.start(node.name, c, timeout) for k, c in commands.items()}
            for key, proc in running.items():
                done = proc.wait()
                if done.error or done.exit_status not in (0, None):
                    result.command_errors[key] = done.error or (
                        f"exit {done.exit_status}: {done.stderr.strip()[:200]}")
                if key == "script":
                    result.script = parse_sections(done.stdout)
                else:
                    setattr(result, key, done.stdout)
            if all(k in result.command_errors and result.command_errors[k].startswith(
                    "unreachable") for k in commands):
                result.error = result.command_errors["script"]
    except Exception as exc:  # noqa: BLE001 - one node's surprise must not sink the run
        result.error = f"unreachable: {type(exc).__name__}: {exc}"
    finally:
        result.seconds = time.monotonic() - started
        result.done = True


def _judge(ctx, target, results: dict[str, NodeResult], plans: dict[str, NodeScriptPlan],
           store: HistoryStore | None) -> Findings:
    from sparkctl.validate import context as vctx
    from sparkctl.validate import expect
    from sparkctl.validate import reachability as R
    from sparkctl.validate.facts import FactsError, parse_node_facts
    from sparkctl.validate.links import node_link_checks

    out = Findings()
    facts = {}
    for node in ctx.nodes:
        res = results[node.name]
        out.samples.append(Sample("node_up", float(res.error is None), {"node": node.name}))
        if res.error is not None:
            out.checks.append(CheckResult(
                "node.ssh", "node", node.name, Verdict.FAIL, measured="unreachable",
                expected="reachable", diagnosis=f"{node.name} ({node.endpoint.address}): "
                f"{res.error}.", hint="Check the node is powered and on the management "
                "network, and that sshd runs (`ssh " + node.endpoint.address + "`)."))
            continue
        out.checks.append(CheckResult(
            "node.ssh", "node", node.name, Verdict.PASS, measured="reachable",
            expected="reachable", diagnosis=f"answered over SSH in {res.seconds:.2f} s."))
        if res.link_facts:
            try:
                facts[node.name] = parse_node_facts(node.name, res.link_facts)
            except FactsError as exc:
                out.checks.append(CheckResult("link.facts", "link", node.name, Verdict.FAIL,
                                              diagnosis=str(exc)))
        else:
            out.checks.append(CheckResult(
                "link.facts", "link", node.name, Verdict.FAIL,
                diagnosis=f"no link facts from {node.name}: "
                          f"{res.command_errors.get('link_facts', 'no output')}."))
    gpu_results: dict = {}
    live = R.LiveLinks.from_facts(facts)
    previous = store.latest(counters.METRIC, target=target_key(target)) if store else {}
    for node in ctx.nodes:
        res = results[node.name]
        if res.error is not None:
            continue
        if node.name in facts:
            link_checks = node_link_checks(
                node.name, node.interfaces, facts[node.name], facts,
                expected_speed=expect.link_speed_mbps(ctx), cx7_netdevs=vctx.cx7_netdevs(),
                rdma=not ctx.is_lab, gid_index=ctx.gid_index)
            # Health judges counters as deltas since its previous run, not since boot.
            out.checks += [c for c in link_checks if c.id != "rdma.counters"]
            out.samples += _link_samples(node, facts[node.name])
            if not ctx.is_lab:
                for iface in node.interfaces:
                    hca = facts[node.name].hcas.get(iface.hca)
                    if hca is not None and hca.exists and hca.counters:
                        before = _previous_counters(previous, node.name, iface.hca)
                        out.extend(counters.judge_counter_deltas(node.name, iface.hca,
                                                                 hca.counters, before))
        if any(i.peers for i in node.interfaces):
            out.checks += R.judge_node_reach(node.name, node.interfaces,
                                             _reach_report(node.name, res), live,
                                             refused_is_reachable=True)
        judged, gpu_results[node.name] = _judge_script(ctx, node, res, plans[node.name])
        out.extend(judged)
    if ctx.is_lab:
        out.skipped.append(Skip("gpu", "cluster", "lab nodes have no GPU (sparkctl_platform: "
                                                  "lab); judged on real nvidia-smi output only"))
        out.skipped.append(Skip("rdma", "cluster", "lab nodes have no RDMA devices"))
    else:
        gpus = {n: r for n, r in gpu_results.items() if r is not None}
        consistency = gpu.judge_driver_consistency(gpus)
        if consistency is not None:
            out.checks.append(consistency)
    return out


def _judge_script(ctx, node, res: NodeResult, plan: NodeScriptPlan):
    """Findings of the health script, and the parsed nvidia-smi result (None if none)."""
    out = Findings()
    parsed = None
    script = res.script
    if script is None or not script.complete:
        why = res.command_errors.get("script", "output cut short")
        out.checks.append(CheckResult(
            "host.script", "host", node.name, Verdict.FAIL,
            diagnosis=f"the health script on {node.name} did not finish: {why}.",
            hint="Run it by hand (sparkctl lab ssh / ssh) to see where it hangs."))
        if script is None:
            return out, None
    if plan.gpu and "gpu" in script.sections:
        judged, parsed = gpu.judge_node_gpu(node.name, script.text("gpu"),
                                            script.heads.get("gpu_rc"))
        out.extend(judged)
    if "df" in script.sections:
        out.extend(host.judge_disks(node.name, host.parse_df(script.lines("df"))))
    if "meminfo" in script.sections:
        out.extend(host.judge_memory(node.name, host.parse_meminfo(script.lines("meminfo")),
                                     host.parse_psi_full_avg10(script.lines("psi"))))
    if "nccl_env" in script.sections:
        out.extend(drift.judge_nccl_env(node.name, plan.nccl_env_path,
                                        script.heads["nccl_env"] == "present",
                                        script.text("nccl_env"), node.nccl_env))
    if "hostfile" in script.sections:
        out.extend(drift.judge_hostfile(node.name, plan.hostfile_path,
                                        script.heads["hostfile"] == "present",
                                        script.text("hostfile"), ctx.hostfile))
    return out, parsed


def _link_samples(node, facts) -> list[Sample]:
    samples = []
    for iface in node.interfaces:
        nd = facts.netdev(iface.name)
        labels = {"node": node.name, "iface": iface.name}
        samples.append(Sample("rail_up", float(nd.exists and nd.has_carrier), dict(labels)))
        if nd.speed_mbps is not None and nd.speed_mbps > 0:
            samples.append(Sample("rail_speed_mbps", float(nd.speed_mbps), dict(labels)))
        if nd.mtu is not None:
            samples.append(Sample("rail_mtu_bytes", float(nd.mtu), dict(labels)))
    return samples


def _previous_counters(previous: dict, node: str, hca: str) -> dict[str, int] | None:
    found = {p.labels["counter"]: int(p.value) for p in previous.values()
             if p.labels.get("node") == node and p.labels.get("device") == hca}
    return found or None


def _reach_report(node: str, res: NodeResult):
    """The parsed reach output, or why there is none (every ping/TCP check fails with it)."""
    from sparkctl.validate import reachability as R

    if not res.reach:
        return (f"no reachability result from {node} "
                f"({res.command_errors.get('reach', 'no output')})")
    try:
        return R.parse_reach(res.reach)
    except (ValueError, KeyError, IndexError, TypeError):
        return f"unreadable reachability output from {node}: {res.reach[:120]!r}"


def _probe_rails(ctx, results: dict[str, NodeResult], deadline: Deadline) -> Findings:
    """validate's rail probe between the nodes that answered, within what is left."""
    from sparkctl.probe.ssh import ProbePool
    from sparkctl.validate.budget import Budget
    from sparkctl.validate.rail_probe import probe_rails

    out = Findings()
    alive = [n.endpoint for n in ctx.nodes if results[n.name].error is None]
    connect = max(0.5, min(CONNECT_TIMEOUT_S,
                           (deadline.remaining() - JUDGE_RESERVE_S - BACKSTOP_S) / 4))
    with ProbePool(alive, connect_timeout=connect) as pool:
        for node in ctx.nodes:
            if results[node.name].error is not None:
                pool.failures[node.name] = results[node.name].error
        # RemoteProcess may outlive its timeout by its backstop; judging needs its reserve.
        budget = Budget.until(deadline.at - JUDGE_RESERVE_S - BACKSTOP_S)
        probe = probe_rails(pool, ctx, budget, seconds=PROBE_SECONDS)
    out.checks += probe.checks
    out.samples += rail_bandwidth_samples(probe.measurements)
    return out
