"""Run a role's tasks with ansible-playbook, connection local, against paths under tmp_path.

The dgx-spark branches of the drivers, rdma and nccl roles cannot run against hardware here;
their logic runs for real, with the hardware's tools replaced by scripts that print what the
real tools print on a Spark (sources in each test) and sysfs replaced by a directory tree.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

from sparkctl.render.bundle import content_dir

ROLES = content_dir("playbooks") / "roles"


def run_play(tmp_path: Path, play: list[dict], inventory: dict, *, path_dir: Path | None = None,
             extra: dict | None = None, flags: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    (tmp_path / "play.yml").write_text(yaml.safe_dump(play, sort_keys=False))
    (tmp_path / "inventory.yml").write_text(yaml.safe_dump(inventory, sort_keys=False))
    env = {**os.environ, "ANSIBLE_ROLES_PATH": str(ROLES), "ANSIBLE_NOCOLOR": "1",
           "ANSIBLE_HOST_KEY_CHECKING": "True"}
    if path_dir is not None:
        env["PATH"] = f"{path_dir}:{env['PATH']}"
    return subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), "-i",
         str(tmp_path / "inventory.yml"), str(tmp_path / "play.yml"),
         "-e", json.dumps(extra or {}), *flags],
        capture_output=True, text=True, timeout=180, env=env)


def local_hosts(hosts: dict[str, dict], **group_vars) -> dict:
    base = {"ansible_connection": "local",
            "ansible_python_interpreter": sys.executable}
    return {"all": {"children": {"sparks": {
        "hosts": {name: {**base, **hv} for name, hv in hosts.items()},
        "vars": {"sparkctl_platform": "dgx-spark", "sparkctl_cluster_name": "t",
                 "sparkctl_topology": "direct", **group_vars}}}}}


def tool(bindir: Path, name: str, script: str) -> None:
    bindir.mkdir(parents=True, exist_ok=True)
    path = bindir / name
    path.write_text("#!/bin/bash\n" + script)
    path.chmod(0o755)
