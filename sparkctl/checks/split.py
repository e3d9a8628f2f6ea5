"""Split a paste that holds several tools' outputs into one part per output.

Boundaries are shell prompts (`user@host:~$ ethtool -S enp1s0f0np0`: the command is kept,
it names the tool and often the interface) and, without prompts, the first line of another
tool's output. Lines of one family of tools stay together: nccl-tests, the NCCL_DEBUG lines
it prints and the mpirun messages around it are one run; `ibv_devinfo`'s several `hca_id:`
blocks are one output. A second run of the same tool starts a new part only where its
output has an unmistakable first line (`# nccl-tests version`, `Settings for X:`,
`NIC statistics:`, a JSON document's opening brace).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sparkctl.checks.text import PROMPT, prompt_command


@dataclass(frozen=True)
class Part:
    text: str
    first_line: int  # 1-based, in the cleaned text
    last_line: int
    command: str | None = None  # the command typed at the prompt before it, if any


# (family, pattern of a line that starts an output of that family, restarts the same family)
_STARTS: tuple[tuple[str, re.Pattern[str], bool], ...] = (
    ("nccl", re.compile(r"^# nccl-tests version \S"), True),
    ("nccl", re.compile(r"^#?\s*nThread \d+ nGpus \d+ minBytes \d+"), False),
    ("perftest", re.compile(r"^\s*(?:RDMA_Write|RDMA_Read|Send|Atomic)\b[\w ]* (?:BW|Latency) "
                            r"Test\s*$"), False),
    ("iperf3", re.compile(r"^Connecting to host \S+,? port \d+"), True),
    ("iperf3", re.compile(r"^Test Complete\. Summary Results:"), True),
    ("json", re.compile(r"^\{\s*$"), True),
    ("ethtool", re.compile(r"^Settings for \S+:\s*$"), True),
    ("ethtool", re.compile(r"^NIC statistics:\s*$"), True),
    ("ethtool", re.compile(r"^FEC parameters for \S+:\s*$"), True),
    ("ethtool", re.compile(r"^driver: \S"), True),
    ("rdma", re.compile(r"^hca_id:\s"), False),
    ("rdma", re.compile(r"^CA '[^']+'\s*$"), False),
    ("rdma", re.compile(r"^\S+ port \d+ ==> \S+ \((?:Up|Down)\)"), False),
    ("rdma", re.compile(r"^(?:\d+/\d+: )?(?:link )?\S+/\d+:? (?:subnet_prefix|state) "), False),
    ("nvidia-smi", re.compile(r"^\|\s*NVIDIA-SMI \S+"), True),
    ("nvidia-smi", re.compile(r"^==============NVSMI LOG=============="), True),
    ("nvidia-smi", re.compile(r"^<\?xml "), True),
    ("lspci", re.compile(r"^(?:[0-9a-f]{4}:)?[0-9a-f]{2}:[0-9a-f]{2}\.\d [\w ]+: \S"), False),
    ("ip", re.compile(r"^\d+: \S+: <[A-Z_,-]*> mtu \d+"), False),
)
_SERVER_BANNER = re.compile(r"^Server listening on \d+")
# Lines printed just before a start line that belong to the new output.
_LEAD_IN = re.compile(r"^(?:-{20,}|\*{20,}|\+[-=+]+\+|[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d "
                      r"\d{2}:\d{2}:\d{2} \d{4}\s*)$")
# Families whose lines may interleave with another's without starting a new part.
_COMPANIONS = {"nccl": {"nccl-debug", "mpirun"}}
_NCCL_RESULT = re.compile(r"^# (?:Avg bus bandwidth|Out of bounds values|Collective test "
                          r"concluded)|^\s*\d+\s+\d+\s+[A-Za-z]\w*\s+.*\d\s*$")
_IPERF_SUMMARY = re.compile(r"\bsec\b.*(?:\b(?:sender|receiver)\s*$|\d+/\d+ \()")
_NCCL_DEBUG = re.compile(r"NCCL (?:INFO|WARN)|NET/IB ?:|NET/Socket ?:|^NCCL version \d")


def split(lines: list[str]) -> list[Part]:
    """Parts in order; a text without any boundary is one part."""
    chunks = _by_prompt(lines)
    parts: list[Part] = []
    for start, end, command in chunks:
        for first, last in _by_tool(lines, start, end):
            text = "\n".join(lines[first:last])
            if text.strip():
                parts.append(Part(text=text, first_line=first + 1, last_line=last,
                                  command=command))
            command = None  # only the first part after a prompt ran that command
    return parts or [Part(text="\n".join(lines), first_line=1, last_line=len(lines))]


def _by_prompt(lines: list[str]) -> list[tuple[int, int, str | None]]:
    chunks: list[tuple[int, int, str | None]] = []
    start, command = 0, None
    i = 0
    while i < len(lines):
        cmd = prompt_command(lines[i]) if PROMPT.match(lines[i]) else None
        if cmd is None:
            i += 1
            continue
        chunks.append((start, i, command))
        # A command continued with a trailing backslash spans the next lines too.
        j = i
        while j + 1 < len(lines) and lines[j].rstrip().endswith("\\"):
            j += 1
            cmd += " " + lines[j].strip().rstrip("\\").strip()
        start, command = j + 1, cmd.replace("\\", " ").strip() or None
        i = j + 1
    chunks.append((start, len(lines), command))
    return [(s, e, c) for s, e, c in chunks if s < e]


def _family(line: str) -> tuple[str | None, bool]:
    for family, pattern, restarts in _STARTS:
        if pattern.match(line):
            return family, restarts
    if _SERVER_BANNER.match(line):
        return "iperf3", True
    return None, False


def _by_tool(lines: list[str], start: int, end: int) -> list[tuple[int, int]]:
    pieces: list[tuple[int, int]] = []
    current: str | None = None
    first = start
    seen_content = False
    nccl_result = False  # the current nccl part already holds a run's results
    iperf_result = False  # the current iperf3 part already holds an end-of-test summary
    json_depth = 0
    for i in range(start, end):
        line = lines[i]
        if json_depth > 0:  # inside a JSON document nothing else starts
            json_depth += line.count("{") - line.count("}")
            continue
        family, restarts = _family(line)
        if _NCCL_RESULT.match(line):
            nccl_result = True
        if _IPERF_SUMMARY.search(line):
            iperf_result = True
        if family is None:
            if line.strip():
                seen_content = True
                if current is None and _NCCL_DEBUG.search(line):
                    current = "nccl"
            continue
        new_part = False
        if current is None:
            current = family
        elif family != current and family not in _COMPANIONS.get(current, set()):
            new_part = seen_content
        elif family == current and restarts and seen_content:
            new_part = {"nccl": nccl_result, "iperf3": iperf_result}.get(family, True)
        if new_part:
            cut = _lead_in(lines, first, i)
            pieces.append((first, cut))
            first, current, nccl_result, iperf_result = cut, family, False, False
        if family == "json":
            json_depth = line.count("{") - line.count("}")
        seen_content = True
    pieces.append((first, end))
    return [(a, b) for a, b in pieces if a < b]


def _lead_in(lines: list[str], floor: int, i: int) -> int:
    """Move a cut back over the banner lines that open the next output (rules, a date)."""
    cut = i
    while cut - 1 > floor and (_LEAD_IN.match(lines[cut - 1]) or not lines[cut - 1].strip()):
        cut -= 1
    while cut < i and not lines[cut].strip():
        cut += 1
    return cut
