"""The receiving end on a node: what DEST already holds, verified writes, forwarding.

Part of the agent program. Files grow in DEST/.sparkctl-sync/partial/ and move to their
place only once every chunk matched the manifest; DEST/.sparkctl-sync/state.json remembers
files already complete and verified, so a rerun skips them without reading them.
"""

import hashlib
import json
import mmap
import os
import queue
import select
import stat
import threading
from concurrent.futures import ThreadPoolExecutor

# <local-imports>
from sparkctl.sync.remote.manifest import (
    STATE_DIR,
    Layout,
    bad_characters,
    file_digest,
)
from sparkctl.sync.remote.wire import DATA, END, HEADER, SyncError, recv_exact

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
    summary = {"complete": 0, "verified": 0, "new": 0, "replaced": 0, "resumed": [],
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


class BufferPool:
    """Chunk buffers reused by one stream: a fresh 4 MiB buffer per chunk costs page faults
    and zeroing that, on a node forwarding at line rate, were most of its CPU time."""

    def __init__(self, size, count):
        self.size = size
        self.free = queue.SimpleQueue()
        for _ in range(count):
            self.free.put(bytearray(size))

    def get(self, timeout=60.0):
        try:
            return self.free.get(timeout=timeout)
        except queue.Empty:
            raise SyncError("io", "no chunk buffer came free in time") from None


class Shared:
    """A buffer several consumers hold (each child link, our own write); back to the pool
    when the last one lets go."""

    __slots__ = ("buf", "left", "pool", "lock")

    def __init__(self, buf, users, pool):
        self.buf = buf
        self.left = users
        self.pool = pool
        self.lock = threading.Lock()

    def release(self):
        with self.lock:
            self.left -= 1
            last = self.left == 0
        if last:
            self.pool.free.put(self.buf)


class FileSlice:
    """A chunk to forward straight from the page cache (sendfile), on its own fd."""

    __slots__ = ("fd", "offset", "length")

    def __init__(self, fd, offset, length):
        self.fd, self.offset, self.length = fd, offset, length

    def send(self, sock):
        with open(self.fd, "rb", buffering=0, closefd=True) as handle:
            self.fd = None
            if sock.sendfile(handle, self.offset, self.length) != self.length:
                raise OSError("short sendfile")

    def close(self):
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def _release(item):
    if item is None:
        return
    _, data, shared = item
    if isinstance(data, FileSlice):
        data.close()
    if shared is not None:
        shared.release()


class ChildLink:
    """One stream to one child, fed through a bounded queue: a child that takes nothing for
    `give_up_s` is dropped (its own upstream timeout then reports it), so a dead node never
    stalls the nodes before it for longer than that."""

    DEPTH = 8

    def __init__(self, name, sock, give_up_s):
        self.name = name
        self.sock = sock
        self.queue = queue.Queue(maxsize=self.DEPTH)
        self.give_up_s = give_up_s
        self.failed = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        try:
            while True:
                item = self.queue.get()
                if item is None:
                    break
                header, data, shared = item
                try:
                    self.sock.sendall(header)
                    if isinstance(data, FileSlice):
                        data.send(self.sock)
                    elif data is not None:
                        self.sock.sendall(data)
                finally:
                    _release(item)
        except (OSError, EOFError) as exc:
            self.failed = self.failed or f"lost while sending: {exc}"
        finally:
            self.sock.close()
            self._drain()

    def _drain(self):
        while True:
            try:
                item = self.queue.get_nowait()
            except queue.Empty:
                return
            _release(item)

    def put(self, header, data, shared):
        if self.failed:
            _release((header, data, shared))
            return
        try:
            self.queue.put((header, data, shared), timeout=self.give_up_s)
        except queue.Full:
            self.failed = f"took no data for {self.give_up_s:.0f} s"
            _release((header, data, shared))
            self.sock.close()
            self._drain()

    def close(self, timeout):
        if not self.failed:
            try:
                self.queue.put(None, timeout=timeout)
            except queue.Full:
                self.failed = f"took no data for {timeout:.0f} s"
                self.sock.close()
        self.thread.join(timeout)
        self._drain()

    def abort(self):
        self.failed = self.failed or "upstream lost"
        self.sock.close()


def recv_into(sock, view):
    got, size = 0, len(view)
    while got < size:
        n = sock.recv_into(view[got:])
        if n == 0:
            raise EOFError("connection closed")
        got += n


class Splicer:
    """socket -> pipe -> file with splice(2): the chunk crosses into the page cache once,
    with no copy through this process; hashing then reads it there (mmap) and children get
    it by sendfile. Against recv + pwrite + send from a buffer that is two copies fewer per
    byte per node, which on a CPU-bound relay is most of its time (notes/sync.md)."""

    CAPACITY = 1 << 20

    def __init__(self):
        import fcntl

        self.r, self.w = os.pipe()
        try:
            fcntl.fcntl(self.w, fcntl.F_SETPIPE_SZ, self.CAPACITY)
        except OSError:
            pass  # pipe-max-size below 1 MiB: the default pipe works, in smaller steps
        self.capacity = fcntl.fcntl(self.w, fcntl.F_GETPIPE_SZ)

    @staticmethod
    def available(directory):
        """splice exists here and the destination's file system takes it."""
        if not hasattr(os, "splice"):
            return False
        probe = os.path.join(directory, ".splice-probe")
        r, w = os.pipe()
        try:
            fd = os.open(probe, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                os.write(w, b"x" * 4096)
                return os.splice(r, fd, 4096, offset_dst=0) == 4096
            finally:
                os.close(fd)
                os.unlink(probe)
        except OSError:
            return False
        finally:
            os.close(r)
            os.close(w)

    def into(self, sock, fd, offset, length, stall):
        left, pos = length, offset
        while left:
            try:
                n = os.splice(sock.fileno(), self.w, min(left, self.capacity),
                              flags=os.SPLICE_F_MOVE)
            except BlockingIOError:
                ready, _, _ = select.select([sock], [], [], stall)
                if not ready:
                    raise TimeoutError("timed out") from None
                continue
            if n == 0:
                raise EOFError("connection closed")
            while n:
                try:
                    moved = os.splice(self.r, fd, n, offset_dst=pos, flags=os.SPLICE_F_MOVE)
                except OSError as exc:
                    raise SyncError("io", f"cannot write the partial file: {exc.strerror}") \
                        from None
                n -= moved
                pos += moved
                left -= moved

    def close(self):
        os.close(self.r)
        os.close(self.w)


def relay_stream(up, children, receiver, received, splicer=None, stall=20.0):
    """Move one upstream stream: forward every frame to the children, keep what we need.

    A chunk we need goes straight into its partial file (splicer), is hashed there, and is
    forwarded from the page cache; a chunk we already hold passes through a buffer and is
    forwarded first (each child checks every chunk itself).
    """
    chunk_size = receiver.layout.chunk_size
    pool = BufferPool(chunk_size, ChildLink.DEPTH * len(children) + 4)
    while True:
        header = bytes(recv_exact(up, HEADER.size))
        kind, chunk, length = HEADER.unpack(header)
        if kind == END:
            for child in children:
                child.put(header, None, None)
            return
        if kind != DATA or length > chunk_size:
            raise SyncError("upstream", "malformed frame from upstream")
        if splicer is not None and receiver.wants(chunk):
            fd, offset, expected = receiver.target(chunk)
            if expected != length:
                raise SyncError("upstream", "frame length does not match the manifest")
            splicer.into(up, fd, offset, length, stall)
            received.add(length)
            for child in children:  # before accept_written: a finished file closes its fd
                child.put(header, FileSlice(os.dup(fd), offset, length), None)
            receiver.accept_written(chunk)
            continue
        buf = pool.get()
        view = memoryview(buf)[:length]
        shared = Shared(buf, len(children) + 1, pool)
        try:
            recv_into(up, view)
            received.add(length)
            for child in children:
                child.put(header, view, shared)
            receiver.take(chunk, view)
        finally:
            shared.release()
