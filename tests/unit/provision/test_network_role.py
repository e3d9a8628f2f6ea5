"""The network role's own parts without a node: its netplan plan (goldens), the validator
against a DGX OS netplan tree, and its two modules on real tool output. The role end to end
(netplan apply, reboot, NetworkManager) runs in tests/integration/lab/test_systemd_nodes.py."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from sparkctl.render.bundle import content_dir

ROLE = content_dir("playbooks") / "roles" / "network"
GOLDEN = Path(__file__).resolve().parents[2] / "golden"
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "nmcli"
VALIDATOR = ROLE / "files" / "netplan-validate"
DEST = "/etc/netplan/40-sparkctl.yaml"
CX7 = {"enp1s0f0np0", "enP2p1s0f0np0", "enp1s0f1np1", "enP2p1s0f1np1"}
needs_netplan = pytest.mark.skipif(shutil.which("netplan") is None,
                                   reason="netplan.io not installed")


def _module(name: str):
    spec = importlib.util.spec_from_file_location(name, ROLE / "library" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_golden_plans_name_the_renderer_per_twin_and_never_globally():
    plans = sorted(GOLDEN.glob("*/preview/*/40-sparkctl.yaml"))
    assert len(plans) >= 10
    for path in plans:
        network = yaml.safe_load(path.read_text())["network"]
        assert "renderer" not in network, f"{path}: a global renderer wins over DGX OS's NM"
        ethernets = network["ethernets"]
        assert set(ethernets) == CX7, path  # only the twins, never the management link
        assert {e["renderer"] for e in ethernets.values()} == {"networkd"}, path


def dgx_os_tree(root: Path, *extra: tuple[str, str]) -> Path:
    """A node's netplan files as on DGX OS: NetworkManager as default renderer, the management
    link in a file without a renderer of its own."""
    files = {"usr/lib/netplan/00-network-manager-all.yaml":
             "network:\n  version: 2\n  renderer: NetworkManager\n",
             "etc/netplan/00-installer-config.yaml":
             "network:\n  version: 2\n  ethernets:\n    enP7s7:\n      dhcp4: true\n",
             **dict(extra)}
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        path.chmod(0o600)
    return root


def validate(candidate: Path, sysroot: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(VALIDATOR), str(candidate), DEST], capture_output=True,
                          text=True, timeout=120,
                          env={**os.environ, "NETPLAN_VALIDATE_SYSROOT": str(sysroot)})


@needs_netplan
def test_validator_accepts_the_plan_on_a_dgx_os_tree(tmp_path):
    golden = GOLDEN / "direct/preview/spark-1/40-sparkctl.yaml"
    done = validate(golden, dgx_os_tree(tmp_path / "node"))
    assert done.returncode == 0, done.stderr


@needs_netplan
def test_validator_refuses_a_global_networkd_renderer(tmp_path):
    """The renderer trap: last file wins, the management link leaves NetworkManager."""
    golden = (GOLDEN / "direct/preview/spark-1/40-sparkctl.yaml").read_text()
    old_style = tmp_path / "old.yaml"
    old_style.write_text(golden.replace("network:\n  version: 2\n",
                                        "network:\n  version: 2\n  renderer: networkd\n", 1))
    done = validate(old_style, dgx_os_tree(tmp_path / "node"))
    assert done.returncode == 1
    assert "NetworkManager stop managing ethernet" in done.stderr
    assert "renderer per interface" in done.stderr
    # With another NetworkManager definition on the node (a saved Wi-Fi profile) netplan keeps
    # masking the file, and the validator still names the link that would leave NM.
    wifi = ("etc/netplan/90-NM-wifi.yaml", "network:\n  version: 2\n  wifis:\n    wlP9s9:\n"
            "      renderer: NetworkManager\n      dhcp4: true\n"
            "      access-points:\n        home: {password: \"12345678\"}\n")
    done = validate(old_style, dgx_os_tree(tmp_path / "wifi", wifi))
    assert done.returncode == 1 and "would take enP7s7 away from NetworkManager" in done.stderr


@needs_netplan
@pytest.mark.parametrize("where", ["usr/lib/netplan", "run/netplan"])
def test_validator_reads_usr_lib_and_run_netplan(tmp_path, where):
    golden = GOLDEN / "direct/preview/spark-1/40-sparkctl.yaml"
    # Another file there giving a twin a second, clashing MTU type: netplan must see it.
    clash = (f"{where}/50-other.yaml",
             "network:\n  version: 2\n  ethernets:\n    enp1s0f1np1:\n      mtu: jumbo\n")
    done = validate(golden, dgx_os_tree(tmp_path / "node", clash))
    assert done.returncode != 0 and "mtu" in done.stderr.lower()


def _ip_state() -> dict:
    out = subprocess.run(["ip", "-j", "addr", "show"], capture_output=True, text=True,
                         timeout=10, check=True).stdout
    return {item["ifname"]: item for item in json.loads(out)}


def test_link_check_reports_what_netplan_missed_and_removes_only_leftovers():
    link = _module("sparkctl_link")
    state = _ip_state()
    lo = state["lo"]
    assert "127.0.0.1/8" in link._ipv4(lo)
    planned = [{"name": "lo", "address": "127.0.0.1/8", "mtu": lo["mtu"]}]
    assert link.plan_actions(state, planned, []) == ([], [])
    # Another address and MTU planned: problems for netplan, never an `ip addr add`.
    actions, problems = link.plan_actions(
        state, [{"name": "lo", "address": "127.0.0.2/8", "mtu": 1500}], [])
    assert f"lo has MTU {lo['mtu']}, the plan says 1500" in problems
    assert "lo lacks its planned address 127.0.0.2/8" in problems
    assert ["addr", "del", "127.0.0.1/8", "dev", "lo"] in actions  # the stray one goes
    assert not any(a[:2] == ["addr", "add"] or a[:2] == ["link", "set"] for a in actions
                   if isinstance(a, list))
    # Unplanned interfaces in `purge` lose their IPv4 addresses; missing planned ones fail.
    actions, problems = link.plan_actions(
        state, [{"name": "nosuchif0", "address": "10.9.9.9/24", "mtu": 9000}], ["lo"])
    assert ["addr", "del", "127.0.0.1/8", "dev", "lo"] in actions
    assert problems == ["interface nosuchif0 does not exist"]


def test_link_check_fails_while_networkmanager_holds_a_twin():
    link = _module("sparkctl_link")
    before = link.parse_nmcli((FIXTURES / "lab_trixie_nm152_device_t_before_provision.txt")
                              .read_text())
    assert before["enp1s0f1np1"] == ("connecting (getting IP configuration)",
                                     "Wired connection 4")
    assert before["enp1s0f0np0"] == ("unavailable", "")
    state = {name: {"ifname": name, "mtu": 9000, "flags": ["UP"],
                    "addr_info": [{"family": "inet", "local": "192.168.100.1",
                                   "prefixlen": 24}]} for name in ("enp1s0f1np1",)}
    plan = [{"name": "enp1s0f1np1", "address": "192.168.100.1/24", "mtu": 9000}]
    _, problems = link.plan_actions(state, plan, ["enp1s0f0np0"], before)
    assert problems == ["NetworkManager still holds enp1s0f1np1 (connection "
                        "'Wired connection 4', connecting (getting IP configuration))"]
    after = link.parse_nmcli((FIXTURES / "lab_trixie_nm152_device_t_after_provision.txt")
                             .read_text())
    assert link.plan_actions(state, plan, ["enp1s0f0np0"], after) == ([], [])
    assert link.parse_nmcli("wlP9s9:connected:Caf\\:e Wi-Fi\n") == {
        "wlP9s9": ("connected", "Caf:e Wi-Fi")}


def test_mgmt_link_is_found_from_the_ssh_session_and_compared():
    mgmt = _module("sparkctl_mgmt_link")
    assert mgmt.session_address({"SSH_CONNECTION": "10.0.0.9 5000 10.250.7.1 22"},
                                "spark-1.local") == "10.250.7.1"
    assert mgmt.session_address({}, "10.250.7.1") == "10.250.7.1"
    out = subprocess.run(["ip", "-j", "-4", "addr", "show"], capture_output=True, text=True,
                         timeout=10, check=True).stdout
    assert mgmt.find(json.loads(out), "127.0.0.1") == ("lo", ["127.0.0.1/8"])
    assert mgmt.find(json.loads(out), "192.0.2.77") == (None, [])


def test_link_check_leaves_a_twin_without_carrier_to_networkd_but_not_one_set_down():
    """networkd holds a twin's address back while its cable or peer is out; a twin set down
    by hand is drift the role applies netplan for."""
    link = _module("sparkctl_link")
    plan = [{"name": "enP2p1s0f1np1", "address": "192.168.101.2/24", "mtu": 9000}]
    # As `ip -j addr` shows a twin whose peer went down: UP, no LOWER_UP, no address.
    no_carrier = {"enP2p1s0f1np1": {"ifname": "enP2p1s0f1np1", "mtu": 9000,
                                    "flags": ["NO-CARRIER", "BROADCAST", "MULTICAST", "UP"],
                                    "addr_info": []}}
    assert link.plan_actions(no_carrier, plan, []) == ([], [])
    set_down = {"enP2p1s0f1np1": {**no_carrier["enP2p1s0f1np1"],
                                  "flags": ["BROADCAST", "MULTICAST"]}}
    assert link.plan_actions(set_down, plan, [])[1] == ["enP2p1s0f1np1 is down"]
