"""ansible-lint (production profile) on the playbooks and on a rendered bundle.

Each role is linted once, in the built collection (tests/unit/collection/test_collection.py),
which carries the roles verbatim; here the playbooks and what render adds around the roles
(site.yml, inventory, group_vars, ansible.cfg), and a broken role to show the check fails."""

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
    proc = _lint(repo, "--exclude", "playbooks/roles", "--", "playbooks/site.yml",
                 "playbooks/runtime.yml")
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "Profile 'production' was required, and it passed" in proc.stderr + proc.stdout


def test_rendered_bundle_passes_production_profile(tmp_path: Path):
    root = render_bundle(resolve_target(topology="ring3"), tmp_path / "bundle").root
    proc = _lint(root, "--exclude", "roles")
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "Profile 'production' was required, and it passed" in proc.stderr + proc.stdout


def test_lint_fails_on_a_broken_role(tmp_path: Path):
    # The check can fail: a task without a name and with a bare command is rejected.
    root = render_bundle(resolve_target(topology="single"), tmp_path / "bundle").root
    tasks = root / "roles/mpi/tasks/main.yml"
    tasks.write_text(tasks.read_text() + "\n- ansible.builtin.command: echo hi\n")
    proc = _lint(root, "roles/mpi")
    assert proc.returncode != 0
    assert "name[missing]" in proc.stdout + proc.stderr
