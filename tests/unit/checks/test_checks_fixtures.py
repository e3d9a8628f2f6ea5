"""Every real fixture through detect -> parse -> judge, with the verdict each one must get."""

from __future__ import annotations

import pytest

from sparkctl.checks.analyze import INCOMPLETE, UNPARSEABLE, VERDICTS, analyze_file

from .conftest import FIXTURES, fixture_files, fixture_id

# file -> (tool, verdict). Read off the files themselves (see tests/fixtures/SOURCES.md).
EXPECTED = {
    # Only FEC-corrected bits and per-lane corrected errors: normal on 200G PAM4 (issue 13.5).
    "ethtool/gx10_chronara_ethtool_S_lane_errors_FRAGMENT.txt": ("ethtool", UNPARSEABLE),
    "ethtool/gx10_chronara_ethtool_enp1s0f0np0_FRAGMENT.txt": ("ethtool", "pass"),
    "ethtool/mlx5_bluefield3_ethtool_i_aarch64.txt": ("ethtool", "pass"),
    "ethtool/mlx5_cx4lx_ethtool_S_grep_discards_out_of_buffer.txt": ("ethtool", "pass"),
    # Since-boot totals in one snapshot: judged only as deltas (issue 13.5).
    "ethtool/mlx5_cx4lx_ethtool_S_grep_pci_pause.txt": ("ethtool", INCOMPLETE),
    "ethtool/mlx5_cx7_fw28_ethtool_i_sriov_vf_in_pod.txt": ("ethtool", "pass"),
    "ethtool/mlx5_ethtool_S_nonzero_counters_rx_discards_phy_rx_out_of_buffer_kernel6.5.txt":
        ("ethtool", INCOMPLETE),
    "ethtool/spark_ethtool_i_FRAGMENT.txt": ("ethtool", "pass"),
    "ethtool/spark_ideo_ethtool_enP2p1s0f0np0_200G_up.txt": ("ethtool", "pass"),
    "ethtool/spark_ideo_ethtool_enP7s7_10GbE_mgmt.txt": ("ethtool", "pass"),
    "ethtool/spark_ideo_ethtool_enp1s0f1np1_no_cable_down.txt": ("ethtool", "fail"),
    "ethtool/spark_ideo_ethtool_stderr_netlink_nonroot.txt": ("ethtool", UNPARSEABLE),
    "ethtool/spark_koyo_set_fec_rs_then_show.txt": ("ethtool", "pass"),
    "ethtool/spark_koyo_show_fec_direct_None.txt": ("ethtool", "degraded"),
    "iperf3/iperf3_3.1.3_client_unable_to_connect_refused_old_wording.txt": ("iperf3", "fail"),
    "iperf3/iperf3_3.16_json_J_error_control_socket_closed.txt": ("iperf3", "fail"),
    "iperf3/iperf3_3.6_json_J_error_control_socket_closed.txt": ("iperf3", "fail"),
    "iperf3/iperf3_3.9_json_J_tcp_single_stream_complete.txt": ("iperf3", "pass"),
    "iperf3/spark_es_iperf3_client_P4_sum.txt": ("iperf3", "pass"),
    "iperf3/spark_es_iperf3_client_bond_single_stream.txt": ("iperf3", "pass"),
    "iperf3/spark_es_iperf3_client_text_run1.txt": ("iperf3", "pass"),
    "iperf3/spark_es_iperf3_version.txt": ("iperf3", UNPARSEABLE),
    "misc/spark_es_ibstat_all_active_rate100.txt": ("ibstat", "pass"),
    "misc/spark_es_ip_addr_show.txt": ("ip", UNPARSEABLE),
    "misc/spark_es_ip_link_show.txt": ("ip", UNPARSEABLE),
    "misc/spark_es_lspci_connectx7.txt": ("lspci-list", UNPARSEABLE),
    "misc/spark_es_ping_destination_unreachable.txt": ("ping", UNPARSEABLE),
    "misc/spark_es_proc_net_bonding_bond0.txt": ("bonding", UNPARSEABLE),
    "misc/spark_ideo_ip_link_show_enp1s0f0np0_mtu9000.txt": ("ip", UNPARSEABLE),
    "nccl-debug/nccl1812_failed_to_open_libibverbs_HEAD.txt": ("nccl-debug", "fail"),
    "nccl-debug/nccl2013_ibv_modify_qp_failed_110_WARN_line_REDACTED.txt":
        ("nccl-debug", "fail"),
    "nccl-debug/ncclt252_net_ib_completion_error_vendor_err_81_FRAGMENT.txt":
        ("nccl-debug", "fail"),
    "nccl-debug/pytorch99669_net_ib_no_device_socket_fallback_HEAD.txt": ("nccl-debug", "fail"),
    "nccl-debug/spark_ideo_nccl_ib_two_roce_devices_FRAGMENT.txt": ("nccl-debug", "pass"),
    "nccl-debug/spark_ideo_nccl_socket_fallback_FRAGMENT.txt": ("nccl-debug", "fail"),
    "nccl-debug/spark_koyo_debug_good_switch_part1_head.txt": ("nccl-debug", "pass"),
    # The tail holds the one 1 GiB result row: 21.99 GB/s >= 21.875.
    "nccl-debug/spark_koyo_debug_good_switch_part2_tail.txt": ("nccl-tests", "pass"),
    "nccl-tests/all_gather_perf_mpirun_np1_h100.json": ("nccl-tests", "pass"),
    "nccl-tests/all_reduce_perf_1gpu_h100.json": ("nccl-tests", "pass"),
    "nccl-tests/all_reduce_perf_1gpu_h100.txt": ("nccl-tests", "pass"),
    # Single rank, but "NET/IB : No device found": RDMA cannot work at all there.
    "nccl-tests/all_reduce_perf_1gpu_h100_nccl_debug_socket_fallback.txt":
        ("nccl-tests", "fail"),
    "nccl-tests/all_reduce_perf_bad_socket_ifname_error.txt": ("nccl-tests", "fail"),
    "nccl-tests/all_reduce_perf_missing_gpu_error.txt": ("nccl-tests", "fail"),
    "nccl-tests/all_reduce_perf_mpirun_np1_h100.txt": ("nccl-tests", "pass"),
    "nccl-tests/all_reduce_perf_mpirun_np2_one_gpu_error.txt": ("nccl-tests", "fail"),
    "nccl-tests/mpirun_orte_unable_to_start_daemons_TRUNCATED.txt": ("mpirun", "fail"),
    "nccl-tests/ncclt204_test_nccl_failure_internal_error_FRAGMENT.txt": ("nccl-tests", "fail"),
    "nccl-tests/spark_koyo_all_gather_2node_direct_degraded_2p8GBps.txt": ("nccl-tests", "fail"),
    "nccl-tests/spark_koyo_all_gather_2node_direct_fecRS_degraded.txt": ("nccl-tests", "fail"),
    "nccl-tests/spark_koyo_all_gather_2node_switch_good_21GBps.txt": ("nccl-tests", "pass"),
    "nvidia-smi/gb10_thinkstation_pgx_nvidia_smi_580.159.03_vllm_enginecore.txt":
        ("nvidia-smi", "pass"),
    "nvidia-smi/nvidia-smi-q.xml": ("nvidia-smi", "pass"),
    "nvidia-smi/nvidia-smi.txt": ("nvidia-smi", "pass"),
    "nvidia-smi/query-gpu.csv": ("nvidia-smi", "pass"),
    "nvidia-smi/spark_arctictraining_pr345_nvidia_smi_table_TRUNCATED.txt":
        ("nvidia-smi", "pass"),
    "nvidia-smi/spark_es_nvidia_smi_in_k8s_pod.txt": ("nvidia-smi", "pass"),
    "nvidia-smi/spark_nemoclaw_report_nvidia_smi_580.126.09_P8_idle.txt": ("nvidia-smi", "pass"),
    "nvidia-smi/spark_nomad_pr87_nvidia_smi_q_ELIDED.txt": ("nvidia-smi", "pass"),
    "nvidia-smi/spark_obrienlabs_nvidia_smi_580.95.05_P0_display_on_3procs.txt":
        ("nvidia-smi", "pass"),
    "nvidia-smi/spark_unsloth_pr10703_query_gpu_csv_memory_NA.txt": ("nvidia-smi", "pass"),
    "os-release/spark_armlp_lsb_release_a_ubuntu_24.04.3.txt": ("lsb_release", UNPARSEABLE),
    "os-release/spark_es_uname_a.txt": ("uname", UNPARSEABLE),
    "os-release/spark_sionna_cat_etc_dgx_release.txt": ("dgx-release", UNPARSEABLE),
    "os-release/spark_sionna_cat_etc_lsb_release.txt": ("lsb_release", UNPARSEABLE),
    "perftest/gb10_trevor_client_report_gbits_q4_rdma_cm_forcelinkIB.txt": ("ib_write_bw", "pass"),
    "perftest/gb10_trevor_server_waiting_rdma_cm.txt": ("perftest", UNPARSEABLE),
    "perftest/perftest_issue132_rdma_cm_failure_FRAGMENT.txt": ("perftest", "fail"),
    "perftest/perftest_no_device_found_k8s106.txt": ("perftest", "fail"),
    "perftest/spark4_crs804_client_completion_error_status12_FRAGMENT.txt": ("perftest", "fail"),
    "perftest/spark_eksblog_two_concurrent_clients_interleaved_report_gbits_98Gbps_TRUNCATED.txt":
        ("ib_write_bw", "pass"),
    "perftest/spark_es_client_default_mbsec_link1.txt": ("ib_write_bw", "pass"),
    "perftest/spark_es_client_default_mbsec_link1_run2.txt": ("ib_write_bw", "pass"),
    "perftest/spark_es_client_rocep1s0f1_link2.txt": ("ib_write_bw", "pass"),
    "perftest/spark_es_ib_write_lat_client.txt": ("ib_write_lat", "pass"),
    "perftest/spark_eugr_ib_write_lat_client_rdma_cm.txt": ("ib_write_lat", "pass"),
    "perftest/spark_nvidia_playbook_client1_run_infinitely_rocep1s0f0_92Gbps.txt":
        ("ib_write_bw", "pass"),
    "perftest/spark_nvidia_playbook_client2_run_infinitely_roceP2p1s0f0_97Gbps.txt":
        ("ib_write_bw", "pass"),
    "rdma/gb10_sean_ibdev2netdev_2up_2down.txt": ("ibdev2netdev", "pass"),
    "rdma/gb10_sean_rdma_link_2active_2down.txt": ("rdma link", "pass"),
    "rdma/gx10_chronara_rdma_link_show_4active.txt": ("rdma link", "pass"),
    "rdma/spark_es_ibv_devinfo_4ports_active_mtu1024.txt": ("ibv_devinfo", "pass"),
    "rdma/spark_ideo_ibdev2netdev_one_cable_port0.txt": ("ibdev2netdev", "pass"),
    "rdma/spark_ideo_ibv_devinfo_head_2active_2down_mtu4096.txt": ("ibv_devinfo", "pass"),
    "rdma/spark_ideo_ibv_devinfo_worker_2active_2down_mtu4096.txt": ("ibv_devinfo", "pass"),
    "rdma/spark_unk_nodeA_ibdev2netdev_f1_up_f0_down.txt": ("ibdev2netdev", "pass"),
    "rdma/spark_unk_nodeA_ibv_devinfo_port1_active_port0_down_fw28.45.4028.txt":
        ("ibv_devinfo", "pass"),
}

# Second wave: outputs as users paste them (tests/fixtures/SOURCES.md, "Second wave").
EXPECTED |= {
    "ethtool/spark_ideo_worker_ethtool_enp1s0f0np0_200G_up.txt": ("ethtool", "pass"),
    # the interface comes from the command at the prompt ("ethtool enp1s0f1np1 | grep Speed")
    "ethtool/zgx_nano_spark_ethtool_grep_speed_then_sysfs_rate.txt": ("ethtool", "pass"),
    # three tests in one paste, split into three parts
    "iperf3/iperf114_udp_summary_84pct_loss_html_entity.txt": ("multiple", "fail"),
    "iperf3/iperf698_udp_text_3.1.7_lost_total_datagrams.txt": ("iperf3", "pass"),
    "misc/zgx_nano_spark_lspci_vvv_grep_lnkcap_lnksta_0000_01_00.0.txt": ("lspci", "pass"),
    "nccl-debug/nccl1029_host_prefixed_ibext_sharp_plugin_FRAGMENT.txt": ("nccl-debug", "pass"),
    "nccl-debug/nccl1297_vllm_ray_prefixed_rxe0_roce_HEAD.txt": ("nccl-debug", INCOMPLETE),
    "nccl-debug/nccl1591_vllm_ray_worker_prefix_version_2.21.5_HEAD.txt":
        ("nccl-debug", UNPARSEABLE),
    "nccl-debug/nccl1814_bootstrap_bond0_html_details_HEAD.txt": ("nccl-debug", UNPARSEABLE),
    "nccl-debug/nccl952_redacted_hosts_ibext_plugin_HEAD.txt": ("nccl-debug", "pass"),
    "nccl-debug/pytorch43258_old_net_ib_device_list_FRAGMENT.txt": ("nccl-debug", "pass"),
    "nccl-debug/ray59778_rayworkerwrapper_prefix_cut_first_line_FRAGMENT.txt":
        ("nccl-debug", UNPARSEABLE),
    # cut before the saturating sizes: no verdict on small-message busbw
    "nccl-tests/mooncake3484_all_reduce_rows_only_cut_32MiB_FRAGMENT.txt":
        ("nccl-tests", INCOMPLETE),
    "nccl-tests/ncclt176_old_layout_error_1e-06_128gpu_HEAD.txt": ("nccl-tests", INCOMPLETE),
    "nccl-tests/ncclt249_no_hash_header_ssh_noise_1rank_HEAD.txt": ("nccl-tests", UNPARSEABLE),
    "nccl-tests/ncclt252_all_reduce_tail_fragment_header_midline_95GBps.txt":
        ("nccl-tests", "pass"),
    "nccl-tests/npkit19_old_layout_error_0e+00_4gpu_HEAD.txt": ("nccl-tests", INCOMPLETE),
    "nccl-tests/prrte1392_prterun_unable_to_start_daemons_TRUNCATED.txt": ("mpirun", "fail"),
    "nccl-tests/prrte1493_ssh_closed_orte_unable_to_start_TRUNCATED.txt": ("mpirun", "fail"),
    "nvidia-smi/azhop269_bracket_prompt_nvml_mismatch_rpm_list_TRUNCATED.txt":
        ("nvidia-smi", "fail"),
    "nvidia-smi/intelllvm17614_ci_banner_nvml_mismatch_550.144.txt": ("nvidia-smi", "fail"),
    "nvidia-smi/shinecluster30_prompt_nvml_mismatch_then_squeue.txt": ("nvidia-smi", "fail"),
    "nvidia-smi/tinygrad47_nvml_driver_library_mismatch_570.124.txt": ("nvidia-smi", "fail"),
    "perftest/perftest130_ib_send_bw_rows_only_two_nodes_no_header_FRAGMENT.txt":
        ("perftest", INCOMPLETE),
    "perftest/perftest240_root_prompt_server_pcie_relax_order_HEAD.txt":
        ("ib_write_bw", UNPARSEABLE),
    "perftest/perftest273_rdma_write_post_list_8B_tabs_msgrate.txt": ("ib_write_bw", INCOMPLETE),
    "perftest/perftest82_ib_send_bw_xtrace_date_tabs_banner_HEAD.txt": ("perftest", UNPARSEABLE),
    "perftest/tf22077_ib_write_bw_server_rdma_cm_waiting_HEAD.txt": ("ib_write_bw", UNPARSEABLE),
    "rdma/3fs263_rdma_link_rxe_then_ip_addr_two_outputs.txt": ("multiple", "pass"),
    "rdma/deepep60_ibv_devinfo_spaces_not_tabs_fw22_fw28_TRUNCATED.txt":
        ("ibv_devinfo", INCOMPLETE),
    "rdma/iproute2_rdma_stat_show_wrapped_and_p_two_snapshots.txt": ("rdma stat", "pass"),
    "rdma/rdma_link_old_iproute2_numbered_form_ibp0s9.txt": ("rdma link", "pass"),
    "rdma/rdma_link_roce_active_and_ib_down_trailing_space.txt": ("rdma link", "pass"),
    "rdma/rdma_link_show_ib_wrapped_two_lines_netdev_ipoib.txt": ("rdma link", "pass"),
    "rdma/rdma_link_show_infiniband_form_4_mlx5_active.txt": ("rdma link", "pass"),
    "rdma/rdmacore847_ibportstate_xtrace_ibwarn_ibstat_mlx4_TRUNCATED.txt": ("ibstat", "pass"),
}
SECOND_WAVE = 36

FILES = fixture_files()


def test_the_fixture_copy_is_complete():
    assert len(FILES) >= 85 + SECOND_WAVE, "expected ../shared/fixtures and the second wave's"


def test_every_fixture_has_its_source_recorded():
    sources = (FIXTURES / "SOURCES.md").read_text(encoding="utf-8")
    missing = [fixture_id(p) for p in FILES if p.name not in sources and p.stem not in sources]
    assert not missing, f"add these to tests/fixtures/SOURCES.md: {missing}"


@pytest.mark.parametrize("path", FILES, ids=fixture_id)
def test_every_fixture_is_analyzed_without_crashing(path):
    result = analyze_file(path)
    assert result.verdict in VERDICTS
    assert result.diagnosis
    assert result.file == str(path)
    if result.verdict != UNPARSEABLE:
        assert result.metrics, "a judged file must carry its parsed metrics"


@pytest.mark.parametrize("path", FILES, ids=fixture_id)
def test_every_fixture_gets_its_expected_tool_and_verdict(path):
    key = fixture_id(path)
    assert key in EXPECTED, f"new fixture {key}: add its expected (tool, verdict) to EXPECTED"
    result = analyze_file(path)
    assert (result.tool, result.verdict) == EXPECTED[key], result.diagnosis


def test_expectations_name_only_existing_files():
    assert set(EXPECTED) <= {fixture_id(p) for p in FILES}
