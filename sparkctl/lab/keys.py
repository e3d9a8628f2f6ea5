"""SSH keys of a lab: one client key pair per lab, one host key per node, a known_hosts file."""

from __future__ import annotations

import tempfile
from pathlib import Path

from sparkctl.fileio import atomic_write
from sparkctl.lab.system import run


def generate_ed25519(comment: str) -> tuple[bytes, bytes]:
    """(private, public) key bytes, made by ssh-keygen in a private temporary directory."""
    with tempfile.TemporaryDirectory(prefix="sparkctl-key-") as tmp:
        path = Path(tmp) / "key"
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)],
            timeout=20, what="ssh-keygen")
        return path.read_bytes(), path.with_suffix(".pub").read_bytes()


def write_client_key(path: Path, comment: str) -> str:
    """Create the lab's client key (0600) unless present; return its public line."""
    public_path = path.with_name(path.name + ".pub")
    if not (path.exists() and public_path.exists()):
        private, public = generate_ed25519(comment)
        atomic_write(path, private, mode=0o600)
        atomic_write(public_path, public, mode=0o644)
    return public_path.read_text().strip() + "\n"


def known_hosts_lines(entries: list[tuple[list[str], bytes]]) -> str:
    """One line per node: 'name,address keytype key' from the node's real host public key."""
    lines = []
    for hostnames, public in entries:
        keytype, key = public.decode().split()[:2]
        lines.append(f"{','.join(hostnames)} {keytype} {key}")
    return "\n".join(lines) + "\n"
