"""Each fault changes what it should, shows in status, and `fault clear` restores the lab."""

from __future__ import annotations

import json
import time

import pytest

from sparkctl.lab import faults, nodes, state

from .conftest import sparkctl, ssh

pytestmark = pytest.mark.lab

LAB = "tfault"
PEER_R0 = "192.168.100.2"  # spark-2 enp1s0f1np1 in the direct plan
PEER_R1 = "192.168.101.2"


@pytest.fixture(scope="module")
def lab(lab_factory):
    record = lab_factory(LAB, "direct", configured=True)
    yield record
    faults.clear(LAB)


@pytest.fixture(autouse=True)
def cleared(lab):
    yield
    faults.clear(LAB)
    assert state.load(LAB).faults == []


def fault(*args: str):
    out = sparkctl("lab", "fault", *args, "--name", LAB)
    assert out.returncode == 0, out.stderr
    return out


def jumbo_ping(record, address: str = PEER_R0) -> int:
    return ssh(record, "spark-1", f"ping -c1 -W2 -M do -s 8972 {address}",
               check=False).returncode


def tcp_to_peer(record, address: str = PEER_R1) -> int:
    return ssh(record, "spark-1", f"timeout 2 bash -c 'echo > /dev/tcp/{address}/22'",
               check=False).returncode


def iperf_mbit(record, address: str = PEER_R0, seconds: int = 2) -> float:
    ssh(record, "spark-2", "iperf3 -s -1 -D -B " + address)
    for _ in range(50):  # the daemon needs a moment to listen
        if ssh(record, "spark-2", f"ss -ltn 'sport = :5201' | grep -q {address}",
               check=False).returncode == 0:
            break
        time.sleep(0.05)
    out = ssh(record, "spark-1", f"iperf3 -c {address} -t {seconds} -J", timeout=30).stdout
    return json.loads(out)["end"]["sum_received"]["bits_per_second"] / 1e6


def test_mtu_fault_breaks_jumbo_frames_and_clear_restores(lab):
    assert jumbo_ping(lab) == 0
    fault("mtu", "spark-2", "enp1s0f1np1", "1500")
    assert jumbo_ping(lab) != 0
    status = json.loads(sparkctl("lab", "status", "--name", LAB, "-f", "json").stdout)
    assert [(f["kind"], f["args"]) for f in status["faults"]] == [
        ("mtu", ["spark-2", "enp1s0f1np1", "1500"])]
    fault("clear")
    assert jumbo_ping(lab) == 0


def test_link_down_drops_carrier_on_both_ends(lab):
    fault("link-down", "spark-2", "enp1s0f1np1")
    assert ssh(lab, "spark-1", f"ping -c1 -W1 {PEER_R0}", check=False).returncode != 0
    carrier = ssh(lab, "spark-1", "cat /sys/class/net/enp1s0f1np1/carrier", check=False)
    assert carrier.stdout.strip() in ("0", "")
    fault("clear")
    assert ssh(lab, "spark-1", f"ping -c1 -W2 {PEER_R0}", check=False).returncode == 0


def test_drop_tcp_blocks_tcp_but_not_ping(lab):
    assert tcp_to_peer(lab) == 0
    fault("drop-tcp", "spark-2", "spark-1")
    assert ssh(lab, "spark-1", f"ping -c1 -W2 {PEER_R1}", check=False).returncode == 0
    assert tcp_to_peer(lab) != 0
    # One-sided: spark-2 still accepts TCP from nobody else, e.g. the host reaches its sshd.
    assert nodes.sshd_banner(lab.node("spark-2").mgmt_address) is not None
    fault("clear")
    assert tcp_to_peer(lab) == 0


def test_sshd_stop_and_restart(lab):
    address = lab.node("spark-2").mgmt_address
    fault("sshd-stop", "spark-2")
    assert nodes.sshd_banner(address) is None
    status = json.loads(sparkctl("lab", "status", "--name", LAB, "-f", "json").stdout)
    assert {n["name"]: n["sshd"] for n in status["nodes"]} == {"spark-1": "up",
                                                               "spark-2": "down"}
    fault("clear")
    assert nodes.sshd_banner(address) is not None
    assert ssh(lab, "spark-2", "hostname").stdout.strip() == "spark-2"


def test_swap_cables_moves_the_cable_and_keeps_addresses(lab):
    fault("swap-cables", "spark-1:p1", "spark-1:p0")
    links = {i["ifname"]: i for i in json.loads(ssh(lab, "spark-1", "ip -j addr").stdout)}
    # The cable now sits in p0; p1 (which keeps its addresses) has no carrier.
    assert "NO-CARRIER" in links["enp1s0f1np1"]["flags"]
    assert "NO-CARRIER" not in links["enp1s0f0np0"]["flags"]
    assert any(a["local"] == "192.168.100.1" for a in links["enp1s0f1np1"]["addr_info"])
    assert ssh(lab, "spark-1", f"ping -c1 -W1 {PEER_R0}", check=False).returncode != 0
    fault("clear")
    assert jumbo_ping(lab) == 0
    assert jumbo_ping(lab, PEER_R1) == 0


def test_degrade_half_halves_iperf3_throughput(lab):
    before = iperf_mbit(lab)
    # The link is shaped: throughput sits near the configured rate, far below raw veth speed.
    assert 0.80 * lab.rate_mbit <= before <= 1.05 * lab.rate_mbit
    fault("degrade", "spark-1", "enp1s0f1np1", "50")
    after = iperf_mbit(lab)
    assert after / before == pytest.approx(0.5, rel=0.15)
    fault("clear")
    restored = iperf_mbit(lab)
    assert restored == pytest.approx(before, rel=0.15)


def test_fault_errors_name_what_is_wrong(lab):
    for args, message in [
        (["link-down", "spark-9", "enp1s0f1np1"], "has no node 'spark-9'"),
        (["link-down", "spark-1", "eth7"], "has no interface 'eth7'"),
        (["mtu", "spark-1", "enp1s0f1np1", "huge"], "is not a number"),
        (["degrade", "spark-1", "enP7s7", "50"], "is not a data link"),
        (["degrade", "spark-1", "enp1s0f1np1", "150"], "must be above 0 and below 100"),
        (["swap-cables", "spark-1:p1", "spark-2:p1"], "two ends of one cable"),
        (["explode", "spark-1"], "unknown fault"),
    ]:
        out = sparkctl("lab", "fault", *args, "--name", LAB)
        assert out.returncode == 2 and message in out.stderr, (args, out.stderr)
    assert state.load(LAB).faults == []
