"""EventCollector on the events of a real ansible-runner run (no recorded or invented
events): a local host with ok / changed / failed / skipped tasks, and a host whose SSH
port refuses connections (unreachable)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from sparkctl.provision.events import EventCollector, HostStats, stats_from_event, tail

_PLAYBOOK = """\
- hosts: all
  gather_facts: false
  tasks:
    - name: Say hello
      ansible.builtin.command: echo hello
      changed_when: false
    - name: Touch a file
      ansible.builtin.file: {path: "{{ out }}/{{ inventory_hostname }}", state: touch, mode: "0644"}
    - name: Skip me
      ansible.builtin.debug: {msg: never}
      when: false
    - name: Fail loudly
      ansible.builtin.shell: "echo line-1 >&2; echo the-last-words >&2; exit 3"
      when: inventory_hostname == 'local'
      changed_when: false
"""

_INVENTORY = """\
all:
  hosts:
    local: {ansible_connection: local, ansible_python_interpreter: "%s"}
    refused: {ansible_host: 127.0.0.1, ansible_port: 1, ansible_user: nobody}
"""


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    import ansible_runner

    base = tmp_path_factory.mktemp("runner")
    (base / "project").mkdir()
    (base / "project" / "play.yml").write_text(_PLAYBOOK)
    (base / "inventory.yml").write_text(_INVENTORY % sys.executable)
    seen: list[tuple[str, str, str, bool]] = []
    collector = EventCollector(on_result=lambda *args: seen.append(args))
    result = ansible_runner.run(
        private_data_dir=str(base), playbook="play.yml", inventory=str(base / "inventory.yml"),
        extravars={"out": str(base)}, event_handler=collector, quiet=True, timeout=120,
        envvars={"PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
                 "ANSIBLE_HOST_KEY_CHECKING": "False", "ANSIBLE_TIMEOUT": "5"})
    return result, collector, seen


def test_stats_per_host(run):
    result, collector, _ = run
    assert result.status == "failed"
    local = collector.stats["local"]
    assert (local.ok, local.changed, local.failed, local.skipped) == (2, 1, 1, 1)
    assert collector.stats["refused"].unreachable == 1
    assert collector.stats["refused"].ok == 0


def test_failure_carries_task_message_and_stderr_tail(run):
    _, collector, _ = run
    failed = [f for f in collector.failures if not f.unreachable]
    assert [(f.host, f.task) for f in failed] == [("local", "Fail loudly")]
    assert "non-zero return code" in failed[0].message
    assert failed[0].stderr_tail.splitlines()[-1] == "the-last-words"


def test_unreachable_host_says_why(run):
    _, collector, _ = run
    gone = [f for f in collector.failures if f.unreachable]
    assert [f.host for f in gone] == ["refused"]
    assert "Connection refused" in gone[0].message or "port 1" in gone[0].message


def test_progress_counts_every_finished_task(run):
    _, collector, seen = run
    assert collector.hosts["local"].done == 4
    assert collector.hosts["local"].status == "failed"
    assert collector.hosts["refused"].status == "unreachable"
    assert ("local", "Touch a file", "ok", True) in seen


def test_stats_event_replaces_running_counts():
    stats = stats_from_event({"ok": {"a": 5}, "changed": {"a": 2}, "dark": {"b": 1},
                              "failures": {}, "skipped": {"a": 1}, "processed": {"a": 1, "b": 1}})
    assert stats == {"a": HostStats(ok=5, changed=2, skipped=1), "b": HostStats(unreachable=1)}


def test_tail_keeps_last_non_empty_lines():
    assert tail("a\n\nb\nc\n\n", 2) == "b\nc"
