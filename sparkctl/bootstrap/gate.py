"""The check every Ansible run passes first: each node answers on its SSH port and offers
a host key that is pinned in the known_hosts its connection uses. One node that fails
stops the run before any task touches any node.

The comparison is OpenSSH's: the client offers the key types it has pinned for the host
first, so the server answers with one of those; that key must be one of the pinned keys.
A node whose connection goes through a proxy (ProxyJump/ProxyCommand) is checked by the
real ssh client through that proxy, with no authentication attempted.
"""

from __future__ import annotations

import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from sparkctl.bootstrap import scan
from sparkctl.bootstrap.connection import NodeConnection
from sparkctl.bootstrap.hostkeys import HostKey, pinned_keys
from sparkctl.errors import RunFailed

DEFAULT_TIMEOUT_S = 5.0


@dataclass
class KeyCheck:
    connection: NodeConnection
    status: str  # ok | unknown | changed | unreachable
    offered: HostKey | None = None
    pinned: list[tuple[HostKey, Path]] = field(default_factory=list)
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def check_node(conn: NodeConnection, timeout: float = DEFAULT_TIMEOUT_S) -> KeyCheck:
    files = [*conn.known_hosts, *conn.global_known_hosts]
    pinned = pinned_keys(files, conn.lookup)
    if conn.proxy:
        return _check_through_proxy(conn, pinned, timeout)
    try:
        if not pinned:
            return KeyCheck(conn, "unknown", scan.scan_key(conn.hostname, conn.port, timeout))
        types = tuple(dict.fromkeys(key.type for key, _ in pinned))
        try:
            offered = scan.scan_key(conn.hostname, conn.port, timeout, types)
        except scan.NoCommonKeyType:
            offered = scan.scan_key(conn.hostname, conn.port, timeout)
    except scan.Unreachable as exc:
        return KeyCheck(conn, "unreachable", pinned=pinned, detail=str(exc))
    if any(offered == key for key, _ in pinned):
        return KeyCheck(conn, "ok", offered, pinned)
    return KeyCheck(conn, "changed", offered, pinned)


def _check_through_proxy(conn: NodeConnection, pinned, timeout: float) -> KeyCheck:
    """ssh itself, through the proxy, with only the `none` auth method: the host key is
    verified during key exchange, then the login is refused before any credential is sent."""
    argv = ["ssh", *conn.ssh_args, "-p", str(conn.port),
            *(["-l", conn.user] if conn.user else []),
            "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes",
            "-o", "PreferredAuthentications=none", "-o", "ControlPath=none",
            "-o", f"ConnectTimeout={max(int(timeout), 1)}", "-T", "--", conn.host, "true"]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout * 3,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return KeyCheck(conn, "unreachable", pinned=pinned,
                        detail=f"no answer through {conn.proxy} within {timeout * 3:g} s")
    err = done.stderr
    if "Permission denied" in err or done.returncode == 0:
        return KeyCheck(conn, "ok", pinned=pinned, detail=f"checked by ssh via {conn.proxy}")
    if "IDENTIFICATION HAS CHANGED" in err or "Host key verification failed" in err:
        status = "changed" if pinned else "unknown"
        return KeyCheck(conn, status, pinned=pinned, detail=err.strip()[-600:])
    return KeyCheck(conn, "unreachable", pinned=pinned, detail=err.strip()[-300:])


def check_all(conns: list[NodeConnection], timeout: float = DEFAULT_TIMEOUT_S
              ) -> list[KeyCheck]:
    if not conns:
        return []
    with ThreadPoolExecutor(max_workers=min(16, len(conns))) as pool:
        return list(pool.map(lambda c: check_node(c, timeout), conns))


def describe(check: KeyCheck, repin: str) -> str:
    conn = check.connection
    offered = check.offered.fingerprint(conn.name) if check.offered else None
    if check.status == "unreachable":
        return f"{conn.where}: unreachable: {check.detail}"
    if check.status == "unknown":
        files = ", ".join(str(p) for p in conn.known_hosts)
        text = (f"{conn.where}: host key not pinned (looked up {conn.lookup} in {files})"
                + (f"; the node offers {offered}" if offered else "")
                + (f"\n    {check.detail}" if check.detail else ""))
        return text + f"\n    check it, then pin it with: {repin}"
    pins = "; ".join(f"{key.fingerprint(conn.name)} in {path}" for key, path in check.pinned)
    text = (f"{conn.where}: HOST KEY CHANGED: the node offers "
            f"{offered or 'a key ssh refused'}, pinned is {pins}."
            + (f"\n    {check.detail}" if check.detail else "")
            + "\n    Another machine may be answering at this address, or the node was "
              "reinstalled. Compare with `ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub` "
              f"on the node's console, then re-pin with: {repin} --repin {conn.name}")
    return text


def require_trusted(conns: list[NodeConnection], repin: str,
                    timeout: float = DEFAULT_TIMEOUT_S) -> list[KeyCheck]:
    """Raise RunFailed naming every node that is unreachable or whose key is not the
    pinned one; return the checks when all are good."""
    checks = check_all(conns, timeout)
    bad = [c for c in checks if not c.ok]
    if bad:
        keys = [c for c in bad if c.status != "unreachable"]
        first = ("host key check failed" if keys else "cannot reach every node")
        raise RunFailed(
            f"{first}; nothing was changed on any node:\n  "
            + "\n  ".join(describe(c, repin) for c in bad),
            hint=("sparkctl checks every node's SSH host key before Ansible runs "
                  "(ANSIBLE_HOST_KEY_CHECKING=True)" if keys else
                  "check the address, the network and that sshd runs; nodes are reached "
                  "on their ansible_host/ansible_port"))
    return checks
