"""Bad input and hostile nodes on a fresh direct lab: each is named, the rest completes,
exit codes as documented, nothing half-written on the nodes or the controller."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from .conftest import bootstrap, sparkctl
from .fresh import FreshCluster, console, node_has, replace_host_key, variant

pytestmark = pytest.mark.lab


@pytest.fixture(scope="module")
def cluster(fresh_lab) -> FreshCluster:
    return fresh_lab("direct", "bootfl")


def _store_pins(report: dict) -> str:
    path = Path(report["known_hosts"][0])
    return path.read_text() if path.exists() else ""


def test_no_terminal_without_password_stdin_is_exit_2(cluster):
    proc = sparkctl("bootstrap", *cluster.target_args(), "--accept-new")
    assert proc.returncode == 2
    assert "no terminal to ask the password on" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_user_option_that_contradicts_the_inventory_is_exit_2(cluster):
    proc, _ = bootstrap(cluster, "--accept-new", "--user", "bob")
    assert proc.returncode == 2
    assert "--user bob disagrees with the inventory's ansible_user" in proc.stderr


def test_an_unknown_user_is_named_on_every_node_exit_1(cluster, tmp_path):
    other = variant(cluster, tmp_path, **{"*": {"ansible_user": "bob"}})
    proc, report = bootstrap(other, "--accept-new")
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    for node in report["nodes"]:
        assert not node["ok"]
        assert "wrong password, or no user 'bob'" in node["error"]
    assert all(not node_has(cluster, n, "/home/bob") for n in cluster.nodes)


def test_fingerprints_mismatch_refuses_and_changes_nothing(cluster, tmp_path):
    other = variant(cluster, tmp_path)
    listing = tmp_path / "fingerprints.txt"
    listing.write_text("".join(f"256 SHA256:{'A' * 43} {n} (ED25519)\n" for n in cluster.nodes))
    proc, report = bootstrap(other, "--fingerprints", str(listing))
    assert proc.returncode == 1
    for node in report["nodes"]:
        assert "does not match" in node["error"] and "expected SHA256:AAAA" in node["error"]
        assert node["fingerprints"][0] in node["error"]  # what the node offers, in full
    assert _store_pins(report) == ""  # nothing pinned
    assert report["login_key"] == ""  # no key generated, nothing installed
    assert all(not node_has(cluster, n, "/home/nvidia/.ssh/authorized_keys")
               for n in cluster.nodes)


def test_wrong_password_on_one_node_names_it_and_the_other_completes(cluster):
    console(cluster, "spark-2", "printf 'nvidia:another-password-9\\n' | chpasswd")
    try:
        proc, report = bootstrap(cluster, "--accept-new")
    finally:
        console(cluster, "spark-2", f"printf 'nvidia:%s\\n' '{cluster.password}' | "
                                          "chpasswd")
    assert proc.returncode == 1
    nodes = {n["name"]: n for n in report["nodes"]}
    assert nodes["spark-1"]["ok"] and nodes["spark-1"]["key_login"].startswith("works")
    assert not nodes["spark-2"]["ok"]
    assert "password login refused: wrong password, or no user 'nvidia' on spark-2" in \
        nodes["spark-2"]["error"]
    assert "bootstrap failed on spark-2" in proc.stderr
    assert not node_has(cluster, "spark-2", "/home/nvidia/.ssh/authorized_keys")
    assert cluster.password not in proc.stdout + proc.stderr


def test_fingerprints_read_on_the_consoles_pin_and_bootstrap(cluster, tmp_path):
    other = variant(cluster, tmp_path)
    listing = tmp_path / "fingerprints.txt"
    # What `ssh-keygen -lf` prints on each node's console: the comment is root@hostname.
    listing.write_text("".join(console(cluster, n, "ssh-keygen -lf "
                                         "/etc/ssh/ssh_host_ed25519_key.pub")
                               for n in cluster.nodes))
    assert "root@spark-1" in listing.read_text()
    proc, report = bootstrap(other, "--fingerprints", str(listing))
    assert proc.returncode == 0, proc.stderr
    assert all(n["ok"] and n["host_key"] == f"pinned (matches {listing})"
               for n in report["nodes"])


def test_a_sudoers_file_that_fails_visudo_is_never_installed(cluster):
    divert = ("mv /usr/sbin/visudo /usr/sbin/visudo.real && printf '#!/bin/sh\\necho "
              "\"parse error near line 1\" >&2\\nexit 1\\n' > /usr/sbin/visudo && "
              "chmod 755 /usr/sbin/visudo")
    console(cluster, "spark-1", divert)
    try:
        proc, report = bootstrap(cluster, "--accept-new", "--sudo", "nopasswd")
    finally:
        console(cluster, "spark-1", "mv -f /usr/sbin/visudo.real /usr/sbin/visudo")
    assert proc.returncode == 1
    nodes = {n["name"]: n for n in report["nodes"]}
    assert "visudo rejected the sudoers file; nothing was installed" in nodes["spark-1"]["error"]
    assert "parse error near line 1" in nodes["spark-1"]["error"]
    assert nodes["spark-2"]["ok"]
    listing = console(cluster, "spark-1", "ls -a /etc/sudoers.d")
    assert "sparkctl-nvidia" not in listing and ".sparkctl-" not in listing
    assert node_has(cluster, "spark-2", "/etc/sudoers.d/sparkctl-nvidia")
    console(cluster, "spark-2", "rm -f /etc/sudoers.d/sparkctl-nvidia")


def test_an_unreachable_node_is_named_within_its_timeout(cluster, tmp_path):
    # An address in the lab's management subnet where nothing answers.
    dead = cluster.addresses["spark-2"].rsplit(".", 1)[0] + ".200"
    other = variant(cluster, tmp_path, **{"spark-2": {"ansible_host": dead}})
    began = time.monotonic()
    proc, report = bootstrap(other, "--accept-new", "--timeout", "3")
    took = time.monotonic() - began
    assert proc.returncode == 1
    nodes = {n["name"]: n for n in report["nodes"]}
    assert nodes["spark-1"]["ok"]
    assert nodes["spark-2"]["error"] == "unreachable: no answer on TCP port 22 within 3 s"
    assert took < 60, took  # bounded by the timeout, never hanging
    run = sparkctl("provision", *other.target_args(), "--become-password-stdin",
                   stdin=cluster.password + "\n")
    assert run.returncode == 1 and "cannot reach every node" in run.stderr
    assert f"spark-2 ({dead}:22): unreachable" in run.stderr


def test_a_replaced_host_key_stops_provision_before_any_change(cluster, state_dir):
    proc, report = bootstrap(cluster, "--accept-new")
    assert proc.returncode == 0, proc.stderr
    pinned = {n["name"]: n["fingerprints"][0] for n in report["nodes"]}
    replace_host_key(cluster, "spark-2")
    offered = console(cluster, "spark-2", "ssh-keygen -lf "
                                                "/etc/ssh/ssh_host_ed25519_key.pub").split()[1]
    runs = state_dir / "runs"
    before = set(runs.iterdir()) if runs.exists() else set()
    run = sparkctl("provision", *cluster.target_args(), "--become-password-stdin",
                   stdin=cluster.password + "\n", timeout=600)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "HOST KEY CHANGED" in run.stderr and "nothing was changed on any node" in run.stderr
    assert offered in run.stderr and pinned["spark-2"].split()[1] in run.stderr
    assert f"sparkctl bootstrap --lab {cluster.lab} --repin spark-2" in run.stderr
    # Ansible never started: no task touched any node, the cluster key went nowhere.
    (new_run,) = set(runs.iterdir()) - before
    assert json.loads((new_run / "summary.json").read_text())["status"] == "refused"
    assert not (new_run / "artifacts").exists()
    for node in cluster.nodes:
        for path in ("/home/nvidia/.ssh/sparkctl_cluster_ed25519", "/home/nvidia/.ssh/config",
                     "/home/nvidia/.ssh/sparkctl_known_hosts", "/etc/netplan/40-sparkctl.yaml",
                     "/etc/sparkctl"):
            assert not node_has(cluster, node, path), (node, path)
    # after checking, the user re-pins and provisioning goes ahead
    proc, report = bootstrap(cluster, "--accept-new", "--repin", "spark-2")
    assert proc.returncode == 0, proc.stderr
    nodes = {n["name"]: n for n in report["nodes"]}
    assert nodes["spark-2"]["fingerprints"][0].split()[1] == offered
    assert nodes["spark-1"]["host_key"] == "already pinned"


def test_the_users_own_key_is_installed_when_named(cluster, tmp_path):
    import subprocess

    key = tmp_path / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "me@laptop", "-f",
                    str(key)], check=True, capture_output=True)
    other = variant(cluster, tmp_path)
    proc, report = bootstrap(other, "--accept-new", "--key", f"{key}.pub")
    assert proc.returncode == 0, proc.stderr
    assert report["login_key"] == str(key)
    assert all(n["ok"] and n["key_login"].startswith("works") for n in report["nodes"])
    listing = console(cluster, "spark-1", "cat /home/nvidia/.ssh/authorized_keys")
    assert "me@laptop" in listing
