"""The drivers role on dgx-spark reads and checks; it never installs, swaps or downgrades the
driver, CUDA or the container toolkit (DGX OS owns them: facts/dgx-spark.md, "Drivers on DGX
OS")."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from .roleplay import ROLES, local_hosts, run_play, tool

# What the tools print on a DGX Spark: nvidia-smi 580.159.03 and "NVIDIA GB10" as in
# tests/fixtures/nvidia-smi/gb10_thinkstation_pgx_nvidia_smi_580.159.03_vllm_enginecore.txt;
# nvcc "release 13.0, V13.0.88" and toolkit 1.19.0 as facts/dgx-os.md lists for DGX OS 7.
SMI_OK = 'echo "580.159.03, NVIDIA GB10"'
NVCC_OK = 'echo "Cuda compilation tools, release 13.0, V13.0.88"'
CTK_OK = 'echo "NVIDIA Container Toolkit CLI version 1.19.0"'
_INSTALLERS = {"ansible.builtin.apt", "apt", "ansible.builtin.package", "package",
               "ansible.builtin.dnf", "ansible.builtin.pip", "ansible.builtin.get_url",
               "ansible.builtin.shell", "ansible.builtin.unarchive"}

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="role tests run as root")


def _tasks(path: Path) -> list[dict]:
    return yaml.safe_load(path.read_text()) or []


def test_no_task_of_the_drivers_role_can_install_anything():
    for path in (ROLES / "drivers" / "tasks").glob("*.yml"):
        for task in _tasks(path):
            assert not _INSTALLERS & set(task), f"{path.name}: {task.get('name')}"
    defaults = yaml.safe_load((ROLES / "drivers" / "defaults" / "main.yml").read_text())
    assert not [k for k in defaults if k.endswith("_package")]


def _run(tmp_path: Path, smi: str = SMI_OK, nvcc: str | None = NVCC_OK, ctk: str = CTK_OK):
    bindir = tmp_path / "bin"
    tool(bindir, "nvidia-smi", smi)
    tool(bindir, "nvidia-ctk", ctk)
    nvcc_path = tmp_path / "cuda" / "bin" / "nvcc"
    if nvcc is not None:
        tool(nvcc_path.parent, "nvcc", nvcc)
    play = [{"hosts": "sparks", "gather_facts": False,
             "roles": [{"role": "drivers", "drivers_nvcc": str(nvcc_path),
                        "drivers_smi_timeout_s": 3}]}]
    return run_play(tmp_path, play, local_hosts({"spark-1": {}}), path_dir=bindir)


def test_dgx_os_versions_are_reported_and_nothing_changes(tmp_path):
    proc = _run(tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert ("GPU NVIDIA GB10, driver 580.159.03, CUDA 13.0, container toolkit 1.19.0 (read "
            "only: DGX OS owns them)") in proc.stdout
    assert "changed=0" in proc.stdout


def test_missing_cuda_fails_with_the_dgx_os_hint_instead_of_an_install(tmp_path):
    proc = _run(tmp_path, nvcc=None)
    assert proc.returncode != 0
    assert "found driver 580.159.03, CUDA none" in proc.stdout
    assert "sparkctl does not install or change them" in proc.stdout
    assert "DGX OS owns the driver, CUDA and the container toolkit" in proc.stdout


def test_an_older_driver_is_reported_not_replaced(tmp_path):
    proc = _run(tmp_path, smi='echo "575.51.03, NVIDIA GB10"')
    assert proc.returncode != 0 and "expected driver >= 580.95.05" in proc.stdout


def test_nvidia_smi_failure_is_quoted_with_what_it_means(tmp_path):
    # nvidia-smi's NVML message when the loaded kernel module and the library differ.
    proc = _run(tmp_path, smi='echo "Failed to initialize NVML: Driver/library version '
                              'mismatch"; echo "NVML library version: 580.173"; exit 18')
    assert proc.returncode != 0
    assert "nvidia-smi failed (exit 18): Failed to initialize NVML: Driver/library version " \
           "mismatch" in proc.stdout
    assert "needs a reboot" in proc.stdout


def test_a_hung_nvidia_smi_is_cut_and_named(tmp_path):
    proc = _run(tmp_path, smi="sleep 30")
    assert proc.returncode != 0
    assert "nvidia-smi did not answer within 3 s (a hung GPU or driver)" in proc.stdout
