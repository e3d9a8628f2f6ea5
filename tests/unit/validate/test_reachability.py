"""Ping/TCP/neighbour judging, including which node's firewall stopped a handshake."""

from sparkctl.checks.result import Verdict
from sparkctl.validate import reachability as R

from .validate_helpers import iface

PEER = iface().peers[0]


def ping(received, size=8972, sent=3):
    return R.PingResult("enp1s0f1np1", "192.168.100.2", size, sent, received)


def test_ping_all_some_none():
    plan = iface()
    assert R.judge_ping("spark-1", plan, PEER, ping(3), ping(2, 56, 2), {}).verdict \
        is Verdict.PASS
    lossy = R.judge_ping("spark-1", plan, PEER, ping(2), ping(2, 56, 2), {})
    assert lossy.verdict is Verdict.DEGRADED
    dead = R.judge_ping("spark-1", plan, PEER, ping(0), ping(0, 56, 2), {})
    assert dead.verdict is Verdict.FAIL and "not even small pings" in dead.diagnosis


def test_ping_mtu_failure_names_the_end():
    result = R.judge_ping("spark-1", iface(), PEER, ping(0), ping(2, 56, 2),
                          {"spark-1/enp1s0f1np1": 9000, "spark-2/enp1s0f1np1": 1500})
    assert result.verdict is Verdict.FAIL
    assert "spark-2/enp1s0f1np1 has MTU 1500" in result.diagnosis
    hop = R.judge_ping("spark-1", iface(), PEER, ping(0), ping(2, 56, 2), {})
    assert "switch port" in hop.diagnosis


def test_ping_without_carrier_says_which_end():
    result = R.judge_ping("spark-1", iface(), PEER, ping(0), ping(0, 56, 2), {},
                          {"spark-2/enp1s0f1np1": False, "spark-1/enp1s0f1np1": True})
    assert "spark-2/enp1s0f1np1 has no carrier" in result.diagnosis


def tcp(result):
    return R.TcpResult("192.168.100.1", "192.168.100.2", 40000, result)


def test_tcp_pass_and_path_failure_is_not_a_firewall():
    plan = iface()
    assert R.judge_tcp("spark-1", plan, PEER, tcp("ok"), R.ListenerReport(), None,
                       True).verdict is Verdict.PASS
    nopath = R.judge_tcp("spark-1", plan, PEER, tcp("timeout"), R.ListenerReport(), None, False)
    assert nopath.verdict is Verdict.FAIL and "not a firewall" in nopath.diagnosis


def test_tcp_blames_server_when_syn_never_arrived():
    result = R.judge_tcp("spark-1", iface(), PEER, tcp("timeout"), R.ListenerReport(), None,
                         True)
    assert result.verdict is Verdict.FAIL
    assert "firewall on spark-2 (the far end)" in result.diagnosis


def test_tcp_blames_client_when_server_answered():
    listener = R.ListenerReport(half_open=(("192.168.100.2", "192.168.100.1"),))
    result = R.judge_tcp("spark-1", iface(), PEER, tcp("timeout"), listener, None, True)
    assert "firewall on spark-1 (this end)" in result.diagnosis


def test_tcp_refused_with_listener_up_is_a_reject_rule_at_the_server():
    result = R.judge_tcp("spark-1", iface(), PEER, tcp("refused"), R.ListenerReport(), None,
                         True)
    assert "firewall on spark-2" in result.diagnosis


def test_tcp_unreachable_listener_and_local_errors():
    # the peer cannot be reached: not measured (its node.ssh fails), no invented value
    down = R.judge_tcp("spark-1", iface(), PEER, None, None, "unreachable: refused", True)
    assert down.verdict is Verdict.SKIPPED and down.measured is None
    assert "unreachable: refused" in down.diagnosis
    # the peer answers but its listener would not start: a failed measurement
    broken = R.judge_tcp("spark-1", iface(), PEER, None, None, "the TCP listener did not start",
                         True)
    assert broken.verdict is Verdict.FAIL
    local = R.judge_tcp("spark-1", iface(), PEER, tcp("error: Cannot assign requested address"),
                        R.ListenerReport(), None, True)
    assert "firewall" not in local.diagnosis and "link.address" in local.hint
    nolisten = R.judge_tcp("spark-1", iface(), PEER, None,
                           R.ListenerReport(failed={"192.168.100.2": "Cannot assign"}), None,
                           True)
    assert nolisten.verdict is Verdict.FAIL and "could not listen" in nolisten.diagnosis


def test_neighbours_pass_missing_and_swapped():
    plan = iface()
    owners = {"fe80::1": "spark-1/enp1s0f1np1", "fe80::2": "spark-2/enp1s0f1np1",
              "fe80::3": "spark-3/enp1s0f0np0"}
    ok = R.judge_neighbours("spark-1", plan, ("fe80::1", "fe80::2", "fe80::99"), ("fe80::1",),
                            owners, True)
    assert ok.verdict is Verdict.PASS
    swapped = R.judge_neighbours("spark-1", plan, ("fe80::1", "fe80::3"), ("fe80::1",), owners,
                                 True)
    assert swapped.verdict is Verdict.FAIL
    assert "wired to spark-3/enp1s0f0np0" in swapped.diagnosis and "swapped" in \
        swapped.diagnosis
    dark = R.judge_neighbours("spark-1", plan, (), ("fe80::1",), owners, False)
    assert dark.verdict is Verdict.FAIL and "no carrier" in dark.diagnosis
    # Peers' link-local addresses unknown (IPv6 off): nothing to compare, no check.
    assert R.judge_neighbours("spark-1", plan, (), (), {}, True) is None


def test_neighbours_partial_names_the_missing_peer():
    plan = iface(peers=(("spark-2", "enp1s0f1np1", "192.168.100.2"),
                        ("spark-3", "enp1s0f1np1", "192.168.100.3")))
    owners = {"fe80::2": "spark-2/enp1s0f1np1", "fe80::3": "spark-3/enp1s0f1np1"}
    result = R.judge_neighbours("spark-1", plan, ("fe80::2",), (), owners, True)
    assert result.verdict is Verdict.FAIL
    assert result.diagnosis.startswith("spark-3/enp1s0f1np1 does not answer")


def test_parse_listener_and_reach_outputs():
    text = ('READY {"ports": {"192.168.100.2": 40000}, "failed": {}}\n'
            'ACCEPTED [["192.168.100.2", "192.168.100.1"]]\n'
            'HALFOPEN [["192.168.100.2", "192.168.100.3"]]\n')
    report = R.parse_listener(text)
    assert report.ports == {"192.168.100.2": 40000}
    assert report.half_open == (("192.168.100.2", "192.168.100.3"),)
    reach = R.parse_reach('{"pings": [{"ifname": "a", "dst": "b", "size": 56, "sent": 2, '
                          '"received": 2}], "tcp": [{"src": "s", "dst": "b", "port": 1, '
                          '"result": "ok"}], "neighbours": [{"ifname": "a", '
                          '"addresses": ["fe80::2"]}]}')
    assert reach.ping("a", "b", 56).received == 2
    assert reach.connect("s", "b").result == "ok"
    assert reach.neighbours == {"a": ("fe80::2",)}


# --- the shared judge health and validate both call ----------------------------------------

def reach_report(small=1, big=1, sent=1, tcp_result="ok", seen=("fe80::2",)):
    return R.ReachReport(
        pings=(R.PingResult("enp1s0f1np1", "192.168.100.2", 56, sent, small),
               R.PingResult("enp1s0f1np1", "192.168.100.2", 8972, sent, big)),
        tcp=(R.TcpResult("192.168.100.1", "192.168.100.2", 22, tcp_result),),
        neighbours={"enp1s0f1np1": seen})


LIVE = R.LiveLinks(mtus={"spark-1/enp1s0f1np1": 9000, "spark-2/enp1s0f1np1": 9000},
                   carriers={"spark-1/enp1s0f1np1": True, "spark-2/enp1s0f1np1": True},
                   link_local={"spark-1/enp1s0f1np1": ("fe80::1",),
                               "spark-2/enp1s0f1np1": ("fe80::2",)},
                   owners={"fe80::1": "spark-1/enp1s0f1np1", "fe80::2": "spark-2/enp1s0f1np1"})


def verdicts(checks):
    return {c.id: c.verdict for c in checks}


def test_node_reach_passes_ping_tcp_and_neighbours():
    checks = R.judge_node_reach("spark-1", (iface(),), reach_report(), LIVE)
    assert verdicts(checks) == {"link.ping": Verdict.PASS, "link.tcp": Verdict.PASS,
                                "link.neighbours": Verdict.PASS}
    assert checks[0].subject == "spark-1/enp1s0f1np1 -> spark-2/enp1s0f1np1"


def test_node_reach_without_report_fails_every_peer_with_the_reason():
    checks = R.judge_node_reach("spark-1", (iface(),), "no reachability result (timeout)", LIVE)
    assert [(c.id, c.verdict, c.measured) for c in checks] == [
        ("link.ping", Verdict.FAIL, "unreachable"), ("link.tcp", Verdict.FAIL, "unreachable")]
    assert "timeout" in checks[0].diagnosis


def test_refused_connect_is_reachable_only_when_asked():
    report = reach_report(tcp_result="refused")
    strict = verdicts(R.judge_node_reach("spark-1", (iface(),), report, LIVE))
    lenient = R.judge_node_reach("spark-1", (iface(),), report, LIVE, refused_is_reachable=True)
    assert strict["link.tcp"] is Verdict.FAIL
    tcp = next(c for c in lenient if c.id == "link.tcp")
    assert tcp.verdict is Verdict.PASS and "RST" in tcp.diagnosis


def test_timeout_without_listener_blames_the_far_end_as_a_guess():
    checks = R.judge_node_reach("spark-1", (iface(),), reach_report(tcp_result="timeout"), LIVE,
                                refused_is_reachable=True)
    tcp = next(c for c in checks if c.id == "link.tcp")
    assert tcp.verdict is Verdict.FAIL
    assert "most likely a firewall on spark-2" in tcp.diagnosis


def test_node_reach_swapped_wire_and_unknown_facts():
    owners = {**LIVE.owners, "fe80::3": "spark-3/enp1s0f0np0"}
    live = R.LiveLinks(LIVE.mtus, LIVE.carriers, LIVE.link_local, owners)
    checks = R.judge_node_reach("spark-1", (iface(),), reach_report(seen=("fe80::3",)), live)
    wire = next(c for c in checks if c.id == "link.neighbours")
    assert wire.verdict is Verdict.FAIL and "swapped" in wire.diagnosis
    # No link facts of this node (health: link_facts failed): no neighbour verdict at all.
    bare = R.LiveLinks(LIVE.mtus, LIVE.carriers, {}, LIVE.owners)
    assert "link.neighbours" not in verdicts(
        R.judge_node_reach("spark-1", (iface(),), reach_report(), bare))


def test_one_lost_ping_fails_with_one_sent_and_degrades_with_three():
    quick = verdicts(R.judge_node_reach("spark-1", (iface(),), reach_report(big=0), LIVE))
    assert quick["link.ping"] is Verdict.FAIL  # small passed, big lost: reads as MTU
    lossy = verdicts(R.judge_node_reach("spark-1", (iface(),),
                                        reach_report(small=2, big=2, sent=3), LIVE))
    assert lossy["link.ping"] is Verdict.DEGRADED


def test_reach_request_carries_the_ping_plan_and_ports():
    plan = iface(peers=(("spark-2", "enp1s0f1np1", "192.168.100.2"),
                        ("spark-3", "enp1s0f1np1", "192.168.100.3")))
    ports = {"192.168.100.2": 40000}
    full = R.reach_request((plan,), ports.get, tcp_timeout=2)
    assert full["pings"] == [["enp1s0f1np1", "192.168.100.2", 8972],
                             ["enp1s0f1np1", "192.168.100.3", 8972]]
    assert full["tcp"] == [["192.168.100.1", "192.168.100.2", 40000]]  # no port: no connect
    assert (full["ping_count"], full["small_count"], full["neighbour_count"]) == (3, 2, 3)
    quick = R.reach_request((plan,), lambda _a: 22, tcp_timeout=1, pings=R.QUICK_PINGS)
    assert (quick["ping_count"], quick["small_count"], quick["neighbour_count"]) == (1, 1, 2)
    assert len(quick["tcp"]) == 2 and quick["neighbours"] == ["enp1s0f1np1"]
