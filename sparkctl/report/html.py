"""`validate --format html`: one self-contained page (inline CSS and SVG, nothing fetched).

The cabling diagram coloured by verdict, each rail's bandwidth as a bar against the rail's
ceiling, the collective result, then every check with its diagnosis and fix. Every value
from a report or a cluster file is escaped (html.escape) before it reaches the page.
"""

from __future__ import annotations

from html import escape

from sparkctl.checks.result import CheckResult, Report, Verdict
from sparkctl.report.summary import MARK, WORD, counts_text
from sparkctl.validate.table import format_value, rows

COLOUR = {Verdict.PASS: "#2e7d32", Verdict.INFO: "#0277bd", Verdict.SKIPPED: "#8e24aa",
          Verdict.DEGRADED: "#ef6c00", Verdict.FAIL: "#c62828"}

CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;margin:24px;
color:#222;max-width:1200px}
h1{font-size:1.4em;margin:0 0 4px} h2{font-size:1.1em;margin:28px 0 8px}
.verdict{display:inline-block;padding:2px 10px;border-radius:4px;color:#fff;font-weight:600}
.meta{color:#555} svg text{font-family:inherit}
table{border-collapse:collapse;width:100%;font-size:.9em}
td,th{border-bottom:1px solid #ddd;padding:4px 6px;text-align:left;vertical-align:top}
th{background:#f4f4f4} .mark{font-weight:700;text-align:center}
#checks td:nth-child(2),#checks td:nth-child(3),#checks td:nth-child(4){white-space:nowrap}
.bar{position:relative;height:16px;background:#eee;border-radius:3px;min-width:260px}
.bar span{position:absolute;left:0;top:0;bottom:0;border-radius:3px}
.bar i{position:absolute;top:-3px;bottom:-3px;border-left:2px dashed #333}
.hint{color:#444} .small{font-size:.85em;color:#555}
"""


def _node_of(subject: str) -> str:
    return subject.split(" ", 1)[0].split("/", 1)[0]


def _worst(checks) -> Verdict | None:
    checks = [c for c in checks if c.verdict is not Verdict.INFO]
    return Verdict.worst(c.verdict for c in checks) if checks else None


def _blamed(checks: list[CheckResult]) -> list[tuple[str, CheckResult]]:
    """(the interface or node a check is held against, the check), for colouring.

    A check of one end (carrier, MTU, RDMA, ssh) is that end's. A check between two ends
    (ping, tcp, a rail test) that did not pass is held against the end most of the failing
    checks of its id share (every ping to a dead spark-2 names spark-2, not the senders), or
    against both ends when none is shared; passing ones against both."""
    from collections import Counter

    out: list[tuple[str, CheckResult]] = []
    pairs = []
    for c in checks:
        if " -> " not in c.subject:
            out.append((c.subject, c))
            continue
        left, _, right = c.subject.partition(" -> ")
        pairs.append((c, (left.strip(), right.split(" ", 1)[0].strip())))
    bad = Counter((c.id, end) for c, ends in pairs
                  if c.verdict not in (Verdict.PASS, Verdict.INFO) for end in ends)
    for c, ends in pairs:
        most = max(bad[(c.id, e)] for e in ends)
        shared = [e for e in ends if bad[(c.id, e)] == most]
        if c.verdict in (Verdict.PASS, Verdict.INFO) or most <= 1:
            shared = list(ends)
        out += [(end, c) for end in shared]
    return out


def rail_ceiling_gbps(target) -> float | None:
    """What one twin rail can carry: half the port's line rate on hardware (two twins share
    a 200 Gb/s port); the lab's shaped rate where the lab knows it."""
    if target is None:
        return None
    platform = target.platform
    if platform.link_speed_mbps:
        return platform.link_speed_mbps / 1000 / 2
    if platform.rail_floor is not None:
        from sparkctl.platform import LAB_RAIL_TOLERANCE

        return platform.rail_floor.minimum / (1 - LAB_RAIL_TOLERANCE)
    return None


def diagram_svg(target, checks: list[CheckResult]) -> str:
    from sparkctl.render.layout import layout
    from sparkctl.topology.hardware import RAILS, hca, netdev
    from sparkctl.topology.model import SWITCH

    places = layout(target.cluster)
    own = _blamed(checks)
    by_node: dict[str, list[CheckResult]] = {}
    for subject, check in own:
        by_node.setdefault(_node_of(subject), []).append(check)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" id="cabling" role="img" '
           f'width="{places.width:.0f}" height="{places.height + 10:.0f}" '
           f'viewBox="0 0 {places.width:.0f} {places.height + 10:.0f}">']
    labels: list[str] = []
    for wire in places.wires:
        ifnames = set()
        for node, port in ((wire.a, wire.a_port), (wire.b, wire.b_port)):
            if port is not None:
                ifnames |= {f"{node}/{dev(port, r)}" for r in RAILS for dev in (netdev, hca)}
        on_cable = [c for subject, c in own if subject in ifnames]
        verdict = _worst(on_cable)
        colour = COLOUR[verdict] if verdict else "#999"
        (x1, y1), (x2, y2) = wire.start, wire.end
        out.append(f'<line class="cable" data-verdict="{escape(str(verdict or "none"))}" '
                   f'x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" '
                   f'stroke="{colour}" stroke-width="5"><title>{escape(wire.cable)}: '
                   f'{escape(WORD[verdict] if verdict else "not checked")}</title></line>')
        # port names sit on the cable a little way out from the box, drawn after the boxes
        length = max(1.0, ((x2 - x1) ** 2 + (y2 - y1) ** 2) ** 0.5)
        ux, uy = (x2 - x1) / length, (y2 - y1) / length
        for (x, y), port, sign in (((x1, y1), wire.a_port, 1), ((x2, y2), wire.b_port, -1)):
            if port is not None:
                lx, ly = x + sign * ux * 22 - uy * 12, y + sign * uy * 22 + ux * 12
                labels.append(f'<text class="port" x="{lx:.1f}" y="{ly + 4:.1f}" '
                              f'font-size="12" text-anchor="middle">p{port}</text>')
    for box in places.boxes:
        verdict = _worst(by_node.get(box.name, [])) if box.name != SWITCH else None
        fill = "#eeeeee" if box.name == SWITCH else (COLOUR[verdict] if verdict else "#999")
        text_colour = "#222" if box.name == SWITCH else "#fff"
        label = "RoCE switch" if box.name == SWITCH else box.name
        out.append(f'<g class="node" data-node="{escape(box.name)}" '
                   f'data-verdict="{escape(str(verdict or "none"))}">'
                   f'<rect x="{box.x:.1f}" y="{box.y:.1f}" width="{box.w:.1f}" '
                   f'height="{box.h:.1f}" rx="8" fill="{fill}" stroke="#333"/>'
                   f'<text x="{box.center[0]:.1f}" y="{box.center[1] - 4:.1f}" '
                   f'text-anchor="middle" font-size="16" font-weight="600" '
                   f'fill="{text_colour}">{escape(label)}</text>'
                   + (f'<text x="{box.center[0]:.1f}" y="{box.center[1] + 16:.1f}" '
                      f'text-anchor="middle" font-size="12" fill="{text_colour}">'
                      f'{escape(WORD[verdict]) if verdict else ""}</text>'
                      if box.name != SWITCH else "") + "</g>")
    out += labels
    out.append("</svg>")
    return "".join(out)


def _bars(checks: list[CheckResult], ceiling: float | None) -> str:
    rails = [c for c in checks if c.id == "rail.bandwidth"]
    if not rails:
        return '<p class="small">No rail was measured in this run.</p>'
    top: float = ceiling or max(
        [float(c.measured) for c in rails if isinstance(c.measured, int | float)]
        + [float(c.expected) for c in rails if isinstance(c.expected, int | float)] + [1.0])
    out = ['<table id="rails"><tr><th>rail test</th><th>verdict</th><th>Gb/s</th>'
           f'<th>against the ceiling ({escape(f"{top:g}")} Gb/s; dashed: the floor)</th></tr>']
    for c in rails:
        measured = c.measured if isinstance(c.measured, int | float) else None
        pct = 0.0 if measured is None else max(0.0, min(100.0, measured / top * 100))
        floor = "" if not isinstance(c.expected, int | float) else \
            f'<i style="left:{min(100.0, c.expected / top * 100):.1f}%"></i>'
        out.append(f'<tr class="rail" data-verdict="{escape(str(c.verdict))}">'
                   f"<td>{escape(c.subject)}</td>"
                   f'<td style="color:{COLOUR[c.verdict]}">{escape(WORD[c.verdict])}</td>'
                   f"<td>{escape(format_value(measured, None))}</td>"
                   f'<td><div class="bar"><span style="width:{pct:.1f}%;'
                   f'background:{COLOUR[c.verdict]}"></span>{floor}</div></td></tr>')
    out.append("</table>")
    return "".join(out)


def _collective(checks: list[CheckResult]) -> str:
    found = [c for c in checks if c.id.startswith("collective.")]
    if not found:
        return '<p class="small">No collective ran in this run.</p>'
    return "".join(
        f'<p class="collective" data-verdict="{escape(str(c.verdict))}">'
        f'<span class="verdict" style="background:{COLOUR[c.verdict]}">'
        f"{escape(WORD[c.verdict])}</span> <b>{escape(c.id)}</b>: "
        f"{escape(format_value(c.measured, c.unit))} (floor "
        f"{escape(format_value(c.expected, c.unit))}). {escape(c.diagnosis)}</p>"
        for c in found)


def _checks_table(checks: list[CheckResult]) -> str:
    out = ['<table id="checks"><tr><th></th><th>node</th><th>rail</th><th>check</th>'
           "<th>subject</th><th>measured</th><th>expected</th><th>diagnosis and fix</th></tr>"]
    for row in sorted(rows(checks), key=lambda r: -r.check.verdict.severity):
        c = row.check
        fix = f'<div class="hint">fix: {escape(c.hint)}</div>' if c.hint and \
            c.verdict not in (Verdict.PASS, Verdict.INFO) else ""
        out.append(f'<tr class="check" data-verdict="{escape(str(c.verdict))}">'
                   f'<td class="mark" style="color:{COLOUR[c.verdict]}">'
                   f"{escape(MARK[c.verdict])}</td><td>{escape(row.node)}</td>"
                   f"<td>{escape(row.rail)}</td><td>{escape(c.id)}</td>"
                   f"<td>{escape(row.target)}</td>"
                   f"<td>{escape(format_value(c.measured, c.unit))}</td>"
                   f"<td>{escape(format_value(c.expected, c.unit))}</td>"
                   f'<td><div class="diagnosis">{escape(c.diagnosis)}</div>{fix}</td></tr>')
    out.append("</table>")
    return "".join(out)


def render_html(report: Report, title: str, *, target=None, not_applicable=()) -> str:
    verdict = Verdict(report.verdict)
    diagram = diagram_svg(target, report.checks) if target is not None and \
        target.cluster.spec.cables else '<p class="small">No cables (one Spark).</p>'
    na = "".join(f"<li>{escape(s.id)}: {escape(s.reason)}</li>" for s in not_applicable)
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{escape(title)}</title><style>{CSS}</style></head><body>"
        f"<h1>{escape(title)}</h1>"
        f'<p><span id="verdict" class="verdict" style="background:{COLOUR[verdict]}">'
        f'{escape(WORD[verdict])}</span> <span class="meta">{escape(counts_text(report))}, '
        f"started {escape(report.started)}, {report.duration_s:.1f} s</span></p>"
        f"<h2>Cabling</h2>{diagram}"
        f"<h2>Rail bandwidth</h2>{_bars(report.checks, rail_ceiling_gbps(target))}"
        f"<h2>Collective</h2>{_collective(report.checks)}"
        f"<h2>Every check (worst first)</h2>{_checks_table(report.checks)}"
        + (f"<h2>Not applicable here</h2><ul>{na}</ul>" if na else "")
        + "</body></html>\n")
