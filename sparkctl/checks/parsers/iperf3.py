"""iperf3 client output: human text and `-J` JSON, including the error documents."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, TypedDict, cast

from sparkctl.checks.parsers.common import ParseError, to_float
from sparkctl.checks.text import clean

_RATE_FACTOR = {"bits/sec": 1e-9, "Kbits/sec": 1e-6, "Mbits/sec": 1e-3, "Gbits/sec": 1.0,
                "Tbits/sec": 1e3}
_LINE = re.compile(
    r"^\[\s*(?P<id>\d+|SUM)\]\s+(?P<start>[\d.]+)-\s*(?P<end>[\d.]+)\s+sec\s+"
    r"(?P<transfer>[\d.]+)\s+\w?Bytes\s+(?P<rate>[\d.]+)\s+(?P<unit>\w?bits/sec)"
    r"(?:\s+(?P<jitter>[\d.]+)\s+ms\s+(?P<lost>\d+)/\s*(?P<total>\d+)"
    r"\s+\((?P<pct>[\d.e+-]+)(?:%|&#37;)\))?"
    r"(?:\s+(?P<retr>\d+)(?=\s|$))?(?P<rest>.*)$")
_VERSION = re.compile(r"^iperf (3\.\S+)")
_ERROR = re.compile(r"iperf3?: (error - .*|interrupt - .*)$")
_CONNECTING = re.compile(r"Connecting to host (\S+?),? port (\d+)")


@dataclass(frozen=True)
class Iperf3Result:
    format: str  # "text" or "json"
    version: str | None = None
    remote: str | None = None
    protocol: str | None = None
    streams: int | None = None
    duration_s: float | None = None
    sender_Gbps: float | None = None
    receiver_Gbps: float | None = None
    retransmits: int | None = None
    interval_Gbps: list[float] = field(default_factory=list)  # per-second totals
    errors: list[str] = field(default_factory=list)
    completed: bool = False  # the end-of-test summary is present
    lost_percent: float | None = None  # UDP: datagrams the receiver did not get
    jitter_ms: float | None = None

    def metrics(self) -> dict[str, Any]:
        return {
            "version": self.version, "remote": self.remote, "protocol": self.protocol,
            "streams": self.streams, "duration_s": self.duration_s,
            "sender_Gbps": self.sender_Gbps, "receiver_Gbps": self.receiver_Gbps,
            "retransmits": self.retransmits, "interval_Gbps": list(self.interval_Gbps),
            "errors": list(self.errors), "completed": self.completed,
            "lost_percent": self.lost_percent, "jitter_ms": self.jitter_ms,
        }


class _SummaryLine(TypedDict, total=False):
    id: str
    gbps: float
    retr: int | None


def parse_text(text: str) -> Iperf3Result:
    version = remote = None
    stream_ids: set[str] = set()
    per_interval: dict[tuple[str, str], float] = {}
    sum_intervals: dict[tuple[str, str], float] = {}
    summary: dict[str, _SummaryLine] = {}
    errors: list[str] = []
    duration = None
    loss: tuple[float, float | None] | None = None  # (lost %, jitter ms) of the summary
    udp = False
    for raw in clean(text).lines:
        line = raw.strip()
        if m := _VERSION.match(line):
            version = m.group(1)
        if m := _CONNECTING.search(line):
            remote = f"{m.group(1)}:{m.group(2)}"
        if m := _ERROR.search(line):
            errors.append(m.group(1))
            continue
        m = _LINE.match(line)
        if not m:
            continue
        gbps = float(m.group("rate")) * _RATE_FACTOR.get(m.group("unit"), 0.0)
        rest = m.group("rest")
        role = "sender" if "sender" in rest else "receiver" if "receiver" in rest else None
        if m.group("pct") is not None:
            # UDP: the line with Jitter and Lost/Total is the receiver's report (old iperf3
            # versions print it without the word "receiver").
            udp = True
            role = role or "receiver"
            if m.group("id") == "SUM" or loss is None or role == "receiver":
                loss = (float(m.group("pct")), to_float(m.group("jitter")))
        key = (m.group("start"), m.group("end"))
        if role is None:
            if m.group("id") == "SUM":
                sum_intervals[key] = gbps
            else:
                stream_ids.add(m.group("id"))
                per_interval[key] = per_interval.get(key, 0.0) + gbps
            continue
        # The summary has one line per stream and role; a [SUM] line (several streams) wins.
        if m.group("id") == "SUM" or role not in summary or summary[role].get("id") != "SUM":
            summary[role] = {"id": m.group("id"), "gbps": gbps,
                             "retr": int(m.group("retr")) if m.group("retr") else None}
            duration = to_float(m.group("end"))
        if m.group("id") != "SUM":
            stream_ids.add(m.group("id"))
    intervals = sum_intervals or per_interval
    if not (summary or intervals or errors or version):
        raise ParseError("no iperf3 interval, summary or error lines")
    if len(stream_ids) > 1 and any(v.get("id") != "SUM" for v in summary.values()):
        summary = {}  # several streams but no [SUM] totals: the summary was cut
    sender = summary.get("sender", {})
    receiver = summary.get("receiver", {})
    return Iperf3Result(
        format="text", version=version, remote=remote, protocol="UDP" if udp else None,
        lost_percent=loss[0] if loss else None, jitter_ms=loss[1] if loss else None,
        streams=len(stream_ids) or None, duration_s=duration,
        sender_Gbps=_round(sender.get("gbps")), receiver_Gbps=_round(receiver.get("gbps")),
        retransmits=sender.get("retr"),
        interval_Gbps=[round(v, 3) for v in intervals.values()],
        errors=errors, completed=bool(summary),
    )


def load_json_document(text: str) -> object:
    """The first JSON document in a text, ignoring what comes before (^C, a prompt, banners)
    and after it (iperf3's "interrupt" line)."""
    start = 0
    for match in re.finditer(r"(?m)^\s*\{", text):
        start = match.start()
        break
    try:
        doc, _ = json.JSONDecoder(strict=False).raw_decode(text[start:].lstrip())
    except json.JSONDecodeError as exc:
        raise ParseError(f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg} "
                         "(file cut short?)") from None
    return doc


def parse_json(text: str) -> Iperf3Result:
    doc = load_json_document("\n".join(clean(text).lines))
    if not isinstance(doc, dict) or not ({"start", "end", "intervals", "error"} & set(doc)):
        raise ParseError("JSON lacks iperf3's 'start'/'intervals'/'end' keys")
    # isinstance() of a .get() narrows the call, not the value it returned: hence the casts.
    start = cast(dict[str, Any], doc.get("start") if isinstance(doc.get("start"), dict) else {})
    end = cast(dict[str, Any], doc.get("end") if isinstance(doc.get("end"), dict) else {})
    test = cast(dict[str, Any],
                start.get("test_start") if isinstance(start.get("test_start"), dict) else {})
    connecting = cast(dict[str, Any], start.get("connecting_to")
                      if isinstance(start.get("connecting_to"), dict) else {})
    errors = [doc["error"]] if isinstance(doc.get("error"), str) else []
    sent = _dict(end, "sum_sent") or _dict(end, "sum")
    received = _dict(end, "sum_received") or _dict(end, "sum")
    intervals = []
    for item in doc.get("intervals", []) if isinstance(doc.get("intervals"), list) else []:
        total = _dict(item, "sum") if isinstance(item, dict) else {}
        bps = to_float(str(total.get("bits_per_second")))
        if bps is not None and not total.get("omitted"):
            intervals.append(round(bps / 1e9, 3))
    version = start.get("version") if isinstance(start.get("version"), str) else None
    remote = None
    if connecting.get("host") is not None:
        remote = f"{connecting.get('host')}:{connecting.get('port')}"
    if not (sent or errors or intervals):
        raise ParseError("iperf3 JSON without an end summary, intervals or error")
    retr = sent.get("retransmits")
    udp_sum = _dict(end, "sum_received") or _dict(end, "sum")
    lost = to_float(str(udp_sum.get("lost_percent"))) if "lost_percent" in udp_sum else None
    jitter = to_float(str(udp_sum.get("jitter_ms"))) if "jitter_ms" in udp_sum else None
    return Iperf3Result(
        lost_percent=lost, jitter_ms=jitter,
        format="json", version=version.removeprefix("iperf ") if version else None,
        remote=remote, protocol=test.get("protocol") if isinstance(test.get("protocol"),
                                                                    str) else None,
        streams=test.get("num_streams") if isinstance(test.get("num_streams"), int) else None,
        duration_s=to_float(str(sent.get("seconds"))) if sent else None,
        sender_Gbps=_gbps(sent), receiver_Gbps=_gbps(received),
        retransmits=retr if isinstance(retr, int) else None,
        interval_Gbps=intervals, errors=errors, completed=bool(sent),
    )


def _dict(doc: dict[str, Any], key: str) -> dict[str, Any]:
    value = doc.get(key)
    return value if isinstance(value, dict) else {}


def _gbps(total: dict[str, Any]) -> float | None:
    bps = to_float(str(total.get("bits_per_second"))) if total else None
    return None if bps is None else round(bps / 1e9, 3)


def _round(value: object) -> float | None:
    return round(value, 3) if isinstance(value, float) else None
