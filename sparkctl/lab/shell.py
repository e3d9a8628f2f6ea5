"""`lab ssh`: the ssh command line that reaches a lab node with the lab's key and host keys."""

from __future__ import annotations

import os
import subprocess

from sparkctl.errors import RunFailed
from sparkctl.lab.state import LabRecord
from sparkctl.lab.system import require_binaries


def ssh_argv(record: LabRecord, node_name: str, command: list[str], *,
             tty: bool = False) -> list[str]:
    node = record.node(node_name)
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
    argv.append(f"root@{node.mgmt_address}")
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
