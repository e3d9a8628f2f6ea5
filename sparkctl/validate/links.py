"""Judging one node's links against the plan: carrier, speed, MTU, addresses, RDMA ports.

Pure functions: facts and plan in, CheckResults out. Each diagnosis names the node and
interface at fault, and for a link the far end when the plan knows it.
"""

from __future__ import annotations

from collections.abc import Iterable

from sparkctl.checks import diagnose as G
from sparkctl.checks.result import CheckResult, Verdict
from sparkctl.topology.addressing import InterfacePlan
from sparkctl.validate.facts import HcaFacts, NetdevFacts, NodeFacts, ipv4_mapped_gid

KIND = "link"


def subject(node: str, ifname: str) -> str:
    return f"{node}/{ifname}"


def far_end(iface: InterfacePlan) -> str:
    """Who is on the other side of the cable, in words."""
    if len(iface.peers) == 1:
        return subject(iface.peers[0].host, iface.peers[0].interface)
    return "the switch port"


def check_carrier(node: str, iface: InterfacePlan, facts: NetdevFacts,
                  far: NetdevFacts | None = None,
                  live_unplanned: tuple[str, ...] = ()) -> CheckResult:
    """`live_unplanned`: this node's unplanned CX-7 netdevs that have carrier (a cable there)."""
    sub = subject(node, iface.name)
    if not facts.exists:
        return CheckResult(
            "link.carrier", KIND, sub, Verdict.FAIL, None, 1, None,
            f"{sub} does not exist: the ConnectX-7 netdev is missing (driver not loaded or "
            "renamed).", "Check `ip link` and dmesg for mlx5_core; the plan expects this name.")
    if facts.has_carrier:
        return CheckResult("link.carrier", KIND, sub, Verdict.PASS, 1, 1, None,
                           f"{sub} is up with carrier.")
    if facts.admin_up is False:
        return CheckResult(
            "link.carrier", KIND, sub, Verdict.FAIL, 0, 1, None,
            f"{sub} is administratively down (this end).",
            f"Bring it up: `ip link set {iface.name} up`, and check the netplan for it.")
    if far is not None and far.exists and far.admin_up is False:
        return CheckResult(
            "link.carrier", KIND, sub, Verdict.FAIL, 0, 1, None,
            f"{sub} has no carrier because the far end {far_end(iface)} is administratively "
            "down.", f"Bring {far_end(iface)} up (ip link set ... up).")
    if live_unplanned:
        return CheckResult(
            "link.carrier", KIND, sub, Verdict.FAIL, 0, 1, None,
            f"{sub} has no carrier while {', '.join(live_unplanned)} (not in the plan) has "
            f"one: the cable is in the wrong port of {node}.",
            f"Move the cable to port p{iface.port} ({iface.name}), where the plan expects it.")
    return CheckResult(
        "link.carrier", KIND, sub, Verdict.FAIL, 0, 1, None,
        f"{sub} is up but has no carrier: no cable, or {far_end(iface)} is down.",
        "Seat the QSFP cable and check the far end (or switch port) is enabled.")


def check_speed(node: str, iface: InterfacePlan, facts: NetdevFacts,
                expected_mbps: int | None, note: str = "") -> CheckResult:
    """The negotiated speed against the platform's; `expected_mbps` None: the platform's
    links report a figure that proves nothing (the lab's veths), so it is `info`."""
    speed = facts.speed_mbps if facts.speed_mbps and facts.speed_mbps > 0 else None
    if expected_mbps is None:
        shown = f"{speed} Mb/s" if speed else "no speed"
        return CheckResult("link.speed", KIND, subject(node, iface.name), Verdict.INFO, speed,
                           None, "Mb/s", f"Reports {shown}; not judged: {note}.")
    judgement = G.judge_link_speed(speed, facts.has_carrier, expected_mbps=expected_mbps)
    return judgement.to_check("link.speed", KIND, subject(node, iface.name))


def check_mtu(node: str, iface: InterfacePlan, facts: NetdevFacts,
              peer_mtus: dict[str, int | None]) -> CheckResult:
    """This end's MTU against the plan; the diagnosis says which end of the link differs."""
    sub = subject(node, iface.name)
    agreeing = sorted(p for p, mtu in peer_mtus.items() if mtu == iface.mtu)
    if facts.mtu == iface.mtu:
        differing = sorted(f"{p} ({m})" for p, m in peer_mtus.items()
                           if m is not None and m != iface.mtu)
        note = (f"; the far end {', '.join(differing)} differs and fails its own check"
                if differing else "")
        return CheckResult("link.mtu", KIND, sub, Verdict.PASS, facts.mtu, iface.mtu, "bytes",
                           f"MTU {facts.mtu} as planned{note}.")
    others = (f" while {', '.join(agreeing)} use{'s' if len(agreeing) == 1 else ''} "
              f"{iface.mtu}" if agreeing else "")
    return CheckResult(
        "link.mtu", KIND, sub, Verdict.FAIL, facts.mtu, iface.mtu, "bytes",
        f"MTU differs at this end: {sub} has {facts.mtu}, the plan {iface.mtu}{others}; "
        "frames of the planned size are dropped on this link.",
        f"Set MTU {iface.mtu} on {iface.name} (netplan `mtu: {iface.mtu}`, then "
        "`sparkctl provision --tags network`).")


def check_address(node: str, iface: InterfacePlan, facts: NetdevFacts) -> CheckResult:
    sub = subject(node, iface.name)
    planned = str(iface.address)
    if not facts.exists:
        return CheckResult("link.address", KIND, sub, Verdict.FAIL, None, planned, None,
                           f"{sub} does not exist, so it cannot hold {planned}.",
                           "Check the ConnectX-7 driver (ip link).")
    stray = [a for a in facts.ipv4 if a != planned] + list(facts.ipv6_global)
    measured = ", ".join(facts.ipv4 + facts.ipv6_global) or "none"
    if planned not in facts.ipv4:
        same_ip = [a for a in facts.ipv4 if a.split("/")[0] == str(iface.address.ip)]
        if same_ip:
            why = f"has {same_ip[0]}: the planned address with the wrong prefix length"
        elif facts.ipv4:
            why = f"has {', '.join(facts.ipv4)} instead of {planned}"
        else:
            why = f"has no IPv4 address (planned {planned})"
        return CheckResult("link.address", KIND, sub, Verdict.FAIL, measured, planned, None,
                           f"{sub} {why}.",
                           "Apply the address plan: `sparkctl provision --tags network`.")
    if stray:
        return CheckResult(
            "link.address", KIND, sub, Verdict.FAIL, measured, planned, None,
            f"{sub} holds stray addresses {', '.join(stray)} besides {planned}: replies may "
            "leave from the wrong address and NCCL can pick the wrong one.",
            f"Remove them (`ip addr del ADDR dev {iface.name}`) and from any netplan/DHCP "
            "config that adds them.")
    return CheckResult("link.address", KIND, sub, Verdict.PASS, planned, planned, None,
                       f"{sub} holds exactly {planned}.")


def check_unplanned(node: str, unplanned: Iterable[NetdevFacts]) -> CheckResult:
    """CX-7 netdevs the plan leaves unused must carry no address (no stray subnets)."""
    items = list(unplanned)
    names = ", ".join(f.name for f in items) or "none"
    holding = [(f.name, f.ipv4 + f.ipv6_global) for f in items if f.ipv4 or f.ipv6_global]
    live = [f.name for f in items if f.has_carrier]
    sub = f"{node}/unplanned"
    if live:
        return CheckResult(
            "link.stray", KIND, sub, Verdict.FAIL, len(live), 0, "interfaces",
            f"{', '.join(live)} on {node} has carrier although the plan leaves that port "
            "empty: a cable is plugged into the wrong port (or cables are swapped).",
            "Compare the cabling with `sparkctl topology show` and move the cable.")
    if holding:
        text = "; ".join(f"{name}: {', '.join(addrs)}" for name, addrs in holding)
        return CheckResult(
            "link.stray", KIND, sub, Verdict.FAIL, len(holding), 0, "interfaces",
            f"Unused ConnectX-7 netdevs hold addresses ({text}): a stray subnet on a rail "
            "confuses routing and NCCL's interface choice.",
            "Remove the addresses (ip addr flush dev IF) and their netplan entries.")
    return CheckResult("link.stray", KIND, sub, Verdict.PASS, 0, 0, "interfaces",
                       f"No addresses on the unused ConnectX-7 netdevs ({names}).")


# --- RDMA (dgx-spark) ------------------------------------------------------------------------

def check_rdma_port(node: str, iface: InterfacePlan, hca: HcaFacts) -> CheckResult:
    sub = subject(node, iface.hca)
    if not hca.exists:
        return CheckResult("rdma.port", "rdma", sub, Verdict.FAIL, None, "ACTIVE", None,
                           f"RDMA device {iface.hca} is missing on {node}.",
                           "Load mlx5_ib and install rdma-core; `ibv_devinfo` must list it.")
    problems = []
    if not hca.active:
        problems.append(f"port state {hca.state or 'unknown'} (not ACTIVE)")
    if hca.link_layer and hca.link_layer != "Ethernet":
        problems.append(f"link layer {hca.link_layer} (DGX Spark runs RoCE over Ethernet)")
    measured = f"{hca.state or '?'} / {hca.link_layer or '?'}"
    if problems:
        return CheckResult("rdma.port", "rdma", sub, Verdict.FAIL, measured,
                           "ACTIVE / Ethernet", None,
                           f"{sub}: {'; '.join(problems)}.",
                           f"Check the cable and {iface.name}'s carrier; set the port to "
                           "Ethernet mode if it is not.")
    return CheckResult("rdma.port", "rdma", sub, Verdict.PASS, measured, "ACTIVE / Ethernet",
                       None, f"{sub} is ACTIVE on Ethernet.")


def check_gid(node: str, iface: InterfacePlan, hca: HcaFacts, gid_index: int | None,
              source: str = "NCCL_IB_GID_INDEX", missing: str | None = None) -> CheckResult:
    """The GID NCCL and perftest use must be RoCE v2 on this rail's IPv4 address.

    `gid_index`: the node's measured index for this HCA (rdma.env, `source` names it), or
    None with `missing` saying why there is none (the node was not provisioned)."""
    sub = subject(node, iface.hca)
    want = ipv4_mapped_gid(str(iface.address.ip))
    found = [g for g in hca.gids if g.gid == want and (g.type or "").lower() == "roce v2"]
    if gid_index is None:
        now = f"; RoCE v2 for {iface.address.ip} sits at index {found[0].index}" if found else ""
        return CheckResult(
            "rdma.gid", "rdma", sub, Verdict.FAIL, found[0].index if found else None, None,
            None, f"No measured GID index for {iface.hca}: {missing}{now}. ib_write_bw -x and "
            "NCCL have no index to use.",
            "Provision the node's RDMA (sparkctl provision --tags rdma): the rdma role "
            "measures each HCA's index and writes it to /etc/sparkctl/rdma.env.")
    at_index = next((g for g in hca.gids if g.index == gid_index), None)
    if at_index and at_index.gid == want and (at_index.type or "").lower() == "roce v2":
        return CheckResult("rdma.gid", "rdma", sub, Verdict.PASS, gid_index, gid_index, None,
                           f"GID {gid_index} ({source}) is RoCE v2 on {iface.address.ip}.")
    if found:
        return CheckResult(
            "rdma.gid", "rdma", sub, Verdict.FAIL, found[0].index, gid_index, None,
            f"RoCE v2 for {iface.address.ip} sits at GID index {found[0].index}, not "
            f"{gid_index} ({source}): NCCL and ib_write_bw -x {gid_index} would use the wrong "
            "GID (the GID table changed since it was measured, e.g. IPv6 addresses on the CX-7 "
            "netdevs).",
            "Measure it again: sparkctl provision --tags rdma (it rewrites rdma.env and "
            "nccl.env); disabling IPv6 on the CX-7 netdevs keeps the index stable.")
    return CheckResult(
        "rdma.gid", "rdma", sub, Verdict.FAIL, None, gid_index, None,
        f"No RoCE v2 GID for {iface.address.ip} on {iface.hca}: the rail's address is "
        "missing or the GID table was not populated.",
        "Check the address on the netdev and `show_gids`; re-apply the network plan.")


def measured_gid(facts: NodeFacts, hca: str, planned: int) -> tuple[int | None, str, str | None]:
    """The GID index `hca` uses on this node, where it comes from, and why there is none.

    With the node's rdma.env read (dgx-spark) its SPARKCTL_GID_INDEX_<hca> is the index, never
    the planned one; without the file the node is not provisioned. Facts without rdma.env
    (a caller that did not ask: the lab, which has no RDMA) keep the plan's value."""
    env = facts.rdma_env
    if env is None:
        return planned, "the plan's NCCL_IB_GID_INDEX", None
    if not env.exists:
        return None, env.path, f"{env.path} does not exist on {facts.node} (not provisioned)"
    if env.text is None:
        return None, env.path, f"{env.path} on {facts.node} is not readable"
    index = env.gid_indexes().get(hca)
    if index is None:
        return None, env.path, f"{env.path} on {facts.node} has no SPARKCTL_GID_INDEX_{hca}"
    return index, f"{env.path} SPARKCTL_GID_INDEX_{hca}", None


def node_link_checks(node: str, interfaces: tuple[InterfacePlan, ...], facts: NodeFacts,
                     all_facts: dict[str, NodeFacts], *, expected_speed: int | None,
                     cx7_netdevs: list[str], rdma: bool, gid_index: int,
                     speed_note: str = "") -> list[CheckResult]:
    """Every link check of one node; `all_facts` supplies the far ends' MTU and state.
    Error counters are judged as deltas only (sparkctl.validate.counters)."""
    results: list[CheckResult] = []
    planned = {i.name for i in interfaces}
    live_unplanned = tuple(n for n in cx7_netdevs
                           if n not in planned and facts.netdev(n).has_carrier)
    for iface in interfaces:
        nd = facts.netdev(iface.name)
        peer_facts = {subject(p.host, p.interface): all_facts[p.host].netdev(p.interface)
                      for p in iface.peers if p.host in all_facts}
        far = next(iter(peer_facts.values())) if len(iface.peers) == 1 and peer_facts else None
        results.append(check_carrier(node, iface, nd, far, live_unplanned))
        results.append(check_speed(node, iface, nd, expected_speed, speed_note))
        results.append(check_mtu(node, iface, nd, {k: v.mtu for k, v in peer_facts.items()
                                                   if v.exists}))
        results.append(check_address(node, iface, nd))
        if rdma:
            hca = facts.hcas.get(iface.hca) or HcaFacts(name=iface.hca, exists=False)
            results.append(check_rdma_port(node, iface, hca))
            if hca.exists:
                index, source, missing = measured_gid(facts, iface.hca, gid_index)
                results.append(check_gid(node, iface, hca, index, source, missing))
    results.append(check_unplanned(node, [facts.netdev(n) for n in cx7_netdevs
                                          if n not in planned and facts.netdev(n).exists]))
    return results
