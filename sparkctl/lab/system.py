"""Running host commands for the lab: always with a timeout, failures become clear errors."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass

from sparkctl.errors import EnvironmentProblem, RunFailed

DEFAULT_TIMEOUT_S = 30.0

# Host binaries the lab calls, and the Debian package that provides each.
HOST_BINARIES: dict[str, str] = {
    "ip": "iproute2",
    "tc": "iproute2",
    "unshare": "util-linux",
    "nsenter": "util-linux",
    "mount": "mount",
    "debootstrap": "debootstrap",
    "ssh": "openssh-client",
    "ssh-keygen": "openssh-client",
    "openssl": "openssl",
    "systemd-nspawn": "systemd-container",
}


@dataclass(frozen=True)
class Result:
    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str


def require_root(action: str) -> None:
    if os.geteuid() != 0:
        raise EnvironmentProblem(
            f"{action} needs root (it creates network namespaces, mounts and veths)",
            hint="run it with sudo, or as root in a VM or container with CAP_SYS_ADMIN",
        )


def require_binaries(names: Sequence[str]) -> None:
    missing = [n for n in names if shutil.which(n) is None]
    if missing:
        packages = sorted({HOST_BINARIES.get(n, n) for n in missing})
        raise EnvironmentProblem(
            f"missing host command{'s' if len(missing) > 1 else ''}: {', '.join(missing)}",
            hint=f"install with: apt-get install -y {' '.join(packages)} "
            "(or run `sparkctl lab prereqs --install`)",
        )


def run(argv: Sequence[str], *, timeout: float = DEFAULT_TIMEOUT_S, check: bool = True,
        input: str | None = None, what: str | None = None) -> Result:
    """Run argv; raise RunFailed naming the command when it fails or times out."""
    argv = tuple(str(a) for a in argv)
    try:
        proc = subprocess.run(argv, input=input, capture_output=True, text=True,
                              timeout=timeout, stdin=None if input is not None
                              else subprocess.DEVNULL)
    except FileNotFoundError as exc:
        require_binaries([argv[0]])
        raise EnvironmentProblem(f"cannot run {argv[0]}: {exc}") from exc
    except subprocess.TimeoutExpired as exc:
        raise RunFailed(f"{what or ' '.join(argv)}: timed out after {timeout:g} s") from exc
    result = Result(argv, proc.returncode, proc.stdout, proc.stderr)
    if check and proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip().splitlines()
        raise RunFailed(
            f"{what or ' '.join(argv)}: exit {proc.returncode}"
            + (f": {detail[-1]}" if detail else "")
        )
    return result


def ip_batch(commands: Sequence[str], *, netns: str | None = None,
             timeout: float = DEFAULT_TIMEOUT_S, what: str = "ip -batch") -> None:
    """Run many `ip` commands in one process (forking ip per veth costs most of `lab up`)."""
    if not commands:
        return
    argv = ["ip"] + (["-n", netns] if netns else []) + ["-batch", "-"]
    run(argv, input="\n".join(commands) + "\n", timeout=timeout, what=what)


def tc_batch(commands: Sequence[str], *, netns: str | None = None,
             timeout: float = DEFAULT_TIMEOUT_S, what: str = "tc -batch") -> None:
    if not commands:
        return
    argv = ["tc"] + (["-n", netns] if netns else []) + ["-batch", "-"]
    run(argv, input="\n".join(commands) + "\n", timeout=timeout, what=what)
