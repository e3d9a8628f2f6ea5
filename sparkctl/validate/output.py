"""A validate report as text in each `--format`: table (the summary, or with verbose every
check in a rich table; plain unless on a terminal), json (DESIGN.md shape), junit.
What `-o FILE` writes is exactly what stdout would show."""

from __future__ import annotations

import io
import json

from sparkctl.checks.result import Report, Verdict
from sparkctl.validate.table import format_value, rows

FORMATS = ("table", "json", "junit", "html")
STYLE = {"pass": "green", "info": "cyan", "skipped": "magenta", "degraded": "yellow",
         "fail": "red"}


def to_table(report: Report, title: str, *, color: bool = False, not_applicable=(),
             width: int = 80) -> str:
    from rich.markup import escape
    from rich.table import Table

    from sparkctl.report.terminal import Terminal, make_console

    table = Table(title=escape(f"sparkctl validate: {title}"), show_lines=False)
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
        table.add_row(escape(row.node), row.rail, c.id, escape(row.target),
                      f"[{style}]{c.verdict}[/{style}]",
                      escape(format_value(c.measured, c.unit)),
                      escape(format_value(c.expected, c.unit)), escape(diagnosis))
    buffer = io.StringIO()
    # Colour only on a terminal; a file (-o) or a pipe gets plain text.
    console = make_console(buffer, Terminal(color=color, width=width))
    console.print(table)
    counts = {v: sum(1 for c in report.checks if c.verdict == v) for v in STYLE}
    shown = ", ".join(f"{n} {v}" for v, n in counts.items() if n or v in ("pass", "fail"))
    console.print(f"verdict: {report.verdict}  ({shown}) in {report.duration_s:.1f} s",
                  highlight=False)
    if not_applicable:
        console.print(escape("not applicable here: " + "; ".join(
            f"{s.id} ({s.reason})" for s in not_applicable)), highlight=False)
    return buffer.getvalue()


def render(report: Report, fmt: str, title: str, *, color: bool = False,
           not_applicable=(), verbose: bool = False, width: int = 80, target=None,
           junit_degraded: str = "fail") -> str:
    """`verbose`: the table of every check instead of the summary; `target`: the cluster the
    HTML page draws."""
    if fmt == "json":
        from sparkctl.outputs import versioned

        return json.dumps(versioned("validate", report.to_dict()), indent=2) + "\n"
    if fmt == "junit":
        return report.to_junit_xml("sparkctl.validate", degraded=junit_degraded,
                                   not_applicable=not_applicable)
    if fmt == "html":
        from sparkctl.report.html import render_html

        return render_html(report, f"sparkctl validate: {title}", target=target,
                           not_applicable=not_applicable)
    if verbose:
        return to_table(report, title, color=color, not_applicable=not_applicable,
                        width=width)
    from sparkctl.report.summary import render_summary

    return render_summary(report, f"sparkctl validate: {title}", width=width, color=color,
                          not_applicable=not_applicable)


def summary_line(report: Report, title: str) -> str:
    bad = [c for c in report.checks if c.verdict not in (Verdict.PASS, Verdict.INFO)]
    head = (f"sparkctl validate {title}: {str(report.verdict).upper()} ({len(bad)} of "
            f"{len(report.checks)} checks not passing, {report.duration_s:.1f} s)")
    if not bad:
        return head
    first = sorted(bad, key=lambda c: -c.verdict.severity)[0]
    return f"{head}: {first.id} {first.subject}: {first.diagnosis}"
