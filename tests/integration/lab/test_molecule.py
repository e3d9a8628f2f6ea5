"""The molecule scenario end to end: create (lab up), converge, idempotence, verify, destroy."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from sparkctl.lab import state

from .conftest import REPO

pytestmark = [pytest.mark.lab, pytest.mark.slow]


def test_molecule_default_scenario(base_image):
    venv_bin = Path(sys.executable).parent
    if not (venv_bin / "molecule").exists():
        pytest.skip("molecule is not installed (pip install -e .[test])")
    env = {**os.environ, "PATH": f"{venv_bin}:{os.environ.get('PATH', '')}",
           "ANSIBLE_FORCE_COLOR": "0", "NO_COLOR": "1"}
    out = subprocess.run([str(venv_bin / "molecule"), "test"], cwd=REPO, env=env,
                         capture_output=True, text=True, timeout=600,
                         stdin=subprocess.DEVNULL)
    assert out.returncode == 0, (out.stdout + out.stderr)[-4000:]
    assert "converge: Executed: Successful" in out.stdout + out.stderr
    assert state.load("mol") is None, "molecule destroy left the lab up"
