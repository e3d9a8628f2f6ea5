"""The report a person reads first: one line per node and rail with each check as a mark,
then every check that did not pass in full (diagnosis and fix).

Pure text (no rich): `render_summary(report, ...)` returns lines that never exceed `width`
(at least 60 columns are needed for the matrix of a Spark's four rails). Marks:
  ✓ pass   ! degraded   ✗ fail   ? skipped (not measured, with why)   i info (not judged)
A cell holds the worst verdict of the checks of that id on that node/rail (ping and tcp
have one check per peer); blank: no such check there.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sparkctl.checks.result import CheckResult, Report, Verdict
from sparkctl.validate.table import format_value, rows

MARK = {Verdict.PASS: "✓", Verdict.DEGRADED: "!", Verdict.FAIL: "✗", Verdict.SKIPPED: "?",
        Verdict.INFO: "i"}
WORD = {Verdict.PASS: "pass", Verdict.DEGRADED: "degraded", Verdict.FAIL: "fail",
        Verdict.SKIPPED: "skipped", Verdict.INFO: "info"}
_ANSI = {Verdict.PASS: "32", Verdict.DEGRADED: "33", Verdict.FAIL: "31", Verdict.SKIPPED: "35",
         Verdict.INFO: "36"}

# Column headers, at most 5 characters; an id not listed gets its last word, cut to 5.
SHORT = {
    "node.ssh": "ssh", "link.facts": "facts", "link.stray": "stray", "host.script": "scrpt",
    "host.disk": "disk", "host.memory": "mem", "drift.nccl_env": "nccl", "drift.hostfile":
    "hosts", "gpu.state": "gpu", "gpu.throttle": "thrtl", "gpu.driver_version": "drv",
    "link.carrier": "carr", "link.speed": "speed", "link.mtu": "mtu", "link.address": "addr",
    "link.neighbours": "neigh", "link.ping": "ping", "link.tcp": "tcp", "rdma.port": "rdma",
    "rdma.gid": "gid", "rdma.counters": "errs", "rdma.counter_delta": "errs+",
    "rail.bandwidth": "bw", "regression.rail_bandwidth_gbps": "trend",
}
_COLUMN_ORDER = ("node.ssh", "link.facts", "host.script", "host.disk", "host.memory",
                 "drift.nccl_env", "drift.hostfile", "gpu.state", "gpu.throttle",
                 "link.stray", "link.carrier", "link.speed", "link.mtu", "link.address",
                 "rdma.port", "rdma.gid", "rdma.counters", "rdma.counter_delta",
                 "link.neighbours", "link.ping", "link.tcp", "rail.bandwidth",
                 "regression.rail_bandwidth_gbps")


def short(check_id: str) -> str:
    return SHORT.get(check_id) or check_id.rsplit(".", 1)[-1][:5]


def _paint(text: str, verdict: Verdict, color: bool) -> str:
    return f"\x1b[{_ANSI[verdict]}m{text}\x1b[0m" if color else text


@dataclass(frozen=True)
class Matrix:
    """Rows (label, {check id: worst verdict}) and the check ids that are its columns."""

    columns: tuple[str, ...]
    rows: tuple[tuple[str, str, dict[str, Verdict]], ...]  # node, rail, cells


def _order(check_id: str) -> tuple[int, str]:
    return (_COLUMN_ORDER.index(check_id) if check_id in _COLUMN_ORDER
            else len(_COLUMN_ORDER), check_id)


def matrices(checks: Iterable[CheckResult]) -> tuple[Matrix, Matrix, list[CheckResult]]:
    """(per node, per node and rail, cluster-wide checks)."""
    nodes: dict[str, dict[str, Verdict]] = {}
    node_rails: dict[tuple[str, str], dict[str, Verdict]] = {}
    cluster: list[CheckResult] = []
    for row in rows(list(checks)):
        if row.node == "cluster":
            cluster.append(row.check)
            continue
        cells = (node_rails.setdefault((row.node, row.rail), {}) if row.rail
                 else nodes.setdefault(row.node, {}))
        old = cells.get(row.check.id)
        cells[row.check.id] = row.check.verdict if old is None else \
            Verdict.worst([old, row.check.verdict])
    for node in {n for n, _ in node_rails}:
        nodes.setdefault(node, {})
    node_cols = tuple(sorted({c for cells in nodes.values() for c in cells}, key=_order))
    rail_cols = tuple(sorted({c for cells in node_rails.values() for c in cells}, key=_order))
    by_node = Matrix(node_cols, tuple((n, "", nodes[n]) for n in sorted(nodes)))
    by_rail = Matrix(rail_cols, tuple((n, r, node_rails[(n, r)])
                                      for n, r in sorted(node_rails)))
    return by_node, by_rail, cluster


def _fit(text: str, width: int) -> str:
    return text if len(text) <= width else text[:max(1, width - 1)] + "…"


def _matrix_lines(matrix: Matrix, label: str, width: int, color: bool,
                  with_rail: bool) -> list[str]:
    if not matrix.columns or not matrix.rows:
        return []
    heads = [short(c) for c in matrix.columns]
    cells_w = sum(max(len(h), 1) + 1 for h in heads)
    rail_w = 6 if with_rail else 0  # "p1 r0 "
    name_w = min(max(len(label), *(len(n) for n, _, _ in matrix.rows)),
                 max(6, width - cells_w - rail_w - 1))
    lead = name_w + 1 + rail_w
    out = [(f"{label:<{name_w}} " + ("rail  " if with_rail else "")
            + " ".join(h for h in heads)).rstrip()]
    previous = None
    for node, rail, cells in matrix.rows:
        name = "" if node == previous else _fit(node, name_w)
        previous = node
        line = f"{name:<{name_w}} " + (f"{rail:<5} " if with_rail else "")
        marks = []
        for check_id, head in zip(matrix.columns, heads, strict=True):
            verdict = cells.get(check_id)
            mark = MARK[verdict] if verdict is not None else " "
            pad = " " * (len(head) - 1)
            # centre-ish: the mark under the header's first letter reads best in a grid
            marks.append((_paint(mark, verdict, color) if verdict is not None else mark) + pad)
        out.append((line + " ".join(marks)).rstrip())
    assert lead <= width
    return out


def _key_lines(columns: Iterable[str], width: int) -> list[str]:
    pairs = [f"{short(c)}={c}" for c in columns if short(c) != c]
    return textwrap.wrap("  ".join(pairs), width, initial_indent="key: ",
                         subsequent_indent="     ", break_on_hyphens=False)


def _order_in_report(check: CheckResult) -> int:
    from sparkctl.validate.table import _ORDER

    return _ORDER.index(check.id) if check.id in _ORDER else len(_ORDER)


def problem_groups(checks: Iterable[CheckResult]) -> list[list[CheckResult]]:
    """Checks that did not pass, worst first, causes before effects (a link's carrier before
    its pings); checks of one id, verdict and fix form one group."""
    problems = sorted((c for c in checks if c.verdict not in (Verdict.PASS, Verdict.INFO)),
                      key=lambda c: (-c.verdict.severity, _order_in_report(c), c.subject))
    groups: dict[tuple, list[CheckResult]] = {}
    for check in problems:
        groups.setdefault((check.id, check.verdict, check.hint), []).append(check)
    return list(groups.values())


def _problem_lines(group: list[CheckResult], width: int, color: bool) -> list[str]:
    first = group[0]
    verdict = first.verdict
    head = f"{MARK[verdict]} {WORD[verdict].upper()} {first.id} " + ", ".join(
        c.subject for c in group)
    lines = [_paint(line, verdict, color) if i == 0 else line for i, line in
             enumerate(textwrap.wrap(head, width, subsequent_indent="    ",
                                     break_on_hyphens=False))]
    wrap: dict[str, Any] = dict(width=width, initial_indent="  ", subsequent_indent="    ",
                                break_on_hyphens=False)
    seen: list[str] = []
    for check in group:
        text = check.diagnosis
        figures = [f"{word} {format_value(value, check.unit)}" for word, value in
                   (("measured", check.measured), ("expected", check.expected))
                   if value is not None]
        if figures:
            text = f"{text} ({', '.join(figures)})".strip()
        if text and text not in seen:
            seen.append(text)
    for text in seen:
        lines += textwrap.wrap(text, **wrap)
    if first.hint:
        lines += textwrap.wrap(f"fix: {first.hint}", **{**wrap, "subsequent_indent": "       "})
    return lines


def counts_text(report: Report) -> str:
    counted = {v: sum(1 for c in report.checks if c.verdict is v) for v in WORD}
    shown = ", ".join(f"{n} {WORD[v]}" for v, n in counted.items() if n)
    return f"{len(report.checks)} checks ({shown or 'none'})"


def render_summary(report: Report, title: str, *, width: int = 80, color: bool = False,
                   not_applicable: Iterable = (),
                   hint: str | None = "Every check in a table: --verbose; for tools: "
                                      "--format json|junit|html.") -> str:
    """The summary as text; every line at most `width` columns (min 60)."""
    width = max(60, width)
    by_node, by_rail, cluster = matrices(report.checks)
    out = textwrap.wrap(title, width, subsequent_indent="  ", break_on_hyphens=False)
    verdict = Verdict(report.verdict)
    out.append(_paint(f"verdict: {WORD[verdict]}", verdict, color)
               + f"  {counts_text(report)} in {report.duration_s:.1f} s")
    out += textwrap.wrap("✓ pass  ! degraded  ✗ fail  ? skipped (not measured)  i info (not "
                         "judged)", width, break_on_hyphens=False)
    for matrix, label, with_rail in ((by_node, "node", False), (by_rail, "node", True)):
        lines = _matrix_lines(matrix, label, width, color, with_rail)
        if lines:
            out += [""] + lines
    if cluster:
        out.append("")
        cells = [f"{_paint(MARK[c.verdict], c.verdict, color)} {c.id}"
                 f"{' ' + format_value(c.measured, c.unit) if c.measured is not None else ''}"
                 for c in cluster]
        out += _wrap_marked("cluster: ", cells, width)
    columns = [*by_node.columns, *by_rail.columns]
    if columns:
        out += _key_lines(columns, width)
    groups = problem_groups(report.checks)
    if groups:
        count = sum(len(g) for g in groups)
        out += ["", f"Not passing ({count}), worst first:"]
        for group in groups:
            out += _problem_lines(group, width, color)
    na = list(not_applicable)
    if na:
        out.append("")
        out += textwrap.wrap("not applicable here: " + "; ".join(
            f"{s.id} ({s.reason})" for s in na), width, subsequent_indent="  ",
            break_on_hyphens=False)
    if hint:
        out += [""] + textwrap.wrap(hint, width)
    return "\n".join(out) + "\n"


def _wrap_marked(prefix: str, cells: list[str], width: int) -> list[str]:
    """Join marked cells into lines of at most `width` visible columns."""
    lines, line, seen = [], prefix, len(prefix)
    for cell in cells:
        visible = len(_strip(cell))
        if seen + visible + 2 > width and line.strip():
            lines.append(line.rstrip())
            line, seen = " " * len(prefix), len(prefix)
        line += cell + "  "
        seen += visible + 2
    lines.append(line.rstrip())
    return lines


def _strip(text: str) -> str:
    import re

    return re.sub(r"\x1b\[[0-9;]*m", "", text)


def visible_width(line: str) -> int:
    """Columns a line takes on a terminal (ANSI colour codes take none)."""
    return len(_strip(line))
