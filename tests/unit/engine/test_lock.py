"""One measurement lock per cluster: a second run waits (--wait) or exits 2 naming the
holder's pid and command; the lock dies with its holder."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time

import pytest

from sparkctl.engine.lock import TargetLock, TargetLocked, measurement_lock
from sparkctl.errors import InputError


def hold(path, seconds: float) -> subprocess.Popen:
    code = textwrap.dedent(f"""
        import sys, time
        from sparkctl.engine.lock import TargetLock
        with TargetLock({str(path)!r}):
            print("held", flush=True)
            time.sleep({seconds})
    """)
    proc = subprocess.Popen([sys.executable, "-c", code, "validate", "--lab", "x"],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_second_run_is_refused_naming_the_holder(tmp_path):
    path = tmp_path / "m.lock"
    holder = hold(path, 30)
    try:
        started = time.monotonic()
        with pytest.raises(TargetLocked) as refused, TargetLock(path, what="a run"):
            pass
        assert time.monotonic() - started < 0.5
        assert f"pid {holder.pid}" in str(refused.value)
        assert "validate --lab x" in str(refused.value)  # the holder's command line
        assert refused.value.exit_code == 2
    finally:
        holder.kill()
        holder.wait()
    with TargetLock(path):  # the lock went with its (killed) holder
        pass


def test_second_run_waits_for_the_first(tmp_path):
    path = tmp_path / "m.lock"
    holder = hold(path, 1.0)
    try:
        with TargetLock(path, wait_s=10) as lock:
            assert 0.3 < lock.waited_s < 5
    finally:
        holder.wait()
    holder = hold(path, 5)
    try:
        started = time.monotonic()
        with pytest.raises(TargetLocked, match="waited 0.5 s"), TargetLock(path, wait_s=0.5):
            pass
        assert 0.45 < time.monotonic() - started < 2
    finally:
        holder.kill()
        holder.wait()


def test_same_machines_share_one_lock(tmp_path, monkeypatch):
    monkeypatch.setenv("SPARKCTL_LOCK_DIR", str(tmp_path))
    a = measurement_lock("root@10.0.0.1:22,root@10.0.0.2:22")
    b = measurement_lock("root@10.0.0.1:22,root@10.0.0.2:22")
    c = measurement_lock("root@10.0.0.9:22")
    assert a.path == b.path != c.path and a.path.parent == tmp_path


def test_a_directory_or_a_symlink_is_no_lock_file(tmp_path):
    with pytest.raises(InputError, match="is a directory"), TargetLock(tmp_path):
        pass
    (tmp_path / "link").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(InputError, match="symbolic link"), TargetLock(tmp_path / "link"):
        pass
