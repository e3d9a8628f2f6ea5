"""`sparkctl analyze`'s core: clean, split, detect, parse, judge; never raise on bad input.

Every input yields one `Analysis`. Text that is empty, binary, cut short or not any known
tool's output gives verdict `unparseable` with the reason, never an exception. A paste holding
several tools' outputs is split (`split.py`) and each part analysed; the `Analysis` then lists
them in `parts` and its verdict is the worst part's.

Verdicts: pass, degraded, fail; `incomplete` when the input could be judged if what the
diagnosis names were there (a sweep cut before saturating sizes, one counter snapshot);
`unparseable` when there is nothing to judge.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypedDict, Unpack

from sparkctl.checks import detect as D
from sparkctl.checks import thresholds as T
from sparkctl.checks.judge import collective as JC
from sparkctl.checks.judge import counters as JN
from sparkctl.checks.judge import gpu as JG
from sparkctl.checks.judge import links as JL
from sparkctl.checks.judge import logs as JO
from sparkctl.checks.judge import rails as JR
from sparkctl.checks.judge.base import Judgement
from sparkctl.checks.parsers import (
    ethtool,
    iperf3,
    lspci,
    nccl_debug,
    nccl_tests,
    nvidia_smi,
    perftest,
    rdma_stats,
)
from sparkctl.checks.parsers import rdma as rdma_parser
from sparkctl.checks.parsers.common import ParseError
from sparkctl.checks.result import Verdict
from sparkctl.checks.split import Part, split
from sparkctl.checks.text import clean
from sparkctl.errors import InputError

UNPARSEABLE = "unparseable"
INCOMPLETE = "incomplete"
MULTIPLE = "multiple"
PARSER_BUG = "sparkctl's parser failed on this input (a sparkctl bug; please report it)"
MAX_BYTES = 64 * 1024 * 1024  # logs larger than this are not tool output we know
VERDICTS = ("pass", "degraded", "fail", INCOMPLETE, UNPARSEABLE)
_SEVERITY = {"pass": 0, INCOMPLETE: 1, "degraded": 2, "fail": 3}


@dataclass(frozen=True)
class Analysis:
    file: str
    tool: str
    verdict: str  # pass, degraded, fail, incomplete or unparseable
    diagnosis: str
    metrics: dict[str, Any] = field(default_factory=dict)
    parts: list[dict[str, Any]] | None = None  # several tools' outputs in one input
    lines: tuple[int, int] | None = None  # where a part sits in its input
    command: str | None = None  # the command typed at the prompt before a part

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"file": self.file, "tool": self.tool, "metrics": self.metrics,
               "verdict": self.verdict, "diagnosis": self.diagnosis}
        if self.parts is not None:
            out["parts"] = self.parts
        return out

    def part_dict(self) -> dict[str, Any]:
        return {"lines": list(self.lines) if self.lines else None, "command": self.command,
                "tool": self.tool, "metrics": self.metrics, "verdict": self.verdict,
                "diagnosis": self.diagnosis}


def analyze_file(path: str | Path, *, topology: str | None = None) -> Analysis:
    """Read and analyze one regular file; anything else is an InputError (exit 2).

    A FIFO, a device or a socket is refused before it is opened: reading one can block for
    ever (a FIFO nobody writes to) or never end (/dev/zero).
    """
    path = Path(path)
    try:
        info = os.stat(path)
        if stat.S_ISDIR(info.st_mode):
            raise InputError(f"{path}: is a directory, not a tool output file",
                             hint="pass the files inside it, e.g. DIR/*.txt")
        if not stat.S_ISREG(info.st_mode):
            raise InputError(f"{path}: not a regular file ({_file_kind(info.st_mode)})",
                             hint="save the output to a file first, or pipe it: "
                                  "... | sparkctl analyze -")
        with path.open("rb") as handle:
            data = handle.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise InputError(f"{path}: no such file",
                         hint="pass files saved from nccl-tests, ib_write_bw, iperf3, ethtool, "
                              "ibv_devinfo or nvidia-smi") from None
    except PermissionError:
        raise InputError(f"{path}: permission denied", hint="make the file readable") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None
    return analyze_bytes(data, name=str(path), topology=topology)


def _file_kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a plain file"


def analyze_bytes(data: bytes, *, name: str, topology: str | None = None) -> Analysis:
    if len(data) > MAX_BYTES:
        return _unparseable(name, UNPARSEABLE, f"larger than {MAX_BYTES // 2**20} MiB: not a "
                                               "tool output analyze knows")
    if not data.strip():
        return _unparseable(name, UNPARSEABLE, "empty file")
    if _looks_binary(data):
        return _unparseable(name, UNPARSEABLE, "binary data, not text output of a tool")
    return analyze_text(data.decode("utf-8", errors="replace"), name=name, topology=topology)


def _looks_binary(data: bytes) -> bool:
    sample = data[:8192]
    if b"\x00" in sample:
        return True
    controls = sum(1 for b in sample if b < 32 and b not in (9, 10, 13, 12, 27))
    return controls > len(sample) * 0.05


def analyze_text(text: str, *, name: str = "<text>", topology: str | None = None) -> Analysis:
    T.collective_expectation(topology)  # an unknown topology is a usage error, before anything
    cleaned = clean(text)
    parts = split(cleaned.lines)
    results = [analyze_part(p, name=name, topology=topology) for p in parts]
    known = [r for r in results if not _is_noise(r)]
    if not known:
        return results[0] if len(results) == 1 else _unparseable(
            name, UNPARSEABLE, _NOT_A_TOOL)
    known = _pair_snapshots(known, name)
    if len(known) == 1:
        only = known[0]
        return Analysis(file=name, tool=only.tool, verdict=only.verdict,
                        diagnosis=only.diagnosis, metrics=only.metrics)
    return _combine(name, known)


_NOT_A_TOOL = ("not output of a tool analyze knows (nccl-tests, NCCL_DEBUG log, perftest, "
               "iperf3, ethtool, ibv_devinfo/ibdev2netdev/rdma link/ibstat, rdma stat, "
               "lspci -vv, nvidia-smi)")


def _is_noise(result: Analysis) -> bool:
    return result.tool == UNPARSEABLE and result.verdict == UNPARSEABLE


def analyze_part(part: Part, *, name: str, topology: str | None) -> Analysis:
    text = part.text
    tool = D.detect(text, part.command)
    where: _Where = dict(lines=(part.first_line, part.last_line), command=part.command)
    if tool is None:
        return _unparseable(name, UNPARSEABLE, _NOT_A_TOOL, **where)
    if tool in D.RECOGNISED_ONLY:
        return _unparseable(name, tool, f"recognised as {D.RECOGNISED_ONLY[tool]}, which "
                                        "analyze does not judge", **where)
    context = _Context(name=name, topology=topology, command=part.command)
    try:
        result = _ANALYZERS[tool](text, context)
    except ParseError as exc:
        return _unparseable(name, _TOOL_LABEL.get(tool, tool), exc.reason, **where)
    except RecursionError:
        return _unparseable(name, _TOOL_LABEL.get(tool, tool), "nesting too deep to parse",
                            **where)
    except Exception as exc:  # a parser bug must not crash a multi-file run; tests forbid it
        return _unparseable(name, _TOOL_LABEL.get(tool, tool),
                            f"{PARSER_BUG}: {type(exc).__name__}: {exc}", **where)
    return Analysis(file=result.file, tool=result.tool, verdict=result.verdict,
                    diagnosis=result.diagnosis, metrics=result.metrics, **where)


class _Where(TypedDict, total=False):
    """Where a part sits in its input (Analysis.lines, Analysis.command)."""

    lines: tuple[int, int] | None
    command: str | None


@dataclass(frozen=True)
class _Context:
    name: str
    topology: str | None
    command: str | None


_TOOL_LABEL = {
    D.NCCL_TESTS_JSON: "nccl-tests", D.IPERF3_JSON: "iperf3", D.NVIDIA_SMI_XML: "nvidia-smi",
    D.NVIDIA_SMI_CSV: "nvidia-smi", D.NVIDIA_SMI_QUERY: "nvidia-smi", D.RDMA: "rdma",
    D.NVIDIA_SMI_FAILURE: "nvidia-smi", D.LSPCI: "lspci", D.RDMA_STATS: "rdma stat",
}


def _unparseable(name: str, tool: str, reason: str, **where: Unpack[_Where]) -> Analysis:
    return Analysis(file=name, tool=tool, verdict=UNPARSEABLE, diagnosis=reason, metrics={},
                    **where)


def _result(name: str, tool: str, metrics: dict[str, Any], judgement: Judgement,
            notes: list[str] | None = None) -> Analysis:
    diagnosis = judgement.diagnosis
    if judgement.hint:
        diagnosis += f" Fix: {judgement.hint}"
    if notes:
        diagnosis += " Note: " + " ".join(notes)
    if judgement.verdict is not None:
        verdict = str(judgement.verdict)
    elif judgement.incomplete:
        verdict = INCOMPLETE
        diagnosis = f"incomplete: {diagnosis} Missing: {judgement.missing}."
        metrics = {**metrics, "missing": judgement.missing}
    else:
        verdict = UNPARSEABLE
        diagnosis = "nothing to judge: " + diagnosis
    return Analysis(file=name, tool=tool, verdict=verdict, diagnosis=diagnosis, metrics=metrics)


# --- several parts in one input ----------------------------------------------------------

def _combine(name: str, parts: list[Analysis]) -> Analysis:
    judged = [p for p in parts if p.verdict in _SEVERITY]
    unreadable = [p for p in parts if p.verdict == UNPARSEABLE and not p.metrics
                  and p.tool not in D.RECOGNISED_ONLY]
    if judged:
        verdict = max((p.verdict for p in judged), key=_SEVERITY.__getitem__)
        if verdict == "pass" and unreadable:
            verdict = INCOMPLETE
    else:
        verdict = UNPARSEABLE
    summary = "; ".join(f"{p.tool} (lines {p.lines[0]}-{p.lines[1]}): {p.verdict}"
                        if p.lines else f"{p.tool}: {p.verdict}" for p in parts)
    worst = next((p for p in parts if p.verdict == verdict), None)
    diagnosis = f"{len(parts)} outputs in one input: {summary}."
    if worst is not None and verdict != "pass":
        diagnosis += f" Worst: {worst.diagnosis}"
    if verdict == INCOMPLETE and unreadable and (worst is None or worst.verdict == "pass"):
        diagnosis += " Unreadable: " + "; ".join(p.diagnosis for p in unreadable[:3])
    return Analysis(file=name, tool=MULTIPLE, verdict=verdict, diagnosis=diagnosis,
                    metrics={"parts": len(parts), "tools": [p.tool for p in parts]},
                    parts=[p.part_dict() for p in parts])


def _pair_snapshots(parts: list[Analysis], name: str) -> list[Analysis]:
    """Two snapshots of the same counters (before/after a test) become one delta judgement."""
    out: list[Analysis] = []
    i = 0
    while i < len(parts):
        first = parts[i]
        second = parts[i + 1] if i + 1 < len(parts) else None
        key = _snapshot_key(first)
        if key is not None and second is not None and _snapshot_key(second) == key:
            before, after = _snapshot_counters(first), _snapshot_counters(second)
            delta = JN.counter_delta(before, after)
            judgement = JN.judge_counter_delta(delta)
            result = _result(name, first.tool, {"kind": "counter-delta", **delta.metrics()},
                             judgement)
            lines = (first.lines[0], second.lines[1]) if first.lines and second.lines else None
            out.append(Analysis(file=name, tool=first.tool, verdict=result.verdict,
                                diagnosis=result.diagnosis, metrics=result.metrics,
                                lines=lines, command=first.command))
            i += 2
            continue
        out.append(first)
        i += 1
    return out


def _snapshot_key(part: Analysis) -> tuple[str, object] | None:
    kind = part.metrics.get("kind")
    if part.tool == "ethtool" and kind == "statistics":
        return ("ethtool", _interface_of(part.command))
    if part.tool == "rdma stat" and part.metrics.get("counters"):
        return ("rdma stat", tuple(sorted(part.metrics["counters"])))
    return None


def _snapshot_counters(part: Analysis) -> dict[str, int]:
    """One snapshot's counters; a device's name is kept only where there are several."""
    if part.tool == "ethtool":
        return dict(part.metrics["counters"])
    devices = part.metrics["counters"]
    merged: dict[str, int] = {}
    for device, values in devices.items():
        merged.update({(k if len(devices) == 1 else f"{device}:{k}"): v
                       for k, v in values.items()})
    return merged


def _interface_of(command: str | None) -> str | None:
    words = (command or "").split("|")[0].split()
    for flag in ("-S", "--statistics", "-i", "--driver", "--show-fec"):
        if flag in words and words.index(flag) + 1 < len(words):
            return words[words.index(flag) + 1]
    if words and words[0] in ("ethtool", "sudo") and len(words) > 1:
        return words[-1] if not words[-1].startswith("-") else None
    return None


# --- per tool --------------------------------------------------------------------------------

def _nccl_tests_text(text: str, ctx: _Context) -> Analysis:
    return _nccl_tests(nccl_tests.parse_text(text), ctx, "nccl-tests")


def _mpirun(text: str, ctx: _Context) -> Analysis:
    return _nccl_tests(nccl_tests.parse_text(text), ctx, "mpirun")


def _nccl_tests_json(text: str, ctx: _Context) -> Analysis:
    return _nccl_tests(nccl_tests.parse_json(text), ctx, "nccl-tests")


def _nccl_tests(run: nccl_tests.NcclTestsResult, ctx: _Context, tool: str) -> Analysis:
    return _result(ctx.name, tool, run.metrics(), *judge_nccl_tests(run, ctx.topology))


def judge_nccl_tests(run: nccl_tests.NcclTestsResult,
                     topology: str | None) -> tuple[Judgement, list[str]]:
    """Judge one nccl-tests run: errors, corruption, then saturated busbw vs the topology.

    No verdict without the input to support it: a sweep that never reached a saturating size,
    or one cut before its summary lines, is incomplete (the missing part named), not judged
    on whatever small-message busbw it holds.
    """
    notes: list[str] = []
    version = run.nccl_version
    if not run.rows:
        return JO.judge_nccl_errors(run.errors, nccl_version=version, topology=topology), notes
    corrupt = JC.judge_corruption(run.out_of_bounds, sum(r.wrong_total for r in run.rows))
    if corrupt:
        return corrupt, notes
    if run.errors:
        return JO.judge_nccl_errors(run.errors, nccl_version=version, topology=topology), notes
    release = run.debug.nccl_release if run.debug else None
    if run.nranks == 1 or topology == "single":
        if run.debug is not None and run.debug.ib_unusable:
            return JO.judge_nccl_network(run.transport, run.debug.ib_devices, ib_unusable=True,
                                         warnings=[], nccl_release=release), notes
        if run.transport == "Socket":
            return Judgement(
                Verdict.DEGRADED,
                "Single rank, so no bandwidth was measured, but NCCL chose NET/Socket: a "
                "multi-node run from this setup would use TCP (~3 GB/s).",
                "Make RDMA devices visible to NCCL (rdma-core, /dev/infiniband)."), notes
        if run.nranks == 1:
            return Judgement(Verdict.PASS,
                             "Single rank: the run completed without errors; busbw is 0 for "
                             "one rank, so no network bandwidth was measured."), notes
        return Judgement(Verdict.PASS,
                         "--topology single: nothing crosses the network, so busbw has no "
                         "expectation; the run completed without errors."), notes
    if run.collective and run.collective not in T.JUDGED_COLLECTIVES:
        return Judgement(Verdict.PASS,
                         f"{run.collective} completed without errors; sparkctl has no "
                         f"bandwidth threshold for {run.collective}."), notes
    points = [(r.size_bytes, r.best_busbw_GBps) for r in run.rows
              if r.best_busbw_GBps is not None]
    saturated = JC.saturated_busbw(points)
    if saturated is None:
        return Judgement(None, "no busbw values in the result rows."), notes
    busbw, largest = saturated
    short = JC.judge_saturation(largest, run.collective)
    if short is not None:
        return short, notes
    if not run.concluded:
        return Judgement(
            None, f"the output ends after the {largest / 2**20:g} MiB row, before nccl-tests' "
                  "closing lines (Out of bounds values, Avg bus bandwidth): the run was cut "
                  "short or killed, so its larger sizes and error check are missing.",
            "Rerun and keep the whole output (-T bounds a run; a killed run is not judged).",
            missing="the rest of the sweep and nccl-tests' summary lines"), notes
    expectation = T.collective_expectation(topology)
    assert expectation is not None  # "single" returned above
    if topology is None:
        notes.append("No --topology given: judged against the direct/switch threshold "
                     f"({T.COLLECTIVE_DIRECT_SWITCH.minimum:g} GB/s).")
    if run.avg_busbw_GBps is None and run.avg_busbw_computed_GBps is not None:
        notes.append("'# Avg bus bandwidth' is not in the output; avg_busbw_computed_GBps "
                     f"({run.avg_busbw_computed_GBps:g}) is computed from the rows shown.")
    judged = JC.judge_busbw(busbw, expectation, transport=run.transport, nccl_release=release)
    if judged.verdict is Verdict.FAIL and topology == "ring3":
        ring = JC.judge_nccl_for_ring(version, topology)
        if ring.verdict is Verdict.FAIL:
            judged = Judgement(Verdict.FAIL, f"{judged.diagnosis} Likely cause: {ring.diagnosis}",
                               ring.hint, judged.measured, judged.expected, judged.unit)
    elif note := JC.ring_version_note(version, topology):
        notes.append(note)
    return judged, notes


def _nccl_debug(text: str, ctx: _Context) -> Analysis:
    log = nccl_debug.parse(text)
    judgement = JO.judge_nccl_network(log.transport, log.ib_devices, ib_unusable=log.ib_unusable,
                                      warnings=log.warnings + log.failures,
                                      nccl_release=log.nccl_release, net_plugin=log.net_plugin)
    single = log.nranks == 1 or (log.nranks is None and len(log.hosts) <= 1)
    # NCCL choosing TCP on one host is only a risk; RDMA that cannot work at all (no device,
    # no libibverbs) is a fault wherever it shows.
    fallback = log.transport == "Socket" and not log.ib_unusable
    if single and judgement.verdict is Verdict.FAIL and fallback \
            and not JO.failing_warnings(log.warnings) and not log.failures:
        judgement = Judgement(Verdict.DEGRADED,
                              "NCCL chose NET/Socket (TCP) on "
                              + ("a single rank" if log.nranks == 1 else
                                 "what the log shows of one host") +
                              ": nothing here shows the network carried a collective, but a "
                              "multi-node run from this setup would use TCP (~3 GB/s).",
                              "Make RDMA devices visible to NCCL (rdma-core, /dev/infiniband).",
                              measured="Socket", expected="IB")
    notes = []
    if judgement.verdict is None and log.ib_devices:
        judgement = Judgement(None, f"NCCL listed RDMA devices ({', '.join(log.ib_devices[:4])}) "
                                    "but the log stops before it says which network it chose.",
                              missing="NCCL's 'Using network ...' line")
    if log.nccl_version and ctx.topology == "ring3":
        ring = JC.judge_nccl_for_ring(log.nccl_version, ctx.topology)
        if ring.verdict is Verdict.FAIL:
            judgement = ring if judgement.verdict in (None, Verdict.PASS) else judgement
            if judgement is not ring:
                notes.append(ring.diagnosis)
    return _result(ctx.name, "nccl-debug", log.metrics(), judgement, notes)


def _perftest(text: str, ctx: _Context) -> Analysis:
    run = perftest.parse(text)
    notes: list[str] = []
    if run.errors:
        judgement = JR.judge_perftest_errors(run.errors)
    elif run.bandwidth_rows:
        largest = max(r.size_bytes for r in run.bandwidth_rows)
        small = JR.judge_rail_message_size(largest)
        judgement = small or JR.judge_rail_bandwidth(run.average_Gbps)  # type: ignore[arg-type]
        if len(run.devices) > 1:
            notes.append(f"Output of {len(run.devices)} clients ({', '.join(run.devices)}) "
                         "interleaved; every result row was judged.")
    elif run.latency_rows:
        typical = run.latency_rows[-1].t_typical_us
        judgement = Judgement(Verdict.PASS,
                              f"typical latency {typical} us; sparkctl has no latency "
                              "threshold, so only a completed run is checked.",
                              measured=typical, unit="us")
    elif run.unitless_rows:
        judgement = Judgement(None, f"{run.unitless_rows} bandwidth rows without their table "
                                    "header, so whether they are Gb/s or MB/s is unknown.",
                              "Keep the '#bytes #iterations BW peak[...]' header line.",
                              missing="the table header naming the unit")
    else:
        judgement = Judgement(None, "the server side only prints a banner; the client's "
                                    "output holds the results.")
    return _result(ctx.name, run.tool, run.metrics(), judgement, notes)


def _iperf3(text: str, ctx: _Context) -> Analysis:
    return _iperf3_result(iperf3.parse_text(text), ctx.name)


def _iperf3_json(text: str, ctx: _Context) -> Analysis:
    return _iperf3_result(iperf3.parse_json(text), ctx.name)


def _iperf3_result(run: iperf3.Iperf3Result, name: str) -> Analysis:
    loss = JR.judge_udp_loss(run.lost_percent, run.receiver_Gbps)
    if run.errors:
        judgement = JR.judge_iperf3_errors(run.errors)
    elif loss is not None:
        judgement = loss
    elif run.completed:
        udp = run.protocol == "UDP"
        if udp and run.receiver_Gbps is None and run.lost_percent is None:
            judgement = Judgement(None, "UDP test without the receiver's report (rate and loss "
                                        "as received).",
                                  missing="the receiver's summary (sum_received / Lost/Total)")
            return _result(name, "iperf3", run.metrics(), judgement)
        rate = run.receiver_Gbps if run.receiver_Gbps is not None else run.sender_Gbps
        what = "UDP" if udp else "TCP"
        lost = f", {run.lost_percent:g}% lost" if run.lost_percent is not None else ""
        judgement = Judgement(
            Verdict.PASS,
            f"{what} test completed at {rate} Gb/s{lost}"
            f"{_streams(run.streams)}; sparkctl judges rail "
            "bandwidth with ib_write_bw (TCP on one CPU core tops out well below 100 Gb/s).",
            measured=rate, unit="Gb/s")
    elif run.interval_Gbps:
        judgement = Judgement(None, "intervals but no end-of-test summary (cut short?).",
                              missing="iperf3's end-of-test summary")
    else:
        judgement = Judgement(None, f"only the iperf3 version banner ({run.version}).")
    return _result(name, "iperf3", run.metrics(), judgement)


def _ethtool(text: str, ctx: _Context) -> Analysis:
    out = ethtool.parse(text)
    notes: list[str] = []
    metrics = {"kind": out.kind, **out.metrics()}
    if isinstance(out, ethtool.EthtoolSettings):
        judgement, notes = judge_ethtool_settings(out, ctx.command)
        if out.interface is None and _interface_of(ctx.command):
            metrics["interface"] = _interface_of(ctx.command)
    elif isinstance(out, ethtool.EthtoolStats):
        judgement = JN.judge_counter_snapshot(out.counters)
        if out.filtered:
            notes.append("Only some counters were saved (filtered excerpt); counters not "
                         "shown are not judged.")
    elif isinstance(out, ethtool.EthtoolFec):
        judgement = JL.judge_fec(out.active)
    elif isinstance(out, ethtool.EthtoolDriverInfo):
        fw = f", firmware {out.firmware_version}" if out.firmware_version else ""
        psid = f" ({out.psid})" if out.psid else ""
        judgement = Judgement(Verdict.PASS, f"driver {out.driver}{fw}{psid}; driver info "
                                            "has nothing to fail on its own.",
                              measured=out.firmware_version)
        interface = JL.SPARK_CX7_FUNCTIONS.get(out.bus_info or "")
        metrics["netdev"] = interface or _interface_of(ctx.command)
    else:
        judgement = Judgement(None, "only ethtool's warning that it ran without root "
                                    "(netlink: Operation not permitted); the settings are on "
                                    "its stdout.")
    return _result(ctx.name, "ethtool", metrics, judgement, notes)


def judge_ethtool_settings(out: ethtool.EthtoolSettings,
                           command: str | None = None) -> tuple[Judgement, list[str]]:
    from sparkctl.topology import hardware

    notes: list[str] = []
    cx7 = out.interface is None or hardware.device_by_netdev(out.interface) is not None
    if not cx7:
        if out.link_detected is False:
            return JL.judge_link_speed(out.speed_mbps, False), notes
        return Judgement(Verdict.PASS,
                         f"{out.interface} is not a CX-7 data port; link up at "
                         f"{out.speed_mbps} Mb/s (no speed expectation).",
                         measured=out.speed_mbps, unit="Mb/s"), notes
    if out.interface is None and (named := _interface_of(command)):
        out = ethtool.EthtoolSettings(**{**out.__dict__, "interface": named})
        return judge_ethtool_settings(out)
    if out.interface is None:
        notes.append("The interface name was not saved; judged as a CX-7 port (200G).")
    if out.interface is None and out.speed_mbps is not None and out.speed_mbps < 200_000 \
            and out.link_detected is not False:
        return Judgement(None, f"link up at {out.speed_mbps} Mb/s, but the 'Settings for IF:' "
                               "line is not in the output: below a CX-7 port's 200G, fine for "
                               "the management port, so it depends on which port this is.",
                         missing="the 'Settings for IF:' line naming the interface"), []
    if "Speed" not in out.fields and out.link_detected is not False:
        return Judgement(None, "the output has no 'Speed:' line, so the link speed is unknown "
                               "(an excerpt, or cut short).",
                         missing="ethtool's 'Speed:' line"), notes
    return JL.judge_link_speed(out.speed_mbps, out.link_detected), notes


def _rdma(text: str, ctx: _Context) -> Analysis:
    ports = rdma_parser.parse(text)
    spark = {p.device for p in ports.ports if JL.hardware_twin(p.device)}
    complete = (ports.counted and not ports.devices_without_ports) or len(spark) == 4
    judgement = JL.judge_rdma_ports([JL.PortState(p.device, p.active, p.link_layer)
                                     for p in ports.ports], complete=complete)
    tool = {"rdma-link": "rdma link"}.get(ports.source, ports.source)
    metrics = ports.metrics()
    firmware = {p.device: p.firmware for p in ports.ports if p.firmware}
    notes = []
    if firmware:
        metrics["firmware"] = firmware
        fw = JL.judge_firmware(firmware)
        if fw.verdict is Verdict.DEGRADED and judgement.verdict is Verdict.PASS:
            judgement = fw
        elif fw.verdict is not None:
            notes.append(fw.diagnosis)
    return _result(ctx.name, tool, metrics, judgement, notes)


def _rdma_stats(text: str, ctx: _Context) -> Analysis:
    stats = rdma_stats.parse(text)
    merged = {f"{dev}:{k}": v for dev, values in stats.counters.items() for k, v in values.items()}
    plain = {k.split(":", 1)[1]: 0 for k in merged}
    for key, value in merged.items():
        plain[key.split(":", 1)[1]] += value
    judgement = JN.judge_counter_snapshot(plain)
    return _result(ctx.name, "rdma stat", stats.metrics(), judgement)


def _lspci(text: str, ctx: _Context) -> Analysis:
    bdf = None
    if ctx.command and (m := lspci.BDF_IN_COMMAND.search(ctx.command)):
        bdf = m.group(1).lower()
    out = lspci.parse(text, bdf=bdf)
    grep_only = out.functions == 0
    judgement = JL.judge_pcie_links(out.links, assume_cx7=grep_only)
    notes = []
    if grep_only:
        notes.append("No device line was saved (a grep'd excerpt): judged as a ConnectX-7 "
                     "function" + (f" ({bdf}, from the command)." if bdf else "."))
    return _result(ctx.name, "lspci", out.metrics(), judgement, notes)


def _nvidia_smi_failure(text: str, ctx: _Context) -> Analysis:
    judgement = JG.judge_nvidia_smi_failure(text)
    if judgement is None:
        raise ParseError("no nvidia-smi failure message")
    kind = JG.classify_nvidia_smi_failure(text)
    return _result(ctx.name, "nvidia-smi", {"format": "failure", "failure": kind, "gpus": []},
                   judgement)


def _nvidia_smi(parse: Callable[[str], nvidia_smi.NvidiaSmiResult]
                ) -> Callable[[str, _Context], Analysis]:
    def run(text: str, ctx: _Context) -> Analysis:
        out = parse(text)
        judgement = JG.judge_gpus(len(out.gpus), [g.ecc_uncorrected for g in out.gpus])
        if out.format == "query-text" and not out.gpus and out.attached_gpus is None:
            judgement = Judgement(None, "nvidia-smi -q output cut before its GPU sections and "
                                        "'Attached GPUs' line.",
                                  missing="the 'Attached GPUs' line and the GPU sections")
        if out.attached_gpus and len(out.gpus) < out.attached_gpus:
            judgement = Judgement(None, f"'Attached GPUs : {out.attached_gpus}' but only "
                                        f"{len(out.gpus)} GPU section(s) in the output (cut "
                                        "short or elided).",
                                  missing="every GPU's section")
        notes = []
        if any(not g.memory_reported for g in out.gpus) and out.format != "query-text":
            notes.append("Memory reads 'Not Supported'/[N/A]: normal on GB10 (unified memory).")
        if out.elided:
            notes.append("Part of the output was elided by its publisher.")
        return _result(ctx.name, "nvidia-smi", out.metrics(), judgement, notes)
    return run


def _nvidia_smi_csv(text: str, ctx: _Context) -> Analysis:
    columns = nvidia_smi.columns_from_command(ctx.command)
    return _nvidia_smi(lambda t: nvidia_smi.parse_csv(t, columns))(text, ctx)


_ANALYZERS = {
    D.NCCL_TESTS: _nccl_tests_text,
    D.NCCL_TESTS_JSON: _nccl_tests_json,
    D.MPIRUN: _mpirun,
    D.NCCL_DEBUG: _nccl_debug,
    D.PERFTEST: _perftest,
    D.IPERF3: _iperf3,
    D.IPERF3_JSON: _iperf3_json,
    D.ETHTOOL: _ethtool,
    D.RDMA: _rdma,
    D.RDMA_STATS: _rdma_stats,
    D.LSPCI: _lspci,
    D.NVIDIA_SMI: _nvidia_smi(nvidia_smi.parse_table),
    D.NVIDIA_SMI_QUERY: _nvidia_smi(nvidia_smi.parse_query_text),
    D.NVIDIA_SMI_XML: _nvidia_smi(nvidia_smi.parse_xml),
    D.NVIDIA_SMI_CSV: _nvidia_smi_csv,
    D.NVIDIA_SMI_FAILURE: _nvidia_smi_failure,
}


def _streams(count: int | None) -> str:
    if not count:
        return ""
    return f" over {count} stream{'s' if count != 1 else ''}"
