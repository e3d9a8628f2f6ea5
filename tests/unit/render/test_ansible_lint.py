"""ansible-lint (production profile) on playbooks/ and on a rendered bundle."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from sparkctl.render.bundle import content_dir, render_bundle
from sparkctl.targets import resolve_target

LINT = Path(sys.executable).parent / "ansible-lint"
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not LINT.exists(), reason="ansible-lint not installed")]


def _lint(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(LINT), "--nocolor", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=300)


def test_playbooks_pass_production_profile():
    repo = content_dir("playbooks").parent
    proc = _lint(repo, "playbooks/")
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "Profile 'production' was required, and it passed" in proc.stderr + proc.stdout


def test_rendered_bundle_passes_production_profile(tmp_path: Path):
    root = render_bundle(resolve_target(topology="ring3"), tmp_path / "bundle").root
    proc = _lint(root)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]


def test_lint_fails_on_a_broken_role(tmp_path: Path):
    # The check can fail: a task without a name and with a bare command is rejected.
    root = render_bundle(resolve_target(topology="single"), tmp_path / "bundle").root
    tasks = root / "roles/mpi/tasks/main.yml"
    tasks.write_text(tasks.read_text() + "\n- ansible.builtin.command: echo hi\n")
    proc = _lint(root)
    assert proc.returncode != 0
    assert "name[missing]" in proc.stdout + proc.stderr
