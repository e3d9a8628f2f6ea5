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
from sparkctl.health.samples import COLLECTIVE_BUSBW, RAIL_BANDWIDTH

# Measurements that can fail: each gets a `<name>_up` series (1 measured, 0 failed), and a
# failed one has no sample of its own (a failed measurement has no value).
MEASURED = {RAIL_BANDWIDTH: "rail_bandwidth_up", COLLECTIVE_BUSBW: "collective_busbw_up"}

PREFIX = "sparkctl_"
_HELP = {
    "node_up": "1 if the node answered over SSH within the budget",
    "rail_up": "1 if the rail netdev exists and has carrier",
    "rail_speed_mbps": "Link speed the rail netdev reports (Mb/s)",
    "rail_mtu_bytes": "MTU of the rail netdev",
    "rail_bandwidth_gbps": "Bounded probe bandwidth per rail (Gb/s); absent when the test "
                           "failed",
    "rail_bandwidth_up": "1 if the rail's bandwidth test produced a figure, 0 if it failed",
    "collective_busbw_up": "1 if the collective produced a busbw, 0 if it failed",
    "collective_busbw_gbps": "Collective bus bandwidth from validate runs (GB/s)",
    "rdma_counter": "RDMA port error counter, absolute",
    "rdma_counter_delta": "RDMA port error counter increase since the previous run",
    "gpu_temperature_celsius": "GPU temperature",
    "gpu_power_watts": "GPU power draw",
    "gpu_ecc_uncorrected_errors": "Uncorrectable volatile ECC errors",
    "gpu_sm_clock_mhz": "Current SM clock",
    "gpu_throttle_reasons": "Active clock throttle/event reasons bitmask",
    "disk_used_ratio": "Used fraction of the filesystem",
    "memory_available_ratio": "MemAvailable / MemTotal",
    "memory_pressure_full_avg10": "PSI memory 'full' avg10 (%)",
    "drift_ok": "1 if the file on the node matches the plan",
}


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(labels: dict[str, str]) -> str:
    if not labels:
        return ""
    return "{" + ",".join(f'{k}="{_escape(str(v))}"' for k, v in labels.items()) + "}"


def _value(value: float) -> str:
    return repr(float(value))


def to_prometheus(run: HealthRun, *, now: float | None = None) -> str:
    series: dict[str, list[str]] = defaultdict(list)
    help_text: dict[str, str] = {}
    for sample in run.samples:
        if sample.metric in MEASURED:
            up = PREFIX + MEASURED[sample.metric]
            help_text.setdefault(up, _HELP[MEASURED[sample.metric]])
            series[up].append(f"{up}{_labels(sample.labels)} "
                              f"{_value(sample.value is not None)}")
        if sample.value is None:
            continue
        name = PREFIX + sample.metric
        help_text.setdefault(name, _HELP.get(sample.metric, sample.metric.replace("_", " ")))
        series[name].append(f"{name}{_labels(sample.labels)} {_value(sample.value)}")
    check_ok = PREFIX + "check_ok"
    help_text[check_ok] = ("1 if the check passed (or is info), 0 if degraded, failed or "
                           "skipped (not measured)")
    for check in run.report.checks:
        labels = {"check": check.id, "subject": check.subject, "verdict": str(check.verdict)}
        series[check_ok].append(f"{check_ok}{_labels(labels)} "
                                f"{_value(check.verdict in (Verdict.PASS, Verdict.INFO))}")
    skipped = PREFIX + "check_skipped"
    help_text[skipped] = "1 for a check that does not apply on this platform"
    for skip in run.skipped:
        series[skipped].append(f"{skipped}{_labels({'check': skip.id, 'subject': skip.subject})}"
                               " 1.0")
    status = {Verdict.PASS: 0, Verdict.INFO: 0, Verdict.SKIPPED: 3, Verdict.DEGRADED: 1,
              Verdict.FAIL: 2}[run.report.verdict]
    for name, text, value in (
            ("health_status", "Overall verdict: 0 pass, 1 degraded, 2 fail, 3 skipped (not "
                              "everything was measured)", status),
            ("health_ok", "1 if the overall verdict is pass", run.report.verdict is Verdict.PASS),
            ("last_run_timestamp_seconds", "When the last health run finished (Unix time)",
             time.time() if now is None else now),
            ("last_run_duration_seconds", "How long the last health run took",
             run.report.duration_s)):
        help_text[PREFIX + name] = text
        series[PREFIX + name].append(f"{PREFIX}{name} {_value(value)}")
    lines = []
    for name in sorted(series):
        lines.append(f"# HELP {name} {help_text[name]}")
        lines.append(f"# TYPE {name} gauge")
        lines += series[name]
    return "\n".join(lines) + "\n"


def to_json(run: HealthRun) -> str:
    return json.dumps(run.to_dict(), indent=2) + "\n"


def to_junit(run: HealthRun) -> str:
    return run.report.to_junit_xml(suite_name="sparkctl.health")


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
           width: int = 80) -> str:
    """The run in one of the formats `health --format` takes (the text `-o` writes): table
    is the summary (sparkctl.report.summary), every check with `verbose`."""
    if fmt == "table" and verbose:
        return to_table(run, verbose=True, color=color, width=width)
    if fmt == "table":
        from sparkctl.report.summary import render_summary

        return render_summary(run.report, f"sparkctl health: {run.target}", width=width,
                              color=color, not_applicable=run.skipped,
                              hint="Every check in a table: --verbose; for tools: --format "
                                   "json|prometheus|junit.")
    return {"json": to_json, "junit": to_junit, "prometheus": to_prometheus}[fmt](run)
