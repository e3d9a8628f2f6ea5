"""Shell command lines that run the remote/ programs on a node.

Programs travel inside the command (base64), so nothing is copied to the node beforehand
and a node needs only python3. PATH gains the sbin directories, which a non-root login
shell on DGX OS lacks (ip, ethtool, ss live there).
"""

from __future__ import annotations

import base64
import json
import shlex
from functools import cache
from pathlib import Path

REMOTE = Path(__file__).with_name("remote")
PATH_PREFIX = "PATH=$PATH:/usr/sbin:/sbin; export PATH; "


@cache
def program(name: str) -> str:
    return (REMOTE / f"{name}.py").read_text(encoding="utf-8")


def python_command(name: str, request: dict | None = None) -> str:
    code = base64.b64encode(program(name).encode()).decode()
    loader = f"import base64;exec(base64.b64decode('{code}'))"
    args = f" {shlex.quote(json.dumps(request, separators=(',', ':')))}" if request else ""
    return f"{PATH_PREFIX}exec python3 -c {shlex.quote(loader)}{args}"


def install_command(name: str, dest: str) -> str:
    """Write a program to `dest` on the node (mpirun needs a file on every rank's node)."""
    code = base64.b64encode(program(name).encode()).decode()
    return f"umask 022; echo {code} | base64 -d > {shlex.quote(dest)}.tmp && " \
           f"mv {shlex.quote(dest)}.tmp {shlex.quote(dest)}"


def server_command(argv: list[str], port: int, *, check_s: float = 0.05) -> str:
    """Start a TCP server in the background and print READY once it listens on `port`.

    The client starts on READY, so server and client run together without a guessed sleep;
    if the server exits first, the command ends with its exit status and no READY. Closing
    the command's stdin stops the server, so a client that never connected costs nothing.
    """
    server = " ".join(shlex.quote(a) for a in argv)
    # An asynchronous list reads /dev/null unless told otherwise, hence fd 3.
    return (f"{PATH_PREFIX}exec 3<&0; {server} </dev/null & pid=$!; "
            f"while ! ss -Hltn 'sport = :{port}' | grep -q .; do "
            f"kill -0 $pid 2>/dev/null || {{ wait $pid; exit $?; }}; sleep {check_s}; done; "
            "echo READY; "
            "( cat <&3 >/dev/null; kill $pid 2>/dev/null ) & watcher=$!; "
            "wait $pid; status=$?; kill $watcher 2>/dev/null; exit $status")
