"""Run directories: one per provisioning run, kept with ansible-runner's artifacts.

Run records hold inventories, rendered roles and Ansible's event stream: they are private
(0700, like the state directory above them), and only the newest `keep` are kept, so a
controller that provisions from cron does not fill its disk.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import secrets
import shutil
import time
from pathlib import Path

from sparkctl import fileio, values
from sparkctl.errors import InputError
from sparkctl.fileio import atomic_write
from sparkctl.render.bundle import state_root

DEFAULT_KEEP_RUNS = 20
# <UTC time>-<cluster>-<6 hex>: only directories named like this are ever pruned.
_RUN_DIR = re.compile(r"(?P<stamp>\d{8}T\d{6}Z)-[A-Za-z0-9][A-Za-z0-9_.-]*-[0-9a-f]{6}")


def default_runs_dir() -> Path:
    return state_root() / "runs"


def new_run_dir(runs_dir: Path | None, cluster_name: str, keep: int | None = None) -> Path:
    """A fresh, absolute, private directory: <runs>/<UTC time>-<cluster>-<random>.

    With `keep`, older records beyond the newest `keep` (this one included) are pruned.
    """
    try:
        name = values.cluster_name(cluster_name)  # it becomes a path component
    except values.BadValue as bad:
        raise InputError(f"cluster name: {bad.message}", hint=bad.hint) from None
    parent = Path(runs_dir or default_runs_dir()).expanduser().absolute()
    private_dir(parent)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    path = parent / f"{stamp}-{name}-{secrets.token_hex(3)}"
    try:
        path.mkdir(mode=0o700)
    except OSError as exc:
        raise fileio.cannot_write(path, exc) from None
    if keep is not None:
        prune_runs(parent, keep, protect=(path,))
    return path


def run_dirs(runs_dir: Path) -> list[Path]:
    """Run record directories in runs_dir, oldest first (symlinks and other names ignored)."""
    found = []
    try:
        entries = list(os.scandir(runs_dir))
    except OSError:
        return []
    for entry in entries:
        match = _RUN_DIR.fullmatch(entry.name)
        if match and entry.is_dir(follow_symlinks=False):
            found.append((match["stamp"], entry.stat(follow_symlinks=False).st_mtime,
                          Path(entry.path)))
    return [path for _, _, path in sorted(found)]


def prune_runs(runs_dir: Path, keep: int, protect: tuple[Path, ...] = ()) -> list[Path]:
    """Remove all but the newest `keep` run records; returns what was removed."""
    if keep < 1:
        raise InputError(f"--keep-runs must be at least 1, got {keep}")
    records = run_dirs(runs_dir)
    doomed = [p for p in records[:max(0, len(records) - keep)] if p not in protect]
    for path in doomed:
        shutil.rmtree(path, ignore_errors=True)
    return doomed


def write_summary(run_dir: Path, result) -> Path:
    from sparkctl.outputs import SCHEMA_VERSION

    data = {
        "schema_version": SCHEMA_VERSION,  # data/schemas/provision-summary.json
        "status": result.status,
        "rc": result.rc,
        "duration_s": round(result.duration_s, 3),
        "started": result.started,
        "command": result.command,
        "hosts": {h: dataclasses.asdict(s) for h, s in result.stats.items()},
        "failures": [dataclasses.asdict(f) for f in result.failures],
        "artifacts": str(result.artifacts_dir) if result.artifacts_dir else None,
    }
    return atomic_write(run_dir / "summary.json", json.dumps(data, indent=2) + "\n")


def private_dir(path: Path) -> Path:
    """A 0700 directory; the state directory above it, when it is under it, becomes 0700 too
    (it holds cluster keys and control sockets)."""
    root = state_root().expanduser().absolute()
    path = Path(path).expanduser().absolute()
    if path == root or root in path.parents:
        fileio.private_dir(root)
    return fileio.private_dir(path)


# OpenSSH binds the master socket at ControlPath + "." + 16 random characters, and a Unix
# socket path has 108 bytes (sun_path); Ansible names the socket by a 40-character hash (%C).
_SOCKET_PATH_MAX = 107
_SOCKET_NAME = 1 + 40 + 17
SHORT_SOCKET_DIR = "/tmp/sparkctl-cp-{uid}"


def control_socket_dir() -> Path:
    """Where Ansible's SSH control sockets go: `<state>/cp`, or, when that path is too long
    for a socket (a deep SPARKCTL_STATE_DIR), a private per-user directory under /tmp. Too
    long, every node would be reported unreachable ("ControlPath too long")."""
    preferred = state_root().expanduser().absolute() / "cp"
    if len(os.fsencode(preferred)) + _SOCKET_NAME <= _SOCKET_PATH_MAX:
        return private_dir(preferred)
    short = Path(SHORT_SOCKET_DIR.format(uid=os.getuid()))
    try:
        short.mkdir(mode=0o700)
    except FileExistsError:
        pass
    except OSError as exc:
        raise fileio.cannot_write(short, exc) from None
    info = os.lstat(short)
    # /tmp is shared: a directory someone else made (or a link) would hand them our sockets.
    if not os.path.isdir(short) or os.path.islink(short) or info.st_uid != os.getuid():
        raise InputError(f"{short} is not a directory of this user",
                         hint="remove it, or use a shorter SPARKCTL_STATE_DIR than "
                              f"{preferred.parent} so SSH control sockets fit in it")
    os.chmod(short, 0o700)
    return short
