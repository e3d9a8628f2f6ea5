"""Links: Ethernet speed and FEC, RDMA port states, the CX-7's PCIe links and firmware.

Each CX-7 function of a DGX Spark sits on its own PCIe Gen5 x4 link (facts/dgx-spark.md:
PCI 0000:01:00.0/.1 and 0002:01:00.0/.1); early BIOSes trained the second controller at x2.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sparkctl.checks import thresholds as T
from sparkctl.checks.judge.base import Judgement, Measurement, incomplete
from sparkctl.checks.judge.base import hardware_twin as hardware_twin  # read as JL.hardware_twin
from sparkctl.checks.result import Verdict

# PCI function of each CX-7 netdev on a DGX Spark (the netdev name encodes it: enP2p1s0f1 =
# domain 2, bus 1, slot 0, function 1).
SPARK_CX7_FUNCTIONS = {
    "0000:01:00.0": "enp1s0f0np0", "0000:01:00.1": "enp1s0f1np1",
    "0002:01:00.0": "enP2p1s0f0np0", "0002:01:00.1": "enP2p1s0f1np1",
}
PCIE_EXPECTED_GTS = 32.0  # Gen5
PCIE_EXPECTED_WIDTH = 4
PCIE_X2_SOURCE = ("tonyd2wild/DeepSeek-v4-Flash-Vision-Exp-DSpark-1M-NVFP4-KV-2x-DGX-Spark "
                  "PR#35: pre-2026-04 BIOS wires the second controller at Gen5 x2")
_GENERATION = {2.5: 1, 5.0: 2, 8.0: 3, 16.0: 4, 32.0: 5, 64.0: 6}


def judge_link_speed(speed_mbps: int | None, link_detected: bool | None, *,
                     expected_mbps: int = int(T.LINK_SPEED.minimum)) -> Judgement:
    base: Measurement = dict(measured=speed_mbps, expected=expected_mbps, unit="Mb/s")
    if link_detected is False:
        return Judgement(Verdict.FAIL, "No link: the port has no carrier (no cable or peer "
                                       "down).",
                         "Seat the QSFP cable and check the peer/switch port is enabled.", **base)
    if speed_mbps is None:
        return Judgement(Verdict.FAIL, "The link speed is unknown, so the link is not up.",
                         "Check the cable and the peer port.", **base)
    if speed_mbps >= expected_mbps:
        return Judgement(Verdict.PASS, f"Link up at {speed_mbps} Mb/s.", **base)
    if speed_mbps == 100_000 and expected_mbps == 200_000:
        return Judgement(
            Verdict.DEGRADED,
            "Link at 100000 Mb/s: the switch port autonegotiated 100G instead of 200G.",
            "Force 200G on the switch port (e.g. MikroTik: set speed 200G-baseCR4 and disable "
            "auto-negotiation) or use a 200G-rated cable.", **base)
    return Judgement(Verdict.DEGRADED,
                     f"Link at {speed_mbps} Mb/s, below the expected {expected_mbps} Mb/s.",
                     "Check cable rating, switch port speed and autonegotiation.", **base)


def judge_fec(active: str | None, *, speed_mbps: int | None = None) -> Judgement:
    base: Measurement = dict(measured=active, expected="RS", unit=None)
    if active is None:
        return Judgement(None, "The FEC state is not shown.")
    if active.upper() in ("RS", "RS-FEC", "LLRS"):
        return Judgement(Verdict.PASS, f"Active FEC {active}: what 200G PAM4 links use.", **base)
    if active.lower() in ("none", "off"):
        return Judgement(
            Verdict.DEGRADED,
            "Active FEC is None: 200G (50G PAM4 lanes) links need RS-FEC, and without it bit "
            "errors turn into retransmissions.",
            "Set RS on both ends (ethtool --set-fec IF encoding rs) and on the switch port; if "
            "bandwidth stays low after recabling, reboot both nodes.", **base)
    return Judgement(Verdict.DEGRADED, f"Active FEC {active} instead of RS.",
                     "Set RS on both ends (ethtool --set-fec IF encoding rs).", **base)




@dataclass(frozen=True)
class PortState:
    device: str  # RDMA device
    active: bool
    link_layer: str | None = None


def judge_rdma_ports(ports: list[PortState], *, complete: bool = True) -> Judgement:
    """Every cabled QSFP port must have both twins active; at least one port must be up.

    `complete` says the listing is known to be whole (the tool printed its port count, or
    all four CX-7 devices are there); without it, no active port is no verdict.
    """
    active = {p.device for p in ports if p.active}
    if not ports:
        return Judgement(None, "No RDMA ports listed.")
    if not active and not complete:
        return incomplete(f"none of the {len(ports)} RDMA port(s) shown is active, but the "
                          "listing may not be whole (no port count, not all four CX-7 devices).",
                          missing="the whole listing (all devices and ports)")
    if not active:
        return Judgement(Verdict.FAIL, "No RDMA port is active: no cable, or the driver is down.",
                         "Check cabling and `ibv_devinfo`; load mlx5_ib.",
                         measured=0, expected=">=1", unit="ports")
    half = sorted(d for d in active if (t := hardware_twin(d)) and t not in active
                  and t in {p.device for p in ports})
    if half:
        twins = ", ".join(f"{d} (twin {hardware_twin(d)} down)" for d in half)
        return Judgement(Verdict.DEGRADED,
                         f"Only one rail of a cabled port is active: {twins}; that port carries "
                         "half its bandwidth.",
                         "Bring the twin up (ip link set <netdev> up, give it its own subnet) "
                         "and check the cable is fully seated.",
                         measured=len(active), expected=len(active) + len(half), unit="ports")
    not_ethernet = sorted(p.device for p in ports if p.active and p.link_layer
                          and p.link_layer != "Ethernet" and hardware_twin(p.device))
    if not_ethernet:
        return Judgement(Verdict.DEGRADED,
                         f"{', '.join(not_ethernet)} report link layer other than Ethernet; "
                         "DGX Spark runs RoCE.", "Set the CX-7 ports to Ethernet mode.",
                         measured=len(not_ethernet), expected=0, unit="ports")
    return Judgement(Verdict.PASS,
                     f"{len(active)} of {len(ports)} RDMA ports active, twins paired: "
                     f"{', '.join(sorted(active))}.",
                     measured=len(active), expected=len(active), unit="ports")




@dataclass(frozen=True)
class PcieLink:
    """One PCI function's link as `lspci -vv` prints it (LnkCap = capable, LnkSta = trained)."""

    bdf: str | None  # None where the paste kept only the LnkCap/LnkSta lines
    device: str | None
    cap_gts: float | None
    cap_width: int | None
    sta_gts: float | None
    sta_width: int | None

    @property
    def is_cx7(self) -> bool:
        name = self.device or ""
        return "ConnectX-7" in name or "MT2910" in name or (
            self.bdf is not None and _full_bdf(self.bdf) in SPARK_CX7_FUNCTIONS)


def _full_bdf(bdf: str) -> str:
    return bdf if bdf.count(":") == 2 else f"0000:{bdf}"


def judge_pcie_links(links: list[PcieLink], *, assume_cx7: bool = False) -> Judgement:
    """Every CX-7 function must train at Gen5 x4; x2 is the early-BIOS wiring issue."""
    judged = [link for link in links if link.is_cx7 or assume_cx7]
    if not judged:
        return Judgement(None, "no ConnectX-7 function in this lspci output (nothing to "
                               "compare with Gen5 x4).")
    problems: list[tuple[Verdict, str, str]] = []
    for link in judged:
        name = link.bdf or "the function shown"
        if link.sta_width is None and link.sta_gts is None:
            return incomplete(f"{name}: LnkCap is shown but not LnkSta, the link's trained "
                              "state.", missing=f"the LnkSta line of {name}")
        if link.sta_width is not None and link.sta_width < PCIE_EXPECTED_WIDTH:
            if link.sta_width == 2:
                problems.append((Verdict.DEGRADED,
                                 f"{name}: PCIe x2 instead of x4, half the rail's PCIe "
                                 f"bandwidth: the early-BIOS wiring issue ({PCIE_X2_SOURCE})",
                                 "Update the SBIOS (sudo fwupdmgr refresh && sudo fwupdmgr "
                                 "update), reboot, and check LnkSta again before measuring."))
            else:
                problems.append((Verdict.FAIL, f"{name}: PCIe x{link.sta_width} instead of x4",
                                 "Update the SBIOS with fwupdmgr and power-cycle the node."))
        if link.sta_gts is not None and link.sta_gts < PCIE_EXPECTED_GTS:
            gen = _GENERATION.get(link.sta_gts)
            problems.append((Verdict.DEGRADED,
                             f"{name}: PCIe trained at {link.sta_gts:g}GT/s"
                             f"{f' (Gen{gen})' if gen else ''} instead of 32GT/s (Gen5)",
                             "Power-cycle the node; a link that stays below Gen5 needs the "
                             "SBIOS update or a hardware check."))
    if problems:
        verdict = Verdict.worst(v for v, _, _ in problems)
        return Judgement(verdict, "; ".join(p for _, p, _ in problems) + ".", problems[0][2],
                         measured=min((link.sta_width or 0) for link in judged),
                         expected=PCIE_EXPECTED_WIDTH, unit="lanes")
    names = ", ".join(link.bdf or "?" for link in judged)
    return Judgement(Verdict.PASS, f"{len(judged)} ConnectX-7 function(s) at PCIe Gen5 x4 "
                                   f"({names}).",
                     measured=PCIE_EXPECTED_WIDTH, expected=PCIE_EXPECTED_WIDTH, unit="lanes")


def judge_firmware(versions: Mapping[str, str | None]) -> Judgement:
    """Firmware per HCA: reported, and flagged when the HCAs of one cluster disagree."""
    known = {hca: fw for hca, fw in versions.items() if fw}
    if not known:
        return Judgement(None, "no firmware version in the output.")
    distinct = sorted(set(known.values()))
    listing = ", ".join(f"{hca} {fw}" for hca, fw in sorted(known.items()))
    if len(distinct) > 1:
        return Judgement(Verdict.DEGRADED,
                         f"ConnectX firmware differs between HCAs ({listing}): ports of one "
                         "cluster should run one firmware.",
                         "Update through DGX OS (fwupdmgr / the mlnx firmware package) so every "
                         "node reports the same fw_ver.",
                         measured=len(distinct), expected=1, unit="versions")
    return Judgement(Verdict.PASS, f"firmware {distinct[0]} on {len(known)} HCA(s): {listing}.",
                     measured=distinct[0], expected=None)
