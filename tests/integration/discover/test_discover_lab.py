"""`sparkctl discover` against real simulated Sparks: sshd in namespaces, veths named like the
ConnectX-7 twins, no addresses on the data links. Root only (CI runs as root).

The discover command runs as its own process (python -m sparkctl) so exit codes and output are
exactly what a user gets.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml

from sparkctl.topology.builtins import builtin_spec

pytestmark = pytest.mark.lab

RING_OTHER_ORDER = ["spark-1", "spark-3", "spark-2"]


@contextmanager
def lab(name: str, spec) -> Iterator[Path]:
    from sparkctl.lab import lifecycle

    lifecycle.down(name)  # a leftover from an interrupted run
    try:
        result = lifecycle.up(spec, name=name)
        yield result.record.inventory_path
    finally:
        lifecycle.down(name)


def fault(name: str, kind: str, *args: str) -> None:
    from sparkctl.lab import faults

    faults.inject(name, kind, list(args))


def clear(name: str) -> None:
    from sparkctl.lab import faults

    faults.clear(name)


def discover(*args: str) -> tuple[int, dict]:
    proc = subprocess.run([sys.executable, "-m", "sparkctl", "discover", "-f", "json", *args],
                          capture_output=True, text=True, timeout=60)
    assert proc.stdout, proc.stderr
    return proc.returncode, json.loads(proc.stdout)


def ends(cable: str) -> tuple[str, ...]:
    return tuple(sorted(cable.split(" -- ")))


def drift(data: dict, code: str) -> list[dict]:
    return [f for f in data["findings"] if f["code"] == code]


@pytest.mark.parametrize("topology", ["single", "direct", "direct-dual", "ring3", "switch4"])
def test_declared_topology_is_discovered_right_after_up(topology):
    with lab(f"dis{topology.replace('-', '')[:5]}", builtin_spec(topology)) as inventory:
        rc, data = discover("--inventory", str(inventory))
    # no addresses on any data link: discovery works below IP
    for node in data["nodes"]:
        assert all(i["ipv4"] == [] for i in node["interfaces"]), node
    assert data["observed"]["topology"] == topology
    assert data["comparison"]["outcome"] == "exact"
    assert [f for f in data["findings"] if f["severity"] != "note"] == []
    assert sorted(ends(c["cable"]) for c in data["observed"]["cables"]) == sorted(
        ends(str(c)) for c in builtin_spec(topology).cables)
    assert all(c["rails"] == [0, 1] for c in data["observed"]["cables"])
    assert (rc, data["verdict"]) == (0, "match")


@pytest.fixture(scope="module")
def ring3() -> Iterator[str]:
    with lab("disring", builtin_spec("ring3")):
        yield "disring"


def test_swapped_cables_on_one_node_are_named(ring3):
    fault(ring3, "swap-cables", "spark-2:p0", "spark-2:p1")
    try:
        rc, data = discover("--lab", ring3)
    finally:
        clear(ring3)
    assert rc == 1 and data["verdict"] == "drift"
    assert data["comparison"]["outcome"] == "recabled"
    assert data["comparison"]["swaps"] == [["spark-2:p0", "spark-2:p1"]]
    (swap,) = drift(data, "swapped-cables")
    assert swap["fix"] == "swap the cables on spark-2 p0 and p1"


def test_one_twin_down_is_reported_on_that_port(ring3):
    fault(ring3, "link-down", "spark-1", "enP2p1s0f0np0")
    try:
        rc, data = discover("--lab", ring3)
    finally:
        clear(ring3)
    assert rc == 1
    (twin,) = drift(data, "one-twin")
    assert twin["subject"] == "spark-1:p0"
    assert twin["message"].startswith("only one twin up on spark-1:p0")
    assert "enP2p1s0f0np0" in twin["message"] and "administratively down" in twin["message"]
    assert "ip link set enP2p1s0f0np0 up" in twin["fix"]
    assert data["comparison"]["outcome"] == "exact"  # the cables themselves are right


def test_bring_up_looks_through_an_admin_down_twin_and_restores_it(ring3):
    fault(ring3, "link-down", "spark-1", "enP2p1s0f0np0")
    try:
        rc, data = discover("--lab", ring3, "--bring-up")
        assert (rc, data["comparison"]["outcome"]) == (0, "exact")
        assert all(c["rails"] == [0, 1] for c in data["observed"]["cables"])
        (note,) = [f for f in data["findings"] if f["code"] == "admin-down"]
        assert note["severity"] == "note" and "enP2p1s0f0np0" in note["message"]
        # set down again afterwards: without --bring-up the twin is missing once more
        rc, data = discover("--lab", ring3)
        assert rc == 1 and drift(data, "one-twin")[0]["subject"] == "spark-1:p0"
    finally:
        clear(ring3)


def test_after_clear_the_ring_matches_again(ring3):
    rc, data = discover("--lab", ring3)
    assert (rc, data["verdict"]) == (0, "match")


def test_cable_moved_to_another_node_is_named():
    with lab("disswmv", builtin_spec("switch4")) as inventory:
        # spark-2's empty p0 takes spark-1's switch cable
        fault("disswmv", "swap-cables", "spark-1:p1", "spark-2:p0")
        rc, data = discover("--inventory", str(inventory))
    assert rc == 1
    assert data["observed"]["topology"] == "unsupported"  # spark-2 now has both ports on it
    (swap,) = drift(data, "swapped-cables")
    assert swap["fix"] == "move the cable from spark-2:p0 to spark-1:p1"


def _declared_inventory(lab_inventory: Path, order: list[str], out: Path) -> Path:
    """An inventory declaring ring3 in `order`, reaching the lab's nodes by its SSH settings."""
    from sparkctl.cluster import Cluster
    from sparkctl.render.inventory import build_inventory, write_inventory

    hosts = yaml.safe_load(lab_inventory.read_text())["all"]["children"]["sparks"]["hosts"]
    ssh_keys = ("ansible_user", "ansible_ssh_private_key_file", "ansible_ssh_common_args")
    spec = builtin_spec("ring3", order, platform="lab").with_management(
        {n: (hosts[n]["ansible_host"], "root", 22) for n in order})
    host_vars = {n: {k: hosts[n][k] for k in ssh_keys} for n in order}
    return write_inventory(out, build_inventory(Cluster.from_spec(spec), host_vars=host_vars))


def test_ring_cabled_in_another_order_proposes_the_renaming(tmp_path):
    from sparkctl.cluster import load_cluster_file

    with lab("disrenam", builtin_spec("ring3", RING_OTHER_ORDER)) as inventory:
        declared = _declared_inventory(inventory, ["spark-1", "spark-2", "spark-3"],
                                       tmp_path / "declared.yml")
        written = tmp_path / "cluster.yaml"
        rc, data = discover("--inventory", str(declared), "--write-cluster", str(written))
        assert rc == 1
        (renamed,) = drift(data, "renamed-nodes")
        assert renamed["message"] == "your cabling is ring3 if spark-2 and spark-3 swap names"
        assert data["comparison"]["order"] == RING_OTHER_ORDER
        # the file written matches the wire: declared that way, discovery agrees
        spec = load_cluster_file(written)
        assert (spec.topology, spec.node_names) == ("ring3", RING_OTHER_ORDER)
        fixed = _declared_inventory(inventory, spec.node_names, tmp_path / "fixed.yml")
        rc, data = discover("--inventory", str(fixed))
        assert (rc, data["comparison"]["outcome"]) == (0, "exact")
