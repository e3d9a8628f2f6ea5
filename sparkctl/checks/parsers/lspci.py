"""`lspci -vv`: each PCI function's link capability (LnkCap) and trained state (LnkSta).

Pastes are often grep'd (`lspci -vvv -s 0000:01:00.0 | grep -E "LnkCap:|LnkSta:"`): then no
device line says which function it is, and the caller passes the BDF from the command.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from sparkctl.checks.judge.links import PcieLink
from sparkctl.checks.parsers.common import ParseError, to_float
from sparkctl.checks.text import clean

# "0000:01:00.0 Ethernet controller: Mellanox ..." or "01:00.0 Ethernet controller [0200]: ..."
_DEVICE = re.compile(r"^((?:[0-9a-fA-F]{4}:)?[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-7])\s+(.+)$")
_LNKCAP = re.compile(r"LnkCap:\s*(?:Port #\d+,\s*)?Speed (\S+?)(?:GT/s)?(?: \(\w+\))?,\s*"
                     r"Width x(\d+)")
_LNKSTA = re.compile(r"LnkSta:\s*Speed (\S+?)(?:GT/s)?(?: \(\w+\))?,\s*Width x(\d+)")
BDF_IN_COMMAND = re.compile(r"-s\s*((?:[0-9a-fA-F]{4}:)?[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-7])")


@dataclass(frozen=True)
class LspciResult:
    links: list[PcieLink] = field(default_factory=list)
    functions: int = 0  # device lines seen (with or without a link)

    def metrics(self) -> dict[str, Any]:
        return {"functions": self.functions,
                "links": [{"bdf": x.bdf, "device": x.device, "cap_gts": x.cap_gts,
                           "cap_width": x.cap_width, "sta_gts": x.sta_gts,
                           "sta_width": x.sta_width, "cx7": x.is_cx7} for x in self.links]}


def parse(text: str, bdf: str | None = None) -> LspciResult:
    links: list[PcieLink] = []
    functions = 0
    current: dict[str, Any] = {"bdf": bdf, "device": None}

    def flush() -> None:
        if any(current.get(k) is not None for k in ("cap_width", "sta_width")):
            links.append(PcieLink(bdf=current["bdf"], device=current["device"],
                                  cap_gts=current.get("cap_gts"),
                                  cap_width=current.get("cap_width"),
                                  sta_gts=current.get("sta_gts"),
                                  sta_width=current.get("sta_width")))

    for raw in clean(text).lines:
        line = raw.strip()
        if (m := _DEVICE.match(raw)) and not raw[:1].isspace():
            flush()
            functions += 1
            current = {"bdf": m.group(1).lower(), "device": m.group(2)}
            continue
        if m := _LNKCAP.search(line):
            current["cap_gts"], current["cap_width"] = to_float(m.group(1)), int(m.group(2))
        elif m := _LNKSTA.search(line):
            if current.get("sta_width") is not None:  # a grep over several functions
                flush()
                current = {"bdf": None, "device": None}
            current["sta_gts"], current["sta_width"] = to_float(m.group(1)), int(m.group(2))
    flush()
    if not links:
        raise ParseError("lspci output without any LnkCap/LnkSta line (run lspci -vv as root: "
                         "without root it hides the capabilities)")
    return LspciResult(links=links, functions=functions)
