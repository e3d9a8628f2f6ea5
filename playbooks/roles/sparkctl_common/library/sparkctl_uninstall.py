#!/usr/bin/python
# ruff: noqa: E402  (Ansible modules put DOCUMENTATION before the imports)
"""Undo what sparkctl_files recorded in a node's uninstall manifest, newest first."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: sparkctl_uninstall
short_description: Remove what sparkctl created on a node, from its uninstall manifest
description:
  - Reads the manifest sparkctl_files keeps (/var/lib/sparkctl/manifest.json as root,
    ~/.local/state/sparkctl/manifest.json as any other user) and undoes its entries newest
    first - files sparkctl created are deleted, files it changed get their backed-up content
    and mode back, lines and marked blocks leave their files (a file sparkctl created goes
    when it is empty), units are stopped and disabled, packages sparkctl installed are
    purged, trees removed, and directories sparkctl created are removed when empty.
  - Then the manifest and its backups go, with the directories sparkctl made for them.
options:
  manifest:
    description: The manifest (default by user, as above).
    type: path
  keep_groups:
    description: Entries of these groups stay (C(nccl) - the NCCL build prefix).
    type: list
    elements: str
    default: []
author: sparkctl
"""

RETURN = r"""
removed:
  description: What was removed or put back, one line each.
  type: list
  elements: str
  returned: always
left:
  description: What stayed, and why (a directory that holds other files, a kept group).
  type: list
  elements: str
  returned: always
"""

import json
import os
import shutil
import tempfile

from ansible.module_utils.basic import AnsibleModule

SYSTEM_MANIFEST = "/var/lib/sparkctl/manifest.json"
USER_MANIFEST = "~/.local/state/sparkctl/manifest.json"
COMMAND_TIMEOUT_S = 300


def read(path):
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except FileNotFoundError:
        return None


def without_line(text, line):
    kept = [ln for ln in text.splitlines(keepends=True) if ln.rstrip("\n") != line]
    return "".join(kept)


def without_block(text, marker):
    begin, end = f"# BEGIN {marker}", f"# END {marker}"
    out, inside = [], False
    for ln in text.splitlines(keepends=True):
        bare = ln.rstrip("\n")
        if bare == begin:
            inside = True
        elif inside and bare == end:
            inside = False
        elif not inside:
            out.append(ln)
    return "".join(out)


class Undo:
    def __init__(self, module, manifest_path):
        self.module = module
        self.check = module.check_mode
        self.path = manifest_path
        self.removed, self.left = [], []
        self.daemon_reload = False

    def write(self, path, text, mode, uid=-1, gid=-1):
        if self.check:
            return
        fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.",
                                   dir=os.path.dirname(path))
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
            os.chmod(tmp, mode)
            if uid != -1 or gid != -1:
                os.chown(tmp, uid, gid)
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise

    def unlink(self, path, why):
        if os.path.lexists(path):
            if not self.check:
                os.unlink(path)
            self.removed.append(f"removed {path} ({why})")

    def edited(self, entry, after):
        path = entry["path"]
        before = read(path)
        if before is None or before == after:
            return
        if not entry.get("file_existed") and not after.strip():
            self.unlink(path, "sparkctl created it; nothing else is in it")
            return
        mode = int(entry["mode"], 8) if entry.get("mode") else os.stat(path).st_mode & 0o7777
        self.write(path, after, mode)
        what = entry.get("marker") or entry.get("line", "")[:40]
        self.removed.append(f"{path}: removed sparkctl's {entry['kind']} {what!r}")

    # -- entry kinds ----------------------------------------------------------------------
    def file(self, entry):
        path = entry["path"]
        if not entry.get("existed"):
            self.unlink(path, "sparkctl created it")
            return
        backup = os.path.join(os.path.dirname(self.path), "backups", entry.get("backup", ""))
        text = read(backup) if entry.get("backup") else None
        if text is None:
            self.left.append(f"{path}: existed before sparkctl, but its backup is missing")
            return
        if read(path) != text or not os.path.exists(path):
            self.write(path, text, int(entry["mode"], 8), entry.get("uid", -1),
                       entry.get("gid", -1))
            self.removed.append(f"{path}: put back as it was before sparkctl")

    def line(self, entry):
        text = read(entry["path"])
        if text is not None:
            self.edited(entry, without_line(text, entry["line"]))

    def block(self, entry):
        text = read(entry["path"])
        if text is not None:
            self.edited(entry, without_block(text, entry["marker"]))

    def tree(self, entry):
        path = entry["path"]
        if os.path.lexists(path):
            if not self.check:
                shutil.rmtree(path) if os.path.isdir(path) and not os.path.islink(path) \
                    else os.unlink(path)
            self.removed.append(f"removed {path} (sparkctl created it)")

    def unit(self, entry):
        systemctl = self.module.get_bin_path("systemctl")
        if systemctl is None:
            return
        name = entry["name"]
        rc, out, _ = self.module.run_command([systemctl, "is-enabled", name], check_rc=False)
        active = self.module.run_command([systemctl, "is-active", name], check_rc=False)[0] == 0
        if out.strip() in ("enabled", "static", "linked") or active:
            if not self.check:
                self.module.run_command([systemctl, "disable", "--now", name], check_rc=False)
            self.removed.append(f"stopped and disabled {name}")
        self.daemon_reload = True

    def package(self, entry):
        dpkg = self.module.get_bin_path("dpkg-query")
        if dpkg is None:
            return
        rc, out, _ = self.module.run_command([dpkg, "-W", "-f", "${db:Status-Status}",
                                              entry["name"]], check_rc=False)
        if rc != 0 or out.strip() != "installed":
            return
        if not self.check:
            rc, out, err = self.module.run_command(
                ["apt-get", "purge", "-y", "-q", entry["name"]], check_rc=False,
                environ_update={"DEBIAN_FRONTEND": "noninteractive"})
            if rc != 0:
                self.module.fail_json(msg=f"apt-get purge {entry['name']} failed: "
                                      f"{err.strip()[-400:]}", removed=self.removed)
        self.removed.append(f"purged package {entry['name']} (sparkctl installed it)")

    def directory(self, entry):
        path = entry["path"]
        if entry.get("existed") or not os.path.isdir(path):
            return
        if os.listdir(path):
            self.left.append(f"{path}: sparkctl created it, but it holds files sparkctl "
                             "did not write: " + ", ".join(sorted(os.listdir(path))[:5]))
            return
        if not self.check:
            os.rmdir(path)
        self.removed.append(f"removed directory {path}")


def main():
    module = AnsibleModule(
        argument_spec={"manifest": {"type": "path", "default": None},
                       "keep_groups": {"type": "list", "elements": "str", "default": []}},
        supports_check_mode=True,
    )
    path = os.path.expanduser(module.params["manifest"] or (
        SYSTEM_MANIFEST if os.geteuid() == 0 else USER_MANIFEST))
    text = read(path)
    if text is None:
        module.exit_json(changed=False, removed=[], left=[], manifest=path,
                         msg=f"no manifest at {path}: sparkctl recorded nothing here")
    try:
        entries = json.loads(text)["entries"]
    except (ValueError, KeyError, TypeError) as exc:
        module.fail_json(msg=f"{path} is not a sparkctl manifest ({exc}); nothing was removed")
    keep = set(module.params["keep_groups"])
    undo = Undo(module, path)
    kept = [e for e in entries if e.get("group") in keep]
    for entry in kept:
        undo.left.append(f"{entry.get('path') or entry.get('name')}: kept "
                         f"(--keep-{entry['group']})")
    todo = [e for e in entries if e.get("group") not in keep]
    # Directories last (they must be empty), each list newest first.
    for entry in reversed([e for e in todo if e["kind"] != "directory"]):
        handler = getattr(undo, entry.get("kind", ""), None)
        if handler is None or entry["kind"] == "directory":
            undo.left.append(f"unknown manifest entry {entry!r}: left alone")
            continue
        handler(entry)
    if undo.daemon_reload and not module.check_mode:
        module.run_command(["systemctl", "daemon-reload"], check_rc=False)
    if kept:
        # The manifest stays for what was kept, and so do the directories that hold it.
        holders = {os.path.dirname(path)}
        while os.path.dirname(min(holders, key=len)) not in ("", "/"):
            holders.add(os.path.dirname(min(holders, key=len)))
        own = [e for e in todo if e["kind"] == "directory" and e["path"] in holders]
        todo = [e for e in todo if e not in own]
        undo.write(path, json.dumps({"format": 1, "entries": own + kept}, indent=1) + "\n",
                   0o600)
    else:
        backups = os.path.join(os.path.dirname(path), "backups")
        if os.path.isdir(backups) and not module.check_mode:
            shutil.rmtree(backups)
        undo.unlink(path, "the manifest itself")
    for entry in reversed([e for e in todo if e["kind"] == "directory"]):
        undo.directory(entry)
    module.exit_json(changed=bool(undo.removed), removed=undo.removed, left=undo.left,
                     manifest=path)


if __name__ == "__main__":
    main()
