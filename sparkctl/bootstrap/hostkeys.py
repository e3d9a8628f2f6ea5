"""SSH host keys: fingerprints as `ssh-keygen -l` prints them, and known_hosts files.

Pure code (no network): the blobs come from a handshake (sparkctl.bootstrap.scan) or from a
known_hosts line. known_hosts parsing follows sshd(8) "SSH_KNOWN_HOSTS FILE FORMAT": comma
separated patterns with `*`/`?` wildcards and `!` negation, `[host]:port` for other ports,
hashed entries (`|1|salt|hmac`), and the @revoked / @cert-authority markers.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import struct
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from sparkctl.errors import InputError, Location

# key type -> (label ssh-keygen prints, bits when fixed by the type)
_TYPES: dict[str, tuple[str, int | None]] = {
    "ssh-ed25519": ("ED25519", 256),
    "ecdsa-sha2-nistp256": ("ECDSA", 256),
    "ecdsa-sha2-nistp384": ("ECDSA", 384),
    "ecdsa-sha2-nistp521": ("ECDSA", 521),
    "ssh-rsa": ("RSA", None),
    "sk-ssh-ed25519@openssh.com": ("ED25519-SK", 256),
    "sk-ecdsa-sha2-nistp256@openssh.com": ("ECDSA-SK", 256),
}


@dataclass(frozen=True)
class HostKey:
    """One public host key: its type name and its wire-format blob."""

    type: str
    blob: bytes

    @classmethod
    def from_text(cls, keytype: str, text: str) -> HostKey:
        try:
            blob = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError(f"not base64: {text[:20]}...") from None
        if _read_string(blob, 0)[0] != keytype.encode():
            raise ValueError(f"key blob is not a {keytype} key")
        return cls(keytype, blob)

    @property
    def base64(self) -> str:
        return base64.b64encode(self.blob).decode("ascii")

    @property
    def sha256(self) -> str:
        digest = base64.b64encode(hashlib.sha256(self.blob).digest()).decode("ascii")
        return "SHA256:" + digest.rstrip("=")

    @property
    def label(self) -> str:
        return _TYPES.get(self.type, (self.type.upper(), None))[0]

    @property
    def bits(self) -> int:
        fixed = _TYPES.get(self.type, (None, None))[1]
        if fixed is not None:
            return fixed
        if self.type == "ssh-rsa":  # string type, mpint e, mpint n
            _, offset = _read_string(self.blob, 0)
            _, offset = _read_string(self.blob, offset)
            modulus, _ = _read_string(self.blob, offset)
            return int.from_bytes(modulus, "big").bit_length()
        return 0

    def fingerprint(self, comment: str) -> str:
        """The line `ssh-keygen -l` prints for this key with this comment."""
        return f"{self.bits} {self.sha256} {comment} ({self.label})"

    def known_hosts_line(self, names: Iterable[str]) -> str:
        return f"{','.join(names)} {self.type} {self.base64}"


def _read_string(blob: bytes, offset: int) -> tuple[bytes, int]:
    if offset + 4 > len(blob):
        raise ValueError("truncated key blob")
    (length,) = struct.unpack(">I", blob[offset:offset + 4])
    end = offset + 4 + length
    if end > len(blob):
        raise ValueError("truncated key blob")
    return blob[offset + 4:end], end


def key_type_of(blob: bytes) -> str:
    """The key type named inside a wire-format blob (for RSA: ssh-rsa, whatever signature
    algorithm was negotiated)."""
    return _read_string(blob, 0)[0].decode("ascii", errors="replace")


def lookup_name(host: str, port: int) -> str:
    """How ssh names a host in known_hosts: `host`, or `[host]:port` off port 22."""
    return host if port == 22 else f"[{host}]:{port}"


# --- known_hosts --------------------------------------------------------------------------

@dataclass(frozen=True)
class KnownHostsEntry:
    patterns: str  # the host field as written (comma separated, or one hashed entry)
    key: HostKey
    marker: str | None = None  # "@revoked" / "@cert-authority"
    line: int = 0

    def matches(self, name: str) -> bool:
        if self.patterns.startswith("|1|"):
            return _hashed_match(self.patterns, name)
        matched = False
        for pattern in self.patterns.split(","):
            negated = pattern.startswith("!")
            if _wildcard_match(name, pattern.lstrip("!")):
                if negated:
                    return False
                matched = True
        return matched


def _wildcard_match(name: str, pattern: str) -> bool:
    """ssh's match_pattern: `*` and `?` are the only wildcards ([ ] are literal, as in
    `[host]:port`), compared without case."""
    regex = "".join(".*" if ch == "*" else "." if ch == "?" else re.escape(ch)
                    for ch in pattern)
    return re.fullmatch(regex, name, re.IGNORECASE) is not None


def _hashed_match(field: str, name: str) -> bool:
    try:
        _, _, salt, digest = field.split("|", 3)
        expected = base64.b64decode(digest)
        mac = hmac.new(base64.b64decode(salt), name.encode(), hashlib.sha1).digest()
    except (ValueError, binascii.Error):
        return False
    return hmac.compare_digest(mac, expected)


def parse_known_hosts(text: str, path: str = "<known_hosts>") -> list[KnownHostsEntry]:
    """Entries of a known_hosts file; lines that are not keys (comments, blanks) are skipped,
    a malformed key line is an error naming the file and line."""
    entries = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        fields = line.split()
        marker = fields.pop(0) if fields[0].startswith("@") else None
        if len(fields) < 3:
            raise InputError("a known_hosts line needs hosts, key type and key",
                             location=Location(path, number),
                             hint="fix or delete that line")
        try:
            key = HostKey.from_text(fields[1], fields[2])
        except ValueError as exc:
            raise InputError(f"bad known_hosts key: {exc}", location=Location(path, number),
                             hint="fix or delete that line") from None
        entries.append(KnownHostsEntry(fields[0], key, marker, number))
    return entries


def read_known_hosts(path: Path) -> list[KnownHostsEntry]:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return []
    except PermissionError:
        raise InputError(f"cannot read known_hosts file {path}: permission denied") from None
    return parse_known_hosts(text, str(path))


def pinned_keys(paths: Iterable[Path], name: str) -> list[tuple[HostKey, Path]]:
    """Keys pinned for `name` (a lookup_name) in these files; revoked keys are excluded
    from the result and @cert-authority lines are not host keys."""
    found: list[tuple[HostKey, Path]] = []
    revoked: set[HostKey] = set()
    for path in paths:
        for entry in read_known_hosts(path):
            if not entry.matches(name):
                continue
            if entry.marker == "@revoked":
                revoked.add(entry.key)
            elif entry.marker is None and (entry.key, path) not in found:
                found.append((entry.key, path))
    return [(key, path) for key, path in found if key not in revoked]


def pin_text(existing: str, names: list[str], keys: list[HostKey], node: str) -> str:
    """known_hosts text with every earlier line for any of `names` replaced by one marked
    block for `node`: its keys under all its names. Other lines are kept as they are."""
    marker = f"# sparkctl node {node}"
    kept: list[str] = []
    skip_block = False
    for raw in existing.splitlines():
        line = raw.strip()
        if line == marker:
            skip_block = True
            continue
        if skip_block:
            if line and not line.startswith("#"):
                continue  # a line of the old block for this node
            skip_block = False
        if line and not line.startswith("#"):
            try:
                entry = parse_known_hosts(line)[0]
            except InputError:
                kept.append(raw)
                continue
            if entry.marker is None and any(entry.matches(n) for n in names):
                continue
        kept.append(raw)
    while kept and not kept[-1].strip():
        kept.pop()
    block = [marker] + [key.known_hosts_line(names) for key in keys]
    return "\n".join(kept + block) + "\n"


# --- --fingerprints FILE ------------------------------------------------------------------

@dataclass(frozen=True)
class ExpectedFingerprint:
    names: frozenset[str]  # node names / addresses the line is for
    sha256: str
    line: int


def parse_fingerprints(text: str, path: str) -> list[ExpectedFingerprint]:
    """Expected host key fingerprints, one per line, as `ssh-keygen -l` prints them
    (`256 SHA256:... spark-1 (ED25519)`, the comment naming the node or its address;
    `root@spark-1` counts as spark-1), or simply `spark-1 SHA256:...`. # starts a comment."""
    expected = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        words = line.split()
        digests = [w for w in words if w.startswith("SHA256:")]
        if len(digests) != 1:
            raise InputError("each line needs exactly one SHA256:... fingerprint",
                             location=Location(path, number),
                             hint="paste the output of `ssh-keygen -lf "
                                  "/etc/ssh/ssh_host_ed25519_key.pub` with the node's name")
        names = set()
        for word in words:
            if word in digests or word.isdigit() or (word.startswith("(") and
                                                      word.endswith(")")):
                continue
            names.add(word.rsplit("@", 1)[-1])
            names.add(word)
        if not names:
            raise InputError("the line does not say which node the fingerprint is for",
                             location=Location(path, number),
                             hint="add the node's name, e.g. `spark-1 SHA256:...`")
        expected.append(ExpectedFingerprint(frozenset(names), digests[0], number))
    if not expected:
        raise InputError(f"{path} holds no fingerprints",
                         hint="one line per node key: `spark-1 SHA256:...`")
    return expected


def load_fingerprints(path: Path) -> list[ExpectedFingerprint]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"fingerprints file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read fingerprints file {path}: {exc}") from None
    return parse_fingerprints(text, str(path))


def expected_for(expected: list[ExpectedFingerprint], names: Iterable[str]) -> set[str]:
    wanted = set(names)
    return {e.sha256 for e in expected if e.names & wanted}
