"""Cluster files: a malformed file exits 2 naming the problem and its line, never a traceback."""

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sparkctl.cli.app import app
from sparkctl.cluster import Cluster, load_cluster_file, parse_cluster_text, render_cluster_file
from sparkctl.topology.builtins import BUILTINS, builtin_spec

BAD = sorted((Path(__file__).parent / "bad_clusters").glob("*.yaml"))
runner = CliRunner()


def expectations(path: Path):
    text = path.read_text()
    message = re.search(r"^# expect: (.+)$", text, re.M).group(1)
    line = re.search(r"^# expect-line: (\d+)$", text, re.M)
    return message, int(line.group(1)) if line else None


def test_corpus_is_large_enough():
    assert len(BAD) >= 15


@pytest.mark.parametrize("path", BAD, ids=lambda p: p.stem)
def test_malformed_cluster_file_exits_2_with_a_clear_message(path):
    message, line = expectations(path)
    result = runner.invoke(app, ["topology", "show", str(path)])
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    if line is not None:
        assert f"{path}:{line}:" in result.output


@pytest.mark.parametrize("name", sorted(BUILTINS))
def test_rendered_cluster_file_loads_back_identically(name, tmp_path):
    spec = builtin_spec(name)
    text = render_cluster_file(spec)
    loaded = parse_cluster_text(text, "x.yaml")
    assert loaded.nodes == spec.nodes
    assert loaded.cables == spec.cables
    assert (loaded.mtu, loaded.pool, loaded.platform) == (spec.mtu, spec.pool, spec.platform)


def test_explicit_cables_file(tmp_path):
    path = tmp_path / "lab.yaml"
    path.write_text(
        "name: bench\nplatform: lab\nssh_user: nvidia\n"
        "nodes:\n  - {name: a, address: 10.0.0.1, port: 2222}\n  - b\n  - c\n"
        "cables:\n  - 'a:p0 -- b:p1'\n  - b:p0 -- c:p1\n"
        "  - 'a:p1 -- switch'\n  - 'c:p0 -- switch'\n"
        "mtu: 4200\nreserved: [10.0.0.0/8]\n")
    spec = load_cluster_file(path)
    cluster = Cluster.from_spec(spec)
    assert spec.topology == "custom" and spec.platform == "lab" and spec.mtu == 4200
    assert spec.node("a").ssh_port == 2222 and spec.node("b").ssh_user == "nvidia"
    assert spec.node("b").mgmt_address == "b"
    assert [s.label for s in cluster.plan.subnets][:2] == ["switch rail 0", "switch rail 1"]
    assert cluster.nccl_env("b")["NCCL_IB_HCA"] == "rocep1s0f0,roceP2p1s0f0,rocep1s0f1,roceP2p1s0f1"


def test_rule_violation_in_a_file_points_at_the_cable_line(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("nodes: [a, b]\ncables:\n  - 'a:p0 -- b:p0'\n  - 'a:p0 -- b:p1'\n")
    result = runner.invoke(app, ["topology", "show", str(path)])
    assert result.exit_code == 2
    assert f"{path}:4:5" in result.output and "a:p0" in result.output
