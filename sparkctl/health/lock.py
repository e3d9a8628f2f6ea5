"""Where a target's health lock lives: next to its history database, one per target.

The lock itself is the engine's (sparkctl.engine.lock): a kernel flock that dies with its
process, naming its holder's pid and command when a second run finds it taken.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from sparkctl.engine.lock import TargetLock, health_lock


def lock_path_for(db_path: Path, target_key: str) -> Path:
    digest = hashlib.sha256(target_key.encode()).hexdigest()[:12]
    return db_path.parent / f"health-{digest}.lock"


def RunLock(path: Path, wait_s: float = 0.0) -> TargetLock:  # noqa: N802 - kept name
    return health_lock(path, wait_s)
