"""Whole validate reports built with the real judges (links, reach, rails, collective) on
the real switch4/ring3 plans, healthy or with faults, for the report renderers' tests."""

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from sparkctl.checks.result import CheckResult, Report
from sparkctl.engine.nodes import judge_ssh
from sparkctl.probe.hosts import SshEndpoint
from sparkctl.topology.hardware import PORTS, RAILS, netdev
from sparkctl.validate import collective, links, rails, reachability
from sparkctl.validate.facts import Gid, HcaFacts, NetdevFacts, NodeFacts, ipv4_mapped_gid
from tests.unit.validate.validate_helpers import context_for

NCCL = Path(__file__).resolve().parents[2] / "fixtures" / "nccl-tests"
GOOD_SWITCH = NCCL / "spark_koyo_all_gather_2node_switch_good_21GBps.txt"
SLOW_DIRECT = NCCL / "spark_koyo_all_gather_2node_direct_degraded_2p8GBps.txt"
# ib_write_bw over a rail whose QP cannot complete (a link without carrier, real output)
RAIL_ERROR = (Path(__file__).resolve().parents[2] / "fixtures" / "perftest"
              / "spark4_crs804_client_completion_error_status12_FRAGMENT.txt")


def _facts(target, netdev_faults: dict) -> dict[str, NodeFacts]:
    facts = {}
    for node in target.nodes:
        netdevs, hcas = {}, {}
        for port in PORTS:
            for rail in RAILS:
                name = netdev(port, rail)
                netdevs[name] = NetdevFacts(name, exists=True, operstate="down",
                                            admin_up=False, carrier=0)
        for i in node.interfaces:
            facts_kw = dict(operstate="up", admin_up=True, carrier=1, speed_mbps=200_000,
                            mtu=i.mtu, ipv4=(str(i.address),))
            facts_kw.update(netdev_faults.get((node.name, i.name), {}))
            netdevs[i.name] = NetdevFacts(i.name, exists=True, **facts_kw)
            hcas[i.hca] = HcaFacts(i.hca, exists=True, state="4: ACTIVE", link_layer="Ethernet",
                                   gids=(Gid(3, ipv4_mapped_gid(str(i.address.ip)), "RoCE v2",
                                             i.name),),
                                   counters={"symbol_error": 0, "link_downed": 0})
        facts[node.name] = NodeFacts(node.name, netdevs, hcas)
    return facts


def validate_report(topology: str = "switch4", n: int = 4, *, netdev_faults=None,
                    slow_rails=None, dead=(), nccl: Path = GOOD_SWITCH):
    """(target, report) of a full validate run judged by sparkctl's own judges.

    netdev_faults: {(node, ifname): NetdevFacts fields}; slow_rails: {sender ifname subject:
    Gb/s}; dead: nodes whose SSH fails (their checks are then not judged here)."""
    target = context_for(topology, n)
    netdev_faults = netdev_faults or {}
    slow_rails = slow_rails or {}
    facts = _facts(target, netdev_faults)
    checks: list[CheckResult] = []
    for node in target.nodes:
        endpoint = SshEndpoint(name=node.name, address=node.name, port=22, user="nvidia")
        checks.append(judge_ssh(node.name, endpoint,
                                "unreachable: connection refused" if node.name in dead
                                else None, 0.21))
        if node.name in dead:
            continue
        checks += links.node_link_checks(
            node.name, node.interfaces, facts[node.name], facts, expected_speed=200_000,
            cx7_netdevs=[netdev(p, r) for p in PORTS for r in RAILS], rdma=True, gid_index=3)
        for iface in node.interfaces:
            up = facts[node.name].netdev(iface.name).has_carrier
            for peer in iface.peers:
                far_up = facts[peer.host].netdev(peer.interface).has_carrier
                ok = up and far_up
                size = iface.mtu - 28
                big = reachability.PingResult(iface.name, str(peer.address), size, 3,
                                              3 if ok else 0)
                carriers = {links.subject(node.name, iface.name): up,
                            links.subject(peer.host, peer.interface): far_up}
                checks.append(reachability.judge_ping(node.name, iface, peer, big, None, {},
                                                      carriers))
                tcp = reachability.TcpResult(str(iface.address.ip), str(peer.address), 5201,
                                             "ok" if ok else "timeout")
                checks.append(reachability.judge_tcp(node.name, iface, peer, tcp, None, None,
                                                     ok))
    expectation = target.platform.rail_expectation
    for test in rails.plan_rail_tests(target, 21000):
        if test.sender in dead or test.receiver in dead:
            checks.append(rails.not_run(test, f"{test.sender} or {test.receiver} is "
                                        "unreachable", "Bring the node back."))
            continue
        sender, receiver = (facts[test.sender].netdev(test.sender_if.name),
                            facts[test.receiver].netdev(test.receiver_if))
        if not (sender.has_carrier and receiver.has_carrier):
            checks.append(rails.judge_perftest(test, RAIL_ERROR.read_text(),
                                               expectation).check)
            continue
        gbps = slow_rails.get(links.subject(test.sender, test.sender_if.name), 97.3)
        checks.append(rails.judge_measured(test, gbps, expectation))
    # The captured runs are 1G-4G sweeps: judged at their 4G row, validate's documented
    # fallback size, as a run at that size would be.
    four = 4 * 1024**3
    at_4g = collective.CollectiveSize(
        four, collective.T.collective_verdict_expectation(topology, four),
        "the documented 4G fallback")
    checks += collective.judge_nccl_run(nccl.read_text(), topology, 0, "all_gather", at_4g)
    report = Report.from_checks(checks, started=datetime(2026, 12, 1, 12, 0, tzinfo=UTC),
                                duration_s=41.7)
    return target, report


def with_diagnosis(report: Report, index: int, diagnosis: str, hint: str) -> Report:
    checks = list(report.checks)
    checks[index] = replace(checks[index], diagnosis=diagnosis, hint=hint)
    return Report.from_checks(checks, started=datetime(2026, 12, 1, tzinfo=UTC),
                              duration_s=report.duration_s)
