"""Parallel SSH with hard deadlines.

Every step (TCP connect, banner, auth, each command) is bounded, and remote commands run under
coreutils `timeout`, so a dead or wedged node costs at most its timeout and leaves no process
behind. Host keys are checked against known_hosts (RejectPolicy): a node whose key is unknown
fails with a message saying how to pin it, never silently trusted.
"""

from __future__ import annotations

import shlex
import socket
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from sparkctl.probe.hosts import SshEndpoint, default_user


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
    """One connection to one node, reused for many commands."""

    def __init__(self, endpoint: SshEndpoint, connect_timeout: float = 5.0) -> None:
        import paramiko  # lazy: costs ~0.1 s to import

        self.endpoint = endpoint
        self.client = paramiko.SSHClient()
        known = endpoint.known_hosts or str(Path.home() / ".ssh" / "known_hosts")
        if Path(known).exists():
            self.client.load_host_keys(known)
        self.client.set_missing_host_key_policy(paramiko.RejectPolicy())
        self.client.connect(
            endpoint.address, port=endpoint.port, username=endpoint.user or default_user(),
            key_filename=endpoint.key_file, timeout=connect_timeout,
            banner_timeout=connect_timeout, auth_timeout=connect_timeout,
            look_for_keys=endpoint.key_file is None, allow_agent=endpoint.key_file is None)

    def start(self, command: str, timeout: float) -> RemoteProcess:
        """Start `command` without waiting; it is killed remotely at `timeout` regardless."""
        return RemoteProcess(self.endpoint.name, command, timeout, session=self)

    def run(self, command: str, timeout: float) -> CommandResult:
        """Run `command` through the remote shell; killed remotely and locally at `timeout`."""
        return self.start(command, timeout).wait()

    def close(self) -> None:
        self.client.close()


class RemoteProcess:
    """A command running on a node: read its output as it comes, then collect the result.

    Servers (iperf3 -s, a TCP listener) print a READY line once listening, so their clients
    start the moment the server can take them instead of after a guessed sleep.
    """

    def __init__(self, host: str, command: str, timeout: float,
                 session: SshSession | None = None, error: str | None = None) -> None:
        self.host = host
        self.command = command
        self.timeout = timeout
        self.started = time.monotonic()
        # The remote timeout fires first; the local deadline is the backstop for a node that
        # stops answering altogether.
        self.deadline = self.started + timeout + 2.0
        self._out, self._err = bytearray(), bytearray()
        self.channel = None
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
        except Exception as exc:  # the connection died between commands
            self.error = f"unreachable: {exc}"
            self.channel = None

    def _pump(self) -> bool:
        """Move what arrived into the buffers; True once the command has exited."""
        channel = self.channel
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
        if self.channel is None:
            return CommandResult(self.host, self.command, None, error=self.error,
                                 duration_s=time.monotonic() - self.started)
        while not self._pump():
            lost = self.channel.closed and not self.channel.exit_status_ready()
            if lost or time.monotonic() > self.deadline:
                self.channel.close()
                return CommandResult(self.host, self.command, None,
                                     self._out.decode(errors="replace"),
                                     self._err.decode(errors="replace"),
                                     time.monotonic() - self.started,
                                     error="unreachable: connection lost" if lost
                                     else f"timeout after {self.timeout:.0f} s")
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

    where = f"{endpoint.address}:{endpoint.port}"
    if isinstance(exc, paramiko.SSHException) and "not found in known_hosts" in str(exc):
        return (f"unreachable: host key of {where} is not in known_hosts; pin it with "
                "`sparkctl bootstrap` (it shows the fingerprints first)")
    if isinstance(exc, paramiko.AuthenticationException):
        return f"unreachable: authentication to {where} failed ({exc})"
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return f"unreachable: no answer from {where} in time"
    return f"unreachable: {where}: {exc}"


@dataclass
class ProbePool:
    """Connections to every node, opened in parallel; failures recorded per host."""

    endpoints: list[SshEndpoint]
    connect_timeout: float = 5.0
    sessions: dict[str, SshSession] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)

    def __enter__(self) -> ProbePool:
        def connect(ep: SshEndpoint):
            try:
                return ep.name, SshSession(ep, self.connect_timeout), None
            except Exception as exc:  # any failure to connect makes the host unreachable
                return ep.name, None, _describe_connect_error(exc, ep)

        with ThreadPoolExecutor(max_workers=max(1, len(self.endpoints))) as pool:
            for name, session, error in pool.map(connect, self.endpoints):
                if session is not None:
                    self.sessions[name] = session
                else:
                    self.failures[name] = error
        return self

    def __exit__(self, *exc) -> None:
        for session in self.sessions.values():
            session.close()

    def reachable(self, host: str) -> bool:
        return host in self.sessions

    def start(self, host: str, command: str, timeout: float) -> RemoteProcess:
        if host not in self.sessions:
            return RemoteProcess(host, command, timeout,
                                 error=self.failures.get(host, "unreachable: unknown host"))
        return self.sessions[host].start(command, timeout)

    def run(self, host: str, command: str, timeout: float) -> CommandResult:
        try:
            return self.start(host, command, timeout).wait()
        except Exception as exc:  # a connection that died mid-run
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
