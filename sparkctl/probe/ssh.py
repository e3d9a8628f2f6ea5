"""Parallel SSH with hard deadlines.

Every step (TCP connect, banner, auth, each command) is bounded, and remote commands run under
coreutils `timeout`, so a dead or wedged node costs at most its timeout and leaves no process
behind. Host keys are checked against known_hosts (RejectPolicy): a node whose key is unknown
fails with a message saying how to pin it, never silently trusted.
"""

from __future__ import annotations

import shlex
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sparkctl.probe.hosts import SshEndpoint, default_user

if TYPE_CHECKING:
    import paramiko


@dataclass
class CommandResult:
    host: str
    command: str
    exit_status: int | None  # None when it never finished (unreachable, timeout)
    stdout: str = ""
    stderr: str = ""
    duration_s: float = 0.0
    error: str | None = None  # "unreachable: ...", "timeout after N s"

    @property
    def ok(self) -> bool:
        return self.error is None and self.exit_status == 0


class SshSession:
    """One connection to one node, reused for many commands.

    The TCP stream comes from ProxyJump hops (each an SSH connection of its own, host key
    checked), a ProxyCommand, or a direct connect; the node's key is looked up under its
    HostKeyAlias when ssh's configuration gives one.
    """

    def __init__(self, endpoint: SshEndpoint, connect_timeout: float = 5.0) -> None:
        self.endpoint = endpoint
        self._hops: list[Any] = []  # jump clients and proxy processes, closed with it
        try:
            self.client = _client(endpoint, connect_timeout, self._hops)
        except BaseException:
            self._close_hops()
            raise

    def start(self, command: str, timeout: float, on_lost: Callable[[str], None] | None = None
              ) -> RemoteProcess:
        """Start `command` without waiting; it is killed remotely at `timeout` regardless."""
        return RemoteProcess(self.endpoint.name, command, timeout, session=self, on_lost=on_lost)

    def run(self, command: str, timeout: float) -> CommandResult:
        """Run `command` through the remote shell; killed remotely and locally at `timeout`."""
        return self.start(command, timeout).wait()

    def close(self) -> None:
        self.client.close()
        self._close_hops()

    def _close_hops(self) -> None:
        for hop in reversed(self._hops):
            try:
                hop.close()
            except Exception:  # noqa: BLE001 - closing what may already be gone
                pass


def _socket(endpoint: SshEndpoint, timeout: float, hops: list[Any]) -> Any:
    """The byte stream to `endpoint`'s sshd."""
    import paramiko

    if endpoint.jumps:
        via: paramiko.SSHClient | None = None
        for hop in endpoint.jumps:
            via = _client(hop, timeout, hops, sock=_forward(via, hop, timeout) if via else None)
            hops.append(via)
        assert via is not None
        return _forward(via, endpoint, timeout)
    if endpoint.proxy_command:
        proxy = paramiko.ProxyCommand(endpoint.proxy_command)
        proxy.settimeout(timeout)
        hops.append(proxy)
        return proxy
    return socket.create_connection((endpoint.address, endpoint.port), timeout=timeout)


def _forward(via: paramiko.SSHClient, endpoint: SshEndpoint, timeout: float
             ) -> paramiko.Channel:
    transport = via.get_transport()
    if transport is None:
        raise OSError(f"the jump host before {endpoint.address} closed its connection")
    return transport.open_channel("direct-tcpip", (endpoint.address, endpoint.port),
                                  ("127.0.0.1", 0), timeout=timeout)


def _client(endpoint: SshEndpoint, timeout: float, hops: list[Any], sock: Any = None
            ) -> paramiko.SSHClient:
    import paramiko  # lazy: costs ~0.1 s to import

    client = paramiko.SSHClient()
    known = endpoint.known_hosts_files
    if Path(known[0]).exists():
        client.load_host_keys(known[0])
    for extra in [*known[1:], "/etc/ssh/ssh_known_hosts"]:
        if Path(extra).exists():
            client.get_host_keys().load(extra)
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    if sock is None:
        sock = _socket(endpoint, timeout, hops)
    keys = endpoint.key_files
    client.connect(
        endpoint.host_key_alias or endpoint.address, port=endpoint.port,
        username=endpoint.user or default_user(), key_filename=keys or None,  # type: ignore[arg-type]
        sock=sock,
        timeout=timeout, banner_timeout=timeout, auth_timeout=timeout,
        look_for_keys=not keys, allow_agent=not keys and not endpoint.identities_only)
    return client


class RemoteProcess:
    """A command running on a node: read its output as it comes, then collect the result.

    Servers (iperf3 -s, a TCP listener) print a READY line once listening, so their clients
    start the moment the server can take them instead of after a guessed sleep.
    """

    def __init__(self, host: str, command: str, timeout: float,
                 session: SshSession | None = None, error: str | None = None,
                 on_lost: Callable[[str], None] | None = None) -> None:
        self.host = host
        self.finished = False
        self._on_lost = on_lost
        self.command = command
        self.timeout = timeout
        self.started = time.monotonic()
        # The remote timeout fires first; the local deadline is the backstop for a node that
        # stops answering altogether.
        self.deadline = self.started + timeout + 2.0
        self._out, self._err = bytearray(), bytearray()
        self.channel: paramiko.Channel | None = None
        self.error = error
        if session is None:
            self.error = error or "unreachable: no connection"
            return
        wrapped = f"timeout -k 1 {max(timeout, 0.5):.1f} sh -c {shlex.quote(command)}"
        transport = session.client.get_transport()
        if transport is None or not transport.is_active():
            self.error = "unreachable: connection closed"
            return
        try:
            self.channel = transport.open_session(timeout=min(timeout, 10.0))
            self.channel.settimeout(0.2)
            self.channel.exec_command(wrapped)
        except Exception as exc:  # the connection died between commands, or froze
            self.error = (f"unreachable: {host} stopped answering (no channel opened: "
                          f"{str(exc).rstrip('.') or 'timeout'})")
            self.channel = None
            if on_lost is not None:
                on_lost(self.error)

    def _pump(self) -> bool:
        """Move what arrived into the buffers; True once the command has exited."""
        channel = self.channel
        assert channel is not None  # callers check it first
        while channel.recv_ready():
            self._out += channel.recv(65536)
        while channel.recv_stderr_ready():
            self._err += channel.recv_stderr(65536)
        return (channel.exit_status_ready() and not channel.recv_ready()
                and not channel.recv_stderr_ready())

    def wait_for_line(self, prefix: str, timeout: float) -> str | None:
        """The first stdout line starting with `prefix`, or None (exited, timed out)."""
        if self.channel is None:
            return None
        until = min(time.monotonic() + timeout, self.deadline)
        while True:
            done = self._pump()
            for line in self._out.decode(errors="replace").splitlines():
                if line.startswith(prefix):
                    return line
            if done or time.monotonic() > until:
                return None
            time.sleep(0.01)

    def close_stdin(self) -> None:
        """Send EOF: programs that watch stdin (the TCP listener) end when their caller is done."""
        if self.channel is not None and not self.channel.closed:
            try:
                self.channel.shutdown_write()
            except Exception:  # noqa: BLE001 - already gone; wait() reports how it ended
                pass

    def wait(self) -> CommandResult:
        try:
            return self._wait()
        finally:
            self.finished = True

    def _wait(self) -> CommandResult:
        if self.channel is None:
            return CommandResult(self.host, self.command, None, error=self.error,
                                 duration_s=time.monotonic() - self.started)
        while not self._pump():
            lost = self.channel.closed and not self.channel.exit_status_ready()
            if lost or time.monotonic() > self.deadline:
                self.channel.close()
                # The remote `timeout` ends the command at its limit and says so (exit 124);
                # silence past that means the node itself stopped answering.
                error = ("unreachable: connection lost" if lost else
                         f"unreachable: {self.host} stopped answering (no reply "
                         f"{self.deadline - self.started:.0f} s after the command started)")
                if self._on_lost is not None:
                    self._on_lost(error)
                return CommandResult(self.host, self.command, None,
                                     self._out.decode(errors="replace"),
                                     self._err.decode(errors="replace"),
                                     time.monotonic() - self.started, error=error)
            time.sleep(0.01)
        status = self.channel.recv_exit_status()
        self.channel.close()
        result = CommandResult(self.host, self.command, status,
                               self._out.decode(errors="replace"),
                               self._err.decode(errors="replace"),
                               time.monotonic() - self.started)
        if status == 124:  # coreutils timeout
            result.error = f"timeout after {self.timeout:.0f} s"
        return result


def _describe_connect_error(exc: BaseException, endpoint: SshEndpoint) -> str:
    import paramiko

    where = endpoint.describe()
    if isinstance(exc, paramiko.SSHException) and "not found in known_hosts" in str(exc):
        # paramiko names the server whose key is unknown: the node, or a jump host.
        server = str(exc).split("'")[1] if str(exc).count("'") >= 2 else endpoint.address
        return (f"unreachable: {where}: host key of {server} is not in known_hosts; pin it "
                "with `sparkctl bootstrap` (it shows the fingerprints first)")
    if isinstance(exc, paramiko.AuthenticationException):
        return f"unreachable: authentication to {where} failed ({exc})"
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return f"unreachable: no answer from {where} in time"
    return f"unreachable: {where}: {exc}"


@dataclass
class ProbePool:
    """Connections to every node, opened in parallel; failures recorded per host.

    Connecting is bounded as a whole: a node still connecting at `connect_timeout` x 3
    (TCP, banner, auth) plus a second, or at `deadline` (a time.monotonic() instant) if that
    comes first, is unreachable, and its connection attempt is abandoned (closed if it ever
    finishes). A node whose command stops answering mid-run is moved to `failures` too, so
    nothing else waits on it.
    """

    endpoints: list[SshEndpoint]
    connect_timeout: float = 5.0
    deadline: float | None = None
    sessions: dict[str, SshSession] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)
    _running: list[RemoteProcess] = field(default_factory=list, repr=False)
    _opening: dict[str, int] = field(default_factory=dict, repr=False)  # channels being opened
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _abandoned: bool = field(default=False, repr=False)

    def __enter__(self) -> ProbePool:
        done: dict[str, tuple[SshSession | None, str | None]] = {}

        def connect(ep: SshEndpoint) -> None:
            try:
                session, error = SshSession(ep, self.connect_timeout), None
            except Exception as exc:  # any failure to connect makes the host unreachable
                session, error = None, _describe_connect_error(exc, ep)
            with self._lock:
                if self._abandoned and session is not None:
                    session.close()  # the pool gave up on it; nobody else will close it
                    return
                done[ep.name] = (session, error)

        threads = [threading.Thread(target=connect, args=(ep,), daemon=True,
                                    name=f"connect-{ep.name}") for ep in self.endpoints]
        for thread in threads:
            thread.start()
        until = time.monotonic() + 3 * self.connect_timeout + 1.0
        if self.deadline is not None:
            until = min(until, self.deadline)
        for thread in threads:
            thread.join(max(0.0, until - time.monotonic()))
        with self._lock:
            self._abandoned = True
            for ep in self.endpoints:
                session, error = done.get(ep.name, (None, None))
                if session is not None:
                    self.sessions[ep.name] = session
                else:
                    self.failures[ep.name] = error or (
                        f"unreachable: {ep.describe()} did not complete the SSH handshake in "
                        "time")
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self, wait_s: float = 1.0) -> None:
        """Close every session; a session to a frozen node may not close in time, and is
        left to its daemon thread rather than holding up the run."""
        sessions = list(self.sessions.values())

        def close_all() -> None:
            for session in sessions:
                session.close()

        closer = threading.Thread(target=close_all, daemon=True)
        closer.start()
        closer.join(wait_s)

    def reachable(self, host: str) -> bool:
        return host in self.sessions and host not in self.failures

    def mark_lost(self, host: str, why: str) -> None:
        with self._lock:
            self.failures.setdefault(host, why)

    def in_flight(self) -> list[str]:
        """Hosts with a command started and not yet collected (who a cut-off run waited on)."""
        with self._lock:
            return sorted({p.host for p in self._running if not p.finished}
                          | {h for h, n in self._opening.items() if n})

    def start(self, host: str, command: str, timeout: float) -> RemoteProcess:
        if not self.reachable(host):
            return RemoteProcess(host, command, timeout,
                                 error=self.failures.get(host, "unreachable: unknown host"))
        with self._lock:
            self._opening[host] = self._opening.get(host, 0) + 1
        try:
            # Opening a channel waits for the node: a frozen one holds us here.
            proc = self.sessions[host].start(command, timeout,
                                             on_lost=lambda why: self.mark_lost(host, why))
        finally:
            with self._lock:
                self._opening[host] -= 1
        with self._lock:
            self._running.append(proc)
        return proc

    def run(self, host: str, command: str, timeout: float) -> CommandResult:
        try:
            return self.start(host, command, timeout).wait()
        except Exception as exc:  # a connection that died mid-run
            self.mark_lost(host, f"unreachable: {exc}")
            return CommandResult(host, command, None, error=f"unreachable: {exc}")

    def run_many(self, jobs: list[tuple[str, str]], timeout: float) -> list[CommandResult]:
        """Run (host, command) pairs concurrently; results in the same order."""
        if not jobs:
            return []
        with ThreadPoolExecutor(max_workers=min(16, len(jobs))) as pool:
            return list(pool.map(lambda job: self.run(job[0], job[1], timeout), jobs))

    def run_all(self, command: Callable[[str], str] | str,
                timeout: float) -> dict[str, CommandResult]:
        jobs = [(ep.name, command(ep.name) if callable(command) else command)
                for ep in self.endpoints]
        return {r.host: r for r in self.run_many(jobs, timeout)}
