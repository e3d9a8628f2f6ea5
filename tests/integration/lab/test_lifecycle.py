"""lab up/down/status/list/ssh through the real CLI; inventory; idempotence; two labs at once."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from sparkctl.lab import lifecycle, state

from .conftest import lab_leftovers, sparkctl, ssh

pytestmark = pytest.mark.lab


@pytest.fixture(scope="module")
def ring(base_image):
    result = sparkctl("lab", "up", "--topology", "ring3", "--name", "tcli", "--rate", "1gbit")
    assert result.returncode == 0, result.stderr
    record = state.load("tcli")
    yield record, result
    sparkctl("lab", "down", "--name", "tcli")


def test_up_prints_the_inventory_path_and_writes_it(ring):
    record, result = ring
    assert result.stdout.strip() == str(record.inventory_path)
    inv = yaml.safe_load(record.inventory_path.read_text())
    group = inv["all"]["children"]["sparks"]
    gvars = group["vars"]
    assert gvars["sparkctl_platform"] == "lab"
    assert gvars["sparkctl_topology"] == "ring3"
    assert gvars["sparkctl_lab_rate_mbit"] == 1000
    assert gvars["sparkctl_lab_scale"] == 200.0  # 1 Gbit/s stands for 200 Gb/s
    assert list(group["hosts"]) == ["spark-1", "spark-2", "spark-3"]
    for node in record.nodes:
        hvars = group["hosts"][node.name]
        assert hvars["ansible_host"] == node.mgmt_address
        assert hvars["ansible_user"] == "nvidia"  # keyed: a bootstrapped DGX OS user
        key = hvars["ansible_ssh_private_key_file"]
        assert stat.S_IMODE((record.directory / "id_ed25519").stat().st_mode) == 0o600
        assert key == str(record.key_path)
        assert f"UserKnownHostsFile={record.known_hosts_path}" in hvars["ansible_ssh_common_args"]
        assert "StrictHostKeyChecking=no" not in hvars["ansible_ssh_common_args"]
        assert [i["name"] for i in hvars["sparkctl_interfaces"]] == [
            "enp1s0f0np0", "enP2p1s0f0np0", "enp1s0f1np1", "enP2p1s0f1np1"]


def test_inventory_is_accepted_by_ansible_and_the_lab_target(ring):
    record, _ = ring
    # The venv's ansible-inventory, next to this interpreter (CI may not have it on PATH).
    binary = str(Path(sys.executable).parent / "ansible-inventory")
    out = subprocess.run([binary, "-i", str(record.inventory_path), "--list"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert set(json.loads(out.stdout)["sparks"]["hosts"]) == {"spark-1", "spark-2", "spark-3"}
    from sparkctl.targets import resolve_target

    target = resolve_target(lab="tcli")
    assert target.cluster.spec.platform == "lab"
    assert [n.mgmt_address for n in target.cluster.spec.nodes] == [
        n.mgmt_address for n in record.nodes]


def test_known_hosts_holds_the_nodes_real_keys(ring, tmp_path):
    record, _ = ring
    # With the lab's known_hosts strict checking passes ...
    assert ssh(record, "spark-2", "true").returncode == 0
    # ... with an empty one the same strict ssh refuses: the check is real.
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    refused = ssh(record, "spark-2", "true", check=False, known_hosts=empty)
    assert refused.returncode == 255 and "Host key verification failed" in refused.stderr
    # And each node's key differs from the others'.
    keys = {line.split()[2] for line in record.known_hosts_path.read_text().splitlines()}
    assert len(keys) == len(record.nodes)


def test_lab_ssh_returns_the_remote_exit_code(ring):
    assert sparkctl("lab", "ssh", "--name", "tcli", "spark-3", "--", "exit 7").returncode == 7
    out = sparkctl("lab", "ssh", "--name", "tcli", "spark-3", "--", "hostname")
    assert (out.returncode, out.stdout.strip()) == (0, "spark-3")
    bad = sparkctl("lab", "ssh", "--name", "tcli", "spark-9", "--", "true")
    assert bad.returncode == 2 and "has no node 'spark-9'" in bad.stderr


def test_status_json_and_list(ring):
    record, _ = ring
    out = sparkctl("lab", "status", "--name", "tcli", "--format", "json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert {"name", "topology", "inventory", "nodes", "faults"} <= set(data)
    assert data["name"] == "tcli" and data["topology"] == "ring3" and data["faults"] == []
    assert data["inventory"] == str(record.inventory_path)
    assert [(n["name"], n["mgmt_address"], n["sshd"]) for n in data["nodes"]] == [
        (n.name, n.mgmt_address, "up") for n in record.nodes]
    assert all(isinstance(n["pid"], int) for n in data["nodes"])
    assert len(data["links"]) == 6 and all(li["a"]["state"] == "UP" for li in data["links"])
    listed = json.loads(sparkctl("lab", "list", "--format", "json").stdout)["labs"]
    assert {"name": "tcli", "state": "up"}.items() <= next(
        r for r in listed if r["name"] == "tcli").items()


def test_up_again_is_a_no_op_and_a_different_topology_is_refused(ring):
    record, _ = ring
    again = sparkctl("lab", "up", "--topology", "ring3", "--name", "tcli", "--rate", "1gbit")
    assert again.returncode == 0 and "was already up" in again.stderr
    assert [n.init.pid for n in state.load("tcli").nodes] == [n.init.pid for n in record.nodes]
    other = sparkctl("lab", "up", "--topology", "direct", "--name", "tcli")
    assert other.returncode == 2 and "already up with another declaration" in other.stderr


def test_usage_errors_exit_2_without_traceback():
    for args, message in [
        (["lab", "up", "--topology", "ring3", "--rate", "fast"], "cannot use link rate"),
        (["lab", "up", "--topology", "ring3", "--name", "Bad_Name"], "invalid lab name"),
        (["lab", "up", "--topology", "nosuch"], "unknown topology"),
        (["lab", "up"], "exactly one of --topology"),
        (["lab", "status", "--name", "nosuchlb"], "no lab named"),
    ]:
        out = sparkctl(*args)
        assert out.returncode == 2, (args, out.stderr)
        assert message in out.stderr and "Traceback" not in out.stderr


def test_cluster_file_lab(base_image, tmp_path):
    cluster = tmp_path / "pair.yaml"
    cluster.write_text("name: pair\nnodes: [alpha, beta]\n"
                       "cables: ['alpha:p0 -- beta:p1']\nmtu: 9000\n")
    out = sparkctl("lab", "up", "--cluster", str(cluster), "--name", "tfile", "--configured")
    try:
        assert out.returncode == 0, out.stderr
        record = state.load("tfile")
        assert [n.name for n in record.nodes] == ["alpha", "beta"]
        # --configured applied the plan: alpha's p0 twins reach beta's p1 twins at MTU 9000.
        ping = ssh(record, "alpha", "ip -br -4 addr show enp1s0f0np0 && "
                   "ping -c1 -W2 -M do -s 8972 192.168.100.2")
        assert "192.168.100.1/24" in ping.stdout
    finally:
        sparkctl("lab", "down", "--name", "tfile")


def test_two_labs_coexist_and_down_removes_only_its_own(lab_factory):
    first = lab_factory("tcoa", "direct")
    second = lab_factory("tcob", "direct")
    assert first.mgmt_subnet != second.mgmt_subnet
    assert ssh(first, "spark-1", "hostname").stdout.strip() == "spark-1"
    lifecycle.down("tcoa")
    assert lab_leftovers(first) == []
    assert ssh(second, "spark-1", "hostname").stdout.strip() == "spark-1"
    assert sparkctl("lab", "down", "--name", "tcoa").returncode == 0  # idempotent
    lifecycle.down("tcob")
    assert lab_leftovers(second) == []


def test_not_root_and_missing_binaries_are_clear_errors(base_image):
    # Really drop root: setpriv runs the CLI as nobody.
    if shutil.which("setpriv") is None:
        pytest.skip("setpriv (util-linux) not installed")

    out = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                          sys.executable, "-m", "sparkctl", "lab", "up", "--topology", "single",
                          "--name", "tnoroot"], capture_output=True, text=True, timeout=60,
                         cwd="/")
    assert out.returncode == 2 and "needs root" in out.stderr, out.stderr
    bare = subprocess.run([sys.executable, "-m", "sparkctl", "lab", "up", "--topology",
                           "single", "--name", "tnobin"], capture_output=True, text=True,
                          timeout=60, env={"PATH": "/nonexistent"})
    assert bare.returncode == 2 and "apt-get install" in bare.stderr, bare.stderr
    assert "iproute2" in bare.stderr


def test_unbuildable_base_image_is_a_clear_error(tmp_path):
    """An empty cache and a mirror that refuses connections (loopback discard port)."""
    env = {**os.environ, "SPARKCTL_LAB_CACHE": str(tmp_path / "cache"),
           "SPARKCTL_LAB_MIRROR": "http://127.0.0.1:9/debian"}
    out = subprocess.run([sys.executable, "-m", "sparkctl", "lab", "up", "--topology", "single",
                          "--name", "tbadimg"], capture_output=True, text=True, timeout=300,
                         env=env, stdin=subprocess.DEVNULL)
    assert out.returncode == 2, out.stderr
    assert "cannot build the lab base image" in out.stderr and "SPARKCTL_LAB_MIRROR" in out.stderr
    assert "Traceback" not in out.stderr
    assert state.load("tbadimg") is None
    assert not any((tmp_path / "cache").glob("base-*")), "a half-built image was kept"
