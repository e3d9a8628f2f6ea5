"""A validate report as text in each `--format`: table (rich, plain unless on a terminal),
json (DESIGN.md shape), junit. What `-o FILE` writes is exactly what stdout would show."""

from __future__ import annotations

import io
import json

from sparkctl.checks.result import Report, Verdict
from sparkctl.validate.table import format_value, rows

FORMATS = ("table", "json", "junit")
STYLE = {"pass": "green", "info": "cyan", "skipped": "magenta", "degraded": "yellow",
         "fail": "red"}


def to_table(report: Report, title: str, *, color: bool = False, not_applicable=()) -> str:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"sparkctl validate: {title}", show_lines=False)
    for name in ("Node", "Rail", "Check", "Target", "Verdict", "Measured", "Expected",
                 "Diagnosis"):
        table.add_column(name, overflow="fold")
    previous = None
    for row in rows(report.checks):
        if previous is not None and row.node != previous:
            table.add_section()
        previous = row.node
        c = row.check
        style = STYLE.get(str(c.verdict), "")
        diagnosis = c.diagnosis if c.verdict in (Verdict.PASS, Verdict.INFO) else (
            c.diagnosis + (f" Fix: {c.hint}" if c.hint else ""))
        table.add_row(row.node, row.rail, c.id, row.target,
                      f"[{style}]{c.verdict}[/{style}]", format_value(c.measured, c.unit),
                      format_value(c.expected, c.unit), diagnosis)
    buffer = io.StringIO()
    # Colour only on a terminal; a file (-o) or a pipe gets plain text.
    console = Console(file=buffer, width=200 if not color else None, force_terminal=color,
                      no_color=not color, soft_wrap=False)
    console.print(table)
    counts = {v: sum(1 for c in report.checks if c.verdict == v) for v in STYLE}
    shown = ", ".join(f"{n} {v}" for v, n in counts.items() if n or v in ("pass", "fail"))
    console.print(f"verdict: {report.verdict}  ({shown}) in {report.duration_s:.1f} s",
                  highlight=False)
    if not_applicable:
        console.print("not applicable here: " + "; ".join(
            f"{s.id} ({s.reason})" for s in not_applicable), highlight=False)
    return buffer.getvalue()


def render(report: Report, fmt: str, title: str, *, color: bool = False,
           not_applicable=(), junit_degraded: str = "fail") -> str:
    if fmt == "json":
        from sparkctl.outputs import versioned

        return json.dumps(versioned("validate", report.to_dict()), indent=2) + "\n"
    if fmt == "junit":
        return report.to_junit_xml("sparkctl.validate", degraded=junit_degraded,
                                   not_applicable=not_applicable)
    return to_table(report, title, color=color, not_applicable=not_applicable)


def summary_line(report: Report, title: str) -> str:
    bad = [c for c in report.checks if c.verdict not in (Verdict.PASS, Verdict.INFO)]
    head = (f"sparkctl validate {title}: {str(report.verdict).upper()} ({len(bad)} of "
            f"{len(report.checks)} checks not passing, {report.duration_s:.1f} s)")
    if not bad:
        return head
    first = sorted(bad, key=lambda c: -c.verdict.severity)[0]
    return f"{head}: {first.id} {first.subject}: {first.diagnosis}"
