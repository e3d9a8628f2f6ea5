"""The injection corpus (issue 12): a newline + ProxyCommand, `$(...)`, backticks and `;` in
each field of a cluster file and of an inventory. Every one exits 2 with nothing written, and
no generated file ever carries an injected line."""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path

import pytest
import yaml

from sparkctl.cluster import Cluster
from sparkctl.errors import InvalidTopology
from sparkctl.render.bundle import render_bundle
from sparkctl.targets import Target
from sparkctl.topology.builtins import builtin_spec
from sparkctl.topology.model import SparkNode

from .helpers import (
    MARKER,
    PAYLOADS,
    assert_refused,
    dump,
    injected_lines,
    run_cli,
    sandbox,
    valid_inventory,
    write,
)

CLUSTER = {
    "name": "lab3",
    "ssh_user": "nvidia",
    "ssh_port": 22,
    "platform": "dgx-spark",
    "nodes": [{"name": "spark-1", "address": "10.0.0.11", "user": "nvidia", "port": 22},
              "spark-2", {"name": "spark-3", "address": "spark-3.lan"}],
    "cables": ["spark-1:p0 -- spark-2:p1", "spark-2:p0 -- spark-3:p1",
               "spark-3:p0 -- spark-1:p1"],
    "mtu": 9000,
    "pool": ["192.168.100.0/22", "192.168.104.0/22"],
    "reserved": ["10.0.0.0/8"],
}
CLUSTER_FIELDS = {
    "name": ("name",), "ssh_user": ("ssh_user",), "ssh_port": ("ssh_port",),
    "platform": ("platform",), "node-name": ("nodes", 0, "name"),
    "node-address": ("nodes", 0, "address"), "node-user": ("nodes", 0, "user"),
    "node-port": ("nodes", 0, "port"), "node-entry": ("nodes", 1),
    "cable": ("cables", 0), "mtu": ("mtu",), "pool": ("pool", 0),
    "reserved": ("reserved", 0), "topology": ("topology",),
}

HOSTS = ("all", "children", "sparks", "hosts")
VARS = ("all", "children", "sparks", "vars")
IFACE = (*HOSTS, "spark-1", "sparkctl_interfaces", 0)
INVENTORY_FIELDS = {
    "ansible_host": (*HOSTS, "spark-1", "ansible_host"),
    "ansible_user": (*HOSTS, "spark-1", "ansible_user"),
    "ansible_port": (*HOSTS, "spark-1", "ansible_port"),
    "key-file": (*HOSTS, "spark-1", "ansible_ssh_private_key_file"),
    "interface-name": (*IFACE, "name"),
    "interface-hca": (*IFACE, "hca"),
    "interface-address": (*IFACE, "address"),
    "interface-mtu": (*IFACE, "mtu"),
    "peer-host": (*IFACE, "peers", 0, "host"),
    "peer-interface": (*IFACE, "peers", 0, "interface"),
    "peer-address": (*IFACE, "peers", 0, "address"),
    "cluster-name": (*VARS, "sparkctl_cluster_name"),
    "topology": (*VARS, "sparkctl_topology"),
    "platform": (*VARS, "sparkctl_platform"),
    "mgmt-interface": (*VARS, "sparkctl_mgmt_interface"),
    "hostfile": (*VARS, "sparkctl_mpi_hostfile"),
    "pool": (*VARS, "sparkctl_pool", 0),
    "nccl-env-value": (*VARS, "sparkctl_nccl_env", "NCCL_IB_HCA"),
    "mtu": (*VARS, "sparkctl_mtu"),
}
COMMANDS = ("render", "inventory", "runtime")


def _args(command: str, flag: str, path: Path, out: Path) -> list[str]:
    return {"render": ["render", flag, str(path), "-o", str(out)],
            "inventory": ["inventory", flag, str(path), "-o", str(out)],
            "runtime": ["runtime", "render", "vllm", flag, str(path), "-m",
                        "openai/gpt-oss-120b", "-o", str(out)]}[command]


def _put(data, path: tuple, value) -> None:
    for step in path[:-1]:
        data = data[step]
    data[path[-1]] = value


def _cluster_with(field: str, payload: str) -> dict:
    data = copy.deepcopy(CLUSTER)
    if field == "topology":
        del data["cables"]
        data["topology"] = payload
        return data
    _put(data, CLUSTER_FIELDS[field], payload)
    return data


def _assert_nothing_injected(root: Path, inputs: tuple[Path, ...]) -> None:
    for path in inputs:
        path.unlink()
    assert injected_lines(root) == []
    assert not Path(f"/tmp/{MARKER}").exists()


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("payload", sorted(PAYLOADS))
@pytest.mark.parametrize("field", sorted(CLUSTER_FIELDS))
def test_injection_through_a_cluster_file_is_refused(field, payload, command):
    with sandbox() as root:
        path = write(root, "cluster.yaml", dump(_cluster_with(field, PAYLOADS[payload])))
        out = root / "out"
        outcome = run_cli(_args(command, "--cluster", path, out), root, inputs=(path,))
        assert_refused(outcome, str(path))
        assert not out.exists()
        _assert_nothing_injected(root, (path,))


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("payload", sorted(PAYLOADS))
@pytest.mark.parametrize("field", sorted(INVENTORY_FIELDS))
def test_injection_through_an_inventory_is_refused(field, payload, command):
    data = copy.deepcopy(valid_inventory("ring3"))
    data["all"]["children"]["sparks"]["hosts"]["spark-1"]["ansible_ssh_private_key_file"] = \
        "/root/.ssh/id_ed25519"
    _put(data, INVENTORY_FIELDS[field], PAYLOADS[payload])
    with sandbox() as root:
        path = write(root, "inventory.yml", dump(data))
        out = root / "out"
        outcome = run_cli(_args(command, "--inventory", path, out), root, inputs=(path,))
        key = INVENTORY_FIELDS[field][-1]
        assert_refused(outcome, key if isinstance(key, str) else INVENTORY_FIELDS[field][-2])
        assert not out.exists()
        _assert_nothing_injected(root, (path,))


@pytest.mark.parametrize("payload", sorted(PAYLOADS))
def test_injection_in_a_host_name_key_is_refused(payload):
    data = valid_inventory("direct")
    hosts = data["all"]["children"]["sparks"]["hosts"]
    hosts[PAYLOADS[payload]] = hosts.pop("spark-2")
    with sandbox() as root:
        path = write(root, "inventory.yml", dump(data))
        outcome = run_cli(_args("render", "--inventory", path, root / "out"), root,
                          inputs=(path,))
        assert_refused(outcome, "host name")
        _assert_nothing_injected(root, (path,))


@pytest.mark.parametrize("payload", sorted(PAYLOADS))
def test_injection_in_an_unknown_variable_with_a_newline_is_refused(payload):
    """Variables sparkctl does not know reach no file it writes, but a newline in any of
    them is refused all the same (a role might template it)."""
    data = valid_inventory("direct")
    data["all"]["children"]["sparks"]["vars"]["site_motd"] = {"lines": [PAYLOADS[payload]]}
    with sandbox() as root:
        path = write(root, "inventory.yml", dump(data))
        outcome = run_cli(_args("render", "--inventory", path, root / "out"), root,
                          inputs=(path,))
        if "\n" in PAYLOADS[payload]:
            assert_refused(outcome, "site_motd.lines[0]")
        else:  # free text without control characters: data, not a line of its own
            assert outcome.exit_code == 0, outcome.output
            assert injected_lines(root / "out" / "preview") == []


HOSTILE_SPECS = {
    "cluster-name": lambda s, p: dataclasses.replace(s, name=p),
    "address": lambda s, p: s.with_management({"spark-1": (p, None, 22)}),
    "user": lambda s, p: s.with_management({"spark-1": ("10.0.0.1", p, 22)}),
    "node-name": lambda s, p: dataclasses.replace(
        s, nodes=(SparkNode(p, 0, "10.0.0.1"), *s.nodes[1:])),
}


@pytest.mark.parametrize("payload", sorted(PAYLOADS))
@pytest.mark.parametrize("field", sorted(HOSTILE_SPECS))
def test_a_spec_built_in_python_gets_the_same_checks(field, payload, tmp_path):
    spec = HOSTILE_SPECS[field](builtin_spec("direct"), PAYLOADS[payload])
    with pytest.raises(InvalidTopology) as err:
        Cluster.from_spec(spec)
    assert "bad-value" in repr(err.value.violations) or "host name" in str(err.value)
    assert list(tmp_path.iterdir()) == []


def test_the_scan_finds_injected_lines_when_validation_is_switched_off(tmp_path, monkeypatch):
    """The suite can fail: with the load-time checks and the rules' value checks disabled
    (the fix reverted), the same payload lands as its own line in generated files."""
    from sparkctl.topology import rules

    monkeypatch.setattr(rules, "_check_values", lambda spec: [])
    spec = dataclasses.replace(builtin_spec("direct"), name=PAYLOADS["newline-proxycommand"])
    bundle = render_bundle(Target(Cluster.from_spec(spec), None, "test"), tmp_path / "b")
    found = injected_lines(bundle.root)
    assert any("ProxyCommand" in line for line in found), found
    assert any(line.startswith(("ansible.cfg:", "preview/")) for line in found), found


def test_valid_values_render_without_quoting_artifacts(tmp_path):
    """Validated values are inert: quoting leaves them as they are, so env files still
    work with docker --env-file (which does not unquote)."""
    with sandbox() as root:
        path = write(root, "cluster.yaml", dump(CLUSTER))
        outcome = run_cli(["render", "--cluster", str(path), "-o", str(root / "b")], root,
                          inputs=(path,))
        assert outcome.exit_code == 0, outcome.output
        env = (root / "b/preview/spark-1/nccl.env").read_text()
        assert "NCCL_IB_HCA=rocep1s0f0,roceP2p1s0f0,rocep1s0f1,roceP2p1s0f1\n" in env
        assert "'" not in env
        netplan = yaml.safe_load((root / "b/preview/spark-1/40-sparkctl.yaml").read_text())
        assert netplan["network"]["ethernets"]["enp1s0f0np0"]["addresses"] == \
            ["192.168.100.1/24"]
