"""A local stand-in for the SSH probe layer: each "node" runs the real agent program as a
local process; its rail addresses are loopback addresses (127.0.N.x), so the real TCP
streams, HMAC challenges and chunk checks run, without root, SSH or a lab.

Only the file system is faked: every node's paths are rewritten into its own directory
(`root/<node>/...`) in the request the controller sends, so four nodes can share one disk.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import threading
import time
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path

from sparkctl.probe.hosts import SshEndpoint
from sparkctl.probe.ssh import CommandResult
from sparkctl.sync.nodes import RailAddress, SyncCluster, SyncNode

PATH_KEYS = ("dest", "root")


def node_dir(root: Path, node: str) -> Path:
    return root / node


class FakeChannel:
    """The subset of paramiko's Channel the sync agents use, over a local process."""

    def __init__(self, command: str, prefix: Path, env: dict | None = None,
                 throttle: float | None = None, on_plan=None) -> None:
        self.proc = subprocess.Popen(["sh", "-c", command], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     env={**os.environ, **(env or {})},
                                     start_new_session=True)
        self.prefix = prefix
        self.first_line = b""
        self.rewritten = False
        self.closed = False
        self.timeout = 0.2
        self._stderr = b""
        self.throttle = throttle  # bytes/s after the request line: a slow first hop
        self.on_plan = on_plan  # called once the second line (the plan) went in
        self.lines = 0

    def settimeout(self, value) -> None:
        self.timeout = value

    def _rewrite(self, data: bytes) -> bytes:
        """Put the request's paths under this node's directory (the one fake part)."""
        if self.rewritten:
            return data
        self.first_line += data
        if b"\n" not in self.first_line:
            return b""
        line, rest = self.first_line.split(b"\n", 1)
        request = json.loads(line)
        for key in PATH_KEYS:
            if key in request and str(request[key]).startswith("/"):
                request[key] = str(self.prefix) + request[key]
        self.rewritten = True
        return json.dumps(request).encode() + b"\n" + rest

    def send(self, data) -> int:
        size = len(data)
        after_request = self.rewritten
        payload = self._rewrite(bytes(data))
        if after_request and self.throttle:
            time.sleep(len(payload) / self.throttle)
        if self.on_plan is not None and self.rewritten:
            self.lines += payload.count(b"\n")
            if self.lines >= 2:
                hook, self.on_plan = self.on_plan, None
                threading.Timer(0.05, hook, args=(self,)).start()
        view = memoryview(payload)
        try:
            while view:
                view = view[os.write(self.proc.stdin.fileno(), view):]
        except (ValueError, OSError) as exc:
            raise OSError(f"agent gone: {exc}") from None
        return size

    def sendall(self, data) -> None:
        self.send(data)

    def recv(self, size: int) -> bytes:
        ready, _, _ = select.select([self.proc.stdout], [], [], self.timeout or None)
        if not ready:
            raise TimeoutError()
        return os.read(self.proc.stdout.fileno(), size)

    def recv_stderr_ready(self) -> bool:
        ready, _, _ = select.select([self.proc.stderr], [], [], 0)
        if ready:
            chunk = os.read(self.proc.stderr.fileno(), 65536)
            if chunk:
                self._stderr += chunk
        return False

    def recv_stderr(self, size: int) -> bytes:
        data, self._stderr = self._stderr[:size], self._stderr[size:]
        return data

    def exit_status_ready(self) -> bool:
        return self.proc.poll() is not None

    def recv_exit_status(self) -> int:
        return self.proc.wait()

    def shutdown_write(self) -> None:
        try:
            self.proc.stdin.close()
        except OSError:
            pass

    def freeze(self) -> None:
        """SIGSTOP the agent: a node that hangs without closing anything."""
        import signal

        os.killpg(self.proc.pid, signal.SIGSTOP)

    def close(self) -> None:
        self.closed = True
        self.shutdown_write()
        if self.proc.poll() is None:
            try:
                self.proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                import signal

                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)


@dataclass
class FakeProcess:
    host: str
    channel: FakeChannel | None
    deadline: float
    error: str | None = None

    def close_stdin(self) -> None:
        if self.channel is not None:
            self.channel.shutdown_write()


@dataclass
class FakePool:
    """Stands in for ProbePool: `down` nodes are unreachable, `env` goes to their agents."""

    root: Path
    down: dict[str, str] = field(default_factory=dict)
    env: dict[str, dict] = field(default_factory=dict)
    throttle: dict[str, float] = field(default_factory=dict)  # "node:mode" -> bytes/s
    freeze_on_plan: set[str] = field(default_factory=set)  # relays frozen once planned
    started: list[tuple[str, str]] = field(default_factory=list)
    channels: list[FakeChannel] = field(default_factory=list)

    @property
    def failures(self) -> dict[str, str]:
        return dict(self.down)

    def __enter__(self) -> FakePool:
        return self

    def __exit__(self, *exc) -> None:
        pass  # like ProbePool, closing connections does not wait for remote commands

    def leftovers(self, wait_s: float = 5.0) -> list[str]:
        """Agents still running `wait_s` after the sync returned (there must be none)."""
        until = time.monotonic() + wait_s
        for channel in self.channels:
            while channel.proc.poll() is None and time.monotonic() < until:
                time.sleep(0.05)
        return [ch.proc.args[-1][-40:] for ch in self.channels if ch.proc.poll() is None]

    def kill_all(self) -> None:
        import signal

        for channel in self.channels:
            if channel.proc.poll() is None:
                os.killpg(channel.proc.pid, signal.SIGKILL)

    def reachable(self, host: str) -> bool:
        return host not in self.down

    def start(self, host: str, command: str, timeout: float) -> FakeProcess:
        mode = command.rsplit(" ", 1)[-1]
        self.started.append((host, mode))
        if host in self.down:
            return FakeProcess(host, None, time.monotonic() + timeout, self.down[host])
        hook = (lambda ch: ch.freeze()) if (mode == "relay" and host in self.freeze_on_plan) \
            else None
        channel = FakeChannel(command, node_dir(self.root, host), self.env.get(host),
                              self.throttle.get(f"{host}:{mode}"), hook)
        self.channels.append(channel)
        return FakeProcess(host, channel, time.monotonic() + timeout + 2)

    def run(self, host: str, command: str, timeout: float) -> CommandResult:
        done = subprocess.run(["sh", "-c", command], capture_output=True, text=True,
                              timeout=timeout, check=False)
        return CommandResult(host, command, done.returncode, done.stdout, done.stderr)


def loopback_cluster(count: int, cabling: str = "switch", platform: str = "lab") -> SyncCluster:
    """`count` nodes whose rails are loopback addresses, cabled like a switch (every node on
    the same two rail subnets), a ring (one subnet per cable and rail), or not at all."""
    rails: dict[str, list[RailAddress]] = {f"n{i}": [] for i in range(1, count + 1)}
    if cabling == "switch":
        for rail in (0, 1):
            net = IPv4Network(f"127.{10 + rail}.0.0/24")
            for i in range(1, count + 1):
                rails[f"n{i}"].append(RailAddress(f"r{rail}", IPv4Address(f"127.{10 + rail}.0.{i}"),
                                                  net, 1, rail))
    elif cabling == "ring":
        for c in range(count):
            a, b = c + 1, (c + 1) % count + 1
            for rail in (0, 1):
                net = IPv4Network(f"127.{20 + 2 * c + rail}.0.0/24")
                rails[f"n{a}"].append(RailAddress(f"p0r{rail}", IPv4Address(
                    f"127.{20 + 2 * c + rail}.0.{a}"), net, 0, rail))
                rails[f"n{b}"].append(RailAddress(f"p1r{rail}", IPv4Address(
                    f"127.{20 + 2 * c + rail}.0.{b}"), net, 1, rail))
    nodes = tuple(SyncNode(name, i, SshEndpoint(name, "127.0.0.1"), tuple(rails[name]))
                  for i, name in enumerate(rails))
    return SyncCluster("loopback test cluster", platform, nodes)


def tree_files(path: Path) -> dict[str, bytes | str]:
    """Every file (content) and symlink (target) under path, the sync state dir excluded."""
    found: dict[str, bytes | str] = {}
    for item in sorted(path.rglob("*")):
        rel = item.relative_to(path).as_posix()
        if rel.split("/")[0] == ".sparkctl-sync":
            continue
        if item.is_symlink():
            found[rel] = "-> " + os.readlink(item)
        elif item.is_file():
            found[rel] = item.read_bytes()
    return found


def listening_ports(addresses: set[str]) -> list[tuple[str, int]]:
    """TCP sockets in LISTEN state on these IPv4 addresses (from /proc/net/tcp)."""
    import socket
    import struct

    found = []
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[3] != "0A":
            continue
        address, port = fields[1].split(":")
        ip = socket.inet_ntoa(struct.pack("<I", int(address, 16)))
        if ip in addresses:
            found.append((ip, int(port, 16)))
    return found
