"""The uninstall manifest: sparkctl_files records what it creates or changes (and what the
role says other tasks create), sparkctl_uninstall puts everything back. Real modules run by
ansible-playbook on localhost, in a scratch directory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from sparkctl.render.bundle import content_dir

ROLES = content_dir("playbooks") / "roles"

_PLAY = """\
- hosts: localhost
  connection: local
  gather_facts: false
  vars: {ansible_python_interpreter: "{{ ansible_playbook_python }}"}
  roles: [sparkctl_common]
  tasks:
    - name: Converge
      sparkctl_files:
        manifest: "{{ out }}/state/sparkctl/manifest.json"
        directories: [{path: "{{ out }}/etc/sparkctl", mode: "0755"}]
        files:
          - {path: "{{ out }}/etc/sparkctl/nccl.env", content: "A=1\\n", mode: "0644"}
          - {path: "{{ out }}/etc/default/earlyoom", content: "ARGS=-m 5\\n", mode: "0644"}
        lines: [{path: "{{ out }}/home/.ssh/authorized_keys", line: "ssh-ed25519 MESH m",
                 mode: "0600"}]
        blocks:
          - {path: "{{ out }}/home/.ssh/known_hosts", marker: "sparkctl x", block: "n k",
             mode: "0644"}
        record:
          - {kind: tree, path: "{{ out }}/opt/sparkctl", group: nccl}
          - {kind: tree, path: "{{ out }}/home"}
      register: converge
      when: step == 'converge'
    - name: Build into the recorded tree
      ansible.builtin.file: {path: "{{ out }}/opt/sparkctl/nccl/lib", state: directory,
                             mode: "0755"}
      when: step == 'converge'
    - name: Uninstall
      sparkctl_uninstall:
        manifest: "{{ out }}/state/sparkctl/manifest.json"
        keep_groups: "{{ keep }}"
      register: uninstall
      when: step == 'uninstall'
    - name: Report
      ansible.builtin.copy:
        content: "{{ {'converge': converge, 'uninstall': uninstall} | to_json }}"
        dest: "{{ out }}/result-{{ step }}.json"
        mode: "0644"
      check_mode: false
"""


def _play(tmp_path: Path, step: str, keep=(), *flags: str) -> dict:
    play = tmp_path / "play.yml"
    play.write_text(_PLAY)
    out = tmp_path / "root"
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,", str(play),
         "-e", json.dumps({"out": str(out), "step": step, "keep": list(keep)}), *flags],
        capture_output=True, text=True, timeout=120,
        env={**os.environ, "ANSIBLE_ROLES_PATH": str(ROLES)})
    assert proc.returncode == 0, proc.stdout[-3000:]
    return json.loads((out / f"result-{step}.json").read_text())


def _tree(root: Path) -> dict[str, tuple]:
    """path -> (mode, content) of everything under root but the play's reports."""
    out = {}
    for path in sorted(root.rglob("*")):
        if path.name.startswith("result-"):
            continue
        st = path.lstat()
        out[str(path.relative_to(root))] = (st.st_mode & 0o7777, path.read_text()
                                            if path.is_file() else None)
    return out


def _before(tmp_path: Path) -> dict:
    root = tmp_path / "root"
    (root / "etc/default").mkdir(parents=True)
    (root / "etc/default/earlyoom").write_text("ARGS=-r 3600\n")  # the package's file
    (root / "etc/default/earlyoom").chmod(0o640)
    (root / "home/.ssh").mkdir(parents=True, mode=0o700)
    (root / "home/.ssh/authorized_keys").write_text("ssh-ed25519 USER u\n")
    (root / "home/.ssh/authorized_keys").chmod(0o644)  # sparkctl_files makes it 0600
    (root / "opt").mkdir()
    return _tree(root)


def test_uninstall_returns_every_listed_path_to_its_state_before(tmp_path):
    before = _before(tmp_path)
    first = _play(tmp_path, "converge")["converge"]
    assert first["changed"] is True
    manifest = json.loads((tmp_path / "root/state/sparkctl/manifest.json").read_text())
    kinds = [(e["kind"], Path(e.get("path", "")).name) for e in manifest["entries"]]
    # the manifest's own directories first (created with it), then in creation order
    assert kinds[:2] == [("directory", "state"), ("directory", "sparkctl")]
    assert ("tree", "sparkctl") in kinds and ("file", "earlyoom") in kinds
    # the tree "home" existed: sparkctl never claims it
    assert ("tree", "home") not in kinds
    earlyoom = next(e for e in manifest["entries"] if e.get("path", "").endswith("earlyoom"))
    assert earlyoom["existed"] is True and earlyoom["mode"] == "0640"
    again = _play(tmp_path, "converge")["converge"]
    assert again["changed"] is False
    assert json.loads((tmp_path / "root/state/sparkctl/manifest.json").read_text()) == manifest

    kept = _play(tmp_path, "uninstall", ("nccl",))["uninstall"]
    assert any("--keep-nccl" in line for line in kept["left"])
    after = _tree(tmp_path / "root")
    assert "opt/sparkctl/nccl/lib" in after
    assert "etc/sparkctl/nccl.env" not in after
    left = json.loads((tmp_path / "root/state/sparkctl/manifest.json").read_text())
    # what was kept, and the directories that hold the manifest
    assert [e["kind"] for e in left["entries"]] == ["directory", "directory", "tree"]

    result = _play(tmp_path, "uninstall")["uninstall"]  # later, without --keep-nccl
    assert result["changed"] is True and result["left"] == []
    assert _tree(tmp_path / "root") == before
