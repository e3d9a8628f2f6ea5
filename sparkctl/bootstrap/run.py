"""`sparkctl bootstrap`: from fresh Sparks (a user with a password, sudo that asks for it,
no keys) to key login, pinned host keys and working sudo, in one step.

Order, per cluster:
 1. read every node's host keys over a bare key exchange (nothing is sent to a node yet);
 2. decide trust: pinned already, --fingerprints FILE, --accept-new (trust on first use),
    or the user's yes on a terminal; a key that differs from its pin is refused unless
    the node is named in --repin;
 3. pin the trusted keys in the known_hosts the cluster's connections use;
 4. per node, in parallel: log in with the password (the handshake must show the trusted
    key again), report facts, install the controller key, set up sudo, then prove key
    login with the real ssh client and the pinned known_hosts, as Ansible will connect.
A node that fails is named with the reason; the others still complete.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from sparkctl.bootstrap import scan, steps
from sparkctl.bootstrap.connection import NodeConnection, connections
from sparkctl.bootstrap.hostkeys import (
    HostKey,
    expected_for,
    load_fingerprints,
    pin_text,
    pinned_keys,
)
from sparkctl.bootstrap.remote import HostKeyMismatch, LoginRefused, NodeSession
from sparkctl.bootstrap.secrets import Secret
from sparkctl.bootstrap.store import ClusterStore, open_store
from sparkctl.errors import InputError
from sparkctl.fileio import atomic_write

SUDO_MODES = ("keep", "nopasswd")


@dataclass(frozen=True)
class BootstrapRequest:
    user: str | None = None
    accept_new: bool = False
    fingerprints: Path | None = None
    sudo: str = "keep"
    yes: bool = False
    key: Path | None = None  # the user's public key to install (private key next to it)
    repin: tuple[str, ...] = ()
    rotate_mesh_key: bool = False
    timeout_s: float = 10.0
    interactive: bool = False  # a terminal can answer questions


@dataclass
class NodeReport:
    name: str
    address: str
    port: int
    ok: bool = False
    host_key: str = ""
    fingerprints: list[str] = field(default_factory=list)
    key_login: str = ""
    sudo: str = ""
    dgx_name: str | None = None
    dgx_version: str | None = None
    os: str | None = None
    mgmt_interface: str | None = None
    mgmt_address: str | None = None
    changes: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    error: str | None = None

    def to_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class BootstrapResult:
    cluster_id: str
    user: str
    login_key: str
    known_hosts: list[str]
    nodes: list[NodeReport]
    controller_changes: list[str] = field(default_factory=list)
    mesh: str | None = None
    duration_s: float = 0.0

    @property
    def ok(self) -> bool:
        return all(n.ok for n in self.nodes)

    @property
    def changed(self) -> bool:
        return bool(self.controller_changes) or any(n.changes for n in self.nodes)

    def to_dict(self) -> dict:
        return {"cluster_id": self.cluster_id, "user": self.user, "login_key": self.login_key,
                "known_hosts": self.known_hosts, "ok": self.ok, "changed": self.changed,
                "controller_changes": self.controller_changes, "mesh": self.mesh,
                "duration_s": round(self.duration_s, 3),
                "nodes": [n.to_dict() for n in self.nodes]}


class Asks(Protocol):
    """What bootstrap asks the user through: a Prompter, or the CLI's terminal prompter."""

    def confirm(self, text: str) -> bool: ...

    def say(self, text: str) -> None: ...


class Prompter:
    """Questions to the user; the CLI answers them on a terminal."""

    def confirm(self, text: str) -> bool:
        return False

    def say(self, text: str) -> None: ...


@dataclass
class _Trust:
    keys: list[HostKey]  # to pin (empty when already pinned)
    how: str
    refused: str | None = None


def check_request(request: BootstrapRequest) -> None:
    if request.accept_new and request.fingerprints:
        raise InputError("--accept-new and --fingerprints exclude each other",
                         hint="--fingerprints checks keys against FILE; --accept-new trusts "
                              "whatever the nodes offer on first contact")
    if request.sudo not in SUDO_MODES:
        raise InputError(f"--sudo {request.sudo!r}: expected one of {', '.join(SUDO_MODES)}")
    if request.user is not None:
        steps.check_user(request.user)
    if request.timeout_s <= 0:
        raise InputError("--timeout must be positive")


def _login_public_key(request: BootstrapRequest, store: ClusterStore,
                      conns: list[NodeConnection], changes: list[str]) -> tuple[str, str]:
    """(private key path the controller logs in with, its public line)."""
    named = named_key(request)
    if named is not None:
        return named
    from_inventory = {c.key_file for c in conns if c.key_file and not
                      c.injected.get("ansible_ssh_private_key_file")}
    if len(from_inventory) == 1:
        private = Path(from_inventory.pop()).expanduser()
        public = private.with_name(private.name + ".pub")
        if public.is_file():
            return str(private), _public_line(public)
        raise InputError(f"the inventory logs in with {private} but {public} is missing",
                         hint=f"ssh-keygen -y -f {private} > {public}, or give --key")
    existed = store.generated_login_key.exists()
    private = store.ensure_login_key()
    if not existed:
        changes.append(f"generated the cluster login key {private} (0600)")
    return str(private), _public_line(private.with_name(private.name + ".pub"))


def named_key(request: BootstrapRequest) -> tuple[str, str] | None:
    """--key: (private key path, public line), checked before anything is contacted."""
    if request.key is None:
        return None
    public = request.key if request.key.name.endswith(".pub") else \
        request.key.with_name(request.key.name + ".pub")
    private = public.with_name(public.name[:-4])
    if not public.is_file():
        raise InputError(f"--key {request.key}: no public key file {public}",
                         hint="name your key pair, e.g. --key ~/.ssh/id_ed25519.pub")
    if not private.is_file():
        raise InputError(f"--key {request.key}: no private key {private} next to it",
                         hint="sparkctl logs in with the private half afterwards")
    return str(private), _public_line(public)


def _public_line(path: Path) -> str:
    try:
        words = path.read_text(encoding="utf-8").split()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read public key {path}: {exc}") from None
    if len(words) < 2 or not words[0].startswith(("ssh-", "ecdsa-", "sk-")):
        raise InputError(f"{path} is not an OpenSSH public key",
                         hint="it should start with ssh-ed25519, ssh-rsa or ecdsa-sha2-...")
    return " ".join(words[:3])


def _scan(conn: NodeConnection, timeout: float) -> tuple[list[HostKey], str | None]:
    try:
        keys = scan.scan_all(conn.hostname, conn.port, timeout)
    except scan.Unreachable as exc:
        return [], f"unreachable: {exc}"
    if not keys:
        return [], "the node's sshd offers no ed25519, ecdsa or rsa host key"
    return keys, None


def _decide(conn: NodeConnection, offered: list[HostKey], request: BootstrapRequest,
            expected: list | None) -> _Trust:
    names = [conn.name, conn.hostname, conn.lookup]
    files = [*conn.known_hosts, *conn.global_known_hosts]
    pinned = [] if conn.name in request.repin else pinned_keys(files, conn.lookup)
    if pinned:
        pinned_types = {k.type for k, _ in pinned}
        common = [k for k in offered if k.type in pinned_types]
        if common and all(any(k == p for p, _ in pinned) for k in common):
            return _Trust([], "already pinned")
        shown = "; ".join(k.fingerprint(conn.name) for k in offered)
        was = "; ".join(f"{k.fingerprint(conn.name)} in {path}" for k, path in pinned)
        return _Trust([], "", refused=(
            f"HOST KEY CHANGED: the node offers {shown}; pinned is {was}. Another machine "
            "may answer at this address, or the node was reinstalled. After checking on "
            f"the node's console, re-pin with --repin {conn.name}"))
    if expected is not None:
        wanted = expected_for(expected, names)
        if not wanted:
            return _Trust([], "", refused=f"{request.fingerprints} lists no fingerprint for "
                                          f"{conn.name} ({conn.hostname})")
        matching = [k for k in offered if k.sha256 in wanted]
        if not matching:
            shown = "; ".join(k.fingerprint(conn.name) for k in offered)
            return _Trust([], "", refused=(
                f"host key does not match {request.fingerprints}: the node offers {shown}; "
                f"expected {', '.join(sorted(wanted))}"))
        return _Trust(matching, f"pinned (matches {request.fingerprints})")
    if request.accept_new:
        return _Trust(offered, "pinned on first use (--accept-new: not verified)")
    return _Trust(offered, "pinned (confirmed by you)")


def _pin(decisions: dict[str, tuple[NodeConnection, _Trust]]) -> list[str]:
    """Write the trusted keys, grouped by the file each node's connection reads."""
    by_file: dict[Path, list[tuple[NodeConnection, list[HostKey]]]] = {}
    for conn, trust in decisions.values():
        if trust.keys:
            by_file.setdefault(conn.pin_file, []).append((conn, trust.keys))
    changes = []
    for path, items in by_file.items():
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            text = ""
        for conn, keys in items:
            names = list(dict.fromkeys([conn.lookup, conn.name]))
            text = pin_text(text, names, keys, conn.name)
        atomic_write(path, text, mode=0o644)
        changes.append(f"pinned host keys of {', '.join(c.name for c, _ in items)} in {path}")
    return changes


def ssh_argv(conn: NodeConnection, command: str, timeout: float) -> list[str]:
    """The real ssh client, connecting as Ansible will (its arguments, the login key, the
    pinned known_hosts), with no password fallback and no shared control socket."""
    argv = ["ssh", *conn.ssh_args, "-p", str(conn.port)]
    if conn.user:
        argv += ["-l", conn.user]
    if conn.key_file:
        argv += ["-i", conn.key_file, "-o", "IdentitiesOnly=yes"]
    argv += ["-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes",
             "-o", f"ConnectTimeout={max(int(timeout), 1)}", "-o", "ControlPath=none",
             "-T", "--", conn.host, command]
    return argv


def _key_login(conn: NodeConnection, timeout: float) -> tuple[bool, str, bool | None]:
    """(key login works, why not, sudo needs no password)."""
    argv = ssh_argv(conn, "sudo -n true 2>/dev/null && echo SUDO=nopasswd || echo SUDO=ask",
                    timeout)
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout * 3,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return False, f"ssh did not finish within {timeout * 3:g} s", None
    if done.returncode != 0:
        return False, done.stderr.strip().splitlines()[-1] if done.stderr.strip() else \
            f"ssh exit {done.returncode}", None
    return True, "", "SUDO=nopasswd" in done.stdout


def _bootstrap_node(conn: NodeConnection, trust: _Trust, trusted_key: HostKey, user: str,
                    public_line: str, password: Secret, request: BootstrapRequest,
                    report: NodeReport) -> None:
    timeout = request.timeout_s
    try:
        session = NodeSession.login(conn.hostname, conn.port, user, password, trusted_key,
                                    timeout)
    except LoginRefused as exc:
        report.error = (f"{exc}: wrong password, or no user {user!r} on {conn.name}")
        return
    except (scan.Unreachable, scan.NoCommonKeyType, HostKeyMismatch) as exc:
        report.error = str(exc)
        return
    try:
        facts = steps.facts_and_key(session, public_line)
        report.dgx_name, report.dgx_version, report.os = facts.dgx_name, facts.dgx_version, \
            facts.os
        report.mgmt_interface, report.mgmt_address = facts.interface, facts.address
        report.changes += facts.changes
        report.notes += facts.notes
        sudo = steps.configure_sudo(session, facts.user, request.sudo, password)
        report.sudo = sudo.text
        if sudo.changed:
            report.changes.append(sudo.text.split(": ", 1)[-1])
    except steps.StepFailed as exc:
        report.error = str(exc)
        return
    finally:
        session.close()
    works, why, nopasswd = _key_login(conn, timeout)
    if not works:
        report.key_login = f"FAILED: {why}"
        report.error = f"key login does not work after installing the key: {why}"
        return
    report.key_login = "works (ssh with the cluster key and pinned host keys)"
    if sudo.state == "nopasswd" and not nopasswd:
        report.error = "sudo still asks for a password over key login"
        return
    report.ok = True


def bootstrap(target, request: BootstrapRequest, read_password: Callable[[], Secret],
              prompter: Asks | None = None) -> BootstrapResult:
    began = time.monotonic()
    prompter = prompter or Prompter()
    check_request(request)
    from sparkctl.render.bundle import inventory_for

    inventory, _ = inventory_for(target)
    names = [n.name for n in target.cluster.spec.nodes]
    unknown = [n for n in request.repin if n not in names]
    if unknown:
        raise InputError(f"--repin {', '.join(unknown)}: no such node in {target.description}",
                         hint=f"nodes: {', '.join(names)}")
    expected = load_fingerprints(request.fingerprints) if request.fingerprints else None
    named_key(request)  # a bad --key is an input error before any node is contacted
    store = open_store(target, create=True)
    controller_changes: list[str] = []
    if not store.known_hosts.exists():
        atomic_write(store.known_hosts, "", mode=0o644)
    conns = connections(target.hostvars, store)
    user = _login_user(conns, request, target)
    if store.state.user != user:
        store.state.user = user
        conns = connections(target.hostvars, store)
    proxied = [c.name for c in conns if c.proxy]
    if proxied:
        raise InputError(f"bootstrap connects directly; {', '.join(proxied)} go(es) through "
                         f"a proxy ({conns[0].proxy})",
                         hint="run bootstrap from a machine that reaches the nodes directly")

    reports = {c.name: NodeReport(c.name, c.hostname, c.port) for c in conns}
    with ThreadPoolExecutor(max_workers=min(16, len(conns))) as pool:
        scanned = dict(zip([c.name for c in conns],
                           pool.map(lambda c: _scan(c, request.timeout_s), conns), strict=True))
    decisions: dict[str, tuple[NodeConnection, _Trust]] = {}
    for conn in conns:
        keys, error = scanned[conn.name]
        report = reports[conn.name]
        report.fingerprints = [k.fingerprint(conn.name) for k in keys]
        if error:
            report.error = error
            continue
        trust = _decide(conn, keys, request, expected)
        if trust.refused:
            report.error = trust.refused
            report.host_key = "refused"
            continue
        decisions[conn.name] = (conn, trust)
        report.host_key = trust.how
    new = [(c, t) for c, t in decisions.values() if t.keys]
    if new and expected is None and not request.accept_new:
        if not request.interactive:
            raise InputError(
                "cannot confirm the nodes' host keys without a terminal",
                hint="compare the fingerprints and pass --fingerprints FILE, or pass "
                     "--accept-new to trust them on first use")
        prompter.say("Host keys offered by the nodes (compare with `ssh-keygen -lf "
                     "/etc/ssh/ssh_host_ed25519_key.pub` on each node's console):")
        for conn, trust in new:
            for key in trust.keys:
                prompter.say(f"  {key.fingerprint(conn.name)}")
        if not prompter.confirm("Are these your nodes' keys? Pin them"):
            raise InputError("host keys not confirmed; nothing was changed",
                             hint="check the fingerprints on the nodes, or use --fingerprints")
    elif new and request.accept_new:
        prompter.say("Trusting host keys on first use (--accept-new), NOT verified:")
        for conn, trust in new:
            for key in trust.keys:
                prompter.say(f"  {key.fingerprint(conn.name)}")
    if decisions and request.interactive and not request.yes:
        sudo_text = (f"write /etc/sudoers.d/sparkctl-{user} (sudo without a password)"
                     if request.sudo == "nopasswd" else "leave sudo as it is")
        if not prompter.confirm(f"Log in as {user} on {len(decisions)} node(s), install the "
                                f"controller key and {sudo_text}. Go ahead"):
            raise InputError("not confirmed; nothing was changed on any node")

    if not decisions:  # no node to log in to: change nothing, not even on the controller
        return BootstrapResult(cluster_id=store.id, user=user,
                               login_key=store.state.login_key or "",
                               known_hosts=sorted({str(c.pin_file) for c in conns}),
                               nodes=[reports[n] for n in names if n in reports],
                               duration_s=time.monotonic() - began)
    password = read_password()
    controller_changes += _pin(decisions)
    login_key, public_line = _login_public_key(request, store, conns, controller_changes)
    store.state.login_key = login_key
    store.save()
    conns = {c.name: c for c in connections(target.hostvars, store)}  # with key and pins

    work = []
    for name, (_, trust) in decisions.items():
        conn = conns[name]
        trusted = trust.keys[0] if trust.keys else _pinned_offered(conn, scanned[name][0])
        work.append((conn, trust, trusted))
    if work:
        with ThreadPoolExecutor(max_workers=min(16, len(work))) as pool:
            list(pool.map(lambda item: _bootstrap_node(item[0], item[1], item[2], user,
                                                       public_line, password, request,
                                                       reports[item[0].name]), work))
    result = BootstrapResult(cluster_id=store.id, user=user, login_key=login_key,
                             known_hosts=sorted({str(c.pin_file) for c in conns.values()}),
                             nodes=[reports[c] for c in names if c in reports],
                             controller_changes=controller_changes)
    if request.rotate_mesh_key:
        result.mesh = _rotate(target, store, result)
    result.duration_s = time.monotonic() - began
    return result


def _pinned_offered(conn: NodeConnection, offered: list[HostKey]) -> HostKey:
    files = [*conn.known_hosts, *conn.global_known_hosts]
    pinned = {k for k, _ in pinned_keys(files, conn.lookup)}
    return next(k for k in offered if k in pinned)


def _login_user(conns: list[NodeConnection], request: BootstrapRequest, target) -> str:
    """The one user bootstrap sets up on every node: --user, else whom the connections
    log in as (ansible_user, ~/.ssh/config User, or the local user, as ssh decides)."""
    if request.user is not None:
        clash = [c.name for c in conns
                 if c.inventory_user is not None and c.inventory_user != request.user]
        if clash:
            raise InputError(f"--user {request.user} disagrees with the inventory's "
                             f"ansible_user for {', '.join(clash)}",
                             hint="drop --user, or change ansible_user in the inventory")
        return request.user
    users = {c.user for c in conns}
    if len(users) > 1:
        raise InputError(f"the nodes of {target.description} log in as different users "
                         f"({', '.join(sorted(u or '?' for u in users))})",
                         hint="bootstrap sets up one user on every node; give --user")
    user = users.pop()
    if not user:
        raise InputError("cannot tell which user to log in as", hint="give --user")
    return steps.check_user(user)


def _rotate(target, store: ClusterStore, result: BootstrapResult) -> str:
    """New mesh key, then the ssh_mesh role installs it and drops the old authorized_keys
    line on every node (its marked block is replaced)."""
    if not result.ok:
        return "not rotated: every node must bootstrap cleanly first"
    from sparkctl.provision.runner import ProvisionRequest, provision

    old = store.rotate_mesh_key()
    run = provision(target, ProvisionRequest(tags=("ssh_mesh",)))
    if not run.ok:
        bad = ", ".join(h for h, s in run.stats.items() if s.failed or s.unreachable)
        for node in result.nodes:
            if node.name in bad.split(", "):
                node.ok = False
                node.error = "mesh key rotation did not reach this node; re-run " \
                             "`sparkctl provision --tags ssh_mesh`"
        return f"rotated in the store, NOT installed everywhere (failed on {bad or '?'})"
    for node in result.nodes:
        node.changes.append("mesh key rotated: new key installed, the old line removed")
    return ("rotated: new mesh key installed on every node"
            + (", the old key's authorized_keys line removed" if old else ""))
