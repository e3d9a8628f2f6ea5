"""Judging functions on synthetic NUMBERS (never synthetic tool output)."""

from __future__ import annotations

import pytest

from sparkctl.checks import diagnose as G
from sparkctl.checks import thresholds as T
from sparkctl.checks.result import Verdict
from sparkctl.errors import InputError

DIRECT = T.COLLECTIVE_DIRECT_SWITCH
RING = T.COLLECTIVE_RING3


def test_threshold_table_values_and_sources():
    assert DIRECT.minimum == 21.875 and "175 Gbps" in DIRECT.source
    assert RING.minimum == 10.0 and RING.healthy is not None
    assert (RING.healthy.low, RING.healthy.high) == (18.70, 20.75)
    assert T.RAIL_BANDWIDTH.minimum == 90.0 and "92.57" in T.RAIL_BANDWIDTH.source
    assert T.LINK_SPEED.minimum == 200_000


@pytest.mark.parametrize(("topology", "expected"), [
    (None, DIRECT), ("direct", DIRECT), ("direct-dual", DIRECT), ("switch2", DIRECT),
    ("switch4", DIRECT), ("ring3", RING), ("single", None)])
def test_collective_expectation_by_topology(topology, expected):
    assert T.collective_expectation(topology) == expected


def test_unknown_topology_is_an_input_error():
    with pytest.raises(InputError, match="unknown topology 'mesh9'"):
        T.collective_expectation("mesh9")


def test_saturated_busbw_uses_largest_sizes_not_the_average():
    # (size, best busbw) of a 1-4 GB sweep; the sweep average 21.40 would miss 21.875.
    points = [(1 << 30, 20.80), (2 << 30, 22.05), (4 << 30, 22.46)]
    assert G.saturated_busbw(points) == (22.46, 4 << 30)
    assert G.judge_busbw(21.40, DIRECT).verdict is Verdict.DEGRADED
    assert G.judge_busbw(22.46, DIRECT).verdict is Verdict.PASS
    # Small sizes in a long sweep do not drag the judged value down.
    sweep = [(1 << k, 0.01 * k) for k in range(3, 28)] + [(1 << 28, 18.0), (1 << 29, 21.9),
                                                          (1 << 30, 21.0)]
    assert G.saturated_busbw(sweep) == (21.9, 1 << 30)
    assert G.saturated_busbw([]) is None


@pytest.mark.parametrize(("busbw", "verdict", "words"), [
    (21.875, Verdict.PASS, ">= 21.875"),
    (23.7, Verdict.PASS, ">="),
    (20.0, Verdict.DEGRADED, "MTU"),
    (13.5, Verdict.DEGRADED, "about half"),
    (10.9, Verdict.DEGRADED, "one twin"),
    (7.0, Verdict.FAIL, "far below"),
    (3.04, Verdict.FAIL, "~3 GB/s"),
    (2.82, Verdict.FAIL, "NET/Socket"),
])
def test_busbw_direct_switch_signatures(busbw, verdict, words):
    judged = G.judge_busbw(busbw, DIRECT)
    assert judged.verdict is verdict
    assert words in judged.diagnosis
    assert judged.measured == busbw and judged.expected == 21.875 and judged.unit == "GB/s"
    if verdict is not Verdict.PASS:
        assert judged.hint


@pytest.mark.parametrize(("busbw", "verdict", "words"), [
    (20.75, Verdict.PASS, ">= 10"),
    (18.7, Verdict.PASS, ">= 10"),
    (12.0, Verdict.DEGRADED, "below the healthy 18.7-20.75"),
    (9.0, Verdict.DEGRADED, "about half"),
    (3.0, Verdict.FAIL, "~3 GB/s"),
])
def test_busbw_ring3_band(busbw, verdict, words):
    judged = G.judge_busbw(busbw, RING)
    assert judged.verdict is verdict and words in judged.diagnosis


def test_busbw_transport_changes_the_diagnosis():
    assert "NET/Socket" in G.judge_busbw(2.9, DIRECT, transport="Socket").diagnosis
    assert G.judge_busbw(15.0, DIRECT, transport="Socket").verdict is Verdict.FAIL
    ib = G.judge_busbw(2.9, DIRECT, transport="IB")
    assert ib.verdict is Verdict.FAIL and "non-release NCCL" in ib.diagnosis
    dev = G.judge_busbw(3.04, DIRECT, nccl_release=False)
    assert "non-release NCCL build" in dev.diagnosis


def test_corruption_fails_and_clean_run_is_none():
    assert G.judge_corruption(0, 0) is None
    assert G.judge_corruption(None, 0) is None
    oob = G.judge_corruption(3, 0)
    assert oob is not None and oob.verdict is Verdict.FAIL and "corrupted" in oob.diagnosis
    wrong = G.judge_corruption(0, 12)
    assert wrong is not None and wrong.measured == 12


@pytest.mark.parametrize(("line", "words"), [
    ("Invalid number of GPUs: 2 requested but only 1 were found.", "more GPUs"),
    ("bootstrap.cc:114 NCCL WARN Bootstrap : no socket interface found", "NCCL_SOCKET_IFNAME"),
    ("NCCL WARN Call to ibv_modify_qp failed with 110 Connection timed out", "GID index"),
    ("ssh: Could not resolve hostname worker-0: Name or service not known", "mpirun"),
    ("something nobody has seen before", "something nobody has seen before"),
])
def test_nccl_error_signatures(line, words):
    judged = G.judge_nccl_errors([line])
    assert judged.verdict is Verdict.FAIL and words in judged.diagnosis and judged.hint


def test_nccl_network_judgement():
    both = G.judge_nccl_network("IB", ["rocep1s0f1", "roceP2p1s0f1"], ib_unusable=False,
                                warnings=[], nccl_release=True)
    assert both.verdict is Verdict.PASS
    one = G.judge_nccl_network("IB", ["rocep1s0f1"], ib_unusable=False, warnings=[],
                               nccl_release=True)
    assert one.verdict is Verdict.DEGRADED and "roceP2p1s0f1" in one.diagnosis
    sock = G.judge_nccl_network("Socket", [], ib_unusable=True, warnings=[], nccl_release=True)
    assert sock.verdict is Verdict.FAIL
    dev = G.judge_nccl_network("IB", ["mlx5_0"], ib_unusable=False, warnings=[],
                               nccl_release=False)
    assert dev.verdict is Verdict.DEGRADED
    unknown = G.judge_nccl_network(None, [], ib_unusable=False, warnings=[], nccl_release=None)
    assert unknown.verdict is None


@pytest.mark.parametrize(("gbps", "verdict"), [
    (92.57, Verdict.PASS), (90.0, Verdict.PASS), (89.9, Verdict.DEGRADED),
    (46.3, Verdict.DEGRADED), (36.0, Verdict.DEGRADED), (13.0, Verdict.FAIL), (0.0, Verdict.FAIL)])
def test_rail_bandwidth(gbps, verdict):
    judged = G.judge_rail_bandwidth(gbps)
    assert judged.verdict is verdict and judged.unit == "Gb/s" and judged.expected == 90.0


def test_link_speed():
    assert G.judge_link_speed(200_000, True).verdict is Verdict.PASS
    auto = G.judge_link_speed(100_000, True)
    assert auto.verdict is Verdict.DEGRADED and "autonegotiated 100G" in auto.diagnosis
    assert "200G" in (auto.hint or "")
    assert G.judge_link_speed(50_000, True).verdict is Verdict.DEGRADED
    assert G.judge_link_speed(None, False).verdict is Verdict.FAIL
    assert G.judge_link_speed(None, None).verdict is Verdict.FAIL
    assert G.judge_link_speed(10_000, True, expected_mbps=10_000).verdict is Verdict.PASS


def test_fec():
    assert G.judge_fec("RS").verdict is Verdict.PASS
    none = G.judge_fec("None")
    assert none.verdict is Verdict.DEGRADED and "--set-fec" in (none.hint or "")
    assert G.judge_fec("BaseR").verdict is Verdict.DEGRADED
    assert G.judge_fec(None).verdict is None


def test_counters():
    assert G.judge_counters({"rx_discards_phy": 0, "rx_out_of_buffer": 0}).verdict is Verdict.PASS
    # Corrected lane errors are FEC at work on 200G PAM4: reported, never a failure.
    lanes = G.judge_counters({"rx_err_lane_0_phy": 6, "rx_err_lane_3_phy": 0})
    assert lanes.verdict is None and "normal on 200G PAM4" in lanes.diagnosis
    post_fec = G.judge_counters({"rx_err_lane_0_phy": 6, "rx_crc_errors_phy": 3})
    assert post_fec.verdict is Verdict.DEGRADED and "post-FEC" in post_fec.diagnosis
    drops = G.judge_counters({"rx_discards_phy": 10, "rx_packets": 5})
    assert drops.verdict is Verdict.DEGRADED and drops.measured == 10 and "PFC" in drops.hint
    assert G.judge_counters({"rx_packets": 5, "tx_bytes": 9}).verdict is None


def test_rdma_ports():
    P = G.PortState
    pair = [P("rocep1s0f0", True, "Ethernet"), P("roceP2p1s0f0", True, "Ethernet"),
            P("rocep1s0f1", False), P("roceP2p1s0f1", False)]
    assert G.judge_rdma_ports(pair).verdict is Verdict.PASS
    half = [P("rocep1s0f0", True), P("roceP2p1s0f0", False), P("rocep1s0f1", False),
            P("roceP2p1s0f1", False)]
    judged = G.judge_rdma_ports(half)
    assert judged.verdict is Verdict.DEGRADED and "roceP2p1s0f0" in judged.diagnosis
    none = [P("rocep1s0f0", False), P("roceP2p1s0f0", False)]
    assert G.judge_rdma_ports(none).verdict is Verdict.FAIL
    ib = [P("rocep1s0f0", True, "InfiniBand"), P("roceP2p1s0f0", True, "InfiniBand")]
    assert G.judge_rdma_ports(ib).verdict is Verdict.DEGRADED
    assert G.hardware_twin("rocep1s0f1") == "roceP2p1s0f1"
    assert G.hardware_twin("mlx5_0") is None


def test_gpus():
    assert G.judge_gpus(1, [None]).verdict is Verdict.PASS  # GB10 reports ECC as N/A
    assert G.judge_gpus(1, [0]).verdict is Verdict.PASS
    assert G.judge_gpus(1, [2]).verdict is Verdict.FAIL
    assert G.judge_gpus(0, []).verdict is Verdict.FAIL


def test_judgement_to_check_and_worst():
    judged = G.judge_rail_bandwidth(45.0)
    check = judged.to_check("rail.bandwidth", "rail", "spark-1/rocep1s0f0")
    assert check.verdict is Verdict.DEGRADED and check.measured == 45.0
    assert check.to_dict()["hint"] == judged.hint
    with pytest.raises(ValueError):
        G.judge_fec(None).to_check("link.fec", "link", "x")
    picked = G.worst([G.judge_fec(None), G.judge_rail_bandwidth(95), G.judge_gpus(0, [])])
    assert picked.verdict is Verdict.FAIL


@pytest.mark.parametrize(("lines", "words"), [
    (["Failed status 12: wr_id 7 syndrom 0x81"], "IBV_WC_RETRY_EXC_ERR"),
    (["Unable to find the Infiniband/RoCE device"], "no RDMA device"),
    (["Failed to modify QP to RTS"], "queue pair"),
])
def test_perftest_error_signatures(lines, words):
    judged = G.judge_perftest_errors(lines)
    assert judged.verdict is Verdict.FAIL and words in judged.diagnosis


def test_iperf3_error_signatures():
    assert "no iperf3 server" in G.judge_iperf3_errors(
        ["error - unable to connect to server: Connection refused"]).diagnosis
    assert "control connection" in G.judge_iperf3_errors(
        ["control socket has closed unexpectedly"]).diagnosis
