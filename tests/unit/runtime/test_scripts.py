"""The rendered launch scripts are valid bash and behave where they can run here (no docker)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from sparkctl.runtime.prepare import prepare_launch
from sparkctl.runtime.render import render_launch_dir

MODEL = "openai/gpt-oss-120b"


@pytest.mark.parametrize("runtime, image", [("vllm", None), ("trtllm", None),
                                            ("sglang", "x/sglang:1")])
def test_every_rendered_script_parses(tmp_path, target, runtime, image):
    plan = prepare_launch(target("switch4"), runtime, model=MODEL, image=image)
    out = render_launch_dir(plan, tmp_path / "o")
    scripts = sorted(out.glob("*/*.sh"))
    assert len(scripts) == (8 if runtime == "trtllm" else 4)
    for script in scripts:
        proc = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True,
                              timeout=30)
        assert proc.returncode == 0, f"{script}: {proc.stderr}"


def test_bash_n_catches_a_broken_script(tmp_path):
    bad = tmp_path / "bad.sh"
    bad.write_text("start() {\n  echo hi\n")
    assert subprocess.run(["bash", "-n", str(bad)], capture_output=True,
                          timeout=30).returncode != 0


def _no_docker_path(tmp_path: Path) -> str:
    # Only the tools the script needs, so `command -v docker` finds nothing.
    bindir = tmp_path / "bin"
    bindir.mkdir()
    for tool in ("cat", "sha256sum", "cut", "dirname", "hostname"):
        os.symlink(shutil.which(tool), bindir / tool)
    return str(bindir)


def test_stop_without_docker_is_a_no_op_and_start_refuses(tmp_path, target):
    plan = prepare_launch(target("direct"), "vllm", model=MODEL)
    out = render_launch_dir(plan, tmp_path / "o")
    env = {"PATH": _no_docker_path(tmp_path)}
    script = str(out / "spark-1" / "launch.sh")
    stop = subprocess.run(["/bin/bash", script, "stop"], capture_output=True, text=True,
                          env=env, timeout=30)
    assert stop.returncode == 0 and stop.stdout.startswith("OK docker is not installed")
    start = subprocess.run(["/bin/bash", script, "start"], capture_output=True, text=True,
                           env=env, timeout=30)
    assert start.returncode == 3 and "docker is not installed" in start.stderr
    bad = subprocess.run(["/bin/bash", script, "launch"], capture_output=True, text=True,
                         env=env, timeout=30)
    assert bad.returncode == 2 and "usage:" in bad.stderr


def test_render_replaces_its_own_output_whole(tmp_path, target):
    out = tmp_path / "o"
    render_launch_dir(prepare_launch(target("switch4"), "vllm", model=MODEL), out)
    assert (out / "spark-4").is_dir()
    render_launch_dir(prepare_launch(target("direct"), "vllm", model=MODEL), out)
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == ["spark-1", "spark-2"]
    assert not list(tmp_path.glob(".o.*"))  # no staging or trash left behind
