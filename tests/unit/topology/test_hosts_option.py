"""`--hosts` takes names, FQDNs and management addresses (README, "Targets")."""

from __future__ import annotations

import pytest
import yaml
from typer.testing import CliRunner

from sparkctl.cli.app import app
from sparkctl.cluster import parse_cluster_text
from sparkctl.errors import InputError
from sparkctl.targets import resolve_target
from sparkctl.topology.builtins import builtin_spec, node_for_host


@pytest.mark.parametrize(("host", "index", "expected"), [
    ("10.0.0.11", 0, ("spark-1", "10.0.0.11")),
    ("10.0.0.13", 2, ("spark-3", "10.0.0.13")),
    ("fd00::12", 1, ("spark-2", "fd00::12")),
    ("spark-a.lab.example", 0, ("spark-a", "spark-a.lab.example")),
    ("spark-a.lab.example.", 0, ("spark-a", "spark-a.lab.example.")),
    ("gx10-01", 3, ("gx10-01", "gx10-01")),
    # Not an address and not an FQDN: stays the name, and the rules judge it.
    ("10.0.0", 0, ("10.0.0", "10.0.0")),
    ("bad_name.example", 0, ("bad_name.example", "bad_name.example")),
])
def test_node_for_host(host, index, expected):
    assert node_for_host(host, index) == expected


def test_addresses_get_positional_names_and_stay_the_management_address():
    target = resolve_target(topology="ring3", hosts="10.0.0.11,10.0.0.12,10.0.0.13")
    nodes = target.cluster.spec.nodes
    assert [(n.name, n.mgmt_address) for n in nodes] == [
        ("spark-1", "10.0.0.11"), ("spark-2", "10.0.0.12"), ("spark-3", "10.0.0.13")]
    # The cabling follows the order of --hosts (N1 p0 -- N2 p1, ...).
    assert [str(c) for c in target.cluster.spec.cables] == [
        "spark-1:p0 -- spark-2:p1", "spark-2:p0 -- spark-3:p1", "spark-3:p0 -- spark-1:p1"]


def test_fqdns_and_mixed_entries():
    spec = builtin_spec("switch3", ["a.lab.example", "10.1.0.2", "c"])
    assert [(n.name, n.mgmt_address) for n in spec.nodes] == [
        ("a", "a.lab.example"), ("spark-2", "10.1.0.2"), ("c", "c")]


def test_inventory_cli_with_addresses_is_accepted_by_ansible_names():
    result = CliRunner().invoke(app, ["inventory", "-t", "direct", "-H",
                                      "10.0.0.11,spark-b.lab.example"])
    assert result.exit_code == 0, result.output
    hosts = yaml.safe_load(result.output)["all"]["children"]["sparks"]["hosts"]
    assert {h: v["ansible_host"] for h, v in hosts.items()} == {
        "spark-1": "10.0.0.11", "spark-b": "spark-b.lab.example"}
    assert hosts["spark-1"]["sparkctl_interfaces"][0]["peers"][0]["host"] == "spark-b"


@pytest.mark.parametrize("hosts", ["a.x.example,a.y.example", "spark-2,10.0.0.2"])
def test_two_hosts_that_would_share_a_node_name_are_refused(hosts):
    with pytest.raises(InputError) as err:
        builtin_spec("direct", hosts.split(","))
    assert "would both be node" in err.value.message and "--cluster" in err.value.hint


@pytest.mark.parametrize(("hosts", "message"), [
    ("10.0.0.1,10.0.0.1", "more than once"), ("a.example,a.example", "more than once"),
    ("a,a", "declared twice")])
def test_the_same_host_twice_is_refused(hosts, message):
    with pytest.raises(InputError, match=message):
        resolve_target(topology="direct", hosts=hosts)


def test_cluster_file_names_are_not_derived():
    # A cluster file names its nodes itself: an address there is a bad name, reported at load
    # with its place in the file, not turned into cables to invented spark-N nodes.
    with pytest.raises(InputError) as err:
        parse_cluster_text("nodes: [10.0.0.11, 10.0.0.12]\ntopology: direct\n", "c.yaml")
    text = str(err.value)
    assert text.startswith("c.yaml:1:")
    assert "nodes[0].name" in text and "not a valid host name" in text
    assert "spark-1" not in text
