"""`sparkctl analyze`'s core: detect the tool, parse, judge; never raise on bad input.

Every file yields one `Analysis`. Text that is empty, binary, cut short or not any known tool's
output gives verdict `unparseable` with the reason, never an exception.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sparkctl.checks import detect as D
from sparkctl.checks import diagnose as G
from sparkctl.checks import thresholds as T
from sparkctl.checks.parsers import ethtool, iperf3, nccl_debug, nccl_tests, nvidia_smi, perftest
from sparkctl.checks.parsers import rdma as rdma_parser
from sparkctl.checks.parsers.common import ParseError
from sparkctl.errors import InputError

UNPARSEABLE = "unparseable"
PARSER_BUG = "sparkctl's parser failed on this input (a sparkctl bug; please report it)"
MAX_BYTES = 64 * 1024 * 1024  # logs larger than this are not tool output we know


@dataclass(frozen=True)
class Analysis:
    file: str
    tool: str
    verdict: str  # pass, degraded, fail or unparseable
    diagnosis: str
    metrics: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"file": self.file, "tool": self.tool, "metrics": self.metrics,
                "verdict": self.verdict, "diagnosis": self.diagnosis}


def analyze_file(path: str | Path, *, topology: str | None = None) -> Analysis:
    """Read and analyze one file; a missing/unreadable file is an InputError (exit 2)."""
    path = Path(path)
    try:
        if path.is_dir():
            raise InputError(f"{path}: is a directory, not a tool output file",
                             hint="pass the files inside it, e.g. DIR/*.txt")
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
    tool = D.detect(text)
    if tool is None:
        return _unparseable(name, UNPARSEABLE, "not output of a tool analyze knows (nccl-tests, "
                                               "NCCL_DEBUG log, perftest, iperf3, ethtool, "
                                               "ibv_devinfo/ibdev2netdev/rdma link/ibstat, "
                                               "nvidia-smi)")
    if tool in D.RECOGNISED_ONLY:
        return _unparseable(name, tool, f"recognised as {D.RECOGNISED_ONLY[tool]}, which analyze "
                                        "does not judge")
    try:
        return _ANALYZERS[tool](text, name, topology)
    except ParseError as exc:
        return _unparseable(name, _TOOL_LABEL.get(tool, tool), exc.reason)
    except RecursionError:
        return _unparseable(name, _TOOL_LABEL.get(tool, tool), "nesting too deep to parse")
    except Exception as exc:  # a parser bug must not crash a multi-file run; tests forbid it
        return _unparseable(name, _TOOL_LABEL.get(tool, tool),
                            f"{PARSER_BUG}: {type(exc).__name__}: {exc}")


_TOOL_LABEL = {
    D.NCCL_TESTS_JSON: "nccl-tests", D.IPERF3_JSON: "iperf3", D.NVIDIA_SMI_XML: "nvidia-smi",
    D.NVIDIA_SMI_CSV: "nvidia-smi", D.NVIDIA_SMI_QUERY: "nvidia-smi", D.RDMA: "rdma",
}


def _unparseable(name: str, tool: str, reason: str) -> Analysis:
    return Analysis(file=name, tool=tool, verdict=UNPARSEABLE, diagnosis=reason, metrics={})


def _result(name: str, tool: str, metrics: dict, judgement: G.Judgement,
            notes: list[str] | None = None) -> Analysis:
    diagnosis = judgement.diagnosis
    if judgement.hint:
        diagnosis += f" Fix: {judgement.hint}"
    if notes:
        diagnosis += " Note: " + " ".join(notes)
    verdict = str(judgement.verdict) if judgement.verdict is not None else UNPARSEABLE
    if judgement.verdict is None:
        diagnosis = "nothing to judge: " + diagnosis
    return Analysis(file=name, tool=tool, verdict=verdict, diagnosis=diagnosis, metrics=metrics)


# --- per tool --------------------------------------------------------------------------------

def _nccl_tests_text(text: str, name: str, topology: str | None) -> Analysis:
    return _nccl_tests(nccl_tests.parse_text(text), name, topology, "nccl-tests")


def _mpirun(text: str, name: str, topology: str | None) -> Analysis:
    return _nccl_tests(nccl_tests.parse_text(text), name, topology, "mpirun")


def _nccl_tests_json(text: str, name: str, topology: str | None) -> Analysis:
    return _nccl_tests(nccl_tests.parse_json(text), name, topology, "nccl-tests")


def _nccl_tests(run: nccl_tests.NcclTestsResult, name: str, topology: str | None,
                tool: str) -> Analysis:
    return _result(name, tool, run.metrics(), *judge_nccl_tests(run, topology))


def judge_nccl_tests(run: nccl_tests.NcclTestsResult,
                     topology: str | None) -> tuple[G.Judgement, list[str]]:
    """Judge one nccl-tests run: errors, corruption, then saturated busbw vs the topology."""
    notes: list[str] = []
    if not run.rows:
        return G.judge_nccl_errors(run.errors), notes
    corrupt = G.judge_corruption(run.out_of_bounds, sum(r.wrong_total for r in run.rows))
    if corrupt:
        return corrupt, notes
    if run.errors:
        return G.judge_nccl_errors(run.errors), notes
    if not run.concluded:
        notes.append("The output ends before nccl-tests' closing lines (cut short?).")
    release = run.debug.nccl_release if run.debug else None
    if run.nranks == 1 or topology == "single":
        if run.transport == "Socket":
            return G.Judgement(
                G.Verdict.DEGRADED,
                "Single rank, so no bandwidth was measured, but NCCL chose NET/Socket: a "
                "multi-node run from this setup would use TCP (~3 GB/s).",
                "Make RDMA devices visible to NCCL (rdma-core, /dev/infiniband)."), notes
        if run.nranks == 1:
            return G.Judgement(G.Verdict.PASS,
                               "Single rank: the run completed without errors; busbw is 0 for "
                               "one rank, so no network bandwidth was measured."), notes
        return G.Judgement(G.Verdict.PASS,
                           "--topology single: nothing crosses the network, so busbw has no "
                           "expectation; the run completed without errors."), notes
    if run.collective and run.collective not in T.JUDGED_COLLECTIVES:
        return G.Judgement(G.Verdict.PASS,
                           f"{run.collective} completed without errors; sparkctl has no "
                           f"bandwidth threshold for {run.collective}."), notes
    points = [(r.size_bytes, r.best_busbw_GBps) for r in run.rows
              if r.best_busbw_GBps is not None]
    saturated = G.saturated_busbw(points)  # type: ignore[arg-type]
    if saturated is None:
        return G.Judgement(None, "no busbw values in the result rows."), notes
    busbw, largest = saturated
    expectation = T.collective_expectation(topology)
    assert expectation is not None  # "single" returned above
    if topology is None:
        notes.append("No --topology given: judged against the direct/switch threshold "
                     f"({T.COLLECTIVE_DIRECT_SWITCH.minimum:g} GB/s).")
    if largest < T.SATURATING_BYTES:
        notes.append(f"The largest message ({largest / 2**20:g} MiB) may not saturate the link; "
                     "use -e 1G or more.")
    return G.judge_busbw(busbw, expectation, transport=run.transport,
                         nccl_release=release), notes


def _nccl_debug(text: str, name: str, topology: str | None) -> Analysis:
    log = nccl_debug.parse(text)
    judgement = G.judge_nccl_network(log.transport, log.ib_devices, ib_unusable=log.ib_unusable,
                                     warnings=log.warnings + log.failures,
                                     nccl_release=log.nccl_release)
    return _result(name, "nccl-debug", log.metrics(), judgement)


def _perftest(text: str, name: str, topology: str | None) -> Analysis:
    run = perftest.parse(text)
    notes: list[str] = []
    if run.errors:
        judgement = G.judge_perftest_errors(run.errors)
    elif run.bandwidth_rows:
        judgement = G.judge_rail_bandwidth(run.average_Gbps)  # type: ignore[arg-type]
        if len(run.devices) > 1:
            notes.append(f"Output of {len(run.devices)} clients ({', '.join(run.devices)}) "
                         "interleaved; every result row was judged.")
    elif run.latency_rows:
        typical = run.latency_rows[-1].t_typical_us
        judgement = G.Judgement(G.Verdict.PASS,
                                f"typical latency {typical} us; sparkctl has no latency "
                                "threshold, so only a completed run is checked.",
                                measured=typical, unit="us")
    else:
        judgement = G.Judgement(None, "the server side only prints a banner; the client's "
                                      "output holds the results.")
    return _result(name, run.tool, run.metrics(), judgement, notes)


def _iperf3(text: str, name: str, topology: str | None) -> Analysis:
    return _iperf3_result(iperf3.parse_text(text), name)


def _iperf3_json(text: str, name: str, topology: str | None) -> Analysis:
    return _iperf3_result(iperf3.parse_json(text), name)


def _iperf3_result(run: iperf3.Iperf3Result, name: str) -> Analysis:
    if run.errors:
        judgement = G.judge_iperf3_errors(run.errors)
    elif run.completed:
        rate = run.receiver_Gbps if run.receiver_Gbps is not None else run.sender_Gbps
        judgement = G.Judgement(
            G.Verdict.PASS,
            f"TCP test completed at {rate} Gb/s"
            f"{_streams(run.streams)}; sparkctl judges rail "
            "bandwidth with ib_write_bw (TCP on one CPU core tops out well below 100 Gb/s).",
            measured=rate, unit="Gb/s")
    elif run.interval_Gbps:
        judgement = G.Judgement(None, "intervals but no end-of-test summary (cut short?).")
    else:
        judgement = G.Judgement(None, f"only the iperf3 version banner ({run.version}).")
    return _result(name, "iperf3", run.metrics(), judgement)


def _ethtool(text: str, name: str, topology: str | None) -> Analysis:
    out = ethtool.parse(text)
    notes: list[str] = []
    metrics = {"kind": out.kind, **out.metrics()}
    if isinstance(out, ethtool.EthtoolSettings):
        judgement, notes = judge_ethtool_settings(out)
    elif isinstance(out, ethtool.EthtoolStats):
        judgement = G.judge_counters(out.counters)
        if out.filtered:
            notes.append("Only some counters were saved (filtered excerpt).")
    elif isinstance(out, ethtool.EthtoolFec):
        judgement = G.judge_fec(out.active)
    elif isinstance(out, ethtool.EthtoolDriverInfo):
        fw = f", firmware {out.firmware_version}" if out.firmware_version else ""
        psid = f" ({out.psid})" if out.psid else ""
        judgement = G.Judgement(G.Verdict.PASS, f"driver {out.driver}{fw}{psid}; driver info "
                                                "has nothing to fail on its own.")
    else:
        judgement = G.Judgement(None, "only ethtool's warning that it ran without root "
                                      "(netlink: Operation not permitted); the settings are on "
                                      "its stdout.")
    return _result(name, "ethtool", metrics, judgement, notes)


def judge_ethtool_settings(out: ethtool.EthtoolSettings) -> tuple[G.Judgement, list[str]]:
    from sparkctl.topology import hardware

    notes: list[str] = []
    cx7 = out.interface is None or hardware.device_by_netdev(out.interface) is not None
    if not cx7:
        if out.link_detected is False:
            return G.judge_link_speed(out.speed_mbps, False), notes
        return G.Judgement(G.Verdict.PASS,
                           f"{out.interface} is not a CX-7 data port; link up at "
                           f"{out.speed_mbps} Mb/s (no speed expectation).",
                           measured=out.speed_mbps, unit="Mb/s"), notes
    if out.interface is None:
        notes.append("The interface name was not saved; judged as a CX-7 port (200G).")
    return G.judge_link_speed(out.speed_mbps, out.link_detected), notes


def _rdma(text: str, name: str, topology: str | None) -> Analysis:
    ports = rdma_parser.parse(text)
    judgement = G.judge_rdma_ports([G.PortState(p.device, p.active, p.link_layer)
                                    for p in ports.ports])
    tool = {"rdma-link": "rdma link"}.get(ports.source, ports.source)
    return _result(name, tool, ports.metrics(), judgement)


def _nvidia_smi(parse):
    def run(text: str, name: str, topology: str | None) -> Analysis:
        out = parse(text)
        judgement = G.judge_gpus(len(out.gpus), [g.ecc_uncorrected for g in out.gpus])
        notes = []
        if any(not g.memory_reported for g in out.gpus) and out.format != "query-text":
            notes.append("Memory reads 'Not Supported'/[N/A]: normal on GB10 (unified memory).")
        if out.elided:
            notes.append("Part of the output was elided by its publisher.")
        return _result(name, "nvidia-smi", out.metrics(), judgement, notes)
    return run


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
    D.NVIDIA_SMI: _nvidia_smi(nvidia_smi.parse_table),
    D.NVIDIA_SMI_QUERY: _nvidia_smi(nvidia_smi.parse_query_text),
    D.NVIDIA_SMI_XML: _nvidia_smi(nvidia_smi.parse_xml),
    D.NVIDIA_SMI_CSV: _nvidia_smi(nvidia_smi.parse_csv),
}


def _streams(count: int | None) -> str:
    if not count:
        return ""
    return f" over {count} stream{'s' if count != 1 else ''}"
