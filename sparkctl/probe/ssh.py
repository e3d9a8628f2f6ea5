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

    def run(self, command: str, timeout: float) -> CommandResult:
        """Run `command` through the remote shell; killed remotely and locally at `timeout`."""
        start = time.monotonic()
        wrapped = f"timeout -k 1 {max(timeout, 0.5):.1f} sh -c {shlex.quote(command)}"
        transport = self.client.get_transport()
        if transport is None or not transport.is_active():
            return CommandResult(self.endpoint.name, command, None, error="unreachable: "
                                 "connection closed", duration_s=time.monotonic() - start)
        channel = transport.open_session(timeout=timeout)
        channel.settimeout(0.2)
        channel.exec_command(wrapped)
        out, err = bytearray(), bytearray()
        deadline = start + timeout + 2.0  # remote timeout fires first; this is the backstop
        while True:
            while channel.recv_ready():
                out += channel.recv(65536)
            while channel.recv_stderr_ready():
                err += channel.recv_stderr(65536)
            if channel.exit_status_ready() and not channel.recv_ready() \
                    and not channel.recv_stderr_ready():
                break
            if time.monotonic() > deadline:
                channel.close()
                return CommandResult(self.endpoint.name, command, None,
                                     out.decode(errors="replace"), err.decode(errors="replace"),
                                     time.monotonic() - start,
                                     error=f"timeout after {timeout:.0f} s")
            time.sleep(0.01)
        status = channel.recv_exit_status()
        channel.close()
        result = CommandResult(self.endpoint.name, command, status, out.decode(errors="replace"),
                               err.decode(errors="replace"), time.monotonic() - start)
        if status == 124:  # coreutils timeout
            result.error = f"timeout after {timeout:.0f} s"
        return result

    def close(self) -> None:
        self.client.close()


def _describe_connect_error(exc: BaseException, endpoint: SshEndpoint) -> str:
    import paramiko

    where = f"{endpoint.address}:{endpoint.port}"
    if isinstance(exc, paramiko.SSHException) and "not found in known_hosts" in str(exc):
        return (f"unreachable: host key of {where} is not in known_hosts; pin it with "
                f"`ssh-keyscan -p {endpoint.port} {endpoint.address} >> ~/.ssh/known_hosts` "
                "after checking it")
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

    def run(self, host: str, command: str, timeout: float) -> CommandResult:
        if host not in self.sessions:
            return CommandResult(host, command, None,
                                 error=self.failures.get(host, "unreachable: unknown host"))
        try:
            return self.sessions[host].run(command, timeout)
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
