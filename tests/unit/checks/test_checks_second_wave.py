"""Facts the second wave's parsers and judges must read off real outputs (issues 13 and 16)."""

from __future__ import annotations

import json
import os

import pytest
from typer.testing import CliRunner

from sparkctl.checks import diagnose as G
from sparkctl.checks.analyze import INCOMPLETE, analyze_file, analyze_text
from sparkctl.checks.judge import collective as JC
from sparkctl.checks.judge import counters as JN
from sparkctl.checks.judge import gpu as JG
from sparkctl.checks.judge import links as JL
from sparkctl.checks.judge import rails as JR
from sparkctl.checks.parsers import (
    ethtool,
    lspci,
    nccl_debug,
    nccl_tests,
    perftest,
    rdma,
    rdma_stats,
)
from sparkctl.checks.result import Verdict
from sparkctl.cli.app import app

from .conftest import FIXTURES, read


def _analyze(relative: str):
    return analyze_file(FIXTURES / relative)


# --- issue 18: diagnose.py split, import paths kept ---------------------------------------

def test_diagnose_keeps_every_name_its_callers_use():
    for name in ("Judgement", "PortState", "hardware_twin", "judge_busbw", "judge_corruption",
                 "judge_counters", "judge_fec", "judge_gpus", "judge_iperf3_errors",
                 "judge_link_speed", "judge_nccl_errors", "judge_nccl_network",
                 "judge_perftest_errors", "judge_rail_bandwidth", "judge_rdma_ports",
                 "saturated_busbw", "worst", "Verdict", "ERROR_COUNTERS", "WC_STATUS"):
        assert hasattr(G, name), name
    assert G.judge_counters is JN.judge_counters and G.judge_gpus is JG.judge_gpus


# --- issue 13.1: NCCL version and rings ----------------------------------------------------

def test_nccl_version_from_the_nccl_tests_banner_and_from_info_lines():
    run = nccl_tests.parse_text(read("nccl-tests/spark_koyo_all_gather_2node_switch_good_"
                                     "21GBps.txt"))
    assert run.nccl_version == "2.28.9"  # "nccl-headers=22809 nccl-library=22809"
    log = nccl_debug.parse(read("nccl-debug/nccl1297_vllm_ray_prefixed_rxe0_roce_HEAD.txt"))
    assert log.nccl_version == "2.20.5+cuda12.4"
    assert JC.nccl_version_tuple("22809") == (2, 28, 9)
    assert JC.nccl_version_tuple("2.30.7-1") == (2, 30, 7)


def test_a_ring_on_nccl_older_than_2_30_7_gets_its_own_diagnosis():
    old = G.judge_nccl_for_ring("2.28.9+cuda13.0", "ring3")
    assert old.verdict is Verdict.FAIL and "NCCL_IB_SUBNET_AWARE_ROUTING" in old.diagnosis
    assert "2.30.7" in old.diagnosis and "ibv_modify_qp failed with 110" in old.diagnosis
    assert G.judge_nccl_for_ring("2.30.7", "ring3").verdict is Verdict.PASS
    assert G.judge_nccl_for_ring("2.28.9", "switch2").verdict is None
    assert G.judge_nccl_for_ring(None, "ring3").incomplete
    # A QP timeout on a ring with an old NCCL names the version, not only the GID index.
    qp = G.judge_nccl_errors(["NCCL WARN Call to ibv_modify_qp failed with 110"],
                             nccl_version="2.28.9", topology="ring3")
    assert qp.verdict is Verdict.FAIL and "older than 2.30.7" in qp.diagnosis
    assert "IB QP setup" in qp.diagnosis


def test_the_ring_diagnosis_reaches_analyze_of_a_failed_ring_run():
    text = read("nccl-tests/spark_koyo_all_gather_2node_direct_degraded_2p8GBps.txt")
    ring = analyze_text(text, topology="ring3")
    assert ring.verdict == "fail" and "predates" not in ring.diagnosis
    assert "Likely cause: ring on NCCL 2.28.9" in ring.diagnosis


# --- issue 13.4: nvidia-smi failures -------------------------------------------------------

@pytest.mark.parametrize(("text", "kind", "words"), [
    ("Failed to initialize NVML: Driver/library version mismatch\nNVML library version: 570.124",
     "driver-library-mismatch", "reboot needed"),
    ("No devices were found", "no-device", "no GPU"),
    ("NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. Make sure "
     "that the latest NVIDIA driver is installed and running.", "no-driver", "not loaded"),
])
def test_nvidia_smi_failures_are_classified(text, kind, words):
    assert JG.classify_nvidia_smi_failure(text) == kind
    judged = JG.judge_nvidia_smi_failure(text)
    assert judged.verdict is Verdict.FAIL and words in judged.diagnosis


def test_a_hung_nvidia_smi_is_a_failure_and_a_dead_gpu_is_never_a_pass():
    hung = JG.judge_nvidia_smi_failure("", timed_out=True, timeout_s=20)
    assert hung.verdict is Verdict.FAIL and "did not return within 20 s" in hung.diagnosis
    assert JG.judge_nvidia_smi_failure("Wed Jan 21 10:00:00 2026") is None
    result = _analyze("nvidia-smi/tinygrad47_nvml_driver_library_mismatch_570.124.txt")
    assert (result.tool, result.verdict) == ("nvidia-smi", "fail")
    assert result.metrics["failure"] == "driver-library-mismatch"
    assert "NVML library 570.124" in result.diagnosis
    assert JG.judge_gpus(0, []).verdict is Verdict.FAIL


# --- issue 13.5: counters as deltas --------------------------------------------------------

def test_the_gx10_lane_error_fixture_is_not_degraded():
    stats = ethtool.parse(read("ethtool/gx10_chronara_ethtool_S_lane_errors_FRAGMENT.txt"))
    assert stats.counters["rx_corrected_bits_phy"] == 198
    judged = JN.judge_counter_snapshot(stats.counters)
    assert judged.verdict is not Verdict.DEGRADED and judged.verdict is not Verdict.FAIL
    assert "normal on 200G PAM4" in judged.diagnosis
    assert _analyze("ethtool/gx10_chronara_ethtool_S_lane_errors_FRAGMENT.txt").verdict != \
        "degraded"


def test_a_synthetic_delta_in_a_real_counter_name_is_degraded():
    before = ethtool.parse(read("ethtool/mlx5_cx4lx_ethtool_S_grep_discards_out_of_buffer.txt"))
    after = dict(before.counters)
    after["rx_out_of_buffer"] += 1200  # the real counter name, grown over the window
    delta = JN.counter_delta(before.counters, after)
    judged = JN.judge_counter_delta(delta, window="the rail test")
    assert judged.verdict is Verdict.DEGRADED and "rx_out_of_buffer=1200" in judged.diagnosis
    assert "over the rail test" in judged.diagnosis
    post_fec = JN.counter_delta({"rx_pcs_symbol_err_phy": 5}, {"rx_pcs_symbol_err_phy": 9})
    assert JN.judge_counter_delta(post_fec).verdict is Verdict.DEGRADED
    peers = JN.counter_delta({"link_down_events_phy": 3, "rx_corrected_bits_phy": 10},
                             {"link_down_events_phy": 4, "rx_corrected_bits_phy": 900})
    assert JN.judge_counter_delta(peers).verdict is None  # reboots and FEC: not judged


def test_a_counter_never_seen_is_never_reported_as_zero():
    delta = JN.counter_delta({"rx_discards_phy": 5}, {"rx_discards_phy": 5, "rx_out_of_buffer": 7})
    assert delta.deltas == {"rx_discards_phy": 0}
    assert delta.unseen == ["rx_out_of_buffer"] and "rx_out_of_buffer" not in delta.deltas
    judged = JN.judge_counter_delta(delta)
    assert "only one snapshot" in judged.diagnosis
    reset = JN.counter_delta({"out_of_sequence": 50}, {"out_of_sequence": 2})
    assert reset.reset == ["out_of_sequence"] and reset.deltas["out_of_sequence"] == 2


def test_roce_transport_counters_from_rdma_stat_and_hw_counters_paths():
    stats = rdma_stats.parse(read("rdma/iproute2_rdma_stat_show_wrapped_and_p_two_snapshots.txt"))
    counters = stats.counters["mlx5_0/1"]
    assert counters["local_ack_timeout_err"] == 0 and counters["np_cnp_sent"] == 0
    assert len(counters) == 21  # the wrapped line was read whole
    assert JN.classify("out_of_sequence") == "RoCE transport"
    assert JN.classify("np_cnp_sent") == "normal"
    sysfs = rdma_stats.parse("/sys/class/infiniband/rocep1s0f1/ports/1/hw_counters/"
                             "out_of_sequence:3\n")
    assert sysfs.source == "hw_counters" and sysfs.counters == {"rocep1s0f1/1":
                                                                {"out_of_sequence": 3}}
    # Two snapshots in one paste are judged as one delta.
    both = _analyze("rdma/iproute2_rdma_stat_show_wrapped_and_p_two_snapshots.txt")
    assert both.verdict == "pass" and both.metrics["kind"] == "counter-delta"


def test_one_snapshot_with_since_boot_errors_is_incomplete_not_degraded():
    result = _analyze("ethtool/mlx5_ethtool_S_nonzero_counters_rx_discards_phy_rx_out_of_buffer_"
                      "kernel6.5.txt")
    assert result.verdict == INCOMPLETE and "second snapshot" in result.metrics["missing"]


# --- issue 13.12: throttle signature, PCIe links, firmware ---------------------------------

def test_the_cx7_power_throttle_signature_has_its_own_diagnosis():
    judged = JR.judge_rail_bandwidth(13.23, link_speed_mbps=200_000)
    assert judged.verdict is Verdict.FAIL and "power-throttle" in judged.diagnosis
    assert "PR#108" in judged.diagnosis and "full-upgrade" in (judged.hint or "")
    assert "power-throttle" not in JR.judge_rail_bandwidth(13.23, link_speed_mbps=100_000) \
        .diagnosis  # a slow link explains it
    assert "power-throttle" not in JR.judge_rail_bandwidth(45.0).diagnosis  # not in the band
    assert JR.judge_rail_bandwidth(92.57).verdict is Verdict.PASS


def test_lspci_link_of_a_spark_cx7_function_is_gen5_x4():
    out = lspci.parse(read("misc/zgx_nano_spark_lspci_vvv_grep_lnkcap_lnksta_0000_01_00.0.txt"),
                      bdf="0000:01:00.0")
    link = out.links[0]
    assert (link.cap_gts, link.cap_width, link.sta_gts, link.sta_width) == (32.0, 4, 32.0, 4)
    assert link.is_cx7  # from the BDF the command named
    result = _analyze("misc/zgx_nano_spark_lspci_vvv_grep_lnkcap_lnksta_0000_01_00.0.txt")
    assert (result.tool, result.verdict) == ("lspci", "pass")
    # The same function trained at x2 (the early-BIOS wiring) is degraded and says why.
    x2 = JL.PcieLink(bdf="0002:01:00.0", device=None, cap_gts=32.0, cap_width=4, sta_gts=32.0,
                     sta_width=2)
    judged = JL.judge_pcie_links([x2])
    assert judged.verdict is Verdict.DEGRADED and "early-BIOS" in judged.diagnosis
    assert "fwupdmgr" in (judged.hint or "")
    parsed = lspci.parse("0002:01:00.0 Ethernet controller: Mellanox Technologies MT2910 Family "
                         "[ConnectX-7]\n\tLnkSta:\tSpeed 32GT/s (ok), Width x2 (downgraded)\n")
    assert parsed.links[0].sta_width == 2 and parsed.links[0].is_cx7


def test_firmware_is_reported_per_hca():
    ports = rdma.parse(read("rdma/deepep60_ibv_devinfo_spaces_not_tabs_fw22_fw28_TRUNCATED.txt"))
    assert ports.ports[0].firmware == "22.38.1900"
    assert ports.devices_without_ports == ["mlx5_13"]
    info = ethtool.parse(read("ethtool/spark_ethtool_i_FRAGMENT.txt"))
    assert (info.firmware_version, info.psid) == ("28.45.4028", "NVD0000000087")
    assert JL.judge_firmware({"rocep1s0f0": "28.45.4028", "roceP2p1s0f0": "28.45.4028"}) \
        .verdict is Verdict.PASS
    mixed = JL.judge_firmware({"rocep1s0f0": "28.45.4028", "roceP2p1s0f0": "28.39.2048"})
    assert mixed.verdict is Verdict.DEGRADED and "28.39.2048" in mixed.diagnosis


# --- issue 16: what users paste -------------------------------------------------------------

def test_a_tail_fragment_with_its_header_starting_mid_line_is_judged_on_its_rows():
    run = nccl_tests.parse_text(read(
        "nccl-tests/ncclt252_all_reduce_tail_fragment_header_midline_95GBps.txt"))
    assert [r.size_bytes for r in run.rows][0] == 536870912 and len(run.rows) == 5
    assert run.avg_busbw_GBps == 95.3009 and run.concluded and run.layout == "redop+root"


def test_the_old_layout_reads_the_error_column_as_a_deviation():
    run = nccl_tests.parse_text(read("nccl-tests/npkit19_old_layout_error_0e+00_4gpu_HEAD.txt"))
    first = run.rows[0]
    assert run.layout == "redop" and first.redop == "sum"
    assert first.out_of_place.max_error == 1e-07 and first.in_place.max_error == 0.0
    assert first.out_of_place.wrong == 0  # no "*": the check passed
    assert run.nranks == 4  # "#   Rank  0 Pid ..." without "Group"


def test_a_run_cut_before_saturating_sizes_is_incomplete_with_what_is_missing():
    result = _analyze("nccl-tests/mooncake3484_all_reduce_rows_only_cut_32MiB_FRAGMENT.txt")
    assert result.verdict == INCOMPLETE
    assert "512 MiB" in result.metrics["missing"] and "TCP" not in result.diagnosis


def test_a_missing_avg_bus_bandwidth_is_computed_and_named_so():
    text = read("nccl-tests/spark_koyo_all_gather_2node_switch_good_21GBps.txt")
    cut = "\n".join(line for line in text.splitlines() if "Avg bus bandwidth" not in line)
    run = nccl_tests.parse_text(cut)
    assert run.avg_busbw_GBps is None  # never invented
    assert run.avg_busbw_computed_GBps == pytest.approx(21.4017, abs=1e-3)  # printed: 21.4033
    result = analyze_text(cut)
    assert "computed from the rows" in result.diagnosis


@pytest.mark.parametrize(("relative", "layer"), [
    ("nccl-tests/prrte1392_prterun_unable_to_start_daemons_TRUNCATED.txt", "ssh/daemon start"),
    ("nccl-tests/prrte1493_ssh_closed_orte_unable_to_start_TRUNCATED.txt", "ssh/daemon start"),
    ("nccl-tests/all_reduce_perf_bad_socket_ifname_error.txt", "management network"),
    ("nccl-debug/nccl2013_ibv_modify_qp_failed_110_WARN_line_REDACTED.txt", "IB QP setup"),
    ("nccl-debug/pytorch99669_net_ib_no_device_socket_fallback_HEAD.txt", "transport fallback"),
])
def test_launcher_and_nccl_errors_fail_naming_the_layer(relative, layer):
    result = _analyze(relative)
    assert result.verdict == "fail" and layer in result.diagnosis, result.diagnosis


def test_ray_and_host_prefixed_nccl_logs_are_read():
    ray = nccl_debug.parse(read("nccl-debug/nccl1297_vllm_ray_prefixed_rxe0_roce_HEAD.txt"))
    assert ray.ib_devices == ["rxe0"] and ray.warnings  # the benign rxe0 real-path WARN
    hosts = nccl_debug.parse(read("nccl-debug/nccl1029_host_prefixed_ibext_sharp_plugin_FRAGMENT"
                                  ".txt"))
    assert hosts.network == "IBext" and hosts.transport == "IB"
    assert hosts.hosts == ["rdma-gpu-train-worker-0"]  # the pdsh prefix was stripped
    old = nccl_debug.parse(read("nccl-debug/pytorch43258_old_net_ib_device_list_FRAGMENT.txt"))
    assert old.transport == "IB" and old.ib_devices[:2] == ["mlx5_64", "mlx5_128"]


def test_perftest_variants_and_fragments():
    post_list = perftest.parse(read("perftest/perftest273_rdma_write_post_list_8B_tabs_msgrate"
                                    ".txt"))
    assert post_list.tool == "ib_write_bw" and post_list.test == "RDMA_Write Post List BW Test"
    assert post_list.bandwidth_rows[0].size_bytes == 8 and post_list.mtu_bytes == 4096
    assert _analyze("perftest/perftest273_rdma_write_post_list_8B_tabs_msgrate.txt").verdict \
        == INCOMPLETE  # 8-byte messages measure the message rate, not a rail
    rows_only = perftest.parse(read("perftest/perftest130_ib_send_bw_rows_only_two_nodes_no_"
                                    "header_FRAGMENT.txt"))
    assert rows_only.unitless_rows == 8 and rows_only.bandwidth_rows == []  # unit unknown


def test_udp_iperf3_is_judged_on_what_arrived():
    lossy = analyze_text(read("iperf3/iperf114_udp_summary_84pct_loss_html_entity.txt"))
    assert lossy.verdict == "fail" and len(lossy.parts) == 3  # three tests, three parts
    assert all("lost 8" in p["diagnosis"] for p in lossy.parts)
    clean = _analyze("iperf3/iperf698_udp_text_3.1.7_lost_total_datagrams.txt")
    assert clean.verdict == "pass" and clean.metrics["lost_percent"] == 0.0


def test_rdma_link_infiniband_and_old_forms():
    ib = rdma.parse(read("rdma/rdma_link_show_infiniband_form_4_mlx5_active.txt"))
    assert [p.lid for p in ib.ports] == [13390, 17488, 17490, 17489] and all(p.active
                                                                           for p in ib.ports)
    old = rdma.parse(read("rdma/rdma_link_old_iproute2_numbered_form_ibp0s9.txt"))
    assert [(p.device, p.port, p.state) for p in old.ports] == [("ibp0s9", 1, "ACTIVE"),
                                                               ("ibp0s9", 2, "UNKNOWN")]
    wrapped = rdma.parse(read("rdma/rdma_link_show_ib_wrapped_two_lines_netdev_ipoib.txt"))
    assert wrapped.ports[0].netdev == "ibp196s0f0" and wrapped.ports[0].active


def test_several_outputs_in_one_paste_are_split_and_each_analysed():
    both = _analyze("rdma/3fs263_rdma_link_rxe_then_ip_addr_two_outputs.txt")
    assert both.tool == "multiple" and [p["tool"] for p in both.parts] == ["rdma link", "ip"]
    assert both.parts[0]["command"] == "rdma link show" and both.parts[0]["lines"] == [2, 2]
    assert both.to_dict()["parts"][1]["verdict"] == "unparseable"
    smi = _analyze("nvidia-smi/shinecluster30_prompt_nvml_mismatch_then_squeue.txt")
    assert (smi.tool, smi.verdict) == ("nvidia-smi", "fail")  # squeue is no tool analyze knows


# --- CLI: stdin and files that are not regular ----------------------------------------------

runner = CliRunner()


def test_analyze_dash_reads_stdin():
    text = read("rdma/spark_ideo_ibdev2netdev_one_cable_port0.txt")
    result = runner.invoke(app, ["analyze", "--format", "json", "-"], input=text)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)["results"]
    assert data[0]["file"] == "<stdin>" and data[0]["tool"] == "ibdev2netdev"
    bad = runner.invoke(app, ["analyze", "-"], input=read(
        "nvidia-smi/tinygrad47_nvml_driver_library_mismatch_570.124.txt"))
    assert bad.exit_code == 1
    twice = runner.invoke(app, ["analyze", "-", "-"], input="x")
    assert twice.exit_code == 2


def test_a_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    result = runner.invoke(app, ["analyze", str(fifo)])  # nobody writes: open() would block
    assert result.exit_code == 2 and "not a regular file (a FIFO)" in result.output
    device = runner.invoke(app, ["analyze", "/dev/null"])
    assert device.exit_code == 2 and "a device" in device.output


def test_multi_part_json_keeps_the_per_file_shape_and_adds_parts(monkeypatch):
    # relative, so the table's File column does not wrap "[lines 2-2]" in a deep checkout
    monkeypatch.chdir(FIXTURES)
    path = "rdma/3fs263_rdma_link_rxe_then_ip_addr_two_outputs.txt"
    result = runner.invoke(app, ["analyze", "--format", "json", path])
    entry = json.loads(result.stdout)["results"][0]
    assert {"file", "tool", "metrics", "verdict", "diagnosis"} <= set(entry)
    assert set(entry["parts"][0]) == {"lines", "command", "tool", "metrics", "verdict",
                                      "diagnosis"}
    table = runner.invoke(app, ["analyze", path], env={"COLUMNS": "200"})
    assert "[lines 2-2]" in table.output
