"""HF_TOKEN goes from the controller's environment into one 0600 file on the node, never into
Ansible's output, and leaves when the controller no longer has it (the runtime role's
tasks/secrets.yml run by ansible-playbook, connection local)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from sparkctl.render.bundle import content_dir

TOKEN = "hf_secretsTestTokenAbc123"
_PLAY = """\
- hosts: localhost
  connection: local
  gather_facts: false
  vars: {ansible_python_interpreter: "{{ ansible_playbook_python }}"}
  tasks:
    - ansible.builtin.include_role:
        name: runtime
        tasks_from: secrets
      vars:
        runtime_dir: "{{ out }}"
"""

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the role writes root-owned files")


def _play(tmp_path: Path, token: str | None, *flags: str) -> subprocess.CompletedProcess:
    play = tmp_path / "play.yml"
    play.write_text(_PLAY)
    env = {k: v for k, v in os.environ.items() if k != "HF_TOKEN"}
    if token is not None:
        env["HF_TOKEN"] = token
    env["ANSIBLE_ROLES_PATH"] = str(content_dir("playbooks") / "roles")
    return subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,", str(play),
         "-e", f"out={tmp_path / 'node'}", "-v", *flags], capture_output=True, text=True,
        timeout=120, env=env)


def test_token_lands_in_a_0600_file_and_nowhere_in_the_output(tmp_path):
    (tmp_path / "node").mkdir()
    secrets = tmp_path / "node" / "secrets.env"
    first = _play(tmp_path, TOKEN, "--diff")
    assert first.returncode == 0, first.stdout[-3000:]
    assert secrets.read_text() == f"HF_TOKEN={TOKEN}\n"
    assert secrets.stat().st_mode & 0o777 == 0o600
    assert TOKEN not in first.stdout + first.stderr
    again = _play(tmp_path, TOKEN)
    assert again.returncode == 0 and "changed=0" in again.stdout
    gone = _play(tmp_path, None)
    assert gone.returncode == 0 and not secrets.exists()


def test_a_token_that_would_break_the_env_file_is_refused(tmp_path):
    (tmp_path / "node").mkdir()
    proc = _play(tmp_path, "hf_abc\nLD_PRELOAD=/tmp/x.so")
    assert proc.returncode != 0
    assert "is not a Hugging Face token" in proc.stdout
    assert not (tmp_path / "node" / "secrets.env").exists()
    assert "LD_PRELOAD" not in proc.stdout
