"""Discovery results for people (table), scripts (JSON) and diagrams (Graphviz DOT)."""

from __future__ import annotations

from typing import Any

from sparkctl.discover.cabling import cable_key, multiset, to_cable, to_ref
from sparkctl.discover.findings import DRIFT, ERROR
from sparkctl.discover.run import Discovery
from sparkctl.topology.hardware import device_by_netdev
from sparkctl.topology.model import SWITCH, Cable


def _peers(result: Discovery, node: str, netdev: str) -> list[str]:
    report = result.reports.get(node)
    if report is None:
        return []
    return sorted({f"{s.node}:{s.iface}" for s in report.heard if s.on == netdev})


def to_json(result: Discovery, source: str | None = None) -> dict:
    declared = result.declared
    comparison = result.comparison
    nodes = []
    for node in result.nodes:
        report = result.reports.get(node.name)
        item: dict[str, Any] = {"name": node.name, "reachable": report is not None,
                "hostname": report.hostname if report else None,
                "dgx_name": report.dgx_name if report else None, "interfaces": []}
        for iface in report.interfaces if report else ():
            dev = device_by_netdev(iface.name)
            item["interfaces"].append({
                "name": iface.name, "port": dev.port if dev else None,
                "rail": dev.rail if dev else None, "exists": iface.exists, "mac": iface.mac,
                "admin_up": iface.admin_up, "carrier": iface.carrier,
                "operstate": iface.operstate, "speed_mbps": iface.speed_mbps, "mtu": iface.mtu,
                "ipv4": list(iface.ipv4), "ipv6": list(iface.ipv6),
                "peers": _peers(result, node.name, iface.name)})
        nodes.append(item)
    cls = result.classification
    return {
        "verdict": result.verdict,
        "declared": None if declared is None else {
            "source": source, "topology": declared.topology, "mtu": declared.mtu,
            "platform": declared.platform, "nodes": declared.node_names,
            "cables": [str(c) for c in declared.cables]},
        "observed": {
            "topology": cls.topology, "order": list(cls.order), "reasons": list(cls.reasons),
            "cables": [{"cable": str(c.cable), "a": str(c.cable.a), "b": str(c.cable.b),
                        "rails": list(c.rails)} for c in result.observation.cables]},
        "comparison": None if comparison is None else {
            "outcome": comparison.outcome, "renaming": comparison.renaming,
            "order": list(comparison.order) if comparison.order else None,
            "swaps": [[str(to_ref(s)), str(to_ref(t))] for s, t in comparison.swaps],
            "missing": [str(c) for c in comparison.missing],
            "extra": [str(c) for c in comparison.extra]},
        "findings": [f.to_json() for f in result.findings],
        "nodes": nodes,
        "platform": result.platform,
        "window_s": result.window_s,
        "started": result.started,
        "duration_s": result.duration_s,
        "timings": result.timings,
    }


def _rails(rails) -> str:
    return "rails " + ",".join(str(r) for r in rails) if rails else "no rail"


def to_table(result: Discovery, source: str | None = None) -> str:
    cls = result.classification
    lines = []
    declared = result.declared
    head = f"discovered {len(result.nodes)} node(s)"
    if source:
        head += f" of {source}"
    lines.append(head + f" in {result.duration_s:g} s (window {result.window_s:g} s)")
    observed = cls.topology
    if cls.topology not in ("custom", "unsupported") and tuple(cls.order) != tuple(
            n.name for n in result.nodes):
        observed += f" in the order {', '.join(cls.order)}"
    lines.append(f"observed: {observed}")
    if declared is not None:
        outcome = result.comparison.outcome if result.comparison else "not compared"
        lines.append(f"declared: {declared.topology} -> {outcome}")
    lines.append("")
    lines.append("cables:")
    if not result.observation.cables:
        lines.append("  (none)")
    for item in result.observation.cables:
        lines.append(f"  {str(item.cable):32} {_rails(item.rails)}")
    lines.append("")
    lines.append("interfaces:")
    lines.append(f"  {'node':12} {'netdev':14} {'port':4} {'state':10} {'speed':>6} {'mtu':>5} "
                 f"{'ipv4':18} hears")
    for node in result.nodes:
        report = result.reports.get(node.name)
        if report is None:
            lines.append(f"  {node.name:12} (no report)")
            continue
        for iface in report.interfaces:
            dev = device_by_netdev(iface.name)
            if not iface.exists:
                state = "missing"
            elif not iface.admin_up:
                state = "admin-down"
            else:
                state = "up" if iface.carrier else "no-carrier"
            speed = f"{iface.speed_mbps // 1000}G" if iface.speed_mbps else "-"
            port = f"p{dev.port}r{dev.rail}" if dev else "?"
            peers = ", ".join(_peers(result, node.name, iface.name)) or "-"
            lines.append(f"  {node.name:12} {iface.name:14} {port:4} {state:10} {speed:>6} "
                         f"{iface.mtu or '-':>5} {','.join(iface.ipv4) or '-':18} {peers}")
    lines.append("")
    if result.findings:
        lines.append("findings:")
        for f in result.findings:
            lines.append(f"  [{f.severity}] {f.subject}: {f.message}")
            if f.fix:
                lines.append(f"      fix: {f.fix}")
    else:
        lines.append("findings: none")
    lines.append("")
    lines.append(f"verdict: {result.verdict}")
    return "\n".join(lines) + "\n"


def _id(name: str) -> str:
    return '"' + name.replace('"', '\\"') + '"'


def to_dot(result: Discovery) -> str:
    """The observed cabling; drift drawn in red (extra) and dashed grey (declared, missing)."""
    title = f"observed: {result.classification.topology} ({result.verdict})"
    out = ["graph discovered {",
           f'  graph [label={_id(title)}, labelloc=t, fontname="Helvetica"];',
           '  node [shape=box, style=rounded, fontname="Helvetica"];',
           '  edge [fontname="Helvetica", fontsize=10];']
    for node in result.nodes:
        out.append(f"  {_id(node.name)};")
    cables: list[Cable] = [c.cable for c in result.observation.cables]
    if any(c.to_switch for c in cables) or (
            result.declared and any(c.to_switch for c in result.declared.cables)):
        out.append(f'  {_id(SWITCH)} [shape=ellipse];')
    declared = multiset(result.declared.cables) if result.declared else None
    one_twin = {f.subject for f in result.findings if f.code == "one-twin"}
    for item in result.observation.cables:
        c = item.cable
        attrs = [f'taillabel="{_port(c.a)}"', f'headlabel="{_port(c.b)}"',
                 f'label="{_rails(item.rails)}"']
        if declared is not None and declared[cable_key(c)] <= 0:
            attrs.append("color=red")
        elif declared is not None:
            declared[cable_key(c)] -= 1
        if str(c.a) in one_twin or str(c.b) in one_twin:
            attrs.append("color=orange")
        out.append(f"  {_id(c.a.node)} -- {_id(c.b.node)} [{', '.join(attrs)}];")
    if declared is not None:
        for key, count in declared.items():
            for _ in range(max(0, count)):
                c = to_cable(key)
                out.append(f"  {_id(c.a.node)} -- {_id(c.b.node)} [style=dashed, color=grey, "
                           f'label="declared, missing", taillabel="{_port(c.a)}", '
                           f'headlabel="{_port(c.b)}"];')
    out.append("}")
    return "\n".join(out) + "\n"


def _port(ref) -> str:
    return "" if ref.port is None else f"p{ref.port}"


def summary_line(result: Discovery) -> str:
    drift = sum(f.severity == DRIFT for f in result.findings)
    errors = sum(f.severity == ERROR for f in result.findings)
    return f"{result.verdict}: {drift} drift finding(s), {errors} error(s)"
