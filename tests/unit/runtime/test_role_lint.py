"""ansible-lint (production profile) on the runtime playbook and role, and the role's
templates rendered by Ansible itself equal sparkctl's render byte for byte."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from sparkctl.render.bundle import content_dir
from sparkctl.runtime.prepare import prepare_launch
from sparkctl.runtime.render import node_files, role_vars

BIN = Path(sys.executable).parent
REPO = Path(__file__).resolve().parents[3]  # the checkout: .ansible-lint and playbooks/
LINT = BIN / "ansible-lint"
pytestmark = pytest.mark.slow


def _lint(cwd: Path, *paths: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(LINT), "--nocolor", *paths], cwd=cwd, capture_output=True,
                          text=True, timeout=300)


@pytest.mark.skipif(not LINT.exists(), reason="ansible-lint not installed")
def test_lint_catches_a_command_without_changed_when(tmp_path):
    shutil.copytree(REPO / "playbooks", tmp_path / "playbooks",
                    ignore=shutil.ignore_patterns("molecule"))
    shutil.copy(REPO / ".ansible-lint", tmp_path / ".ansible-lint")
    tasks = tmp_path / "playbooks/roles/runtime/tasks/down.yml"
    tasks.write_text(tasks.read_text() + "\n- name: Restart docker\n  ansible.builtin.command:"
                     "\n    argv: [systemctl, restart, docker]\n")
    proc = _lint(tmp_path, "playbooks/roles/runtime")
    assert proc.returncode != 0
    assert "no-changed-when" in proc.stdout + proc.stderr


_PLAYBOOK = """\
- hosts: sparks
  connection: local
  gather_facts: false
  vars_files: [roles/runtime/defaults/main.yml]
  vars:
    ansible_python_interpreter: "{{ ansible_playbook_python }}"
    runtime_node: "{{ runtime_nodes[inventory_hostname] }}"
  tasks:
    - ansible.builtin.file: {path: "{{ out }}/{{ inventory_hostname }}", state: directory}
    - ansible.builtin.template:
        src: "roles/runtime/templates/{{ item }}.j2"
        dest: "{{ out }}/{{ inventory_hostname }}/{{ item }}"
        mode: "0644"
      loop: [launch.sh, runtime.env]
"""


@pytest.mark.skipif(not (BIN / "ansible-playbook").exists(), reason="ansible not installed")
def test_ansible_writes_what_sparkctl_renders(tmp_path, target):
    plan = prepare_launch(target("ring3"), "trtllm", model="openai/gpt-oss-120b", tp="1",
                          pp=3)
    work = tmp_path / "work"
    shutil.copytree(content_dir("playbooks") / "roles", work / "roles")
    hosts = {n.name: {"ansible_host": "127.0.0.1"} for n in plan.nodes}
    (work / "inventory.yml").write_text(yaml.safe_dump(
        {"all": {"children": {"sparks": {"hosts": hosts}}}}))
    (work / "check.yml").write_text(_PLAYBOOK)
    (work / "vars.json").write_text(json.dumps({**role_vars(plan), "out": str(tmp_path / "a")}))
    proc = subprocess.run(
        [str(BIN / "ansible-playbook"), "-i", "inventory.yml", "check.yml", "-e", "@vars.json"],
        cwd=work, capture_output=True, text=True, timeout=180,
        env={**os.environ, "ANSIBLE_NOCOLOR": "1", "ANSIBLE_HOST_KEY_CHECKING": "0"})
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    expected = node_files(plan)
    compared = 0
    for node in plan.nodes:
        for name in ("launch.sh", "runtime.env"):
            got = (tmp_path / "a" / node.name / name).read_text()
            assert got == expected[f"{node.name}/{name}"][0], f"{node.name}/{name}"
            compared += 1
    assert compared == 6
