"""MTU per topology (facts/dgx-spark.md "MTU on a switch"): through a switch 1500, NVIDIA's
choice, unless the cluster file says the switch carries more; between Sparks 9000."""

from __future__ import annotations

import pytest

from sparkctl.cluster import (
    Cluster,
    parse_cluster_text,
    render_cluster_file,
    spec_from_inventory_doc,
)
from sparkctl.render.inventory import build_inventory
from sparkctl.topology.builtins import builtin_spec


@pytest.mark.parametrize("name, mtu", [("direct", 9000), ("direct-dual", 9000), ("ring3", 9000),
                                       ("switch2", 1500), ("switch3", 1500), ("switch4", 1500)])
def test_builtin_default_mtu(name, mtu):
    cluster = Cluster.from_spec(builtin_spec(name))
    assert cluster.spec.mtu == mtu
    assert {i.mtu for items in cluster.plan.interfaces.values() for i in items} == {mtu}


def test_switch_that_carries_jumbo_frames_gets_9000_and_round_trips():
    spec = parse_cluster_text("nodes: [a, b, c]\ntopology: switch3\nswitch: {mtu: 9216}\n")
    assert (spec.mtu, spec.switch_mtu) == (9000, 9216)
    again = parse_cluster_text(render_cluster_file(spec))
    assert (again.mtu, again.switch_mtu) == (9000, 9216)
    inventory = build_inventory(Cluster.from_spec(spec))
    gvars = inventory["all"]["children"]["sparks"]["vars"]
    assert gvars["sparkctl_mtu"] == 9000 and gvars["sparkctl_switch_mtu"] == 9216
    assert spec_from_inventory_doc(inventory, "i.yml").switch_mtu == 9216


def test_switch_declared_smaller_than_9000_caps_the_default():
    spec = parse_cluster_text("nodes: [a, b]\ntopology: switch2\nswitch: {mtu: 4200}\n")
    assert spec.mtu == 4200


def test_explicit_mtu_still_wins_and_custom_cables_through_a_switch_default_to_1500():
    assert parse_cluster_text("nodes: [a, b]\ntopology: switch2\nmtu: 4200\n").mtu == 4200
    spec = parse_cluster_text("nodes: [a, b]\ncables: ['a:p1 -- switch', 'b:p1 -- switch', "
                              "'a:p0 -- b:p0']\n")
    assert spec.mtu == 1500


def test_init_writes_the_topologys_default_mtu():
    from typer.testing import CliRunner

    from sparkctl.cli.app import app

    switch = CliRunner().invoke(app, ["init", "-t", "switch2"])
    assert switch.exit_code == 0 and "\nmtu: 1500\n" in switch.output
    ring = CliRunner().invoke(app, ["init", "-t", "ring3"])
    assert "\nmtu: 9000\n" in ring.output and "management_interface: enP7s7" in ring.output
    given = CliRunner().invoke(app, ["init", "-t", "switch2", "--mtu", "4200"])
    assert "\nmtu: 4200\n" in given.output


def test_the_labs_switch_declares_the_jumbo_frames_its_bridge_carries():
    from sparkctl.lab.lifecycle import lab_spec
    from sparkctl.lab.wiring import SWITCH_MTU

    lab = lab_spec(builtin_spec("switch4"))
    assert (lab.mtu, lab.switch_mtu) == (9000, SWITCH_MTU)
    chosen = lab_spec(parse_cluster_text("nodes: [a, b]\ntopology: switch2\nmtu: 1500\n"))
    assert chosen.mtu == 1500  # a declared MTU is the user's, lab or not
    assert lab_spec(builtin_spec("ring3")).switch_mtu is None
