"""A bundle rendered on one machine runs on another: no controller path of the renderer is in
it, and Ansible resolves the controller state (keys, control sockets) where it runs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from sparkctl.render.bundle import BundleOptions, render_bundle, state_root
from sparkctl.targets import resolve_target

STATE_ENV = ("SPARKCTL_STATE_DIR", "XDG_STATE_HOME", "HOME")


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> Path:
    """A ring3 bundle rendered with HOME and the state directory set to the renderer's."""
    base = tmp_path_factory.mktemp("renderer")
    saved = {k: os.environ.get(k) for k in STATE_ENV}
    os.environ.update({"HOME": str(base / "home"), "SPARKCTL_STATE_DIR": str(base / "state"),
                       "XDG_STATE_HOME": str(base / "xdg")})
    try:
        root = render_bundle(resolve_target(topology="ring3"), base / "out" / "bundle").root
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return root


def test_no_renderer_path_in_any_file(rendered):
    renderer = str(rendered.parents[1])  # the base directory holding home/, state/, out/
    files = [p for p in rendered.rglob("*") if p.is_file()]
    assert len(files) > 20  # roles, previews, vars: the scan below saw real content
    offending = [str(p.relative_to(rendered)) for p in files
                 if renderer in p.read_text(encoding="utf-8", errors="replace")]
    assert offending == []


def test_ansible_cfg_names_only_bundle_relative_files(rendered):
    cfg = (rendered / "ansible.cfg").read_text()
    assert "inventory = inventory.yml" in cfg and "roles_path = roles" in cfg
    assert "\ncontrol_path_dir" not in cfg  # a variable now, see below
    assert "control_path = %(directory)s/%%C" in cfg


def _resolved(bundle: Path, env: dict[str, str]) -> dict[str, str]:
    """What Ansible makes of the controller-state variables, run from `bundle` with `env`."""
    run_env = {k: v for k, v in os.environ.items()
               if k not in STATE_ENV and not k.startswith("ANSIBLE_")}
    run_env.update(env, ANSIBLE_CALLBACK_RESULT_FORMAT="json", ANSIBLE_NOCOLOR="1")
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "ansible"),
         "spark-2", "-m", "ansible.builtin.debug",
         "-a", "msg={{ [ssh_mesh_key_dir, ansible_control_path_dir] }}", "--one-line"],
        cwd=bundle, env=run_env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    line = next(x for x in proc.stdout.splitlines() if x.startswith("spark-2 | SUCCESS => "))
    key_dir, cp_dir = json.loads(line.split(" => ", 1)[1])["msg"]
    return {"key_dir": key_dir, "cp_dir": cp_dir}


@pytest.mark.parametrize("env", [
    {"HOME": "/home/other"},
    {"HOME": "/home/other", "XDG_STATE_HOME": "/var/xdg"},
    {"HOME": "/home/other", "XDG_STATE_HOME": "/var/xdg", "SPARKCTL_STATE_DIR": "/srv/ci-state"},
], ids=["home", "xdg", "sparkctl-state-dir"])
def test_a_moved_bundle_resolves_state_where_it_runs(rendered, tmp_path, env, monkeypatch):
    moved = tmp_path / "elsewhere"
    shutil.copytree(rendered, moved, symlinks=True)
    got = _resolved(moved, env)
    # The same rule as sparkctl's own state_root() on that machine.
    for key in STATE_ENV:
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert got == {"key_dir": str(state_root() / "keys" / "ring3"),
                   "cp_dir": str(state_root() / "cp")}


def test_explicit_paths_are_written_as_given(tmp_path):
    options = BundleOptions(key_dir=Path("/keys/here"), control_path_dir=Path("/cp/here"))
    root = render_bundle(resolve_target(topology="single"), tmp_path / "b", options).root
    data = yaml.safe_load((root / "group_vars/all/sparkctl.yml").read_text())
    assert data["ssh_mesh_key_dir"] == "/keys/here"
    assert data["ansible_control_path_dir"] == "/cp/here"


def test_bundle_readme_has_no_absolute_directory(rendered):
    text = (rendered / "README.md").read_text()
    assert str(rendered) not in text and "ansible-playbook site.yml" in text


def test_bundle_names_the_cluster_ids_mesh_key_not_the_cluster_name():
    # Two clusters named ring3 on one controller must never share a mesh key.
    from sparkctl.render.bundle import bundle_vars

    data = bundle_vars("ring3", BundleOptions(cluster_id="c-0123456789ab"))
    assert data["sparkctl_cluster_id"] == "c-0123456789ab"
    assert data["ssh_mesh_key_dir"] == (
        "{{ sparkctl_state_dir }}/clusters/{{ sparkctl_cluster_id }}/mesh")
    assert "ring3" not in data["ssh_mesh_key_dir"]
