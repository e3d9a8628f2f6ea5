"""One health run per target at a time, so overlapping cron runs never pile up.

The lock is a kernel `flock` on a small file: it dies with the process (even on SIGKILL), so
a crashed run never leaves a stale lock behind. The second run does not wait; it exits at
once with a message naming the holder's PID.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
from pathlib import Path

from sparkctl.errors import EnvironmentProblem


class HealthRunLocked(EnvironmentProblem):
    """Another health run for the same target still holds the lock (exit 2, see README)."""


def lock_path_for(db_path: Path, target_key: str) -> Path:
    digest = hashlib.sha256(target_key.encode()).hexdigest()[:12]
    return db_path.parent / f"health-{digest}.lock"


class RunLock:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def __enter__(self) -> RunLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise HealthRunLocked(
                f"another `sparkctl health` run for this target is still running (pid {holder}, "
                f"lock {self.path}); this run was skipped",
                hint="runs overlap when the schedule is shorter than a run; lengthen --every or "
                "lower --budget") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd
        return self

    def __exit__(self, *exc) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing releases the flock
            self._fd = None
