"""The ConnectX-7's own signatures at validate time (issue 13 item 12): each function's PCIe
link (Gen5 x4 expected; x2 is the early-BIOS wiring) and the firmware per HCA.

The node reports what it sees (remote/link_facts.py `nic`): `lspci -vv -s BDF` and, because
lspci hides the capabilities from a non-root login (DGX OS's default user), the kernel's
current_link_speed/current_link_width of the same function (sysfs-bus-pci ABI), which are
what lspci prints as LnkSta. Firmware from `ethtool -i` (firmware-version), else
/sys/class/infiniband/<hca>/fw_ver. The judges are sparkctl.checks.judge.links'. A platform
without the CX-7 (the lab's veths) has none of this: the checks are listed as not applicable.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from sparkctl.checks.judge.links import PcieLink, judge_firmware, judge_pcie_links
from sparkctl.checks.parsers import ethtool, lspci
from sparkctl.checks.parsers.common import ParseError
from sparkctl.checks.result import CheckResult, Verdict
from sparkctl.topology import hardware as hw
from sparkctl.validate.facts import NicFacts, NodeFacts
from sparkctl.validate.links import subject

_GTS = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*GT/s")


def pcie_link(nic: NicFacts) -> tuple[PcieLink | None, str]:
    """The function's link and where it was read, or None and why it could not be."""
    if nic.lspci:
        try:
            links = lspci.parse(nic.lspci, nic.bdf).links
        except ParseError:
            links = []
        trained = [link for link in links if link.sta_width is not None]
        if trained:
            return trained[0], f"lspci -vv -s {nic.bdf}"
    speed = _GTS.match(nic.current_link_speed or "")
    width = (nic.current_link_width or "").strip()
    if speed or width.isdigit():
        cap = _GTS.match(nic.max_link_speed or "")
        max_width = (nic.max_link_width or "").strip()
        return PcieLink(
            bdf=nic.bdf, device=None, cap_gts=float(cap.group(1)) if cap else None,
            cap_width=int(max_width) if max_width.isdigit() else None,
            sta_gts=float(speed.group(1)) if speed else None,
            sta_width=int(width) if width.isdigit() else None,
        ), f"/sys/bus/pci/devices/{nic.bdf}/current_link_*"
    why = nic.error or nic.lspci_error or "lspci printed no LnkSta (not root) and sysfs has no "\
                                          "current_link_speed/width"
    return None, why


def pcie_check(node: str, netdev: str, nic: NicFacts | None) -> CheckResult:
    sub = subject(node, netdev)
    if nic is None or nic.bdf is None:
        why = (nic.error if nic else None) or f"{netdev} reported no PCI function"
        return CheckResult("link.pcie", "link", sub, Verdict.SKIPPED, None, None, None,
                           f"Not measured: {why}.", "Check that the mlx5_core driver is loaded "
                           "(`ip link`, dmesg).")
    link, source = pcie_link(nic)
    if link is None:
        return CheckResult("link.pcie", "link", sub, Verdict.SKIPPED, None, None, None,
                           f"Not measured: {source}.",
                           f"Run `sudo lspci -vv -s {nic.bdf}` and read LnkSta.")
    judged = judge_pcie_links([link], assume_cx7=True)
    if judged.verdict is None:
        return CheckResult("link.pcie", "link", sub, Verdict.SKIPPED, None, None, None,
                           f"Not measured: {judged.diagnosis}")
    check = judged.to_check("link.pcie", "link", sub)
    return CheckResult(check.id, check.kind, check.subject, check.verdict, check.measured,
                       check.expected, check.unit, f"{check.diagnosis} (from {source})",
                       check.hint)


def pcie_checks(node: str, facts: NodeFacts, netdevs: list[str]) -> list[CheckResult]:
    """One link.pcie per CX-7 function (netdev) of the node."""
    return [pcie_check(node, n, facts.nics.get(n)) for n in netdevs]


def firmware_of(facts: NodeFacts, netdev: str) -> str | None:
    nic = facts.nics.get(netdev)
    if nic is not None and nic.ethtool_i:
        try:
            info = ethtool.parse(nic.ethtool_i)
        except ParseError:
            info = None
        if isinstance(info, ethtool.EthtoolDriverInfo) and info.firmware_version:
            return info.firmware_version
    device = hw.device_by_netdev(netdev)
    hca = facts.hcas.get(device.hca) if device is not None else None
    return hca.fw_ver if hca is not None and hca.exists and hca.fw_ver else None


def firmware_check(facts: Mapping[str, NodeFacts], unreachable: list[str]) -> CheckResult:
    """The firmware of every CX-7 HCA of the cluster, reported; versions that differ are
    degraded (judge_firmware); none readable is skipped, not passed."""
    versions: dict[str, str | None] = {}
    for node, node_facts in sorted(facts.items()):
        for netdev in hw.all_netdevs():
            device = hw.device_by_netdev(netdev)
            if netdev in node_facts.nics and device is not None:
                versions[f"{node}/{device.hca}"] = firmware_of(node_facts, netdev)
    judged = judge_firmware(versions)
    unknown = sorted(k for k, v in versions.items() if not v)
    gaps = []
    if unknown:
        gaps.append(f"no firmware version readable for {', '.join(unknown[:4])}")
    if unreachable:
        gaps.append(f"not read on {', '.join(unreachable)} (no link facts)")
    if judged.verdict is None:
        return CheckResult("link.firmware", "link", "cluster", Verdict.SKIPPED, None, None,
                           None, "Not measured: " + ("; ".join(gaps) or judged.diagnosis) + ".",
                           "Run `ethtool -i <netdev>` on each node (firmware-version).")
    check = judged.to_check("link.firmware", "link", "cluster")
    note = f" ({'; '.join(gaps)})" if gaps else ""
    return CheckResult(check.id, check.kind, check.subject, check.verdict, check.measured,
                       check.expected, check.unit, check.diagnosis.rstrip(".") + note + ".",
                       check.hint)
