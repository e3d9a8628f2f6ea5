"""Listen on each given address (an ephemeral port each) until stdin closes or time is up.

argv[1]: JSON {"addresses": [...], "seconds": N}
Prints "READY {...}" once every socket listens, then, at the end, "ACCEPTED [[address,
peer], ...]" (who connected) and "HALFOPEN [[address, peer], ...]": peers whose SYN arrived
and was answered but whose handshake never completed, which tells a firewall at the
*client* (answers dropped there) from one here (SYNs dropped before reaching us).
"""

import json
import select
import socket
import struct
import sys
import time

SYN_RECV = "03"


def half_open(ports):
    """(local address, peer address) of SYN_RECV entries on our ports, from /proc/net/tcp."""
    found: list[list[str]] = []
    try:
        with open("/proc/net/tcp") as handle:
            lines = handle.read().splitlines()[1:]
    except OSError:
        return found
    for line in lines:
        fields = line.split()
        if len(fields) < 4 or fields[3] != SYN_RECV:
            continue
        local, peer = fields[1], fields[2]
        address = socket.inet_ntoa(struct.pack("<I", int(local.split(":")[0], 16)))
        if ports.get(address) == int(local.split(":")[1], 16):
            found.append([address, socket.inet_ntoa(struct.pack("<I", int(peer.split(":")[0],
                                                                              16)))])
    return found


def main():
    request = json.loads(sys.argv[1])
    listeners, ports, failed = {}, {}, {}
    for address in request["addresses"]:
        try:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((address, 0))
            sock.listen(64)
            sock.setblocking(False)
            listeners[sock] = address
            ports[address] = sock.getsockname()[1]
        except OSError as exc:
            failed[address] = str(exc)
    print("READY " + json.dumps({"ports": ports, "failed": failed}), flush=True)
    accepted = []
    deadline = time.monotonic() + float(request["seconds"])
    watch = list(listeners) + [sys.stdin]
    while time.monotonic() < deadline:
        ready, _, _ = select.select(watch, [], [], max(0.0, deadline - time.monotonic()))
        # typeshed: stdin.buffer is a BinaryIO (no read1); it is a BufferedReader.
        if sys.stdin in ready and not sys.stdin.buffer.read1(4096):  # type: ignore[union-attr]
            break  # the controller closed our stdin: every client is done
        for sock in ready:
            if sock in listeners:
                try:
                    conn, peer = sock.accept()
                    conn.close()
                    accepted.append([listeners[sock], peer[0]])
                except OSError:
                    pass
    print("ACCEPTED " + json.dumps(accepted), flush=True)
    print("HALFOPEN " + json.dumps(half_open(ports)), flush=True)


main()
