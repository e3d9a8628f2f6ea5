"""The one resolver: inventories read by Ansible's own rules, and probes that reach each node
the way `ssh` (and so Ansible) would: inventory vars, ssh args, ~/.ssh/config, ProxyJump."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from sparkctl.errors import InputError
from sparkctl.probe.hosts import endpoint_for, endpoints_for_target
from sparkctl.render.inventory import build_inventory
from sparkctl.targets import Connection, resolve_target


def write_inventory(tmp_path: Path, topology: str = "switch2", n: int = 2,
                    host_vars: dict | None = None) -> Path:
    target = resolve_target(topology=topology, hosts=",".join(f"s{i}" for i in range(n)))
    data = build_inventory(target.cluster, host_vars=host_vars or {})
    path = tmp_path / "inventory.yml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_group_vars_directory_sets_user_and_port_as_ansible_does(tmp_path, ansible_bin):
    path = write_inventory(tmp_path, host_vars={"s1": {"ansible_port": 2200}})
    (tmp_path / "group_vars").mkdir()
    (tmp_path / "group_vars" / "sparks.yml").write_text("ansible_user: nvidia\n"
                                                        "ansible_port: 2222\n")
    target = resolve_target(inventory=path)
    got = {n.name: (n.connection.user, n.connection.port) for n in target.nodes}
    # host vars beat group_vars/, as in Ansible
    assert got == {"s0": ("nvidia", 2222), "s1": ("nvidia", 2200)}
    # ... and it is what ansible-inventory itself says
    shown = subprocess.run([str(ansible_bin / "ansible-inventory"), "-i", str(path), "--host",
                            "s0"], capture_output=True, text=True, check=True).stdout
    assert yaml.safe_load(shown)["ansible_user"] == "nvidia"
    assert target.cluster.spec.node("s0").ssh_user == "nvidia"  # the spec sees it too
    endpoints = {e.name: e for e in endpoints_for_target(target)}
    assert (endpoints["s0"].user, endpoints["s0"].port) == ("nvidia", 2222)


def test_templated_connection_vars_are_templated(tmp_path, monkeypatch):
    path = write_inventory(tmp_path)
    (tmp_path / "group_vars").mkdir()
    (tmp_path / "group_vars" / "all.yml").write_text(
        "ansible_user: \"{{ lookup('env', 'YUSER') }}\"\n")
    monkeypatch.setenv("YUSER", "dgx")
    assert resolve_target(inventory=path).nodes[0].connection.user == "dgx"


def test_inventory_errors_name_the_file(tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text("all:\n  children:\n    sparks:\n      hosts:\n        a: {ansible_host: [1\n")
    with pytest.raises(InputError, match="not valid YAML") as caught:
        resolve_target(inventory=bad)
    assert f"{bad}:6:1" in str(caught.value)  # the bounded loader, before Ansible
    other = tmp_path / "other.yml"
    other.write_text("all:\n  hosts:\n    a: {}\n")
    with pytest.raises(InputError, match="expected all.children.sparks.hosts"):
        resolve_target(inventory=other)
    with pytest.raises(InputError, match="is not a regular file"):
        resolve_target(inventory=tmp_path)
    port = write_inventory(tmp_path, host_vars={"s0": {"ansible_port": "abc"}})
    with pytest.raises(InputError, match="ansible_port"):
        resolve_target(inventory=port)


def test_ssh_config_applies_after_inventory_vars(tmp_path, monkeypatch):
    """ssh keeps the first value: inventory user/port, then -o args, then ~/.ssh/config."""
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / ".ssh").mkdir()
    (tmp_path / ".ssh" / "config").write_text(textwrap.dedent("""\
        Host bastion
          HostName 10.0.0.1
          User jump
          Port 2022
          IdentityFile ~/.ssh/jump_key
        Host 10.250.*
          ProxyJump bastion
          User fromconfig
          Port 2200
          UserKnownHostsFile ~/.ssh/lab_known
        Host alias-node
          HostName 10.250.0.9
          HostKeyAlias spark-9
        """))
    plain = endpoint_for("n", Connection(host="10.250.0.3"))
    assert (plain.address, plain.port, plain.user) == ("10.250.0.3", 2200, "fromconfig")
    assert plain.known_hosts == str(tmp_path / ".ssh" / "lab_known")
    assert [(j.address, j.port, j.user) for j in plain.jumps] == [("10.0.0.1", 2022, "jump")]
    assert plain.jumps[0].key_file == str(tmp_path / ".ssh" / "jump_key")
    pinned = endpoint_for("n", Connection(host="10.250.0.3", port=22, user="nvidia",
                                          ssh_args=("-o", "UserKnownHostsFile=/k")))
    assert (pinned.port, pinned.user, pinned.known_hosts) == (22, "nvidia", "/k")
    aliased = endpoint_for("n", Connection(host="alias-node"))
    assert aliased.address == "10.250.0.9" and aliased.host_key_alias == "spark-9"
    # ssh matches Host patterns against the name it was given, not the HostName it maps to:
    # the 10.250.* block (and its ProxyJump) does not apply to alias-node
    assert not aliased.jumps


def test_proxyjump_and_proxycommand_from_ssh_args(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    jumped = endpoint_for("n", Connection(host="10.1.1.5", ssh_args=(
        "-o", "ProxyJump=admin@gw.example:2201,inner")))
    assert [(j.user, j.address, j.port) for j in jumped.jumps] == [
        ("admin", "gw.example", 2201), (None, "inner", 22)]
    proxied = endpoint_for("n", Connection(host="10.1.1.5", port=2222, user="u", ssh_args=(
        "-o", "ProxyCommand=ssh -W %h:%p bastion")))
    assert proxied.proxy_command == "ssh -W 10.1.1.5:2222 bastion"
    config = tmp_path / "cfg"
    config.write_text("Host 10.1.*\n  ProxyJump via-f\n")
    via_f = endpoint_for("n", Connection(host="10.1.1.5", ssh_args=("-F", str(config))))
    assert [j.address for j in via_f.jumps] == ["via-f"]
    with pytest.raises(InputError, match="control character"):
        endpoint_for("n", Connection(host="10.1.1.5", ssh_args=(
            "-o", "ProxyCommand=x\nProxyCommand=y")))


def test_every_command_takes_its_nodes_from_the_resolver():
    """No module but targets.py reads an inventory's variables (DESIGN.md: one reader)."""
    root = Path(__file__).resolve().parents[2] / "sparkctl"
    readers = []
    for path in root.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        if "InventoryManager" in text or '["children"]["sparks"]' in text \
                or "['children']['sparks']" in text:
            readers.append(str(path.relative_to(root)))
    # cluster.spec_from_inventory reads the resolver's resolved dict, not a file
    assert sorted(readers) == ["cluster.py", "targets.py"], readers


def test_resolving_a_lab_target_imports_no_lab_machinery():
    code = ("import sys; from sparkctl.targets import resolve_target; "
            "print('sparkctl.lab.lifecycle' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout.strip() == "False"


def test_what_ansible_hands_back_is_plain_python(tmp_path):
    """Ansible 2.19 tags its strings; anything downstream (a YAML dumper) must see str."""
    import yaml as pyyaml

    target = resolve_target(inventory=write_inventory(tmp_path))
    assert all(type(name) is str for name in target.hostvars)
    assert all(type(n.name) is str for n in target.cluster.spec.nodes)
    pyyaml.safe_dump(target.hostvars)  # would raise RepresenterError on a tagged str
