"""Every command reaches the nodes the way Ansible does (issue 18): an inventory whose
group_vars/ sets the user and the port, and nodes reachable only through a jump host
(ProxyJump in an ssh config that the inventory's ansible_ssh_common_args names with -F).

The lab is made unkind to match: every node's sshd also answers on port 2222 (a REDIRECT in
the node's own netfilter), and every node but spark-1 refuses SSH from the controller, so a
command that ignored group_vars (port 22) or the jump host is refused. The probes run with
$USER set to someone else, so one that ignored group_vars' user fails to log in too.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.lab

LAB = "valjmp"
PORT = 2222


def sparkctl(*args: str, timeout: float = 300, env: dict | None = None):
    return subprocess.run([sys.executable, "-m", "sparkctl", *args], capture_output=True,
                          text=True, timeout=timeout, env={**os.environ, **(env or {})},
                          stdin=subprocess.DEVNULL)


def _unkind(record) -> None:
    """Port 2222 on every node; SSH from the controller refused except to the jump host."""
    from sparkctl.lab import nodes

    for node in record.nodes:
        # Incoming 2222, and the node's own connections to itself (a jump to itself); a jump
        # host's connections onwards to other nodes' 2222 must leave untouched.
        for chain, where in (("PREROUTING", []), ("OUTPUT", ["-d", node.mgmt_address])):
            nodes.node_exec(node, ["iptables", "-w", "5", "-t", "nat", "-A", chain, *where,
                                   "-p", "tcp", "--dport", str(PORT), "-j", "REDIRECT",
                                   "--to-ports", "22"])
        if node.name != "spark-1":
            nodes.node_exec(node, ["iptables", "-w", "5", "-A", "INPUT", "-p", "tcp",
                                   "--dport", "22", "-s", record.mgmt_host_address,
                                   "-j", "REJECT", "--reject-with", "tcp-reset"])


def _inventory(record, where: Path) -> Path:
    """The lab's inventory without connection vars on the hosts; group_vars/ and an ssh
    config (ProxyJump through spark-1) say how to reach them."""
    data = yaml.safe_load(record.inventory_path.read_text())
    hosts = data["all"]["children"]["sparks"]["hosts"]
    user = next(iter(hosts.values())).get("ansible_user") or "root"  # the lab's login user
    for hvars in hosts.values():
        for var in ("ansible_user", "ansible_port", "ansible_ssh_common_args",
                    "ansible_ssh_private_key_file"):
            hvars.pop(var, None)
    where.mkdir(parents=True, exist_ok=True)
    inventory = where / "inventory.yml"
    inventory.write_text(yaml.safe_dump(data, sort_keys=False))
    known = where / "known_hosts"
    lines = []
    for line in record.known_hosts_path.read_text().splitlines():
        names, _, key = line.partition(" ")
        lines += [f"{n} {key}" for n in names.split(",")]
        lines += [f"[{n}]:{PORT} {key}" for n in names.split(",")]
    known.write_text("\n".join(lines) + "\n")
    jump = record.node("spark-1").mgmt_address
    subnet = jump.rsplit(".", 1)[0]
    config = where / "ssh_config"
    config.write_text(
        f"Host {jump}-jump\n  HostName {jump}\n  Port 22\n  User {user}\n  ProxyJump none\n"
        f"  IdentityFile {record.key_path}\n  IdentitiesOnly yes\n"
        f"  UserKnownHostsFile {known}\n  StrictHostKeyChecking yes\n"
        f"Host {subnet}.*\n  ProxyJump {jump}-jump\n  IdentityFile {record.key_path}\n"
        f"  IdentitiesOnly yes\n  UserKnownHostsFile {known}\n  StrictHostKeyChecking yes\n")
    (where / "group_vars").mkdir(exist_ok=True)
    (where / "group_vars" / "sparks.yml").write_text(yaml.safe_dump({
        "ansible_user": user, "ansible_port": PORT,
        "ansible_ssh_common_args": f"-F {config}"}))
    return inventory


@pytest.fixture(scope="module")
def jumped(tmp_path_factory):
    from sparkctl.lab import lifecycle
    from sparkctl.lab.status import load_record
    from sparkctl.topology.builtins import builtin_spec

    lifecycle.down(LAB)
    lifecycle.up(builtin_spec("switch2", None), name=LAB, configured=True)
    try:
        record = load_record(LAB)
        _unkind(record)
        yield _inventory(record, tmp_path_factory.mktemp("jump"))
    finally:
        lifecycle.down(LAB)


def _lab_user() -> str:
    from sparkctl.lab.status import load_record

    hosts = yaml.safe_load(load_record(LAB).inventory_path.read_text())["all"]["children"][
        "sparks"]["hosts"]
    return next(iter(hosts.values())).get("ansible_user") or "root"


# Someone else: a probe that ignored group_vars' ansible_user would log in as this user.
NOT_ROOT = {"USER": "nobody-here", "LOGNAME": "nobody-here"}


def test_a_node_refuses_the_direct_way_in(jumped):
    from sparkctl.lab.status import load_record

    node = load_record(LAB).node("spark-2")
    record = load_record(LAB)
    direct = subprocess.run(
        ["ssh", "-i", str(record.key_path), "-o", f"UserKnownHostsFile={record.known_hosts_path}",
         "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", "-o", "ConnectTimeout=5",
         f"{_lab_user()}@{node.mgmt_address}", "true"], capture_output=True, text=True,
        timeout=30)
    assert direct.returncode != 0  # so the commands below really go through spark-1


def test_the_resolver_sees_what_ansible_inventory_sees(jumped):
    from sparkctl.probe.hosts import endpoints_for_target
    from sparkctl.targets import resolve_target

    shown = subprocess.run([str(Path(sys.executable).parent / "ansible-inventory"), "-i",
                            str(jumped), "--host", "spark-2"], capture_output=True, text=True,
                           check=True).stdout
    assert yaml.safe_load(shown)["ansible_port"] == PORT
    endpoint = {e.name: e for e in endpoints_for_target(resolve_target(inventory=jumped))}
    assert endpoint["spark-2"].port == PORT and endpoint["spark-2"].user == _lab_user()
    assert [j.port for j in endpoint["spark-2"].jumps] == [22]


def test_provision_reaches_every_node(jumped):
    done = sparkctl("provision", "--inventory", str(jumped), "--tags", "nccl", timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]


def test_validate_reaches_every_node(jumped):
    done = sparkctl("validate", "--inventory", str(jumped), "--quick", "--no-history",
                    "--format", "json", env=NOT_ROOT)
    doc = json.loads(done.stdout)
    ssh = {c["subject"]: c for c in doc["checks"] if c["id"] == "node.ssh"}
    assert all(c["verdict"] == "pass" for c in ssh.values()), ssh
    assert f":{PORT} via " in ssh["spark-2"]["diagnosis"]
    assert done.returncode == 0, [c for c in doc["checks"] if c["verdict"] != "pass"]


def test_health_reaches_every_node(jumped, tmp_path):
    done = sparkctl("health", "--inventory", str(jumped), "--no-history", "-f", "json",
                    env=NOT_ROOT)
    doc = json.loads(done.stdout)
    assert {c["subject"] for c in doc["checks"] if c["id"] == "node.ssh"
            and c["verdict"] == "pass"} == {"spark-1", "spark-2"}, doc["checks"][:3]
    drift = [c for c in doc["checks"] if c["id"] == "drift.nccl_env"]
    assert drift and all(c["verdict"] == "pass" for c in drift)  # what provision wrote


def test_discover_reaches_every_node(jumped):
    done = sparkctl("discover", "--inventory", str(jumped), "-f", "json", env=NOT_ROOT)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert json.loads(done.stdout)["verdict"] == "match"


def test_runtime_status_reaches_every_node(jumped):
    done = sparkctl("runtime", "status", "--inventory", str(jumped), "vllm", "--model",
                    "Qwen/Qwen3-0.6B", "--format", "json", env=NOT_ROOT)
    doc = json.loads(done.stdout)
    nodes = {c["subject"]: c for c in doc["checks"] if c["id"] == "runtime.container"}
    # Reached over SSH: the node answered that nothing is deployed (not "cannot read")
    assert set(nodes) == {"spark-1", "spark-2"}
    assert all(c["measured"] == "not deployed" for c in nodes.values()), nodes
