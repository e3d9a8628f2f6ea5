"""`sparkctl discover`: probe, build the observed cabling, classify it, compare, conclude."""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field

from sparkctl.discover.classify import Classification, classify
from sparkctl.discover.compare import Comparison, compare
from sparkctl.discover.findings import DRIFT, ERROR, NOTE, Finding
from sparkctl.discover.observe import Observation, observe, read_as_declared_switch
from sparkctl.discover.railcheck import RailContext, admin_findings, port_state, rail_findings
from sparkctl.discover.reports import NodeReport
from sparkctl.exitcodes import ExitCode
from sparkctl.platform import DGX_SPARK, platform_for
from sparkctl.topology.hardware import all_netdevs
from sparkctl.topology.model import ClusterSpec, SparkNode

MATCH, DRIFTED, INCOMPLETE = "match", "drift", "incomplete"


@dataclass
class Discovery:
    nodes: tuple[SparkNode, ...]
    declared: ClusterSpec | None
    observation: Observation
    observed: ClusterSpec  # the cabling as found, same model as a declaration
    classification: Classification
    comparison: Comparison | None
    findings: list[Finding]
    reports: dict[str, NodeReport]
    platform: str | None
    window_s: float
    started: str = ""
    duration_s: float = 0.0
    notes: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def verdict(self) -> str:
        if any(f.severity == ERROR for f in self.findings):
            return INCOMPLETE
        if any(f.severity == DRIFT for f in self.findings):
            return DRIFTED
        return MATCH

    @property
    def exit_code(self) -> ExitCode:
        return {MATCH: ExitCode.OK, DRIFTED: ExitCode.FAILED,
                INCOMPLETE: ExitCode.USAGE}[self.verdict]


def detect_platform(declared: ClusterSpec | None, reports: dict[str, NodeReport]) -> str | None:
    if declared is not None:
        return declared.platform
    names = {r.dgx_name for r in reports.values()}
    if names == {"DGX Spark"}:  # /etc/dgx-release DGX_NAME on every node
        return DGX_SPARK.name
    return None


def _node_findings(nodes: tuple[SparkNode, ...], reports: dict[str, NodeReport],
                   failures: dict[str, str]) -> list[Finding]:
    found = []
    for node in nodes:
        if node.name in failures:
            found.append(Finding("unreachable", ERROR, node.name,
                                 f"no discovery from {node.name}: {failures[node.name]}",
                                 "fix access to the node and rerun; its cables are unknown"))
            continue
        report = reports[node.name]
        if not any(i.exists for i in report.interfaces):
            found.append(Finding(
                "no-cx7", ERROR, node.name,
                f"{node.name} has none of the ConnectX-7 netdevs ({', '.join(all_netdevs())})",
                "check that this is a DGX Spark and that the mlx5 driver is loaded "
                "(`ip link`, `lsmod | grep mlx5`)"))
    return found


def analyze(nodes: tuple[SparkNode, ...], reports: dict[str, NodeReport],
            declared: ClusterSpec | None, window_s: float,
            failures: dict[str, str] | None = None) -> Discovery:
    """Everything after the probe: pure, so hand-built reports test it without a network."""
    failures = failures or {}
    ordered = [reports[n.name] for n in nodes if n.name in reports]
    observation = observe(ordered)
    observation, notes = read_as_declared_switch(observation, declared)
    template = declared or ClusterSpec(name="discovered", topology="custom", nodes=nodes,
                                       cables=())
    observed = dataclasses.replace(template, topology="custom", nodes=nodes,
                                   cables=tuple(c.cable for c in observation.cables),
                                   locations={})
    classification = classify(observed)
    observed = dataclasses.replace(observed, topology=classification.topology)
    platform = detect_platform(declared, reports)
    findings = _node_findings(nodes, reports, failures)
    complete = not findings
    planned = None
    if declared is not None:
        planned = _planned_addresses(declared)
    ctx = RailContext(reports=reports, platform=platform_for(platform, {}) if platform else None,
                      planned_mtu=declared.mtu if declared else None, window_s=window_s,
                      planned_addresses=planned)
    comparison = None
    if complete and declared is not None:
        comparison = compare(declared, list(observed.cables),
                             explain=lambda ref: port_state(ref, ctx))
        findings += list(comparison.findings)
    if complete:
        findings += rail_findings(observation, ctx)
        findings += admin_findings(reports)
        if not classification.supported:
            for reason in classification.reasons:
                findings.append(Finding(
                    "unsupported", DRIFT, reason.split(": ", 1)[0],
                    f"the cabling is not a supported topology: {reason}",
                    "re-cable to a built-in topology (`sparkctl topology list`)"))
    findings += [Finding("ambiguous", NOTE, "cabling", n) for n in notes]
    findings += [Finding("classification", NOTE, "cabling", n) for n in classification.notes]
    return Discovery(nodes=nodes, declared=declared, observation=observation, observed=observed,
                     classification=classification, comparison=comparison, findings=findings,
                     reports=reports, platform=platform, window_s=window_s, notes=notes)


def _planned_addresses(declared: ClusterSpec) -> dict[tuple[str, str], str] | None:
    from sparkctl.topology.addressing import PlanError, plan_addresses

    try:
        plan = plan_addresses(declared)
    except PlanError:
        return None
    return {(i.node, i.name): str(i.address) for i in plan.all_interfaces()}


def discover(nodes: tuple[SparkNode, ...], endpoints, declared: ClusterSpec | None,
             window_s: float, bring_up: bool = False) -> Discovery:
    from sparkctl.discover.collect import collect

    started = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    t0 = time.monotonic()
    collected = collect(endpoints, window_s=window_s, bring_up=bring_up)
    t1 = time.monotonic()
    result = analyze(nodes, collected.reports, declared, window_s, collected.failures)
    result.started = started
    result.duration_s = round(time.monotonic() - t0, 3)
    result.timings = {"connect_s": collected.connect_s, "probe_s": collected.probe_s,
                      "analyze_s": round(time.monotonic() - t1, 3)}
    return result
