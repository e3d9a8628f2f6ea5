"""RDMA port state: `ibv_devinfo`, `ibdev2netdev`, `rdma link [show]` and `ibstat`.

All four describe the same thing, so they share one dataclass: a list of ports with their
state, netdev and (where the tool prints it) link layer, MTU, firmware and rate.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from sparkctl.checks.parsers.common import ParseError, normalise

_IBDEV2NETDEV = re.compile(r"^(\S+) port (\d+) ==> (\S+) \((\w+)\)\s*$")
_RDMA_LINK = re.compile(
    r"^link (\S+)/(\d+) state (\S+)(?: physical_state (\S+))?(?: netdev (\S+))?")
_MTU = re.compile(r"^(\d+)")


@dataclass(frozen=True)
class RdmaPort:
    device: str
    port: int
    active: bool
    state: str  # as printed: PORT_ACTIVE, ACTIVE, Up, Active, DOWN, ...
    netdev: str | None = None
    physical_state: str | None = None
    link_layer: str | None = None
    active_mtu: int | None = None
    max_mtu: int | None = None
    firmware: str | None = None
    rate_gbps: int | None = None  # ibstat "Rate"

    def to_dict(self) -> dict:
        return {"device": self.device, "port": self.port, "active": self.active,
                "state": self.state, "netdev": self.netdev,
                "physical_state": self.physical_state, "link_layer": self.link_layer,
                "active_mtu": self.active_mtu, "max_mtu": self.max_mtu,
                "firmware": self.firmware, "rate_gbps": self.rate_gbps}


@dataclass(frozen=True)
class RdmaPorts:
    source: str  # ibv_devinfo, ibdev2netdev, rdma-link, ibstat
    ports: list[RdmaPort] = field(default_factory=list)

    def metrics(self) -> dict:
        return {"source": self.source, "ports": [p.to_dict() for p in self.ports]}


def parse(text: str) -> RdmaPorts:
    lines = [line.rstrip() for line in normalise(text).split("\n") if line.strip()]
    if not lines:
        raise ParseError("empty RDMA tool output")
    if any(line.startswith("hca_id:") for line in lines):
        return _parse_devinfo(lines)
    if any(line.startswith("CA '") for line in lines):
        return _parse_ibstat(lines)
    if any(_IBDEV2NETDEV.match(line.strip()) for line in lines):
        return _only("ibdev2netdev", [
            RdmaPort(device=m.group(1), port=int(m.group(2)), netdev=m.group(3),
                     state=m.group(4), active=m.group(4).lower() == "up")
            for line in lines if (m := _IBDEV2NETDEV.match(line.strip()))])
    if any(_RDMA_LINK.match(line.strip()) for line in lines):
        return _only("rdma-link", [
            RdmaPort(device=m.group(1), port=int(m.group(2)), state=m.group(3),
                     active=m.group(3) == "ACTIVE", physical_state=m.group(4),
                     netdev=m.group(5))
            for line in lines if (m := _RDMA_LINK.match(line.strip()))])
    raise ParseError("not ibv_devinfo, ibdev2netdev, rdma link or ibstat output")


def _only(source: str, ports: list[RdmaPort]) -> RdmaPorts:
    return RdmaPorts(source=source, ports=ports)


def _parse_devinfo(lines: list[str]) -> RdmaPorts:
    ports: list[RdmaPort] = []
    device = firmware = None
    current: dict[str, str] | None = None

    def flush() -> None:
        if device and current is not None and current.get("state", "").split():
            ports.append(_devinfo_port(device, firmware, current))

    for line in lines:
        key, _, value = line.strip().partition(":")
        value = value.strip()
        if key == "hca_id":
            flush()
            device, firmware, current = value, None, None
        elif key == "fw_ver":
            firmware = value
        elif key == "port":
            flush()
            current = {"port": value}
        elif current is not None:
            current[key] = value
    flush()
    if not ports:
        raise ParseError("ibv_devinfo output without any complete port block (cut short?)")
    return RdmaPorts(source="ibv_devinfo", ports=ports)


def _devinfo_port(device: str, firmware: str | None, values: dict[str, str]) -> RdmaPort:
    state = values["state"].split()[0]
    return RdmaPort(
        device=device, port=int(values["port"]) if values["port"].isdigit() else 1,
        state=state, active=state == "PORT_ACTIVE", link_layer=values.get("link_layer") or None,
        active_mtu=_mtu(values.get("active_mtu")), max_mtu=_mtu(values.get("max_mtu")),
        firmware=firmware,
    )


def _mtu(value: str | None) -> int | None:
    m = _MTU.match(value or "")
    return int(m.group(1)) if m else None


def _parse_ibstat(lines: list[str]) -> RdmaPorts:
    ports: list[RdmaPort] = []
    device = firmware = None
    current: dict[str, str] | None = None

    def flush() -> None:
        if device and current is not None and "State" in current:
            rate = current.get("Rate", "")
            ports.append(RdmaPort(
                device=device, port=int(current["port"]), state=current["State"],
                active=current["State"] == "Active",
                physical_state=current.get("Physical state"),
                link_layer=current.get("Link layer"), firmware=firmware,
                rate_gbps=int(rate) if rate.isdigit() else None))

    for line in lines:
        stripped = line.strip()
        if m := re.match(r"^CA '([^']+)'", stripped):
            flush()
            device, firmware, current = m.group(1), None, None
            continue
        if m := re.match(r"^Port (\d+):$", stripped):
            flush()
            current = {"port": m.group(1)}
            continue
        key, _, value = stripped.partition(":")
        if key == "Firmware version":
            firmware = value.strip()
        elif current is not None:
            current[key] = value.strip()
    flush()
    if not ports:
        raise ParseError("ibstat output without any complete port block (cut short?)")
    return RdmaPorts(source="ibstat", ports=ports)
