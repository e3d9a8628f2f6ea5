"""Rail test planning, scheduling and judging (iperf3/perftest results from real fixtures)."""

from collections import Counter
from pathlib import Path

import pytest

from sparkctl.checks.result import Verdict
from sparkctl.validate import rails

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


@pytest.mark.parametrize("topology,n,tests", [("switch4", 4, 8), ("switch2", 2, 4),
                                              ("ring3", 3, 12), ("direct", 2, 4),
                                              ("direct-dual", 2, 8)])
def test_every_rail_sends_once_and_receives_once(make_context, topology, n, tests):
    ctx = make_context(topology, n)
    planned = rails.plan_rail_tests(ctx, 5000)
    assert len(planned) == tests
    senders = Counter(t.ends[0] for t in planned)
    receivers = Counter(t.ends[1] for t in planned)
    every = {f"{node.name}/{i.name}" for node in ctx.nodes for i in node.interfaces}
    assert set(senders) == every and set(receivers) == every
    assert set(senders.values()) == {1} and set(receivers.values()) == {1}
    assert len({t.port for t in planned}) == len(planned)


def test_switch_uses_a_ring_of_pairs(make_context):
    planned = rails.plan_rail_tests(make_context("switch4", 4), 5000)
    pairs = {(t.sender, t.receiver) for t in planned}
    assert pairs == {("spark-1", "spark-2"), ("spark-2", "spark-3"), ("spark-3", "spark-4"),
                     ("spark-4", "spark-1")}


@pytest.mark.parametrize("limit", [None, 1, 2, 3])
def test_schedule_never_reuses_an_interface_in_a_round(make_context, limit):
    planned = rails.plan_rail_tests(make_context("ring3", 3), 5000)
    rounds = rails.schedule(planned, limit)
    assert sorted(t.port for r in rounds for t in r) == sorted(t.port for t in planned)
    for current in rounds:
        ends = [e for t in current for e in t.ends]
        assert len(ends) == len(set(ends))
        if limit:
            assert len(current) <= limit


def test_lab_expectation_is_the_shaped_ceiling_within_ten_percent(make_context):
    lab = make_context("switch4", 4, lab_rate=2000).platform
    exp = lab.rail_expectation
    assert exp.minimum == pytest.approx(1.8) and exp.unit == "Gb/s"
    assert make_context("switch4", 4).platform.rail_expectation.minimum == 90.0
    assert lab.link_speed_mbps is None  # a veth's fixed 10000 Mb/s proves nothing


def lab_judge(make_context):
    lab = make_context("switch2", 2, lab_rate=2000).platform
    return lab.rail_expectation, lab.rail_below_floor, lab.rail_slow_hint


def one_test(make_context):
    return rails.plan_rail_tests(make_context("switch2", 2), 5000)[0]


def test_judge_measured_pass_degraded_fail_in_the_lab(make_context):
    exp, below, hint = lab_judge(make_context)
    test = one_test(make_context)
    assert rails.judge_measured(test, 1.95, exp, below, hint).verdict is Verdict.PASS
    half = rails.judge_measured(test, 0.98, exp, below, hint)
    assert half.verdict is Verdict.DEGRADED and "below its shaped rate" in half.diagnosis
    assert "tc qdisc show" in half.hint
    assert rails.judge_measured(test, 0.3, exp, below, hint).verdict is Verdict.FAIL


def test_iperf3_fixture_results(make_context):
    test = one_test(make_context)
    complete = (FIXTURES / "iperf3/iperf3_3.9_json_J_tcp_single_stream_complete.txt").read_text()
    exp, below, hint = lab_judge(make_context)
    result = rails.judge_iperf3(test, complete, exp, below, hint)
    assert result.check.verdict is Verdict.DEGRADED
    assert result.check.measured == pytest.approx(1.63) and result.gbps == pytest.approx(1.63, 0.01)
    error = (FIXTURES / "iperf3/iperf3_3.16_json_J_error_control_socket_closed.txt").read_text()
    failed = rails.judge_iperf3(test, error, exp, below, hint)
    assert failed.check.verdict is Verdict.FAIL and "control connection" in failed.check.diagnosis
    # A failed test has no value: no figure, and no error count passed off as Gb/s.
    assert failed.gbps is None and failed.check.measured is None
    garbage = rails.judge_iperf3(test, "iperf3: error - unable to connect", exp, below, hint)
    assert garbage.check.verdict is Verdict.FAIL and garbage.gbps is None


def test_perftest_fixture_results(make_context):
    test = one_test(make_context)
    good = (FIXTURES / "perftest/spark_nvidia_playbook_client1_run_infinitely_rocep1s0f0_92Gbps"
            ".txt").read_text()
    floor = make_context("switch2", 2).platform.rail_expectation
    result = rails.judge_perftest(test, good, floor)
    assert result.check.verdict is Verdict.PASS and result.check.measured == pytest.approx(92.56)
    status12 = (FIXTURES / "perftest/spark4_crs804_client_completion_error_status12_FRAGMENT"
                ".txt").read_text()
    failed = rails.judge_perftest(test, status12, floor)
    assert failed.check.verdict is Verdict.FAIL and "perftest failed" in failed.check.diagnosis
    assert failed.gbps is None and failed.check.measured is None


def test_localize_names_the_rail_common_to_every_slow_test(make_context):
    target = make_context("switch4", 4, lab_rate=2000)
    exp, below = target.platform.rail_expectation, target.platform.rail_below_floor
    planned = rails.plan_rail_tests(target, 5000)
    culprit = "spark-3/enp1s0f1np1"
    results = [(t, rails.judge_measured(t, 0.99 if culprit in t.ends else 1.97, exp, below))
               for t in planned]
    out = rails.localize(results)
    slow = [c for c in out if c.verdict is not Verdict.PASS]
    assert len(slow) == 2
    assert all(f"goes through {culprit}" in c.diagnosis for c in slow)
    # a single slow test cannot tell sender from receiver: no claim is made
    one = [(t, rails.judge_measured(t, 0.99 if i == 0 else 1.97, exp, below))
           for i, t in enumerate(planned)]
    assert not any("goes through" in c.diagnosis for c in rails.localize(one))


def test_commands_are_bounded_and_use_the_rail(make_context):
    test = one_test(make_context)
    client = rails.iperf3_client(test, 2)
    assert "-B 192.168.100.1" in client and "-t 2" in client and "-J" in client
    server = rails.iperf3_server(test, 2)
    assert "READY" in server and f"sport = :{test.port}" in server
    pt = rails.perftest_client(test, 3, 3)
    assert "--report_gbits" in pt and "-D 3" in pt and "-x 3" in pt and pt.endswith(
        test.receiver_address)
