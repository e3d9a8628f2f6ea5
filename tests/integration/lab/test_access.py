"""Who gets into a lab node: fresh labs are a fresh DGX OS Spark (password only, sudo asks it,
no keys, no root), keyed labs are one that `bootstrap --sudo nopasswd` has been through."""

from __future__ import annotations

import stat

import paramiko
import pytest
import yaml

from sparkctl.lab import lifecycle, state

from .conftest import sparkctl, ssh

pytestmark = pytest.mark.lab


@pytest.fixture(scope="module")
def fresh(base_image):
    out = sparkctl("lab", "up", "--topology", "direct", "--name", "tfresh", "--fresh")
    assert out.returncode == 0, out.stderr
    yield state.load("tfresh")
    lifecycle.down("tfresh")


def pinned_client(record) -> paramiko.SSHClient:
    """paramiko that trusts exactly the lab's host_keys file (the keys printed on the box)."""
    client = paramiko.SSHClient()
    client.load_host_keys(str(record.host_keys_path))
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    return client


def login(record, node: str, user: str, **auth) -> paramiko.SSHClient:
    client = pinned_client(record)
    client.connect(record.node(node).mgmt_address, username=user, timeout=10,
                   allow_agent=False, look_for_keys=False, **auth)
    return client


def run(client: paramiko.SSHClient, command: str, stdin: str | None = None):
    i, o, e = client.exec_command(command, timeout=20)
    if stdin is not None:
        i.write(stdin)
        i.channel.shutdown_write()
    return o.channel.recv_exit_status(), o.read().decode(), e.read().decode()


def test_fresh_lab_writes_the_password_beside_the_inventory_and_no_keys(fresh):
    password = fresh.password_path
    assert password.parent == fresh.inventory_path.parent
    assert stat.S_IMODE(password.stat().st_mode) == 0o600
    assert len(password.read_text().strip()) >= 20
    assert fresh.known_hosts_path.read_text() == ""  # nothing pinned until bootstrap
    assert not fresh.key_path.exists()
    hosts = yaml.safe_load(fresh.inventory_path.read_text())["all"]["children"]["sparks"]["hosts"]
    for node in fresh.nodes:
        hvars = hosts[node.name]
        assert hvars["ansible_user"] == "nvidia"
        assert "ansible_ssh_private_key_file" not in hvars
        assert f"UserKnownHostsFile={fresh.known_hosts_path}" in hvars["ansible_ssh_common_args"]
        assert "StrictHostKeyChecking=yes" in hvars["ansible_ssh_common_args"]


def test_fresh_node_takes_the_password_and_sudo_asks_for_it(fresh):
    password = fresh.password_path.read_text().strip()
    client = login(fresh, "spark-1", "nvidia", password=password)
    try:
        assert run(client, "id -un")[1].strip() == "nvidia"
        code, _, err = run(client, "sudo -n true")
        assert code == 1 and "a password is required" in err
        code, out, _ = run(client, "sudo -S -p '' id -u", stdin=password + "\n")
        assert (code, out.strip()) == (0, "0")
        code, _, _ = run(client, "sudo -k; sudo -S -p '' id -u", stdin="wrong\n")
        assert code == 1
        assert run(client, "ls ~/.ssh/authorized_keys")[0] != 0  # no keys on a fresh Spark
    finally:
        client.close()


def test_fresh_node_refuses_root_and_wrong_passwords_and_its_host_key_is_the_recorded_one(fresh):
    password = fresh.password_path.read_text().strip()
    for user, secret in (("root", password), ("nvidia", "not-" + password)):
        with pytest.raises(paramiko.AuthenticationException):
            login(fresh, "spark-2", user, password=secret)
    # Pinning spark-1's key for spark-2's address: RejectPolicy refuses (the pin is real).
    recorded = paramiko.HostKeys(str(fresh.host_keys_path))
    wrong = pinned_client(fresh)
    wrong.get_host_keys().clear()
    spark1_key = recorded.lookup(fresh.node("spark-1").mgmt_address)["ssh-ed25519"]
    wrong.get_host_keys().add(fresh.node("spark-2").mgmt_address, "ssh-ed25519", spark1_key)
    with pytest.raises(paramiko.SSHException):
        wrong.connect(fresh.node("spark-2").mgmt_address, username="nvidia",
                      password=password, timeout=10, allow_agent=False, look_for_keys=False)


def test_lab_ssh_refuses_a_fresh_lab_and_console_still_gets_in(fresh):
    refused = sparkctl("lab", "ssh", "--name", "tfresh", "spark-1", "--", "true")
    assert refused.returncode == 2 and "is fresh" in refused.stderr
    assert "lab console" in refused.stderr and "Traceback" not in refused.stderr
    inside = sparkctl("lab", "console", "--name", "tfresh", "spark-1", "--",
                      "id -u; test -e /root/.ssh/authorized_keys || echo no-root-keys")
    assert inside.returncode == 0 and inside.stdout.split() == ["0", "no-root-keys"]
    status = sparkctl("lab", "status", "--name", "tfresh", "-f", "json")
    assert '"fresh": true' in status.stdout and str(fresh.password_path) in status.stdout


def test_up_again_keeps_the_fresh_lab_and_refuses_to_turn_it_keyed(fresh):
    before = fresh.password_path.read_text()
    again = sparkctl("lab", "up", "--topology", "direct", "--name", "tfresh", "--fresh")
    assert again.returncode == 0 and "was already up" in again.stderr
    assert fresh.password_path.read_text() == before
    keyed = sparkctl("lab", "up", "--topology", "direct", "--name", "tfresh")
    assert keyed.returncode == 2 and "another declaration" in keyed.stderr


def test_keyed_lab_is_a_bootstrapped_spark(lab_factory):
    record = lab_factory("tkeyed", "single")
    assert ssh(record, "spark-1", "id -un").stdout.strip() == "nvidia"
    assert ssh(record, "spark-1", "id -u", root=True).stdout.strip() == "0"  # sudo -n works
    sudoers = ssh(record, "spark-1", "cat /etc/sudoers.d/sparkctl-nvidia", root=True).stdout
    assert sudoers.strip() == "nvidia ALL=(ALL:ALL) NOPASSWD: ALL"
    # The key is the user's; root still cannot log in, with the key or the password.
    with pytest.raises(paramiko.AuthenticationException):
        login(record, "spark-1", "root", key_filename=str(record.key_path))
    password = record.password_path.read_text().strip()
    with pytest.raises(paramiko.AuthenticationException):
        login(record, "spark-1", "root", password=password)
    client = login(record, "spark-1", "nvidia", password=password)  # the password stays
    client.close()
    lifecycle.down("tkeyed")
