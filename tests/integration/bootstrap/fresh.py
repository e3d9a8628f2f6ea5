"""Fresh-Spark lab clusters for the bootstrap tests.

With `sparkctl lab up --fresh` (h-lab) the lab itself gives each node what a fresh DGX OS
box has; until a lab offers it, `make_fresh` turns today's lab nodes into the same thing
over the lab's root access: a user `nvidia` with a random password, sudo that asks for it
(the stock `%sudo ALL=(ALL:ALL) ALL`), password login, no authorized keys, no root login
over SSH; and an inventory with `ansible_user: nvidia` and no key or known_hosts settings.

Root work on a node afterwards (replacing its host key) goes through `node_root`, which
enters the node without SSH, so it does not depend on how a node is booted as long as the
lab can run a command in it.
"""

from __future__ import annotations

import secrets
import subprocess
from dataclasses import dataclass
from pathlib import Path

import yaml

USER = "nvidia"

_MAKE_FRESH = r'''
set -eu
read -r PW
id nvidia >/dev/null 2>&1 || useradd -m -s /bin/bash -G sudo nvidia
printf 'nvidia:%s\n' "$PW" | chpasswd
cat > /etc/ssh/sshd_config.d/00-fresh-dgx-os.conf <<'EOF'
# Like a fresh DGX OS: password login for the user, no root login over SSH.
PermitRootLogin no
PasswordAuthentication yes
EOF
rm -f /root/.ssh/authorized_keys
kill -HUP "$(cat /run/sshd.pid)"
'''


@dataclass
class FreshCluster:
    lab: str
    inventory: Path  # ansible_user nvidia, nothing about keys or known_hosts
    password: str
    nodes: list[str]
    addresses: dict[str, str]  # node -> management address

    def target_args(self) -> list[str]:
        return ["--inventory", str(self.inventory)]


def make_fresh(lab: str, workdir: Path) -> FreshCluster:
    from sparkctl.lab import shell, state

    record = state.load(lab)
    assert record is not None, f"lab {lab} is not up"
    password = secrets.token_urlsafe(12)
    for node in record.nodes:
        argv = shell.ssh_argv(record, node.name, ["sh", "-c", _quote(_MAKE_FRESH)])
        done = subprocess.run(argv, input=password + "\n", capture_output=True, text=True,
                              timeout=60)
        assert done.returncode == 0, f"{node.name}: {done.stderr}"
    _wait_for_password_login(record)
    data = yaml.safe_load(record.inventory_path.read_text())
    for hvars in data["all"]["children"]["sparks"]["hosts"].values():
        hvars["ansible_user"] = USER
        hvars.pop("ansible_ssh_private_key_file", None)
        hvars.pop("ansible_ssh_common_args", None)
    inventory = workdir / "inventory.yml"
    inventory.write_text(yaml.safe_dump(data, sort_keys=False))
    return FreshCluster(lab, inventory, password, [n.name for n in record.nodes],
                        {n.name: n.mgmt_address for n in record.nodes})


def _wait_for_password_login(record, timeout: float = 10.0) -> None:
    """sshd re-executes on SIGHUP; wait until the listener answers again."""
    import time

    from sparkctl.lab.nodes import sshd_banner

    deadline = time.monotonic() + timeout
    for node in record.nodes:
        while sshd_banner(node.mgmt_address) is None:
            assert time.monotonic() < deadline, f"sshd of {node.name} did not come back"
            time.sleep(0.05)


def node_root(lab: str, node: str, script: str, timeout: float = 30) -> str:
    """Run a shell script as root inside a lab node, without SSH."""
    from sparkctl.lab import nodes, state

    record = state.load(lab)
    done = nodes.node_exec(record.node(node), ["sh", "-c", script], timeout=timeout)
    return done.stdout


def replace_host_key(lab: str, node: str) -> None:
    """A new ed25519 host key on `node` (another machine answering at its address)."""
    node_root(lab, node, "rm -f /etc/ssh/ssh_host_ed25519_key /etc/ssh/ssh_host_ed25519_key.pub"
                         " && ssh-keygen -q -t ed25519 -N '' -f /etc/ssh/ssh_host_ed25519_key"
                         " && kill -HUP \"$(cat /run/sshd.pid)\"")
    from sparkctl.lab import state

    _wait_for_password_login(state.load(lab))


def _quote(text: str) -> str:
    return "'" + text.replace("'", "'\"'\"'") + "'"
