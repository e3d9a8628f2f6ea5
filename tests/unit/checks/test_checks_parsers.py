"""Parsers on real fixtures: the values asserted here were read off the files by eye."""

from __future__ import annotations

import pytest

from sparkctl.checks import detect as D
from sparkctl.checks.analyze import analyze_text
from sparkctl.checks.parsers import (
    ParseError,
    ethtool,
    iperf3,
    nccl_debug,
    nccl_tests,
    nvidia_smi,
    perftest,
    rdma,
)

from .conftest import read

GOOD_SWITCH = "nccl-tests/spark_koyo_all_gather_2node_switch_good_21GBps.txt"
DEGRADED_2P8 = "nccl-tests/spark_koyo_all_gather_2node_direct_degraded_2p8GBps.txt"


# --- nccl-tests ---------------------------------------------------------------------------

def test_nccl_tests_text_two_node_switch_run():
    run = nccl_tests.parse_text(read(GOOD_SWITCH))
    assert run.collective == "all_gather"
    assert [r.size_bytes for r in run.rows] == [1073741824, 2147483648, 4294967296]
    last = run.rows[-1]
    assert (last.count, last.type, last.redop) == (536870912, "float", "none")
    assert last.out_of_place.time_us == 96986.7
    assert last.out_of_place.algbw_GBps == 44.28
    assert last.out_of_place.busbw_GBps == 22.14
    assert last.in_place.busbw_GBps == 22.46
    assert last.in_place.wrong == 0
    assert run.avg_busbw_GBps == 21.4033
    assert run.out_of_bounds == 0
    assert run.nranks == 2 and run.hosts == ["spark-4440", "spark-fb97"]
    assert run.transport is None and run.errors == [] and run.concluded


DESIGN_KEYS = {"collective", "rows", "avg_busbw_GBps", "out_of_bounds", "transport", "errors"}
# Added by the second wave (the contract is extended, never broken).
ADDED_KEYS = {"avg_busbw_computed_GBps", "nccl_version", "tests_version", "nranks", "hosts",
              "concluded", "layout"}


def test_nccl_tests_metrics_keep_the_design_keys_and_only_add():
    metrics = nccl_tests.parse_text(read(GOOD_SWITCH)).metrics()
    assert set(metrics) == DESIGN_KEYS | ADDED_KEYS
    row = metrics["rows"][0]
    assert set(row) >= {"size_bytes", "count", "type", "redop", "out_of_place", "in_place"}
    assert set(row["in_place"]) == {"time_us", "algbw_GBps", "busbw_GBps", "wrong", "max_error"}
    assert metrics["nccl_version"] == "2.28.9"  # from "nccl-library=22809"
    assert metrics["avg_busbw_computed_GBps"] is None  # the printed line is there


def test_nccl_tests_text_degraded_run_values():
    run = nccl_tests.parse_text(read(DEGRADED_2P8))
    assert run.avg_busbw_GBps == 2.82151
    assert [r.best_busbw_GBps for r in run.rows] == [2.82, 2.83, 2.83]


def test_nccl_tests_text_with_debug_lines_reads_socket_transport():
    run = nccl_tests.parse_text(
        read("nccl-tests/all_reduce_perf_1gpu_h100_nccl_debug_socket_fallback.txt"))
    assert run.transport == "Socket"
    assert run.collective == "all_reduce"
    assert [r.size_bytes for r in run.rows] == [1048576, 4194304, 16777216, 67108864]
    assert run.rows[-1].out_of_place.algbw_GBps == 1387.6
    assert run.debug is not None and run.debug.nccl_version == "2.28.9+cuda13.0"


def test_nccl_tests_text_single_gpu_sweep():
    run = nccl_tests.parse_text(read("nccl-tests/all_reduce_perf_1gpu_h100.txt"))
    assert len(run.rows) == 26
    assert run.rows[0].size_bytes == 8 and run.rows[-1].size_bytes == 268435456
    assert run.rows[-1].in_place.algbw_GBps == 257344
    assert run.nranks == 1 and run.avg_busbw_GBps == 0


def test_nccl_tests_error_outputs_collect_error_lines():
    run = nccl_tests.parse_text(read("nccl-tests/all_reduce_perf_bad_socket_ifname_error.txt"))
    assert run.rows == []
    assert any("Bootstrap : no socket interface found" in e for e in run.errors)
    assert any("invalid usage" in e for e in run.errors)
    run = nccl_tests.parse_text(read("nccl-tests/all_reduce_perf_missing_gpu_error.txt"))
    assert run.errors[0] == "Invalid number of GPUs: 2 requested but only 1 were found."


def test_nccl_tests_json_all_gather():
    run = nccl_tests.parse_json(read("nccl-tests/all_gather_perf_mpirun_np1_h100.json"))
    assert run.collective == "all_gather"
    assert run.rows[0].size_bytes == 1048576 and run.rows[-1].size_bytes == 268435456
    assert run.rows[-1].out_of_place.algbw_GBps == 1482.035078
    assert run.rows[-1].out_of_place.time_us == 181.12625
    assert run.rows[-1].in_place.wrong == 0
    assert run.out_of_bounds == 0 and run.avg_busbw_GBps == 0.0
    assert run.errors == []  # nccl-tests writes [""] when there were none
    assert run.nranks == 1 and run.hosts == ["vm"]


def test_nccl_tests_json_all_reduce_and_truncation():
    text = read("nccl-tests/all_reduce_perf_1gpu_h100.json")
    run = nccl_tests.parse_json(text)
    assert run.collective == "all_reduce"
    assert run.rows[-1].out_of_place.algbw_GBps == 1387.584598
    with pytest.raises(ParseError, match="invalid JSON at line"):
        nccl_tests.parse_json(text[: len(text) // 2])


# --- NCCL_DEBUG logs ------------------------------------------------------------------------

def test_nccl_debug_healthy_switch_log():
    log = nccl_debug.parse(read("nccl-debug/spark_koyo_debug_good_switch_part1_head.txt"))
    assert log.nccl_version == "2.28.9+cuda13.0" and log.nccl_release is True
    assert log.transport == "IB" and log.net_plugin == "IB"
    assert log.ib_devices == ["rocep1s0f1", "roceP2p1s0f1"]
    assert log.gdr == {"rocep1s0f1": False, "roceP2p1s0f1": False}
    assert log.warnings == []


def test_nccl_debug_socket_fallbacks():
    log = nccl_debug.parse(read(
        "nccl-debug/pytorch99669_net_ib_no_device_socket_fallback_HEAD.txt"))
    assert log.transport == "Socket" and log.ib_unusable
    assert log.nccl_version == "2.12.12.MSCCL.0.7.3+cuda11.7" and log.nccl_release is False
    frag = nccl_debug.parse(read("nccl-debug/spark_ideo_nccl_socket_fallback_FRAGMENT.txt"))
    assert frag.transport == "Socket" and frag.ib_unusable
    ib = nccl_debug.parse(read("nccl-debug/spark_ideo_nccl_ib_two_roce_devices_FRAGMENT.txt"))
    assert ib.transport == "IB" and ib.ib_devices == ["rocep1s0f0", "roceP2p1s0f0"]


def test_nccl_debug_warn_lines():
    log = nccl_debug.parse(read(
        "nccl-debug/nccl2013_ibv_modify_qp_failed_110_WARN_line_REDACTED.txt"))
    assert len(log.warnings) == 1
    assert log.warnings[0].startswith("Call to ibv_modify_qp failed with 110 Connection timed out")
    log = nccl_debug.parse(read("nccl-debug/nccl1812_failed_to_open_libibverbs_HEAD.txt"))
    assert log.ib_unusable and log.transport is None and log.nccl_version == "2.19.3+cuda12.2"


# --- perftest -------------------------------------------------------------------------------

def test_perftest_run_infinitely_gbits():
    run = perftest.parse(read(
        "perftest/spark_nvidia_playbook_client1_run_infinitely_rocep1s0f0_92Gbps.txt"))
    assert run.tool == "ib_write_bw" and run.devices == ["rocep1s0f0"]
    assert (run.mtu_bytes, run.link_type, run.gid_index, run.qps) == (1024, "Ethernet", 3, 1)
    assert [r.average_Gbps for r in run.bandwidth_rows] == [92.57, 92.57, 92.57, 92.56, 92.57]
    assert run.peak_Gbps is None  # "BW peak won't be measured": perftest prints 0.00
    assert run.average_Gbps == 92.56


def test_perftest_mb_per_sec_is_mebibytes():
    run = perftest.parse(read("perftest/spark_es_client_default_mbsec_link1.txt"))
    assert run.reported_unit == "MB/sec"
    row = run.bandwidth_rows[0]
    assert (row.size_bytes, row.iterations) == (65536, 5000)
    # 11031.60 MiB/s * 1048576 * 8 / 1e9 = 92.54 Gb/s, matching NVIDIA's 92.57 --report_gbits.
    assert row.average_Gbps == pytest.approx(92.54, abs=0.01)
    assert row.peak_Gbps == pytest.approx(11032.69 * 1048576 * 8 / 1e9, abs=0.001)


def test_perftest_interleaved_clients_and_latency():
    run = perftest.parse(read(
        "perftest/spark_eksblog_two_concurrent_clients_interleaved_report_gbits_98Gbps_TRUNCATED.txt"))
    assert run.devices == ["rocep1s0f1", "roceP2p1s0f1"] and run.mtu_bytes == 4096
    assert [r.iterations for r in run.bandwidth_rows] == [70121, 70120]
    assert run.average_Gbps == 98.04
    lat = perftest.parse(read("perftest/spark_eugr_ib_write_lat_client_rdma_cm.txt"))
    assert lat.tool == "ib_write_lat" and lat.link_type == "IB"
    row = lat.latency_rows[0]
    assert (row.size_bytes, row.t_min_us, row.t_max_us, row.t_typical_us) == (2, 1.42, 1.93, 1.47)


def test_perftest_errors():
    run = perftest.parse(read(
        "perftest/spark4_crs804_client_completion_error_status12_FRAGMENT.txt"))
    assert run.completion_status == 12
    assert run.errors == ["Completion with error at client",
                          "Failed status 12: wr_id 7 syndrom 0x81"]
    run = perftest.parse(read("perftest/perftest_no_device_found_k8s106.txt"))
    assert "Unable to find the Infiniband/RoCE device" in run.errors
    assert perftest.parse(read("perftest/gb10_trevor_server_waiting_rdma_cm.txt")).server_waiting


# --- iperf3 ---------------------------------------------------------------------------------

def test_iperf3_text_parallel_streams():
    run = iperf3.parse_text(read("iperf3/spark_es_iperf3_client_P4_sum.txt"))
    assert run.streams == 4 and run.remote == "192.168.100.10:5201"
    assert run.sender_Gbps == 93.0 and run.receiver_Gbps == 93.0 and run.retransmits == 16766
    assert run.interval_Gbps[:3] == [93.7, 93.8, 91.0] and run.completed


def test_iperf3_text_single_stream_and_error():
    run = iperf3.parse_text(read("iperf3/spark_es_iperf3_client_text_run1.txt"))
    assert (run.streams, run.sender_Gbps, run.retransmits, run.duration_s) == (1, 25.0, 6648, 10.0)
    err = iperf3.parse_text(read(
        "iperf3/iperf3_3.1.3_client_unable_to_connect_refused_old_wording.txt"))
    assert err.errors == ["error - unable to connect to server: Connection refused"]


def test_iperf3_json_complete_and_error():
    run = iperf3.parse_json(read("iperf3/iperf3_3.9_json_J_tcp_single_stream_complete.txt"))
    assert run.version == "3.9" and run.protocol == "TCP" and run.streams == 1
    assert run.sender_Gbps == pytest.approx(1.627, abs=0.001)
    assert run.receiver_Gbps == pytest.approx(1.628, abs=0.001)
    assert run.retransmits == 1229 and len(run.interval_Gbps) == 10  # 3 omitted intervals out
    err = iperf3.parse_json(read("iperf3/iperf3_3.16_json_J_error_control_socket_closed.txt"))
    assert err.errors == ["control socket has closed unexpectedly"] and not err.completed


# --- ethtool --------------------------------------------------------------------------------

def test_ethtool_settings_up_and_down():
    up = ethtool.parse(read("ethtool/spark_ideo_ethtool_enP2p1s0f0np0_200G_up.txt"))
    assert isinstance(up, ethtool.EthtoolSettings)
    assert (up.interface, up.speed_mbps, up.lanes, up.duplex) == ("enP2p1s0f0np0", 200000, 2,
                                                                   "Full")
    assert up.link_detected is True and up.advertised_fec == "RS"
    assert up.port == "Direct Attach Copper"
    down = ethtool.parse(read("ethtool/spark_ideo_ethtool_enp1s0f1np1_no_cable_down.txt"))
    assert down.speed_mbps is None and down.link_detected is False
    assert down.link_detail == "No cable"
    frag = ethtool.parse(read("ethtool/gx10_chronara_ethtool_enp1s0f0np0_FRAGMENT.txt"))
    assert (frag.interface, frag.speed_mbps, frag.lanes) == (None, 200000, 4)


def test_ethtool_stats_driver_and_fec():
    stats = ethtool.parse(read("ethtool/gx10_chronara_ethtool_S_lane_errors_FRAGMENT.txt"))
    assert isinstance(stats, ethtool.EthtoolStats) and stats.filtered
    assert stats.counters["rx_err_lane_2_phy"] == 190
    assert stats.counters["rx_corrected_bits_phy"] == 198
    full = ethtool.parse(read(
        "ethtool/mlx5_ethtool_S_nonzero_counters_rx_discards_phy_rx_out_of_buffer_kernel6.5.txt"))
    assert not full.filtered and full.counters["rx_discards_phy"] == 441063206498
    info = ethtool.parse(read("ethtool/spark_ethtool_i_FRAGMENT.txt"))
    assert isinstance(info, ethtool.EthtoolDriverInfo)
    assert (info.driver, info.firmware_version, info.psid) == ("mlx5_core", "28.45.4028",
                                                               "NVD0000000087")
    bf3 = ethtool.parse(read("ethtool/mlx5_bluefield3_ethtool_i_aarch64.txt"))
    assert bf3.bus_info == "0002:01:00.0"  # the shell prompt lines around it are skipped
    fec = ethtool.parse(read("ethtool/spark_koyo_show_fec_direct_None.txt"))
    assert isinstance(fec, ethtool.EthtoolFec)
    assert (fec.interface, fec.configured, fec.active) == ("enp1s0f0np0", ["Auto"], "None")
    assert ethtool.parse(read("ethtool/spark_koyo_set_fec_rs_then_show.txt")).active == "RS"


# --- RDMA -----------------------------------------------------------------------------------

def test_ibv_devinfo_ports():
    ports = rdma.parse(read("rdma/spark_ideo_ibv_devinfo_head_2active_2down_mtu4096.txt")).ports
    assert [(p.device, p.active, p.active_mtu) for p in ports] == [
        ("rocep1s0f0", True, 4096), ("rocep1s0f1", False, 1024),
        ("roceP2p1s0f0", True, 4096), ("roceP2p1s0f1", False, 1024)]
    assert {p.link_layer for p in ports} == {"Ethernet"}
    assert {p.firmware for p in ports} == {"28.45.4028"}


def test_ibdev2netdev_rdma_link_and_ibstat():
    ports = rdma.parse(read("rdma/spark_unk_nodeA_ibdev2netdev_f1_up_f0_down.txt")).ports
    assert [(p.device, p.netdev, p.active) for p in ports] == [
        ("rocep1s0f0", "enp1s0f0np0", False), ("rocep1s0f1", "enp1s0f1np1", True),
        ("roceP2p1s0f0", "enP2p1s0f0np0", False), ("roceP2p1s0f1", "enP2p1s0f1np1", True)]
    link = rdma.parse(read("rdma/gb10_sean_rdma_link_2active_2down.txt"))
    assert link.source == "rdma-link"
    assert [p.physical_state for p in link.ports] == ["LINK_UP", "DISABLED", "LINK_UP",
                                                     "DISABLED"]
    ibstat = rdma.parse(read("misc/spark_es_ibstat_all_active_rate100.txt"))
    assert ibstat.source == "ibstat" and len(ibstat.ports) == 4
    assert {p.rate_gbps for p in ibstat.ports} == {100}


# --- nvidia-smi -----------------------------------------------------------------------------

def test_nvidia_smi_gb10_table_memory_not_supported_is_not_an_error():
    out = nvidia_smi.parse_table(read(
        "nvidia-smi/gb10_thinkstation_pgx_nvidia_smi_580.159.03_vllm_enginecore.txt"))
    assert (out.driver_version, out.cuda_version) == ("580.159.03", "13.0")
    gpu = out.gpus[0]
    assert (gpu.name, gpu.bus_id, gpu.temperature_c, gpu.pstate, gpu.power_w) == (
        "NVIDIA GB10", "0000000F:01:00.0", 42.0, "P0", 10.0)
    assert gpu.memory_total_mib is None and gpu.memory_reported is False
    assert gpu.power_cap_w is None and gpu.ecc_uncorrected is None
    assert out.processes[-1] == {"gpu": 0, "pid": 400721, "type": "C",
                                 "name": "VLLM::EngineCore", "memory_mib": 96581}


def test_nvidia_smi_h100_table_xml_csv():
    table = nvidia_smi.parse_table(read("nvidia-smi/nvidia-smi.txt")).gpus[0]
    assert (table.memory_used_mib, table.memory_total_mib, table.power_cap_w,
            table.ecc_uncorrected) == (0.0, 81559.0, 700.0, 0)
    xml = nvidia_smi.parse_xml(read("nvidia-smi/nvidia-smi-q.xml"))
    gpu = xml.gpus[0]
    assert xml.driver_version == "580.159.04" and gpu.name == "NVIDIA H100 80GB HBM3"
    assert (gpu.memory_total_mib, gpu.temperature_c, gpu.ecc_uncorrected) == (81559.0, 48.0, 0)
    assert gpu.uuid == "GPU-6360f519-458e-a7e8-b64f-24b30db4e636"
    csv_gpu = nvidia_smi.parse_csv(read("nvidia-smi/query-gpu.csv")).gpus[0]
    assert (csv_gpu.power_w, csv_gpu.memory_total_mib, csv_gpu.pstate) == (83.30, 81559.0, "P0")
    na = nvidia_smi.parse_csv(read("nvidia-smi/spark_unsloth_pr10703_query_gpu_csv_memory_NA.txt"))
    assert na.gpus[0].name == "NVIDIA GB10" and na.gpus[0].memory_total_mib is None
    assert na.gpus[0].memory_reported is False


def test_nvidia_smi_query_text_elided():
    out = nvidia_smi.parse_query_text(read("nvidia-smi/spark_nomad_pr87_nvidia_smi_q_ELIDED.txt"))
    assert out.driver_version == "580.95.05" and out.attached_gpus == 1 and out.elided
    assert out.gpus[0].name == "NVIDIA GB10" and out.gpus[0].bus_id == "0000000F:01:00.0"


# --- detection ------------------------------------------------------------------------------

@pytest.mark.parametrize(("relative", "tool"), [
    (GOOD_SWITCH, D.NCCL_TESTS),
    ("nccl-tests/all_reduce_perf_1gpu_h100.json", D.NCCL_TESTS_JSON),
    ("nccl-debug/spark_koyo_debug_good_switch_part1_head.txt", D.NCCL_DEBUG),
    ("nccl-tests/mpirun_orte_unable_to_start_daemons_TRUNCATED.txt", D.MPIRUN),
    ("perftest/spark_es_client_rocep1s0f1_link2.txt", D.PERFTEST),
    ("iperf3/iperf3_3.6_json_J_error_control_socket_closed.txt", D.IPERF3_JSON),
    ("iperf3/spark_es_iperf3_client_text_run1.txt", D.IPERF3),
    ("ethtool/mlx5_cx4lx_ethtool_S_grep_pci_pause.txt", D.ETHTOOL),
    ("rdma/gx10_chronara_rdma_link_show_4active.txt", D.RDMA),
    ("nvidia-smi/nvidia-smi-q.xml", D.NVIDIA_SMI_XML),
    ("nvidia-smi/query-gpu.csv", D.NVIDIA_SMI_CSV),
    ("nvidia-smi/spark_nomad_pr87_nvidia_smi_q_ELIDED.txt", D.NVIDIA_SMI_QUERY),
    ("misc/spark_es_ping_destination_unreachable.txt", "ping"),
])
def test_detect(relative, tool):
    assert D.detect(read(relative)) == tool


def test_detect_rejects_prose():
    assert D.detect("Dear reader, this is a letter about nothing in particular.\n") is None
    assert analyze_text("hello world").verdict == "unparseable"
