"""Simulated Spark nodes: systemd as PID 1 in systemd-nspawn, on an overlay root, inside the
node's network namespace.

Each node runs `unshare --mount --propagation private --pid --mount-proc --fork -- sh boot.sh`
on the host. boot.sh mounts the overlay *inside* that private mount namespace (so a killed lab
leaves no mounts on the host), and the node's PID namespace nests in the loop's (so killing
the launcher ends the node) and boots the root with systemd-nspawn in the node's existing network
namespace (the CX7-named veths and the management veth are already there). When the node
reboots (systemd exits with 133: `systemctl reboot`, `sudo reboot`, `lab reboot`), boot.sh
resets its links the way a reboot resets a NIC (down, no addresses, MTU 1500) and boots again.
"""

from __future__ import annotations

import os
import shlex
import socket
import subprocess
import time
from pathlib import Path

from sparkctl.errors import RunFailed
from sparkctl.fileio import atomic_write
from sparkctl.lab import cgroups, procs
from sparkctl.lab.access import NodeFile
from sparkctl.lab.state import LabRecord, NodeRecord, ProcessRef
from sparkctl.lab.system import run

SSH_READY_TIMEOUT_S = 60.0
NODE_EXEC_TIMEOUT_S = 30.0
REBOOT_TIMEOUT_S = 90.0
NSPAWN_REBOOT_EXIT = 133  # systemd-nspawn's exit status when the container rebooted

# systemd-nspawn options, each for a reason (facts/lab-machine.md):
#   --register=no --keep-unit: no host D-Bus/machined (the host's PID 1 is not systemd);
#   --capability=CAP_NET_ADMIN: NetworkManager and systemd-networkd configure links
#     (networkd has ConditionCapability=CAP_NET_ADMIN);
#   SYSTEMD_NSPAWN_API_VFS_WRITABLE=network: /proc/sys/net writable, the rest read-only;
#   SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1: a pure cgroup2 tree for the node (cgroups.py);
#   --resolv-conf=off --timezone=off --link-journal=no: leave the node's files alone;
#   --console=pipe: boot messages go to console.log.
BOOT_SCRIPT = """\
#!/bin/sh
# Boot loop of lab node {name}; runs on the host in a private mount namespace.
set -u
R={root}
# Its own cgroup2 group, so nspawn makes the node's cgroup tree below it (cgroups.py).
mkdir -p {cgroup} && echo $$ > {cgroup}/cgroup.procs || exit 1
mount -t overlay overlay -o lowerdir={lower},upperdir={upper},workdir={work} "$R" || exit 1
while :; do
    # A boot starts from reset NICs: links down, no addresses, default MTU and IPv6 mode.
    for l in $(ip -n {netns} -o link show | sed -n 's/^[0-9]*: \\([^:@]*\\).*/\\1/p'); do
        [ "$l" = lo ] && continue
        ip -n {netns} link set dev "$l" down
        ip -n {netns} addr flush dev "$l"
        ip -n {netns} link set dev "$l" mtu 1500 addrgenmode eui64
    done
    SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1 SYSTEMD_NSPAWN_API_VFS_WRITABLE=network \\
    systemd-nspawn --quiet --boot \\
        --register=no --keep-unit --capability=CAP_NET_ADMIN \\
        --network-namespace-path=/run/netns/{netns} --machine={machine} \\
        --hostname={name} --directory="$R" --console=pipe --link-journal=no \\
        --resolv-conf=off --timezone=off
    rc=$?
    [ "$rc" -eq {reboot_exit} ] || exit "$rc"
    echo "sparkctl lab: {name} reboots"
done
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
            files: list[NodeFile]) -> Path:
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
    (etc / "machine-id").write_text(os.urandom(16).hex() + "\n")
    for item in files:
        write_node_file(upper, lower, item)
    script = BOOT_SCRIPT.format(name=node.name, root=shlex.quote(str(p["root"])),
                                lower=shlex.quote(str(lower)), upper=shlex.quote(str(upper)),
                                work=shlex.quote(str(p["work"])), netns=node.netns,
                                cgroup=shlex.quote(str(cgroups.node_cgroup(node.netns))),
                                machine=node.netns, reboot_exit=NSPAWN_REBOOT_EXIT)
    boot = Path(node.directory) / "boot.sh"
    atomic_write(boot, script, mode=0o755)
    return boot


def launch(node: NodeRecord, boot: Path) -> subprocess.Popen:
    log = open(Path(node.directory) / "console.log", "ab")  # noqa: SIM115 - child keeps it
    try:
        return subprocess.Popen(
            # Its own PID namespace too: when the launcher dies (kill -9, a crash), the
            # loop's PID namespace and every one nested in it, the node's, die with it.
            ["unshare", "--mount", "--propagation", "private", "--pid", "--mount-proc",
             "--fork", "--kill-child=SIGKILL", "--", "/bin/sh", str(boot)],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True, close_fds=True)
    finally:
        log.close()


def find_init(launcher: ProcessRef | None) -> ProcessRef | None:
    """The node's PID 1 (systemd, in its own PID namespace) under the boot loop, or None."""
    if not procs.alive(launcher):
        return None
    own_pidns = procs.pid_namespace(os.getpid())
    for pid in procs.descendants(launcher.pid):
        if procs.comm(pid) == "systemd" and procs.pid_namespace(pid) not in (None, own_pidns):
            return procs.ref(pid)
    return None


def current_init(node: NodeRecord) -> ProcessRef | None:
    """The node's running PID 1; follows reboots (a new systemd under the same launcher) and
    updates node.init."""
    if procs.alive(node.init):
        return node.init
    found = find_init(node.launcher)
    if found is not None:
        node.init = found
    return found


def record_processes(node: NodeRecord, launcher: subprocess.Popen, timeout: float = 10.0) -> None:
    """Record the launcher and, once systemd-nspawn has started it, the node's PID 1."""
    node.launcher = procs.ref(launcher.pid)
    node.init = None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = find_init(node.launcher)
        if found is not None:
            node.init = found
            return
        if launcher.poll() is not None:
            break
        time.sleep(0.01)
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


def wait_for_sshd(record: LabRecord, timeout: float = SSH_READY_TIMEOUT_S,
                  only: list[NodeRecord] | None = None) -> dict[str, float]:
    """Wait until every node's sshd sends its banner; seconds each took from now."""
    pending = {n.name: n for n in (only or record.nodes)}
    started = time.monotonic()
    deadline = started + timeout
    answered: dict[str, float] = {}
    while pending and time.monotonic() < deadline:
        for name, node in list(pending.items()):
            if current_init(node) is None and not procs.alive(node.launcher):
                raise RunFailed(f"node {name} stopped while booting: {console_tail(node)}")
            if sshd_banner(node.mgmt_address, timeout=0.5):
                answered[name] = time.monotonic() - started
                del pending[name]
        if pending:
            time.sleep(0.02)
    if pending:
        raise RunFailed(
            f"sshd did not answer within {timeout:g} s on: {', '.join(sorted(pending))}",
            hint=f"see {Path(record.nodes[0].directory).parent}/<node>/console.log, or look "
            "inside with `sparkctl lab console NODE -- systemctl --failed`")
    return answered


def wait_for_plan(record: LabRecord, plan: dict[str, list], timeout: float = 30.0) -> None:
    """`--configured`: until systemd-networkd has put every planned address and MTU in
    place (read from the host, `ip -n NS`)."""
    import json

    deadline = time.monotonic() + timeout
    missing: list[str] = []
    while time.monotonic() < deadline:
        missing = []
        for node in record.nodes:
            out = run(["ip", "-n", node.netns, "-j", "addr", "show"], check=False,
                      timeout=10).stdout
            live = {i["ifname"]: i for i in json.loads(out or "[]")}
            for item in plan.get(node.name, []):
                link = live.get(item.name, {})
                have = {f"{a['local']}/{a['prefixlen']}" for a in link.get("addr_info", [])}
                if str(item.address) not in have or link.get("mtu") != item.mtu:
                    missing.append(f"{node.name}:{item.name}")
        if not missing:
            return
        time.sleep(0.05)
    raise RunFailed(f"the plan did not come up within {timeout:g} s on {', '.join(missing)}",
                    hint="look with `sparkctl lab console NODE -- networkctl status`")


def exec_argv(init: ProcessRef, argv: list[str]) -> list[str]:
    """nsenter into every namespace of the node's PID 1 (mount, UTS, IPC, net, PID, cgroup,
    root and working directory): the node's console, without SSH."""
    return ["nsenter", "-t", str(init.pid), "--all", "--root", "--wd", "--", *argv]


def node_exec(node: NodeRecord, argv: list[str], *, timeout: float = NODE_EXEC_TIMEOUT_S,
              check: bool = True, what: str | None = None, input: str | None = None):
    """Run argv inside the node as root, without SSH."""
    init = current_init(node)
    if init is None:
        raise RunFailed(f"node {node.name} is not running",
                        hint="`sparkctl lab up` again to restart the lab")
    return run(exec_argv(init, argv), timeout=timeout, check=check, input=input,
               what=what or f"{node.name}: {' '.join(argv)}")


def reboot(record: LabRecord, node: NodeRecord, timeout: float = REBOOT_TIMEOUT_S) -> float:
    """Reboot the node's systemd and wait until its sshd answers again; seconds it took."""
    old = current_init(node)
    if old is None:
        raise RunFailed(f"node {node.name} is not running",
                        hint=f"`sparkctl lab status --name {record.name}`")
    started = time.monotonic()
    node_exec(node, ["systemctl", "--no-block", "reboot"], what=f"rebooting {node.name}")
    deadline = started + timeout
    while time.monotonic() < deadline:
        found = find_init(node.launcher)
        if found is not None and found != old:
            node.init = found
            break
        if not procs.alive(node.launcher):
            raise RunFailed(f"node {node.name} did not come back from its reboot: "
                            f"{console_tail(node)}")
        time.sleep(0.02)
    else:
        raise RunFailed(f"node {node.name} did not restart within {timeout:g} s")
    wait_for_sshd(record, max(1.0, deadline - time.monotonic()), only=[node])
    return time.monotonic() - started
