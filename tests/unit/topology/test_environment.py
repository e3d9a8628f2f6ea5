import re

import pytest

from sparkctl.cluster import Cluster
from sparkctl.topology.builtins import builtin_spec


def env(name, node="spark-1"):
    return Cluster.from_spec(builtin_spec(name)).nccl_env(node)


def test_ring3_gets_nvidias_ring_variables():
    e = env("ring3")
    assert e["NCCL_IB_SUBNET_AWARE_ROUTING"] == "1"
    assert e["NCCL_NET_PLUGIN"] == "none"
    assert e["NCCL_IB_MERGE_NICS"] == "0"
    assert e["NCCL_IB_HCA"] == "rocep1s0f0,roceP2p1s0f0,rocep1s0f1,roceP2p1s0f1"


def test_switch_lists_both_twins_of_port1_and_no_ring_variables():
    e = env("switch4", "spark-4")
    assert e["NCCL_IB_HCA"] == "rocep1s0f1,roceP2p1s0f1"
    assert "NCCL_NET_PLUGIN" not in e and "NCCL_IB_MERGE_NICS" not in e
    assert e["NCCL_SOCKET_IFNAME"] == e["OMPI_MCA_btl_tcp_if_include"] == "enP7s7"
    assert e["UCX_NET_DEVICES"] == "enP7s7"
    assert e["NCCL_IB_GID_INDEX"] == "3"


def test_single_node_has_no_rdma_variables():
    assert "NCCL_IB_HCA" not in env("single")


def test_hostfile_one_slot_per_spark_in_order():
    cluster = Cluster.from_spec(builtin_spec("ring3", ["x", "y", "z"]))
    assert cluster.hostfile() == "x slots=1\ny slots=1\nz slots=1\n"


# --- issue 13: values re-derived from NVIDIA/nccl v2.30.7-1 (notes/hardware.md) -------------

def custom(cables, names=("a", "b", "c"), **extra):
    from sparkctl.cluster import parse_cluster_text

    nodes = ", ".join(names)
    lines = "".join(f"  - '{c}'\n" for c in cables)
    more = "".join(f"{k}: {v}\n" for k, v in extra.items())
    return Cluster.from_spec(parse_cluster_text(f"nodes: [{nodes}]\ncables:\n{lines}{more}"))


def test_merge_nics_is_off_exactly_where_the_two_ports_reach_different_peers():
    # NCCL fuses the two ports of a PCI device (p0+p1) by default; a fused NIC whose ports
    # reach different peers never passes subnet-aware routing's "all PFs match" test.
    cluster = custom(["a:p0 -- b:p1", "a:p1 -- switch", "c:p1 -- switch", "b:p0 -- c:p0"])
    assert cluster.nccl_env("a")["NCCL_IB_MERGE_NICS"] == "0"
    assert cluster.nccl_env("a")["NCCL_NET_PLUGIN"] == "none"
    dual = Cluster.from_spec(builtin_spec("direct-dual"))
    for node in ("spark-1", "spark-2"):
        e = dual.nccl_env(node)  # both ports to the same peer: fusion is what gives bandwidth
        assert "NCCL_IB_MERGE_NICS" not in e and "NCCL_NET_PLUGIN" not in e
        assert e["NCCL_IB_SUBNET_AWARE_ROUTING"] == "1"


def test_subnet_routing_is_needed_by_rings_only():
    from sparkctl.topology.environment import needs_subnet_routing

    assert needs_subnet_routing(Cluster.from_spec(builtin_spec("ring3")).graph)
    for name in ("direct", "direct-dual", "switch4", "single"):
        assert not needs_subnet_routing(Cluster.from_spec(builtin_spec(name)).graph), name


def test_management_interface_follows_the_cluster_file_into_every_env():
    cluster = custom(["a:p1 -- b:p1"], names=("a", "b"), management_interface="wlP9s9")
    e = cluster.nccl_env("b")
    assert e["NCCL_SOCKET_IFNAME"] == e["OMPI_MCA_btl_tcp_if_include"] == "wlP9s9"
    assert e["UCX_NET_DEVICES"] == "wlP9s9"
    from sparkctl.cluster import spec_from_inventory_doc
    from sparkctl.render.inventory import build_inventory

    inventory = build_inventory(cluster)
    gvars = inventory["all"]["children"]["sparks"]["vars"]
    assert gvars["sparkctl_mgmt_interface"] == "wlP9s9"
    assert gvars["sparkctl_nccl_env"]["NCCL_SOCKET_IFNAME"] == "wlP9s9"
    back = spec_from_inventory_doc(inventory, "inv.yml")
    assert back.mgmt_interface == "wlP9s9"


def test_a_cabled_cx7_netdev_may_be_the_management_interface():
    cluster = custom(["a:p1 -- b:p1"], names=("a", "b"), management_interface="enp1s0f1np1")
    assert cluster.nccl_env("a")["NCCL_SOCKET_IFNAME"] == "enp1s0f1np1"


def test_default_management_interface_is_enp7s7():
    assert Cluster.from_spec(builtin_spec("direct")).spec.mgmt_interface == "enP7s7"


def test_values_that_a_shell_and_docker_read_differently_are_refused():
    from sparkctl.errors import InputError
    from sparkctl.topology.environment import check_env_value

    check_env_value("NCCL_IB_HCA", "rocep1s0f0,roceP2p1s0f0")
    for value in ("a b", "$(id)", "x'y", "a\nB=1"):
        with pytest.raises(InputError):
            check_env_value("NCCL_SOCKET_IFNAME", value)


def test_real_spark_nccl_log_puts_port_1_on_port_0s_pci_device():
    # NCCL prints each HCA's PCI path with the function digit zeroed (init.cc
    # ncclIbGetPciPath, "Merge multi-port NICs into the same PCI device"): on a real Spark,
    # rocep1s0f1 (port 1) is 0000:01:00.1 and shows as 0000:01:00.0, rocep1s0f0's device,
    # while its twin roceP2p1s0f1 is on 0002:01:00. So NCCL's default fusion (PATH_PORT) joins
    # port 0 with port 1, never the twins of one port: harmless when both ports reach one
    # peer, wrong in a ring.
    from pathlib import Path

    log = (Path(__file__).resolve().parents[2] / "fixtures" / "nccl-debug"
           / "spark_koyo_debug_good_switch_part1_head.txt").read_text()
    paths = dict(re.findall(r"NET/IB: \[\d\] (\S+?):uverbs\d+:1/RoCE .* pciPath=(\S+)", log))
    assert paths["rocep1s0f1"].endswith("/0000:01:00.0")
    assert paths["roceP2p1s0f1"].endswith("/0002:01:00.0")
