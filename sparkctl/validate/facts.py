"""Link facts a node reports (remote/link_facts.py output), as typed records.

Pure: JSON text in, dataclasses out; a malformed document raises FactsError naming the node.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field


class FactsError(ValueError):
    pass


@dataclass(frozen=True)
class NetdevFacts:
    name: str
    exists: bool
    operstate: str | None = None
    admin_up: bool | None = None
    carrier: int | None = None  # None: unreadable (the interface is down)
    speed_mbps: int | None = None  # None or <= 0: unknown (no link)
    mtu: int | None = None
    mac: str | None = None
    ipv4: tuple[str, ...] = ()  # "192.168.100.1/24"
    ipv6_global: tuple[str, ...] = ()
    link_local: tuple[str, ...] = ()  # fe80:: addresses, without prefix
    ethtool_stats: str | None = None
    ethtool_stats_error: str | None = None

    @property
    def has_carrier(self) -> bool:
        return self.carrier == 1


@dataclass(frozen=True)
class Gid:
    index: int
    gid: str
    type: str | None  # "RoCE v2", "IB/RoCE v1"
    ndev: str | None


@dataclass(frozen=True)
class HcaFacts:
    name: str
    exists: bool
    state: str | None = None  # "4: ACTIVE"
    link_layer: str | None = None
    gids: tuple[Gid, ...] = ()
    counters: dict[str, int] = field(default_factory=dict)
    # RoCE counters under ports/1/hw_counters/ (None: not asked for, or none readable)
    hw_counters: dict[str, int] | None = None
    fw_ver: str | None = None  # /sys/class/infiniband/<hca>/fw_ver

    @property
    def active(self) -> bool:
        return self.state is not None and "ACTIVE" in self.state.upper()


@dataclass(frozen=True)
class NicFacts:
    """A netdev's PCI function as the node reports it (remote/link_facts.py `nic`)."""

    netdev: str
    bdf: str | None
    error: str | None = None
    lspci: str | None = None  # `lspci -vv -s BDF` (capabilities hidden without root)
    lspci_error: str | None = None
    current_link_speed: str | None = None  # sysfs, e.g. "32.0 GT/s PCIe"
    current_link_width: str | None = None  # sysfs, e.g. "4"
    max_link_speed: str | None = None
    max_link_width: str | None = None
    ethtool_i: str | None = None  # `ethtool -i`: driver, firmware-version, bus-info
    ethtool_i_error: str | None = None


@dataclass(frozen=True)
class RdmaEnvFacts:
    """The node's /etc/sparkctl/rdma.env (the rdma role's measured GID indexes)."""

    path: str
    exists: bool
    text: str | None

    def gid_indexes(self) -> dict[str, int]:
        """SPARKCTL_GID_INDEX_<hca>=N lines -> {hca: N}."""
        out = {}
        for line in (self.text or "").splitlines():
            key, sep, value = line.strip().partition("=")
            if sep and key.startswith(GID_PREFIX) and value.strip().lstrip("-").isdigit():
                out[key[len(GID_PREFIX):]] = int(value.strip())
        return out


GID_PREFIX = "SPARKCTL_GID_INDEX_"
# Written by the rdma role (playbooks/roles/rdma/tasks/gid.yml, rdma_env_path).
RDMA_ENV_PATH = "/etc/sparkctl/rdma.env"


@dataclass(frozen=True)
class NodeFacts:
    node: str
    netdevs: dict[str, NetdevFacts]
    hcas: dict[str, HcaFacts]
    ip_error: str | None = None
    nics: dict[str, NicFacts] = field(default_factory=dict)
    rdma_env: RdmaEnvFacts | None = None  # None: not asked for

    def netdev(self, name: str) -> NetdevFacts:
        return self.netdevs.get(name) or NetdevFacts(name=name, exists=False)


def _netdev(name: str, doc: dict) -> NetdevFacts:
    if not doc.get("exists"):
        return NetdevFacts(name=name, exists=False)
    addresses = doc.get("addresses") or []
    ipv4 = tuple(f"{a['local']}/{a['prefixlen']}" for a in addresses
                 if a.get("family") == "inet" and a.get("local"))
    v6 = [a for a in addresses if a.get("family") == "inet6" and a.get("local")]
    return NetdevFacts(
        name=name, exists=True, operstate=doc.get("operstate"), admin_up=doc.get("admin_up"),
        carrier=doc.get("carrier"), speed_mbps=doc.get("speed"), mtu=doc.get("mtu"),
        mac=doc.get("mac"), ipv4=ipv4,
        ipv6_global=tuple(f"{a['local']}/{a['prefixlen']}" for a in v6
                          if a.get("scope") != "link"),
        link_local=tuple(a["local"] for a in v6 if a.get("scope") == "link"),
        ethtool_stats=doc.get("ethtool_stats"),
        ethtool_stats_error=doc.get("ethtool_stats_error"))


def _hca(name: str, doc: dict) -> HcaFacts:
    if not doc.get("exists"):
        return HcaFacts(name=name, exists=False)
    gids = tuple(sorted((Gid(int(i), g.get("gid", ""), g.get("type"), g.get("ndev"))
                         for i, g in (doc.get("gids") or {}).items()), key=lambda g: g.index))
    hw = doc.get("hw_counters")
    return HcaFacts(name=name, exists=True, state=doc.get("state"),
                    link_layer=doc.get("link_layer"), gids=gids,
                    counters={k: int(v) for k, v in (doc.get("counters") or {}).items()},
                    hw_counters=None if hw is None else {k: int(v) for k, v in hw.items()},
                    fw_ver=doc.get("fw_ver"))


_NIC_FIELDS = ("bdf", "error", "lspci", "lspci_error", "current_link_speed",
               "current_link_width", "max_link_speed", "max_link_width", "ethtool_i",
               "ethtool_i_error")


def _nic(name: str, doc: dict) -> NicFacts:
    return NicFacts(name, **{k: doc.get(k) for k in _NIC_FIELDS})


def _rdma_env(doc: dict | None) -> RdmaEnvFacts | None:
    if doc is None:
        return None
    return RdmaEnvFacts(str(doc["path"]), bool(doc.get("exists")), doc.get("text"))


def parse_node_facts(node: str, text: str) -> NodeFacts:
    try:
        doc = json.loads(text.strip().splitlines()[-1] if text.strip() else "")
        return NodeFacts(
            node=node,
            netdevs={n: _netdev(n, d) for n, d in doc["netdevs"].items()},
            hcas={h: _hca(h, d) for h, d in (doc.get("hcas") or {}).items()},
            ip_error=doc.get("ip_error"),
            nics={n: _nic(n, d) for n, d in (doc.get("nics") or {}).items()},
            rdma_env=_rdma_env(doc.get("rdma_env")))
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise FactsError(f"{node}: unreadable link facts ({exc}): {text[:200]!r}") from None


def ipv4_mapped_gid(address: str) -> str:
    """The RoCE v2 GID of an IPv4 address as sysfs prints it (::ffff:a.b.c.d, 8 groups)."""
    a, b, c, d = (int(x) for x in address.split("."))
    return f"0000:0000:0000:0000:0000:ffff:{a:02x}{b:02x}:{c:02x}{d:02x}"
