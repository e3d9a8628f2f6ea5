"""The previews sparkctl renders in Python are byte-for-byte what the roles write on the
nodes: the same role templates rendered by ansible-playbook's template lookup (as the roles
pass them to sparkctl_files), connection local, into a temporary directory, with the
bundle's own inventory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sparkctl.render.bundle import PREVIEWS, render_bundle
from sparkctl.targets import resolve_target

_PLAYBOOK = """\
- hosts: sparks
  connection: local
  gather_facts: false
  vars_files: [roles/network/defaults/main.yml, roles/ssh_mesh/defaults/main.yml,
               roles/mpi/defaults/main.yml, roles/nccl/defaults/main.yml]
  vars:
    ansible_python_interpreter: "{{ ansible_playbook_python }}"
    ssh_config: roles/ssh_mesh/templates/ssh_config.j2
  tasks:
    - ansible.builtin.file: {path: "{{ out }}/{{ inventory_hostname }}", state: directory}
    - ansible.builtin.copy:
        content: "{{ lookup('ansible.builtin.template', tpl) }}"
        dest: "{{ out }}/{{ inventory_hostname }}/{{ item.name }}"
        mode: "0644"
      vars:
        tpl: "roles/{{ item.role }}/templates/{{ item.template }}"
      loop: "{{ files | rejectattr('name', 'equalto', 'ssh_config') }}"
    # ssh_config goes on the node as a blockinfile block: the trimmed template.
    - ansible.builtin.copy:
        content: "{{ lookup('ansible.builtin.template', ssh_config) | trim }}\\n"
        dest: "{{ out }}/{{ inventory_hostname }}/ssh_config"
        mode: "0644"
"""


@pytest.mark.parametrize("topology", ["switch4"])  # ~10 s each; switch4 covers every branch
def test_previews_equal_ansible_template_output(tmp_path: Path, topology: str):
    bundle = render_bundle(resolve_target(topology=topology), tmp_path / "bundle")
    (bundle.root / "check.yml").write_text(_PLAYBOOK)
    files = [{"name": n, "role": r, "template": t} for n, (r, t) in PREVIEWS.items()]
    out = tmp_path / "ansible"


    proc = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), "-i", "inventory.yml",
         "check.yml", "-e", json.dumps({"out": str(out), "files": files})],
        cwd=bundle.root, capture_output=True, text=True, timeout=120,
        env={**os.environ, "ANSIBLE_CONFIG": str(bundle.config)})
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    for host in bundle.hosts:
        for name in PREVIEWS:
            ours = (bundle.root / "preview" / host / name).read_text()
            theirs = (out / host / name).read_text()
            assert ours == theirs, f"{topology} {host} {name}: preview differs from Ansible"
