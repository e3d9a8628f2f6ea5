"""RoCE hardware counters: `rdma stat show [-p]` and the files under .../ports/1/hw_counters/.

Formats: "link mlx5_0/1 out_of_buffer 0 duplicate_request 0 ..." (one line per port, wrapped
by some terminals), its `-p` form (the port, then one "name value" per line), and
`grep . /sys/class/infiniband/<hca>/ports/1/hw_counters/*` ("path:value").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from sparkctl.checks.parsers.common import ParseError
from sparkctl.checks.text import clean

_LINK = re.compile(r"^link (\S+?)/(\d+)\b\s*(.*)$")
_SYSFS = re.compile(r"/sys/class/infiniband/([^/\s]+)/ports/(\d+)/hw_counters/(\w+):\s*(\d+)\s*$")
_PAIR = re.compile(r"^([a-z][a-z0-9_]*)\s*[: ]\s*(\d+)$")


@dataclass(frozen=True)
class RdmaStats:
    source: str  # "rdma-stat" or "hw_counters"
    counters: dict[str, dict[str, int]] = field(default_factory=dict)  # "hca/port" -> values

    def metrics(self) -> dict[str, Any]:
        return {"source": self.source,
                "counters": {k: dict(v) for k, v in self.counters.items()}}


def parse(text: str) -> RdmaStats:
    lines = clean(text).lines
    sysfs: dict[str, dict[str, int]] = {}
    for line in lines:
        if m := _SYSFS.search(line):
            sysfs.setdefault(f"{m.group(1)}/{m.group(2)}", {})[m.group(3)] = int(m.group(4))
    if sysfs:
        return RdmaStats(source="hw_counters", counters=sysfs)
    stats: dict[str, dict[str, int]] = {}
    current: str | None = None
    pending: list[str] = []

    def flush() -> None:
        if current is None:
            return
        values = stats.setdefault(current, {})
        for name, value in zip(pending[::2], pending[1::2], strict=False):
            if value.isdigit() and re.match(r"^[a-z][a-z0-9_]*$", name):
                values[name] = int(value)

    for line in lines:
        if m := _LINK.match(line.strip()):
            flush()
            current, pending = f"{m.group(1)}/{m.group(2)}", m.group(3).split()
        elif current is not None and re.match(r"^[a-z_0-9]+(?:\s+[a-z_0-9]+)*$", line.strip()):
            pending.extend(line.split())  # the port's counters go on (wrapped, or -p form)
        # any other line (blank, or noise in the paste) is not a counter line: skipped
    flush()
    stats = {k: v for k, v in stats.items() if v}
    if not stats:
        raise ParseError("no RoCE hardware counters (expected `rdma stat show` lines or "
                         ".../hw_counters/NAME:VALUE from grep)")
    return RdmaStats(source="rdma-stat", counters=stats)
