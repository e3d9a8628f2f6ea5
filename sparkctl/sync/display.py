"""How a sync looks on a terminal: a bar per node (bytes, rate, ETA), then a table."""

from __future__ import annotations

import io
import threading
from typing import TYPE_CHECKING

from sparkctl.sync.report import COMPLETE, SyncReport
from sparkctl.sync.run import Progress

if TYPE_CHECKING:
    from rich.progress import TaskID


def human_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1024
    return f"{n:.1f} TiB"


class ProgressBars:
    """rich progress, one row per node; rate and ETA are rich's own (a moving average)."""

    def __init__(self, console) -> None:
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )
        from rich.progress import Progress as RichProgress

        self._progress = RichProgress(
            TextColumn("{task.fields[node]:<12}"), BarColumn(), DownloadColumn(binary_units=True),
            TransferSpeedColumn(), TimeRemainingColumn(), TextColumn("{task.fields[state]}"),
            console=console, transient=False)
        self._tasks: dict[str, TaskID] = {}
        self._lock = threading.Lock()

    def __enter__(self) -> ProgressBars:
        self._progress.start()
        return self

    def __exit__(self, *exc) -> None:
        self._progress.stop()

    def update(self, p: Progress) -> None:
        with self._lock:
            task = self._tasks.get(p.node)
            if task is None:
                task = self._tasks[p.node] = self._progress.add_task(
                    "", node=p.node, state=p.state, total=p.total_bytes or None)
            state = p.state if p.round <= 1 else f"{p.state} (round {p.round})"
            self._progress.update(task, completed=p.done_bytes, total=p.total_bytes or None,
                                  state=state)


def table_text(report: SyncReport, color: bool, width: int = 80) -> str:
    from rich.markup import escape
    from rich.table import Table

    from sparkctl.report.terminal import Terminal, make_console

    table = Table(title=escape(f"sparkctl sync: {report.source} -> {report.destination}"))
    for column in ("Node", "State", "Bytes", "Time", "Rate", "Files", "Detail"):
        table.add_column(column, overflow="fold")
    for n in report.nodes:
        style = "green" if n.state == COMPLETE else "red" if n.state == "failed" else "yellow"
        files = n.files
        detail = n.error or ""
        if files.resumed:
            detail += ("; " if detail else "") + "resumed: " + ", ".join(
                f"{r['path']} ({r['kept']}/{r['chunks']} chunks kept)" for r in files.resumed[:5])
        if files.restarted:
            detail += ("; " if detail else "") + "restarted: " + ", ".join(files.restarted[:5])
        counts = f"{files.new} new, {files.complete + files.verified} kept"
        if files.replaced:
            counts += f", {files.replaced} replaced"
        table.add_row(escape(n.name), f"[{style}]{n.state}[/{style}]",
                      human_bytes(n.written_bytes), f"{n.seconds:.1f} s",
                      f"{n.gbps:.2f} Gb/s" if n.gbps else "-", counts, escape(detail))
    buffer = io.StringIO()
    console = make_console(buffer, Terminal(color=color, width=width))
    console.print(table)
    chain = " | ".join(" -> ".join(c) for c in report.chain) or "-"
    console.print(escape(f"{report.kind} of {human_bytes(report.total_bytes)} in "
                         f"{report.files} files; data path {chain}; {report.streams} streams "
                         f"per hop; {report.duration_s:.1f} s in all, verdict {report.verdict}"),
                  highlight=False)
    for note in report.notes:
        console.print(escape(f"note: {note}"), highlight=False)
    return buffer.getvalue()
