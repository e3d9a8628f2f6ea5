"""What the on-node agent reports, as typed records parsed (and checked) from its JSON."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field


@dataclass(frozen=True)
class InterfaceReport:
    name: str
    exists: bool
    mac: str | None = None
    admin_up: bool = False
    carrier: bool = False
    operstate: str | None = None
    speed_mbps: int | None = None
    mtu: int | None = None
    ipv4: tuple[str, ...] = ()  # "192.168.100.1/24"
    ipv6: tuple[str, ...] = ()
    sent: int = 0
    error: str | None = None
    brought_up: bool = False  # admin-down when found; discovery set it up for the window only

    @property
    def up(self) -> bool:
        return self.exists and self.admin_up and self.carrier

    @property
    def ipv4_networks(self) -> list[ipaddress.IPv4Network]:
        return [ipaddress.IPv4Interface(a).network for a in self.ipv4]


@dataclass(frozen=True)
class Sighting:
    """One distinct sender heard on one local interface during the window."""

    on: str  # local netdev that received the frames
    node: str  # sender's node name (as the controller named it)
    iface: str  # sender's netdev
    mac: str  # sender's MAC as it stated it
    src_mac: str  # the frame's Ethernet source
    count: int


@dataclass(frozen=True)
class NodeReport:
    node: str
    hostname: str | None
    dgx_name: str | None  # DGX_NAME from /etc/dgx-release; "DGX Spark" on the real machine
    interfaces: tuple[InterfaceReport, ...]
    heard: tuple[Sighting, ...]
    stations: dict[str, tuple[str, ...]] = field(default_factory=dict)  # netdev -> source MACs
    error: str | None = None  # the agent could not probe (no root, ...)

    def interface(self, name: str) -> InterfaceReport | None:
        for iface in self.interfaces:
            if iface.name == name:
                return iface
        return None


class ReportError(ValueError):
    """The agent's output is not the shape it promises."""


def _interface(item: dict) -> InterfaceReport:
    addresses = item.get("addresses") or []
    return InterfaceReport(
        name=str(item["name"]), exists=bool(item.get("exists")), mac=item.get("mac"),
        admin_up=bool(item.get("admin_up")), carrier=bool(item.get("carrier")),
        operstate=item.get("operstate"), speed_mbps=item.get("speed_mbps"), mtu=item.get("mtu"),
        ipv4=tuple(a["address"] for a in addresses if a.get("family") == "ipv4"),
        ipv6=tuple(a["address"] for a in addresses if a.get("family") == "ipv6"),
        sent=int(item.get("sent") or 0),
        error=item.get("error") or item.get("send_error"),
        brought_up=bool(item.get("brought_up")))


def parse_report(data: dict) -> NodeReport:
    try:
        return NodeReport(
            node=str(data["node"]), hostname=data.get("hostname"), dgx_name=data.get("dgx_name"),
            interfaces=tuple(_interface(i) for i in data["interfaces"]),
            heard=tuple(Sighting(on=h["on"], node=h["node"], iface=h["iface"], mac=h["mac"],
                                 src_mac=h["src_mac"], count=int(h["count"]))
                        for h in data.get("heard", [])),
            stations={k: tuple(v) for k, v in (data.get("stations") or {}).items()},
            error=data.get("error"))
    except (KeyError, TypeError, ValueError) as exc:
        raise ReportError(f"malformed discovery report: {exc!r}") from None
