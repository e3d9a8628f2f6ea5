"""Fixtures for lab tests: real namespaces, real sshd, real ssh. Root only (CI runs as root)."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from sparkctl.lab import lifecycle, shell, state
from sparkctl.lab.state import LabRecord

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="session")
def base_image():
    from sparkctl.lab.image import ensure_base_image

    return ensure_base_image(log=lambda m: print(m, file=sys.stderr))


def ssh(record: LabRecord, node: str, command: str, *, timeout: float = 30,
        check: bool = True, known_hosts: Path | None = None,
        root: bool = False) -> subprocess.CompletedProcess:
    """Real ssh to a lab node as its user (nvidia) with the lab key and the lab's
    known_hosts (strict); root=True runs the command through `sudo -n`, as on a Spark."""
    if root:
        command = f"sudo -n sh -c {shlex.quote(command)}"
    argv = shell.ssh_argv(record, node, [command])
    if known_hosts is not None:
        argv = [a.replace(str(record.known_hosts_path), str(known_hosts)) for a in argv]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)
    if check and proc.returncode != 0:
        raise AssertionError(f"ssh {node} {command!r} -> {proc.returncode}: {proc.stderr}")
    return proc


def sparkctl(*args: str, timeout: float = 120,
             env: dict | None = None) -> subprocess.CompletedProcess:
    """The real CLI in a subprocess, as a user runs it (env: variables to add)."""
    import os

    return subprocess.run([sys.executable, "-m", "sparkctl", *args], capture_output=True,
                          text=True, timeout=timeout, cwd=REPO, stdin=subprocess.DEVNULL,
                          env={**os.environ, "PATH": f"{Path(sys.executable).parent}:"
                               f"{os.environ.get('PATH', '')}", **(env or {})})


def node_links(netns: str) -> dict[str, dict]:
    out = subprocess.run(["ip", "-n", netns, "-j", "-d", "link", "show"], capture_output=True,
                         text=True, timeout=10, check=True).stdout
    return {i["ifname"]: i for i in json.loads(out)}


def lab_leftovers(record: LabRecord) -> list[str]:
    """Everything of this lab still on the host: namespaces, host veths, mounts, processes."""
    found = []
    netns = subprocess.run(["ip", "-j", "netns", "list"], capture_output=True, text=True,
                           timeout=10).stdout.strip()
    present = {n["name"] for n in json.loads(netns or "[]")}
    found += [f"netns {ns}" for ns in record.namespaces() if ns in present]
    links = subprocess.run(["ip", "-j", "link", "show"], capture_output=True, text=True,
                           timeout=10).stdout
    host_links = {i["ifname"] for i in json.loads(links)}
    wanted = {n.host_veth for n in record.nodes} | {record.mgmt_bridge}
    found += [f"link {name}" for name in sorted(host_links & wanted)]
    lab_dir = str(record.directory)
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        if lab_dir in line:
            found.append(f"mount {line.split()[4]}")
    from sparkctl.lab import procs

    for node in record.nodes:
        for proc in (node.launcher, node.init):
            if procs.alive(proc):
                found.append(f"process {proc.pid} of {node.name}")
    if record.directory.exists():
        found.append(f"directory {record.directory}")
    return found


@pytest.fixture(scope="session")
def lab_factory(base_image) -> Iterator[Callable[..., LabRecord]]:
    """Bring labs up by name; every lab still up at session end is taken down."""
    made: list[str] = []

    def make(name: str, topology: str, **kwargs) -> LabRecord:
        from sparkctl.topology.builtins import builtin_spec

        made.append(name)
        hosts = kwargs.pop("hosts", None)
        return lifecycle.up(builtin_spec(topology, hosts), name=name, **kwargs).record

    yield make
    for name in made:
        if state.load(name) is not None:
            lifecycle.down(name)
