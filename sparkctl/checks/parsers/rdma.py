"""RDMA port state: `ibv_devinfo`, `ibdev2netdev`, `rdma link [show]` and `ibstat`.

All four describe the same thing, so they share one dataclass: a list of ports with their
state, netdev and (where the tool prints it) link layer, MTU, firmware and rate.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from sparkctl.checks.parsers.common import ParseError
from sparkctl.checks.text import clean

_IBDEV2NETDEV = re.compile(r"^(\S+) port (\d+) ==> (\S+) \((\w+)\)\s*$")
# `rdma link`: "link mlx5_0/1 state ACTIVE physical_state LINK_UP netdev ens3f0np0" (RoCE),
# "link mlx5_0/1 subnet_prefix fe80:... lid 66 sm_lid 3 lmc 0 state ACTIVE ..." (InfiniBand,
# wrapped onto an indented second line by some versions), "0/1: ibp0s9/1: subnet_prefix ..."
# (iproute2 before 4.18 numbered the ports).
_RDMA_LINK = re.compile(r"^(?:link |\d+/\d+: )(\S+?)/(\d+):?\s+(.*)$")
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
    lid: int | None = None  # InfiniBand only (RoCE has no LID)

    def to_dict(self) -> dict[str, Any]:
        return {"device": self.device, "port": self.port, "active": self.active,
                "state": self.state, "netdev": self.netdev,
                "physical_state": self.physical_state, "link_layer": self.link_layer,
                "active_mtu": self.active_mtu, "max_mtu": self.max_mtu,
                "firmware": self.firmware, "rate_gbps": self.rate_gbps, "lid": self.lid}


@dataclass(frozen=True)
class RdmaPorts:
    source: str  # ibv_devinfo, ibdev2netdev, rdma-link, ibstat
    ports: list[RdmaPort] = field(default_factory=list)
    devices_without_ports: list[str] = field(default_factory=list)  # listed, port block cut
    counted: bool = False  # every device's port count is printed and all its ports are shown

    def metrics(self) -> dict[str, Any]:
        return {"source": self.source, "ports": [p.to_dict() for p in self.ports],
                "devices_without_ports": list(self.devices_without_ports)}


def parse(text: str) -> RdmaPorts:
    lines = [line.rstrip() for line in clean(text).lines if line.strip()]
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
        return _only("rdma-link", _parse_rdma_link(lines))
    raise ParseError("not ibv_devinfo, ibdev2netdev, rdma link or ibstat output")


def _parse_rdma_link(lines: list[str]) -> list[RdmaPort]:
    ports: list[RdmaPort] = []
    current: tuple[str, int, list[str]] | None = None

    def flush() -> None:
        if current is None:
            return
        device, port, tokens = current
        fields = dict(zip(tokens[::2], tokens[1::2], strict=False))
        state = fields.get("state")
        if state is None:
            return
        lid = fields.get("lid")
        ports.append(RdmaPort(device=device, port=port, state=state, active=state == "ACTIVE",
                              physical_state=fields.get("physical_state"),
                              netdev=fields.get("netdev"),
                              link_layer="InfiniBand" if "subnet_prefix" in fields else None,
                              lid=int(lid) if lid and lid.isdigit() else None))

    for line in lines:
        if m := _RDMA_LINK.match(line.strip()):
            flush()
            current = (m.group(1), int(m.group(2)), m.group(3).split())
        elif current is not None and line[:1].isspace() and "state" not in current[2]:
            current[2].extend(line.split())  # the wrapped second line of one port
        else:
            flush()
            current = None
    flush()
    return ports


def _only(source: str, ports: list[RdmaPort]) -> RdmaPorts:
    return RdmaPorts(source=source, ports=ports)


def _parse_devinfo(lines: list[str]) -> RdmaPorts:
    ports: list[RdmaPort] = []
    device = firmware = None
    current: dict[str, str] | None = None
    listed: list[str] = []
    counts: dict[str, int] = {}

    def flush() -> None:
        if device and current is not None and current.get("state", "").split():
            ports.append(_devinfo_port(device, firmware, current))

    for line in lines:
        key, _, value = line.strip().partition(":")
        value = value.strip()
        if key == "hca_id":
            flush()
            device, firmware, current = value, None, None
            listed.append(value)
        elif key == "fw_ver":
            firmware = value
        elif key == "phys_port_cnt" and value.isdigit() and device:
            counts[device] = int(value)
        elif key == "port":
            flush()
            current = {"port": value}
        elif current is not None:
            current[key] = value
    flush()
    if not ports:
        raise ParseError("ibv_devinfo output without any complete port block (cut short?)")
    with_ports = {p.device for p in ports}
    return RdmaPorts(source="ibv_devinfo", ports=ports,
                     devices_without_ports=[d for d in listed if d not in with_ports],
                     counted=_all_counted(ports, counts))


def _devinfo_port(device: str, firmware: str | None, values: dict[str, str]) -> RdmaPort:
    state = values["state"].split()[0]
    return RdmaPort(
        device=device, port=int(values["port"]) if values["port"].isdigit() else 1,
        state=state, active=state == "PORT_ACTIVE", link_layer=values.get("link_layer") or None,
        active_mtu=_mtu(values.get("active_mtu")), max_mtu=_mtu(values.get("max_mtu")),
        firmware=firmware,
    )


def _all_counted(ports: list[RdmaPort], counts: dict[str, int]) -> bool:
    devices = {p.device for p in ports}
    return bool(devices) and all(
        counts.get(d) == sum(1 for p in ports if p.device == d) for d in devices)


def _mtu(value: str | None) -> int | None:
    m = _MTU.match(value or "")
    return int(m.group(1)) if m else None


def _parse_ibstat(lines: list[str]) -> RdmaPorts:
    ports: list[RdmaPort] = []
    device = firmware = None
    current: dict[str, str] | None = None
    counts: dict[str, int] = {}

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
        elif key == "Number of ports" and value.strip().isdigit() and device:
            counts[device] = int(value.strip())
        elif current is not None:
            current[key] = value.strip()
    flush()
    if not ports:
        raise ParseError("ibstat output without any complete port block (cut short?)")
    return RdmaPorts(source="ibstat", ports=ports, counted=_all_counted(ports, counts))
