"""nccl-tests output (any collective): the text table and the `-J` JSON document.

The text also carries whatever NCCL_DEBUG lines and mpirun banners were printed around it;
those feed `transport` and `errors`.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field

from sparkctl.checks.parsers import nccl_debug
from sparkctl.checks.parsers.common import ParseError, normalise, to_float, to_int

_COLLECTIVE = re.compile(r"# Collective test (?:starting|concluded): (\S+)")
_COMMAND = re.compile(r"(?:^|/)(\w+?_perf)(?:_mpi)?\b")
_RANK = re.compile(r"^#\s+Rank\s+(\d+)\s+Group\s+\d+\s+Pid\s+\d+\s+on\s+(\S+)")
_OOB = re.compile(r"# Out of bounds values\s*:\s*(\d+)")
_AVG = re.compile(r"# Avg bus bandwidth\s*:\s*(\S+)")
_VERSION = re.compile(r"# nccl-tests version (\S+)")
_CONCLUDED = "# Collective test concluded"

# Lines that say a run failed, from nccl-tests itself and from Open MPI around it.
_ERROR_MARKERS = (
    "Test NCCL failure", "Test CUDA failure", "Test failure", "Invalid number of GPUs",
    "NCCL WARN", "ORTE was unable to reliably start", "mpirun detected that one or more",
    "mpirun noticed that process", "Primary job  terminated normally", "Could not resolve hostname",
    "There are not enough slots available", "MPI_ABORT was invoked", "prterun was unable",
)


@dataclass(frozen=True)
class NcclSide:
    time_us: float | None
    algbw_GBps: float | None
    busbw_GBps: float | None
    wrong: int | None  # None where nccl-tests printed N/A (validation off)

    def to_dict(self) -> dict:
        return {"time_us": self.time_us, "algbw_GBps": self.algbw_GBps,
                "busbw_GBps": self.busbw_GBps, "wrong": self.wrong}


@dataclass(frozen=True)
class NcclRow:
    size_bytes: int
    count: int
    type: str
    redop: str
    out_of_place: NcclSide
    in_place: NcclSide

    def to_dict(self) -> dict:
        return {"size_bytes": self.size_bytes, "count": self.count, "type": self.type,
                "redop": self.redop, "out_of_place": self.out_of_place.to_dict(),
                "in_place": self.in_place.to_dict()}

    @property
    def best_busbw_GBps(self) -> float | None:
        values = [v for v in (self.out_of_place.busbw_GBps, self.in_place.busbw_GBps)
                  if v is not None]
        return max(values) if values else None

    @property
    def wrong_total(self) -> int:
        return sum(w for w in (self.out_of_place.wrong, self.in_place.wrong) if w)


@dataclass(frozen=True)
class NcclTestsResult:
    collective: str | None  # "all_reduce", "all_gather", ...
    rows: list[NcclRow]
    avg_busbw_GBps: float | None
    out_of_bounds: int | None
    transport: str | None  # "IB", "Socket" or None (no NCCL_DEBUG lines)
    errors: list[str]
    format: str  # "text" or "json"
    nranks: int | None = None
    hosts: list[str] = field(default_factory=list)
    concluded: bool = False  # the run printed its closing lines (not cut short)
    tests_version: str | None = None
    debug: nccl_debug.NcclDebugLog | None = None

    def metrics(self) -> dict:
        """The DESIGN.md metrics shape for nccl-tests, exactly."""
        return {
            "collective": self.collective,
            "rows": [r.to_dict() for r in self.rows],
            "avg_busbw_GBps": self.avg_busbw_GBps,
            "out_of_bounds": self.out_of_bounds,
            "transport": self.transport,
            "errors": list(self.errors),
        }


def collective_name(program: str) -> str:
    name = os.path.basename(program.strip())
    for suffix in ("_mpi", "_perf"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
    return name


def parse_text(text: str) -> NcclTestsResult:
    text = normalise(text)
    collective = tests_version = None
    rows: list[NcclRow] = []
    oob = avg = None
    ranks: dict[int, str] = {}
    errors: list[str] = []
    concluded = False
    for raw in text.split("\n"):
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            if collective is None and (m := _COLLECTIVE.search(line)):
                collective = collective_name(m.group(1))
            elif m := _RANK.match(line):
                ranks[int(m.group(1))] = m.group(2)
            elif m := _OOB.match(line):
                oob = int(m.group(1))
            elif m := _AVG.match(line):
                avg = to_float(m.group(1))
            elif m := _VERSION.match(line):
                tests_version = m.group(1)
            elif line.startswith(_CONCLUDED):
                concluded = True
            continue
        row = _parse_row(line)
        if row is not None:
            rows.append(row)
            continue
        if any(marker in line for marker in _ERROR_MARKERS):
            errors.append(line)
        if collective is None and (m := _COMMAND.search(line)) and "perf" in line:
            collective = collective_name(m.group(1))
    debug = nccl_debug.scan(text)
    if not rows and not errors:
        raise ParseError("no result rows and no error lines: the output ends before the first "
                         "measurement (cut short, or only the header was saved)")
    return NcclTestsResult(
        collective=collective, rows=rows, avg_busbw_GBps=avg, out_of_bounds=oob,
        transport=debug.transport, errors=_dedupe(errors), format="text",
        nranks=len(ranks) or None, hosts=sorted(set(ranks.values())), concluded=concluded,
        tests_version=tests_version, debug=debug if debug.nccl_lines else None,
    )


def _parse_row(line: str) -> NcclRow | None:
    tokens = line.split()
    # size count type redop [root] then 4 out-of-place and 4 in-place fields.
    if len(tokens) == 13:
        head, sides = tokens[:4], tokens[5:]
        if to_int(tokens[4]) is None:
            return None
    elif len(tokens) == 12:
        head, sides = tokens[:4], tokens[4:]
    else:
        return None
    size, count = to_int(head[0]), to_int(head[1])
    if size is None or count is None or size < 0 or count < 0:
        return None
    if not head[2].isidentifier() or not head[3].isidentifier():
        return None
    if not all(_is_field(t) for t in sides):
        return None
    return NcclRow(size_bytes=size, count=count, type=head[2], redop=head[3],
                   out_of_place=_side(sides[:4]), in_place=_side(sides[4:]))


def _is_field(token: str) -> bool:
    return token == "N/A" or to_float(token) is not None


def _side(fields: list[str]) -> NcclSide:
    return NcclSide(time_us=to_float(fields[0]), algbw_GBps=to_float(fields[1]),
                    busbw_GBps=to_float(fields[2]), wrong=to_int(fields[3]))


def parse_json(text: str) -> NcclTestsResult:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ParseError(f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg} "
                         "(file cut short?)") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("results"), list):
        raise ParseError("JSON has no 'results' list: not an nccl-tests -J document")
    rows = [_json_row(i, item) for i, item in enumerate(doc["results"])]
    args = doc.get("args")
    collective = None
    if isinstance(args, list) and args and isinstance(args[0], str):
        collective = collective_name(args[0])
    oob_doc = doc.get("out_of_bounds")
    oob = to_int(str(oob_doc.get("count"))) if isinstance(oob_doc, dict) else None
    avg_doc = doc.get("average_bus_bandwidth")
    avg = to_float(str(avg_doc.get("bandwidth"))) if isinstance(avg_doc, dict) else None
    errors = [e for e in doc.get("errors", []) if isinstance(e, str) and e.strip()]
    config = doc.get("config") if isinstance(doc.get("config"), dict) else {}
    devices = config.get("devices") if isinstance(config.get("devices"), list) else []
    hosts = sorted({d["hostname"] for d in devices
                    if isinstance(d, dict) and isinstance(d.get("hostname"), str)})
    if not rows and not errors:
        raise ParseError("nccl-tests JSON with an empty 'results' list and no errors")
    return NcclTestsResult(
        collective=collective, rows=rows, avg_busbw_GBps=avg, out_of_bounds=oob,
        # -J documents hold no NCCL_DEBUG output, so the transport is unknown here.
        transport=None, errors=errors, format="json", nranks=len(devices) or None,
        hosts=hosts, concluded="end_time" in doc,
    )


def _json_row(index: int, item: object) -> NcclRow:
    where = f"results[{index}]"
    if not isinstance(item, dict):
        raise ParseError(f"{where} is not an object")
    size, count = to_int(str(item.get("size"))), to_int(str(item.get("count")))
    if size is None or count is None:
        raise ParseError(f"{where} lacks an integer 'size' or 'count'")
    sides = []
    for key in ("out_of_place", "in_place"):
        side = item.get(key)
        if not isinstance(side, dict):
            raise ParseError(f"{where}.{key} is not an object")
        wrong = to_float(str(side.get("nwrong")))
        sides.append(NcclSide(time_us=to_float(str(side.get("time"))),
                              algbw_GBps=to_float(str(side.get("alg_bw"))),
                              busbw_GBps=to_float(str(side.get("bus_bw"))),
                              wrong=None if wrong is None else int(wrong)))
    return NcclRow(size_bytes=size, count=count, type=str(item.get("type", "")),
                   redop=str(item.get("redop", "")), out_of_place=sides[0], in_place=sides[1])


def _dedupe(items: list[str], limit: int = 20) -> list[str]:
    return list(dict.fromkeys(items))[:limit]
