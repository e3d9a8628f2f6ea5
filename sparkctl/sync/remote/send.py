"""The source end: chunks of SRC out over several streams per child (part of the agent)."""

import os
import threading
from typing import BinaryIO

# <local-imports>
from sparkctl.sync.remote.manifest import ids_of
from sparkctl.sync.remote.wire import DATA, END, HEADER, Counter, SyncError, drain_and_close

# </local-imports>


class ChunkQueue:
    """The chunk ids left to send to one child, shared by its streams (each takes the next),
    so a stream on a slower rail simply carries fewer chunks."""

    def __init__(self, ranges):
        self._ids = ids_of(ranges)
        self._lock = threading.Lock()

    def next(self):
        with self._lock:
            return next(self._ids, None)


def send_chunks(sinks, layout, sources, ranges, counter):
    """Send every chunk in `ranges` over `sinks` (one thread each), then END on each.

    `sources[file_index]` is the path to read. A socket sink sends with sendfile (zero copy
    from the page cache); an SSH channel (controller as source) gets the bytes with sendall.
    """
    work = ChunkQueue(ranges)
    stop = threading.Event()
    errors = []

    def run(sink):
        handles: dict[int, BinaryIO] = {}
        try:
            while not stop.is_set():
                chunk = work.next()
                if chunk is None:
                    break
                index, offset, length = layout.locate(chunk)
                handle = handles.get(index)
                if handle is None:
                    handle = handles[index] = open(sources[index], "rb")
                sink.sendall(HEADER.pack(DATA, chunk, length))
                if hasattr(sink, "sendfile"):
                    sent = sink.sendfile(handle, offset, length)
                else:
                    data = os.pread(handle.fileno(), length, offset)
                    sent = len(data)
                    if sent == length:
                        sink.sendall(data)
                if sent != length:
                    raise SyncError("io", f"{sources[index]} shrank while it was sent")
                counter.add(length)
            if not stop.is_set():
                sink.sendall(HEADER.pack(END, 0, 0))
        except (OSError, EOFError, SyncError) as exc:
            errors.append(exc)
            stop.set()
        finally:
            for handle in handles.values():
                handle.close()

    threads = [threading.Thread(target=run, args=(s,), daemon=True) for s in sinks]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        exc = errors[0]
        if isinstance(exc, SyncError):
            raise exc
        raise SyncError("connect", f"sending failed: {exc}")


def send_to_children(children, layout, sources, ranges, stall):
    """Send the chunks to every child at once (a tree root may have several).

    `children`: [(name, sockets)]. Returns (threads, counters, failures): join the threads;
    failures lists [name, why] for children that could not be served.
    """
    failures, counters, threads = [], [], []

    def one(name, socks, counter):
        try:
            send_chunks(socks, layout, sources, ranges, counter)
        except SyncError as exc:
            failures.append([name, exc.message])
        finally:
            drain_and_close(socks, stall)

    for name, socks in children:
        counter = Counter()
        counters.append(counter)
        threads.append(threading.Thread(target=one, args=(name, socks, counter), daemon=True))
    for t in threads:
        t.start()
    return threads, counters, failures
