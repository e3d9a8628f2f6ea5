"""Lab nodes are systemd machines with DGX OS's network stack: NetworkManager owns the
management link through netplan, the ConnectX-7 twins start on NetworkManager's automatic
"Wired connection N" profiles, and the network role takes them over with a real
`netplan apply`, which survives a reboot. Also the renderer trap, shown and avoided.

The tests of this module run in order on one `direct` lab (each builds on the last)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from sparkctl.lab import lifecycle, nodes, state

from .conftest import sparkctl, ssh

pytestmark = pytest.mark.lab

LAB = "tsysd"
BIN = Path(sys.executable).parent
TWINS = ["enp1s0f0np0", "enP2p1s0f0np0", "enp1s0f1np1", "enP2p1s0f1np1"]
CABLED = {"enp1s0f1np1", "enP2p1s0f1np1"}  # direct: port 1 of both nodes
MGMT = "enP7s7"


@pytest.fixture(scope="module")
def lab(base_image, tmp_path_factory):
    lifecycle.down(LAB)
    record = lifecycle.up(_spec(), name=LAB).record
    yield {"record": record, "state": tmp_path_factory.mktemp("sparkctl-state")}
    lifecycle.down(LAB)


def _spec():
    from sparkctl.topology.builtins import builtin_spec

    return builtin_spec("direct")


def plan(node: str) -> dict[str, dict]:
    inventory = yaml.safe_load(state.load(LAB).inventory_path.read_text())
    hosts = inventory["all"]["children"]["sparks"]["hosts"]
    return {i["name"]: i for i in hosts[node]["sparkctl_interfaces"]}


def root(node: str, command: str, check: bool = True) -> str:
    """A root shell command on the node's console (no SSH involved)."""
    done = nodes.node_exec(state.load(LAB).node(node), ["/bin/sh", "-c", command],
                           check=check, timeout=60)
    return done.stdout


def nm_devices(node: str) -> dict[str, tuple[str, str]]:
    # `netplan apply` starts NetworkManager without waiting: give it a moment to answer.
    command = ("for i in $(seq 50); do nmcli -t -f DEVICE,STATE,CONNECTION device && exit; "
               "sleep 0.2; done; exit 1")
    out = root(node, command)
    return {d: (s, c) for d, s, c in (line.split(":", 2) for line in out.splitlines())}


def links(node: str) -> dict[str, dict]:
    return {i["ifname"]: i for i in json.loads(root(node, "ip -j addr show"))}


def ipv4(link: dict) -> list[str]:
    return [f"{a['local']}/{a['prefixlen']}" for a in link.get("addr_info", [])
            if a["family"] == "inet"]


def provision(lab: dict, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "SPARKCTL_STATE_DIR": str(lab["state"]),
           "PATH": f"{BIN}:{os.environ.get('PATH', '')}"}
    return subprocess.run([str(BIN / "sparkctl"), "provision", "--lab", LAB, *args],
                          capture_output=True, text=True, timeout=600, env=env,
                          stdin=subprocess.DEVNULL)


def last_summary(lab: dict) -> dict:
    runs = sorted((lab["state"] / "runs").iterdir(), key=lambda p: p.stat().st_mtime)
    return json.loads((runs[-1] / "summary.json").read_text())


def wait_for(predicate, timeout: float = 30, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


def assert_plan_is_live(node: str) -> None:
    """The planned address is the only IPv4 on each planned twin, at the planned MTU; no
    NetworkManager connection is active on any twin; systemd-networkd configured them."""
    planned = plan(node)
    live = links(node)
    for name, item in planned.items():
        assert ipv4(live[name]) == [item["address"]], (node, name, live[name])
        assert live[name]["mtu"] == item["mtu"], (node, name)
    for name in TWINS:
        if name not in planned:
            assert ipv4(live[name]) == [], (node, name)
    devices = nm_devices(node)
    for name in TWINS:
        assert devices[name][0] == "unmanaged", (node, name, devices[name])
    networkd = root(node, "networkctl list --no-legend")
    for name in planned:
        assert re.search(rf"\b{name}\b.*\bconfigured\b", networkd), networkd


def assert_mgmt_with_networkmanager(node: str) -> None:
    record = state.load(LAB)
    assert nm_devices(node)[MGMT] == ("connected", f"netplan-{MGMT}")
    assert ipv4(links(node)[MGMT]) == [f"{record.node(node).mgmt_address}/24"]
    assert ssh(record, node, "hostname").stdout.strip() == node  # it still answers


def test_nodes_boot_systemd_with_dbus_logind_sshd_and_networkmanager(lab):
    for node in ("spark-1", "spark-2"):
        assert root(node, "cat /proc/1/comm").strip() == "systemd"
        status = wait_for(lambda n=node: root(n, "systemctl is-system-running", check=False)
                          .strip() in ("running", "degraded") and
                          root(n, "systemctl is-system-running", check=False).strip(),
                          what="boot to finish")
        assert status == "running", root(node, "systemctl --failed --no-legend")
        for unit in ("dbus", "systemd-logind", "NetworkManager", "ssh"):
            assert root(node, f"systemctl is-active {unit}").strip() == "active", unit
        # systemd-networkd is there (netplan's generator starts it once it has work).
        assert root(node, "systemctl cat systemd-networkd.service >/dev/null && echo ok") \
            .strip() == "ok"


def test_management_link_is_networkmanagers_through_a_netplan_file(lab):
    default = root("spark-1", "cat /usr/lib/netplan/00-network-manager-all.yaml")
    assert yaml.safe_load(default)["network"]["renderer"] == "NetworkManager"
    mgmt = yaml.safe_load(root("spark-1", "cat /etc/netplan/00-installer-config.yaml"))
    assert "renderer" not in mgmt["network"] and "renderer" not in mgmt["network"][
        "ethernets"][MGMT]  # rendered by NetworkManager only as netplan's default
    # netplan rendered it for NetworkManager (a profile in /run, regenerated every boot).
    assert f"netplan-{MGMT}.nmconnection" in root(
        "spark-1", "ls /run/NetworkManager/system-connections/").split()
    for node in ("spark-1", "spark-2"):
        assert_mgmt_with_networkmanager(node)


def test_twins_start_as_on_dgx_os(lab):
    """NetworkManager's automatic DHCP profiles on the cabled twins (no DHCP server answers:
    no IPv4), the uncabled ones without carrier; every twin at MTU 1500."""
    for node in ("spark-1", "spark-2"):
        devices = wait_for(lambda n=node: (d := nm_devices(n)) and all(
            d[t][1].startswith("Wired connection") for t in CABLED) and d, what="NM profiles")
        live = links(node)
        for name in TWINS:
            assert live[name]["mtu"] == 1500 and ipv4(live[name]) == [], (node, name)
            if name in CABLED:
                assert devices[name][0].startswith("connecting"), devices[name]
            else:
                assert devices[name] == ("unavailable", ""), devices[name]
                assert "NO-CARRIER" in live[name]["flags"]


def test_provisioning_takes_the_twins_over_with_netplan_apply(lab):
    record = state.load(LAB)
    node = record.node("spark-1")
    # The management address, watched from the host while provisioning runs.
    monitor = subprocess.Popen(["ip", "-n", node.netns, "-ts", "monitor", "address", "dev",
                                MGMT], stdout=subprocess.PIPE, text=True)
    try:
        done = provision(lab, "--tags", "network")
    finally:
        monitor.terminate()
        seen = monitor.communicate(timeout=10)[0]
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    # netplan apply really ran: NetworkManager's restart took the address away and back.
    address = rf"inet {re.escape(node.mgmt_address)}/24"
    stamps = re.findall(rf"\[([0-9T:.-]+)\] (Deleted )?\S+ +{MGMT} +{address}", seen)
    assert [bool(deleted) for _, deleted in stamps][:2] == [True, False], seen
    print(f"\nspark-1 management address gone for {_gap(stamps):.2f} s during netplan apply",
          file=sys.stderr)
    for name in ("spark-1", "spark-2"):
        assert_plan_is_live(name)
        assert_mgmt_with_networkmanager(name)
    again = provision(lab, "--tags", "network")
    assert again.returncode == 0, again.stdout[-2000:]
    assert all(h["changed"] == 0 for h in last_summary(lab)["hosts"].values())


def _gap(stamps: list[tuple[str, str]]) -> float:
    from datetime import datetime

    gone = datetime.fromisoformat(stamps[0][0])
    back = datetime.fromisoformat(stamps[1][0])
    return (back - gone).total_seconds()


def test_reboot_brings_the_plan_back_from_netplan(lab):
    record = state.load(LAB)
    before = {n.name: nodes.current_init(n) for n in record.nodes}
    # Live changes that no file holds: a reboot must drop them.
    root("spark-1", "ip link set enp1s0f1np1 mtu 1500; ip addr add 10.99.0.1/24 dev enp1s0f0np0")
    out = sparkctl("lab", "reboot", "--name", LAB, "spark-1", "spark-2", timeout=240)
    assert out.returncode == 0, out.stderr
    assert "spark-1 rebooted" in out.stderr and "spark-2 rebooted" in out.stderr
    after = state.load(LAB)
    for node in after.nodes:
        assert node.init != before[node.name], f"{node.name} did not boot again"
    for name in ("spark-1", "spark-2"):
        wait_for(lambda n=name: root(n, "networkctl list --no-legend").count("configured")
                 >= 4, what=f"networkd on {name}")
        assert_plan_is_live(name)
        assert_mgmt_with_networkmanager(name)


def test_a_global_networkd_renderer_makes_networkmanager_lose_the_management_link(lab):
    """What the first wave's file did: `renderer: networkd` at the top. On spark-2, written
    past the role (whose validator refuses it), applied, then rebooted."""
    old = root("spark-2", "cat /etc/netplan/40-sparkctl.yaml").replace(
        "network:\n  version: 2\n", "network:\n  version: 2\n  renderer: networkd\n", 1)
    root("spark-2", f"cat > /tmp/old.yaml <<'EOF'\n{old}EOF")
    refused = root("spark-2", "/usr/local/libexec/sparkctl/netplan-validate /tmp/old.yaml "
                   "/etc/netplan/40-sparkctl.yaml 2>&1; echo rc=$?", check=False)
    assert "rc=1" in refused and "renderer per interface" in refused
    root("spark-2", "cp /tmp/old.yaml /etc/netplan/40-sparkctl.yaml && netplan apply 2>/dev/null")
    assert nm_devices("spark-2")[MGMT][0] == "unmanaged"
    mask = "/run/NetworkManager/conf.d/10-globally-managed-devices.conf"
    assert root("spark-2", f"test -e {mask} || echo gone").strip() == "gone"
    out = sparkctl("lab", "reboot", "--name", LAB, "spark-2", timeout=240)
    assert out.returncode == 0, out.stderr
    # At its next start NetworkManager has lost the management link for good; networkd
    # renders it now (the static address lives on, a DHCP one would depend on networkd).
    assert nm_devices("spark-2")[MGMT][0] == "unmanaged"
    # The network role puts it back: per-interface renderer, NetworkManager keeps enP7s7.
    done = provision(lab, "--tags", "network", "--limit", "spark-2")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = sparkctl("lab", "reboot", "--name", LAB, "spark-2", timeout=240)
    assert out.returncode == 0, out.stderr
    wait_for(lambda: nm_devices("spark-2")[MGMT][0] == "connected", what="NM on enP7s7")
    assert_mgmt_with_networkmanager("spark-2")
    wait_for(lambda: root("spark-2", "networkctl list --no-legend").count("configured") >= 4,
             what="networkd on spark-2")
    assert_plan_is_live("spark-2")


def test_health_timer_is_a_systemd_timer_that_fires_and_uninstall_removes_it(lab):
    """`health install --on node` on systemd nodes: a real timer and service. The nodes have
    no sparkctl install, so the service runs a recorder in its place that writes the textfile
    from the arguments it was given; what is tested is the schedule, not sparkctl health."""
    recorder = ("#!/bin/sh\nout=\nprev=\nfor a in \"$@\"; do [ \"$prev\" = --output ] && "
                "out=$a; prev=$a; done\nprintf 'recorder_argv{argv=\"%s\"} 1\\n' \"$*\" "
                "> \"$out\"\n")
    for node in ("spark-1", "spark-2"):
        root(node, f"cat > /usr/local/bin/sparkctl-recorder <<'EOF'\n{recorder}EOF\n"
             "chmod 755 /usr/local/bin/sparkctl-recorder")
    args = ("health", "install", "--lab", LAB, "--on", "node", "--every", "1m",
            "--sparkctl-bin", "/usr/local/bin/sparkctl-recorder")
    env = {"SPARKCTL_STATE_DIR": str(lab["state"])}
    first = sparkctl(*args, timeout=300, env=env)
    assert first.returncode == 0 and "change(s)" in first.stdout, first.stdout + first.stderr
    again = sparkctl(*args, timeout=300, env=env)
    assert again.returncode == 0 and "nothing to change" in again.stdout, again.stdout
    # the units, the copied inventory and the textfile carry the cluster id (issue 15)
    found = re.search(r"health timer (sparkctl-health-(\S+)) installed", first.stdout)
    assert found, first.stdout
    name, cid = found.groups()
    prom = f"/var/lib/prometheus/node-exporter/sparkctl-{cid}.prom"
    assert root("spark-1", f"systemctl is-enabled {name}.timer").strip() == "enabled"
    # OnCalendar *:0/1 (up to 60 s away), RandomizedDelaySec 30 s and the role's AccuracySec
    # of 1 s: within 91 s, plus the service's start.
    text = wait_for(lambda: root("spark-1", f"cat {prom} 2>/dev/null", check=False),
                    timeout=120, what="the timer to fire")
    assert f"health --inventory /etc/sparkctl/health-inventory-{cid}.yml --quiet --cluster-id " \
           f"{cid} --format prometheus --output {prom}" in text
    assert root("spark-1", f"systemctl show -p LastTriggerUSec --value {name}.timer") \
        .strip() not in ("", "n/a")  # fired by the timer, not started by hand
    assert root("spark-1", f"systemctl show -p Result --value {name}.service") \
        .strip() == "success"
    gone = sparkctl("health", "uninstall", "--lab", LAB, "--on", "node", timeout=300, env=env)
    assert gone.returncode == 0 and "change(s)" in gone.stdout, gone.stdout + gone.stderr
    left = root("spark-1", "ls /etc/systemd/system/sparkctl-health.* 2>&1; systemctl "
                "list-timers --all --no-legend | grep -c sparkctl-health", check=False)
    assert "No such file" in left and left.strip().endswith("0"), left
