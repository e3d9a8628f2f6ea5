#!/usr/bin/python
# ruff: noqa: E402  (Ansible modules put DOCUMENTATION before the imports)
"""Directories, whole files, single lines and marked blocks of one role, in one round trip.

ansible.builtin.template/copy/file/lineinfile/blockinfile each cost one or two module runs
per file (stat, then copy or file); on a 2-core controller driving four nodes that is most
of a converged run. This module does the same checks and writes for a list of items in a
single run: compare, write atomically only what differs, fix modes and owners, report a diff.
"""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: sparkctl_files
short_description: Converge directories, files, lines and marked blocks in one module run
options:
  directories:
    description: Items with C(path), C(mode), optional C(owner), C(group).
    type: list
    elements: dict
    default: []
  files:
    description: >-
      Items with C(path), C(content), C(mode), optional C(owner), C(group), C(secret)
      (no content in the diff) and C(validate) (a command with %s for the candidate).
    type: list
    elements: dict
    default: []
  lines:
    description: >-
      Items with C(path), C(line), C(mode): the line is present (appended if not).
    type: list
    elements: dict
    default: []
  blocks:
    description: >-
      Items with C(path), C(marker) (a name), C(block), C(mode) and C(position) (top or
      bottom): the text between '# BEGIN marker' and '# END marker' is C(block).
    type: list
    elements: dict
    default: []
  record:
    description: >-
      Things other tasks of the role create, for the uninstall manifest: items with C(kind)
      (C(tree), C(file), C(unit) or C(package)), C(path) or C(name) (or C(names), a list),
      optional C(group) (what C(sparkctl uninstall --keep-GROUP) leaves). A tree or file is
      recorded only while it does not exist yet (sparkctl never claims what was there before it).
    type: list
    elements: dict
    default: []
  manifest:
    description: >-
      The uninstall manifest this run adds to. Default - /var/lib/sparkctl/manifest.json as
      root, ~/.local/state/sparkctl/manifest.json as any other user.
    type: path
author: sparkctl
"""

RETURN = r"""
changed_paths:
  description: Paths that were (or in check mode would be) changed.
  type: list
  elements: str
  returned: always
"""

import grp
import hashlib
import json
import os
import pwd
import shlex
import tempfile

from ansible.module_utils.basic import AnsibleModule

SYSTEM_MANIFEST = "/var/lib/sparkctl/manifest.json"
USER_MANIFEST = "~/.local/state/sparkctl/manifest.json"


def manifest_path(given=None):
    if given:
        return os.path.expanduser(given)
    return SYSTEM_MANIFEST if os.geteuid() == 0 else os.path.expanduser(USER_MANIFEST)


def entry_key(entry):
    return "|".join(str(entry.get(k, "")) for k in ("kind", "path", "name", "marker", "line"))


class Manifest:
    """What sparkctl created on this node, in creation order, for `sparkctl uninstall`.
    An entry is added once (the first time sparkctl changes that thing) and says whether
    the thing existed before; a file that did is backed up next to the manifest."""

    def __init__(self, path):
        self.path = path
        self.new = []
        try:
            with open(path, encoding="utf-8") as handle:
                self.data = json.load(handle)
        except FileNotFoundError:
            self.data = {"format": 1, "entries": []}
        self.keys = {entry_key(e) for e in self.data["entries"]}

    def add(self, entry, backup_text=None):
        key = entry_key(entry)
        if key in self.keys:
            return
        if backup_text is not None:
            entry["backup"] = hashlib.sha256(entry["path"].encode()).hexdigest()[:16]
            entry["_backup_text"] = backup_text
        self.keys.add(key)
        self.new.append(entry)

    def save(self):
        if not self.new:
            return
        directory = os.path.dirname(self.path)
        # The manifest's own directories are sparkctl's too (parents first).
        created, parent = [], directory
        while parent and parent != "/" and not os.path.isdir(parent):
            created.insert(0, parent)
            parent = os.path.dirname(parent)
        self.new[:0] = [{"kind": "directory", "path": d, "existed": False} for d in created
                        if entry_key({"kind": "directory", "path": d}) not in self.keys]
        os.makedirs(os.path.join(directory, "backups"), mode=0o700, exist_ok=True)
        for entry in self.new:
            text = entry.pop("_backup_text", None)
            if text is not None:
                _atomic(os.path.join(directory, "backups", entry["backup"]), text, 0o600)
        self.data["entries"].extend(self.new)
        _atomic(self.path, json.dumps(self.data, indent=1) + "\n", 0o600)


def _atomic(path, text, mode):
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.",
                               dir=os.path.dirname(path))
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


class Converger:
    def __init__(self, module, manifest=None):
        self.module = module
        self.check = module.check_mode
        self.changed = []
        self.diffs = []
        self.manifest = manifest

    # -- helpers -------------------------------------------------------------------------
    def _mode(self, item):
        mode = item.get("mode")
        return int(str(mode), 8) if mode is not None else None

    def _ids(self, item):
        uid = pwd.getpwnam(item["owner"]).pw_uid if item.get("owner") else -1
        gid = grp.getgrnam(item["group"]).gr_gid if item.get("group") else -1
        return uid, gid

    def _attributes(self, path, item):
        """Fix mode/owner of an existing path; True when something differed."""
        if not os.path.exists(path):
            return False
        st = os.stat(path)
        mode = self._mode(item)
        uid, gid = self._ids(item)
        differs = False
        if mode is not None and (st.st_mode & 0o7777) != mode:
            differs = True
            if not self.check:
                os.chmod(path, mode)
        if (uid != -1 and st.st_uid != uid) or (gid != -1 and st.st_gid != gid):
            differs = True
            if not self.check:
                os.chown(path, uid, gid)
        return differs

    def _read(self, path):
        try:
            with open(path, encoding="utf-8") as handle:
                return handle.read()
        except FileNotFoundError:
            return None

    def _write(self, path, text, item):
        directory = os.path.dirname(path) or "."
        fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", dir=directory)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
            mode = self._mode(item)
            os.chmod(tmp, mode if mode is not None else 0o644)
            uid, gid = self._ids(item)
            if uid != -1 or gid != -1:
                os.chown(tmp, uid, gid)
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise

    def _validate(self, item, text):
        command = item.get("validate")
        if not command:
            return
        fd, tmp = tempfile.mkstemp(prefix=".sparkctl-validate.")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
            argv = [arg.replace("%s", tmp) for arg in shlex.split(command)]
            rc, out, err = self.module.run_command(argv, check_rc=False)
            if rc != 0:
                self.module.fail_json(msg=f"validation of {item['path']} failed: {command}",
                                      rc=rc, stdout=out, stderr=err)
        finally:
            os.unlink(tmp)

    def _record(self, entry, backup_text=None):
        if self.manifest is not None and not self.check:
            self.manifest.add(entry, backup_text)

    def _converge_text(self, path, before, after, item, secret=False, entry=None):
        if before != after:
            if entry is not None:
                entry = {**entry, "path": path, "file_existed": before is not None}
                if before is not None:  # a mode fixed for sshd goes back too
                    entry["mode"] = f"{os.stat(path).st_mode & 0o7777:04o}"
                self._record(entry)
            else:
                entry = {"kind": "file", "path": path, "existed": before is not None}
                if before is not None:
                    st = os.stat(path)
                    entry.update(mode=f"{st.st_mode & 0o7777:04o}", uid=st.st_uid,
                                 gid=st.st_gid)
                self._record(entry, backup_text=before)
            self._validate(item, after)
            self.changed.append(path)
            self.diffs.append({
                "before_header": path, "after_header": path,
                "before": "(secret)\n" if secret and before is not None else (before or ""),
                "after": "(secret)\n" if secret else after})
            if not self.check:
                self._write(path, after, item)
        elif self._attributes(path, item):
            self.changed.append(path)

    # -- item kinds ----------------------------------------------------------------------
    def directory(self, item):
        path = os.path.expanduser(item["path"])
        if not os.path.isdir(path):
            self.changed.append(path)
            self._record({"kind": "directory", "path": path, "existed": False})
            if not self.check:
                os.makedirs(path, exist_ok=True)
                mode = self._mode(item)
                os.chmod(path, mode if mode is not None else 0o755)
                uid, gid = self._ids(item)
                if uid != -1 or gid != -1:
                    os.chown(path, uid, gid)
        elif self._attributes(path, item):
            self.changed.append(path)

    def file(self, item):
        path = os.path.expanduser(item["path"])
        self._converge_text(path, self._read(path), item["content"], item,
                            secret=bool(item.get("secret")))

    def line(self, item):
        path = os.path.expanduser(item["path"])
        before = self._read(path)
        text = before or ""
        if item["line"] in text.splitlines():
            after = text
        else:
            after = text + ("" if not text or text.endswith("\n") else "\n") + item["line"] + "\n"
        self._converge_text(path, before, after, item,
                            entry={"kind": "line", "line": item["line"]})

    def block(self, item):
        path = os.path.expanduser(item["path"])
        before = self._read(path)
        text = before or ""
        begin, end = f"# BEGIN {item['marker']}", f"# END {item['marker']}"
        body = item["block"].rstrip("\n")
        new = f"{begin}\n{body}\n{end}\n" if body else f"{begin}\n{end}\n"
        lines = text.splitlines(keepends=True)
        stripped = [ln.rstrip("\n") for ln in lines]
        if begin in stripped and end in stripped[stripped.index(begin):]:
            start = stripped.index(begin)
            stop = start + stripped[start:].index(end)
            after = "".join(lines[:start]) + new + "".join(lines[stop + 1:])
        elif item.get("position", "bottom") == "top":
            after = new + text
        else:
            after = text + ("" if not text or text.endswith("\n") else "\n") + new
        self._converge_text(path, before, after, item,
                            entry={"kind": "block", "marker": item["marker"]})

    def recorded(self, item):
        """Something another task creates: claimed only while it does not exist yet (a
        package: while dpkg does not have it installed; the role passes that)."""
        if item.get("names"):
            for name in item["names"]:
                self.recorded({**{k: v for k, v in item.items() if k != "names"},
                               "name": name})
            return
        entry = {k: item[k] for k in ("kind", "path", "name", "group") if item.get(k)}
        if entry.get("path"):
            entry["path"] = os.path.expanduser(entry["path"])
            if os.path.lexists(entry["path"]):
                return
        self._record(entry)


def main():
    kinds = ("directories", "files", "lines", "blocks", "record")
    spec = {k: {"type": "list", "elements": "dict", "default": []} for k in kinds}
    spec["manifest"] = {"type": "path", "default": None}
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    manifest = Manifest(manifest_path(module.params["manifest"]))
    converger = Converger(module, manifest)
    for item in module.params["record"]:
        converger.recorded(item)
    for item in module.params["directories"]:
        converger.directory(item)
    for item in module.params["files"]:
        converger.file(item)
    for item in module.params["lines"]:
        converger.line(item)
    for item in module.params["blocks"]:
        converger.block(item)
    if not module.check_mode:
        manifest.save()
    result = {"changed": bool(converger.changed), "changed_paths": converger.changed}
    if converger.diffs:
        result["diff"] = converger.diffs
    module.exit_json(**result)


if __name__ == "__main__":
    main()
