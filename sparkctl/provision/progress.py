"""Live progress (one line per host: bar of tasks done, current task) and the final summary.

On a terminal the lines update in place; elsewhere (CI logs, pipes) only changes, failures
and unreachable hosts are printed, one line each.
"""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from sparkctl.provision.events import HostProgress
from sparkctl.provision.runner import ProgressObserver, RunResult

_STYLE = {"waiting": "dim", "running": "cyan", "done": "green", "failed": "red",
          "unreachable": "red"}


class RichProgress(ProgressObserver):
    def __init__(self, console: Console | None = None, action: str = "provisioning") -> None:
        self.console = console or Console(stderr=True)
        self.action = action
        self.live = self.console.is_terminal
        self._progress: Progress | None = None
        self._ids: dict[str, TaskID] = {}
        self._total = 0

    def start(self, hosts: tuple[str, ...], tasks_per_host: int, run_dir: Path) -> None:
        self._total = tasks_per_host
        self.console.print(f"{self.action} {len(hosts)} node{'s' if len(hosts) != 1 else ''}: "
                           f"{', '.join(hosts)}  (run record: {run_dir})")
        if not self.live:
            return
        width = max(len(h) for h in hosts) if hosts else 8
        self._progress = Progress(
            TextColumn(f"{{task.fields[host]:<{width}}}"),
            BarColumn(bar_width=30),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.fields[current]}"),
            console=self.console, transient=False, refresh_per_second=8)
        for host in hosts:
            self._ids[host] = self._progress.add_task(
                host, total=tasks_per_host, host=host, current="[dim]waiting[/]")
        self._progress.start()

    def host_changed(self, host: str, progress: HostProgress) -> None:
        if self._progress is None or host not in self._ids:
            return
        style = _STYLE.get(progress.status, "")
        current = progress.current_task if progress.status == "running" else progress.status
        task_id = self._ids[host]
        total = max(self._total, progress.done)
        if progress.status in ("done", "failed", "unreachable"):
            total = progress.done if progress.status == "done" else total
        self._progress.update(task_id, completed=progress.done, total=total,
                              current=f"[{style}]{escape(current)}[/]")

    def result(self, host: str, task: str, status: str, changed: bool) -> None:
        if self.live:
            return
        if status in ("failed", "unreachable") or changed:
            label = "changed" if status == "ok" else status
            self.console.print(f"{host}: {label}: {escape(task)}", highlight=False,
                               soft_wrap=True)

    def stop(self) -> None:
        if self._progress is not None:
            self._progress.stop()


def summary_table(result: RunResult, action: str = "provisioning") -> Table:
    table = Table(title=f"{action} {result.status} in {result.duration_s:.1f} s",
                  title_justify="left")
    for column in ("host", "ok", "changed", "failed", "unreachable", "skipped"):
        table.add_column(column, justify="left" if column == "host" else "right")
    for host in result.hosts:
        stats = result.stats.get(host)
        if stats is None:
            table.add_row(host, *["-"] * 5)
            continue
        bad = stats.failed or stats.unreachable
        table.add_row(f"[red]{host}[/]" if bad else host, str(stats.ok), str(stats.changed),
                      _count(stats.failed), _count(stats.unreachable), str(stats.skipped))
    return table


def _count(value: int) -> str:
    return f"[red]{value}[/]" if value else "0"


def failure_lines(result: RunResult) -> list[str]:
    """Every failed task as plain lines (never wrapped into a table cell: logs stay greppable)."""
    lines: list[str] = []
    for failure in result.failures:
        kind = "UNREACHABLE" if failure.unreachable else "FAILED"
        lines.append(f"{kind} {failure.host} | {failure.task}")
        lines.append(f"  message: {failure.message or '-'}")
        if failure.stderr_tail:
            lines.append("  stderr (last lines):")
            lines += [f"    {line}" for line in failure.stderr_tail.splitlines()]
    return lines


def print_diffs(console: Console, result: RunResult) -> None:
    from sparkctl.provision.events import unified

    for host, task, diff in result.diffs:
        text = unified(diff)
        if text:
            console.print(f"--- {host} | {escape(task)}", style="bold", highlight=False,
                          soft_wrap=True)
            console.print(escape(text.rstrip("\n")), highlight=False, soft_wrap=True)


def print_summary(console: Console, result: RunResult, action: str = "provisioning") -> None:
    console.print(summary_table(result, action))
    for line in failure_lines(result):
        style = "red" if not line.startswith(" ") else None
        console.print(escape(line), style=style, soft_wrap=True, highlight=False)
    console.print(f"run record: {result.run_dir}", highlight=False, soft_wrap=True)
