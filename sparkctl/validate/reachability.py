"""Reachability between nodes on every rail: DF pings, TCP connects, who is on each wire.

Pure judging of what remote/reach.py and remote/tcp_listen.py report. A firewall is named by
where the TCP handshake stopped: a SYN answered by the server but never completed means the
client's side drops the answers; a SYN never seen means the server's side drops it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from sparkctl.checks.result import CheckResult, Verdict
from sparkctl.topology.addressing import InterfacePlan, Peer
from sparkctl.validate.facts import NodeFacts
from sparkctl.validate.links import subject

KIND = "link"
PING_COUNT = 3  # DF pings at MTU-28 per peer; the small control ping sends 2
SMALL_PING = 56
IP_ICMP_OVERHEAD = 28  # IPv4 header 20 + ICMP header 8


@dataclass(frozen=True)
class PingPlan:
    """How many pings remote/reach.py sends per peer and wire, and how far apart."""

    ping_count: int = PING_COUNT  # DF pings at MTU-28
    small_count: int = 2  # control pings that tell "MTU too small" from "no path"
    neighbour_count: int = 3  # link-local all-nodes pings per wire
    interval: float = 0.2  # between pings of one batch


# validate: 3 DF pings, so a lossy rail shows as `degraded`.
FULL_PINGS = PingPlan()
# health: one small and one DF ping per peer instead of 2 + 3 at 0.2 s (1 s per peer), and
# 2 all-nodes pings 50 ms apart: the second echo's first reply ends ping after every host on
# the wire answered the first (iputils >= 2020 lets users go down to 2 ms; older ones are
# retried at 0.2 s by the program).
QUICK_PINGS = PingPlan(ping_count=1, small_count=1, neighbour_count=2, interval=0.05)


@dataclass(frozen=True)
class PingResult:
    ifname: str
    dst: str
    size: int
    sent: int
    received: int
    errors: tuple[str, ...] = ()


@dataclass(frozen=True)
class TcpResult:
    src: str
    dst: str
    port: int
    result: str  # ok, refused, timeout, error: ...


@dataclass(frozen=True)
class ReachReport:
    pings: tuple[PingResult, ...] = ()
    tcp: tuple[TcpResult, ...] = ()
    neighbours: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def ping(self, ifname: str, dst: str, size: int) -> PingResult | None:
        return next((p for p in self.pings if (p.ifname, p.dst, p.size) == (ifname, dst, size)),
                    None)

    def connect(self, src: str, dst: str) -> TcpResult | None:
        return next((t for t in self.tcp if (t.src, t.dst) == (src, dst)), None)


@dataclass(frozen=True)
class ListenerReport:
    ports: dict[str, int] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    accepted: tuple[tuple[str, str], ...] = ()
    half_open: tuple[tuple[str, str], ...] = ()


def parse_reach(text: str) -> ReachReport:
    doc = json.loads(text.strip().splitlines()[-1])
    return ReachReport(
        pings=tuple(PingResult(p["ifname"], p["dst"], int(p["size"]), int(p["sent"]),
                               int(p["received"]), tuple(p.get("errors") or ()))
                    for p in doc.get("pings", [])),
        tcp=tuple(TcpResult(t["src"], t["dst"], int(t["port"]), t["result"])
                  for t in doc.get("tcp", [])),
        neighbours={n["ifname"]: tuple(n.get("addresses") or ()) for n in
                    doc.get("neighbours", [])})


def parse_listener(text: str) -> ListenerReport:
    ready: dict = {}
    accepted: list = []
    half: list = []
    for line in text.splitlines():
        head, _, body = line.partition(" ")
        if head == "READY":
            ready = json.loads(body)
        elif head == "ACCEPTED":
            accepted = json.loads(body)
        elif head == "HALFOPEN":
            half = json.loads(body)
    return ListenerReport(ports={k: int(v) for k, v in ready.get("ports", {}).items()},
                          failed=dict(ready.get("failed", {})),
                          accepted=tuple((a, p) for a, p in accepted),
                          half_open=tuple((a, p) for a, p in half))


def reach_request(interfaces: tuple[InterfacePlan, ...], port_for: Callable[[str], int | None],
                  *, tcp_timeout: float, pings: PingPlan = FULL_PINGS,
                  neighbours: bool = True) -> dict:
    """The request remote/reach.py takes: pings and TCP connects to every planned peer.

    `port_for(peer address)` is the TCP port to connect to there (None: no connect).
    """
    ping_list, tcp, wires = [], [], []
    for iface in interfaces:
        if neighbours:
            wires.append(iface.name)
        for peer in iface.peers:
            ping_list.append([iface.name, str(peer.address), iface.mtu - IP_ICMP_OVERHEAD])
            port = port_for(str(peer.address))
            if port:
                tcp.append([str(iface.address.ip), str(peer.address), port])
    return {"pings": ping_list, "tcp": tcp, "neighbours": wires, "tcp_timeout": tcp_timeout,
            "ping_count": pings.ping_count, "small_count": pings.small_count,
            "neighbour_count": pings.neighbour_count, "interval": pings.interval}


@dataclass(frozen=True)
class LiveLinks:
    """What the link facts of all nodes say, keyed "node/ifname", for naming a failing end."""

    mtus: dict[str, int | None] = field(default_factory=dict)
    carriers: dict[str, bool] = field(default_factory=dict)
    link_local: dict[str, tuple[str, ...]] = field(default_factory=dict)
    owners: dict[str, str] = field(default_factory=dict)  # link-local address -> node/ifname

    @classmethod
    def from_facts(cls, facts: Mapping[str, NodeFacts]) -> LiveLinks:
        live = [(subject(n, nd.name), nd) for n, f in facts.items() for nd in f.netdevs.values()]
        return cls(mtus={s: nd.mtu for s, nd in live if nd.exists},
                   carriers={s: nd.has_carrier for s, nd in live if nd.exists},
                   link_local={s: nd.link_local for s, nd in live},
                   owners={ll: s for s, nd in live for ll in nd.link_local})


def judge_node_reach(node: str, interfaces: tuple[InterfacePlan, ...],
                     report: ReachReport | str, live: LiveLinks, *,
                     listeners: Mapping[str, ListenerReport] | None = None,
                     listener_errors: Mapping[str, str] | None = None,
                     refused_is_reachable: bool = False) -> list[CheckResult]:
    """link.ping, link.tcp and link.neighbours of one node from its reach program's report.

    `report` is the parsed output, or why there is none (every check then fails with it).
    `listeners` are validate's TCP listeners per peer (they tell which end's firewall stopped
    a handshake); health connects to sshd instead and passes `refused_is_reachable`: an RST
    crossed the rail, so TCP works there and only nothing listens.
    """
    listeners = listeners or {}
    listener_errors = listener_errors or {}
    out: list[CheckResult] = []
    for iface in interfaces:
        if not isinstance(report, ReachReport):
            for peer in iface.peers:
                sub = ping_subject(node, iface, peer)
                out.append(unreachable("link.ping", sub, node, report))
                out.append(unreachable("link.tcp", sub, node, report))
            continue
        small_ok = {}
        for peer in iface.peers:
            dst = str(peer.address)
            big = report.ping(iface.name, dst, iface.mtu - IP_ICMP_OVERHEAD)
            small = report.ping(iface.name, dst, SMALL_PING)
            small_ok[dst] = bool((small and small.received) or (big and big.received))
            out.append(judge_ping(node, iface, peer, big, small, live.mtus, live.carriers))
        for peer in iface.peers:
            dst = str(peer.address)
            out.append(judge_tcp(node, iface, peer, report.connect(str(iface.address.ip), dst),
                                 listeners.get(peer.host), listener_errors.get(peer.host),
                                 small_ok[dst], refused_is_reachable=refused_is_reachable))
        here = subject(node, iface.name)
        if here in live.link_local:
            neighbour = judge_neighbours(node, iface, report.neighbours.get(iface.name),
                                         live.link_local[here], live.owners,
                                         live.carriers.get(here, False))
            if neighbour is not None:
                out.append(neighbour)
    return out


def ping_subject(node: str, iface: InterfacePlan, peer: Peer) -> str:
    return f"{subject(node, iface.name)} -> {subject(peer.host, peer.interface)}"


def unreachable(check_id: str, sub: str, node: str, error: str) -> CheckResult:
    return CheckResult(check_id, KIND, sub, Verdict.FAIL, "unreachable", None, None,
                       f"{node} is unreachable, so this was not measured: {error}.",
                       f"Check that {node} is up and sshd answers (ssh {node}).")


def judge_ping(node: str, iface: InterfacePlan, peer: Peer, big: PingResult | None,
               small: PingResult | None, mtus: dict[str, int | None],
               carriers: dict[str, bool] | None = None) -> CheckResult:
    """DF ping at MTU-28 from this interface to one peer.

    `mtus` and `carriers` map "node/ifname" to the live MTU and carrier, so a failure names
    the end that causes it.
    """
    sub = ping_subject(node, iface, peer)
    size = iface.mtu - IP_ICMP_OVERHEAD
    if big is None:
        return CheckResult("link.ping", KIND, sub, Verdict.FAIL, None, PING_COUNT, "replies",
                           "The ping did not run (the probe returned no result for it).",
                           "Rerun; if it persists, run the ping by hand on the node.")
    got = f"{big.received}/{big.sent} DF pings of {size} bytes to {peer.address}"
    if big.received == big.sent:
        return CheckResult("link.ping", KIND, sub, Verdict.PASS, big.received, big.sent,
                           "replies", f"{got} answered.")
    if big.received > 0:
        return CheckResult("link.ping", KIND, sub, Verdict.DEGRADED, big.received, big.sent,
                           "replies", f"Only {got} answered: the rail loses packets.",
                           "Check error counters on both ends and the cable.")
    if small is not None and small.received > 0:
        here, there = subject(node, iface.name), subject(peer.host, peer.interface)
        wrong = [f"{s} has MTU {m}" for s, m in ((here, mtus.get(here)), (there, mtus.get(there)))
                 if m is not None and m != iface.mtu]
        where = ("; " + ", ".join(wrong)) if wrong else (
            "; both ends have the planned MTU, so a hop between them (switch port) has a "
            "smaller one")
        return CheckResult(
            "link.ping", KIND, sub, Verdict.FAIL, 0, big.sent, "replies",
            f"Small pings pass but none of {got} did: the path's MTU is below the planned "
            f"{iface.mtu}{where}.",
            f"Set MTU {iface.mtu} on both ends and on the switch ports of this rail.")
    here, there = subject(node, iface.name), subject(peer.host, peer.interface)
    dead = [s for s in (here, there) if (carriers or {}).get(s) is False]
    if dead:
        return CheckResult(
            "link.ping", KIND, sub, Verdict.FAIL, 0, big.sent, "replies",
            f"No reply from {peer.address}: {' and '.join(dead)} has no carrier.",
            f"Read link.carrier of {' and '.join(dead)}.")
    return CheckResult(
        "link.ping", KIND, sub, Verdict.FAIL, 0, big.sent, "replies",
        f"No reply at all from {peer.address} on this rail (not even small pings): the link "
        "is down, an address is missing, or the cable goes elsewhere.",
        "Read this interface's link.carrier, link.address and link.neighbours results.")


def tcp_blame(src_node: str, dst_node: str, outcome: str,
              listener: ListenerReport | None, src_ip: str, dst_ip: str) -> str | None:
    """Which node's firewall stopped a failed TCP connect, from where the handshake stopped.

    Without a listener report (health connects to sshd) a timeout is put on the far end,
    where a default-deny firewall (ufw) most often is; the diagnosis says it is a guess.
    """
    if outcome == "refused":
        return dst_node  # a listener was up, so the reset came from a REJECT rule there
    if outcome != "timeout":
        return None
    if listener is None:
        return dst_node
    if (dst_ip, src_ip) in listener.half_open:
        return src_node  # the server answered the SYN; the answer never got in at the client
    return dst_node  # the SYN never reached the server's socket


def judge_tcp(node: str, iface: InterfacePlan, peer: Peer, result: TcpResult | None,
              listener: ListenerReport | None, listener_error: str | None,
              ping_ok: bool, *, refused_is_reachable: bool = False) -> CheckResult:
    sub = ping_subject(node, iface, peer)
    if listener_error is not None and listener_error.startswith("unreachable"):
        # The peer itself cannot be reached: its node.ssh says so; this was not measured.
        return CheckResult("link.tcp", KIND, sub, Verdict.SKIPPED, None, None, None,
                           f"Not measured: no TCP listener could run on {peer.host}, which is "
                           f"{listener_error}.", f"Bring {peer.host} back (see its node.ssh).")
    if listener_error is not None:
        return unreachable("link.tcp", sub, peer.host,
                           f"no TCP listener could be started there ({listener_error})")
    if listener is not None and str(peer.address) in listener.failed:
        return CheckResult(
            "link.tcp", KIND, sub, Verdict.FAIL, "no listener", "connected", None,
            f"{peer.host} could not listen on {peer.address}: "
            f"{listener.failed[str(peer.address)]} (the address is not on the node).",
            "Read the link.address result of the peer.")
    if result is None:
        return CheckResult("link.tcp", KIND, sub, Verdict.FAIL, None, "connected", None,
                           "The connect did not run (no result from the probe).",
                           "Rerun validate.")
    if result.result == "ok":
        return CheckResult("link.tcp", KIND, sub, Verdict.PASS, "connected", "connected", None,
                           f"TCP {iface.address.ip} -> {peer.address}:{result.port} connects.")
    if result.result == "refused" and refused_is_reachable:
        return CheckResult("link.tcp", KIND, sub, Verdict.PASS, "refused", "an answer", None,
                           f"TCP {iface.address.ip} -> {peer.address}:{result.port} is refused: "
                           "an RST came back over the rail, so TCP crosses it (nothing listens "
                           "on that port).")
    if result.result not in ("refused", "timeout"):
        return CheckResult(
            "link.tcp", KIND, sub, Verdict.FAIL, result.result, "connected", None,
            f"{node} could not even try TCP from {iface.address.ip} to {peer.address}: "
            f"{result.result.removeprefix('error: ')}.",
            "Read link.address of this interface: the source address must be on it.")
    what = "was refused" if result.result == "refused" else (
        "timed out (packets dropped)" if result.result == "timeout" else result.result)
    if not ping_ok:
        return CheckResult(
            "link.tcp", KIND, sub, Verdict.FAIL, result.result, "connected", None,
            f"TCP to {peer.address} {what}, and ping fails too: no IP path on this rail, "
            "not a firewall.", "Fix the link first (link.carrier, link.address, link.ping).")
    blamed = tcp_blame(node, peer.host, result.result, listener, str(iface.address.ip),
                       str(peer.address))
    if blamed == node:
        where = (f"a firewall on {node} (this end) drops the server's answers: "
                 f"{peer.host} saw the SYN and replied")
    elif blamed == peer.host and listener is None and result.result == "timeout":
        where = (f"most likely a firewall on {peer.host} (the far end) blocks incoming TCP from "
                 f"{node} (`sparkctl validate` tells which end drops it)")
    elif blamed == peer.host:
        where = f"a firewall on {peer.host} (the far end) blocks incoming TCP from {node}"
    else:
        where = "a firewall on one of the two nodes blocks TCP"
    return CheckResult(
        "link.tcp", KIND, sub, Verdict.FAIL, result.result, "connected", None,
        f"Ping passes but TCP to {peer.address} {what}: {where}.",
        f"Allow TCP between the cluster's rail subnets on {blamed or 'both nodes'} (e.g. "
        "`ufw allow from 192.168.0.0/16`, or remove the iptables rule); NCCL and MPI need "
        "TCP for bootstrap.")


def judge_neighbours(node: str, iface: InterfacePlan, seen: tuple[str, ...] | None,
                     own: tuple[str, ...], owners: dict[str, str],
                     carrier: bool) -> CheckResult | None:
    """Who answers on this wire (link-local all-nodes ping) against the plan's peers.

    `owners` maps every known link-local address to "node/ifname". None when the peers'
    link-local addresses are unknown (IPv6 off), so nothing can be compared.
    """
    sub = subject(node, iface.name)
    planned = {subject(p.host, p.interface) for p in iface.peers}
    if seen is None or not planned <= set(owners.values()):
        return None
    present = {owners[a] for a in seen if a in owners and a not in own}
    expected = ", ".join(sorted(planned))
    if planned <= present:
        return CheckResult("link.neighbours", KIND, sub, Verdict.PASS, len(planned & present),
                           len(planned), "peers", f"The wire reaches the planned {expected}.")
    strangers = sorted(present - planned)
    if strangers:
        return CheckResult(
            "link.neighbours", KIND, sub, Verdict.FAIL, ", ".join(strangers), expected, None,
            f"{sub} is wired to {', '.join(strangers)}, but the plan cables it to {expected}: "
            "cables are swapped or in the wrong port.",
            f"Move the cable so {sub} reaches {expected} (see `sparkctl topology show`).")
    missing = ", ".join(sorted(planned - present))
    if present:
        return CheckResult(
            "link.neighbours", KIND, sub, Verdict.FAIL, len(present), len(planned), "peers",
            f"{missing} does not answer on {sub}'s wire while "
            f"{', '.join(sorted(present))} do: that peer's link is down or goes elsewhere.",
            f"Read link.carrier and link.neighbours of {missing}.")
    if not carrier:
        why = "the link has no carrier"
    else:
        why = "nothing answers on the wire (far end down, or IPv6 disabled there)"
    return CheckResult("link.neighbours", KIND, sub, Verdict.FAIL, 0, len(planned), "peers",
                       f"None of {expected} answers on {sub}: {why}.",
                       "Read link.carrier for both ends and check the cable.")
