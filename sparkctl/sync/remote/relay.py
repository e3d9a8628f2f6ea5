"""Forwarding on a node: one upstream stream in, the same stream out to each child, the
chunks this node needs written on the way (part of the agent program)."""

import os
import queue
import select
import threading
from typing import Any

# <local-imports>
from sparkctl.sync.remote.wire import DATA, END, HEADER, SyncError, recv_exact

# </local-imports>


class BufferPool:
    """Chunk buffers reused by one stream: a fresh 4 MiB buffer per chunk costs page faults
    and zeroing that, on a node forwarding at line rate, were most of its CPU time."""

    def __init__(self, size, count):
        self.size = size
        self.free: queue.SimpleQueue[bytearray] = queue.SimpleQueue()
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
        self.queue: queue.Queue[tuple[Any, Any, Any] | None] = queue.Queue(maxsize=self.DEPTH)
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
