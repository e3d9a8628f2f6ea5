"""`lab ssh` and `lab console`: into a lab node as its user would (ssh with the lab's key and
host keys) or as whoever stands at the box (a root shell on its console, no network)."""

from __future__ import annotations

import os
import subprocess

from sparkctl.errors import InputError, RunFailed
from sparkctl.lab import nodes
from sparkctl.lab.state import LabRecord
from sparkctl.lab.system import require_binaries


def ssh_argv(record: LabRecord, node_name: str, command: list[str], *,
             tty: bool = False) -> list[str]:
    node = record.node(node_name)
    if record.fresh:
        raise InputError(
            f"lab {record.name} is fresh: its nodes take only {record.user}'s password "
            "until `sparkctl bootstrap` installs a key",
            hint=f"bootstrap it (password in {record.password_path}), or open a root shell "
            f"with `sparkctl lab console --name {record.name} {node_name}`")
    argv = [
        "ssh", "-i", str(record.key_path),
        "-o", f"UserKnownHostsFile={record.known_hosts_path}",
        "-o", "StrictHostKeyChecking=yes",  # real host keys are in known_hosts
        "-o", "IdentitiesOnly=yes",
        "-o", "BatchMode=yes",
        "-o", "ConnectTimeout=5",
        "-o", "ServerAliveInterval=5",
        "-o", "ServerAliveCountMax=3",
        "-o", "LogLevel=ERROR",
    ]
    argv += ["-t"] if tty else ["-T"]
    argv.append(f"{record.user}@{node.mgmt_address}")
    if command:
        argv += command  # options end at the destination, as with plain ssh
    return argv


def run_on_node(record: LabRecord, node_name: str, command: list[str], *,
                timeout: float) -> int:
    """Run command on the node (inheriting this terminal's output); return its exit code."""
    require_binaries(["ssh"])
    argv = ssh_argv(record, node_name, command)
    try:
        return subprocess.run(argv, stdin=subprocess.DEVNULL, timeout=timeout).returncode
    except subprocess.TimeoutExpired:
        raise RunFailed(f"command on {node_name} did not finish within {timeout:g} s",
                        hint="raise --timeout for long commands") from None


def interactive(record: LabRecord, node_name: str) -> None:
    """Replace this process with an interactive ssh session (the user ends it)."""
    require_binaries(["ssh"])
    argv = ssh_argv(record, node_name, [], tty=True)
    os.execvp(argv[0], argv)


def console_argv(record: LabRecord, node_name: str, command: list[str]) -> list[str]:
    """nsenter into every namespace of the node's PID 1, as root: the lab's keyboard and
    screen. Works whatever the node's sshd, keys or network do."""
    init = nodes.current_init(record.node(node_name))
    if init is None:
        raise RunFailed(f"node {node_name} is not running",
                        hint=f"`sparkctl lab status --name {record.name}`")
    if command and command[0] == "--":  # `lab console NODE -- CMD`, as ssh takes it
        command = command[1:]
    return nodes.exec_argv(init, ["/bin/sh", "-c", " ".join(command)] if command
                           else ["/bin/bash", "--login"])


def run_on_console(record: LabRecord, node_name: str, command: list[str], *,
                   timeout: float) -> int:
    require_binaries(["nsenter"])
    argv = console_argv(record, node_name, command)
    try:
        return subprocess.run(argv, stdin=subprocess.DEVNULL, timeout=timeout).returncode
    except subprocess.TimeoutExpired:
        raise RunFailed(f"command on {node_name}'s console did not finish within "
                        f"{timeout:g} s", hint="raise --timeout for long commands") from None


def interactive_console(record: LabRecord, node_name: str) -> None:
    require_binaries(["nsenter"])
    argv = console_argv(record, node_name, [])
    os.execvp(argv[0], argv)
