"""Data streams: only the planned peer, only with the transfer's key, nothing left listening."""

from __future__ import annotations

import socket
import threading

import pytest

from sparkctl.sync.remote import wire
from sparkctl.sync.remote.wire import Listeners, SyncError, connect_stream

from .fakes import listening_ports

KEY = bytes(range(32))
OTHER = bytes(32)


def accept_in_thread(listeners, peers, streams, key=KEY, timeout=3.0):
    box = {}

    def run():
        try:
            box["socks"] = listeners.accept(key, peers, streams, timeout, 5.0)
        except SyncError as exc:
            box["error"] = exc
    thread = threading.Thread(target=run)
    thread.start()
    return thread, box


def test_streams_open_with_the_key_and_arrive_in_stream_order():
    listeners = Listeners(["127.0.3.2"])
    port = listeners.ports()["127.0.3.2"]
    thread, box = accept_in_thread(listeners, {"127.0.3.1"}, 2)
    second = connect_stream(KEY, "127.0.3.1", "127.0.3.2", port, 1, 3, 5)
    first = connect_stream(KEY, "127.0.3.1", "127.0.3.2", port, 0, 3, 5)
    thread.join()
    first.sendall(b"zero")
    second.sendall(b"one")
    a, b = box["socks"]
    assert a.recv(4) == b"zero" and b.recv(3) == b"one"
    for s in (first, second, a, b):
        s.close()
    # the listener closed as soon as both streams were in
    # (only this port: another run of these tests on the machine may listen on the address)
    assert ("127.0.3.2", port) not in listening_ports({"127.0.3.2"})


def test_a_wrong_key_is_refused_and_the_listener_keeps_waiting_for_the_real_peer():
    listeners = Listeners(["127.0.3.3"])
    port = listeners.ports()["127.0.3.3"]
    thread, box = accept_in_thread(listeners, {"127.0.3.1"}, 1)
    with pytest.raises((SyncError, OSError)):
        connect_stream(OTHER, "127.0.3.1", "127.0.3.3", port, 0, 1.0, 5)
    good = connect_stream(KEY, "127.0.3.1", "127.0.3.3", port, 0, 3, 5)
    thread.join()
    assert "error" not in box and len(box["socks"]) == 1
    good.close()
    box["socks"][0].close()


def test_a_peer_that_is_not_the_planned_upstream_is_dropped_before_any_handshake():
    listeners = Listeners(["127.0.3.4"])
    port = listeners.ports()["127.0.3.4"]
    thread, box = accept_in_thread(listeners, {"127.0.3.1"}, 1, timeout=1.5)
    intruder = socket.create_connection(("127.0.3.4", port), source_address=("127.0.3.9", 0))
    intruder.settimeout(2)
    assert intruder.recv(64) == b""  # closed without a challenge: nothing learned
    thread.join()
    assert "upstream opened 0 of 1 streams" in box["error"].message
    assert ("127.0.3.4", port) not in listening_ports({"127.0.3.4"})  # closed on timeout too


def test_the_connector_checks_the_listener_proves_the_key_too():
    """A receiver that does not know the key (an impostor on the rail) gets no data."""
    server = socket.socket()
    server.bind(("127.0.3.5", 0))
    server.listen(1)
    port = server.getsockname()[1]

    def impostor():
        conn, _ = server.accept()
        conn.sendall(wire.PROTOCOL + bytes(16))
        wire.recv_exact(conn, 16 + 32 + 2)
        conn.sendall(bytes(32))  # cannot compute the MAC
        conn.close()
    threading.Thread(target=impostor).start()
    with pytest.raises(SyncError, match="receiver failed") as info:
        connect_stream(KEY, None, "127.0.3.5", port, 0, 3, 5)
    assert info.value.kind == "auth"
    server.close()


def test_listening_only_on_given_addresses_and_a_missing_address_is_named():
    listeners = Listeners(["127.0.3.6"])
    port = listeners.ports()["127.0.3.6"]
    ours = [found for found in listening_ports({"127.0.3.6", "0.0.0.0"}) if found[1] == port]
    assert ours == [("127.0.3.6", port)]  # bound to that address, never the wildcard
    listeners.close()
    assert ("127.0.3.6", port) not in listening_ports({"127.0.3.6"})
    with pytest.raises(SyncError, match="cannot listen on 192.0.2.1") as info:
        Listeners(["192.0.2.1"])  # TEST-NET: never configured here
    assert "planned rail address" in info.value.message


def test_connect_gives_up_at_its_timeout_naming_both_ends():
    free = socket.socket()
    free.bind(("127.0.3.7", 0))
    port = free.getsockname()[1]
    free.close()  # nobody listens there now
    with pytest.raises(SyncError, match="cannot open stream 0 from 127.0.3.1 to 127.0.3.7"):
        connect_stream(KEY, "127.0.3.1", "127.0.3.7", port, 0, 0.6, 5)
