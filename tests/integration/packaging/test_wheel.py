"""The built wheel, installed into a fresh virtualenv outside the checkout, runs one command
of each kind from there: render, inventory, health install --check, analyze, plan (shipped
roles, templates and model catalogue come from the installed package, not the checkout).

With a Python >= 3.12 and ansible-core 2.21 where such a Python is installed (so `pip
install` of the wheel with ansible-core 2.21 on 3.12 is shown to resolve), else with this
Python and the ansible-core it gets; the checkout's own .venv already is a 3.11 install."""

from __future__ import annotations

import glob
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[3]
FIXTURE = REPO / "tests" / "fixtures" / "nccl-tests" / "all_reduce_perf_1gpu_h100.txt"


def _python_at_least(path: str, minor: int) -> bool:
    try:
        proc = subprocess.run([path, "-c", f"import sys, venv; sys.exit(sys.version_info[:2] "
                                           f"< (3, {minor}))"], capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return proc.returncode == 0


def newer_python() -> str | None:
    """A Python >= 3.12 that runs: $SPARKCTL_PYTHON312, python3.12/3.13 on PATH (a pyenv
    shim may be there and not run), or a pyenv-installed one."""
    candidates = [os.environ.get("SPARKCTL_PYTHON312", "")]
    candidates += [f"/usr/bin/python3.{m}" for m in (12, 13)]
    candidates += sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.1[23]*/bin/python3")))
    return next((c for c in candidates if c and _python_at_least(c, 12)), None)


def combination() -> tuple[str, str]:
    newer = newer_python()
    if newer:
        return newer, "ansible-core>=2.21,<2.22"
    return sys.executable, ("ansible-core>=2.19,<2.20" if sys.version_info < (3, 12)
                            else "ansible-core")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheelhouse")
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w",
                           str(out), str(REPO)], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    (built,) = out.glob("dgx_sparkctl-*.whl")
    return built


def _run(argv: list[str], cwd: Path, env: dict,
         timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)


def test_installed_wheel_runs_every_kind_of_command(wheel, tmp_path):
    python, ansible_core = combination()
    print(f"wheel test: {python} with {ansible_core}", file=sys.stderr)
    venv, work = tmp_path / "venv", tmp_path / "work"
    work.mkdir()
    base_env = {k: v for k, v in os.environ.items()
                if not k.startswith(("SPARKCTL_", "ANSIBLE_", "PYTHON", "VIRTUAL_ENV"))}
    proc = _run([python, "-m", "venv", str(venv)], work, base_env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    pip = [str(venv / "bin" / "python"), "-m", "pip", "-q", "--disable-pip-version-check"]
    proc = _run([*pip, "install", str(wheel), ansible_core], work, base_env, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    proc = _run([*pip, "check"], work, base_env)
    assert proc.returncode == 0, proc.stdout + proc.stderr

    env = {**base_env, "PATH": f"{venv / 'bin'}{os.pathsep}{base_env.get('PATH', '')}",
           "HOME": str(tmp_path / "home"), "COLUMNS": "200"}
    sparkctl = str(venv / "bin" / "sparkctl")
    where = _run([str(venv / "bin" / "python"), "-c",
                  "import ansible, json, sparkctl; from sparkctl.render.bundle import "
                  "content_dir; print(json.dumps([sparkctl.__file__, ansible.__version__, "
                  "str(content_dir('playbooks'))]))"], work, env)
    assert where.returncode == 0, where.stderr
    module, ansible_version, playbooks = json.loads(where.stdout)
    assert module.startswith(str(venv)) and playbooks.startswith(str(venv))
    assert not module.startswith(str(REPO))
    wanted = "2.21." if "2.21" in ansible_core else "2.19." if "2.19" in ansible_core else ""
    assert ansible_version.startswith(wanted), ansible_version

    # render: the bundle carries the shipped roles and playbook; that ansible-core reads it.
    proc = _run([sparkctl, "render", "--topology", "ring3", "-o", "bundle"], work, env)
    assert proc.returncode == 0, proc.stderr
    for rel in ("site.yml", "ansible.cfg", "roles/network/tasks/main.yml",
                "roles/mpi/meta/argument_specs.yml", "preview/spark-2/40-sparkctl.yaml"):
        assert (work / "bundle" / rel).is_file(), rel
    proc = _run([str(venv / "bin" / "ansible-playbook"), "--syntax-check", "site.yml"],
                work / "bundle", env, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr

    # inventory, with management addresses for --hosts
    proc = _run([sparkctl, "inventory", "--topology", "direct", "--hosts",
                 "10.0.0.11,10.0.0.12"], work, env)
    assert proc.returncode == 0, proc.stderr
    hosts = yaml.safe_load(proc.stdout)["all"]["children"]["sparks"]["hosts"]
    assert hosts["spark-2"]["ansible_host"] == "10.0.0.12"

    # health install --check: the health_timer role from the package, nothing changed
    (work / "cluster.yaml").write_text("name: wheel\nnodes: [{name: spark-1, address: "
                                       "10.0.0.11}]\ntopology: single\n")
    textfile = tmp_path / "textfile"
    proc = _run([sparkctl, "health", "install", "--cluster", "cluster.yaml", "--check",
                 "--textfile-dir", str(textfile)], work, env)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "(--check): would make" in proc.stdout and not textfile.exists()

    # analyze a real nccl-tests output
    proc = _run([sparkctl, "analyze", str(FIXTURE), "--format", "json"], work, env)
    assert proc.returncode in (0, 1), proc.stderr
    assert json.loads(proc.stdout)["results"][0]["tool"] == "nccl-tests"

    # plan from the shipped model catalogue
    proc = _run([sparkctl, "plan", "-m", "Qwen3.5-397B-A17B", "--quant", "nvfp4", "--format",
                 "json"], work, env)
    assert proc.returncode in (0, 1), proc.stderr
    assert json.loads(proc.stdout)["model"]["name"] == "Qwen3.5-397B-A17B"


def test_the_wheel_carries_the_monitoring_files_and_the_json_schemas(wheel):
    """Alert rules, the Grafana dashboard and every output schema ship in the package."""
    import zipfile

    from sparkctl.outputs import KINDS

    names = set(zipfile.ZipFile(wheel).namelist())
    assert {"sparkctl/data/monitoring/sparkctl-alerts.yml",
            "sparkctl/data/monitoring/sparkctl-dashboard.json"} <= names
    assert {f"sparkctl/data/schemas/{kind}.json" for kind in KINDS} <= names
