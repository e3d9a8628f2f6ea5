"""Host processes of a lab: identified by PID *and* start time, ended only by those ids."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import TypeGuard

from sparkctl.lab.state import ProcessRef


def start_ticks(pid: int) -> int | None:
    """Field 22 of /proc/PID/stat (start time in clock ticks since boot), None if gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # comm (field 2) may hold spaces and parentheses: split after the last ')'.
    fields = text[text.rindex(")") + 2:].split()
    return int(fields[19])


def ref(pid: int) -> ProcessRef | None:
    ticks = start_ticks(pid)
    return ProcessRef(pid, ticks) if ticks is not None else None


def alive(proc: ProcessRef | None) -> TypeGuard[ProcessRef]:
    if proc is None:
        return False
    if start_ticks(proc.pid) != proc.start_ticks:
        return False
    try:
        state = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


def children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except (FileNotFoundError, ProcessLookupError):
        return found  # the process is gone
    for task in tasks:
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue
    return found


def kill(proc: ProcessRef | None, sig: int = signal.SIGKILL) -> bool:
    """Signal the process if it is still the one recorded; True if a signal was sent."""
    if not alive(proc):
        return False
    try:
        os.kill(proc.pid, sig)
    except ProcessLookupError:
        return False
    return True


def wait_gone(procs: list[ProcessRef], timeout: float) -> list[ProcessRef]:
    """Wait until none is alive; returns those still alive at the deadline."""
    deadline = time.monotonic() + timeout
    left = [p for p in procs if alive(p)]
    while left and time.monotonic() < deadline:
        time.sleep(0.02)
        left = [p for p in left if alive(p)]
    return left



def descendants(pid: int) -> list[int]:
    """Every process below pid (children first, breadth-first)."""
    found, queue = [], [pid]
    while queue:
        kids = children(queue.pop(0))
        found += kids
        queue += kids
    return found


def comm(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except (FileNotFoundError, ProcessLookupError):
        return None


def pid_namespace(pid: int) -> str | None:
    try:
        return os.readlink(f"/proc/{pid}/ns/pid")
    except (FileNotFoundError, ProcessLookupError):
        return None
