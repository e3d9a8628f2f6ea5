"""Atomic file writes: a reader (or a crash) never sees a half-written file."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from sparkctl.errors import InputError


def cannot_write(path: Path, exc: OSError) -> InputError:
    """The error for an output path the OS refuses (/proc/x, a directory, no permission)."""
    return InputError(f"cannot write {path}: {exc.strerror or exc}",
                      hint="choose a path in a writable directory")


def atomic_write(path: str | Path, data: str | bytes, mode: int = 0o644) -> Path:
    path = Path(path)
    raw = data.encode("utf-8") if isinstance(data, str) else data
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.is_dir():
            raise IsADirectoryError(21, "Is a directory")
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise cannot_write(path, exc) from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(raw)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        if isinstance(exc, OSError):
            raise cannot_write(path, exc) from None
        raise
    return path


def private_dir(path: Path) -> Path:
    """A directory only its owner can enter (state, keys, control sockets, run records)."""
    try:
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(path, 0o700)
    except OSError as exc:
        raise cannot_write(path, exc) from None
    return path


def write_file(path: Path, text: str, mode: int = 0o644) -> None:
    """Write into a staging directory (atomicity comes from swapping the directory)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    os.chmod(path, mode)


def check_replaceable_dir(out: Path, marker: str, what: str) -> None:
    """Refuse to replace a directory unless sparkctl wrote it (it holds `marker`)."""
    if out.exists() and not out.is_dir():
        raise InputError(f"{out} exists and is not a directory", hint="choose another -o DIR")
    try:
        holds_other = out.is_dir() and any(out.iterdir()) and not (out / marker).exists()
    except OSError as exc:
        raise cannot_write(out, exc) from None
    if holds_other:
        raise InputError(f"{out} is not empty and holds no sparkctl {what}",
                         hint=f"choose a new or empty directory; sparkctl only replaces "
                         f"{what}s it wrote")


def staging_dir_for(out: Path) -> Path:
    """A fresh hidden directory next to `out`, to fill and then swap into place."""
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    except OSError as exc:
        raise cannot_write(out, exc) from None


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
