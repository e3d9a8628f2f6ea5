"""Simulated Spark nodes: an overlay root, a boot script, and a PID/mount/UTS/IPC namespace.

Each node runs `ip netns exec NS unshare --mount --pid --uts --ipc --fork ... sh boot.sh`.
boot.sh mounts the overlay and the pseudo filesystems *inside* the node's private mount
namespace, so they vanish with the node: a killed lab leaves no mounts on the host.
"""

from __future__ import annotations

import os
import shlex
import shutil
import socket
import subprocess
import time
from pathlib import Path

from sparkctl.errors import RunFailed
from sparkctl.fileio import atomic_write
from sparkctl.lab import procs
from sparkctl.lab.access import NodeFile
from sparkctl.lab.state import LabRecord, NodeRecord
from sparkctl.lab.system import run

INIT_PATH = "usr/local/sbin/sparkctl-node-init"
SSH_READY_TIMEOUT_S = 20.0
NODE_EXEC_TIMEOUT_S = 30.0

BOOT_SCRIPT = """\
#!/bin/sh
# Boot of lab node {name}; runs as PID 1 of its new PID namespace, on host binaries.
set -eu
R={root}
mount -t overlay overlay -o lowerdir={lower},upperdir={upper},workdir={work} "$R"
mount -t proc proc "$R/proc"
# Kernel-wide sysctls stay read-only; the node's own network sysctls stay writable.
mount --rbind "$R/proc/sys/net" "$R/proc/sys/net"
mount --rbind "$R/proc/sys" "$R/proc/sys"
mount -o remount,bind,ro "$R/proc/sys"
mount -t sysfs -o ro sysfs "$R/sys"
mount -t tmpfs -o mode=755,size=1m dev "$R/dev"
mknod -m 666 "$R/dev/null" c 1 3
mknod -m 666 "$R/dev/zero" c 1 5
mknod -m 666 "$R/dev/full" c 1 7
mknod -m 666 "$R/dev/random" c 1 8
mknod -m 666 "$R/dev/urandom" c 1 9
mknod -m 666 "$R/dev/tty" c 5 0
mkdir -p "$R/dev/pts" "$R/dev/shm"
mount -t devpts -o newinstance,ptmxmode=0666,mode=620 devpts "$R/dev/pts"
ln -s pts/ptmx "$R/dev/ptmx"
ln -s /proc/self/fd "$R/dev/fd"
ln -s /proc/self/fd/0 "$R/dev/stdin"
ln -s /proc/self/fd/1 "$R/dev/stdout"
ln -s /proc/self/fd/2 "$R/dev/stderr"
mount -t tmpfs -o mode=1777 shm "$R/dev/shm"
mount -t tmpfs -o mode=755 run "$R/run"
mount -t tmpfs -o mode=1777 tmp "$R/tmp"
echo {name} > /proc/sys/kernel/hostname
exec chroot "$R" /usr/bin/python3 /{init}
"""


def node_paths(node: NodeRecord) -> dict[str, Path]:
    base = Path(node.directory)
    return {k: base / k for k in ("upper", "work", "root")}


def _mkdirs_like(upper: Path, lower: Path, relative: str) -> Path:
    """Create upper/relative with the modes and owners the base image has (so /root stays
    0700 and ~nvidia stays nvidia's)."""
    current_upper, current_lower = upper, lower
    for part in Path(relative).parts:
        current_upper, current_lower = current_upper / part, current_lower / part
        if not current_upper.exists():
            if current_lower.is_dir():
                info = current_lower.stat()
                mode, uid, gid = info.st_mode & 0o7777, info.st_uid, info.st_gid
            else:
                mode, uid, gid = 0o755, 0, 0
            current_upper.mkdir()
            os.chmod(current_upper, mode)
            os.chown(current_upper, uid, gid)
    return current_upper


def write_node_file(upper: Path, lower: Path, item: NodeFile) -> None:
    relative = item.path.lstrip("/")
    _mkdirs_like(upper, lower, str(Path(relative).parent))
    target = upper / relative
    atomic_write(target, item.content, mode=item.mode)
    os.chown(target, item.uid, item.gid)


def prepare(record: LabRecord, node: NodeRecord, lower: Path, host_key: tuple[bytes, bytes],
            access_files: list[NodeFile]) -> Path:
    """Write the node's own files into its overlay upper dir and return its boot script."""
    p = node_paths(node)
    for directory in p.values():
        directory.mkdir(parents=True, exist_ok=True)
    upper = p["upper"]
    etc = _mkdirs_like(upper, lower, "etc")
    (etc / "hostname").write_text(node.name + "\n")
    hosts = ["127.0.0.1\tlocalhost", f"127.0.1.1\t{node.name}", "::1\tlocalhost ip6-localhost"]
    hosts += [f"{n.mgmt_address}\t{n.name}" for n in record.nodes if n.name != node.name]
    (etc / "hosts").write_text("\n".join(hosts) + "\n")
    ssh = _mkdirs_like(upper, lower, "etc/ssh")
    private, public = host_key
    atomic_write(ssh / "ssh_host_ed25519_key", private, mode=0o600)
    atomic_write(ssh / "ssh_host_ed25519_key.pub", public, mode=0o644)
    for item in access_files:
        write_node_file(upper, lower, item)
    sbin = _mkdirs_like(upper, lower, str(Path(INIT_PATH).parent))
    shutil.copyfile(Path(__file__).with_name("node_init.py"), sbin / Path(INIT_PATH).name)
    os.chmod(sbin / Path(INIT_PATH).name, 0o755)
    script = BOOT_SCRIPT.format(name=node.name, root=shlex.quote(str(p["root"])),
                                lower=shlex.quote(str(lower)), upper=shlex.quote(str(upper)),
                                work=shlex.quote(str(p["work"])), init=INIT_PATH)
    boot = Path(node.directory) / "boot.sh"
    atomic_write(boot, script, mode=0o755)
    return boot


def launch(node: NodeRecord, boot: Path) -> subprocess.Popen:
    log = open(Path(node.directory) / "console.log", "ab")  # noqa: SIM115 - child keeps it
    try:
        return subprocess.Popen(
            ["ip", "netns", "exec", node.netns, "unshare", "--mount", "--pid", "--uts", "--ipc",
             "--fork", "--kill-child=SIGKILL", "--propagation", "private", "--",
             "/bin/sh", str(boot)],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True, close_fds=True)
    finally:
        log.close()


def record_processes(node: NodeRecord, launcher: subprocess.Popen, timeout: float = 5.0) -> None:
    """Find the node's PID 1 (the launcher's only child) and record both with start times."""
    node.launcher = procs.ref(launcher.pid)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        kids = procs.children(launcher.pid)
        if kids:
            node.init = procs.ref(kids[0])
            return
        if launcher.poll() is not None:
            break
        time.sleep(0.005)
    raise RunFailed(f"node {node.name} did not start: {console_tail(node)}")


def console_tail(node: NodeRecord, lines: int = 5) -> str:
    try:
        text = (Path(node.directory) / "console.log").read_text(errors="replace")
    except FileNotFoundError:
        return "no console output"
    return " | ".join(text.strip().splitlines()[-lines:]) or "no console output"


def sshd_banner(address: str, port: int = 22, timeout: float = 1.0) -> str | None:
    """The SSH banner the node's sshd sends, or None when nothing answers."""
    try:
        with socket.create_connection((address, port), timeout=timeout) as sock:
            sock.settimeout(timeout)
            data = sock.recv(256)
    except OSError:
        return None
    text = data.decode("ascii", errors="replace").strip()
    return text if text.startswith("SSH-") else None


def wait_for_sshd(record: LabRecord, timeout: float = SSH_READY_TIMEOUT_S) -> None:
    pending = {n.name: n for n in record.nodes}
    deadline = time.monotonic() + timeout
    while pending and time.monotonic() < deadline:
        for name, node in list(pending.items()):
            if not procs.alive(node.init):
                raise RunFailed(f"node {name} stopped while booting: {console_tail(node)}")
            if sshd_banner(node.mgmt_address, timeout=0.5):
                del pending[name]
        if pending:
            time.sleep(0.02)
    if pending:
        raise RunFailed(
            f"sshd did not answer within {timeout:g} s on: {', '.join(sorted(pending))}",
            hint=f"see {Path(record.nodes[0].directory).parent}/<node>/console.log")


def node_exec(node: NodeRecord, argv: list[str], *, timeout: float = NODE_EXEC_TIMEOUT_S,
              check: bool = True, what: str | None = None):
    """Run argv inside the node (all its namespaces and its root), without SSH."""
    if not procs.alive(node.init):
        raise RunFailed(f"node {node.name} is not running",
                        hint="`sparkctl lab up` again to restart the lab")
    return run(["nsenter", "-t", str(node.init.pid), "--mount", "--uts", "--ipc", "--net",
                "--pid", "--root", "--wd", "--"] + argv, timeout=timeout, check=check,
               what=what or f"{node.name}: {' '.join(argv)}")
