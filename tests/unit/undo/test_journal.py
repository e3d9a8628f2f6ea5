"""The node-side network journal (roles/network/files/sparkctl-network-journal) without a
node: snapshots of real `ip -j` output, what differs from a journal, and what a restore
writes, removes and runs. The dead-man switch end to end runs in
tests/integration/provision/test_undo.py."""

from __future__ import annotations

import copy
import importlib.machinery
import importlib.util
import json
from pathlib import Path

import pytest

from sparkctl.render.bundle import content_dir

TOOL = content_dir("playbooks") / "roles" / "network" / "files" / "sparkctl-network-journal"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
TWINS = ["enp1s0f0np0", "enP2p1s0f0np0", "enp1s0f1np1", "enP2p1s0f1np1"]


@pytest.fixture(scope="module")
def journal_tool():
    loader = importlib.machinery.SourceFileLoader("sparkctl_network_journal", str(TOOL))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def _snapshot(tool, netplan=None):
    addr = json.loads((FIXTURES / "ip_addr_show.json").read_text())
    routes = json.loads((FIXTURES / "ip_route_show.json").read_text())
    names = [link["ifname"] for link in addr]
    return {"format": tool.FORMAT, "taken_at": "2026-12-01T00:00:00Z", "interfaces": TWINS,
            "netplan": netplan or {"/etc/netplan": {"00-installer-config.yaml": {
                "mode": "0600", "content": "network: {version: 2}\n"}},
                "/run/netplan": {}, "/usr/lib/netplan": {}},
            "links": tool.links_from_ip(addr, {n: "0" for n in names}),
            "routes4": tool.routes_from_ip(routes)}


def test_links_and_routes_from_real_ip_output(journal_tool):
    snap = _snapshot(journal_tool)
    twin = snap["links"]["enp1s0f0np0"]
    assert twin["mtu"] == 9000 and twin["up"]
    assert twin["ipv4"] == ["192.168.100.1/24"]
    assert all(a.startswith("fe80:") for a in twin["ipv6"]) and twin["ipv6"]
    assert snap["links"]["enP2p1s0f0np0"]["ipv4"] == []
    assert snap["links"]["enP7s7"]["ipv4"] == ["10.250.9.1/24"]
    assert snap["routes4"] == ["10.250.9.0/24 dev enP7s7 src 10.250.9.1",
                               "192.168.100.0/24 dev enp1s0f0np0 src 192.168.100.1"]


def test_the_same_state_has_no_differences(journal_tool):
    snap = _snapshot(journal_tool)
    assert journal_tool.differences(snap, copy.deepcopy(snap), "enP7s7") == []


def test_differences_name_file_address_mtu_and_route(journal_tool):
    journal = _snapshot(journal_tool)
    now = copy.deepcopy(journal)
    now["netplan"]["/etc/netplan"]["40-sparkctl.yaml"] = {"mode": "0600", "content": "x"}
    now["netplan"]["/etc/netplan"]["00-installer-config.yaml"]["mode"] = "0644"
    now["links"]["enP2p1s0f0np0"]["ipv4"] = ["192.168.101.1/24"]
    now["links"]["enp1s0f0np0"]["mtu"] = 1500
    now["links"]["enP7s7"]["ipv4"] = []
    now["routes4"].append("192.168.101.0/24 dev enP2p1s0f0np0 src 192.168.101.1")
    diffs = journal_tool.differences(journal, now, "enP7s7")
    assert diffs == [
        "/etc/netplan/00-installer-config.yaml has mode 0644, the journal 0600",
        "/etc/netplan/40-sparkctl.yaml exists (the journal does not have it)",
        "enp1s0f0np0 has MTU 1500, the journal 9000",
        "enP2p1s0f0np0 has 192.168.101.1/24 (not in the journal)",
        "enP7s7 lacks 10.250.9.1/24 (in the journal)",
        "route 192.168.101.0/24 dev enP2p1s0f0np0 src 192.168.101.1 (not in the journal)"]


def test_link_local_addresses_follow_the_link_and_are_not_differences(journal_tool):
    journal = _snapshot(journal_tool)
    now = copy.deepcopy(journal)
    now["links"]["enp1s0f0np0"]["ipv6"] = ["fe80::1/64"]
    assert journal_tool.differences(journal, now) == []
    now["links"]["enp1s0f0np0"]["ipv6"].append("fd00::1/64")
    assert journal_tool.differences(journal, now) == [
        "enp1s0f0np0 has fd00::1/64 (not in the journal)"]


def test_restore_writes_the_journaled_files_and_removes_sparkctl_s(journal_tool):
    journal = _snapshot(journal_tool)
    current = copy.deepcopy(journal["netplan"])
    current["/etc/netplan"]["40-sparkctl.yaml"] = {"mode": "0600", "content": "plan"}
    current["/etc/netplan"]["00-installer-config.yaml"]["content"] = "edited"
    current["/usr/lib/netplan"]["00-network-manager-all.yaml"] = {"mode": "0644",
                                                                  "content": "pkg"}
    writes, removals = journal_tool.file_actions(journal, current)
    assert writes == [("/etc/netplan/00-installer-config.yaml", 0o600,
                       "network: {version: 2}\n")]
    # /usr/lib/netplan belongs to the packages: compared, never written or removed.
    assert removals == ["/etc/netplan/40-sparkctl.yaml"]
    assert journal_tool.file_actions(journal, journal["netplan"]) == ([], [])


def test_restore_puts_mtu_addresses_and_gen_mode_back_on_the_twins_only(journal_tool):
    journal = _snapshot(journal_tool)
    now = copy.deepcopy(journal["links"])
    now["enp1s0f0np0"].update(mtu=1500, ipv4=["192.168.100.1/24", "10.250.9.254/24"],
                              addr_gen_mode="1")
    now["enP7s7"]["ipv4"] = ["10.9.9.9/24"]  # management: NetworkManager's, not touched
    assert journal_tool.link_actions(journal, now) == [
        ["ip", "addr", "del", "10.250.9.254/24", "dev", "enp1s0f0np0"],
        ["ip", "link", "set", "dev", "enp1s0f0np0", "mtu", "9000"],
        ("sysctl", "/proc/sys/net/ipv6/conf/enp1s0f0np0/addr_gen_mode", "0")]
    assert journal_tool.link_actions(journal, journal["links"]) == []


def test_read_netplan_reads_the_three_directories_with_modes(journal_tool, tmp_path):
    (tmp_path / "etc/netplan").mkdir(parents=True)
    (tmp_path / "usr/lib/netplan").mkdir(parents=True)
    (tmp_path / "etc/netplan/40-sparkctl.yaml").write_text("a")
    (tmp_path / "etc/netplan/40-sparkctl.yaml").chmod(0o600)
    (tmp_path / "etc/netplan/README").write_text("not netplan's")
    (tmp_path / "usr/lib/netplan/00-nm.yaml").write_text("b")
    (tmp_path / "usr/lib/netplan/00-nm.yaml").chmod(0o644)
    assert journal_tool.read_netplan(str(tmp_path)) == {
        "/etc/netplan": {"40-sparkctl.yaml": {"mode": "0600", "content": "a"}},
        "/run/netplan": {},
        "/usr/lib/netplan": {"00-nm.yaml": {"mode": "0644", "content": "b"}}}


def test_a_journal_of_another_format_is_refused(journal_tool, tmp_path):
    (tmp_path / "pre-sparkctl.json").write_text(json.dumps({"format": 99}))
    with pytest.raises(RuntimeError, match="format 99"):
        journal_tool.load(str(tmp_path), "pre-sparkctl")
    with pytest.raises(RuntimeError, match="no journal"):
        journal_tool.load(str(tmp_path), "last")
