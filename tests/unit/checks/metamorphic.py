"""Metamorphic transformations of real tool outputs, and the invariants analyze must keep.

Each transformation is something that happens to output on its way into a paste: a relay
prefixes every line, tabs become spaces or back, unrelated lines land between sections, a
terminal or mail client wraps long lines, a prompt and ^C surround it, or it is cut. None of
them may change a number analyze reports (cuts may only lose numbers), nor raise.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sparkctl.checks.analyze import PARSER_BUG, Analysis

# Prefix styles seen on real pastes (issue 16): (name, function of line number -> prefix).
PREFIXES = {
    "ray": lambda i: f"(RayWorkerWrapper pid={2361 + i % 3}, ip=10.225.128.{17 + i % 2}) ",
    "vllm": lambda i: f"(EngineCore_DP0 pid={580 + i % 2}) ",
    "iso": lambda i: f"2026-09-21T10:{i // 60 % 60:02d}:{i % 60:02d}.{i * 37 % 1000:03d}Z ",
    "docker-ts": lambda i: f"2026-09-21T10:15:{i % 60:02d}.123456789Z ",
    "syslog": lambda i: f"Sep 21 10:15:{i % 60:02d} spark-153d bash[4242]: ",
    "mpirun-tag": lambda i: f"[1,{i % 2}]<stdout>:",
    "kubectl": lambda i: "[pod/nccl-worker-0/nccl] ",
    "compose": lambda i: "spark-node-1  | ",
    "pdsh-one": lambda i: "spark-153d: ",
    "pdsh-two": lambda i: f"spark-{1 + i % 2}: ",
    "time": lambda i: f"[10:15:{i % 60:02d}] ",
}

# Real lines of noise from published pastes (tests/fixtures/SOURCES.md): none is tool output.
NOISE = (
    "Authorization required, but no authorization protocol specified",
    "Warning: Permanently added '192.168.100.11' (ED25519) to the list of known hosts.",
    "bash: warning: setlocale: LC_ALL: cannot change locale (en_US.UTF-8)",
    "sudo: unable to resolve host spark-5083: Name or service not known",
    "",
)

PROMPT = "nvidia@spark-153d:~$"


@dataclass(frozen=True)
class Spec:
    """One combination of transformations, applied in the order a paste suffers them."""

    noise_at: tuple[int, ...] = ()  # indexes into the section boundaries
    noise_line: int = 0
    tabs: str | None = None  # "expand", "collapse" or "indent"
    prefix: str | None = None
    wrap: int | None = None  # width
    soft_wrap: bool = False  # fold -s (break after a space) instead of a terminal's hard wrap
    prompts: bool = False

    def describe(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in self.__dict__.items() if v not in (None, (), 0,
                                                                                   False))


def apply(text: str, spec: Spec) -> str:
    lines = text.replace("\r\n", "\n").split("\n")
    if spec.noise_at:
        lines = insert_noise(lines, spec.noise_at, NOISE[spec.noise_line % len(NOISE)])
    if spec.tabs:
        lines = [convert_tabs(line, spec.tabs) for line in lines]
    # A host prefix ("spark-1: ") on one or two lines cannot be told from content ("netlink
    # error: ..." has the same shape); the stripper needs three lines that share it.
    host_prefix = spec.prefix in ("pdsh-one", "pdsh-two")
    if spec.prefix and not (host_prefix and sum(1 for x in lines if x.strip()) < 3):
        make = PREFIXES[spec.prefix]
        lines = [make(i) + line for i, line in enumerate(lines)]
    # One wrapped line in an otherwise narrow paste cannot be told from a line followed by
    # unrelated text (text.py, `_wrap_evidence`): wraps are applied where they break two or
    # more lines, as a terminal or mail client narrower than the output does.
    if spec.wrap and sum(1 for line in lines if len(line) > spec.wrap) >= 2:
        lines = [piece for line in lines for piece in wrap(line, spec.wrap, spec.soft_wrap)]
    if spec.prompts:
        lines = [f"{PROMPT} cat output.txt", *lines, "^C", f"{PROMPT} "]
    return "\n".join(lines)


def boundaries(lines: list[str]) -> list[int]:
    """Positions between sections: next to a blank line, or where the kind of line changes
    (a comment or rule and the data after it, a header and its rows)."""
    out = [0, len(lines)]
    for i in range(1, len(lines)):
        before, after = lines[i - 1], lines[i]
        if not before.strip() or not after.strip() or _kind(before) != _kind(after):
            out.append(i)
    return sorted(set(out))


def _kind(line: str) -> str:
    stripped = line.strip()
    if not stripped:
        return "blank"
    first = stripped[0]
    if first.isdigit():
        return "digit"
    if first.isalpha():
        return "alpha"
    return first


def insert_noise(lines: list[str], picks: tuple[int, ...], noise: str) -> list[str]:
    spots = boundaries(lines)
    chosen = sorted({spots[p % len(spots)] for p in picks}, reverse=True)
    out = list(lines)
    for spot in chosen:
        if _inside_json(out, spot):
            continue
        out.insert(spot, noise)
    return out


def _inside_json(lines: list[str], spot: int) -> bool:
    depth = 0
    for line in lines[:spot]:
        depth += line.count("{") - line.count("}")
    return depth > 0


def convert_tabs(line: str, mode: str) -> str:
    if mode == "expand":
        return line.expandtabs(8)
    if mode == "collapse":
        return re.sub(r" {2,}", "\t", line)
    if mode == "indent":
        stripped = line.lstrip(" \t")
        return ("\t" if stripped != line else "") + stripped
    raise ValueError(mode)


def wrap(line: str, width: int, soft: bool) -> list[str]:
    if len(line) <= width:
        return [line]
    if not soft:
        return [line[i:i + width] for i in range(0, len(line), width)]
    pieces = []
    while len(line) > width:
        cut = line.rfind(" ", 0, width)
        if cut <= 0:
            cut = width - 1
        pieces.append(line[:cut + 1])  # fold -s keeps the space on the first line
        line = line[cut + 1:]
    pieces.append(line)
    return pieces


def cut_head(text: str, keep: int) -> str:
    return "\n".join(text.split("\n")[:keep])


def cut_tail(text: str, drop: int) -> str:
    return "\n".join(text.split("\n")[drop:])


# --- invariants ------------------------------------------------------------------------------

def normalised(value: object) -> object:
    """Metrics with whitespace runs in strings folded (tabs and spaces are not content)."""
    if isinstance(value, dict):
        return {k: normalised(v) for k, v in value.items()}
    if isinstance(value, list):
        return [normalised(v) for v in value]
    if isinstance(value, str):
        return " ".join(value.split())
    return value


# Aggregates over the rows kept: a cut may change them without changing any measured number.
DERIVED = {"average_Gbps", "peak_Gbps", "avg_busbw_computed_GBps", "missing", "concluded",
           "interval_Gbps", "unitless_rows",
           "completed", "duration_s", "streams", "nranks", "hosts", "layout", "parts", "tools"}


def numbers(value: object, key: str = "") -> list[tuple[str, float]]:
    """Every number in metrics with the key it sits under (list positions dropped)."""
    if key in DERIVED:
        return []
    if isinstance(value, bool) or value is None:
        return []
    if isinstance(value, int | float):
        return [(key, float(value))]
    if isinstance(value, dict):
        return [n for k, v in value.items() for n in numbers(v, k)]
    if isinstance(value, list):
        return [n for v in value for n in numbers(v, key)]
    return []


def check_same(original: Analysis, variant: Analysis, what: str, *,
               wrapped: bool = False) -> None:
    """Same tool, verdict and metrics. After a wrap, quoted free text (an error line) may keep
    only its first piece; every number must still be the original's."""
    assert PARSER_BUG not in variant.diagnosis, f"{what}: {variant.diagnosis}"
    assert (variant.tool, variant.verdict) == (original.tool, original.verdict), (
        f"{what}: {original.tool}/{original.verdict} became {variant.tool}/{variant.verdict}: "
        f"{variant.diagnosis}")
    a, b = normalised(original.metrics), normalised(variant.metrics)
    if wrapped:
        a, b = _prefix_strings(a, b), b
    assert a == b, f"{what}: metrics changed\n{_metric_diff(a, b)}"


def _prefix_strings(original: object, variant: object) -> object:
    """The original with each string cut to the variant's, where the variant's is its start."""
    if isinstance(original, dict) and isinstance(variant, dict):
        return {k: _prefix_strings(v, variant.get(k)) for k, v in original.items()}
    if isinstance(original, list) and isinstance(variant, list) and len(original) == len(
            variant):
        return [_prefix_strings(x, y) for x, y in zip(original, variant, strict=True)]
    if isinstance(original, str) and isinstance(variant, str) and len(variant) >= 20 \
            and original.startswith(variant):
        return variant
    return original


_PROBLEM = {"degraded": 1, "fail": 2}
# Tools that measure: cutting their output never makes a measurement worse. (A cut listing
# of ports or counters can show a subset that is bad: that is what the part kept says.)
MEASUREMENTS = {"nccl-tests", "mpirun", "ib_write_bw", "ib_read_bw", "ib_send_bw", "perftest",
                "iperf3", "nccl-debug"}


def check_cut(original: Analysis, variant: Analysis, what: str) -> None:
    """A cut reports only numbers the original reported (the metrics of the part kept), and
    never a problem the original did not have: degraded or fail only where the original was
    at least as bad. (It may pass where the original was incomplete: the part kept can hold
    only the counters that were zero.)"""
    assert PARSER_BUG not in variant.diagnosis, f"{what}: {variant.diagnosis}"
    if variant.verdict in _PROBLEM and variant.tool in MEASUREMENTS:
        assert _PROBLEM.get(original.verdict, -1) >= _PROBLEM[variant.verdict], (
            f"{what}: {original.verdict} became {variant.verdict}: {variant.diagnosis}")
    pool = list(numbers(original.metrics))
    for part in original.parts or []:
        pool += numbers(part["metrics"])
    for item in numbers(variant.metrics):
        assert item in pool, f"{what}: {item} is not a number of the original ({variant.tool})"
        pool.remove(item)


def _metric_diff(a: object, b: object, path: str = "") -> str:
    a, b = normalised(a), normalised(b)
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if a.get(k) != b.get(k):
                return _metric_diff(a.get(k), b.get(k), f"{path}.{k}")
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            if x != y:
                return _metric_diff(x, y, f"{path}[{i}]")
    return f"{path}: {str(a)[:300]} != {str(b)[:300]}"
