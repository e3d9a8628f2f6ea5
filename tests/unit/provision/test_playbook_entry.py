"""The one ansible-runner entry point: host keys forced on, become password through the
passwords mechanism and nowhere on disk, nodes checked before Ansible starts."""

from __future__ import annotations

import re
import socket
import sys
from pathlib import Path

import pytest
import yaml

from sparkctl.bootstrap.secrets import Secret
from sparkctl.errors import InputError, RunFailed
from sparkctl.provision.playbook import PlaybookJob, run_playbook, runner_kwargs

REPO = Path(__file__).resolve().parents[3]


def _job(tmp_path: Path, **kw) -> PlaybookJob:
    fields = {"private_data_dir": tmp_path, "project_dir": tmp_path, "playbook": "p.yml",
              "inventory": "localhost,", "envvars": {}}
    fields.update(kw)
    return PlaybookJob(**fields)


def test_host_key_checking_is_forced_on_whatever_the_caller_passes(tmp_path):
    kwargs = runner_kwargs(_job(tmp_path, envvars={"ANSIBLE_HOST_KEY_CHECKING": "False"}),
                           "localhost,", None, None)
    assert kwargs["envvars"]["ANSIBLE_HOST_KEY_CHECKING"] == "True"
    assert kwargs["suppress_env_files"] is True  # else ansible-runner writes env/passwords


def test_become_password_goes_to_passwords_only(tmp_path):
    kwargs = runner_kwargs(_job(tmp_path, become_password=Secret("s3cret-pw")), "localhost,",
                           None, None)
    assert "--ask-become-pass" in kwargs["cmdline"]
    assert list(kwargs["passwords"].values()) == ["s3cret-pw"]
    without = {k: v for k, v in kwargs.items() if k != "passwords"}
    assert "s3cret-pw" not in repr(without)
    assert re.search(next(iter(kwargs["passwords"])), "BECOME password: ")


def test_passwords_in_extravars_are_refused(tmp_path):
    with pytest.raises(InputError, match="never go into extra vars"):
        run_playbook(_job(tmp_path, extravars={"ansible_become_password": "x"}))


def test_a_local_run_answers_the_become_prompt_and_leaves_the_password_nowhere(tmp_path):
    play = tmp_path / "project" / "p.yml"
    play.parent.mkdir()
    play.write_text("- hosts: localhost\n  gather_facts: false\n  tasks:\n"
                    "    - ansible.builtin.debug: {msg: hello}\n")
    secret = "Pw-" + "x7Q9" * 3
    job = _job(tmp_path / "run", project_dir=play.parent, cmdline=("-c", "local"),
               become_password=Secret(secret),
               envvars={"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin"})
    (tmp_path / "run").mkdir()
    runner = run_playbook(job)
    assert runner.status == "successful", (tmp_path / "run/artifacts/run/stdout").read_text()
    stdout = (tmp_path / "run/artifacts/run/stdout").read_text()
    assert "BECOME password" in stdout  # the prompt was shown and answered
    hits = [p for p in (tmp_path / "run").rglob("*") if p.is_file()
            and secret.encode() in p.read_bytes()]
    assert hits == []
    assert not (tmp_path / "run" / "env").exists()


def test_an_unreachable_node_stops_the_run_before_ansible_starts(tmp_path):
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    inventory = tmp_path / "run" / "inventory.yml"
    inventory.parent.mkdir()
    inventory.write_text(yaml.safe_dump({"all": {"children": {"sparks": {"hosts": {
        "spark-1": {"ansible_host": "127.0.0.1", "ansible_port": port}}}}}}))
    with pytest.raises(RunFailed, match="spark-1 .*connection refused"):
        run_playbook(_job(tmp_path / "run", inventory=inventory))
    assert not (tmp_path / "run" / "artifacts").exists()  # ansible-runner never started


def test_every_ansible_runner_call_goes_through_the_one_entry_point():
    offenders = []
    for path in (REPO / "sparkctl").rglob("*.py"):
        text = path.read_text()
        rel = path.relative_to(REPO)
        if re.search(r"ansible_runner\.(run|run_async|interface|Runner)\b", text) and \
                rel != Path("sparkctl/provision/playbook.py"):
            offenders.append(str(rel))
        if re.search(r"[\"']ansible-playbook[\"']\s*,|\[\s*_ansible_playbook\(\)", text):
            offenders.append(f"{rel} (runs ansible-playbook itself)")
    assert offenders == []
