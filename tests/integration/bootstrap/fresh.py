"""Fresh-Spark lab clusters for the bootstrap tests, from `sparkctl lab up --fresh`: a user
`nvidia` whose password the lab keeps in a 0600 file, sudo that asks for it, no keys, no
root login over SSH, an empty known_hosts.

Root work on a node (replacing its host key, changing a password) goes through
`sparkctl lab console`, the lab's keyboard and screen, so these tests do not depend on how
a node is booted or on its network.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

BIN = Path(sys.executable).parent


@dataclass
class FreshCluster:
    lab: str | None  # None: the same nodes under another inventory (see variant())
    inventory: Path
    password: str
    nodes: list[str]
    addresses: dict[str, str]  # node -> management address
    host_keys: Path | None = None  # the nodes' real host keys, as the lab made them
    console_lab: str | None = None  # the lab whose console reaches these nodes

    def target_args(self) -> list[str]:
        return ["--lab", self.lab] if self.lab else ["--inventory", str(self.inventory)]


def _sparkctl(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "sparkctl"), *args], capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)


def fresh_cluster(lab: str) -> FreshCluster:
    """Describe a lab brought up with `sparkctl lab up --fresh --name LAB`."""
    status = _sparkctl("lab", "status", "--name", lab, "-f", "json")
    assert status.returncode == 0, status.stderr
    data = json.loads(status.stdout)
    inventory = Path(data["inventory"])
    hosts = yaml.safe_load(inventory.read_text())["all"]["children"]["sparks"]["hosts"]
    assert all(h.get("ansible_user") == "nvidia" and "ansible_ssh_private_key_file" not in h
               for h in hosts.values()), "not a fresh lab inventory"
    password = Path(data["password_file"]).read_text().strip()
    return FreshCluster(lab, inventory, password, list(hosts),
                        {name: h["ansible_host"] for name, h in hosts.items()},
                        Path(data["host_keys"]), lab)


def variant(cluster: FreshCluster, workdir: Path, **changes) -> FreshCluster:
    """The same nodes under another inventory file: another cluster id, its own store and
    known_hosts (the lab's ssh settings are dropped). `changes` maps a node (or "*") to
    variables to set."""
    data = yaml.safe_load(cluster.inventory.read_text())
    for host, hvars in data["all"]["children"]["sparks"]["hosts"].items():
        hvars.pop("ansible_ssh_common_args", None)
        hvars.update(changes.get(host, changes.get("*", {})))
    path = workdir / "inventory.yml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return FreshCluster(None, path, cluster.password, cluster.nodes, cluster.addresses,
                        cluster.host_keys, cluster.console_lab)


def console(cluster: FreshCluster, node: str, script: str, timeout: float = 60) -> str:
    """Run a shell command as root at the node's console (no SSH)."""
    done = _sparkctl("lab", "console", "--name", cluster.console_lab, node, "--", script,
                     timeout=timeout)
    assert done.returncode == 0, f"{node}: {script}: {done.stderr}"
    return done.stdout


def node_has(cluster: FreshCluster, node: str, path: str) -> bool:
    return console(cluster, node, f"test -e {path} && echo YES || echo NO").strip() == "YES"


def replace_host_key(cluster: FreshCluster, node: str) -> None:
    """A new ed25519 host key on `node`: another machine now answers at its address."""
    console(cluster, node, "rm -f /etc/ssh/ssh_host_ed25519_key /etc/ssh/ssh_host_ed25519_key.pub"
                           " && ssh-keygen -q -t ed25519 -N '' -f /etc/ssh/ssh_host_ed25519_key"
                           " && { kill -HUP \"$(cat /run/sshd.pid)\" 2>/dev/null"
                           " || systemctl reload ssh; }")
    from sparkctl.lab.nodes import sshd_banner

    deadline = time.monotonic() + 10
    while sshd_banner(cluster.addresses[node]) is None:
        assert time.monotonic() < deadline, f"sshd of {node} did not come back"
        time.sleep(0.05)
