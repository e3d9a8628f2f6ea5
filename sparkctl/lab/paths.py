"""Where labs keep their state and cache; the only module that knows these paths.

Imported lazily by the `--lab NAME` target resolver, so it must stay import-light.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from sparkctl.errors import InputError

# Overridable so tests and a non-default install can move everything at once.
STATE_ROOT = Path(os.environ.get("SPARKCTL_LAB_STATE", "/var/lib/sparkctl/labs"))
CACHE_ROOT = Path(os.environ.get("SPARKCTL_LAB_CACHE", "/var/cache/sparkctl"))

DEFAULT_LAB = "lab"
# Host-side interface names carry the lab name and must fit IFNAMSIZ (15 chars):
# "sl-" + name + "-m" + index <= 15 -> names up to 8 characters.
MAX_NAME = 8
_NAME_RE = re.compile(r"^[a-z][a-z0-9]{0,7}$")


def validate_lab_name(name: str) -> str:
    if not _NAME_RE.match(name or ""):
        raise InputError(
            f"invalid lab name {name!r}",
            hint=f"use 1-{MAX_NAME} lowercase letters or digits, starting with a letter "
            "(it becomes part of interface names, which Linux limits to 15 characters)",
        )
    return name


def lab_state_dir(name: str) -> Path:
    return STATE_ROOT / validate_lab_name(name)


def lab_inventory_path(name: str) -> Path:
    return lab_state_dir(name) / "inventory.yml"


def lab_record_path(name: str) -> Path:
    return lab_state_dir(name) / "lab.json"


def lab_lock_path(name: str) -> Path:
    return STATE_ROOT / f".{validate_lab_name(name)}.lock"


def allocation_lock_path() -> Path:
    return STATE_ROOT / ".allocate.lock"
