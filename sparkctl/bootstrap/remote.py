"""One SSH session to one node for bootstrap: the handshake must present the very host key
the user trusted, then password login; commands run with a deadline (remote `timeout`
plus a local backstop) and may get data on stdin (sudo -S reads the password there)."""

from __future__ import annotations

import shlex
import time
from dataclasses import dataclass

from sparkctl.bootstrap import scan
from sparkctl.bootstrap.hostkeys import HostKey
from sparkctl.bootstrap.secrets import Secret


class LoginRefused(Exception):
    """The node refused the password (wrong password, or no such user)."""


class HostKeyMismatch(Exception):
    """The handshake presented another key than the one trusted a moment ago."""


@dataclass
class Output:
    rc: int | None  # None: did not finish (timeout, connection lost)
    out: str
    err: str

    @property
    def ok(self) -> bool:
        return self.rc == 0


class NodeSession:
    def __init__(self, transport) -> None:
        self.transport = transport

    @classmethod
    def login(cls, host: str, port: int, user: str, password: Secret, trusted: HostKey,
              timeout: float) -> NodeSession:
        import paramiko

        transport = scan.start_transport(host, port, timeout, (trusted.type,))
        try:
            if scan.offered_key(transport) != trusted:
                raise HostKeyMismatch(f"{host}:{port} presented another host key than the "
                                      "one checked a moment ago")
            transport.auth_timeout = timeout
            try:
                transport.auth_password(user, password.reveal())
            except paramiko.BadAuthenticationType as exc:
                raise LoginRefused(f"the node does not take passwords (it allows "
                                   f"{', '.join(exc.allowed_types)})") from None
            except paramiko.AuthenticationException:
                raise LoginRefused("password login refused") from None
            except paramiko.SSHException as exc:
                raise scan.Unreachable(f"login to {host}:{port} failed: {exc}") from None
            if not transport.is_authenticated():
                raise LoginRefused("password login refused")
        except BaseException:
            transport.close()
            raise
        return cls(transport)

    def run(self, command: str, timeout: float, stdin: bytes | None = None) -> Output:
        """Run `command` through the login shell's sh, killed remotely at `timeout`."""
        wrapped = f"timeout -k 2 {max(timeout, 1.0):.0f} sh -c {shlex.quote(command)}"
        deadline = time.monotonic() + timeout + 5.0
        try:
            channel = self.transport.open_session(timeout=min(timeout, 10.0))
            channel.settimeout(0.2)
            channel.exec_command(wrapped)
            if stdin:
                channel.sendall(stdin)
            channel.shutdown_write()
        except Exception as exc:  # the connection died: report, do not raise
            return Output(None, "", f"connection lost: {exc}")
        out, err = bytearray(), bytearray()
        while True:
            while channel.recv_ready():
                out += channel.recv(65536)
            while channel.recv_stderr_ready():
                err += channel.recv_stderr(65536)
            if channel.exit_status_ready() and not channel.recv_ready() \
                    and not channel.recv_stderr_ready():
                break
            if channel.closed and not channel.exit_status_ready():
                return Output(None, out.decode(errors="replace"), "connection lost")
            if time.monotonic() > deadline:
                channel.close()
                return Output(None, out.decode(errors="replace"),
                              f"no answer within {timeout:g} s")
            time.sleep(0.01)
        status = channel.recv_exit_status()
        channel.close()
        text_err = err.decode(errors="replace")
        if status == 124:
            text_err += f"\n(timed out after {timeout:g} s)"
        return Output(status, out.decode(errors="replace"), text_err)

    def close(self) -> None:
        self.transport.close()
