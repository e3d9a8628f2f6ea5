"""Facts the rendered bundle goldens (tests/golden/<topology>/) must state, written by hand so
a regeneration (SPARKCTL_UPDATE_GOLDEN=1) cannot quietly drop them (issue 13)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

GOLDEN = Path(__file__).resolve().parents[2] / "golden"


def _inventory(topology: str) -> dict:
    return yaml.safe_load((GOLDEN / topology / "inventory.yml").read_text())


def _env(topology: str, host: str) -> dict[str, str]:
    text = (GOLDEN / topology / "preview" / host / "nccl.env").read_text()
    return dict(line.split("=", 1) for line in text.splitlines()
                if line and not line.startswith("#"))


@pytest.mark.parametrize("topology, mtu", [("switch2", 1500), ("switch3", 1500),
                                           ("switch4", 1500), ("direct", 9000),
                                           ("direct-dual", 9000), ("ring3", 9000)])
def test_golden_mtu_is_1500_through_a_switch_and_9000_between_sparks(topology, mtu):
    group = _inventory(topology)["all"]["children"]["sparks"]
    assert group["vars"]["sparkctl_mtu"] == mtu
    for host, hvars in group["hosts"].items():
        assert {i["mtu"] for i in hvars["sparkctl_interfaces"]} == {mtu}, host
        netplan = yaml.safe_load((GOLDEN / topology / "preview" / host / "40-sparkctl.yaml")
                                 .read_text())
        mtus = {e["mtu"] for e in netplan["network"]["ethernets"].values() if "addresses" in e}
        assert mtus == {mtu}, host


def test_golden_ring_env_has_subnet_routing_and_unmerged_nics_for_nccl_2_30_7():
    for host in ("spark-1", "spark-2", "spark-3"):
        env = _env("ring3", host)
        assert env["NCCL_IB_SUBNET_AWARE_ROUTING"] == "1"
        assert env["NCCL_IB_MERGE_NICS"] == "0" and env["NCCL_NET_PLUGIN"] == "none"
        assert env["NCCL_IB_HCA"] == "rocep1s0f0,roceP2p1s0f0,rocep1s0f1,roceP2p1s0f1"


def test_golden_nccl_env_says_the_gid_index_is_planned_until_measured():
    text = (GOLDEN / "switch4" / "preview" / "spark-1" / "nccl.env").read_text()
    assert "# NCCL_IB_GID_INDEX: the planned value; on dgx-spark the rdma role measures" in text
    assert "NCCL_IB_MERGE_NICS" not in text


@pytest.mark.parametrize("topology", ["single", "direct", "ring3", "switch4"])
def test_golden_management_interface_is_enp7s7_everywhere(topology):
    gvars = _inventory(topology)["all"]["children"]["sparks"]["vars"]
    assert gvars["sparkctl_mgmt_interface"] == "enP7s7"
    for host in _inventory(topology)["all"]["children"]["sparks"]["hosts"]:
        env = _env(topology, host)
        assert env["NCCL_SOCKET_IFNAME"] == env["OMPI_MCA_btl_tcp_if_include"] == "enP7s7"
