"""Locks per target: one run that loads the links at a time, one health run at a time.

A lock is a kernel `flock` on a small file holding the holder's pid and command line: it dies
with its process (even on SIGKILL), so a crashed run never leaves a stale lock. A second run
waits up to `wait_s` for it, then exits 2 naming the holder.

- The measurement lock (`measurement_lock`) is taken by everything that runs traffic over a
  target's links: `validate` (its TCP listeners, rail tests and collective) and
  `health --probe`. It is keyed by the machines (addresses and ports), so two inventories
  naming the same nodes share it.
- The health lock (`health_lock`) keeps cron runs of `health` for one target from piling up.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import os
import stat
import sys
import time
from pathlib import Path

from sparkctl.errors import EnvironmentProblem, InputError

POLL_S = 0.1


class TargetLocked(EnvironmentProblem):
    """Another run holds the lock (exit 2)."""


def lock_dir() -> Path:
    """Where locks live: $SPARKCTL_LOCK_DIR, else the per-user state directory."""
    if env := os.environ.get("SPARKCTL_LOCK_DIR"):
        return Path(env)
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    if os.geteuid() == 0 and "XDG_STATE_HOME" not in os.environ:
        base = "/var/lib"
    return Path(base) / "sparkctl" / "locks"


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def measurement_lock(machines: str, wait_s: float = 0.0) -> TargetLock:
    return TargetLock(lock_dir() / f"measure-{_digest(machines)}.lock", wait_s,
                      what="a run that measures this cluster's links (validate or "
                           "health --probe)",
                      hint="wait for it, or give --wait SECONDS to queue behind it")


def health_lock(path: Path, wait_s: float = 0.0) -> TargetLock:
    return TargetLock(path, wait_s, what="another `sparkctl health` run for this target",
                      hint="runs overlap when the schedule is shorter than a run; lengthen "
                           "--every or lower --budget")


class TargetLock:
    def __init__(self, path: Path, wait_s: float = 0.0, *, what: str = "another run",
                 hint: str | None = None) -> None:
        self.path = Path(path)
        self.wait_s = wait_s
        self.what = what
        self.hint = hint
        self.waited_s = 0.0
        self._fd: int | None = None

    def __enter__(self) -> TargetLock:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        except IsADirectoryError:
            raise InputError(f"lock file {self.path} is a directory",
                             hint="give --lock-file a file path") from None
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise InputError(f"lock file {self.path} is a symbolic link; refusing it") \
                    from None
            raise EnvironmentProblem(f"cannot open lock file {self.path}: {exc.strerror}",
                                     hint="give a writable --lock-file or SPARKCTL_LOCK_DIR") \
                from None
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise InputError(f"lock file {self.path} is not a regular file")
        started = time.monotonic()
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() - started >= self.wait_s:
                    holder = os.pread(fd, 4096, 0).decode(errors="replace").strip()
                    os.close(fd)
                    pid, _, command = holder.partition(" ")
                    raise TargetLocked(
                        f"{self.what} is still running (pid {pid or 'unknown'}: "
                        f"{command[:200] or 'unknown command'}; lock {self.path})"
                        + (f"; waited {self.wait_s:g} s" if self.wait_s else ""),
                        hint=self.hint) from None
                time.sleep(POLL_S)
        self.waited_s = time.monotonic() - started
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()} {' '.join(sys.argv)}\n".encode(), 0)
        self._fd = fd
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing releases the flock
            self._fd = None
