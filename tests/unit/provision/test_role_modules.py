"""The roles' own Ansible modules, as plain functions (their end-to-end behaviour on nodes
is covered by the lab integration tests)."""

from __future__ import annotations

import importlib.util
import json
import subprocess
from pathlib import Path

import pytest

from sparkctl.render.bundle import content_dir

ROLES = content_dir("playbooks") / "roles"


def _module(role: str, name: str):
    spec = importlib.util.spec_from_file_location(name, ROLES / role / "library" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_FILES_PLAY = """\
- hosts: localhost
  connection: local
  gather_facts: false
  vars: {ansible_python_interpreter: "{{ ansible_playbook_python }}"}
  roles: [sparkctl_common]
  tasks:
    - name: Converge
      sparkctl_files:
        manifest: "{{ out }}/manifest.json"  # not the controller's /var/lib/sparkctl
        directories: [{path: "{{ out }}/d", mode: "0750"}]
        files:
          - {path: "{{ out }}/d/secret", content: "s3cret\\n", mode: "0600", secret: true}
        lines: [{path: "{{ out }}/d/keys", line: "ssh-ed25519 AAAA k", mode: "0600"}]
        blocks:
          - {path: "{{ out }}/d/conf", marker: "sparkctl x", block: "Host a", mode: "0600",
             position: top}
      register: result
    - name: Report
      ansible.builtin.copy: {content: "{{ result | to_json }}", dest: "{{ out }}/result.json",
                             mode: "0644"}
      check_mode: false
"""


def _converge(tmp_path: Path, *flags: str) -> dict:
    play = tmp_path / "play.yml"
    play.write_text(_FILES_PLAY)
    import os
    import sys

    proc = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,", str(play),
         "-e", f"out={tmp_path}", *flags], capture_output=True, text=True, timeout=120,
        env={**os.environ, "ANSIBLE_ROLES_PATH": str(ROLES)})
    assert proc.returncode == 0, proc.stdout[-3000:]
    return json.loads((tmp_path / "result.json").read_text())


def test_sparkctl_files_converges_once_then_reports_no_change(tmp_path: Path):
    conf = tmp_path / "d" / "conf"
    (tmp_path / "d").mkdir(mode=0o700)
    conf.write_text("Host *\n    User me\n")
    first = _converge(tmp_path, "--diff")
    assert first["changed"] is True
    assert (tmp_path / "d").stat().st_mode & 0o777 == 0o750
    assert (tmp_path / "d/secret").read_text() == "s3cret\n"
    assert (tmp_path / "d/secret").stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "d/keys").read_text() == "ssh-ed25519 AAAA k\n"
    assert conf.read_text() == "# BEGIN sparkctl x\nHost a\n# END sparkctl x\nHost *\n    User me\n"
    assert "s3cret" not in json.dumps(first["diff"])  # secrets never reach the diff
    second = _converge(tmp_path)
    assert second["changed"] is False and second["changed_paths"] == []
    (tmp_path / "d/secret").chmod(0o644)  # drift in mode alone is a change
    third = _converge(tmp_path, "--check")
    assert third["changed_paths"] == [str(tmp_path / "d/secret")]
    assert (tmp_path / "d/secret").stat().st_mode & 0o777 == 0o644  # --check changed nothing


def _sysfs(tmp_path: Path, gids: dict[int, tuple[str, str]]) -> Path:
    # Layout of /sys/class/infiniband/<hca>/ports/1/{gids,gid_attrs/types}/<index>
    # (kernel Documentation/ABI/testing/sysfs-class-infiniband); values are synthetic.
    port = tmp_path / "rocep1s0f1" / "ports" / "1"
    (port / "gids").mkdir(parents=True)
    (port / "gid_attrs" / "types").mkdir(parents=True)
    for index, (gid, kind) in gids.items():
        (port / "gids" / str(index)).write_text(gid + "\n")
        (port / "gid_attrs" / "types" / str(index)).write_text(kind + "\n")
    return port


def test_roce_gid_index_is_the_roce_v2_entry_of_the_address(tmp_path):
    gid = _module("rdma", "sparkctl_roce_gid")
    port = _sysfs(tmp_path, {
        0: ("fe80:0000:0000:0000:0000:0000:0000:0001", "IB/RoCE v1"),
        1: ("fe80:0000:0000:0000:0000:0000:0000:0001", "RoCE v2"),
        2: ("0000:0000:0000:0000:0000:ffff:c0a8:6401", "IB/RoCE v1"),
        3: ("0000:0000:0000:0000:0000:ffff:c0a8:6401", "RoCE v2"),
    })
    index, seen = gid.find_index(str(port), "192.168.100.1")
    assert index == 3
    assert gid.find_index(str(port), "192.168.100.9")[0] is None
    assert "3:RoCE v2:192.168.100.1" in seen


@pytest.mark.parametrize("text,expected", [('DGX_NAME="DGX Spark"\nX=1\n', "DGX Spark"),
                                           ("FOO=1\n", "")])
def test_node_facts_reads_the_dgx_name(tmp_path, text, expected):
    facts = _module("preflight", "sparkctl_node_facts")
    release = tmp_path / "dgx-release"
    release.write_text(text)
    assert facts.dgx_name(str(release)) == expected
    assert facts.dgx_name(str(tmp_path / "missing")) is None


def test_node_facts_reads_the_real_dgx_release_fixture():
    fixture = Path(__file__).resolve().parents[2] / "fixtures" / "os-release" / \
        "spark_sionna_cat_etc_dgx_release.txt"
    facts = _module("preflight", "sparkctl_node_facts")
    assert facts.dgx_name(str(fixture)) == "DGX Spark"
