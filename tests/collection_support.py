"""Build the sparkctl.dgx_spark collection from the checkout and install it, as CI and users
do: `python collection/build.py`, then `ansible-galaxy collection install ARTIFACT -p DIR`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def build_collection(workdir: Path) -> tuple[Path, Path]:
    """(artifact, staging directory) built under workdir."""
    proc = subprocess.run(
        [sys.executable, str(REPO / "collection" / "build.py"),
         "--output-dir", str(workdir / "dist"), "--staging-dir", str(workdir / "stage")],
        capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    artifact = Path(proc.stdout.strip().splitlines()[-1])
    staged = next((workdir / "stage" / "ansible_collections").glob("*/*"))
    return artifact, staged


def install_collection(artifact: Path, collections_dir: Path) -> Path:
    """Install into collections_dir (an ANSIBLE_COLLECTIONS_PATH entry); return the
    installed collection's directory."""
    proc = subprocess.run(
        [str(BIN / "ansible-galaxy"), "collection", "install", "--force", "-p",
         str(collections_dir), str(artifact)],
        capture_output=True, text=True, timeout=300, env=ansible_env(collections_dir))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "was installed successfully" in proc.stdout, proc.stdout
    return collections_dir / "ansible_collections" / "sparkctl" / "dgx_spark"


def ansible_env(collections_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of an Ansible user who installed the collection there: nothing from
    the checkout (no roles path, no ansible.cfg of ours)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env.update({"ANSIBLE_COLLECTIONS_PATH": str(collections_dir), "ANSIBLE_NOCOLOR": "1",
                "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}, **extra)
    return env
