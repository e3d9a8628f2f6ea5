"""NCCL_DEBUG=INFO logs: which network NCCL picked, its RDMA devices, GDR state, warnings.

Lines look like `host:pid:tid [dev] NCCL INFO <message>`; some published fragments quote only
the message (in backticks, joined by arrows), so every pattern searches within a line instead
of anchoring on the prefix.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from sparkctl.checks.parsers.common import ParseError
from sparkctl.checks.text import clean

_VERSION = re.compile(r"NCCL version (\S+)")
_USING_NETWORK = re.compile(r"Using network (\w[\w ]*?)\s*(?:`|$)")
_NET_PLUGIN = re.compile(r"(?:Initialized|Assigned) NET plugin (\w+)|P2P plugin (\w+)|"
                         r"(?:Loaded|Using) (?:net|network) plugin (.+?)(?:\s+\(v\d+\))?\s*$")
_OLD_IB_DEVICE = re.compile(r"NET/IB ?: \[\d+\] ([\w.-]+):\d+/(IB|RoCE)\b")
_NRANKS = re.compile(r"\bnranks (\d+)\b", re.I)
_LINE_HEAD = re.compile(r"^\s*([\w.<>-]+):(\d+):(\d+) \[(\d+)\]")
_IB_USING = re.compile(r"NET/IB ?: Using (.*?)(?:;|`|$)")
_IB_DEVICE = re.compile(r"\[\d+\]([\w.-]+):\d+/(\w+)")
_GDR = re.compile(
    r"GPU Direct RDMA (?:\((\w+)\) )?(enabled|disabled) for HCA \d+ '([^']+)'", re.IGNORECASE)
_WARN = re.compile(r"NCCL WARN (.*)$")
_TEST_FAILURE = re.compile(r"(Test NCCL failure .*|Test CUDA failure .*)$")
_RELEASE_VERSION = re.compile(r"^\d+\.\d+\.\d+(?:-\d+)?(?:\+cuda[\d.]+)?$")
_NCCL_LINE = re.compile(
    r"NCCL (?:INFO|WARN)|NET/IB ?:|NET/Socket ?:|Using network |NCCL version \d")

_FALLBACK_MARKERS = (
    "NET/IB : No device found",
    "NET/IB: No device found",
    "Failed to initialize NET plugin IB",
    "Failed to open libibverbs",
)


@dataclass(frozen=True)
class NcclDebugLog:
    nccl_version: str | None
    nccl_release: bool | None  # False for dev/forked builds such as "2.12.12.MSCCL.0.7.3"
    network: str | None  # NCCL's own name: "IB", "Socket", or a plugin's
    transport: str | None  # "IB", "Socket" or None when the log does not say
    net_plugin: str | None
    ib_devices: list[str] = field(default_factory=list)  # e.g. ["rocep1s0f1", "roceP2p1s0f1"]
    ib_unusable: bool = False  # IB was tried and could not be used (no device, no verbs lib)
    gdr: dict[str, bool] = field(default_factory=dict)  # HCA -> GPU Direct RDMA enabled
    dmabuf: bool | None = None
    warnings: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    nccl_lines: int = 0
    hosts: list[str] = field(default_factory=list)  # from the "host:pid:tid [dev]" line heads
    nranks: int | None = None  # from "comm 0x... rank 0 nranks 2 ... Init COMPLETE"

    def metrics(self) -> dict[str, Any]:
        return {
            "nccl_version": self.nccl_version,
            "nccl_release": self.nccl_release,
            "transport": self.transport,
            "network": self.network,
            "net_plugin": self.net_plugin,
            "ib_devices": list(self.ib_devices),
            "ib_unusable": self.ib_unusable,
            "gdr": dict(self.gdr),
            "dmabuf": self.dmabuf,
            "warnings": list(self.warnings),
            "failures": list(self.failures),
            "hosts": list(self.hosts),
            "nranks": self.nranks,
        }


def transport_of(network: str | None) -> str | None:
    """IB for NCCL's own IB transport and the IB plugins (IBext, IBext_v8, "NCCL RDMA Plugin")."""
    if network is None:
        return None
    name = network.strip()
    if re.match(r"^IB(?:ext)?(?:_v\d+)?$", name, re.I) or "RDMA" in name.upper():
        return "IB"
    if name.lower() == "socket":
        return "Socket"
    return None


def scan(text: str) -> NcclDebugLog:
    """Collect NCCL facts from any text (also from nccl-tests output with debug lines)."""
    version = network = plugin = None
    devices: list[str] = []
    gdr: dict[str, bool] = {}
    dmabuf: bool | None = None
    warnings: list[str] = []
    failures: list[str] = []
    unusable = False
    socket_in_use = False
    nccl_lines = 0
    hosts: list[str] = []
    old_devices: list[str] = []
    nranks = None
    for line in clean(text).lines:
        if not _NCCL_LINE.search(line) and "Test " not in line and "libibverbs" not in line:
            continue
        nccl_lines += 1
        if version is None and (m := _VERSION.search(line)):
            version = m.group(1).rstrip("`")
        if m := _USING_NETWORK.search(line):
            network = m.group(1).strip()
        if m := _NET_PLUGIN.search(line):
            plugin = next(g for g in m.groups() if g).strip()
        if m := _OLD_IB_DEVICE.search(line):
            old_devices.append(m.group(1))
        if (m := _LINE_HEAD.match(line)) and m.group(1) not in hosts:
            hosts.append(m.group(1))
        if m := _NRANKS.search(line):
            nranks = max(nranks or 0, int(m.group(1)))
        if (m := _IB_USING.search(line)) and not devices:
            devices = [d for d, _ in _IB_DEVICE.findall(m.group(1))]
        if "NET/Socket" in line and "Using" in line:
            socket_in_use = True
        if m := _GDR.search(line):
            gdr[m.group(3)] = m.group(2).lower() == "enabled"
            if m.group(1):
                dmabuf = m.group(1).upper() == "DMABUF"
        if any(marker in line for marker in _FALLBACK_MARKERS):
            unusable = True
        if m := _WARN.search(line):
            warnings.append(m.group(1).strip())
        if m := _TEST_FAILURE.search(line):
            failures.append(m.group(1).strip())
    if network is None and plugin is not None:
        network = plugin
    if not devices and old_devices:  # NCCL 2.4-era logs list devices as "NET/IB: [0] dev:1/IB"
        devices = list(dict.fromkeys(old_devices))
        network = network or "IB"
    if network is None and socket_in_use and not devices:
        network = "Socket"
    release = None if version is None else bool(_RELEASE_VERSION.match(version))
    return NcclDebugLog(
        nccl_version=version, nccl_release=release, network=network,
        transport=transport_of(network), net_plugin=plugin, ib_devices=devices,
        ib_unusable=unusable, gdr=gdr, dmabuf=dmabuf, warnings=_dedupe(warnings),
        failures=_dedupe(failures), nccl_lines=nccl_lines, hosts=hosts[:64], nranks=nranks,
    )


def parse(text: str) -> NcclDebugLog:
    log = scan(text)
    if log.nccl_lines == 0:
        raise ParseError("no NCCL_DEBUG lines (expected 'NCCL INFO', 'NCCL WARN', 'NET/IB :')")
    informative = (log.network or log.ib_devices or log.warnings or log.failures
                   or log.ib_unusable or log.gdr or log.nccl_version)
    if not informative:
        raise ParseError("NCCL lines found but none says which network, version or warning "
                         "(log cut too early?)")
    return log


def _dedupe(items: list[str], limit: int = 20) -> list[str]:
    seen: dict[str, None] = {}
    for item in items:
        seen.setdefault(item, None)
    return list(seen)[:limit]
