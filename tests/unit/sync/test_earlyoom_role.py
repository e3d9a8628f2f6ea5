"""The earlyoom role's arguments, as Ansible renders them, and its refusal of bad ones
(ansible-playbook, connection local; the role's install and service steps run in the lab:
tests/integration/sync/test_earlyoom_lab.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sparkctl.render.bundle import content_dir

ROLE = content_dir("playbooks") / "roles" / "earlyoom"
PLAYBOOK = Path(sys.executable).parent / "ansible-playbook"
pytestmark = pytest.mark.skipif(not PLAYBOOK.exists(), reason="ansible-playbook not installed")

_RENDER = """\
- hosts: localhost
  connection: local
  gather_facts: false
  vars_files: [{role}/defaults/main.yml]
  vars:
    ansible_python_interpreter: "{{{{ ansible_playbook_python }}}}"
    tpl: "{role}/templates/earlyoom.default.j2"
  tasks:
    - ansible.builtin.copy:
        content: "{{{{ lookup('ansible.builtin.template', tpl) }}}}"
        dest: "{{{{ out }}}}"
        mode: "0644"
"""

_CHECK = """\
- hosts: localhost
  connection: local
  gather_facts: false
  roles: [earlyoom]
"""


def play(tmp_path: Path, text: str, extra: dict) -> subprocess.CompletedProcess:
    book = tmp_path / "play.yml"
    book.write_text(text.format(role=ROLE))
    return subprocess.run([str(PLAYBOOK), "-i", "localhost,", str(book), "-e", json.dumps(extra)],
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "ANSIBLE_HOST_KEY_CHECKING": "True",
                               "ANSIBLE_NOCOLOR": "1", "ANSIBLE_ROLES_PATH": str(ROLE.parent)})


def test_rendered_arguments_carry_the_thresholds_and_their_reasons(tmp_path):
    out = tmp_path / "earlyoom"
    done = play(tmp_path, _RENDER, {"out": str(out)})
    assert done.returncode == 0, done.stdout[-2000:]
    text = out.read_text()
    args = [line for line in text.splitlines() if line.startswith("EARLYOOM_ARGS=")]
    assert args == ['EARLYOOM_ARGS="-m 6,3 -s 100,100 -r 3600 '
                    '--prefer (vllm|VLLM|sglang|trtllm|tritonserver|llama-server|ray|python|'
                    'all_reduce_perf|all_gather_perf) '
                    '--avoid (systemd|sshd|dockerd|containerd|dbus-daemon|NetworkManager|'
                    'earlyoom)"']
    assert "SIGTERM at 6 % available memory, SIGKILL at 3 %" in text
    assert "128 GB unified pool" in text
    # what systemd and /bin/sh make of it: plain words, no quotes left inside
    sourced = subprocess.run(["sh", "-c", f'set -f; . {out}; for a in $EARLYOOM_ARGS; do '
                              'echo "$a"; done'], capture_output=True, text=True, check=True)
    words = sourced.stdout.split("\n")
    assert words[:4] == ["-m", "6,3", "-s", "100,100"]
    assert words[words.index("--avoid") + 1].startswith("(systemd|sshd|")


def test_defaults_explain_every_threshold():
    text = (ROLE / "defaults" / "main.yml").read_text()
    for name in ("earlyoom_mem_term_percent", "earlyoom_mem_kill_percent",
                 "earlyoom_swap_term_percent"):
        before = text[:text.index(name + ":")].rstrip().splitlines()[-1]
        assert before.startswith("#"), f"{name} has no reason written above it"
    assert "spark-arena/sparkrun@" in text and "-m 2 -s 80" in text


@pytest.mark.parametrize(("extra", "why"), [
    ({"earlyoom_mem_kill_percent": 8}, "earlyoom_mem_kill_percent < earlyoom_mem_term_percent"),
    ({"earlyoom_prefer": ["my app"]}, "without spaces"),
    ({"earlyoom_avoid": ["$(reboot)"]}, "without spaces"),
])
def test_bad_thresholds_or_patterns_stop_the_role_before_it_touches_anything(tmp_path, extra,
                                                                             why):
    done = play(tmp_path, _CHECK, extra)
    assert done.returncode != 0
    assert why in done.stdout
    assert "Find whether earlyoom is installed" not in done.stdout  # stopped at the check
