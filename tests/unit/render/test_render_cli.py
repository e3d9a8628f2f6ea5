from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sparkctl.cli.app import app
from sparkctl.render.bundle import content_dir

runner = CliRunner()


def test_render_writes_a_bundle_and_replaces_it(tmp_path: Path):
    out = tmp_path / "bundle"
    result = runner.invoke(app, ["render", "--topology", "direct", "--hosts", "a,b", "-o",
                                 str(out)])
    assert result.exit_code == 0, result.output
    assert "ansible-playbook site.yml" in result.output
    assert (out / "site.yml").exists() and (out / "roles/network/tasks/main.yml").exists()
    assert (out / "preview/b/40-sparkctl.yaml").exists()
    (out / "stale").write_text("from an earlier render")
    again = runner.invoke(app, ["render", "--topology", "direct", "--hosts", "a,b", "-o",
                                str(out)])
    assert again.exit_code == 0 and not (out / "stale").exists()


def test_render_refuses_a_directory_it_did_not_write(tmp_path: Path):
    (tmp_path / "mine.txt").write_text("precious")
    result = runner.invoke(app, ["render", "--topology", "single", "-o", str(tmp_path)])
    assert result.exit_code == 2
    assert "not empty" in result.output and (tmp_path / "mine.txt").exists()


def test_render_without_a_target_is_a_usage_error(tmp_path: Path):
    result = runner.invoke(app, ["render", "-o", str(tmp_path / "x")])
    assert result.exit_code == 2 and "exactly one target" in result.output


def test_render_keeps_an_existing_inventory_verbatim(tmp_path: Path):
    first = tmp_path / "first"
    runner.invoke(app, ["render", "--topology", "ring3", "-o", str(first)])
    inventory = first / "inventory.yml"
    text = inventory.read_text().replace("ansible_host: spark-1\n",
                                         "ansible_host: spark-1\n          lab_extra: keep-me\n")
    custom = tmp_path / "custom.yml"
    custom.write_text(text)
    result = runner.invoke(app, ["render", "--inventory", str(custom), "-o",
                                 str(tmp_path / "second")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "second" / "inventory.yml").read_text() == text


def test_provision_rejects_unknown_tags_before_running(tmp_path: Path):
    result = runner.invoke(app, ["provision", "--topology", "single", "--tags", "netwrk",
                                 "--runs-dir", str(tmp_path)])
    assert result.exit_code == 2 and "netwrk" in result.output


@pytest.mark.skipif(shutil.which("netplan") is None, reason="netplan.io not installed")
def test_netplan_validator_rejects_a_bad_plan_and_accepts_a_good_one(tmp_path: Path):
    script = content_dir("playbooks") / "roles/network/files/netplan-validate"
    golden = Path(__file__).resolve().parents[2] / "golden/ring3/preview/spark-1/40-sparkctl.yaml"
    good = subprocess.run([str(script), str(golden), "/etc/netplan/40-sparkctl.yaml"],
                          capture_output=True, text=True, timeout=60)
    assert good.returncode == 0, good.stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text(golden.read_text().replace("mtu: 9000", "mtu: jumbo", 1))
    proc = subprocess.run([str(script), str(bad), "/etc/netplan/40-sparkctl.yaml"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0 and "mtu" in proc.stderr.lower()
