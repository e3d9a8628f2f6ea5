"""Rows for the human-readable table: checks grouped by node, then rail, then check.

Pure (no rich here): the CLI turns these rows into a table.
"""

from __future__ import annotations

from dataclasses import dataclass

from sparkctl.checks.result import CheckResult
from sparkctl.topology.hardware import PORTS, RAILS, hca, netdev

_ORDER = ("node.ssh", "link.carrier", "link.speed", "link.mtu", "link.address",
          "link.neighbours", "link.ping", "link.tcp", "rdma.port", "rdma.gid",
          "rdma.counter_delta", "rail.bandwidth", "link.stray", "link.pcie", "link.firmware",
          "collective.all_gather", "collective.all_reduce", "collective.nccl_version",
          "collective.transport")


@dataclass(frozen=True)
class Row:
    node: str  # "cluster" for cluster-wide checks
    rail: str  # "p1 r0", or "" when the check is not about one rail
    check: CheckResult
    target: str  # the subject without its node/interface prefix, e.g. "-> spark-2/..."


_RAIL_OF = {name: f"p{port} r{rail}" for port in PORTS for rail in RAILS
            for name in (netdev(port, rail), hca(port, rail))}


def _rail_of(device: str) -> str:
    """"p1 r0" for a CX-7 netdev or RDMA device name; "" for anything else."""
    return _RAIL_OF.get(device, "")


def row_of(check: CheckResult) -> Row:
    head, _, rest = check.subject.partition(" ")
    node, colon, path = head.partition(":")
    if colon and path.startswith("/") and "/" not in node:  # health: "spark-1:/var"
        return Row(node, "", check, " ".join(p for p in (path, rest) if p))
    if "/" not in head:
        return Row(head, "", check, rest)
    node, _, ifname = head.partition("/")
    return Row(node, _rail_of(ifname), check, rest or ifname)


def rows(checks: list[CheckResult]) -> list[Row]:
    def key(row: Row):
        cluster = row.node == "cluster"
        order = _ORDER.index(row.check.id) if row.check.id in _ORDER else len(_ORDER)
        return (cluster, row.node, row.rail, order, row.check.subject)
    return sorted((row_of(c) for c in checks), key=key)


def format_value(value, unit: str | None) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        value = f"{value:g}"
    return f"{value} {unit}" if unit else str(value)
