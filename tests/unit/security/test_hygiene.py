"""Hygiene: run records pruned to the newest N, state directories private, the health
timer's systemd unit sandboxed (and scored by systemd-analyze where it is installed)."""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
from pathlib import Path

import jinja2
import pytest
import yaml

from sparkctl.errors import InputError
from sparkctl.provision import records

ROLE = Path(__file__).resolve().parents[3] / "playbooks" / "roles" / "health_timer"


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_run_records_beyond_keep_are_pruned_oldest_first(tmp_path, monkeypatch):
    monkeypatch.setenv("SPARKCTL_STATE_DIR", str(tmp_path / "state"))
    runs = tmp_path / "runs"
    runs.mkdir()
    old = [runs / f"2026010{i}T000000Z-ring3-00000{i}" for i in range(1, 6)]
    for path in old:
        path.mkdir()
    stranger = runs / "notes-i-keep"
    stranger.mkdir()
    (runs / "20250101T000000Z-linked-aaaaaa").symlink_to(stranger)
    newest = records.new_run_dir(runs, "ring3", keep=3)
    left = sorted(p.name for p in runs.iterdir())
    assert newest.name in left
    assert [p.name for p in old[3:]] == [n for n in left if n.startswith("2026010")]
    assert "notes-i-keep" in left and "20250101T000000Z-linked-aaaaaa" in left
    assert _mode(runs) == 0o700 and _mode(newest) == 0o700


def test_keep_runs_must_be_positive(tmp_path):
    with pytest.raises(InputError):
        records.prune_runs(tmp_path, 0)


def test_a_cluster_name_that_is_a_path_never_names_a_run_directory(tmp_path):
    with pytest.raises(InputError):
        records.new_run_dir(tmp_path, "../../x")
    assert list(tmp_path.iterdir()) == []


def test_state_directory_becomes_private(tmp_path, monkeypatch):
    state = tmp_path / "state"
    state.mkdir(mode=0o755)
    os.chmod(state, 0o755)
    monkeypatch.setenv("SPARKCTL_STATE_DIR", str(state))
    records.private_dir(state / "cp")
    assert _mode(state) == 0o700 and _mode(state / "cp") == 0o700


def test_provision_passes_keep_runs_through():
    from sparkctl.provision.runner import ProvisionRequest

    assert ProvisionRequest().keep_runs == records.DEFAULT_KEEP_RUNS == 20


def render_unit(user: str = "root") -> str:
    defaults = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())
    env = jinja2.Environment(trim_blocks=True, keep_trailing_newline=True,
                             undefined=jinja2.StrictUndefined)
    env.filters["comment"] = lambda text: "# " + text
    template = env.from_string((ROLE / "templates" / "health.service.j2").read_text())
    return template.render(**{**defaults, "health_timer_user": user, "ansible_managed": "x",
                              "health_timer_command": "/usr/local/bin/sparkctl health -q"})


@pytest.mark.parametrize("user", ["root", "nvidia"])
def test_the_health_unit_is_sandboxed(user):
    unit = render_unit(user)
    for line in ("NoNewPrivileges=yes", "ProtectSystem=strict", "ProtectHome=read-only",
                 "PrivateTmp=yes", "PrivateDevices=yes", "ProtectKernelTunables=yes",
                 "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK",
                 "SystemCallFilter=@system-service",
                 "ReadWritePaths=/var/lib/prometheus/node-exporter"):
        assert re.search(f"^{re.escape(line)}$", unit, re.M), line
    if user != "root":
        assert "Environment=SPARKCTL_HEALTH_DB=%S/sparkctl/health/health.db" in unit
        assert re.search(r"^CapabilityBoundingSet=$", unit, re.M)


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze")
@pytest.mark.parametrize("user", ["root", "nvidia"])
def test_systemd_analyze_scores_the_unit_ok(user, tmp_path):
    path = tmp_path / "sparkctl-health.service"
    path.write_text(render_unit(user))
    done = subprocess.run(["systemd-analyze", "security", "--offline=true", path.name],
                          cwd=tmp_path, capture_output=True, text=True, timeout=60)
    match = re.search(r"Overall exposure level for \S+: (\d+\.\d+) (\w+)", done.stdout)
    if match is None and "--offline" in done.stderr:
        pytest.skip("this systemd-analyze cannot score unit files offline")
    assert match, done.stdout + done.stderr
    assert float(match.group(1)) <= 2.0, done.stdout
