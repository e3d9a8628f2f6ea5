"""Provision's summary says what the switch must do (issue 13.7): carry the chosen MTU and run
at 200G; direct and ring cablings have no switch to mention."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from sparkctl.cli.app import app
from sparkctl.cluster import parse_cluster_text
from sparkctl.provision.events import HostStats
from sparkctl.provision.notices import fabric_notices
from sparkctl.provision.runner import RunResult
from sparkctl.topology.builtins import builtin_spec


def test_switch_notice_names_the_ports_the_mtu_and_200g():
    notes = fabric_notices(builtin_spec("switch2"))
    assert "spark-1:p1, spark-2:p1 must carry MTU 1500" in notes[0]
    assert "Speed: 200000Mb/s" in notes[0] and "200G" in notes[0]
    assert "switch: {mtu: 9000}" in notes[1]


def test_a_declared_switch_mtu_is_the_one_to_carry():
    spec = parse_cluster_text("nodes: [a, b]\ntopology: switch2\nswitch: {mtu: 9216}\n")
    notes = fabric_notices(spec)
    assert len(notes) == 1 and "must carry MTU 9000" in notes[0]


@pytest.mark.parametrize("name", ["single", "direct", "direct-dual", "ring3"])
def test_no_switch_no_notice(name):
    assert fabric_notices(builtin_spec(name)) == []


def test_provision_prints_the_notice_after_its_summary(monkeypatch, tmp_path: Path):
    def fake_provision(target, request, observer):
        hosts = tuple(target.cluster.spec.node_names)
        return RunResult(run_dir=tmp_path, status="successful", rc=0, started="now",
                         duration_s=1.0, command="sparkctl provision", hosts=hosts,
                         stats={h: HostStats(ok=3) for h in hosts})

    monkeypatch.setattr("sparkctl.provision.runner.provision", fake_provision)
    result = CliRunner().invoke(app, ["provision", "--topology", "switch3"])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "must carry MTU 1500" in text and "run at 200G" in text
    direct = CliRunner().invoke(app, ["provision", "--topology", "direct"])
    assert direct.exit_code == 0 and "must carry MTU" not in direct.output
