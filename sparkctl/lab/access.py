"""Who can log in to a lab node, and how: the first user of a DGX OS Spark.

A fresh DGX OS Spark has one account, made by the first-boot wizard: a non-root user whose
sudo asks for the password, password login over SSH, no authorized keys, and no root login
(facts/dgx-os.md section 1). The lab models that user as `nvidia`, uid 1000, with DGX OS's
groups (minus lpadmin, which only exists with cups).

Two modes:
- fresh (`lab up --fresh`): exactly that. The only way in is the password, which the lab
  keeps 0600 in `<state dir>/password` so tests and the demo can feed it to
  `sparkctl bootstrap --password-stdin`. known_hosts stays empty until bootstrap pins keys.
- keyed (default): the state `sparkctl bootstrap --sudo nopasswd` leaves behind: the same
  user and password, plus the lab's client key in ~nvidia/.ssh/authorized_keys and
  /etc/sudoers.d/sparkctl-nvidia (NOPASSWD), and known_hosts filled with the nodes' real
  keys. For tests that do not exercise first contact.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sparkctl.lab.system import run

LAB_USER = "nvidia"
LAB_UID = 1000
# DGX OS's first user is in adm sudo audio dip plugdev users lpadmin (facts/dgx-os.md).
LAB_GROUPS = ("adm", "sudo", "audio", "dip", "plugdev", "users")
PASSWORD_CHARS = 24

# Ubuntu 24.04's sshd defaults, spelled out: password login works, keyboard-interactive off,
# root may only use a key (and has none, its password is locked), so root cannot log in.
SSHD_DROPIN = """\
# Written by sparkctl lab: Ubuntu 24.04's sshd defaults, as on a fresh DGX OS Spark.
PermitRootLogin prohibit-password
PasswordAuthentication yes
KbdInteractiveAuthentication no
UseDNS no
HostKey /etc/ssh/ssh_host_ed25519_key
"""


@dataclass(frozen=True)
class NodeFile:
    """A file a lab writes into a node's own layer (overlay upper dir)."""

    path: str  # absolute path inside the node
    content: str
    mode: int
    uid: int = 0
    gid: int = 0


def new_password() -> str:
    # Letters and digits only: no shell, YAML or sudo prompt ever needs to quote it.
    alphabet = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "".join(secrets.choice(alphabet) for _ in range(PASSWORD_CHARS))


def password_hash(password: str) -> str:
    """SHA-512 crypt of the password (what /etc/shadow, sshd and PAM accept)."""
    out = run(["openssl", "passwd", "-6", "-stdin"], input=password + "\n", timeout=10,
              what="hashing the lab password").stdout.strip()
    if not out.startswith("$6$"):
        from sparkctl.errors import RunFailed

        raise RunFailed("openssl passwd -6 did not return a SHA-512 crypt hash")
    return out


def shadow_with_password(base_shadow: str, user: str, hashed: str) -> str:
    """The base image's /etc/shadow with `user`'s password field set to `hashed`."""
    lines, found = [], False
    for line in base_shadow.splitlines():
        fields = line.split(":")
        if fields and fields[0] == user:
            fields[1] = hashed
            found = True
            line = ":".join(fields)
        lines.append(line)
    if not found:
        from sparkctl.errors import EnvironmentProblem

        raise EnvironmentProblem(f"the lab base image has no user {user!r} in /etc/shadow",
                                 hint="remove /var/cache/sparkctl/base-* to rebuild the image")
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class NodeAccess:
    fresh: bool
    user: str = LAB_USER
    uid: int = LAB_UID

    @property
    def home(self) -> str:
        return f"/home/{self.user}"

    @property
    def sudoers_path(self) -> str:
        # The file `sparkctl bootstrap --sudo nopasswd` writes, so bootstrap finds it in place.
        return f"/etc/sudoers.d/sparkctl-{self.user}"

    def node_files(self, shadow: str, shadow_gid: int, client_public_key: str) -> list[NodeFile]:
        files = [
            NodeFile("/etc/shadow", shadow, 0o640, 0, shadow_gid),
            NodeFile("/etc/ssh/sshd_config.d/sparkctl-lab.conf", SSHD_DROPIN, 0o644),
        ]
        if not self.fresh:
            files += [
                NodeFile(f"{self.home}/.ssh/authorized_keys", client_public_key, 0o600,
                         self.uid, self.uid),
                NodeFile(self.sudoers_path, f"{self.user} ALL=(ALL:ALL) NOPASSWD: ALL\n",
                         0o440),
            ]
        return files
