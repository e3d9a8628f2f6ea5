"""Truncated, corrupted and fuzzed inputs: a parsed result or `unparseable` with a reason."""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sparkctl.checks.analyze import PARSER_BUG, UNPARSEABLE, analyze_bytes, analyze_text
from sparkctl.checks.analyze import VERDICTS as ANALYZE_VERDICTS
from sparkctl.checks.detect import detect

from .conftest import fixture_files, fixture_id

FILES = fixture_files()
VERDICTS = set(ANALYZE_VERDICTS)


def _check(result) -> None:
    assert result.verdict in VERDICTS
    assert isinstance(result.diagnosis, str) and result.diagnosis.strip()
    assert isinstance(result.metrics, dict)
    assert PARSER_BUG not in result.diagnosis, result.diagnosis
    if result.tool == "multiple":
        assert result.parts and all(p["verdict"] in VERDICTS for p in result.parts)
        return
    if result.verdict == UNPARSEABLE and result.metrics:
        # Parsed, but holds nothing to judge (a banner, a cut-short log): it says so.
        assert result.diagnosis.startswith("nothing to judge")
    if result.verdict == "incomplete":
        # Judgeable once something is there: the diagnosis and the metrics name it.
        assert result.diagnosis.startswith("incomplete:") and result.metrics.get("missing")


@pytest.mark.parametrize("path", FILES, ids=fixture_id)
def test_truncated_variants(path):
    data = path.read_bytes()
    cuts = {0, 1, len(data) // 10, len(data) // 3, len(data) // 2, (2 * len(data)) // 3,
            len(data) - 1}
    # Also cut in the middle of the last and of a middle line.
    newlines = [i for i, b in enumerate(data) if b == 10]
    if newlines:
        cuts.add(newlines[len(newlines) // 2] - 3)
        cuts.add(newlines[-1] - 2)
    for cut in sorted(c for c in cuts if 0 <= c < len(data)):
        _check(analyze_bytes(data[:cut], name=f"{path.name}[:{cut}]"))


@pytest.mark.parametrize("path", FILES, ids=fixture_id)
def test_corrupted_variants(path):
    rng = random.Random(fixture_id(path))
    data = bytearray(path.read_bytes())
    flipped = bytearray(data)
    for _ in range(max(1, len(flipped) // 50)):
        flipped[rng.randrange(len(flipped))] = rng.randrange(256)
    _check(analyze_bytes(bytes(flipped), name="flipped"))
    lines = data.decode("utf-8", "replace").splitlines(keepends=True)
    rng.shuffle(lines)
    _check(analyze_text("".join(lines), name="shuffled"))
    _check(analyze_bytes(bytes(rng.randrange(256) for _ in range(512)), name="noise"))
    doubled = bytes(data) + b"\n" + bytes(data)
    _check(analyze_bytes(doubled, name="doubled"))


def test_cut_nccl_json_says_why():
    path = next(p for p in FILES if p.name == "all_reduce_perf_1gpu_h100.json")
    data = path.read_bytes()
    result = analyze_bytes(data[: len(data) // 2], name="cut.json")
    assert (result.tool, result.verdict) == ("nccl-tests", UNPARSEABLE)
    assert "invalid JSON at line" in result.diagnosis


def test_header_only_nccl_tests_output_says_why():
    path = next(p for p in FILES if p.name == "spark_koyo_all_gather_2node_switch_good_21GBps.txt")
    text = path.read_text()
    head = text[: text.index("  1073741824")]
    result = analyze_text(head)
    assert (result.tool, result.verdict) == ("nccl-tests", UNPARSEABLE)
    assert "no result rows" in result.diagnosis


def test_empty_and_binary_input():
    assert analyze_bytes(b"", name="e").diagnosis == "empty file"
    assert analyze_bytes(b" \n\t\n", name="e").diagnosis == "empty file"
    assert "binary" in analyze_bytes(b"\x7fELF\x02\x01\x01\x00" * 50, name="b").diagnosis


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=2000))
def test_fuzz_arbitrary_text(text):
    detect(text)
    _check(analyze_text(text))


_MARKERS = st.sampled_from([
    "# nccl-tests version 2.19.6", "# Out of bounds values : 7 OK", "# Avg bus bandwidth : x",
    "  1073741824  134217728  float  none  -1  1.0  2.0  3.0  0  1.0  2.0  3.0  N/A",
    "NCCL INFO Using network IB", "NET/IB : Using [0]rocep1s0f1:1/RoCE", "NCCL WARN boom",
    " #bytes     #iterations    BW peak[Gb/sec]    BW average[Gb/sec]   MsgRate[Mpps]",
    " 65536      5000             nan            inf   0.1", "Speed: 100000Mb/s",
    "Link detected: maybe", "hca_id:\tx", "\tstate:\t\tPORT_ACTIVE (4)", "Active FEC encoding:",
    "[  5]   0.00-1.00   sec  2.55 GBytes  21.8 Gbits/sec  623  sender", "iperf Done.",
    '{"results": [{"size": "x"}], "nccl_version": 1}', '{"start": {}, "end": []}',
    "<nvidia_smi_log><gpu/></nvidia_smi_log>", "index, name, memory.total [MiB]",
    "|   0  NVIDIA GB10                    On  |   0000000F:01:00.0 Off |   N/A |",
    "NVIDIA-SMI 580.1   Driver Version: 580.1   CUDA Version: 13.0",
    "rocep1s0f0 port 1 ==> enp1s0f0np0 (Up)", "link rocep1s0f0/1 state ACTIVE",
    "CA 'rocep1s0f0'", "Port 1:", "State: Active", "Failed status 99: wr_id 1",
])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(_MARKERS, st.text(max_size=80)), max_size=25))
def test_fuzz_tool_shaped_lines(lines):
    text = "\n".join(lines)
    _check(analyze_text(text))
    _check(analyze_text(text, topology="ring3"))
