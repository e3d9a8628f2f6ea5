"""From agent reports to cables, findings and a verdict, on hand-built wirings."""

from __future__ import annotations

import dataclasses

from sparkctl.discover.findings import DRIFT, ERROR, NOTE
from sparkctl.discover.observe import observe, read_as_declared_switch
from sparkctl.discover.run import DRIFTED, INCOMPLETE, MATCH, analyze
from sparkctl.exitcodes import ExitCode
from sparkctl.topology.builtins import builtin_spec

from .discover_fabric import Fabric, cables, fabric, segments_for

N2 = ["spark-1", "spark-2"]
N3 = ["spark-1", "spark-2", "spark-3"]
N4 = ["spark-1", "spark-2", "spark-3", "spark-4"]
P1R0, P1R1 = "enp1s0f1np1", "enP2p1s0f1np1"
P0R0, P0R1 = "enp1s0f0np0", "enP2p1s0f0np0"


def run(declared, fab: Fabric, **kw):
    return analyze(declared.nodes, fab.reports(), declared, window_s=1.5, **kw)


def codes(result, severity=DRIFT):
    return sorted(f.code for f in result.findings if f.severity == severity)


# --- observation -----------------------------------------------------------------------------

def test_ring_rails_fold_into_three_cables():
    fab = fabric(N3, *map(str, builtin_spec("ring3").cables))
    obs = observe(list(fab.reports().values()))
    assert [str(c.cable) for c in obs.cables] == [
        "spark-1:p0 -- spark-2:p1", "spark-1:p1 -- spark-3:p0", "spark-2:p0 -- spark-3:p1"]
    assert all(c.rails == (0, 1) for c in obs.cables)
    assert obs.silent == ()


def test_three_members_on_a_segment_are_a_switch():
    fab = fabric(N3, *map(str, builtin_spec("switch3").cables))
    obs = observe(list(fab.reports().values()))
    assert [str(c.cable) for c in obs.cables] == [
        "spark-1:p1 -- switch", "spark-2:p1 -- switch", "spark-3:p1 -- switch"]


def test_two_ports_and_a_stranger_are_a_switch():
    fab = fabric(N2, "spark-1:p1 -- switch", "spark-2:p1 -- switch",
                 strangers={("spark-1", P1R0): ["aa:bb:cc:00:00:01"]})
    obs = observe(list(fab.reports().values()))
    assert all(c.cable.to_switch for c in obs.cables)
    assert len(obs.cables) == 2


def test_two_ports_alone_read_as_a_cable_unless_the_declaration_says_switch():
    fab = fabric(N2, "spark-1:p1 -- switch", "spark-2:p1 -- switch")
    obs = observe(list(fab.reports().values()))
    assert [str(c.cable) for c in obs.cables] == ["spark-1:p1 -- spark-2:p1"]
    as_switch, notes = read_as_declared_switch(obs, builtin_spec("switch2"))
    assert [str(c.cable) for c in as_switch.cables] == ["spark-1:p1 -- switch",
                                                        "spark-2:p1 -- switch"]
    assert notes and "look the same at layer 2" in notes[0]
    same, none = read_as_declared_switch(obs, builtin_spec("direct"))
    assert same is obs and none == []


def test_crossed_rails_are_flagged():
    fab = Fabric(N2, [[("spark-1", P1R0), ("spark-2", P1R1)],
                      [("spark-1", P1R1), ("spark-2", P1R0)]])
    obs = observe(list(fab.reports().values()))
    assert len(obs.cables) == 1 and obs.cables[0].crossed
    result = run(builtin_spec("direct"), fab)
    assert "crossed-rails" in codes(result)


def test_twins_of_two_ports_in_one_segment_are_a_switch_not_two_cables():
    # a switch with both rails in one VLAN: every interface hears all others
    wires = [("spark-1", P1R0), ("spark-1", P1R1), ("spark-2", P1R0), ("spark-2", P1R1)]
    obs = observe(list(Fabric(N2, [wires]).reports().values()))
    assert [str(c.cable) for c in obs.cables] == ["spark-1:p1 -- switch", "spark-2:p1 -- switch"]


# --- whole analysis --------------------------------------------------------------------------

def test_exact_match_on_every_builtin_has_no_drift():
    for name, nodes in (("single", ["spark-1"]), ("direct", N2), ("direct-dual", N2),
                        ("ring3", N3), ("switch3", N3), ("switch4", N4)):
        declared = builtin_spec(name)
        result = run(declared, fabric(nodes, *map(str, declared.cables),
                                      strangers={("spark-1", P1R0): ["aa:bb:cc:00:00:01"]}
                                      if name.startswith("switch") else {}))
        assert result.verdict == MATCH, (name, [str(f) for f in result.findings])
        assert result.classification.topology == name
        assert result.exit_code == ExitCode.OK


def test_swapped_ports_are_drift_with_the_swap():
    declared = builtin_spec("direct-dual")
    fab = fabric(N2, "spark-1:p0 -- spark-2:p1", "spark-1:p1 -- spark-2:p0")
    result = run(declared, fab)
    assert result.verdict == DRIFTED and result.exit_code == ExitCode.FAILED
    swap = next(f for f in result.findings if f.code == "swapped-cables")
    assert swap.fix == "swap the cables on spark-1 p0 and p1"
    assert "equally good: swap the cables on spark-2 p0 and p1" in swap.message


def test_one_twin_admin_down_names_that_port_and_the_command():
    declared = builtin_spec("direct")
    fab = fabric(N2, *map(str, declared.cables), admin_down={("spark-1", P1R1)})
    result = run(declared, fab)
    (finding,) = [f for f in result.findings if f.code == "one-twin"]
    assert finding.subject == "spark-1:p1"
    assert finding.message.startswith("only one twin up on spark-1:p1: rail 1 (enP2p1s0f1np1) "
                                      "is administratively down")
    assert "spark-2:p1 enP2p1s0f1np1: no carrier" in finding.message
    assert finding.fix.startswith("run `ip link set enP2p1s0f1np1 up` on spark-1")
    assert result.comparison.outcome == "exact"  # the cable itself is where it belongs


def test_one_dark_twin_blames_the_cable_at_both_ends():
    declared = builtin_spec("direct")
    fab = fabric(N2, *map(str, declared.cables), dark={("spark-1", P1R0), ("spark-2", P1R0)})
    found = [f for f in run(declared, fab).findings if f.code == "one-twin"]
    assert sorted(f.subject for f in found) == ["spark-1:p1", "spark-2:p1"]
    assert all("reseat the cable" in f.fix for f in found)


def test_slow_switch_port_on_dgx_spark():
    declared = builtin_spec("switch2")
    fab = fabric(N2, *map(str, declared.cables), speed={("spark-2", P1R0): 100_000},
                 strangers={("spark-1", P1R0): ["aa:bb:cc:00:00:01"]})
    result = run(declared, fab)
    (slow,) = [f for f in result.findings if f.code == "slow-link"]
    assert slow.subject == "spark-2:p1" and "100000 Mb/s" in slow.message
    assert "switch port" in slow.fix and "ethtool -s enp1s0f1np1 speed 200000" in slow.fix


def test_speed_is_not_judged_in_the_lab():
    declared = dataclasses.replace(builtin_spec("direct"), platform="lab")
    fab = fabric(N2, *map(str, declared.cables), speed={("spark-2", P1R0): 10_000})
    result = run(declared, fab)
    assert "slow-link" not in codes(result)
    assert "speed-not-checked" in codes(result, NOTE)


def test_mtu_before_provisioning_is_a_note_after_it_is_drift():
    declared = builtin_spec("direct")  # plan: MTU 9000
    bare = run(declared, fabric(N2, *map(str, declared.cables)))
    assert bare.verdict == MATCH and "mtu-not-provisioned" in codes(bare, NOTE)
    addressed = {("spark-1", P1R0): ["192.168.100.1/24"], ("spark-1", P1R1): ["192.168.101.1/24"]}
    mtu = {("spark-1", P1R0): 9000, ("spark-1", P1R1): 1500,
           ("spark-2", P1R0): 9000, ("spark-2", P1R1): 9000}
    done = run(declared, fabric(N2, *map(str, declared.cables), ipv4=addressed, mtu=mtu))
    (differs,) = [f for f in done.findings if f.code == "mtu-differs"]
    assert differs.subject == "spark-1:p1" and "MTU 1500" in differs.message
    (mismatch,) = [f for f in done.findings if f.code == "mtu-mismatch"]
    assert "ip link set enP2p1s0f1np1 mtu 9000" in mismatch.fix


def test_twin_without_address_and_twins_in_one_subnet():
    declared = builtin_spec("direct")
    half = run(declared, fabric(N2, *map(str, declared.cables),
                                ipv4={("spark-1", P1R0): ["192.168.100.1/24"]}))
    (finding,) = [f for f in half.findings if f.code == "twin-unaddressed"]
    assert finding.subject == "spark-1:p1"
    assert "add 192.168.101.1/24 to enP2p1s0f1np1 on spark-1" in finding.fix
    same = run(declared, fabric(N2, *map(str, declared.cables),
                                ipv4={("spark-1", P1R0): ["192.168.100.1/24"],
                                      ("spark-1", P1R1): ["192.168.100.11/24"]}))
    assert "twins-same-subnet" in codes(same)


def test_missing_cable_explains_the_port_state():
    declared = builtin_spec("switch4")
    fab = fabric(N4, *map(str, declared.cables[:3]),
                 strangers={("spark-1", P1R0): ["aa:bb:cc:00:00:01"]})
    result = run(declared, fab)
    (missing,) = [f for f in result.findings if f.code == "missing-cable"]
    assert missing.subject == "spark-4:p1"
    assert "enp1s0f1np1: no carrier" in missing.message


def test_link_to_a_stranger_is_reported():
    declared = builtin_spec("direct")
    fab = fabric(N2, *map(str, declared.cables),
                 strangers={("spark-2", P0R0): ["aa:bb:cc:00:00:09"]})
    (finding,) = [f for f in run(declared, fab).findings if f.code == "unknown-link"]
    assert finding.subject == "spark-2:p0" and "aa:bb:cc:00:00:09" in finding.message


def test_split_switch_segments():
    fab = Fabric(N4, segments_for(cables("spark-1:p1 -- switch", "spark-2:p1 -- switch"))
                 + [[("spark-3", P1R0), ("spark-4", P1R0), ("spark-3", P1R1),
                     ("spark-4", P1R1)]],
                 strangers={("spark-1", P1R0): ["aa:bb:cc:00:00:01"]})
    result = run(builtin_spec("switch4"), fab)
    assert "split-switch" in codes(result)


def test_unsupported_cabling_is_drift_with_reason():
    declared = builtin_spec("ring3")
    fab = fabric(N3, "spark-1:p0 -- spark-1:p1", "spark-2:p0 -- spark-3:p1")
    result = run(declared, fab)
    assert result.classification.topology == "unsupported"
    unsupported = [f for f in result.findings if f.code == "unsupported"]
    assert any(f.subject == "spark-1:p0" for f in unsupported)


def test_unreachable_node_makes_it_incomplete_and_skips_comparison():
    declared = builtin_spec("ring3")
    reports = fabric(N3, *map(str, declared.cables)).reports()
    del reports["spark-3"]
    result = analyze(declared.nodes, reports, declared, 1.5,
                     failures={"spark-3": "unreachable: no answer from spark-3:22 in time"})
    assert result.verdict == INCOMPLETE and result.exit_code == ExitCode.USAGE
    assert result.comparison is None
    assert [f.code for f in result.findings if f.severity == ERROR] == ["unreachable"]


def test_no_declaration_classifies_and_matches():
    nodes = builtin_spec("ring3").nodes
    fab = fabric(N3, *map(str, builtin_spec("ring3", ["spark-2", "spark-1", "spark-3"]).cables))
    result = analyze(nodes, fab.reports(), None, 1.5)
    assert result.verdict == MATCH and result.comparison is None
    assert result.classification.topology == "ring3"
    # rotations of a ring are the same cabling; the order that renames fewest, latest is given
    assert result.classification.order == ("spark-1", "spark-3", "spark-2")
    assert result.platform == "dgx-spark"  # from /etc/dgx-release on every node


def test_twin_brought_up_for_discovery_is_drift_only_once_provisioned():
    declared = builtin_spec("direct")
    fab = fabric(N2, *map(str, declared.cables))
    reports = fab.reports()
    iface = reports["spark-1"].interface(P1R1)
    raised = dataclasses.replace(iface, admin_up=False, brought_up=True)
    node = reports["spark-1"]
    reports["spark-1"] = dataclasses.replace(node, interfaces=tuple(
        raised if i.name == P1R1 else i for i in node.interfaces))
    result = analyze(declared.nodes, reports, declared, 1.5)
    assert [f.severity for f in result.findings if f.code == "admin-down"] == [NOTE]
    assert result.verdict == MATCH
    node = reports["spark-1"]
    reports["spark-1"] = dataclasses.replace(node, interfaces=tuple(
        dataclasses.replace(i, ipv4=("192.168.100.1/24",)) if i.name == P1R0 else i
        for i in node.interfaces))
    result = analyze(declared.nodes, reports, declared, 1.5)
    assert [f.severity for f in result.findings if f.code == "admin-down"] == [DRIFT]


def test_admin_down_twin_without_bring_up_suggests_it():
    declared = builtin_spec("direct")
    fab = fabric(N2, *map(str, declared.cables), admin_down={("spark-2", P1R1)})
    (note,) = [f for f in run(declared, fab).findings if f.code == "cannot-see"]
    assert "spark-2:enP2p1s0f1np1" in note.message and "--bring-up" in note.fix
