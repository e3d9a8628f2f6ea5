"""perftest output (ib_write_bw, ib_write_lat and siblings), client or server side.

Bandwidth is normalised to Gb/s: with `--report_gbits` perftest divides bytes/s by 1.25e8
(Gb/s); without it, by 0x100000, so "MB/sec" there is MiB/s (perftest_resources.c,
`format_factor`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from sparkctl.checks.parsers.common import ParseError, to_float, to_int
from sparkctl.checks.text import clean, find_phrases, phrase

MIB_PER_S_TO_GBPS = 1048576 * 8 / 1e9

# "RDMA_Write BW Test", "Send Latency Test", "RDMA_Write Post List BW Test", "Atomic FETCH_AND_ADD
# BW Test", "RDMA_Write Bidirectional BW Test"...
_TEST_TITLE = re.compile(r"^\s*((?:RDMA_Write|RDMA_Read|Send|Atomic)\b[\w ]*? (?:BW|Latency) Test)"
                         r"\s*$")
_KIND = re.compile(r"^(RDMA_Write|RDMA_Read|Send|Atomic)\b.* (BW|Latency) Test$")
_TOOLS = {
    "RDMA_Write BW Test": "ib_write_bw", "RDMA_Write Latency Test": "ib_write_lat",
    "RDMA_Read BW Test": "ib_read_bw", "RDMA_Read Latency Test": "ib_read_lat",
    "Send BW Test": "ib_send_bw", "Send Latency Test": "ib_send_lat",
}
_DEVICE = re.compile(r"Device\s*:\s*(\S+)")
_QPS = re.compile(r"Number of qps\s*:\s*(\d+)")
_MTU = re.compile(r"Mtu\s*:\s*(\d+)\[B\]")
_LINK = re.compile(r"Link type\s*:\s*(\w+)")
_GID = re.compile(r"GID index\s*:\s*(\d+)")
_BW_HEADER = re.compile(r"BW peak\[(Gb/sec|MB/sec)\]\s+BW average\[(Gb/sec|MB/sec)\]"
                        r"\s+MsgRate\[Mpps\](?P<cpu>\s+CPU_Util\[%\])?")
_LAT_HEADER = re.compile(r"t_min\[usec\]")
_STATUS = re.compile(r"Failed status (\d+)")

_ERROR_MARKERS = (
    "Did not detect devices", "Unable to find the Infiniband/RoCE device", "not found",
    "Couldn't read remote address", "Unable to read to socket/rdma_cm",
    "Failed to exchange data between server and clients", "Failed to modify QP",
    "Unable to Connect the HCA's through the link", "Completion with error", "Failed status",
    "Couldn't connect to", "Unable to open file descriptor", "Couldn't get device",
    "Couldn't allocate", "Couldn't create", "Unable to init the socket connection",
    "Port number invalid", "Couldn't listen", "failed to",
)
_ERROR_PHRASES = tuple(map(phrase, _ERROR_MARKERS))


@dataclass(frozen=True)
class BandwidthRow:
    size_bytes: int
    iterations: int
    peak_Gbps: float | None  # None where perftest did not measure it (prints 0.00)
    average_Gbps: float
    msg_rate_Mpps: float | None

    def to_dict(self) -> dict[str, Any]:
        return {"size_bytes": self.size_bytes, "iterations": self.iterations,
                "peak_Gbps": self.peak_Gbps, "average_Gbps": self.average_Gbps,
                "msg_rate_Mpps": self.msg_rate_Mpps}


@dataclass(frozen=True)
class LatencyRow:
    size_bytes: int
    iterations: int
    t_min_us: float | None
    t_max_us: float | None
    t_typical_us: float | None
    t_avg_us: float | None
    t_stdev_us: float | None

    def to_dict(self) -> dict[str, Any]:
        return {"size_bytes": self.size_bytes, "iterations": self.iterations,
                "t_min_us": self.t_min_us, "t_max_us": self.t_max_us,
                "t_typical_us": self.t_typical_us, "t_avg_us": self.t_avg_us,
                "t_stdev_us": self.t_stdev_us}


@dataclass(frozen=True)
class PerftestResult:
    tool: str  # ib_write_bw, ib_write_lat, ... or "perftest" when only errors were printed
    test: str | None
    devices: list[str] = field(default_factory=list)
    qps: int | None = None
    mtu_bytes: int | None = None
    link_type: str | None = None
    gid_index: int | None = None
    reported_unit: str | None = None  # "Gb/sec" or "MB/sec" as printed; None without header
    bandwidth_rows: list[BandwidthRow] = field(default_factory=list)
    latency_rows: list[LatencyRow] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    completion_status: int | None = None  # ibv_wc_status from "Failed status N"
    server_waiting: bool = False
    unitless_rows: int = 0  # bandwidth-shaped rows seen without a header to give their unit

    @property
    def largest_size(self) -> int | None:
        sizes = [r.size_bytes for r in self.bandwidth_rows] + [r.size_bytes
                                                               for r in self.latency_rows]
        return max(sizes, default=None)

    @property
    def peak_Gbps(self) -> float | None:
        peaks = [r.peak_Gbps for r in self.bandwidth_rows if r.peak_Gbps is not None]
        return max(peaks) if peaks else None

    @property
    def average_Gbps(self) -> float | None:
        """Bandwidth at the largest message size; the lowest sample there if several.

        Several rows of one size come from --run_infinitely samples or from two clients
        sharing a terminal; every one of them must reach the rail's rate, hence the minimum.
        """
        if not self.bandwidth_rows:
            return None
        largest = max(r.size_bytes for r in self.bandwidth_rows)
        return min(r.average_Gbps for r in self.bandwidth_rows if r.size_bytes == largest)

    def metrics(self) -> dict[str, Any]:
        return {
            "test": self.test, "devices": list(self.devices), "qps": self.qps,
            "mtu_bytes": self.mtu_bytes, "link_type": self.link_type,
            "gid_index": self.gid_index, "reported_unit": self.reported_unit,
            "rows": [r.to_dict() for r in self.bandwidth_rows]
            + [r.to_dict() for r in self.latency_rows],
            "peak_Gbps": self.peak_Gbps, "average_Gbps": self.average_Gbps,
            "errors": list(self.errors), "completion_status": self.completion_status,
            "server_waiting": self.server_waiting, "unitless_rows": self.unitless_rows,
        }


def parse(text: str) -> PerftestResult:
    """Banner, table header and rows wherever they are; rows without a header have no unit.

    Tabs, extra header fields of newer perftest versions, CPU_Util columns and unrelated lines
    between the header and the rows change nothing: rows are read by their shape under the
    last table header seen.
    """
    test = unit = link = None
    devices: list[str] = []
    qps = mtu = gid = status = None
    bw_rows: list[BandwidthRow] = []
    lat_rows: list[LatencyRow] = []
    errors: list[str] = []
    waiting = False
    unitless = 0
    table = None  # "bw" or "lat" once a table header was seen
    cpu_column = False
    row: BandwidthRow | LatencyRow | None  # the walrus below holds one table's row or the other
    for raw in clean(text).lines:
        line = raw.strip()
        if not line:
            continue
        if m := _TEST_TITLE.match(line):
            test = test or " ".join(m.group(1).split())
            continue
        if m := _DEVICE.search(line):
            if m.group(1) not in devices:
                devices.append(m.group(1))
        if qps is None and (m := _QPS.search(line)):
            qps = int(m.group(1))
        if mtu is None and (m := _MTU.search(line)):
            mtu = int(m.group(1))
        if link is None and (m := _LINK.search(line)):
            link = m.group(1)
        if gid is None and (m := _GID.search(line)):
            gid = int(m.group(1))
        if m := _BW_HEADER.search(line):
            table, unit, cpu_column = "bw", m.group(2), bool(m.group("cpu"))
            continue
        if _LAT_HEADER.search(line):
            table = "lat"
            continue
        if "Waiting for client to connect" in line:
            waiting = True
            continue
        if table == "bw" and (row := _bw_row(line, unit, cpu_column)):
            bw_rows.append(row)
            continue
        if table == "lat" and (row := _lat_row(line)):
            lat_rows.append(row)
            continue
        if table is None and _bw_row(line, None, False):
            unitless += 1
            continue
        if find_phrases(_ERROR_PHRASES, line):
            errors.append(line)
            if m := _STATUS.search(line):
                status = int(m.group(1))
    if not (bw_rows or lat_rows or errors or waiting or unitless):
        if test:
            raise ParseError(f"perftest '{test}' banner but no result rows (cut before results?)")
        raise ParseError("no perftest banner, result rows or error lines")
    tool = tool_of(test)
    return PerftestResult(
        tool=tool, test=test, devices=devices, qps=qps, mtu_bytes=mtu, link_type=link,
        gid_index=gid, reported_unit=unit, bandwidth_rows=bw_rows, latency_rows=lat_rows,
        errors=list(dict.fromkeys(errors)), completion_status=status, server_waiting=waiting,
        unitless_rows=unitless,
    )


def _numbers(line: str) -> list[float] | None:
    tokens = line.split()
    values = [to_float(t) for t in tokens]
    if not tokens or any(v is None for v in values):
        return None
    return values  # type: ignore[return-value]


def _bw_row(line: str, unit: str | None, cpu_column: bool) -> BandwidthRow | None:
    values = _numbers(line)
    if values is None or len(values) != (6 if cpu_column else 5):
        return None
    size, iters = to_int(line.split()[0]), to_int(line.split()[1])
    if size is None or iters is None:
        return None
    factor = MIB_PER_S_TO_GBPS if unit == "MB/sec" else 1.0
    peak = values[2] * factor
    return BandwidthRow(size_bytes=size, iterations=iters,
                        peak_Gbps=round(peak, 3) if peak > 0 else None,
                        average_Gbps=round(values[3] * factor, 3), msg_rate_Mpps=values[4])


def _lat_row(line: str) -> LatencyRow | None:
    values = _numbers(line)
    if values is None or len(values) < 7:
        return None
    size, iters = to_int(line.split()[0]), to_int(line.split()[1])
    if size is None or iters is None:
        return None
    return LatencyRow(size_bytes=size, iterations=iters, t_min_us=values[2], t_max_us=values[3],
                      t_typical_us=values[4], t_avg_us=values[5], t_stdev_us=values[6])


def tool_of(test: str | None) -> str:
    """ib_write_bw for "RDMA_Write BW Test" and its variants ("RDMA_Write Post List BW Test")."""
    if test in _TOOLS:
        return _TOOLS[test]
    m = _KIND.match(test or "")
    if not m:
        return "perftest"
    verb = {"RDMA_Write": "write", "RDMA_Read": "read", "Send": "send",
            "Atomic": "atomic"}[m.group(1)]
    return f"ib_{verb}_{'bw' if m.group(2) == 'BW' else 'lat'}"
