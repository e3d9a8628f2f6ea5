"""Renamings (port-preserving isomorphisms), cable swaps, classification and comparison."""

from __future__ import annotations

import dataclasses

import pytest

from sparkctl.discover.cabling import describe_mapping, multiset, renamings, slot_swaps
from sparkctl.discover.classify import CUSTOM, UNSUPPORTED, builtin_match, classify
from sparkctl.discover.compare import DIFFERENT, EXACT, RECABLED, RENAMED, compare
from sparkctl.topology.builtins import BUILTINS, builtin_spec

from .discover_fabric import cables

N3 = ["spark-1", "spark-2", "spark-3"]


def spec_with(name: str, cabling: list, hosts: list[str] | None = None):
    base = builtin_spec(name, hosts)
    return dataclasses.replace(base, topology="custom", cables=tuple(cabling))


# --- renamings -----------------------------------------------------------------------------

def test_identity_renaming_comes_first():
    ring = builtin_spec("ring3").cables
    found = renamings(ring, ring, N3)
    assert found[0] == {n: n for n in N3}
    # the ring's rotations are automorphisms too; reflections reverse p0/p1 and are not
    assert len(found) == 3


def test_ring_cabled_in_another_order_is_a_swap_of_two_names():
    declared = builtin_spec("ring3").cables
    observed = builtin_spec("ring3", ["spark-1", "spark-3", "spark-2"]).cables
    best = renamings(declared, observed, N3)[0]
    assert best == {"spark-1": "spark-1", "spark-2": "spark-3", "spark-3": "spark-2"}
    assert describe_mapping(best, N3) == "spark-2 and spark-3 swap names"


def test_no_renaming_explains_ports_swapped_on_one_node():
    declared = builtin_spec("ring3").cables
    observed = cables("spark-1:p0 -- spark-2:p0", "spark-2:p1 -- spark-3:p1",
                      "spark-3:p0 -- spark-1:p1")
    assert renamings(declared, observed, N3) == []


def test_three_way_renaming_is_described_name_by_name():
    mapping = {"a": "b", "b": "c", "c": "a"}
    assert describe_mapping(mapping, ["a", "b", "c"]) == \
        "the nodes are renamed b -> a, c -> b, a -> c"


# --- swaps ---------------------------------------------------------------------------------

def test_swapped_ports_on_one_node_are_found_same_node_first():
    declared = builtin_spec("ring3").cables
    observed = cables("spark-1:p0 -- spark-2:p0", "spark-2:p1 -- spark-3:p1",
                      "spark-3:p0 -- spark-1:p1")
    solutions = slot_swaps(observed, declared, N3)
    assert solutions[0] == ((("spark-2", 0), ("spark-2", 1)),)
    assert all(len(s) == 1 for s in solutions)


def test_direct_dual_swap_is_ambiguous_between_the_two_nodes():
    declared = builtin_spec("direct-dual").cables
    observed = cables("spark-1:p0 -- spark-2:p1", "spark-1:p1 -- spark-2:p0")
    solutions = slot_swaps(observed, declared, ["spark-1", "spark-2"])
    assert solutions == [((("spark-1", 0), ("spark-1", 1)),),
                         ((("spark-2", 0), ("spark-2", 1)),)]


def test_a_cable_in_the_wrong_empty_port_is_one_move():
    declared = builtin_spec("direct").cables  # p1 -- p1
    observed = cables("spark-1:p0 -- spark-2:p1")
    assert slot_swaps(observed, declared, ["spark-1", "spark-2"])[0] == \
        ((("spark-1", 0), ("spark-1", 1)),)


def test_nothing_found_when_more_than_two_moves_are_needed():
    declared = builtin_spec("ring3").cables
    observed = cables("spark-1:p1 -- switch", "spark-2:p1 -- switch", "spark-3:p1 -- switch")
    assert slot_swaps(observed, declared, N3) == []


# --- classification ------------------------------------------------------------------------

@pytest.mark.parametrize("name", list(BUILTINS))
def test_every_builtin_is_recognised_in_any_node_order(name):
    hosts = [f"h{i}" for i in range(BUILTINS[name].nodes)]
    shuffled = list(reversed(hosts))
    spec = builtin_spec(name, shuffled)
    result = classify(dataclasses.replace(spec, nodes=builtin_spec(name, hosts).nodes))
    assert result.topology == name
    # the order returned really produces the cabling
    again = builtin_spec(name, list(result.order)).cables
    assert multiset(again) == multiset(spec.cables)


def test_four_node_switchless_ring_is_unsupported_with_reason():
    nodes = ["spark-1", "spark-2", "spark-3", "spark-4"]
    ring = cables("spark-1:p0 -- spark-2:p1", "spark-2:p0 -- spark-3:p1",
                  "spark-3:p0 -- spark-4:p1", "spark-4:p0 -- spark-1:p1")
    result = classify(spec_with("switch4", ring, nodes))
    assert result.topology == UNSUPPORTED and not result.supported
    assert any("switchless ring of 4" in r and r.startswith("spark-1") for r in result.reasons)


def test_port_cabled_to_the_same_node_is_unsupported():
    loop = cables("spark-1:p0 -- spark-1:p1")
    result = classify(spec_with("single", loop))
    assert result.topology == UNSUPPORTED
    assert any(r.startswith("spark-1:p0: ") and "itself" in r for r in result.reasons)


def test_uncabled_node_makes_it_unsupported():
    result = classify(spec_with("direct", []))
    assert result.topology == UNSUPPORTED
    assert any("not cabled" in r for r in result.reasons)


def test_both_ports_on_the_switch_is_unsupported():
    both = cables("spark-1:p0 -- switch", "spark-1:p1 -- switch", "spark-2:p1 -- switch")
    result = classify(spec_with("switch2", both))
    assert result.topology == UNSUPPORTED
    assert any("both QSFP ports" in r for r in result.reasons)


def test_valid_non_builtin_is_custom():
    result = classify(spec_with("direct", cables("spark-1:p0 -- spark-2:p0")))
    assert result.topology == CUSTOM and result.supported


def test_direct_carries_the_switch2_ambiguity_note():
    result = classify(builtin_spec("direct"))
    assert result.topology == "direct"
    assert any("switch" in n for n in result.notes)


def test_builtin_match_none_for_custom():
    assert builtin_match(cables("spark-1:p0 -- spark-2:p0"), ["spark-1", "spark-2"]) is None


# --- comparison ----------------------------------------------------------------------------

def test_exact():
    spec = builtin_spec("switch4")
    assert compare(spec, list(spec.cables)).outcome == EXACT


def test_renamed_ring_proposes_the_new_order():
    declared = builtin_spec("ring3")
    observed = list(builtin_spec("ring3", ["spark-1", "spark-3", "spark-2"]).cables)
    result = compare(declared, observed)
    assert result.outcome == RENAMED
    assert result.order == ("spark-1", "spark-3", "spark-2")
    (finding,) = result.findings
    assert finding.message == "your cabling is ring3 if spark-2 and spark-3 swap names"
    assert "--hosts spark-1,spark-3,spark-2" in finding.fix
    assert finding.subject == "spark-2,spark-3"


def test_swapped_cables_name_the_exact_swap():
    declared = builtin_spec("ring3")
    observed = cables("spark-1:p0 -- spark-2:p0", "spark-2:p1 -- spark-3:p1",
                      "spark-3:p0 -- spark-1:p1")
    result = compare(declared, observed)
    assert result.outcome == RECABLED
    assert result.findings[0].fix == "swap the cables on spark-2 p0 and p1"
    assert "spark-2:p0 goes to spark-1:p0 (declared: spark-3:p1)" in result.findings[0].message


def test_moved_cable_says_move():
    result = compare(builtin_spec("direct"), cables("spark-1:p0 -- spark-2:p1"))
    assert result.findings[0].fix == "move the cable from spark-1:p0 to spark-1:p1"


def test_missing_switch_cable_names_port_and_fix():
    declared = builtin_spec("switch4")
    result = compare(declared, list(declared.cables[:3]),
                     explain=lambda ref: f"{ref}: no carrier")
    assert result.outcome == DIFFERENT
    (finding,) = result.findings
    assert finding.code == "missing-cable" and finding.subject == "spark-4:p1"
    assert "spark-4:p1: no carrier" in finding.message
    assert finding.fix == "cable spark-4:p1 to the switch"


def test_far_end_in_the_wrong_place_is_one_wrong_port_finding():
    declared = builtin_spec("switch4")
    # spark-1 and spark-2 cabled to each other instead of the switch; spark-4 in p0
    observed = cables("spark-1:p1 -- spark-2:p1", "spark-3:p1 -- switch",
                      "spark-4:p0 -- switch")
    result = compare(declared, observed)
    assert result.outcome == DIFFERENT
    codes = sorted(f.code for f in result.findings)
    assert codes == ["extra-cable", "missing-cable", "missing-cable", "wrong-port"]
    wrong = next(f for f in result.findings if f.code == "wrong-port")
    assert wrong.subject == "spark-1:p1"
    assert wrong.message == "spark-1:p1 is cabled to spark-2:p1; declared switch"
    assert "into switch" in wrong.fix


def test_extra_cable_is_reported():
    declared = builtin_spec("direct")
    observed = list(declared.cables) + cables("spark-1:p0 -- spark-2:p0")
    result = compare(declared, observed)
    assert [f.code for f in result.findings] == ["extra-cable"]
    assert result.findings[0].subject == "spark-1:p0,spark-2:p0"
