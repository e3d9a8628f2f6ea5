"""Cluster files written from discoveries, the three output formats, and CLI errors."""

from __future__ import annotations

import dataclasses
import json

import pytest
from typer.testing import CliRunner

from sparkctl.cli.app import app
from sparkctl.cluster import load_cluster_file
from sparkctl.discover import render
from sparkctl.discover.cabling import multiset
from sparkctl.discover.run import analyze
from sparkctl.discover.writer import discovered_spec, write_cluster_file
from sparkctl.errors import RunFailed
from sparkctl.topology.builtins import builtin_spec

from .discover_fabric import fabric

N3 = ["spark-1", "spark-2", "spark-3"]


def ring_in_other_order():
    declared = dataclasses.replace(builtin_spec("ring3"), mtu=4200)
    cabled = builtin_spec("ring3", ["spark-1", "spark-3", "spark-2"])
    return analyze(declared.nodes, fabric(N3, *map(str, cabled.cables)).reports(), declared, 1.5)


def test_written_cluster_file_loads_back_and_matches_the_wire(tmp_path):
    result = ring_in_other_order()
    path = tmp_path / "cluster.yaml"
    write_cluster_file(result, path)
    spec = load_cluster_file(path)
    assert spec.topology == "ring3"
    assert spec.node_names == ["spark-1", "spark-3", "spark-2"]
    assert multiset(spec.cables) == multiset(result.observed.cables)
    assert spec.mtu == 4200  # declared parameters carry over


def test_custom_cabling_is_written_as_cables(tmp_path):
    declared = builtin_spec("direct")
    result = analyze(declared.nodes, fabric(["spark-1", "spark-2"],
                                            "spark-1:p0 -- spark-2:p0").reports(), declared, 1.5)
    spec = discovered_spec(result)
    assert spec.topology == "custom"
    assert [str(c) for c in spec.cables] == ["spark-1:p0 -- spark-2:p0"]


def test_unsupported_cabling_is_not_written(tmp_path):
    declared = builtin_spec("ring3")
    result = analyze(declared.nodes, fabric(N3, "spark-1:p0 -- spark-1:p1").reports(),
                     declared, 1.5)
    with pytest.raises(RunFailed, match="not a supported topology"):
        write_cluster_file(result, tmp_path / "x.yaml")
    assert not (tmp_path / "x.yaml").exists()


def test_json_table_and_dot_carry_the_same_story():
    result = ring_in_other_order()
    data = render.to_json(result, "test")
    json.dumps(data)  # serialisable
    assert data["verdict"] == "drift"
    assert data["observed"]["topology"] == "ring3"
    assert data["comparison"]["outcome"] == "renamed"
    assert data["comparison"]["order"] == ["spark-1", "spark-3", "spark-2"]
    assert data["findings"][0]["code"] == "renamed-nodes"
    iface = data["nodes"][0]["interfaces"][0]
    assert iface["name"] == "enp1s0f0np0" and iface["peers"] == ["spark-3:enp1s0f1np1"]
    table = render.to_table(result, "test")
    assert "your cabling is ring3 if spark-2 and spark-3 swap names" in table
    assert "verdict: drift" in table
    dot = render.to_dot(result)
    assert dot.startswith("graph discovered {") and dot.rstrip().endswith("}")
    # every declared cable is absent from the wire here, so each is drawn dashed
    assert dot.count("declared, missing") == 3
    assert dot.count("color=red") == 3


runner = CliRunner()


def test_cli_needs_a_target():
    out = runner.invoke(app, ["discover"])
    assert out.exit_code == 2
    assert "give exactly one target" in out.output


def test_cli_rejects_a_silly_window():
    out = runner.invoke(app, ["discover", "--hosts", "a", "--window", "0"])
    assert out.exit_code == 2


def test_cli_unknown_lab():
    out = runner.invoke(app, ["discover", "--lab", "nosuchlb"])
    assert out.exit_code == 2 and "no lab named 'nosuchlb'" in out.output


def test_cli_unreachable_host_is_an_environment_error(tmp_path):
    out = runner.invoke(app, ["discover", "--hosts", "nothere.invalid", "-f", "json",
                              "--write-cluster", str(tmp_path / "c.yaml")])
    assert out.exit_code == 2
    assert "discovery is incomplete" in out.output
    assert "nothere.invalid: no discovery from nothere.invalid: unreachable" in out.output
    assert not (tmp_path / "c.yaml").exists()
