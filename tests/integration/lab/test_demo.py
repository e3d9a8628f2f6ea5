"""The README's main command, `sparkctl demo`, on the unkind path a real Spark takes: a fresh
lab (user nvidia with a password, sudo that asks it, no keys), bootstrap with the console's
fingerprints, provision answering sudo (-K), validate. --quick keeps it to the link checks."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from sparkctl.lab import paths

pytestmark = pytest.mark.lab

BIN = Path(sys.executable).parent


def test_demo_bootstraps_a_fresh_lab_provisions_with_sudo_password_and_validates(
        base_image, tmp_path):
    env = {**os.environ, "SPARKCTL_STATE_DIR": str(tmp_path / "state"), "COLUMNS": "200"}
    proc = subprocess.run([str(BIN / "sparkctl"), "demo", "--topology", "direct", "--quick",
                           "--name", "demot"], capture_output=True, text=True, timeout=600,
                          env=env, stdin=subprocess.DEVNULL)
    err = proc.stderr
    assert proc.returncode == 0, err[-4000:] + proc.stdout[-4000:]
    assert "fresh DGX OS: user nvidia, password, no keys" in err
    # the host keys were checked against what the consoles print, not trusted on first use
    assert err.count("ok: pinned (matches ") == 2, err
    assert "sudo's password answered (-K)" in err
    assert "provisioning successful" in err
    assert "verdict: pass" in proc.stdout
    assert "PASS: provisioning succeeded" in err
    assert "lab demot is down" in err and not paths.lab_record_path("demot").exists()
