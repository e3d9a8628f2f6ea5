"""Health run output: table, JSON (DESIGN.md shape + skipped), JUnit XML, Prometheus text.

The Prometheus text is for node_exporter's textfile collector, which reads every *.prom file
in its directory at each scrape: the file is written to a temporary name in the same
directory and renamed (sparkctl.fileio.atomic_write), so a scrape never sees half a file.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from pathlib import Path

from sparkctl.checks.result import Verdict
from sparkctl.fileio import atomic_write
from sparkctl.health.run import HealthRun


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(labels: dict[str, str]) -> str:
    if not labels:
        return ""
    return "{" + ",".join(f'{k}="{_escape(str(v))}"' for k, v in labels.items()) + "}"


def _value(value: float) -> str:
    return repr(float(value))


def to_prometheus(run: HealthRun, *, now: float | None = None) -> str:
    """node_exporter textfile text: every series labelled with the run's cluster id, so two
    clusters' files in one textfile directory never collide (sparkctl.health.metrics)."""
    from sparkctl.health.metrics import BY_SOURCE, METRICS, STATUS_CODE, UP_OF

    cluster = {"cluster": run.cluster}
    series: dict[str, dict[str, str]] = defaultdict(dict)  # name -> label text -> value

    def put(name: str, labels: dict[str, str], value: float) -> None:
        # one value per series: a later sample of the same series replaces an earlier one
        series[name][_labels({**cluster, **labels})] = _value(value)

    put("sparkctl_cluster_info", {"target": run.target, "platform": run.platform}, 1)
    if run.rail_floor_gbps is not None:
        put("sparkctl_rail_bandwidth_floor_bytes_per_second", {}, run.rail_floor_gbps * 1e9 / 8)
    for sample in run.samples:
        if sample.metric in UP_OF:
            put(UP_OF[sample.metric], sample.labels, sample.value is not None)
        known = BY_SOURCE.get(sample.metric)
        if sample.value is None or known is None:
            continue
        put(known.name, sample.labels, sample.value * known.scale)
    for check in run.report.checks:
        labels = {"check": check.id, "subject": check.subject}
        put("sparkctl_check_ok", labels, check.verdict in (Verdict.PASS, Verdict.INFO))
        put("sparkctl_check_status", labels, STATUS_CODE[str(check.verdict)])
    for skip in run.skipped:
        put("sparkctl_check_not_applicable", {"check": skip.id, "subject": skip.subject}, 1)
    put("sparkctl_health_status", {}, STATUS_CODE[str(run.report.verdict)])
    put("sparkctl_health_ok", {}, run.report.verdict is Verdict.PASS)
    put("sparkctl_last_run_timestamp_seconds", {}, time.time() if now is None else now)
    put("sparkctl_last_run_duration_seconds", {}, run.report.duration_s)
    lines = []
    for name in sorted(series):
        lines.append(f"# HELP {name} {METRICS[name].help}")
        lines.append(f"# TYPE {name} {METRICS[name].type}")
        lines += [f"{name}{labels} {value}" for labels, value in series[name].items()]
    return "\n".join(lines) + "\n"


def to_json(run: HealthRun) -> str:
    from sparkctl.outputs import versioned

    return json.dumps(versioned("health", run.to_dict()), indent=2) + "\n"


def to_junit(run: HealthRun, *, degraded: str = "fail") -> str:
    return run.report.to_junit_xml("sparkctl.health", degraded=degraded,
                                   not_applicable=run.skipped)


def write_output(text: str, path: Path | None) -> None:
    if path is None:
        import sys

        sys.stdout.write(text)
    else:
        atomic_write(path, text)


def _problems(run: HealthRun) -> list:
    return [c for c in run.report.checks if c.verdict not in (Verdict.PASS, Verdict.INFO)]


def summary_line(run: HealthRun) -> str:
    """One line for cron mail: the verdict, the counts, and the first problems."""
    bad = _problems(run)
    head = (f"sparkctl health: {str(run.report.verdict).upper()} "
            f"({len(bad)} of {len(run.report.checks)} checks not passing, "
            f"{run.report.duration_s:.1f} s)")
    if not run.report.checks:
        return f"{head}: nothing was checked"
    if not bad:
        return head
    firsts = "; ".join(f"{c.id} {c.subject}: {c.diagnosis}" for c in
                       sorted(bad, key=lambda c: -c.verdict.severity)[:2])
    more = f" (+{len(bad) - 2} more)" if len(bad) > 2 else ""
    return f"{head}: {firsts}{more}"


STYLE = {"pass": "green", "info": "cyan", "skipped": "magenta", "degraded": "yellow",
         "fail": "red"}


def to_table(run: HealthRun, *, verbose: bool = False, color: bool = False,
             width: int = 80) -> str:
    """Problems first, one row each; passes as one count per check (all rows with verbose).
    Plain text unless `color` (a terminal)."""
    import io
    from collections import Counter

    from rich.markup import escape
    from rich.table import Table

    from sparkctl.report.terminal import Terminal, make_console

    shown = [c for c in run.report.checks if verbose or c.verdict is not Verdict.PASS]
    buffer = io.StringIO()
    console = make_console(buffer, Terminal(color=color, width=width))
    if shown or run.skipped:
        table = Table(title=escape(f"sparkctl health: {run.target}"))
        for col in ("verdict", "check", "subject", "measured", "diagnosis"):
            table.add_column(col, overflow="fold")
        for c in sorted(shown, key=lambda c: (-c.verdict.severity, c.kind, c.subject)):
            measured = "" if c.measured is None else \
                f"{c.measured}{' ' + c.unit if c.unit else ''}"
            table.add_row(f"[{STYLE[str(c.verdict)]}]{c.verdict}[/]", c.id, escape(c.subject),
                          escape(measured),
                          escape(c.diagnosis + (f"\nhint: {c.hint}" if c.hint else "")))
        for s in run.skipped:
            table.add_row("[dim]n/a[/]", s.id, escape(s.subject), "", escape(s.reason))
        console.print(table)
    passed = Counter(c.id for c in run.report.checks if c.verdict is Verdict.PASS)
    if passed and not verbose:
        console.print("[green]passed:[/] " + ", ".join(f"{k} x{v}" for k, v in
                                                        sorted(passed.items())))
    console.print(escape(summary_line(run)), highlight=False)
    return buffer.getvalue()


def render(run: HealthRun, fmt: str, *, color: bool = False, verbose: bool = False,
           width: int = 80, junit_degraded: str = "fail") -> str:
    """The run in one of the formats `health --format` takes (the text `-o` writes): table
    is the summary (sparkctl.report.summary), every check with `verbose`."""
    if fmt == "junit":
        return to_junit(run, degraded=junit_degraded)
    if fmt == "table" and verbose:
        return to_table(run, verbose=True, color=color, width=width)
    if fmt == "table":
        from sparkctl.report.summary import render_summary

        return render_summary(run.report, f"sparkctl health: {run.target}", width=width,
                              color=color, not_applicable=run.skipped,
                              hint="Every check in a table: --verbose; for tools: --format "
                                   "json|prometheus|junit.")
    return {"json": to_json, "junit": to_junit, "prometheus": to_prometheus}[fmt](run)
