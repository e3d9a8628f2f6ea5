"""What bootstrap does on one node, as commands for a NodeSession. Each step reports
whether it changed anything, so a second run can say that nothing changed.

The scripts run as the login user; the sudo step runs one shell script as root through
`sudo -S` (password on stdin, never on a command line) or `sudo -n` when sudo already
needs no password.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field

from sparkctl.bootstrap.remote import NodeSession, Output
from sparkctl.bootstrap.secrets import Secret
from sparkctl.errors import InputError

STEP_TIMEOUT_S = 30.0
# adduser's default NAME_REGEX; no '.' because sudo skips /etc/sudoers.d files with one.
_USER = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")

# Facts for the report and the controller key in ~/.ssh/authorized_keys, one round trip.
# python3 is on DGX OS and on every lab node. Argument: JSON {"key": "<public key line>"}.
_FACTS_AND_KEY = r'''
import json, os, pwd, re, subprocess, sys, tempfile
spec = json.loads(sys.argv[1])
me = pwd.getpwuid(os.getuid())
out = {"user": me.pw_name, "uid": me.pw_uid, "home": me.pw_dir, "changes": [], "notes": []}
def read(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read()
    except OSError:
        return None
def var(text, name):
    found = re.findall(r"^" + name + r"=\"?([^\"\n]*)\"?", text or "", re.M)
    return found[-1] if found else None
dgx = read("/etc/dgx-release")
out["dgx_release"] = dgx is not None
out["dgx_name"] = var(dgx, "DGX_NAME")
out["dgx_version"] = var(dgx, "DGX_OTA_VERSION") or var(dgx, "DGX_SWBUILD_VERSION")
out["os"] = var(read("/etc/os-release"), "PRETTY_NAME")
conn = os.environ.get("SSH_CONNECTION", "").split()
out["address"] = conn[2] if len(conn) > 2 else None
out["interface"] = None
try:
    links = json.loads(subprocess.run(["ip", "-j", "-4", "addr", "show"], capture_output=True,
                                      text=True, timeout=10).stdout or "[]")
except (OSError, ValueError, subprocess.SubprocessError):
    links = []
for link in links:
    for addr in link.get("addr_info", []):
        if addr.get("local") == out["address"]:
            out["interface"] = link.get("ifname")
            out["prefix"] = addr.get("prefixlen")
ssh = os.path.join(me.pw_dir, ".ssh")
if not os.path.isdir(ssh):
    os.makedirs(ssh, mode=0o700)
    out["changes"].append("created ~/.ssh")
if os.stat(ssh).st_mode & 0o777 != 0o700:
    os.chmod(ssh, 0o700)
    out["changes"].append("~/.ssh mode 0700 (sshd refuses keys otherwise)")
path = os.path.join(ssh, "authorized_keys")
text = read(path)
blob = spec["key"].split()[1]
if text is None or not any(blob in line.split() for line in text.splitlines()):
    body = (text or "")
    if body and not body.endswith("\n"):
        body += "\n"
    body += spec["key"].strip() + "\n"
    fd, tmp = tempfile.mkstemp(prefix=".authorized_keys.", dir=ssh)
    with os.fdopen(fd, "w") as handle:
        handle.write(body)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
    out["changes"].append("installed the controller key in ~/.ssh/authorized_keys")
elif os.stat(path).st_mode & 0o077:
    os.chmod(path, 0o600)
    out["changes"].append("~/.ssh/authorized_keys mode 0600")
home_mode = os.stat(me.pw_dir).st_mode & 0o777
if home_mode & 0o022:
    out["notes"].append(f"home {me.pw_dir} is group/other-writable ({home_mode:o}): "
                        "sshd (StrictModes) may refuse key login")
print(json.dumps(out))
'''

# Runs as root. $1 user, $2 the sudoers line. The candidate is written next to its final
# place under a name with a '.', which sudo's @includedir skips, checked with visudo -cf,
# and only then renamed into place; a candidate that fails the check is removed.
_SUDOERS = r'''
exec </dev/null
set -u
final="/etc/sudoers.d/sparkctl-$1"
want=$(printf '%s\n' "$2")
if [ -f "$final" ] && [ "$(cat "$final")" = "$want" ] \
   && [ "$(stat -c %a:%u:%g "$final")" = "440:0:0" ]; then
  echo SUDOERS=unchanged; exit 0
fi
[ -d /etc/sudoers.d ] || { echo "SUDOERS=error /etc/sudoers.d is missing"; exit 3; }
tmp=$(mktemp /etc/sudoers.d/.sparkctl-XXXXXX) || { echo "SUDOERS=error mktemp failed"; exit 3; }
trap 'rm -f "$tmp"' EXIT
printf '%s\n' "$want" > "$tmp" && chown root:root "$tmp" && chmod 0440 "$tmp" \
  || { echo "SUDOERS=error cannot write $tmp"; exit 3; }
if ! check=$(visudo -cf "$tmp" 2>&1); then
  echo "SUDOERS=invalid $check"; exit 4
fi
mv -f "$tmp" "$final" || { echo "SUDOERS=error cannot move into place"; exit 3; }
trap - EXIT
echo SUDOERS=written
'''


def check_user(user: str) -> str:
    if not _USER.match(user or ""):
        raise InputError(f"invalid user name {user!r}",
                         hint="a Linux login name: lowercase letters, digits, '_' or '-', "
                              "starting with a letter or '_' (at most 32 characters)")
    return user


@dataclass
class NodeFacts:
    user: str
    home: str
    dgx_name: str | None
    dgx_version: str | None
    os: str | None
    address: str | None
    interface: str | None
    changes: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


class StepFailed(Exception):
    """A step on the node failed; the message says what and why."""


def facts_and_key(session: NodeSession, public_line: str) -> NodeFacts:
    command = (f"python3 -c {shlex.quote(_FACTS_AND_KEY)} "
               f"{shlex.quote(json.dumps({'key': public_line}))}")
    done = session.run(command, STEP_TIMEOUT_S)
    if not done.ok:
        raise StepFailed(f"reading facts / installing the key failed: {_why(done)}")
    try:
        data = json.loads(done.out.strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise StepFailed(f"unexpected answer from the node: {done.out[-200:]!r}") from None
    return NodeFacts(user=data["user"], home=data["home"], dgx_name=data.get("dgx_name"),
                     dgx_version=data.get("dgx_version"), os=data.get("os"),
                     address=data.get("address"), interface=data.get("interface"),
                     changes=list(data.get("changes", [])), notes=list(data.get("notes", [])))


@dataclass
class SudoOutcome:
    state: str  # "nopasswd" | "password" | "root"
    changed: bool
    text: str


def sudo_needs_password(session: NodeSession) -> bool | None:
    """False: sudo works without a password; True: it asks; None: sudo is missing."""
    done = session.run("command -v sudo >/dev/null || exit 127; sudo -n true", STEP_TIMEOUT_S)
    if done.rc == 127:
        return None
    return not done.ok


def _sudo(session: NodeSession, script_and_args: list[str], password: Secret | None,
          needs_password: bool) -> Output:
    if needs_password:
        command = shlex.join(["sudo", "-S", "-p", "", "--", *script_and_args])
        return session.run(command, STEP_TIMEOUT_S,
                           stdin=(password.reveal() + "\n").encode() if password else None)
    return session.run(shlex.join(["sudo", "-n", "--", *script_and_args]), STEP_TIMEOUT_S)


def configure_sudo(session: NodeSession, user: str, mode: str, password: Secret) -> SudoOutcome:
    if user == "root":
        return SudoOutcome("root", False, "root: no sudo needed")
    needs = sudo_needs_password(session)
    if needs is None:
        raise StepFailed("sudo is not installed on the node")
    if mode == "keep":
        if not needs:
            return SudoOutcome("nopasswd", False, "works without a password (left as is)")
        done = _sudo(session, ["true"], password, True)
        if not done.ok:
            raise StepFailed(f"sudo refused the password for {user}: {_sudo_why(done)}")
        return SudoOutcome("password", False,
                           "asks for the password (left as is): pass -K or "
                           "--become-password-stdin to provision")
    line = f"{user} ALL=(ALL:ALL) NOPASSWD: ALL"
    done = _sudo(session, ["sh", "-c", _SUDOERS, "sparkctl-bootstrap", user, line], password,
                 needs)
    marker = next((ln for ln in done.out.splitlines() if ln.startswith("SUDOERS=")), "")
    if marker == "SUDOERS=unchanged":
        return SudoOutcome("nopasswd", False,
                           f"no password needed (/etc/sudoers.d/sparkctl-{user} already set)")
    if marker == "SUDOERS=written" and done.ok:
        return SudoOutcome("nopasswd", True,
                           f"no password needed: wrote /etc/sudoers.d/sparkctl-{user}")
    if marker.startswith("SUDOERS=invalid"):
        raise StepFailed("visudo rejected the sudoers file; nothing was installed: "
                         + marker.split(" ", 1)[-1])
    if marker.startswith("SUDOERS=error"):
        raise StepFailed("writing the sudoers file failed; nothing was installed: "
                         + marker.split(" ", 1)[-1])
    raise StepFailed(f"sudo refused for {user}: {_sudo_why(done)}")


def _why(done: Output) -> str:
    text = (done.err or done.out).strip().splitlines()
    return text[-1] if text else f"exit {done.rc}"


def _sudo_why(done: Output) -> str:
    err = done.err
    if "not in the sudoers" in err or "is not allowed" in err:
        return "the user may not use sudo (not in the sudoers file / sudo group)"
    if "incorrect password" in err or "Sorry, try again" in err or "no password" in err:
        return "wrong password"
    return _why(done)
