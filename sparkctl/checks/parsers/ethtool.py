"""ethtool: link settings (`ethtool IF`), counters (`-S`), driver info (`-i`), FEC (`--show-fec`).

`parse` tells the four apart and returns the matching dataclass. Shell prompt lines that
publishers left in (`user@host:~$ sudo ethtool ...`) are skipped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from sparkctl.checks.parsers.common import ParseError
from sparkctl.checks.text import clean

_SETTINGS_FOR = re.compile(r"^Settings for (\S+?):\s*$")
_SPEED = re.compile(r"^Speed:\s*(?:(\d+)Mb/s|(Unknown!?.*))$")
_KEY_VALUE = re.compile(r"^([A-Za-z][\w /.-]*?):\s*(.*)$")
_COUNTER = re.compile(r"^([A-Za-z][\w.\-]*):\s*(-?\d+)$")
_FEC_FOR = re.compile(r"^FEC parameters for (\S+?):\s*$")
_PROMPT = re.compile(r"^(?:\S+@\S+:.*[$#]|\[\S+@\S+ [^\]]*\][$#])(?:\s|$)")
NONROOT_NETLINK = "netlink error: Operation not permitted"

SETTINGS_KEYS = ("Speed", "Lanes", "Duplex", "Auto-negotiation", "Port", "Link detected",
                 "Advertised FEC modes", "Supported FEC modes", "Transceiver")


@dataclass(frozen=True)
class EthtoolSettings:
    interface: str | None  # None when the "Settings for" header was not saved
    speed_mbps: int | None  # None for "Unknown!" (no link)
    lanes: int | None
    duplex: str | None
    autoneg: str | None
    port: str | None
    link_detected: bool | None
    link_detail: str | None  # e.g. "No cable"
    advertised_fec: str | None
    fields: dict[str, str] = field(default_factory=dict)

    kind = "settings"

    def metrics(self) -> dict[str, Any]:
        return {"interface": self.interface, "speed_mbps": self.speed_mbps, "lanes": self.lanes,
                "duplex": self.duplex, "autoneg": self.autoneg, "port": self.port,
                "link_detected": self.link_detected, "link_detail": self.link_detail,
                "advertised_fec": self.advertised_fec}


@dataclass(frozen=True)
class EthtoolStats:
    counters: dict[str, int]
    filtered: bool  # no "NIC statistics:" header: a grep'd or hand-picked excerpt

    kind = "statistics"

    def metrics(self) -> dict[str, Any]:
        return {"counters": dict(self.counters), "filtered": self.filtered}


@dataclass(frozen=True)
class EthtoolDriverInfo:
    driver: str | None
    version: str | None
    firmware_version: str | None
    psid: str | None  # the part in parentheses after the firmware version
    bus_info: str | None

    kind = "driver"

    def metrics(self) -> dict[str, Any]:
        return {"driver": self.driver, "version": self.version,
                "firmware_version": self.firmware_version, "psid": self.psid,
                "bus_info": self.bus_info}


@dataclass(frozen=True)
class EthtoolFec:
    interface: str | None
    configured: list[str]
    active: str | None

    kind = "fec"

    def metrics(self) -> dict[str, Any]:
        return {"interface": self.interface, "configured": list(self.configured),
                "active": self.active}


@dataclass(frozen=True)
class EthtoolStderr:
    message: str

    kind = "stderr"

    def metrics(self) -> dict[str, Any]:
        return {"message": self.message}


EthtoolResult = EthtoolSettings | EthtoolStats | EthtoolDriverInfo | EthtoolFec | EthtoolStderr


def _lines(text: str) -> list[str]:
    return [line.strip() for line in clean(text).lines
            if line.strip() and not _PROMPT.match(line.strip())]


def parse(text: str) -> EthtoolResult:
    lines = _lines(text)
    if not lines:
        raise ParseError("no ethtool output lines")
    if any(_FEC_FOR.match(line) or line.startswith("Active FEC encoding") for line in lines):
        return parse_fec(lines)
    if any(line.startswith("firmware-version:") for line in lines) or any(
            line.startswith("driver:") for line in lines):
        return parse_driver_info(lines)
    if any(_SETTINGS_FOR.match(line) or _SPEED.match(line) or line.startswith("Link detected:")
           for line in lines):
        return parse_settings(lines)
    if "NIC statistics:" in lines or _mostly_counters(lines):
        return parse_stats(lines)
    if NONROOT_NETLINK in lines:
        return EthtoolStderr(message=NONROOT_NETLINK)
    raise ParseError("not ethtool settings, -S counters, -i driver info or --show-fec output")


def _mostly_counters(lines: list[str]) -> bool:
    """A -S fragment (grep'd, or a few lines quoted): counter lines, maybe some noise."""
    counters = sum(1 for line in lines if _COUNTER.match(line))
    return counters >= 1 and (counters == len(lines) or (counters >= 2
                                                        and counters >= 0.4 * len(lines)))


def parse_settings(lines: list[str]) -> EthtoolSettings:
    interface = None
    fields: dict[str, str] = {}
    speed: int | None = None
    for line in lines:
        if m := _SETTINGS_FOR.match(line):
            interface = m.group(1)
            continue
        if m := _SPEED.match(line):
            speed = int(m.group(1)) if m.group(1) else None
        if (m := _KEY_VALUE.match(line)) and m.group(1) in SETTINGS_KEYS:
            fields[m.group(1)] = m.group(2).strip()
    if "Speed" not in fields and "Link detected" not in fields:
        raise ParseError("ethtool settings without 'Speed' or 'Link detected' (cut short?)")
    link = fields.get("Link detected")
    detected = None if link is None else link.lower().startswith("yes")
    detail = None
    if link and "(" in link:
        detail = link[link.index("(") + 1:].rstrip(")")
    lanes = fields.get("Lanes")
    return EthtoolSettings(
        interface=interface, speed_mbps=speed,
        lanes=int(lanes) if lanes and lanes.isdigit() else None,
        duplex=fields.get("Duplex"), autoneg=fields.get("Auto-negotiation"),
        port=fields.get("Port"), link_detected=detected, link_detail=detail,
        advertised_fec=fields.get("Advertised FEC modes"), fields=fields,
    )


def parse_stats(lines: list[str]) -> EthtoolStats:
    counters: dict[str, int] = {}
    for line in lines:
        if m := _COUNTER.match(line):
            counters[m.group(1)] = int(m.group(2))
    if not counters:
        raise ParseError("'NIC statistics:' header without any counters (cut short?)")
    return EthtoolStats(counters=counters, filtered="NIC statistics:" not in lines)


def parse_driver_info(lines: list[str]) -> EthtoolDriverInfo:
    values: dict[str, str] = {}
    for line in lines:
        key, sep, value = line.partition(":")
        if sep:
            values[key.strip()] = value.strip()
    firmware = values.get("firmware-version") or None
    psid = None
    if firmware and (m := re.match(r"^(\S+)\s*\(([^)]*)\)", firmware)):
        firmware, psid = m.group(1), m.group(2)
    if not (values.get("driver") or firmware):
        raise ParseError("ethtool -i output without 'driver' or 'firmware-version'")
    return EthtoolDriverInfo(driver=values.get("driver") or None,
                             version=values.get("version") or None, firmware_version=firmware,
                             psid=psid, bus_info=values.get("bus-info") or None)


def parse_fec(lines: list[str]) -> EthtoolFec:
    interface = active = None
    configured: list[str] = []
    for line in lines:
        if m := _FEC_FOR.match(line):
            interface = m.group(1)
        elif line.startswith(("Configured FEC encodings:", "Supported/Configured FEC encodings:")):
            configured = line.split(":", 1)[1].split()
        elif line.startswith("Active FEC encoding:"):
            active = line.split(":", 1)[1].strip() or None
    if active is None:
        raise ParseError("ethtool --show-fec output without 'Active FEC encoding' (cut short?)")
    return EthtoolFec(interface=interface, configured=configured, active=active)
