"""How the controller reaches each node, the way Ansible's ssh connection will.

Start from the inventory's merged variables (ansible_host, ansible_port, ansible_user,
ansible_ssh_private_key_file, ansible_ssh_common_args, ansible_ssh_extra_args). What the
inventory leaves unset, the cluster store fills in after `sparkctl bootstrap`: the login
user, the login key, and the store's known_hosts (the inventory's own UserKnownHostsFile
wins). Then `ssh -G` resolves ~/.ssh/config (Host aliases, HostName, HostKeyAlias,
ProxyJump, known_hosts files) exactly as the ssh that Ansible starts will.

`injected` is what sparkctl must add for Ansible to connect the same way; the runner
writes it into host_vars/ next to the inventory copy it runs, where it beats the
inventory file's host vars only for the keys the inventory did not set.
"""

from __future__ import annotations

import shlex
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from sparkctl.bootstrap.hostkeys import lookup_name
from sparkctl.errors import EnvironmentProblem, InputError

SSH_G_TIMEOUT_S = 10


@dataclass(frozen=True)
class NodeConnection:
    name: str  # inventory name
    host: str  # what ssh is given (ansible_host)
    port: int
    user: str | None
    key_file: str | None
    ssh_args: tuple[str, ...]  # common + extra args, as ssh receives them
    hostname: str  # after ~/.ssh/config
    known_hosts: tuple[Path, ...]  # UserKnownHostsFile list in effect
    global_known_hosts: tuple[Path, ...] = ()
    hostkey_alias: str | None = None
    proxy: str | None = None  # ProxyJump / ProxyCommand in effect
    inventory_user: str | None = None  # ansible_user as the inventory itself sets it
    injected: dict = field(default_factory=dict, compare=False)

    @property
    def lookup(self) -> str:
        """The name ssh looks the host key up under."""
        return self.hostkey_alias or lookup_name(self.hostname, self.port)

    @property
    def where(self) -> str:
        return f"{self.name} ({self.hostname}:{self.port})"

    @property
    def pin_file(self) -> Path:
        """Where bootstrap pins this node's keys: the first known_hosts ssh reads."""
        return self.known_hosts[0]


def option_value(args: list[str], name: str) -> str | None:
    """The first value of `-o Name=value` (or `-oName value`) in ssh arguments: ssh keeps
    the first value it is given."""
    lowered = name.lower()
    words = list(args)
    for index, word in enumerate(words):
        text = None
        if word == "-o" and index + 1 < len(words):
            text = words[index + 1]
        elif word.startswith("-o") and len(word) > 2:
            text = word[2:]
        if text is None:
            continue
        key, sep, value = text.replace("=", " ", 1).partition(" ")
        if sep and key.strip().lower() == lowered:
            return value.strip()
    return None


def split_args(value, host: str, var: str) -> list[str]:
    if value in (None, ""):
        return []
    try:
        return shlex.split(str(value))
    except ValueError as exc:
        raise InputError(f"{var} of {host} is not valid shell words: {exc}",
                         hint="check the quotes in the inventory") from None


def effective_vars(hostvars: dict, store) -> tuple[dict, dict]:
    """(the variables Ansible will see, the ones sparkctl adds) for one host."""
    injected: dict = {}
    if store is not None:
        if "ansible_user" not in hostvars and store.state.user:
            injected["ansible_user"] = store.state.user
        if "ansible_ssh_private_key_file" not in hostvars and store.state.login_key:
            injected["ansible_ssh_private_key_file"] = store.state.login_key
        common = str(hostvars.get("ansible_ssh_common_args") or "")
        extra = str(hostvars.get("ansible_ssh_extra_args") or "")
        words = split_args(common, "?", "ansible_ssh_common_args") + \
            split_args(extra, "?", "ansible_ssh_extra_args")
        # The store's known_hosts exists once bootstrap has run for this cluster.
        if option_value(words, "UserKnownHostsFile") is None and store.known_hosts.exists():
            ours = (f"-o UserKnownHostsFile={shlex.quote(str(store.known_hosts))} "
                    "-o StrictHostKeyChecking=yes")
            injected["ansible_ssh_common_args"] = (common + " " + ours).strip()
    return {**hostvars, **injected}, injected


def ssh_config(args: list[str]) -> dict[str, list[str]]:
    """`ssh -G ARGS`: the options ssh would use (keys lower-case, values per line)."""
    try:
        done = subprocess.run(["ssh", "-G", *args], capture_output=True, text=True,
                              timeout=SSH_G_TIMEOUT_S, stdin=subprocess.DEVNULL)
    except FileNotFoundError:
        raise EnvironmentProblem("ssh is not installed on this controller",
                                 hint="apt-get install openssh-client") from None
    except subprocess.TimeoutExpired:
        raise EnvironmentProblem(f"`ssh -G` did not answer within {SSH_G_TIMEOUT_S} s "
                                 "(a Match exec in ~/.ssh/config?)") from None
    if done.returncode != 0:
        raise InputError(f"ssh rejects the connection settings {shlex.join(args)}: "
                         f"{done.stderr.strip()}",
                         hint="fix ansible_ssh_common_args / ~/.ssh/config")
    config: dict[str, list[str]] = {}
    for line in done.stdout.splitlines():
        key, _, value = line.partition(" ")
        config.setdefault(key.lower(), []).append(value)
    return config


def _paths(values: list[str]) -> tuple[Path, ...]:
    return tuple(Path(p).expanduser() for v in values for p in shlex.split(v))


def resolve(name: str, hostvars: dict, store=None) -> NodeConnection:
    variables, injected = effective_vars(hostvars, store)
    host = str(variables.get("ansible_host") or name)
    user = variables.get("ansible_user")
    port = variables.get("ansible_port")
    words = split_args(variables.get("ansible_ssh_common_args"), name,
                       "ansible_ssh_common_args") + \
        split_args(variables.get("ansible_ssh_extra_args"), name, "ansible_ssh_extra_args")
    args = list(words)
    if port is not None:
        args += ["-p", str(int(port))]
    if user:
        args += ["-l", str(user)]
    config = ssh_config(args + ["--", host])
    first = {k: v[0] for k, v in config.items()}
    proxy = first.get("proxyjump") or first.get("proxycommand")
    if proxy in ("none", ""):
        proxy = None
    return NodeConnection(
        name=name, host=host, port=int(first.get("port", port or 22)),
        user=first.get("user") or user,
        key_file=variables.get("ansible_ssh_private_key_file"),
        ssh_args=tuple(words), hostname=first.get("hostname", host),
        known_hosts=_paths(config.get("userknownhostsfile", ["~/.ssh/known_hosts"])),
        global_known_hosts=_paths(config.get("globalknownhostsfile", [])),
        hostkey_alias=first.get("hostkeyalias"), proxy=proxy,
        inventory_user=hostvars.get("ansible_user"), injected=injected)


def connections(hostvars: dict[str, dict], store=None, hosts: tuple[str, ...] | None = None
                ) -> list[NodeConnection]:
    """One NodeConnection per spark host (only `hosts`, when given); `hostvars` are each
    host's variables as the resolver read them (sparkctl.targets.Target.hostvars)."""
    names = [h for h in hostvars if hosts is None or h in hosts]
    return [resolve(name, hostvars[name], store) for name in names]
