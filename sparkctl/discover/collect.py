"""Run the discovery agent on every node at once over SSH and gather its reports.

All nodes must listen while the others send, so the agent is started on every node in
parallel over already-open connections; its window is long compared to the start skew
(tens of milliseconds over a LAN). Every remote call is bounded.
"""

from __future__ import annotations

import base64
import json
import secrets
import shlex
import time
from dataclasses import dataclass
from pathlib import Path

from sparkctl.discover.reports import NodeReport, ReportError, parse_report
from sparkctl.topology.hardware import all_netdevs

ETHERTYPE = 0x88B5  # IEEE 802 local experimental EtherType 1; NVIDIA's cluster script uses it
DEFAULT_WINDOW_S = 1.5
# With --bring-up: time for a port just set up to negotiate (ConnectX-7 takes a few seconds).
DEFAULT_SETTLE_S = 3.0
SEND_INTERVAL_S = 0.1
# Beyond the window: python3 start, `ip -j addr`, output. Generous; a wedged node hits it.
AGENT_SLACK_S = 8.0
_AGENT = Path(__file__).with_name("agent.py")
_LAUNCH = ("import base64,sys;"
           "exec(compile(base64.b64decode(sys.argv[1]),'sparkctl-discover-agent','exec'))")


@dataclass(frozen=True)
class Collected:
    reports: dict[str, NodeReport]
    failures: dict[str, str]  # node -> why it gave no report
    session: str
    connect_s: float = 0.0  # opening SSH to every node, in parallel
    probe_s: float = 0.0  # the agents' run, window included


def agent_command(node: str, session: str, window_s: float, script_b64: str,
                  bring_up: bool = False, settle_s: float = DEFAULT_SETTLE_S) -> str:
    config = {"node": node, "session": session, "ifaces": all_netdevs(), "window_s": window_s,
              "interval_s": SEND_INTERVAL_S, "ethertype": ETHERTYPE, "bring_up": bring_up,
              "settle_s": settle_s}
    config_b64 = base64.b64encode(json.dumps(config).encode()).decode()
    python = f"python3 -c {shlex.quote(_LAUNCH)} {script_b64} {config_b64}"
    # Raw sockets need CAP_NET_RAW: as root directly, else through non-interactive sudo.
    return (f'if [ "$(id -u)" -eq 0 ]; then exec {python}; '
            f'else exec sudo -n {python}; fi')


def _failure(result) -> str:
    if result.error:
        return result.error
    err = (result.stderr or "").strip().splitlines()
    tail = err[-1] if err else ""
    if result.exit_status == 127:
        return "python3 is not installed on the node (the discovery agent needs it)"
    if "password is required" in tail or "sudo:" in tail:
        return ("discovery needs root for raw sockets; log in as root or allow passwordless "
                f"sudo for python3 ({tail})")
    return f"discovery agent exited {result.exit_status}: {tail or 'no output'}"


def parse_output(node: str, stdout: str) -> NodeReport:
    lines = [line for line in stdout.splitlines() if line.strip()]
    if not lines:
        raise ReportError("the discovery agent printed nothing")
    try:
        data = json.loads(lines[-1])
    except ValueError as exc:
        raise ReportError(f"the discovery agent printed no JSON ({exc})") from None
    report = parse_report(data)
    if report.node != node:
        raise ReportError(f"report names node {report.node!r}, expected {node!r}")
    return report


def collect(endpoints, window_s: float = DEFAULT_WINDOW_S, connect_timeout: float = 5.0,
            bring_up: bool = False, settle_s: float = DEFAULT_SETTLE_S) -> Collected:
    from sparkctl.probe.ssh import ProbePool  # lazy: paramiko

    session = secrets.token_hex(6)
    script_b64 = base64.b64encode(_AGENT.read_bytes()).decode()
    reports, failures = {}, {}
    t0 = time.monotonic()
    with ProbePool(list(endpoints), connect_timeout=connect_timeout) as pool:
        t1 = time.monotonic()
        results = pool.run_all(
            lambda name: agent_command(name, session, window_s, script_b64, bring_up, settle_s),
            timeout=window_s + AGENT_SLACK_S + (settle_s if bring_up else 0.0))
        t2 = time.monotonic()
    for name, result in results.items():
        if not result.ok:
            failures[name] = _failure(result)
            continue
        try:
            report = parse_output(name, result.stdout)
        except ReportError as exc:
            failures[name] = str(exc)
            continue
        if report.error:
            failures[name] = report.error
        reports[name] = report
    return Collected(reports=reports, failures=failures, session=session,
                     connect_s=round(t1 - t0, 3), probe_s=round(t2 - t1, 3))
