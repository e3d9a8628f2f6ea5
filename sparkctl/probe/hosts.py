"""How a probe reaches a node: the resolver's connection, with OpenSSH's rules applied.

Ansible reaches a host by running `ssh` with the inventory's user, port and key, then the
host's `ansible_ssh_common_args`/`ansible_ssh_extra_args`, then whatever ssh's configuration
(~/.ssh/config, or the file a `-F` names) says for the host. OpenSSH keeps the first value
it obtains for each option. The probes (paramiko) follow the same order by laying those
options out as a configuration block in front of the user's configuration and asking
paramiko's SSHConfig, so `Host` patterns, `Match`, `HostName`, `ProxyJump`, `ProxyCommand`,
`IdentityFile`, `UserKnownHostsFile` and `%h`/`%p`/`%r` tokens mean what they mean to ssh.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sparkctl.errors import InputError

if TYPE_CHECKING:
    from sparkctl.targets import Connection, Target

DEFAULT_PORT = 22
# ssh options a probe acts on (the rest, e.g. ServerAliveInterval, do not change where or
# as whom it connects).
_OPTION_FLAGS = {"-p": "Port", "-l": "User", "-i": "IdentityFile", "-J": "ProxyJump"}


@dataclass(frozen=True)
class SshEndpoint:
    name: str
    address: str  # where to connect: ssh's HostName for the inventory's host
    port: int = DEFAULT_PORT
    user: str | None = None
    key_file: str | None = None
    known_hosts: str | None = None  # None: the user's ~/.ssh/known_hosts
    jumps: tuple[SshEndpoint, ...] = ()  # ProxyJump hops, first hop first
    proxy_command: str | None = None  # ProxyCommand, tokens expanded
    host_key_alias: str | None = None  # HostKeyAlias: the name its key is pinned under
    extra_keys: tuple[str, ...] = ()  # further IdentityFile entries
    extra_known_hosts: tuple[str, ...] = ()  # further UserKnownHostsFile entries
    identities_only: bool = False

    @property
    def key_files(self) -> list[str]:
        return [k for k in (self.key_file, *self.extra_keys) if k]

    @property
    def known_hosts_files(self) -> list[str]:
        first = self.known_hosts or str(Path.home() / ".ssh" / "known_hosts")
        return [first, *self.extra_known_hosts]

    def describe(self) -> str:
        via = f" via {' -> '.join(j.address for j in self.jumps)}" if self.jumps else ""
        proxy = " via ProxyCommand" if self.proxy_command else ""
        return f"{self.user + '@' if self.user else ''}{self.address}:{self.port}{via}{proxy}"


def default_user() -> str:
    return os.environ.get("USER") or "root"


def _refuse_control(value: str, what: str) -> str:
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise InputError(f"{what} contains a control character or a newline",
                         hint="ssh options are one line each; remove it from the inventory")
    return value


def command_line_options(connection: Connection) -> tuple[list[tuple[str, str]], str | None]:
    """(ssh options in the order ssh obtains them, the -F file or None) for a Connection.

    Ansible puts User, Port and IdentityFile from the inventory before the host's ssh args.
    """
    options: list[tuple[str, str]] = []
    if connection.user:
        options.append(("User", connection.user))
    if connection.port:
        options.append(("Port", str(connection.port)))
    if connection.key_file:
        options.append(("IdentityFile", connection.key_file))
    config_file = None
    words = list(connection.ssh_args)
    i = 0
    while i < len(words):
        word = words[i]
        value = words[i + 1] if i + 1 < len(words) else None
        if word == "-o" and value is not None:
            key, sep, rest = value.partition("=")
            if not sep:
                key, _, rest = value.partition(" ")
            options.append((key.strip(), rest.strip()))
            i += 2
        elif word.startswith("-o") and len(word) > 2:
            key, _, rest = word[2:].partition("=")
            options.append((key.strip(), rest.strip()))
            i += 1
        elif word == "-F" and value is not None:
            config_file = value
            i += 2
        elif word in _OPTION_FLAGS and value is not None:
            options.append((_OPTION_FLAGS[word], value))
            i += 2
        else:
            i += 1  # other ssh flags (-q, -v, -C ...) do not change where we connect
    for key, value in options:
        _refuse_control(f"{key} {value}", f"ssh option {key}")
    return options, config_file


def _config_text(options: list[tuple[str, str]], config_file: str | None) -> str:
    head = "Host *\n" + "".join(f"  {k} {v}\n" for k, v in options if k and v)
    path = Path(config_file).expanduser() if config_file else Path.home() / ".ssh" / "config"
    try:
        user = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        if config_file:
            raise InputError(f"ssh config {config_file} (-F in ansible_ssh_common_args) does "
                             "not exist") from None
        user = ""
    except OSError as exc:
        raise InputError(f"cannot read ssh config {path}: {exc.strerror}") from None
    return head + user


@dataclass(frozen=True)
class _Config:
    text: str


def _words(value: str | list[str] | None) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        return [w for item in value for w in item.split()]
    return value.split()


def _jump(spec: str, name: str, config: _Config, depth: int) -> SshEndpoint:
    """One ProxyJump hop, `[user@]host[:port]`, resolved through the same ssh config."""
    user, _, hostport = spec.rpartition("@")
    host, port = hostport, None
    if hostport.startswith("["):
        host, _, rest = hostport[1:].partition("]")
        port = rest.removeprefix(":") or None
    elif hostport.count(":") == 1:
        host, port = hostport.split(":")
    options = [(k, v) for k, v in (("User", user), ("Port", port)) if v]
    return _from_config(f"{name} (jump {host})", host, options, config, depth + 1)


def _from_config(name: str, host: str, options: list[tuple[str, str]], config: _Config,
                 depth: int) -> SshEndpoint:
    import paramiko

    if depth > 5:
        raise InputError(f"{name}: more than 5 ProxyJump hops (a loop in the ssh config?)")
    text = "Host *\n" + "".join(f"  {k} {v}\n" for k, v in options) + config.text
    looked = paramiko.SSHConfig.from_text(text).lookup(host)
    try:
        port = int(looked.get("port", DEFAULT_PORT))
    except ValueError:
        raise InputError(f"{name}: ssh Port {looked.get('port')!r} is not a number") from None
    keys = [str(Path(k).expanduser()) for k in _words(looked.get("identityfile"))]
    known = [str(Path(k).expanduser()) for k in _words(looked.get("userknownhostsfile"))]
    jumps: tuple[SshEndpoint, ...] = ()
    proxy = looked.get("proxycommand")
    jump_spec = looked.get("proxyjump")
    if jump_spec and jump_spec.lower() != "none":
        jumps = tuple(_jump(hop.strip(), name, config, depth) for hop in jump_spec.split(","))
        # ssh keeps whichever of ProxyJump/ProxyCommand it reads first; paramiko's lookup
        # does not say which came first, so a host with both is reached by ProxyJump.
        proxy = None
    if proxy and proxy.lower() == "none":
        proxy = None
    return SshEndpoint(
        name=name, address=looked.get("hostname", host), port=port, user=looked.get("user"),
        key_file=keys[0] if keys else None, extra_keys=tuple(keys[1:]),
        known_hosts=known[0] if known else None, extra_known_hosts=tuple(known[1:]),
        jumps=jumps, proxy_command=proxy, host_key_alias=looked.get("hostkeyalias"),
        identities_only=str(looked.get("identitiesonly", "no")).lower() == "yes")


def endpoint_for(name: str, connection: Connection) -> SshEndpoint:
    """The endpoint of a node (a sparkctl.targets.Connection), as ssh would reach it."""
    options, config_file = command_line_options(connection)
    config = _Config(_config_text([], config_file))
    return _from_config(name, connection.host, options, config, 0)


def endpoints_for_target(target: Target) -> list[SshEndpoint]:
    """SSH endpoints of every node of a resolved Target (sparkctl.targets.Target).

    What the inventory leaves unset comes from `sparkctl bootstrap` (the login user, the login
    key, the pinned known_hosts), laid over the node's variables exactly as Ansible runs get
    it (sparkctl.bootstrap.connection.effective_vars), so probes and playbooks connect alike.
    """
    from sparkctl.bootstrap.connection import effective_vars
    from sparkctl.bootstrap.store import open_store
    from sparkctl.targets import connection_of

    store = open_store(target, create=False)
    if store is None:
        return [endpoint_for(node.name, node.connection) for node in target.nodes]
    endpoints = []
    for node in target.nodes:
        variables, injected = effective_vars(target.hostvars.get(node.name, {}), store)
        connection = connection_of(node.name, variables) if injected else node.connection
        endpoints.append(endpoint_for(node.name, connection))
    return endpoints
