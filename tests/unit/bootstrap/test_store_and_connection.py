"""Cluster ids and key store; how a node's connection is resolved (inventory first, then
what bootstrap stored, then ~/.ssh/config through `ssh -G`)."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
import yaml

from sparkctl.bootstrap import store as store_mod
from sparkctl.bootstrap.connection import connections, effective_vars, option_value, resolve
from sparkctl.bootstrap.store import forget, open_store
from sparkctl.errors import InputError
from sparkctl.targets import resolve_target


@pytest.fixture(autouse=True)
def state(tmp_path, monkeypatch):
    monkeypatch.setenv("SPARKCTL_STATE_DIR", str(tmp_path / "state"))
    return tmp_path / "state"


def _inventory(tmp_path: Path, name: str, extra_vars: dict | None = None, **hostvars) -> Path:
    from sparkctl.render.inventory import build_inventory

    cluster = resolve_target(topology="direct").cluster
    data = build_inventory(cluster, host_vars={"spark-1": hostvars, "spark-2": hostvars},
                           group_vars=extra_vars)
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data))
    return path


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_two_clusters_with_one_name_get_two_ids_and_two_mesh_keys(tmp_path):
    first = open_store(resolve_target(inventory=_inventory(tmp_path, "a.yml")), create=True)
    second = open_store(resolve_target(inventory=_inventory(tmp_path, "b.yml")), create=True)
    assert first.state.name == second.state.name == "direct"
    assert first.id != second.id
    first.ensure_mesh_key()
    second.ensure_mesh_key()
    assert first.mesh_public_line() != second.mesh_public_line()
    assert f"sparkctl-mesh:{first.id}" in first.mesh_public_line()
    assert _mode(first.mesh_key) == 0o600 and _mode(first.mesh_dir) == 0o700
    again = open_store(resolve_target(inventory=tmp_path / "a.yml"), create=False)
    assert again.id == first.id and not again.ensure_mesh_key()  # same key next time


def test_an_inventory_may_declare_its_cluster_id(tmp_path):
    path = _inventory(tmp_path, "a.yml", {"sparkctl_cluster_id": "lab-42"})
    assert open_store(resolve_target(inventory=path), create=True).id == "lab-42"
    bad = _inventory(tmp_path, "b.yml", {"sparkctl_cluster_id": "no spaces"})
    with pytest.raises(InputError, match="not a valid id"):
        open_store(resolve_target(inventory=bad), create=True)


def test_rotation_retires_the_old_key_and_forget_starts_a_new_cluster(tmp_path):
    target = resolve_target(inventory=_inventory(tmp_path, "a.yml"))
    store = open_store(target, create=True)
    store.ensure_mesh_key()
    old = store.mesh_public_line()
    assert store.rotate_mesh_key() == old
    reread = open_store(target, create=False)
    assert reread.mesh_public_line() != old
    assert reread.state.retired_mesh_keys == [old] and reread.state.mesh_generation == 2
    assert forget(target) == store.id
    assert open_store(target, create=False) is None
    assert open_store(target, create=True).id != store.id


def test_login_key_is_private(tmp_path):
    store = open_store(resolve_target(topology="direct"), create=True)
    key = store.ensure_login_key()
    assert _mode(key) == 0o600 and "PRIVATE KEY" in key.read_text()
    assert f"sparkctl-login:{store.id}" in key.with_name(key.name + ".pub").read_text()


def test_option_value_takes_the_first_like_ssh():
    args = ["-o", "UserKnownHostsFile=/a", "-oUserKnownHostsFile /b", "-o", "Port=2"]
    assert option_value(args, "userknownhostsfile") == "/a"
    assert option_value(["-oHostKeyAlias=x"], "HostKeyAlias") == "x"
    assert option_value(args, "ProxyJump") is None


def test_bootstrap_settings_fill_only_what_the_inventory_leaves_unset(tmp_path):
    store = open_store(resolve_target(topology="direct"), create=True)
    store.state.user, store.state.login_key = "nvidia", "/keys/login"
    merged, injected = effective_vars({"ansible_host": "10.0.0.1"}, store)
    assert injected == {"ansible_user": "nvidia", "ansible_ssh_private_key_file": "/keys/login"}
    # once bootstrap created the cluster's known_hosts, connections use it
    store.known_hosts.parent.mkdir(parents=True, exist_ok=True)
    store.known_hosts.write_text("")
    _, injected = effective_vars({"ansible_ssh_common_args": "-o ProxyJump=gw"}, store)
    assert injected["ansible_ssh_common_args"].startswith("-o ProxyJump=gw -o "
                                                          "UserKnownHostsFile=")
    own = {"ansible_user": "root", "ansible_ssh_private_key_file": "/lab/key",
           "ansible_ssh_common_args": "-o UserKnownHostsFile=/lab/known_hosts"}
    merged, injected = effective_vars(own, store)
    assert injected == {} and merged == own
    assert effective_vars(own, None) == (own, {})


def test_resolve_follows_ssh_config_like_ansibles_ssh(tmp_path):
    config = tmp_path / "ssh_config"
    config.write_text("Host spark-a\n  HostName 192.0.2.7\n  Port 2201\n  User dgx\n"
                      "  HostKeyAlias spark-a-key\n  UserKnownHostsFile /tmp/kh1 /tmp/kh2\n"
                      "Host spark-b\n  ProxyJump gateway\n")
    args = f"-F {config}"
    a = resolve("spark-1", {"ansible_host": "spark-a", "ansible_ssh_common_args": args})
    assert (a.hostname, a.port, a.user, a.lookup) == ("192.0.2.7", 2201, "dgx", "spark-a-key")
    assert a.known_hosts == (Path("/tmp/kh1"), Path("/tmp/kh2")) and a.proxy is None
    b = resolve("spark-2", {"ansible_host": "spark-b", "ansible_port": 2222,
                            "ansible_user": "nvidia", "ansible_ssh_common_args": args})
    assert (b.port, b.user, b.proxy, b.lookup) == (2222, "nvidia", "gateway", "[spark-b]:2222")


def test_connections_cover_every_spark_or_the_selected(tmp_path):
    from sparkctl.targets import resolve_target

    hostvars = resolve_target(inventory=_inventory(tmp_path, "a.yml")).hostvars
    assert [c.name for c in connections(hostvars)] == ["spark-1", "spark-2"]
    assert [c.name for c in connections(hostvars, hosts=("spark-2",))] == ["spark-2"]


def test_an_unparsable_ssh_args_value_is_an_input_error():
    with pytest.raises(InputError, match="not valid shell words"):
        resolve("spark-1", {"ansible_ssh_common_args": "-o 'unterminated"})


def test_store_paths_live_under_the_state_dir(state):
    assert store_mod.clusters_root() == state / "clusters"
