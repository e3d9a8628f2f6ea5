"""Judging validate's reach program output (DF pings, TCP connects) for a quick health run.

INTERIM: validate has the remote program (validate/remote/reach.py) but no judging function
for its output yet; when `sparkctl.validate.reach` lands, health calls it instead of this.
"""

from __future__ import annotations

import json

from sparkctl.checks.result import CheckResult, Verdict
from sparkctl.topology.addressing import InterfacePlan

SSH_PORT = 22  # every Spark runs sshd on all addresses; a connect tests TCP on the rail


def reach_request(interfaces: tuple[InterfacePlan, ...], tcp_timeout: float) -> dict:
    pings, tcp = [], []
    for iface in interfaces:
        for peer in iface.peers:
            pings.append([iface.name, str(peer.address), max(0, iface.mtu - 28)])
            tcp.append([str(iface.address.ip), str(peer.address), SSH_PORT])
    return {"pings": pings, "tcp": tcp, "neighbours": [], "tcp_timeout": tcp_timeout}


def judge_reach(node: str, interfaces: tuple[InterfacePlan, ...], text: str) -> list[CheckResult]:
    try:
        doc = json.loads(text.strip().splitlines()[-1])
        pings, tcp = doc["pings"], doc["tcp"]
    except (ValueError, KeyError, IndexError, TypeError):
        return [CheckResult("link.reach", "link", node, Verdict.FAIL,
                            diagnosis=f"unreadable reachability output from {node}: "
                                      f"{text[:120]!r}",
                            hint="Check that python3 and ping exist on the node.")]
    results = []
    for iface in interfaces:
        for peer in iface.peers:
            dst = str(peer.address)
            sub = f"{node}/{iface.name}->{peer.host}"
            size = max(0, iface.mtu - 28)
            big = next((p for p in pings if p["ifname"] == iface.name and p["dst"] == dst
                        and p["size"] == size), None)
            small = next((p for p in pings if p["ifname"] == iface.name and p["dst"] == dst
                          and p["size"] == 56 and p["size"] != size), None)
            results.append(_judge_ping(sub, iface, peer.host, dst, big, small))
            conn = next((c for c in tcp if c["src"] == str(iface.address.ip)
                         and c["dst"] == dst), None)
            results.append(_judge_tcp(sub, peer.host, dst, conn, big))
    return results


def _judge_ping(sub, iface, peer, dst, big, small) -> CheckResult:
    size = max(0, iface.mtu - 28)
    base = dict(id="link.ping", kind="link", subject=sub, expected=f"reply at MTU {iface.mtu}")
    if big and big["received"] > 0:
        return CheckResult(verdict=Verdict.PASS, measured=f"{big['received']}/{big['sent']}",
                           diagnosis=f"{dst} answers {size}-byte pings with DF set "
                                     f"(a full {iface.mtu}-byte frame).", **base)
    if small and small["received"] > 0:
        return CheckResult(
            verdict=Verdict.FAIL, measured="small only",
            diagnosis=f"{dst} answers small pings but not {size}-byte ones with DF: an MTU "
                      f"below {iface.mtu} somewhere on the path to {peer}.",
            hint=f"Set MTU {iface.mtu} on both ends and every switch port in between.", **base)
    errors = "; ".join((big or {}).get("errors", [])[:2])
    return CheckResult(
        verdict=Verdict.FAIL, measured="no reply",
        diagnosis=f"{dst} ({peer}) does not answer on {iface.name}"
                  + (f" ({errors})" if errors else "") + ": link down, wrong subnet, or cables "
                  "crossed.",
        hint="Check carrier on both ends and that both addresses are in the rail's subnet.",
        **base)


def _judge_tcp(sub, peer, dst, conn, big) -> CheckResult:
    base = dict(id="link.tcp", kind="link", subject=sub, expected="TCP reaches the peer")
    result = (conn or {}).get("result", "missing")
    # A refused connection got an RST back: TCP crosses the rail, only nothing listens.
    if result in ("ok", "refused"):
        return CheckResult(verdict=Verdict.PASS, measured=result,
                           diagnosis=f"TCP to {dst}:{SSH_PORT} gets an answer ({result}).",
                           **base)
    pings_ok = bool(big and big["received"] > 0)
    return CheckResult(
        verdict=Verdict.FAIL, measured=result,
        diagnosis=(f"ping reaches {dst} but TCP to port {SSH_PORT} gets no answer ({result}): "
                   f"a firewall on {peer} (ufw?) drops TCP from this node; NCCL and MPI "
                   "bootstrap will hang.") if pings_ok else
        f"TCP to {dst}:{SSH_PORT} gets no answer ({result}), nor do pings.",
        hint=f"Check `iptables -S` / `ufw status` on {peer} and allow the cluster subnets."
        if pings_ok else "Fix the link first (see link.ping).", **base)
