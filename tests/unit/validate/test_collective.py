"""Collective judging: lab CPU all-reduce rows and counters, nccl-tests on real fixtures."""

import json
from pathlib import Path

import pytest

from sparkctl.checks.result import Verdict
from sparkctl.validate import collective as C

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "nccl-tests"


def rows(busbws, wrong=0, nranks=4):
    return "\n".join(json.dumps({"size_bytes": 2**20 * 2**i, "count": 1, "type": "float",
                                 "redop": "sum", "iterations": 1, "time_us": 1.0,
                                 "algbw_GBps": b * 4 / 6, "busbw_GBps": b, "wrong": wrong,
                                 "nranks": nranks}) for i, b in enumerate(busbws))


def test_what_each_platform_judges(make_context):
    lab = make_context("switch4", 4, lab_rate=2000).platform
    assert lab.collective_expectation("switch4") is None  # the lab's busbw is not judged
    assert make_context("switch4", 4).platform.collective_expectation("switch4").minimum \
        == 21.875
    assert make_context("ring3", 3).platform.collective_expectation("ring3").minimum == 10.0
    assert lab.collectives == ("all_reduce",)


def test_lab_run_is_judged_on_ranks_and_sums_busbw_reported(make_context):
    # small sizes are slow, the largest saturate: the figure reported is the best of the
    # largest sizes; it is not judged (the lab's CPU bounds it), so a slow run still passes
    run = C.parse_lab_output(rows([0.001, 0.002, 0.01, 0.2, 0.21]))
    result = C.judge_lab_run(run, 4, 0)
    assert result.verdict is Verdict.PASS and result.measured == pytest.approx(0.21)
    assert result.expected is None and "not judged" in result.diagnosis
    slow = C.judge_lab_run(C.parse_lab_output(rows([0.001, 0.002, 0.003])), 4, 0)
    assert slow.verdict is Verdict.PASS and slow.measured == pytest.approx(0.003)


def test_lab_run_corruption_rank_count_and_errors():
    corrupt = C.judge_lab_run(C.parse_lab_output(rows([0.2, 0.2], wrong=5)), 4, 0)
    assert corrupt.verdict is Verdict.FAIL and "corrupted" in corrupt.diagnosis
    ranks = C.judge_lab_run(C.parse_lab_output(rows([0.2], nranks=2)), 4, 0)
    assert ranks.verdict is Verdict.FAIL and "2 ranks" in ranks.diagnosis
    text = ("--------\nORTE was unable to reliably start one or more daemons.\n"
            "This usually is caused by:\n")
    failed = C.judge_lab_run(C.parse_lab_output("", text), 4, 1)
    assert failed.verdict is Verdict.FAIL and "could not start its daemons" in failed.diagnosis
    exit_status = C.judge_lab_run(C.parse_lab_output(rows([0.2])), 4, 3)
    assert exit_status.verdict is Verdict.FAIL


def test_ring_run_says_it_did_not_use_the_rails():
    result = C.judge_lab_run(C.parse_lab_output(rows([0.2])), 4, 0, on_rails=False)
    assert "ompi#2168" in result.diagnosis
    transport = C.transport_not_provable()
    assert transport.verdict is Verdict.INFO and "ompi#2168" in transport.diagnosis


def counters(**sent):
    return {node: dict(values) for node, values in sent.items()}


def test_lab_transport_pass_twin_unused_and_management_fallback():
    netdevs = {"a": ["r0", "r1"], "b": ["r0", "r1"]}
    before = {"a": {"r0": 0, "r1": 0, "enP7s7": 0}, "b": {"r0": 0, "r1": 0, "enP7s7": 0}}
    even = {"a": {"r0": 500, "r1": 480, "enP7s7": 10}, "b": {"r0": 510, "r1": 490,
                                                              "enP7s7": 9}}
    assert C.judge_lab_transport(before, even, netdevs, "enP7s7").verdict is Verdict.PASS
    one_twin = {"a": {"r0": 990, "r1": 5, "enP7s7": 10}, "b": even["b"]}
    half = C.judge_lab_transport(before, one_twin, netdevs, "enP7s7")
    assert half.verdict is Verdict.DEGRADED and "a/r1 carried 1%" in half.diagnosis
    mgmt = {"a": {"r0": 5, "r1": 5, "enP7s7": 900}, "b": even["b"]}
    fallback = C.judge_lab_transport(before, mgmt, netdevs, "enP7s7")
    assert fallback.verdict is Verdict.FAIL and "management" in fallback.diagnosis
    silent = C.judge_lab_transport(before, before, netdevs, "enP7s7")
    assert silent.verdict is Verdict.FAIL


def test_parse_counters_ignores_missing_interfaces():
    assert C.parse_counters("r0:100 r1:-1 enP7s7:7\n") == {"r0": 100, "enP7s7": 7}


def test_nccl_switch_run_is_judged_at_its_size_and_socket_speed_run_fails():
    good = (FIXTURES / "spark_koyo_all_gather_2node_switch_good_21GBps.txt").read_text()
    four = 4 * 1024**3
    at_4g = C.CollectiveSize(four, C.T.collective_verdict_expectation("switch2", four),
                             "the documented 4G fallback")
    result = C.judge_nccl_run(good, "switch2", 0, "all_gather", at_4g)
    assert result[0].id == "collective.all_gather" and result[0].verdict is Verdict.PASS
    # the 4G row's out-of-place/in-place mean (22.14, 22.46), not the 1-4G sweep's 21.40
    assert result[0].measured == pytest.approx(22.30) and result[0].expected == 21.875
    bad = (FIXTURES / "spark_koyo_all_gather_2node_direct_degraded_2p8GBps.txt").read_text()
    failed = C.judge_nccl_run(bad, "direct", 0, "all_gather", at_4g)
    assert failed[0].verdict is Verdict.FAIL and "~3 GB/s" in failed[0].diagnosis


def test_nccl_socket_fallback_log_gives_a_transport_failure():
    text = (FIXTURES / "all_reduce_perf_1gpu_h100_nccl_debug_socket_fallback.txt").read_text()
    checks = {c.id: c for c in C.judge_nccl_run(text, "switch2", 0, "all_reduce")}
    assert checks["collective.transport"].verdict is Verdict.FAIL
    assert "NET/Socket" in checks["collective.transport"].diagnosis


def test_nccl_launch_failure_and_exit_status():
    text = (FIXTURES / "mpirun_orte_unable_to_start_daemons_TRUNCATED.txt").read_text()
    checks = C.judge_nccl_run(text, "switch4", 1)
    assert checks[0].verdict is Verdict.FAIL
    assert "could not start its daemons" in checks[0].diagnosis


def test_nccl_command_is_nvidias_single_size_run_bounded_by_T(make_context):
    cmd = C.nccl_tests_command(make_context("switch4", 4), timeout_s=200)
    assert "/all_gather_perf -b 17179869184 -e 17179869184 -f 2 -g 1 -T 200" in cmd
    assert "NCCL_DEBUG=INFO" in cmd and "-x NCCL_IB_HCA" in cmd
    assert "--hostfile" in cmd and "oob_tcp_if_include enP7s7" in cmd
    reduce = C.nccl_tests_command(make_context("switch4", 4), collective="all_reduce",
                                  size_bytes=4 * 1024**3)
    assert "/all_reduce_perf -b 4294967296 -e 4294967296" in reduce


def test_lab_command_pins_data_to_the_rails_only_where_possible(make_context):
    switch = make_context("switch4", 4, lab_rate=2000)
    cmd = C.lab_command(switch, "spark-1")
    assert "btl_tcp_if_include enp1s0f1np1,enP2p1s0f1np1" in cmd
    ring = make_context("ring3", 3, lab_rate=2000)
    assert not C.rails_shared_by_all(ring)
    assert "btl_tcp_if_include enP7s7" in C.lab_command(ring, "spark-1")


def test_lab_without_mpi4py_says_how_to_fix(make_context):
    stderr = ("Traceback (most recent call last):\n  File \"/tmp/x.py\", line 12\n"
              "ModuleNotFoundError: No module named 'mpi4py'\n")
    result = C.judge_lab_run(C.parse_lab_output("", stderr), 4, 1)
    assert result.verdict is Verdict.FAIL and "python3-mpi4py" in result.hint
