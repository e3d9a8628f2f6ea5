"""The manifest: what SRC holds, cut into chunks with a SHA-256 each."""

from __future__ import annotations

import hashlib
import os
import stat

import pytest

from sparkctl.sync.remote import manifest as M
from sparkctl.sync.remote.wire import SyncError

CHUNK = 1024


def make_tree(root):
    (root / "sub").mkdir(parents=True)
    (root / "a.bin").write_bytes(bytes(range(256)) * 10)  # 2560 bytes: 3 chunks
    (root / "empty").write_bytes(b"")
    (root / "sub" / "exact").write_bytes(b"x" * CHUNK)  # exactly one chunk
    os.symlink("a.bin", root / "inside")
    return root


def test_files_dirs_and_links_with_chunk_digests(tmp_path):
    root = make_tree(tmp_path / "src")
    m = M.build_manifest(str(root), CHUNK)
    files = {f["path"]: f for f in m["files"]}
    assert set(files) == {"a.bin", "empty", "sub/exact"}
    assert m["dirs"] == [["sub", stat.S_IMODE(os.stat(root / "sub").st_mode)]]
    assert m["links"] == [["inside", "a.bin"]]
    assert m["total_bytes"] == 2560 + 1024 and m["chunks"] == 4
    data = (root / "a.bin").read_bytes()
    expected = b"".join(hashlib.sha256(data[i:i + CHUNK]).digest() for i in (0, 1024, 2048))
    assert files["a.bin"]["digests"] == expected.hex()
    assert files["empty"]["digests"] == "" and files["sub/exact"]["size"] == CHUNK
    # chunk ids run over files in manifest order; an empty file takes none
    firsts = [(f["path"], f["first"]) for f in m["files"]]
    assert firsts == [("a.bin", 0), ("empty", 3), ("sub/exact", 3)]
    assert M.file_digest(expected) == hashlib.sha256(expected).hexdigest()


def test_layout_locates_chunks_across_empty_files(tmp_path):
    m = M.build_manifest(str(make_tree(tmp_path / "src")), CHUNK)
    layout = M.Layout(m)
    assert layout.locate(0) == (0, 0, CHUNK)
    assert layout.locate(2) == (0, 2048, 512)  # the short last chunk of a.bin
    assert layout.locate(3) == (2, 0, CHUNK)  # skips the empty file sharing id 3
    assert layout.digest(0, 2) == hashlib.sha256(bytes(range(256)) * 2).digest()


def test_links_leaving_src_are_followed_and_dangling_ones_refused(tmp_path):
    outside = tmp_path / "outside.txt"
    outside.write_text("real")
    root = tmp_path / "src"
    root.mkdir()
    os.symlink(outside, root / "abs")
    m = M.build_manifest(str(root), CHUNK)
    assert [f["path"] for f in m["files"]] == ["abs"] and m["links"] == []
    assert m["files"][0]["source"] == str(outside)  # its content, not the link
    os.symlink(tmp_path / "missing", root / "broken")
    with pytest.raises(SyncError, match="dangling symlink") as info:
        M.build_manifest(str(root), CHUNK)
    assert info.value.kind == "input"


def test_a_link_to_a_directory_outside_is_refused(tmp_path):
    (tmp_path / "elsewhere").mkdir()
    root = tmp_path / "src"
    root.mkdir()
    os.symlink(tmp_path / "elsewhere", root / "dir")
    with pytest.raises(SyncError, match="outside SRC"):
        M.build_manifest(str(root), CHUNK)


def test_missing_src_special_files_and_control_characters(tmp_path):
    with pytest.raises(SyncError, match="does not exist") as info:
        M.build_manifest(str(tmp_path / "nope"), CHUNK)
    assert info.value.kind == "input"
    root = tmp_path / "src"
    root.mkdir()
    os.mkfifo(root / "pipe")
    with pytest.raises(SyncError, match="not a regular file"):
        M.build_manifest(str(root), CHUNK)
    os.unlink(root / "pipe")
    (root / "bad\nname").write_text("x")
    with pytest.raises(SyncError, match="control characters"):
        M.build_manifest(str(root), CHUNK)


def test_one_file_as_src(tmp_path):
    path = tmp_path / "model.gguf"
    path.write_bytes(b"g" * 3000)
    m = M.build_manifest(str(path), CHUNK)
    assert m["single_file"] is True and m["root"] == str(path)
    assert [f["path"] for f in m["files"]] == ["model.gguf"]


def test_the_state_dir_is_never_part_of_the_manifest(tmp_path):
    root = make_tree(tmp_path / "src")
    (root / M.STATE_DIR).mkdir()
    (root / M.STATE_DIR / "state.json").write_text("{}")
    m = M.build_manifest(str(root), CHUNK)
    assert not any(f["path"].startswith(M.STATE_DIR) for f in m["files"])


def test_the_digest_cache_is_reused_until_a_file_changes(tmp_path, monkeypatch):
    root = make_tree(tmp_path / "src")
    cache = M.cache_file(str(tmp_path / "cache"), str(root))
    first = M.build_manifest(str(root), CHUNK, cache)
    hashed = []
    real = M.hash_chunks
    monkeypatch.setattr(M, "hash_chunks", lambda path, *a: hashed.append(path) or real(path, *a))
    again = M.build_manifest(str(root), CHUNK, cache)
    assert hashed == [] and again["files"] == first["files"]
    (root / "a.bin").write_bytes(b"changed")
    changed = M.build_manifest(str(root), CHUNK, cache)
    assert hashed == [str(root / "a.bin")]
    assert {f["path"]: f["size"] for f in changed["files"]}["a.bin"] == 7


def test_ranges_round_trip():
    flags = bytearray(b"\x01\x01\x00\x01\x00\x00\x01")
    assert M.ranges_of(flags) == [[0, 2], [3, 4], [6, 7]]
    assert list(M.ids_of(M.ranges_of(flags))) == [0, 1, 3, 6]
    assert M.ranges_of(bytearray(3)) == []
