"""Sync wire protocol: framed chunks on plain TCP streams, opened by a mutual HMAC challenge.

Runs on the nodes (python3 standard library only) and on the controller. Part of the agent
program (see sparkctl/sync/program.py): no imports from sparkctl here.

Why plain TCP: ssh encrypts on one core per connection, far below a 200 Gb/s rail
(notes/sync.md has the measured figures). The rails are private links between the nodes;
what plain TCP would give away is checked instead: a stream is accepted only from the
planned upstream rail address and only after both ends prove the transfer's key (random,
per transfer, sent over SSH); every chunk must match its SHA-256 from the manifest, which
also came over SSH, so nothing forged or corrupted is ever written.
"""

import hashlib
import hmac
import json
import os
import select
import socket
import struct
import sys
import threading
import time

PROTOCOL = b"sparkctl-sync/1"
HEADER = struct.Struct("!BQI")  # kind, chunk id, payload length
DATA, END = 1, 2
NONCE = 16
DIGEST = 32


class SyncError(Exception):
    """A failure the controller reports as is; `kind` says what went wrong."""

    def __init__(self, kind, message):
        super().__init__(message)
        self.kind = kind  # input | io | space | verify | upstream | auth | connect
        self.message = message


_print_lock = threading.Lock()
FINISHED = threading.Event()  # our result (DONE or FAIL) is out: stdin EOF is no abort now


def emit(name, data):
    """One event line for the controller: EVENT NAME {json}."""
    line = "EVENT " + name + " " + json.dumps(data, separators=(",", ":")) + "\n"
    with _print_lock:
        sys.stdout.write(line)
        sys.stdout.flush()
        if name in ("DONE", "FAIL"):
            FINISHED.set()


class Counter:
    def __init__(self):
        self.value = 0
        self._lock = threading.Lock()

    def add(self, n):
        with self._lock:
            self.value += n


def recv_exact(sock, size):
    buf = bytearray(size)
    view = memoryview(buf)
    got = 0
    while got < size:
        n = sock.recv_into(view[got:])
        if n == 0:
            raise EOFError("connection closed")
        got += n
    return buf


def _mac(key, *parts):
    return hmac.new(key, b"|".join((PROTOCOL,) + parts), hashlib.sha256).digest()


def authenticate_listener(sock, key):
    """Accepting side: challenge the connector, then prove the key ourselves.

    Returns the stream index the connector asked for (bound into its MAC).
    """
    ours = os.urandom(NONCE)
    sock.sendall(PROTOCOL + ours)
    reply = bytes(recv_exact(sock, NONCE + DIGEST + 2))
    theirs, mac, wanted = reply[:NONCE], reply[NONCE:NONCE + DIGEST], reply[-2:]
    if not hmac.compare_digest(mac, _mac(key, b"connect", ours, theirs, wanted)):
        raise SyncError("auth", "a connection failed the transfer's HMAC challenge")
    sock.sendall(_mac(key, b"accept", theirs, ours))
    return struct.unpack("!H", wanted)[0]


def authenticate_connector(sock, key, stream):
    head = bytes(recv_exact(sock, len(PROTOCOL) + NONCE))
    if head[:len(PROTOCOL)] != PROTOCOL:
        raise SyncError("auth", f"the peer does not speak {PROTOCOL.decode()}")
    theirs = head[len(PROTOCOL):]
    ours = os.urandom(NONCE)
    wanted = struct.pack("!H", stream)
    sock.sendall(ours + _mac(key, b"connect", theirs, ours, wanted) + wanted)
    answer = bytes(recv_exact(sock, DIGEST))
    if not hmac.compare_digest(answer, _mac(key, b"accept", ours, theirs)):
        raise SyncError("auth", "the receiver failed the transfer's HMAC challenge")


def connect_stream(key, source, target, port, stream, timeout, stall):
    """One authenticated data stream from our address `source` (None: any) to target:port.

    Retries refused connects until `timeout` (the receiver may still be starting); a peer
    that fails the challenge is never retried.
    """
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.settimeout(min(5.0, max(0.5, deadline - time.monotonic())))
            if source:
                sock.bind((source, 0))
            sock.connect((target, port))
            authenticate_connector(sock, key, stream)
            sock.settimeout(stall)
            return sock
        except SyncError:
            sock.close()
            raise
        except (OSError, EOFError) as exc:
            sock.close()
            last = exc
            time.sleep(0.2)
    raise SyncError("connect", f"cannot open stream {stream} from {source or 'this node'} "
                    f"to {target}:{port}: {last}")


class Listeners:
    """Sockets bound to the given addresses only (never a wildcard), ephemeral ports."""

    def __init__(self, addresses):
        self.socks = {}
        for address in addresses:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            try:
                sock.bind((address, 0))
            except OSError as exc:
                sock.close()
                self.close()
                raise SyncError("connect", f"cannot listen on {address}: {exc.strerror} (is "
                                "this planned rail address configured on the node? provision "
                                "the network first)") from None
            sock.listen(64)
            self.socks[address] = sock

    def ports(self):
        return {address: sock.getsockname()[1] for address, sock in self.socks.items()}

    def keep_only(self, addresses):
        for address in list(self.socks):
            if address not in addresses:
                self.socks.pop(address).close()

    def accept(self, key, peers, streams, timeout, stall):
        """`streams` authenticated connections from `peers`, in stream order; then every
        listener is closed, so nothing listens while (or after) the data flows."""
        found: dict[int, socket.socket] = {}
        deadline = time.monotonic() + timeout
        try:
            while len(found) < streams:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise SyncError("upstream", f"upstream opened {len(found)} of {streams} "
                                    f"streams in {timeout:.0f} s")
                ready, _, _ = select.select(list(self.socks.values()), [], [], left)
                for listener in ready:
                    conn, peer = listener.accept()
                    if peer[0] not in peers:
                        conn.close()  # only the planned upstream address may connect
                        continue
                    conn.settimeout(min(10.0, timeout))
                    try:
                        index = authenticate_listener(conn, key)
                    except (SyncError, OSError, EOFError):
                        conn.close()
                        continue
                    if index >= streams or index in found:
                        conn.close()
                        continue
                    conn.settimeout(stall)
                    found[index] = conn
        except BaseException:
            for conn in found.values():
                conn.close()
            raise
        finally:
            self.close()
        return [found[i] for i in range(streams)]

    def close(self):
        for sock in self.socks.values():
            sock.close()
        self.socks = {}


def drain_and_close(socks, timeout):
    """Wait (bounded) for each peer to close its end, so our last bytes are not reset."""
    deadline = time.monotonic() + timeout
    for sock in socks:
        try:
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass
    for sock in socks:
        try:
            sock.settimeout(max(0.1, deadline - time.monotonic()))
            while sock.recv(65536):
                pass
        except OSError:
            pass
        finally:
            sock.close()
