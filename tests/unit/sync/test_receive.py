"""The receiving end: resume, restart, verification, finished files moved into place."""

from __future__ import annotations

import os

import pytest

from sparkctl.sync.remote import manifest as M
from sparkctl.sync.remote.receive import Destination, Receiver, check_relative, scan
from sparkctl.sync.remote.wire import Counter, SyncError

CHUNK = 1024


@pytest.fixture
def source(tmp_path):
    root = tmp_path / "src"
    (root / "d").mkdir(parents=True)
    (root / "big").write_bytes(os.urandom(CHUNK * 4 + 10))  # 5 chunks
    (root / "d" / "small").write_bytes(b"small")
    (root / "e").write_bytes(b"")
    os.utime(root / "big", ns=(1_600_000_000_000_000_000,) * 2)
    os.chmod(root / "big", 0o640)
    return root


def destination(tmp_path, source):
    m = M.build_manifest(str(source), CHUNK)
    d = Destination(str(tmp_path / "dest"), m)
    d.prepare()
    return d, m


def feed_all(d, need, complete, skip=()):
    receiver = Receiver(d, need, complete, Counter())
    receiver.finish_ready()
    for chunk in range(d.layout.total):
        if chunk in skip or not need[chunk]:
            continue
        index, offset, length = d.layout.locate(chunk)
        with open(d.manifest["files"][index]["source"], "rb") as handle:
            handle.seek(offset)
            receiver.take(chunk, handle.read(length))
    receiver.close()
    receiver.flush_state()
    return receiver


def test_a_fresh_destination_needs_everything_and_ends_identical(tmp_path, source):
    d, m = destination(tmp_path, source)
    need, summary, complete = scan(d)
    assert sum(need) == m["chunks"] == 6 and summary["new"] == 3 and complete == {}
    receiver = feed_all(d, need, complete)
    receiver.finish_tree()
    dest = tmp_path / "dest"
    for rel in ("big", "d/small", "e"):
        assert (dest / rel).read_bytes() == (source / rel).read_bytes()
    st = os.stat(dest / "big")
    assert st.st_mtime_ns == 1_600_000_000_000_000_000 and st.st_mode & 0o777 == 0o640
    assert not (dest / M.STATE_DIR / "partial").exists()  # nothing half-written left
    # a second scan trusts the state record: complete without reading the files
    need, summary, _ = scan(Destination(str(dest), m))
    assert sum(need) == 0 and summary["complete"] == 3


def test_an_interrupted_file_resumes_with_the_chunks_that_still_match(tmp_path, source):
    d, m = destination(tmp_path, source)
    need, _, complete = scan(d)
    feed_all(d, need, complete, skip={1, 3})  # "interrupted": two chunks of big missing
    assert not (tmp_path / "dest" / "big").exists()  # not moved into place half-done
    need, summary, _ = scan(Destination(str(tmp_path / "dest"), m))
    assert M.ranges_of(need) == [[1, 2], [3, 4]]
    assert summary["resumed"] == [{"path": "big", "kept": 3, "chunks": 5}]
    assert summary["complete"] == 2 and summary["restarted"] == []


def test_a_partial_file_with_no_good_chunk_restarts(tmp_path, source):
    d, m = destination(tmp_path, source)
    partial = d.partial(0)
    with open(partial, "wb") as handle:
        handle.write(b"\0" * (CHUNK * 2))  # garbage where big's first chunks belong
    need, summary, _ = scan(d)
    assert summary["restarted"] == ["big"] and not os.path.exists(partial)
    assert all(need[0:5])


def test_a_stale_file_in_place_is_replaced_and_a_matching_one_kept(tmp_path, source):
    d, m = destination(tmp_path, source)
    dest = tmp_path / "dest"
    (dest / "big").write_bytes(b"old version".ljust(CHUNK * 4 + 10, b"."))
    (dest / "d" / "small").write_bytes(b"small")  # right bytes, no state record
    need, summary, complete = scan(d)
    assert summary["replaced"] == 1 and summary["verified"] == 1
    assert "d/small" in complete and all(need[0:5])


def test_a_chunk_that_does_not_match_the_manifest_is_never_written(tmp_path, source):
    d, m = destination(tmp_path, source)
    need, _, complete = scan(d)
    receiver = Receiver(d, need, complete, Counter())
    with pytest.raises(SyncError, match="chunk 0 of big does not match") as info:
        receiver.take(0, b"\xff" * CHUNK)
    assert info.value.kind == "verify"
    assert not os.path.exists(d.partial(0)) or os.path.getsize(d.partial(0)) == 0
    assert receiver.need[0] == 1


def test_manifest_paths_that_would_leave_dest_are_refused(tmp_path, source):
    _, m = destination(tmp_path, source)
    for bad in ("../x", "/etc/passwd", "a/../../x", "a//b", ".sparkctl-sync/state.json", ""):
        with pytest.raises(SyncError):
            check_relative(bad)
    evil = dict(m, links=[["link", "../../etc"]])
    with pytest.raises(SyncError, match="would leave the destination"):
        Destination(str(tmp_path / "dest2"), evil)
    with pytest.raises(SyncError, match="absolute path"):
        Destination("relative/dir", m)


def test_writing_through_a_symlinked_directory_is_refused(tmp_path, source):
    _, m = destination(tmp_path, source)
    dest = tmp_path / "dest3"
    dest.mkdir()
    (tmp_path / "elsewhere").mkdir()
    os.symlink(tmp_path / "elsewhere", dest / "d")
    with pytest.raises(SyncError, match="symlink in the destination"):
        Destination(str(dest), m).prepare()
