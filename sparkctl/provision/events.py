"""Folds ansible-runner events into per-host progress, stats and the failures to report.

Pure: it sees event dicts only, so it works the same on a live run and on the
job_events/*.json files a run leaves behind.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

# Per-host results that finish one task for one host (loop items report separately).
_DONE = {"runner_on_ok": "ok", "runner_on_failed": "failed", "runner_on_skipped": "skipped",
         "runner_on_unreachable": "unreachable"}
STDERR_TAIL_LINES = 8


@dataclass
class HostStats:
    ok: int = 0
    changed: int = 0
    failed: int = 0
    unreachable: int = 0
    skipped: int = 0
    rescued: int = 0
    ignored: int = 0


@dataclass(frozen=True)
class TaskFailure:
    host: str
    task: str
    role: str | None
    message: str
    stderr_tail: str
    unreachable: bool


@dataclass
class HostProgress:
    done: int = 0
    current_task: str = ""
    status: str = "waiting"  # waiting | running | failed | unreachable | done


@dataclass
class EventCollector:
    """Feed it every event; read hosts, stats and failures at any time."""

    on_change: Callable[[str, HostProgress], None] | None = None
    on_result: Callable[[str, str, str, bool], None] | None = None  # host, task, status, changed
    hosts: dict[str, HostProgress] = field(default_factory=dict)
    stats: dict[str, HostStats] = field(default_factory=dict)
    failures: list[TaskFailure] = field(default_factory=list)
    diffs: list[tuple[str, str, dict]] = field(default_factory=list)  # host, task, diff
    events_seen: int = 0

    def __call__(self, event: dict) -> bool:
        self.feed(event)
        return True  # ansible-runner keeps the event file only when the handler says True

    def feed(self, event: dict) -> None:
        self.events_seen += 1
        kind = event.get("event", "")
        data = event.get("event_data") or {}
        host = data.get("host") or data.get("remote_addr")
        task = _task_name(data)
        if kind == "runner_on_start" and host:
            progress = self.hosts.setdefault(host, HostProgress())
            progress.current_task = task
            if progress.status == "waiting":
                progress.status = "running"
            self._changed(host)
        elif kind in _DONE and host:
            progress = self.hosts.setdefault(host, HostProgress())
            progress.done += 1
            status = _DONE[kind]
            res = data.get("res") or {}
            ignored = bool(data.get("ignore_errors"))
            self._count(host, status, bool(res.get("changed")), ignored)
            if status == "ok" and res.get("changed"):
                for diff in _diffs(res):
                    self.diffs.append((host, task, diff))
            if status == "failed" and not ignored:
                progress.status = "failed"
                self.failures.append(_failure(host, task, data.get("role"), res, False))
            elif status == "unreachable":
                progress.status = "unreachable"
                self.failures.append(_failure(host, task, data.get("role"), res, True))
            if self.on_result:
                self.on_result(host, task, status, bool(res.get("changed")))
            self._changed(host)
        elif kind == "playbook_on_stats":
            self.stats = stats_from_event(data)
            for name, progress in self.hosts.items():
                if progress.status == "running":
                    progress.status = "done"
                progress.current_task = ""
                self._changed(name)

    def _count(self, host: str, status: str, changed: bool, ignored: bool) -> None:
        # Running totals, so an interrupted run still reports what it did; the
        # playbook_on_stats event replaces them when the play ends.
        stats = self.stats.setdefault(host, HostStats())
        if status == "failed":
            if ignored:
                stats.ignored += 1
            else:
                stats.failed += 1
        else:
            setattr(stats, status, getattr(stats, status) + 1)
        if status == "ok" and changed:
            stats.changed += 1

    def _changed(self, host: str) -> None:
        if self.on_change:
            self.on_change(host, self.hosts[host])


def _diffs(res: dict) -> list[dict]:
    found = res.get("diff") or []
    found = found if isinstance(found, list) else [found]
    for item in res.get("results") or []:  # loops carry one diff per item
        if isinstance(item, dict) and item.get("diff"):
            more = item["diff"]
            found += more if isinstance(more, list) else [more]
    return [d for d in found if isinstance(d, dict) and ("before" in d or "after" in d)]


def unified(diff: dict) -> str:
    """Ansible's before/after diff as unified diff text."""
    import difflib

    before, after = str(diff.get("before", "")), str(diff.get("after", ""))
    lines = difflib.unified_diff(before.splitlines(keepends=True), after.splitlines(keepends=True),
                                 fromfile=str(diff.get("before_header", "before")),
                                 tofile=str(diff.get("after_header", "after")))
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def _task_name(data: dict) -> str:
    task = data.get("task") or ""
    role = data.get("role")
    return f"{role} : {task}" if role and not task.startswith(f"{role} :") else task


def stats_from_event(data: dict) -> dict[str, HostStats]:
    keys = {"ok": "ok", "changed": "changed", "failures": "failed", "dark": "unreachable",
            "skipped": "skipped", "rescued": "rescued", "ignored": "ignored"}
    hosts: set[str] = set()
    for source in keys:
        hosts.update((data.get(source) or {}).keys())
    hosts.update((data.get("processed") or {}).keys())
    stats = {h: HostStats() for h in sorted(hosts)}
    for source, name in keys.items():
        for host, count in (data.get(source) or {}).items():
            setattr(stats[host], name, int(count))
    return stats


def _failure(host: str, task: str, role: str | None, res: dict, unreachable: bool) -> TaskFailure:
    message = str(res.get("msg") or "").strip()
    stderr = str(res.get("stderr") or res.get("module_stderr") or "")
    # A loop reports one failed result per item; keep the first failed item's words.
    for item in res.get("results") or []:
        if isinstance(item, dict) and item.get("failed"):
            message = message if message and "One or more items failed" not in message else \
                str(item.get("msg") or message).strip()
            stderr = stderr or str(item.get("stderr") or "")
            break
    if not message and res.get("rc") is not None:
        message = f"exit status {res.get('rc')}"
    return TaskFailure(host=host, task=task, role=role, message=message,
                       stderr_tail=tail(stderr, STDERR_TAIL_LINES), unreachable=unreachable)


def tail(text: str, lines: int) -> str:
    kept = [line for line in text.strip().splitlines() if line.strip()]
    return "\n".join(kept[-lines:])
