"""The host-key gate every Ansible run passes, against a real SSH server on 127.0.0.1."""

from __future__ import annotations

import socket
import time

import pytest

from sparkctl.bootstrap import gate, scan
from sparkctl.bootstrap.connection import resolve
from sparkctl.bootstrap.hostkeys import HostKey
from sparkctl.errors import RunFailed

from .sshserver import KeyServer, make_key


def _host_key(pkey) -> HostKey:
    return HostKey(pkey.get_name(), pkey.asbytes())


@pytest.fixture
def keys(tmp_path):
    return {name: make_key(tmp_path / name, kind) for name, kind in
            (("ed", "ed25519"), ("other", "ed25519"), ("rsa", "rsa"))}


@pytest.fixture
def server(keys):
    srv = KeyServer([keys["ed"], keys["rsa"]])
    yield srv
    srv.close()


def _conn(tmp_path, port: int, known: str):
    kh = tmp_path / "known_hosts"
    kh.write_text(known)
    return resolve("spark-1", {"ansible_host": "127.0.0.1", "ansible_port": port,
                               "ansible_ssh_common_args": f"-o UserKnownHostsFile={kh}"})


def test_scan_reads_every_key_type_the_server_has(server, keys):
    found = scan.scan_all("127.0.0.1", server.port, 5)
    assert set(found) == {_host_key(keys["ed"]), _host_key(keys["rsa"])}
    assert [k.label for k in found] == ["ED25519", "RSA"]


def test_a_pinned_key_passes(tmp_path, server, keys):
    key = _host_key(keys["ed"])
    conn = _conn(tmp_path, server.port, key.known_hosts_line([conn_name(server.port)]) + "\n")
    check = gate.check_node(conn)
    assert check.status == "ok" and check.offered == key
    gate.require_trusted([conn], "sparkctl bootstrap --lab x")


def test_a_pinned_rsa_key_is_asked_for_first_like_openssh(tmp_path, server, keys):
    # Only the RSA key is pinned: the client must offer RSA first, or the server would
    # answer with its ed25519 key and a healthy node would look changed.
    key = _host_key(keys["rsa"])
    conn = _conn(tmp_path, server.port, key.known_hosts_line([conn_name(server.port)]) + "\n")
    assert gate.check_node(conn).status == "ok"


def test_a_changed_key_stops_with_both_fingerprints_and_the_repin_command(tmp_path, server,
                                                                           keys):
    pinned = _host_key(keys["other"])
    conn = _conn(tmp_path, server.port,
                 pinned.known_hosts_line([conn_name(server.port)]) + "\n")
    with pytest.raises(RunFailed) as err:
        gate.require_trusted([conn], "sparkctl bootstrap --lab x")
    text = str(err.value)
    offered = _host_key(keys["ed"])
    assert "HOST KEY CHANGED" in text and "nothing was changed on any node" in text
    assert offered.sha256 in text and pinned.sha256 in text
    assert "sparkctl bootstrap --lab x --repin spark-1" in text
    assert f"spark-1 (127.0.0.1:{server.port})" in text


def test_an_unknown_key_stops_too(tmp_path, server, keys):
    conn = _conn(tmp_path, server.port, "")
    with pytest.raises(RunFailed) as err:
        gate.require_trusted([conn], "sparkctl bootstrap --lab x")
    assert "not pinned" in str(err.value) and _host_key(keys["ed"]).sha256 in str(err.value)


def test_a_closed_port_is_named_at_once(tmp_path):
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now
    conn = _conn(tmp_path, port, "")
    began = time.monotonic()
    with pytest.raises(RunFailed) as err:
        gate.require_trusted([conn], "sparkctl bootstrap --lab x", timeout=2)
    assert "connection refused" in str(err.value) and "cannot reach" in str(err.value)
    assert time.monotonic() - began < 10  # refused, not waited for


def test_an_unresolvable_name_is_named(tmp_path):
    kh = tmp_path / "kh"
    kh.write_text("")
    conn = resolve("spark-9", {"ansible_host": "no-such-host.invalid",
                               "ansible_ssh_common_args": f"-o UserKnownHostsFile={kh}"})
    check = gate.check_node(conn, timeout=2)
    assert check.status == "unreachable" and "cannot resolve" in check.detail


def conn_name(port: int) -> str:
    return f"[127.0.0.1]:{port}"
