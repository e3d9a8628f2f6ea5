"""Health's one measuring stage: every node runs three commands at once (link facts, a quick
reach probe to the peers' sshd, the health script), then each check is judged by its judge.

The link and reach judges are validate's (through sparkctl.engine.nodes); GPU, disk,
memory, drift and counter deltas are health's own. A cron run costs about one round trip
per node.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial

from sparkctl.checks.result import CheckResult, Verdict
from sparkctl.engine import nodes as N
from sparkctl.engine.session import FINISH_RESERVE_S, Session, Stage, skipped
from sparkctl.health import counters, drift, gpu, host
from sparkctl.health.findings import Findings
from sparkctl.health.remote import NodeOutput, NodeScriptPlan, build_script, parse_sections
from sparkctl.health.samples import Sample
from sparkctl.validate import reachability as R
from sparkctl.validate.counters import rail_counters
from sparkctl.validate.scripts import python_command

COMMAND_TIMEOUT_S = 10.0
TCP_TIMEOUT_S = 1.0
SSH_PORT = 22  # every Spark runs sshd on all addresses; a connect tests TCP on the rail
SAMPLES = "samples"  # Session.data key: list[Sample]


@dataclass
class NodeAnswers:
    link_facts: str | None = None
    reach: str | None = None
    script: NodeOutput | None = None
    errors: dict[str, str] = field(default_factory=dict)


def script_plan(session: Session, node) -> NodeScriptPlan:
    hvars = session.target.hostvars.get(node.name, {})
    return NodeScriptPlan(
        gpu=session.platform.has_gpu,
        nccl_env_path=str(hvars.get("nccl_env_path", drift.NCCL_ENV_PATH)),
        hostfile_path=str(hvars.get("mpi_hostfile_path", drift.HOSTFILE_PATH)))


def _ask(session: Session, node, timeout: float) -> NodeAnswers:
    commands = {
        "link_facts": N.facts_command(session, node, ethtool_stats=True),
        "reach": python_command("reach", R.reach_request(
            node.interfaces, lambda _peer: SSH_PORT, tcp_timeout=TCP_TIMEOUT_S,
            pings=R.QUICK_PINGS)),
        "script": build_script(script_plan(session, node)),
    }
    answers = NodeAnswers()
    running = {k: session.probes.start(node.name, c, timeout) for k, c in commands.items()}
    for key, proc in running.items():
        done = proc.wait()
        if done.error or done.exit_status not in (0, None):
            answers.errors[key] = done.error or (
                f"exit {done.exit_status}: {done.stderr.strip()[:200]}")
        if key == "script":
            answers.script = parse_sections(done.stdout)
        else:
            setattr(answers, key, done.stdout)
    return answers


def expected(session: Session) -> list[tuple[str, str]]:
    out = N.link_expected(session) + N.reach_expected(session)
    out += [("host.script", n.name) for n in session.nodes]
    return out


def health_stage(previous_counters: dict) -> Stage:
    """`previous_counters`: the RDMA counters of the target's previous health run (read from
    the history before the run starts; the store stays on its own thread)."""

    def run(session: Session) -> None:
        alive = [n for n in session.nodes if session.probes.reachable(n.name)]
        timeout = max(0.5, session.budget.timeout(COMMAND_TIMEOUT_S,
                                                  reserve=FINISH_RESERVE_S + 2.5))
        answers = dict(zip([n.name for n in alive], session.parallel(
            [partial(_ask, session, n, timeout) for n in alive], reserve=0.2), strict=True))
        for name, got in answers.items():
            if got is None:
                session.probes.mark_lost(name, f"unreachable: {name} gave no complete answer "
                                             f"within the {session.budget.seconds:g} s budget "
                                             "(hung or overloaded)")
        judge(session, answers, previous_counters)

    return Stage("health", run, expected, min_s=1.0)


def judge(session: Session, answers: dict[str, NodeAnswers | None],
          previous: dict) -> None:
    samples: list[Sample] = session.data.setdefault(SAMPLES, [])
    facts = {}
    for node in session.nodes:
        got = answers.get(node.name)
        if got is None:
            continue
        if not got.link_facts and session.unreachable(node.name):
            continue
        parsed, check = N.judge_facts(node.name, bool(got.link_facts), got.link_facts or "",
                                      got.errors.get("link_facts"))
        if check.verdict is not Verdict.PASS:
            session.record(check)
        if parsed is not None:
            facts[node.name] = parsed
    session.data["facts"] = facts
    N.judge_links(session, facts)
    for node in session.nodes:
        if node.name in facts:
            samples.extend(_link_samples(node, facts[node.name]))
            if session.platform.has_rdma:
                for iface in node.interfaces:
                    hca = facts[node.name].hcas.get(iface.hca)
                    now = rail_counters(facts[node.name], iface.name, iface.hca)
                    if hca is not None and hca.exists and now:
                        before = _previous_counters(previous, node.name, iface.hca)
                        _take(session, counters.judge_counter_deltas(node.name, iface.hca,
                                                                     now, before))
    reports = {name: _reach_report(name, got) for name, got in answers.items() if got}
    N.judge_reach(session, reports, refused_is_reachable=True)
    gpus = {}
    for node in session.nodes:
        got = answers.get(node.name)
        if got is None or session.unreachable(node.name):
            if not session.unreachable(node.name):
                session.record(skipped("host.script", node.name,
                                       "Not measured: no answer within the budget."))
            continue
        found, parsed = judge_script(session, node, got)
        _take(session, found)
        if parsed is not None:
            gpus[node.name] = parsed
    consistency = gpu.judge_driver_consistency(gpus) if session.platform.has_gpu else None
    if consistency is not None:
        session.record(consistency)


def _take(session: Session, found: Findings) -> None:
    session.record(*found.checks)
    session.data.setdefault(SAMPLES, []).extend(found.samples)
    session.not_applicable.extend(found.skipped)


def judge_script(session: Session, node, got: NodeAnswers):
    """Findings of the health script, and the parsed nvidia-smi result (None if none)."""
    out = Findings()
    parsed = None
    script = got.script
    plan = script_plan(session, node)
    if script is None or not script.complete:
        why = got.errors.get("script", "output cut short")
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
                                        script.text("hostfile"),
                                        session.target.cluster.hostfile()))
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
             if p.labels.get("node") == node and p.labels.get("device") == hca
             and p.value is not None}
    return found or None


def _reach_report(node: str, got: NodeAnswers) -> R.ReachReport | str:
    """The parsed reach output, or why there is none (every ping/TCP check fails with it)."""
    if not got.reach:
        return (f"no reachability result from {node} "
                f"({got.errors.get('reach', 'no output')})")
    try:
        return R.parse_reach(got.reach)
    except (ValueError, KeyError, IndexError, TypeError):
        return f"unreadable reachability output from {node}: {got.reach[:120]!r}"
