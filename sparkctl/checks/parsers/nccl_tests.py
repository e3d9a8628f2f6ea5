"""nccl-tests output (any collective): the text table and the `-J` JSON document.

The text also carries whatever NCCL_DEBUG lines and mpirun banners were printed around it;
those feed `transport` and `errors`.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any, cast

from sparkctl.checks.parsers import nccl_debug
from sparkctl.checks.parsers.common import ParseError, to_float, to_int
from sparkctl.checks.text import clean, find_phrases, phrase

_COLLECTIVE = re.compile(r"Collective test (?:starting|concluded): (\S+)")
_COMMAND = re.compile(r"(?:^|/)(\w+?_perf)(?:_mpi)?\b")
_RANK = re.compile(r"^#\s+Rank\s+(\d+)\s+(?:Group\s+\d+\s+)?Pid\s+\d+\s+on\s+(\S+)")
_OOB = re.compile(r"Out of bounds values\s*:\s*(\d+)")
_AVG = re.compile(r"Avg bus bandwidth\s*:\s*(\S+)")
_VERSION = re.compile(r"nccl-tests version (\S+)")
_CONCLUDED = "Collective test concluded"

# Lines that say a run failed, from nccl-tests itself and from Open MPI around it.
_ERROR_MARKERS = (
    "Test NCCL failure", "Test CUDA failure", "Test failure", "Invalid number of GPUs",
    "NCCL WARN", "ORTE was unable to reliably start", "mpirun detected that one or more",
    "mpirun noticed that process", "Primary job  terminated normally", "Could not resolve hostname",
    "There are not enough slots available", "MPI_ABORT was invoked", "prterun was unable",
    "PRTE has lost communication with a remote daemon", "daemon has unexpectedly failed",
    "prterun detected that one or more", "returned a non-zero exit code",
    "ssh_exchange_identification", "Host key verification failed", "ORTE does not know",
    "NCCL error", "Cuda failure", "ibv_modify_qp failed",
)
_ERROR_PHRASES = tuple(map(phrase, _ERROR_MARKERS))


@dataclass(frozen=True)
class NcclSide:
    time_us: float | None
    algbw_GBps: float | None
    busbw_GBps: float | None
    wrong: int | None  # None where nccl-tests printed N/A (validation off)
    max_error: float | None = None  # old layout's "error" column (max deviation, e.g. 1e-06)

    def to_dict(self) -> dict[str, Any]:
        return {"time_us": self.time_us, "algbw_GBps": self.algbw_GBps,
                "busbw_GBps": self.busbw_GBps, "wrong": self.wrong, "max_error": self.max_error}


@dataclass(frozen=True)
class NcclRow:
    size_bytes: int
    count: int
    type: str
    redop: str
    out_of_place: NcclSide
    in_place: NcclSide
    layout: str = "redop+root"  # which header columns the row has (see _Layout)

    def to_dict(self) -> dict[str, Any]:
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
    nccl_version: str | None = None  # from "nccl-library=22809" or "NCCL version 2.28.9+..."
    # Mean busbw of every row's both sides (what nccl-tests prints as "# Avg bus bandwidth"),
    # computed only where that line is missing; named so that it is never taken for printed.
    avg_busbw_computed_GBps: float | None = None
    layout: str | None = None

    @property
    def largest_size(self) -> int | None:
        return max((r.size_bytes for r in self.rows), default=None)

    def metrics(self) -> dict[str, Any]:
        """The DESIGN.md metrics shape for nccl-tests, then what this wave added."""
        return {
            "collective": self.collective,
            "rows": [r.to_dict() for r in self.rows],
            "avg_busbw_GBps": self.avg_busbw_GBps,
            "out_of_bounds": self.out_of_bounds,
            "transport": self.transport,
            "errors": list(self.errors),
            "avg_busbw_computed_GBps": self.avg_busbw_computed_GBps,
            "nccl_version": self.nccl_version,
            "tests_version": self.tests_version,
            "nranks": self.nranks,
            "hosts": list(self.hosts),
            "concluded": self.concluded,
            "layout": self.layout,
        }


def collective_name(program: str) -> str:
    name = os.path.basename(program.strip())
    for suffix in ("_mpi", "_perf"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
    return name


def parse_text(text: str) -> NcclTestsResult:
    """Rows are found by their shape, wherever the paste starts; the header names the layout.

    With a header (`size count type redop root time algbw busbw #wrong ...`, also the old one
    with `error` and no root) the row layout comes from it; without one, from the number of
    fields in the row. Rank tags (`[1]`) that MPI output tagging leaves in rows are ignored.
    """
    lines = clean(text).lines
    collective = tests_version = library = None
    rows: list[NcclRow] = []
    oob = avg = None
    ranks: dict[int, str] = {}
    errors: list[str] = []
    concluded = False
    layout: _Layout | None = None
    time_scale = 1.0
    for raw in lines:
        line = raw.strip()
        if not line:
            continue
        if (header := _header_layout(line)) is not None:
            layout = header
            continue
        if _UNITS_MS.search(line):
            time_scale = 1000.0
            continue
        if line.startswith("#") or _HEADERLESS.match(line):
            comment = line.lstrip("#").strip()
            if collective is None and (m := _COLLECTIVE.search(line)):
                collective = collective_name(m.group(1))
            elif m := _RANK.match("# " + comment):
                ranks[int(m.group(1))] = m.group(2)
            elif m := _OOB.search(line):
                oob = int(m.group(1))
                concluded = True
            elif m := _AVG.search(line):
                avg = to_float(m.group(1))
                concluded = True
            elif m := _VERSION.search(line):
                tests_version = m.group(1)
                if lib := _LIBRARY.search(line):
                    library = lib.group(1)
            elif _CONCLUDED in line:
                concluded = True
            continue
        row = _parse_row(line, layout, time_scale)
        if row is not None:
            rows.append(row)
            continue
        if find_phrases(_ERROR_PHRASES, line):
            errors.append(line)
        if collective is None and (m := _COMMAND.search(line)) and "perf" in line:
            collective = collective_name(m.group(1))
    debug = nccl_debug.scan("\n".join(lines))
    if not rows and not errors:
        raise ParseError("no result rows and no error lines: the output ends before the first "
                         "measurement (cut short, or only the header was saved)")
    version = debug.nccl_version
    if library and (parsed := _version_from_code(library)):
        version = version or parsed
    computed = None
    if avg is None and rows:
        sides = [v for r in rows for v in (r.out_of_place.busbw_GBps, r.in_place.busbw_GBps)
                 if v is not None]
        computed = round(sum(sides) / len(sides), 4) if sides else None
    return NcclTestsResult(
        collective=collective, rows=rows, avg_busbw_GBps=avg, out_of_bounds=oob,
        transport=debug.transport, errors=_dedupe(errors), format="text",
        nranks=len(ranks) or None, hosts=sorted(set(ranks.values())), concluded=concluded,
        tests_version=tests_version, debug=debug if debug.nccl_lines else None,
        nccl_version=version, avg_busbw_computed_GBps=computed,
        layout=layout.name if layout else (rows[0].layout if rows else None),
    )


@dataclass(frozen=True)
class _Layout:
    name: str  # "redop+root", "redop", "root" or "plain"
    head: int  # fields before the out-of-place side
    wrong_is_count: bool  # "#wrong" (a count) or the old "error" (max deviation)


_HEADER = re.compile(
    r"size\s+count\s+type(?P<redop>\s+redop)?(?P<root>\s+root)?\s+time\s+algbw\s+busbw\s+"
    r"(?P<wrong>#\s?wrong|error)\b")
_UNITS_MS = re.compile(r"\(B\)\s+\(elements\)\s+\(ms\)")
# nccl-tests' comment lines as pastes show them when markdown ate the "#" (GitHub headings).
_HEADERLESS = re.compile(r"^(?:nThread \d+ nGpus|Using devices$|Rank\s+\d+ (?:Group|Pid)|"
                         r"out-of-place\s+in-place$|\(B\)\s+\(elements\)|Out of bounds values|"
                         r"Avg bus bandwidth|Collective test (?:starting|concluded)|nccl-tests "
                         r"version)")
_LIBRARY = re.compile(r"nccl-library=(\d+)")


def _header_layout(line: str) -> _Layout | None:
    m = _HEADER.search(line)
    if not m:
        return None
    redop, root = bool(m.group("redop")), bool(m.group("root"))
    name = "redop+root" if redop and root else "redop" if redop else "root" if root else "plain"
    return _Layout(name=name, head=3 + redop + root, wrong_is_count="wrong" in m.group("wrong"))


def _version_from_code(code: str) -> str | None:
    from sparkctl.checks.judge.collective import nccl_version_tuple

    parsed = nccl_version_tuple(code)
    return ".".join(map(str, parsed)) if parsed else None


def _parse_row(line: str, layout: _Layout | None, time_scale: float = 1.0) -> NcclRow | None:
    tokens = [t for t in line.split() if not _RANK_TAG.match(t)]
    head_sizes = (layout.head,) if layout else (5, 4, 3)
    for head in head_sizes:
        if len(tokens) != head + 8:
            continue
        row = _row(tokens, head, layout, time_scale)
        if row is not None:
            return row
    return None


_RANK_TAG = re.compile(r"^\[\d+(?:,\d+)?\](?:<\w+>:)?$")


def _row(tokens: list[str], head: int, layout: _Layout | None,
         time_scale: float) -> NcclRow | None:
    size, count = to_int(tokens[0]), to_int(tokens[1])
    if size is None or count is None or size < 0 or count < 0:
        return None
    if not tokens[2].isidentifier():
        return None
    redop = ""
    name = "plain"
    if head == 5:
        if not tokens[3].isidentifier() or to_int(tokens[4]) is None:
            return None
        redop, name = tokens[3], "redop+root"
    elif head == 4:
        if layout is not None and layout.name == "root" or tokens[3].lstrip("-").isdigit():
            if to_int(tokens[3]) is None:
                return None
            name = "root"
        elif tokens[3].isidentifier():
            redop, name = tokens[3], "redop"
        else:
            return None
    sides = tokens[head:]
    if not all(_is_field(t) for t in sides):
        return None
    count_wrong = layout.wrong_is_count if layout else not _looks_like_deviation(sides)
    return NcclRow(size_bytes=size, count=count, type=tokens[2], redop=redop,
                   out_of_place=_side(sides[:4], count_wrong, time_scale),
                   in_place=_side(sides[4:], count_wrong, time_scale), layout=name)


def _looks_like_deviation(sides: list[str]) -> bool:
    """The old `error` column prints a float like 0e+00 or 1e-06, `#wrong` an integer."""
    return any("e" in t.lower() or "." in t for t in (sides[3], sides[7]) if t != "N/A")


def _is_field(token: str) -> bool:
    return token == "N/A" or to_float(token.rstrip("*")) is not None


def _side(fields: list[str], count_wrong: bool, time_scale: float) -> NcclSide:
    time = to_float(fields[0])
    wrong_token = fields[3]
    flagged = wrong_token.endswith("*")  # old nccl-tests marked a failed check with "*"
    if count_wrong:
        wrong, deviation = to_int(wrong_token), None
    else:
        deviation = to_float(wrong_token.rstrip("*"))
        wrong = 1 if flagged else (None if deviation is None else 0)
    return NcclSide(time_us=None if time is None else round(time * time_scale, 3),
                    algbw_GBps=to_float(fields[1]), busbw_GBps=to_float(fields[2]),
                    wrong=wrong, max_error=deviation)


def parse_json(text: str) -> NcclTestsResult:
    from sparkctl.checks.parsers.iperf3 import load_json_document

    doc = load_json_document("\n".join(clean(text).lines))
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
    # isinstance() of a .get() narrows the call, not the value it returned: hence the casts.
    config = cast(dict[str, Any], doc.get("config") if isinstance(doc.get("config"), dict) else {})
    devices = cast(list[Any],
                   config.get("devices") if isinstance(config.get("devices"), list) else [])
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
