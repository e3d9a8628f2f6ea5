"""The receiving end on a node: what DEST already holds, verified writes (relay.py
forwards).

Part of the agent program. Files grow in DEST/.sparkctl-sync/partial/ and move to their
place only once every chunk matched the manifest; DEST/.sparkctl-sync/state.json remembers
files already complete and verified, so a rerun skips them without reading them.
"""

import hashlib
import json
import mmap
import os
import stat
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

# <local-imports>
from sparkctl.sync.remote.manifest import (
    STATE_DIR,
    Layout,
    bad_characters,
    file_digest,
)
from sparkctl.sync.remote.wire import SyncError

# </local-imports>


def check_relative(path):
    """A manifest path must stay inside DEST: relative, no '..', no empty parts."""
    parts = path.split("/")
    if (not path or path.startswith("/") or "\x00" in path
            or any(p in ("", ".", "..") for p in parts) or parts[0] == STATE_DIR):
        raise SyncError("input", f"manifest path {path!r} would leave the destination")
    return path


def part_name(relpath):
    return hashlib.sha256(relpath.encode("utf-8", "surrogateescape")).hexdigest()[:40]


class Destination:
    """DEST on this node: final paths, partial files, the state file."""

    def __init__(self, dest, manifest):
        if bad_characters(dest) or not dest.startswith("/"):
            raise SyncError("input", f"destination {dest!r} must be an absolute path without "
                            "control characters")
        self.dest = dest.rstrip("/") or "/"
        self.manifest = manifest
        self.layout = Layout(manifest)
        self.state_dir = os.path.join(self.dest, STATE_DIR)
        self.partial_dir = os.path.join(self.state_dir, "partial")
        self.state_path = os.path.join(self.state_dir, "state.json")
        for entry in manifest["files"]:
            check_relative(entry["path"])
        for rel, _mode in manifest["dirs"]:
            check_relative(rel)
        for rel, target in manifest["links"]:
            check_relative(rel)
            joined = os.path.normpath(os.path.join(os.path.dirname(rel), target))
            if os.path.isabs(target) or joined == ".." or joined.startswith("../"):
                raise SyncError("input", f"symlink {rel} -> {target} would leave the "
                                "destination")

    def final(self, index):
        return os.path.join(self.dest, self.manifest["files"][index]["path"])

    def partial(self, index):
        return os.path.join(self.partial_dir, part_name(self.manifest["files"][index]["path"]))

    def prepare(self):
        """Create DEST, the partial dir and every directory the manifest names."""
        try:
            if os.path.exists(self.dest) and not os.path.isdir(self.dest):
                raise SyncError("input", f"destination {self.dest} exists and is not a "
                                "directory")
            os.makedirs(self.partial_dir, exist_ok=True)
            rels = ([rel + "/x" for rel, _mode in self.manifest["dirs"]]
                    + [f["path"] for f in self.manifest["files"]]
                    + [link[0] for link in self.manifest["links"]])
            for rel in rels:
                self._no_symlink_parents(rel)
                os.makedirs(os.path.dirname(os.path.join(self.dest, rel)), exist_ok=True)
        except PermissionError as exc:
            raise SyncError("io", f"cannot write {exc.filename}: permission denied (give the "
                            "login user that directory, or choose --to elsewhere)") from None
        except (FileExistsError, NotADirectoryError) as exc:
            blocker = _file_in_the_way(exc.filename or self.dest)
            raise SyncError("io", f"{blocker} is a file where a directory must go (for "
                            f"{exc.filename}); move it or choose --to elsewhere") from None
        except OSError as exc:
            raise SyncError("io", f"cannot prepare {exc.filename or self.dest}: "
                            f"{exc.strerror}") from None

    def _no_symlink_parents(self, rel):
        path = self.dest
        for part in rel.split("/")[:-1]:
            path = os.path.join(path, part)
            if os.path.islink(path):
                raise SyncError("input", f"{path} is a symlink in the destination; sync never "
                                "writes through links")

    def load_state(self):
        try:
            with open(self.state_path, encoding="utf-8") as handle:
                data = json.load(handle)
            return data.get("files", {}) if isinstance(data, dict) else {}
        except (OSError, ValueError):
            return {}

    def save_state(self, files):
        tmp = self.state_path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as handle:
            json.dump({"version": 1, "files": files}, handle)
        os.replace(tmp, self.state_path)


def _file_in_the_way(path):
    """The nearest ancestor of `path` (or path) that exists and is not a directory."""
    found, probe = path, path
    while probe and probe != "/":
        if os.path.lexists(probe) and not os.path.isdir(probe):
            found = probe
        probe = os.path.dirname(probe)
    return found


def _matching_chunks(path, layout, index, pool):
    """Which chunks of an existing file already hold the right bytes."""
    entry = layout.files[index]
    count = layout.count(index)
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return [False] * count
    try:
        present = os.fstat(fd).st_size

        def one(k):
            offset = k * layout.chunk_size
            length = min(layout.chunk_size, entry["size"] - offset)
            if offset + length > present:
                return False
            return hashlib.sha256(os.pread(fd, length, offset)).digest() == layout.digest(
                index, k)
        return list(pool.map(one, range(count)))
    finally:
        os.close(fd)


def scan(destination, verify_all=False):
    """What this node still needs.

    Returns (need flags per chunk, summary, complete files {path: [size, mtime_ns, digest]}).
    A file in place that matches its state record is complete without reading it; one in
    place without a record is verified chunk by chunk; a partial file keeps every chunk
    that still matches (it *resumes*) or, when none does, starts over (*restarts*).
    """
    layout = destination.layout
    state = {} if verify_all else destination.load_state()
    need = bytearray(layout.total)
    summary: dict[str, Any] = {"complete": 0, "verified": 0, "new": 0, "replaced": 0, "resumed": [],
               "restarted": []}
    complete = {}
    pool = ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 2))
    try:
        for index, entry in enumerate(layout.files):
            final, partial = destination.final(index), destination.partial(index)
            digest = file_digest(layout.expected[index])
            count = layout.count(index)
            try:
                st = os.lstat(final)
            except FileNotFoundError:
                st = None
            if st is not None and stat.S_ISREG(st.st_mode) and st.st_size == entry["size"]:
                if state.get(entry["path"]) == [entry["size"], st.st_mtime_ns, digest]:
                    summary["complete"] += 1
                    complete[entry["path"]] = state[entry["path"]]
                    continue
                if all(_matching_chunks(final, layout, index, pool)):
                    os.utime(final, ns=(entry["mtime_ns"], entry["mtime_ns"]))
                    summary["verified"] += 1
                    complete[entry["path"]] = [entry["size"], entry["mtime_ns"], digest]
                    continue
            if st is not None:
                summary["replaced"] += 1
            good = [False] * count
            if os.path.exists(partial):
                good = _matching_chunks(partial, layout, index, pool)
                if count and any(good):
                    summary["resumed"].append(
                        {"path": entry["path"], "kept": sum(good), "chunks": count})
                else:
                    summary["restarted"].append(entry["path"])
                    os.unlink(partial)
            elif st is None:
                summary["new"] += 1
            for k in range(count):
                if not good[k]:
                    need[entry["first"] + k] = 1
    finally:
        pool.shutdown()
    return need, summary, complete


class Receiver:
    """Writes verified chunks into partial files and finishes each file when it is whole."""

    def __init__(self, destination, need, complete, written):
        self.d = destination
        self.layout = destination.layout
        self.need = need
        self.complete = dict(complete)
        self.written = written
        self.lock = threading.Lock()
        self.fds = {}
        self.remaining = {}
        self.state_dirty = False
        for index, entry in enumerate(self.layout.files):
            first = entry["first"]
            self.remaining[index] = sum(need[first:first + self.layout.count(index)])

    def _fd(self, index):
        fd = self.fds.get(index)
        if fd is None:
            fd = self.fds[index] = os.open(self.d.partial(index), os.O_RDWR | os.O_CREAT,
                                           0o600)
        return fd

    def wants(self, chunk):
        return chunk < self.layout.total and bool(self.need[chunk])

    def take(self, chunk, data):
        """Verify and write one chunk (in memory) if we need it; True when it was needed."""
        if not self.wants(chunk):
            return False
        index, offset, length = self.layout.locate(chunk)
        if len(data) != length or hashlib.sha256(data).digest() != self._expected(chunk):
            raise self._mismatch(chunk)
        with self.lock:
            if not self.need[chunk]:
                return False
            fd = self._fd(index)
        try:
            os.pwrite(fd, data, offset)
        except OSError as exc:
            raise SyncError("io", f"cannot write {self.d.final(index)}: {exc.strerror}") from None
        self._done(chunk, index, length)
        return True

    def target(self, chunk):
        """(fd, offset, length) where a needed chunk goes (the splice path writes it there
        first and calls accept_written after)."""
        index, offset, length = self.layout.locate(chunk)
        with self.lock:
            return self._fd(index), offset, length

    def accept_written(self, chunk):
        """The splice path: the chunk is in the partial file; hash it from the page cache.
        A mismatch leaves it needed (the partial file is never moved into place)."""
        index, offset, length = self.layout.locate(chunk)
        with self.lock:
            fd = self._fd(index)
        view = mmap.mmap(fd, length, flags=mmap.MAP_SHARED, prot=mmap.PROT_READ, offset=offset)
        try:
            ok = hashlib.sha256(view).digest() == self._expected(chunk)
        finally:
            view.close()
        if not ok:
            raise self._mismatch(chunk)
        self._done(chunk, index, length)

    def _expected(self, chunk):
        index, _, _ = self.layout.locate(chunk)
        return self.layout.digest(index, chunk - self.layout.files[index]["first"])

    def _mismatch(self, chunk):
        index, _, _ = self.layout.locate(chunk)
        k = chunk - self.layout.files[index]["first"]
        return SyncError("verify", f"chunk {k} of {self.layout.files[index]['path']} does not "
                         "match the manifest (changed at the source during the sync, or "
                         "corrupted on the way)")

    def _done(self, chunk, index, length):
        with self.lock:
            if not self.need[chunk]:
                return
            self.need[chunk] = 0
            self.remaining[index] -= 1
            done = self.remaining[index] == 0
        self.written.add(length)
        if done:
            self.finish(index)

    def finish(self, index):
        """A file whose every chunk is verified: its mode and mtime, then into place."""
        entry = self.layout.files[index]
        with self.lock:
            fd = self.fds.pop(index, None)
        path = self.d.partial(index)
        try:
            if fd is None:  # nothing written this run: an empty file, or every chunk reused
                fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                os.ftruncate(fd, entry["size"])
                os.fchmod(fd, entry["mode"])
            finally:
                os.close(fd)
            os.utime(path, ns=(entry["mtime_ns"], entry["mtime_ns"]))
            os.replace(path, self.d.final(index))
        except OSError as exc:
            raise SyncError("io", f"cannot finish {self.d.final(index)}: "
                            f"{exc.strerror}") from None
        with self.lock:
            self.complete[entry["path"]] = [entry["size"], entry["mtime_ns"],
                                            file_digest(self.layout.expected[index])]
            self.state_dirty = True

    def finish_ready(self):
        """Files that need nothing this run (empty files, partials whose chunks all match)."""
        for index, entry in enumerate(self.layout.files):
            if self.remaining[index] == 0 and entry["path"] not in self.complete:
                self.finish(index)

    def missing(self):
        return sum(self.need)

    def flush_state(self):
        with self.lock:
            if not self.state_dirty:
                return
            snapshot = dict(self.complete)
            self.state_dirty = False
        self.d.save_state(snapshot)

    def close(self):
        with self.lock:
            fds, self.fds = list(self.fds.values()), {}
        for fd in fds:
            os.close(fd)

    def finish_tree(self):
        """After every file: symlinks, directory modes; drop the (empty) partial dir."""
        for rel, target in self.d.manifest["links"]:
            path = os.path.join(self.d.dest, rel)
            try:
                if os.path.islink(path) and os.readlink(path) == target:
                    continue
                tmp = os.path.join(os.path.dirname(path),
                                   f".{os.path.basename(path)}.sparkctl-link")
                if os.path.lexists(tmp):
                    os.unlink(tmp)
                os.symlink(target, tmp)
                os.replace(tmp, path)
            except OSError as exc:
                raise SyncError("io", f"cannot link {path}: {exc.strerror}") from None
        for rel, mode in self.d.manifest["dirs"]:
            try:
                os.chmod(os.path.join(self.d.dest, rel), mode | 0o700)
            except OSError:
                pass
        try:
            os.rmdir(self.d.partial_dir)
        except OSError:
            pass
