"""`lab up` and `lab down`: build a lab from a cluster spec, tear it down by its record.

Both are idempotent. `up` on a healthy lab with the same declaration changes nothing; on a
lab left broken by a crash or kill -9 it first cleans what the record names, then builds.
"""

from __future__ import annotations

import dataclasses
import fcntl
import ipaddress
import os
import shutil
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sparkctl.cluster import Cluster
from sparkctl.errors import InputError, RunFailed, SparkctlError
from sparkctl.fileio import atomic_write
from sparkctl.lab import (
    access,
    cgroups,
    image,
    keys,
    names,
    netplan_files,
    nodes,
    paths,
    procs,
    state,
    wiring,
)
from sparkctl.lab.state import LabRecord, NodeRecord
from sparkctl.lab.system import require_binaries, require_root, run
from sparkctl.topology.hardware import LINE_RATE_MBPS
from sparkctl.topology.model import ClusterSpec, default_mtu

UP_BINARIES = ["ip", "tc", "unshare", "nsenter", "mount", "systemd-nspawn", "ssh-keygen", "ssh",
               "openssl"]
STOP_TIMEOUT_S = 5.0

Log = Callable[[str], None]


@dataclass(frozen=True)
class UpResult:
    record: LabRecord
    created: bool  # False when a healthy lab with this declaration was already up
    seconds: float
    image_built: bool
    # Per node: launch to sshd answering (empty when the lab was already up).
    boot_seconds: dict[str, float] = dataclasses.field(default_factory=dict)


@contextmanager
def lab_lock(name: str) -> Iterator[None]:
    """One `up`/`down`/`fault` at a time per lab; other labs proceed in parallel."""
    paths.STATE_ROOT.mkdir(parents=True, exist_ok=True)
    with open(paths.lab_lock_path(name), "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            deadline = time.monotonic() + 120
            while True:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise RunFailed(f"lab {name} is busy: another sparkctl holds its lock",
                                        hint="wait for the other `sparkctl lab` command") from None
                    time.sleep(0.1)
        yield


def lab_spec(spec: ClusterSpec) -> ClusterSpec:
    for node in spec.nodes:
        names.check_node_name(node.name)
    if spec.switch_mtu is None and any(c.to_switch for c in spec.cables):
        # The lab's switch is a bridge that carries wiring.SWITCH_MTU: it is declared, as a
        # cluster file declares a jumbo-frame switch, and an undeclared rail MTU follows it.
        spec = dataclasses.replace(spec, switch_mtu=wiring.SWITCH_MTU)
        if not spec.mtu_declared:
            spec = dataclasses.replace(spec, mtu=default_mtu(spec.cables, spec.switch_mtu))
    return dataclasses.replace(spec, platform="lab")


def is_healthy(record: LabRecord) -> bool:
    if not all(nodes.current_init(n) for n in record.nodes):
        return False
    present = wiring.existing_namespaces()
    return all(ns in present for ns in record.namespaces())


def up(spec: ClusterSpec, *, name: str = paths.DEFAULT_LAB, rate: str = wiring.DEFAULT_RATE,
       configured: bool = False, fresh: bool = False, source: dict | None = None,
       log: Log | None = None) -> UpResult:
    """Build the lab (idempotent). fresh: nodes as a fresh DGX OS Spark (access.py)."""
    started = time.monotonic()
    paths.validate_lab_name(name)
    rate_mbit = wiring.parse_rate_mbit(rate)
    spec = lab_spec(spec)
    Cluster.from_spec(spec)  # fail on a bad topology before touching the machine
    require_root("sparkctl lab up")
    require_binaries(UP_BINARIES)
    declaration = {**(source or {}), "topology": spec.topology, "hosts": spec.node_names,
                   "cables": [str(c) for c in spec.cables], "mtu": spec.mtu,
                   "rate_mbit": rate_mbit, "configured": configured, "fresh": fresh}
    with lab_lock(name):
        existing = state.load(name)
        if existing is not None:
            if is_healthy(existing):
                if existing.source == declaration:
                    return UpResult(existing, False, time.monotonic() - started, False)
                raise InputError(
                    f"lab {name} is already up with another declaration "
                    f"({existing.topology}, {', '.join(n.name for n in existing.nodes)})",
                    hint=f"run `sparkctl lab down --name {name}` first, or pick another --name")
            if log:
                log(f"lab {name} is left over from an earlier run; cleaning it first")
            _teardown(existing)
        base = image.ensure_base_image(log=log)
        record = _new_record(name, spec, base.digest, rate_mbit, configured, fresh, declaration)
        try:
            boots = _build(record, spec, base.root)
        except BaseException:
            _teardown(record)
            raise
        return UpResult(record, True, time.monotonic() - started, base.built_now, boots)


def down(name: str = paths.DEFAULT_LAB) -> LabRecord | None:
    """Tear the lab down; None when there was nothing to remove."""
    paths.validate_lab_name(name)
    require_root("sparkctl lab down")
    require_binaries(["ip"])
    with lab_lock(name):
        record = state.load(name)
        if record is None:
            leftover = paths.lab_state_dir(name)
            if leftover.exists():
                shutil.rmtree(leftover)
            return None
        _teardown(record)
        return record


def reboot(name: str, node_names: list[str]) -> dict[str, float]:
    """Reboot nodes' systemd (in parallel) and wait for their sshd; seconds per node."""
    from concurrent.futures import ThreadPoolExecutor

    from sparkctl.lab.status import load_record

    require_root("sparkctl lab reboot")
    with lab_lock(name):
        record = load_record(name)
        chosen = [record.node(n) for n in dict.fromkeys(node_names)]
        with ThreadPoolExecutor(max_workers=max(1, len(chosen))) as pool:
            took = list(pool.map(lambda n: nodes.reboot(record, n), chosen))
        state.save(record)
        return {n.name: t for n, t in zip(chosen, took, strict=True)}


def _new_record(name: str, spec: ClusterSpec, digest: str, rate_mbit: int, configured: bool,
                fresh: bool, declaration: dict) -> LabRecord:
    paths.STATE_ROOT.mkdir(parents=True, exist_ok=True)
    directory = paths.lab_state_dir(name)
    # Allocation and the first write of the record happen under one lock, so two labs
    # coming up at the same moment never pick the same management subnet.
    with open(paths.allocation_lock_path(), "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        taken = set()
        for other in state.list_names():
            if other != name:
                rec = state.load(other)
                if rec:
                    taken.add(rec.mgmt_subnet)
        subnet = wiring.pick_mgmt_subnet(name, taken)
        hosts = list(subnet.hosts())
        node_records = [
            NodeRecord(name=node.name, index=node.index, netns=names.node_netns(name, node.name),
                       mgmt_address=str(hosts[node.index]),
                       host_veth=names.mgmt_host_veth(name, node.index),
                       directory=str(directory / "nodes" / node.name))
            for node in spec.nodes
        ]
        switch_netns, links = wiring.plan_links(name, spec)
        record = LabRecord(
            name=name, topology=spec.topology, created=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            image=digest, rate_mbit=rate_mbit, scale=LINE_RATE_MBPS / rate_mbit,
            mgmt_subnet=str(subnet), mgmt_bridge=names.mgmt_bridge(name),
            mgmt_host_address=str(hosts[-1]), nodes=node_records, switch_netns=switch_netns,
            spare_netns=names.spare_netns(name),
            links=links, configured=configured, fresh=fresh, user=access.LAB_USER,
            source=declaration)
        directory.mkdir(parents=True, exist_ok=True)
        os.chmod(directory, 0o700)
        state.save(record)
    return record


def _build(record: LabRecord, spec: ClusterSpec, lower: Path) -> dict[str, float]:
    _remove_unrecorded_leftovers(record)
    # A fresh lab has no client key at all: bootstrap brings its own.
    public = ("" if record.fresh else
              keys.write_client_key(record.key_path, f"sparkctl-lab-{record.name}"))
    host_keys = {n.name: keys.generate_ed25519(f"root@{n.name}") for n in record.nodes}
    node_access = access.NodeAccess(fresh=record.fresh, user=record.user)
    files = node_access.node_files(*_shadow_for(record, lower), public)
    lab_cluster = _lab_cluster(record, spec)
    boots = {n.name: nodes.prepare(record, n, lower, host_keys[n.name],
                                   files + _netplan_files(record, n, lab_cluster))
             for n in record.nodes}
    wiring.create_namespaces(record)
    wiring.create_mgmt(record)
    wiring.create_links(record)
    wiring.configure_namespaces(record)
    launchers = {n.name: nodes.launch(n, boots[n.name]) for n in record.nodes}
    for node in record.nodes:
        nodes.record_processes(node, launchers[node.name])
    state.save(record)
    boots = nodes.wait_for_sshd(record)
    if record.configured:
        nodes.wait_for_plan(record, lab_cluster.plan.interfaces)
    known = keys.known_hosts_lines(
        [([n.name, n.mgmt_address], host_keys[n.name][1]) for n in record.nodes])
    atomic_write(record.host_keys_path, known, mode=0o644)
    # A fresh Spark is unknown to the controller until bootstrap pins its key.
    atomic_write(record.known_hosts_path, "" if record.fresh else known, mode=0o644)
    write_lab_inventory(record, lab_cluster)
    return boots


def _netplan_files(record: LabRecord, node: NodeRecord, cluster: Cluster) -> list:
    found = [netplan_files.mgmt_file(node.mgmt_address, mgmt_prefix(record))]
    if record.configured:
        found.append(netplan_files.configured_file(cluster.plan.interfaces.get(node.name, [])))
    return found


def _shadow_for(record: LabRecord, lower: Path) -> tuple[str, int]:
    """(the nodes' /etc/shadow with the lab password, gid of group shadow); writes the
    password file (0600) first, so a failed build still names where it would be."""
    password = access.new_password()
    atomic_write(record.password_path, password + "\n", mode=0o600)
    shadow = access.shadow_with_password((lower / "etc/shadow").read_text(), record.user,
                                         access.password_hash(password))
    return shadow, (lower / "etc/shadow").stat().st_gid


def _lab_cluster(record: LabRecord, spec: ClusterSpec) -> Cluster:
    mgmt: dict[str, tuple[str, str | None, int]] = {
        n.name: (n.mgmt_address, record.user, 22) for n in record.nodes}
    return Cluster.from_spec(spec.with_management(mgmt))


def ssh_common_args(record: LabRecord) -> str:
    return (f"-o UserKnownHostsFile={record.known_hosts_path} -o StrictHostKeyChecking=yes "
            "-o IdentitiesOnly=yes")


def write_lab_inventory(record: LabRecord, cluster: Cluster) -> Path:
    from sparkctl.render.inventory import build_inventory, write_inventory

    host_vars = {}
    for n in record.nodes:
        host_vars[n.name] = {"ansible_user": record.user,
                             "ansible_ssh_common_args": ssh_common_args(record)}
        if not record.fresh:  # a fresh node has no key until bootstrap installs one
            host_vars[n.name]["ansible_ssh_private_key_file"] = str(record.key_path)
    group_vars = {
        "sparkctl_lab_name": record.name,
        "sparkctl_lab_rate_mbit": record.rate_mbit,
        # real figure = lab figure x scale; e.g. 2000 Mbit/s stands for 200 Gb/s
        "sparkctl_lab_scale": record.scale,
        "sparkctl_lab_mgmt_subnet": record.mgmt_subnet,
    }
    inventory = build_inventory(cluster, host_vars=host_vars, group_vars=group_vars)
    return write_inventory(record.inventory_path, inventory)


def _remove_unrecorded_leftovers(record: LabRecord) -> None:
    """Namespaces, links and node files carrying exactly this lab's names but no record
    (a crash lost lab.json): a rebuilt lab starts from the base image again."""
    _kill_namespace_processes(record)
    _remove_nspawn_dirs(record)
    wiring.delete_network(record)
    _unmount_under(record.directory)
    shutil.rmtree(record.directory / "nodes", ignore_errors=True)


def _teardown(record: LabRecord) -> None:
    errors: list[str] = []
    # PID 1 of each node first (its PID namespace dies with it, and systemd-nspawn then
    # exits), then everything else the boot loop started, then the loop itself.
    launched = [p for n in record.nodes for p in (nodes.current_init(n), n.launcher) if p]
    below = [procs.ref(pid) for n in record.nodes if procs.alive(n.launcher)
             for pid in procs.descendants(n.launcher.pid)]
    launched += [p for p in below if p is not None and p not in launched]
    for proc in launched:
        procs.kill(proc, signal.SIGKILL)  # unshare --fork ignores SIGTERM
    stuck = procs.wait_gone(launched, STOP_TIMEOUT_S)
    if stuck:
        errors.append(f"processes still alive: {', '.join(str(p.pid) for p in stuck)}")
    _kill_namespace_processes(record)
    try:
        wiring.delete_network(record)
    except SparkctlError as exc:
        errors.append(str(exc))
    _unmount_under(record.directory)
    _remove_nspawn_dirs(record)
    if not errors:
        shutil.rmtree(record.directory, ignore_errors=True)
    else:
        raise RunFailed(f"lab {record.name} was not fully removed: {'; '.join(errors)}",
                        hint=f"run `sparkctl lab down --name {record.name}` again")


def _kill_namespace_processes(record: LabRecord) -> None:
    """Processes still inside the lab's recorded namespaces (e.g. an iperf3 left by a test)."""
    present = wiring.existing_namespaces()
    for ns in record.namespaces():
        if ns not in present:
            continue
        out = run(["ip", "netns", "pids", ns], check=False, timeout=10).stdout
        for pid in (int(p) for p in out.split() if p.isdigit()):
            proc = procs.ref(pid)
            if proc:
                procs.kill(proc, signal.SIGKILL)


def _unmount_under(directory: Path) -> None:
    """Mounts under the lab directory in the host's namespace; normally none (see nodes.py)."""
    prefix = str(directory.resolve()) + "/"
    try:
        lines = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return
    targets = [line.split()[4] for line in lines]
    for target in sorted((t for t in targets if t.startswith(prefix)), reverse=True):
        run(["umount", "-l", target], check=False, timeout=10)


def _remove_nspawn_dirs(record: LabRecord) -> None:
    """systemd-nspawn leaves /run/systemd/nspawn/{propagate,unix-export}/MACHINE behind when
    it is killed (each node's machine name is its namespace name); the node's cgroup goes
    too once its processes have."""
    for node in record.nodes:
        for kind in ("propagate", "unix-export"):
            shutil.rmtree(Path("/run/systemd/nspawn") / kind / node.netns, ignore_errors=True)
        cgroups.remove(cgroups.node_cgroup(node.netns))


def mgmt_prefix(record: LabRecord) -> int:
    return ipaddress.IPv4Network(record.mgmt_subnet).prefixlen
