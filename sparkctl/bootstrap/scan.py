"""Reaching a node's sshd from the controller: resolve, TCP connect, and read the host key
it offers in a key exchange. No authentication happens here, so nothing secret is sent to
a node before its key is trusted.

Every step has a deadline: a dead address costs at most `timeout` seconds.
"""

from __future__ import annotations

import logging
import socket
from dataclasses import dataclass
from typing import cast

from sparkctl.bootstrap.hostkeys import HostKey, key_type_of

# What paramiko calls the host key algorithms that produce each key type. RSA keys are
# negotiated as rsa-sha2-* on current servers (ssh-rsa/SHA-1 is off in OpenSSH >= 8.8).
ALGORITHMS: dict[str, tuple[str, ...]] = {
    "ssh-ed25519": ("ssh-ed25519",),
    "ecdsa-sha2-nistp256": ("ecdsa-sha2-nistp256",),
    "ecdsa-sha2-nistp384": ("ecdsa-sha2-nistp384",),
    "ecdsa-sha2-nistp521": ("ecdsa-sha2-nistp521",),
    "ssh-rsa": ("rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"),
}
# The key types a fresh DGX OS (Ubuntu) sshd has: ssh-keygen -A makes rsa, ecdsa, ed25519.
SCANNED_TYPES = ("ssh-ed25519", "ecdsa-sha2-nistp256", "ssh-rsa")


# paramiko logs a refused key exchange from its transport thread; that is an answer we
# handle (NoCommonKeyType), not something to print on stderr.
logging.getLogger("paramiko").addHandler(logging.NullHandler())


class Unreachable(Exception):
    """The node's sshd could not be reached; the message says which step failed."""


class NoCommonKeyType(Exception):
    """The node's sshd has none of the requested host key types."""


@dataclass(frozen=True)
class Address:
    host: str  # as configured (name or IP)
    port: int
    resolved: str  # the IP that answered


def connect(host: str, port: int, timeout: float) -> tuple[socket.socket, Address]:
    """A TCP connection to host:port, or Unreachable with the reason in plain words."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise Unreachable(f"cannot resolve {host!r}: {exc.strerror}") from None
    last = "no address"
    for family, kind, proto, _, sockaddr in infos:
        sock = socket.socket(family, kind, proto)
        sock.settimeout(timeout)
        try:
            sock.connect(sockaddr)
        except TimeoutError:
            last = f"no answer on TCP port {port} within {timeout:g} s"
        except ConnectionRefusedError:
            last = f"connection refused on TCP port {port} (is sshd running?)"
        except OSError as exc:
            last = f"TCP port {port}: {exc.strerror or exc}"
        else:
            # An IPv4 or IPv6 sockaddr starts with the address as text (typeshed: str | int).
            return sock, Address(host, port, cast(str, sockaddr[0]))
        sock.close()
    raise Unreachable(last)


def check_reachable(host: str, port: int, timeout: float) -> Address:
    sock, address = connect(host, port, timeout)
    sock.close()
    return address


def start_transport(host: str, port: int, timeout: float,
                    key_types: tuple[str, ...] | None = None):
    """A paramiko Transport after key exchange (not authenticated). `key_types` limits the
    host key types offered to the server, the way ssh prefers the types it has pinned."""
    import paramiko  # lazy: ~0.1 s to import

    sock, _ = connect(host, port, timeout)
    transport = paramiko.Transport(sock)
    transport.banner_timeout = timeout
    transport.handshake_timeout = timeout
    if key_types:
        supported = set(transport.get_security_options().key_types)
        algorithms = [a for t in key_types for a in ALGORITHMS.get(t, (t,)) if a in supported]
        if not algorithms:
            transport.close()
            raise NoCommonKeyType(f"no supported algorithm for {', '.join(key_types)}")
        transport.get_security_options().key_types = algorithms
    try:
        transport.start_client(timeout=timeout)
    except paramiko.SSHException as exc:
        transport.close()
        text = str(exc)
        if "host key" in text.lower() or "incompatible" in text.lower():
            raise NoCommonKeyType(text) from None
        raise Unreachable(f"SSH handshake with {host}:{port} failed: {text}") from None
    except (OSError, EOFError) as exc:
        transport.close()
        raise Unreachable(f"SSH handshake with {host}:{port} failed: {exc or 'closed'}") \
            from None
    return transport


def offered_key(transport) -> HostKey:
    blob = transport.get_remote_server_key().asbytes()
    return HostKey(key_type_of(blob), blob)


def scan_key(host: str, port: int, timeout: float,
             key_types: tuple[str, ...] | None = None) -> HostKey:
    transport = start_transport(host, port, timeout, key_types)
    try:
        return offered_key(transport)
    finally:
        transport.close()


def scan_all(host: str, port: int, timeout: float,
             types: tuple[str, ...] = SCANNED_TYPES) -> list[HostKey]:
    """Every host key the node has among `types` (one key exchange per type, like
    ssh-keyscan). Unreachable propagates; a type the node lacks is simply absent."""
    keys = []
    for keytype in types:
        try:
            keys.append(scan_key(host, port, timeout, (keytype,)))
        except NoCommonKeyType:
            continue
    return keys
