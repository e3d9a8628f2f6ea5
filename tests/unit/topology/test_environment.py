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
