"""The sync agent's modes and entry point (the last part of the program sent to a node).

  manifest  scan SRC, print the manifest
  relay     receive chunks on planned rail addresses, verify, write, forward to children
  source    send SRC's chunks to the children (the first hop of the tree)
  feed      copy framed chunks from stdin (SSH) into the relay on this node: the first
            hop when the controller itself is the source

Control: one JSON request line on stdin; relay and source read one more line, the plan,
once the controller has planned the tree. Closing stdin aborts (partial files stay for
the next run). Events go to stdout as "EVENT NAME {json}" lines.
"""

import os
import sys
import threading
from collections.abc import Callable
from typing import Any

# <local-imports>
from sparkctl.sync.remote.manifest import (
    CHUNK_SIZE,
    Layout,
    build_manifest,
    cache_file,
    ids_of,
    ranges_of,
)
from sparkctl.sync.remote.receive import Destination, Receiver, scan
from sparkctl.sync.remote.relay import ChildLink, Splicer, relay_stream
from sparkctl.sync.remote.send import send_to_children
from sparkctl.sync.remote.wire import (
    FINISHED,
    Counter,
    Listeners,
    SyncError,
    connect_stream,
    drain_and_close,
    emit,
)

# </local-imports>

PROGRESS_EVERY_S = 0.5


def read_json_line(stream):
    import json

    line = stream.readline()
    if not line:
        raise SyncError("upstream", "the controller went away")
    return json.loads(line)


def abort_on_eof(stream):
    """The controller closed our stdin (Ctrl-C, its deadline): stop at once, unless our
    result is already out (then main() is about to exit with its own status)."""
    def run():
        while stream.read(65536):
            pass
        if not FINISHED.is_set():
            os._exit(3)
    threading.Thread(target=run, daemon=True).start()


# What the heartbeat reports; each mode points it at its counters.
STATUS: list[Callable[[], dict[str, int]]] = [lambda: {}]


def heartbeat():
    """A progress line every half second from start to exit: the controller takes silence
    for a dead or frozen node and stops waiting for it."""
    def run():
        while not FINISHED.wait(PROGRESS_EVERY_S):
            emit("P", STATUS[0]())
    threading.Thread(target=run, daemon=True).start()


def free_bytes(path):
    try:
        st = os.statvfs(path)
    except OSError:
        return None
    return st.f_bavail * st.f_frsize


def human(n):
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024:
            return f"{n:.1f} {unit}"
        n /= 1024.0
    return f"{n:.1f} TiB"


def mode_manifest(request):
    root = os.path.expanduser(request["root"])
    manifest = build_manifest(root, int(request.get("chunk_size", CHUNK_SIZE)),
                              cache_file(request.get("cache"), root))
    emit("MANIFEST", manifest)
    return True


def open_children(key, children, stall, opened, lost, connect_s=None):
    """Connect to every child; one that does not answer within `connect_s` is left out
    (its own accept then fails and the controller retries it behind the others)."""
    for child in children:
        try:
            opened.append((child["name"], [
                connect_stream(key, src, dst, port, i, connect_s or stall, stall)
                for i, (src, dst, port) in enumerate(child["streams"])]))
        except SyncError as exc:
            lost.append([child["name"], exc.message])


def mode_relay(request, stdin):
    key = bytes.fromhex(request["key"])
    stall = float(request.get("stall_s", 20))
    destination = Destination(request["dest"], request["manifest"])
    destination.prepare()
    need, summary, complete = scan(destination, bool(request.get("verify")))
    layout = destination.layout
    need_bytes = sum(layout.locate(c)[2] for c in ids_of(ranges_of(need)))
    free = free_bytes(destination.dest)
    if free is not None and need_bytes > free:
        raise SyncError("space", f"needs {human(need_bytes)} in {destination.dest}, "
                        f"{human(free)} free")
    listeners = Listeners(request["listen"])
    written, received = Counter(), Counter()
    STATUS[0] = lambda: {"w": written.value, "r": received.value}
    receiver = Receiver(destination, need, complete, written)
    try:
        receiver.finish_ready()
        receiver.flush_state()
        emit("SCAN", {"need": ranges_of(need), "need_bytes": need_bytes, "files": summary})
        emit("READY", {"ports": listeners.ports()})
        # {"upstream": [addr], "listen": [addr], "streams": n,
        #  "children": [{"name", "streams": [[src, dst, port], ...]}]}
        plan = read_json_line(stdin)
        abort_on_eof(stdin)
        streams = int(plan.get("streams") or 0)
        lost: list[list[str]] = []
        errors: list[SyncError] = []
        if streams:
            listeners.keep_only(plan["listen"])
            opened: list[tuple[str, list[Any]]] = []
            # Data from upstream waits until the children are connected; keep that wait
            # well inside the stall/2 after which our upstream would drop us.
            opener = threading.Thread(target=open_children, daemon=True,
                                      args=(key, plan.get("children", []), stall, opened, lost,
                                            max(1.0, stall / 4)))
            opener.start()
            ups = listeners.accept(key, set(plan["upstream"]), streams,
                                   float(request.get("connect_s", 30)), stall)
            opener.join()
            links = [[ChildLink(name, socks[i], stall / 2) for name, socks in opened]
                     for i in range(streams)]
            splice = Splicer.available(destination.partial_dir) and not request.get("no_splice")
            run_streams(ups, links, receiver, received, errors, stall, splice)
            lost += sorted([link.name, link.failed] for row in links for link in row
                           if link.failed and link.failed != "upstream lost")
        listeners.close()
        receiver.close()
        missing = receiver.missing()
        if not errors and missing == 0:
            receiver.finish_tree()
        receiver.flush_state()
        result = {"written": written.value, "received": received.value, "missing": missing,
                  "files": summary, "children_lost": lost}
        if errors:
            emit("FAIL", {"kind": errors[0].kind, "error": errors[0].message, **result})
            return False
        emit("DONE", result)
        return missing == 0
    finally:
        listeners.close()
        receiver.close()


def run_streams(ups, links, receiver, received, errors, stall, splice):
    """One thread per upstream stream; the state file is saved every 2 s meanwhile."""
    def run(i):
        splicer = Splicer() if splice else None
        try:
            relay_stream(ups[i], links[i], receiver, received, splicer, stall)
        except TimeoutError:
            errors.append(SyncError("upstream", f"upstream sent nothing for {stall:.0f} s"))
        except (OSError, EOFError) as exc:
            errors.append(SyncError("upstream", f"upstream lost: {exc}"))
        except SyncError as exc:
            errors.append(exc)
        finally:
            ups[i].close()
            if splicer is not None:
                splicer.close()
        if errors:  # tell the children at once rather than at their timeout
            for row in links:
                for link in row:
                    link.abort()

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(len(ups))]
    done = threading.Event()

    def flusher():
        while not done.wait(2.0):
            receiver.flush_state()
    threading.Thread(target=flusher, daemon=True).start()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for row in links:
        for link in row:
            link.close(stall / 2)
    done.set()


def mode_source(request, stdin):
    key = bytes.fromhex(request["key"])
    stall = float(request.get("stall_s", 20))
    manifest = request["manifest"]
    plan = read_json_line(stdin)  # {"send": ranges, "children": [{"name", "streams"}]}
    abort_on_eof(stdin)
    opened: list[tuple[str, list[Any]]] = []
    lost: list[list[str]] = []
    open_children(key, plan.get("children", []), stall, opened, lost)
    if not opened:
        emit("FAIL", {"kind": "connect", "error": "no child could be reached: "
                      + "; ".join(f"{n}: {why}" for n, why in lost), "children_lost": lost})
        return False
    threads, counters, failures = send_to_children(
        opened, Layout(manifest), [f["source"] for f in manifest["files"]], plan["send"],
        stall)
    STATUS[0] = lambda: {"s": max(c.value for c in counters)}
    for t in threads:
        t.join()
    lost += failures
    result = {"sent": max(c.value for c in counters), "children_lost": lost}
    if len(failures) == len(opened):
        emit("FAIL", {"kind": "connect", "error": "; ".join(f"{n}: {why}" for n, why in lost),
                      **result})
        return False
    emit("DONE", result)
    return True


def mode_feed(request, stdin):
    """Controller as source: frames arrive on stdin (SSH) and go into the local relay."""
    key = bytes.fromhex(request["key"])
    stall = float(request.get("stall_s", 20))
    sock = connect_stream(key, None, request["target"], int(request["port"]),
                          int(request["stream"]), stall, stall)
    try:
        while True:
            data = stdin.read1(1 << 20)
            if not data:
                break
            sock.sendall(data)
    except OSError as exc:
        raise SyncError("connect", f"feeding the relay on this node failed: {exc}") from None
    finally:
        drain_and_close([sock], stall)
    emit("DONE", {})
    return True


MODES = {"manifest": lambda request, stdin: mode_manifest(request), "relay": mode_relay,
         "source": mode_source, "feed": mode_feed}


def main(argv):
    stdin = sys.stdin.buffer
    heartbeat()
    try:
        request = read_json_line(stdin)
        mode = MODES.get(argv[1] if len(argv) > 1 else "")
        if mode is None:
            raise SyncError("input", f"unknown agent mode {argv[1:]!r}")
        ok = mode(request, stdin)
    except SyncError as exc:
        emit("FAIL", {"kind": exc.kind, "error": exc.message})
        ok = False
    except (ValueError, KeyError, TypeError) as exc:
        emit("FAIL", {"kind": "input", "error": f"bad request: {exc!r}"})
        ok = False
    sys.stdout.flush()
    # Daemon threads (stdin watcher, links) must not keep the process alive, or listening.
    os._exit(0 if ok else 1)


if __name__ == "__main__":
    main(sys.argv)
