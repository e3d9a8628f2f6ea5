"""Ping/TCP/neighbour judging, including which node's firewall stopped a handshake."""

from .validate_helpers import iface

from sparkctl.checks.result import Verdict
from sparkctl.validate import reachability as R

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
    down = R.judge_tcp("spark-1", iface(), PEER, None, None, "unreachable: refused", True)
    assert down.verdict is Verdict.FAIL and down.measured == "unreachable"
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
