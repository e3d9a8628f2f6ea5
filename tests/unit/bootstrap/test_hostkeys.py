"""Fingerprints against the real ssh-keygen, known_hosts parsing and pinning, and the
--fingerprints file format."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from sparkctl.bootstrap.hostkeys import (
    HostKey,
    expected_for,
    lookup_name,
    parse_fingerprints,
    parse_known_hosts,
    pin_text,
    pinned_keys,
)
from sparkctl.errors import InputError


def _keygen(tmp_path: Path, kind: str, bits: int | None = None, name: str = "k") -> Path:
    path = tmp_path / name
    argv = ["ssh-keygen", "-q", "-t", kind, "-N", "", "-C", "c", "-f", str(path)]
    if bits:
        argv[4:4] = ["-b", str(bits)]
    subprocess.run(argv, check=True, capture_output=True)
    return path.with_name(path.name + ".pub")


def _key(public: Path) -> HostKey:
    kind, text = public.read_text().split()[:2]
    return HostKey.from_text(kind, text)


@pytest.mark.parametrize("kind,bits", [("ed25519", None), ("rsa", 3072), ("ecdsa", 384)])
def test_fingerprint_line_is_what_ssh_keygen_l_prints(tmp_path, kind, bits):
    public = _keygen(tmp_path, kind, bits)
    # ssh-keygen -l prints the comment field; a known_hosts line's comment is its hosts.
    (tmp_path / "kh").write_text(_key(public).known_hosts_line(["spark-1"]) + "\n")
    printed = subprocess.run(["ssh-keygen", "-lf", str(tmp_path / "kh")], check=True,
                             capture_output=True, text=True).stdout.strip()
    assert _key(public).fingerprint("spark-1") == printed


def test_a_blob_of_another_type_is_refused(tmp_path):
    text = _keygen(tmp_path, "ed25519").read_text().split()[1]
    with pytest.raises(ValueError, match="not a ssh-rsa key"):
        HostKey.from_text("ssh-rsa", text)


def test_known_hosts_patterns_ports_negation_and_revoked(tmp_path):
    a, b = _key(_keygen(tmp_path, "ed25519", name="a")), _key(_keygen(tmp_path, "ed25519",
                                                                       name="b"))
    text = "\n".join([
        "# a comment",
        f"spark-1,10.0.0.1 {a.type} {a.base64}",
        f"[10.0.0.2]:2222 {b.type} {b.base64}",
        f"10.0.0.*,!10.0.0.9 {b.type} {b.base64}",
        f"@revoked 10.0.0.7 {b.type} {b.base64}",
    ])
    path = tmp_path / "known_hosts"
    path.write_text(text + "\n")
    assert [k for k, _ in pinned_keys([path], "spark-1")] == [a]
    assert [k for k, _ in pinned_keys([path], lookup_name("10.0.0.2", 2222))] == [b]
    assert pinned_keys([path], "10.0.0.2") == [(b, path)]  # the wildcard line, port 22
    assert pinned_keys([path], "10.0.0.9") == []  # negated
    assert pinned_keys([path], "10.0.0.7") == []  # revoked
    assert pinned_keys([tmp_path / "missing"], "spark-1") == []


def test_hashed_known_hosts_entries_match_like_ssh(tmp_path):
    key = _key(_keygen(tmp_path, "ed25519"))
    path = tmp_path / "known_hosts"
    path.write_text(key.known_hosts_line(["10.1.2.3"]) + "\n")
    subprocess.run(["ssh-keygen", "-H", "-f", str(path)], check=True, capture_output=True)
    assert path.read_text().startswith("|1|")
    assert pinned_keys([path], "10.1.2.3") == [(key, path)]
    assert pinned_keys([path], "10.1.2.4") == []


def test_a_malformed_known_hosts_line_names_file_and_line(tmp_path):
    path = tmp_path / "kh"
    path.write_text("spark-1 ssh-ed25519\n")
    with pytest.raises(InputError) as err:
        pinned_keys([path], "spark-1")
    assert f"{path}:1" in str(err.value)


def test_pinning_replaces_every_old_line_of_the_node_and_keeps_the_rest(tmp_path):
    old, new, other = (_key(_keygen(tmp_path, "ed25519", name=n)) for n in ("o", "n", "x"))
    existing = "\n".join([f"10.0.0.1 {old.type} {old.base64}",
                          f"spark-2,10.0.0.2 {other.type} {other.base64}"]) + "\n"
    once = pin_text(existing, ["10.0.0.1", "spark-1"], [new], "spark-1")
    again = pin_text(once, ["10.0.0.1", "spark-1"], [new], "spark-1")
    assert once == again  # pinning is idempotent
    entries = parse_known_hosts(once)
    assert [(e.patterns, e.key) for e in entries] == [("spark-2,10.0.0.2", other),
                                                       ("10.0.0.1,spark-1", new)]
    # ssh-keygen reads what we wrote and finds the node under both names
    path = tmp_path / "kh"
    path.write_text(once)
    for name in ("10.0.0.1", "spark-1"):
        found = subprocess.run(["ssh-keygen", "-F", name, "-f", str(path)],
                               capture_output=True, text=True)
        assert new.base64 in found.stdout and old.base64 not in found.stdout


def test_fingerprints_file_formats(tmp_path):
    text = ("# from each node's console\n"
            "256 SHA256:AAAA spark-1 (ED25519)\n"
            "256 SHA256:BBBB root@spark-2 (ED25519)\n"
            "10.0.0.3 SHA256:CCCC\n")
    expected = parse_fingerprints(text, "fp.txt")
    assert expected_for(expected, ["spark-1"]) == {"SHA256:AAAA"}
    assert expected_for(expected, ["spark-2"]) == {"SHA256:BBBB"}
    assert expected_for(expected, ["spark-3", "10.0.0.3"]) == {"SHA256:CCCC"}
    assert expected_for(expected, ["spark-9"]) == set()


@pytest.mark.parametrize("text,message", [
    ("spark-1\n", "exactly one SHA256"),
    ("256 SHA256:AAAA (ED25519)\n", "which node"),
    ("# nothing\n", "holds no fingerprints"),
])
def test_bad_fingerprints_files_name_the_line(text, message):
    with pytest.raises(InputError, match=message) as err:
        parse_fingerprints(text, "fp.txt")
    if "line" in message or "SHA256" in message or "node" in message:
        assert "fp.txt:1" in str(err.value)
