"""Atomic file writes: a reader (or a crash) never sees a half-written file."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def atomic_write(path: str | Path, data: str | bytes, mode: int = 0o644) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    raw = data.encode("utf-8") if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(raw)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return path


def write_file(path: Path, text: str, mode: int = 0o644) -> None:
    """Write into a staging directory (atomicity comes from swapping the directory)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    os.chmod(path, mode)


def check_replaceable_dir(out: Path, marker: str, what: str) -> None:
    """Refuse to replace a directory unless sparkctl wrote it (it holds `marker`)."""
    from sparkctl.errors import InputError

    if out.exists() and not out.is_dir():
        raise InputError(f"{out} exists and is not a directory", hint="choose another -o DIR")
    if out.is_dir() and any(out.iterdir()) and not (out / marker).exists():
        raise InputError(f"{out} is not empty and holds no sparkctl {what}",
                         hint=f"choose a new or empty directory; sparkctl only replaces "
                         f"{what}s it wrote")


def swap_dir_into_place(staging: Path, out: Path) -> None:
    """Readers see the old directory or the new one, never a mix."""
    import shutil

    if not out.exists():
        os.replace(staging, out)
        return
    trash = out.with_name(f".{out.name}.old-{os.getpid()}")
    os.replace(out, trash)
    os.replace(staging, out)
    shutil.rmtree(trash, ignore_errors=True)
