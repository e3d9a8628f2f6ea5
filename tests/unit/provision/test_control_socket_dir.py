"""SSH control sockets must fit a Unix socket path (108 bytes) or every node is
"unreachable" (OpenSSH: ControlPath too long)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from sparkctl.errors import InputError
from sparkctl.provision import records


@pytest.fixture
def short_tmp():
    with tempfile.TemporaryDirectory(dir="/tmp", prefix="cp") as name:
        yield Path(name)


def test_a_short_state_dir_keeps_the_sockets_under_it(short_tmp, monkeypatch):
    state = short_tmp / "s"
    monkeypatch.setenv("SPARKCTL_STATE_DIR", str(state))
    path = records.control_socket_dir()
    assert path == state / "cp"
    assert os.stat(path).st_mode & 0o777 == 0o700


def test_a_deep_state_dir_moves_the_sockets_to_a_private_short_dir(short_tmp, monkeypatch):
    deep = short_tmp / ("d" * 60) / "state"
    monkeypatch.setenv("SPARKCTL_STATE_DIR", str(deep))
    monkeypatch.setattr(records, "SHORT_SOCKET_DIR", str(short_tmp / "x{uid}"))
    path = records.control_socket_dir()
    assert path == short_tmp / f"x{os.getuid()}" and not (deep / "cp").exists()
    # room for ssh's 40-character hash and its 17-character temporary suffix
    assert len(os.fsencode(path)) + 1 + 40 + 17 <= 107
    assert os.stat(path).st_mode & 0o777 == 0o700


def test_a_short_dir_someone_else_owns_is_refused(short_tmp, monkeypatch):
    monkeypatch.setenv("SPARKCTL_STATE_DIR", str(short_tmp / ("d" * 90)))
    theirs = short_tmp / "theirs"
    theirs.mkdir()
    monkeypatch.setattr(records, "SHORT_SOCKET_DIR", str(theirs))
    monkeypatch.setattr(records.os, "getuid", lambda: os.stat(theirs).st_uid + 1)
    with pytest.raises(InputError, match="not a directory of this user"):
        records.control_socket_dir()
