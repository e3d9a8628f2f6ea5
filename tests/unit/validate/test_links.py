"""Link judging with synthetic facts: every check passes on the plan and fails off it."""

from sparkctl.checks.result import Verdict
from sparkctl.validate import links
from sparkctl.validate.facts import Gid, HcaFacts, NetdevFacts, NodeFacts, ipv4_mapped_gid

from .validate_helpers import iface


def up(name="enp1s0f1np1", **kw) -> NetdevFacts:
    base = dict(name=name, exists=True, operstate="up", admin_up=True, carrier=1,
                speed_mbps=200_000, mtu=9000, ipv4=("192.168.100.1/24",))
    base.update(kw)
    return NetdevFacts(**base)


def test_carrier_pass_and_admin_down_names_this_end():
    plan = iface()
    assert links.check_carrier("spark-1", plan, up()).verdict is Verdict.PASS
    down = links.check_carrier("spark-1", plan, up(carrier=None, admin_up=False,
                                                   operstate="down"))
    assert down.verdict is Verdict.FAIL
    assert "administratively down (this end)" in down.diagnosis


def test_carrier_names_far_end_when_it_is_down():
    far = up(admin_up=False, carrier=None)
    result = links.check_carrier("spark-1", iface(), up(carrier=0), far)
    assert result.verdict is Verdict.FAIL
    assert "spark-2/enp1s0f1np1 is administratively down" in result.diagnosis


def test_carrier_points_at_the_port_that_has_the_cable():
    result = links.check_carrier("spark-1", iface(), up(carrier=0), None, ("enp1s0f0np0",))
    assert result.verdict is Verdict.FAIL
    assert "wrong port" in result.diagnosis and "enp1s0f0np0" in result.diagnosis


def test_missing_netdev_fails():
    result = links.check_carrier("spark-1", iface(), NetdevFacts("enp1s0f1np1", exists=False))
    assert result.verdict is Verdict.FAIL and "does not exist" in result.diagnosis


def test_speed_200g_passes_100g_is_autoneg_signature():
    assert links.check_speed("spark-1", iface(), up(), 200_000).verdict is Verdict.PASS
    slow = links.check_speed("spark-1", iface(), up(speed_mbps=100_000), 200_000)
    assert slow.verdict is Verdict.DEGRADED and "autonegotiated 100G" in slow.diagnosis
    nolink = links.check_speed("spark-1", iface(), up(carrier=0, speed_mbps=-1), 200_000)
    assert nolink.verdict is Verdict.FAIL


def test_lab_link_speed_is_info_not_a_pass_that_cannot_fail():
    """A veth reports a fixed 10000 Mb/s whatever it carries: the lab Platform has no link
    speed to judge, so the check reports the figure as `info` and says why."""
    from sparkctl.platform import lab_platform

    lab = lab_platform(2000)
    result = links.check_speed("spark-1", iface(), up(speed_mbps=10_000), lab.link_speed_mbps,
                               lab.link_speed_note)
    assert result.verdict is Verdict.INFO and result.measured == 10_000
    assert result.expected is None and "rail.bandwidth measures" in result.diagnosis


def test_mtu_names_the_end_that_differs():
    plan = iface()
    bad = links.check_mtu("spark-1", plan, up(mtu=1500), {"spark-2/enp1s0f1np1": 9000})
    assert bad.verdict is Verdict.FAIL
    assert bad.measured == 1500 and bad.expected == 9000
    assert "differs at this end" in bad.diagnosis and "spark-2/enp1s0f1np1" in bad.diagnosis
    good = links.check_mtu("spark-1", plan, up(), {"spark-2/enp1s0f1np1": 1500})
    assert good.verdict is Verdict.PASS
    assert "far end spark-2/enp1s0f1np1 (1500) differs" in good.diagnosis


def test_address_exact_missing_wrong_prefix_and_stray():
    plan = iface()
    assert links.check_address("spark-1", plan, up()).verdict is Verdict.PASS
    missing = links.check_address("spark-1", plan, up(ipv4=()))
    assert missing.verdict is Verdict.FAIL and "no IPv4 address" in missing.diagnosis
    prefix = links.check_address("spark-1", plan, up(ipv4=("192.168.100.1/16",)))
    assert prefix.verdict is Verdict.FAIL and "wrong prefix" in prefix.diagnosis
    stray = links.check_address("spark-1", plan, up(ipv4=("192.168.100.1/24",
                                                          "10.0.0.5/24")))
    assert stray.verdict is Verdict.FAIL and "stray addresses 10.0.0.5/24" in stray.diagnosis
    v6 = links.check_address("spark-1", plan, up(ipv6_global=("2001:db8::1/64",)))
    assert v6.verdict is Verdict.FAIL
    # link-local IPv6 is not a stray address
    assert links.check_address("spark-1", plan, up(link_local=("fe80::1",))).verdict \
        is Verdict.PASS


def test_unplanned_netdevs_must_be_bare_and_dark():
    quiet = NetdevFacts("enp1s0f0np0", True, "down", True, 0, -1, 1500)
    assert links.check_unplanned("spark-1", [quiet]).verdict is Verdict.PASS
    holding = NetdevFacts("enp1s0f0np0", True, "up", True, 0, -1, 1500,
                          ipv4=("192.168.50.1/24",))
    result = links.check_unplanned("spark-1", [holding])
    assert result.verdict is Verdict.FAIL and "192.168.50.1/24" in result.diagnosis
    cabled = NetdevFacts("enp1s0f0np0", True, "up", True, 1, 200_000, 1500)
    result = links.check_unplanned("spark-1", [cabled])
    assert result.verdict is Verdict.FAIL and "wrong port" in result.diagnosis


def active_hca(**kw) -> HcaFacts:
    base = dict(name="rocep1s0f1", exists=True, state="4: ACTIVE", link_layer="Ethernet",
                gids=(Gid(3, ipv4_mapped_gid("192.168.100.1"), "RoCE v2", "enp1s0f1np1"),),
                counters={"symbol_error": 0, "link_downed": 0, "port_rcv_errors": 0})
    base.update(kw)
    return HcaFacts(**base)


def test_rdma_port_state_and_link_layer():
    plan = iface()
    assert links.check_rdma_port("spark-1", plan, active_hca()).verdict is Verdict.PASS
    down = links.check_rdma_port("spark-1", plan, active_hca(state="1: DOWN"))
    assert down.verdict is Verdict.FAIL and "not ACTIVE" in down.diagnosis
    ib = links.check_rdma_port("spark-1", plan, active_hca(link_layer="InfiniBand"))
    assert ib.verdict is Verdict.FAIL and "link layer InfiniBand" in ib.diagnosis
    gone = links.check_rdma_port("spark-1", plan, HcaFacts("rocep1s0f1", exists=False))
    assert gone.verdict is Verdict.FAIL


def test_gid_index_found_elsewhere_is_named():
    plan = iface()
    assert links.check_gid("spark-1", plan, active_hca(), 3).verdict is Verdict.PASS
    moved = active_hca(gids=(Gid(5, ipv4_mapped_gid("192.168.100.1"), "RoCE v2", None),))
    result = links.check_gid("spark-1", plan, moved, 3)
    assert result.verdict is Verdict.FAIL and result.measured == 5
    v1_only = active_hca(gids=(Gid(3, ipv4_mapped_gid("192.168.100.1"), "IB/RoCE v1", None),))
    assert links.check_gid("spark-1", plan, v1_only, 3).verdict is Verdict.FAIL


def test_node_link_checks_covers_every_planned_interface():
    plan = (iface(), iface(name="enP2p1s0f1np1", address="192.168.101.1/24", rail=1,
                           hca="roceP2p1s0f1",
                           peers=(("spark-2", "enP2p1s0f1np1", "192.168.101.2"),)))
    facts = NodeFacts("spark-1", {
        "enp1s0f1np1": up(),
        "enP2p1s0f1np1": up(name="enP2p1s0f1np1", ipv4=("192.168.101.1/24",), mtu=1500)},
        {})
    results = links.node_link_checks("spark-1", plan, facts, {"spark-1": facts},
                                     expected_speed=200_000, cx7_netdevs=[], rdma=False,
                                     gid_index=3)
    by = {(r.id, r.subject): r.verdict for r in results}
    assert by[("link.mtu", "spark-1/enP2p1s0f1np1")] is Verdict.FAIL
    assert by[("link.mtu", "spark-1/enp1s0f1np1")] is Verdict.PASS
    assert by[("link.stray", "spark-1/unplanned")] is Verdict.PASS
    assert len([r for r in results if r.id.startswith("link.")]) == 4 * 2 + 1
