"""Turn what users paste into the lines a tool printed: prefixes, prompts, tabs, wraps, noise.

Pasted logs carry more than the tool's output: every line prefixed by whatever relayed it
(Ray/vLLM worker tags, `mpirun --tag-output`, timestamps, container or host names), shell
prompts and `^C`, tabs turned into spaces or back, long lines wrapped by a terminal or an
email client, colour codes. Parsers should find the tool's structure, not its exact bytes, so
this module removes what can be recognised as not the tool's, once, before detection:

- `clean(text)` gives the lines without relay prefixes, ANSI codes, `^C`, trailing blanks and
  tabs (expanded), with wrapped table rows and log lines joined again;
- prompt lines stay (the splitter uses them as boundaries and reads the command from them).

Every step is conservative: a prefix is only stripped when it has a known shape, or when most
lines share it and what is left of each line still looks like content (more than one word,
not the tool's own `NCCL ...` line head).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)")

# Prefixes whose shape alone says "not the tool's": each is stripped wherever it starts a line.
_KNOWN_PREFIXES = (
    # Open MPI / PRRTE --tag-output: "[1,0]<stdout>:" (and <stderr>, <stddiag>)
    re.compile(r"^\[\d+,\d+\]<(?:stdout|stderr|stddiag)>:\s?"),
    # Ray / vLLM worker tags: "(RayWorkerWrapper pid=581, ip=10.225.128.18) ", "(pid=34272) "
    re.compile(r"^\((?:[\w.:-]+\s+)?pid=\d+(?:,\s*ip=[\w.:-]+)?(?:,\s*node_id=\w+)?\)\s+"),
    # ISO-8601 date and time, optionally bracketed, optionally followed by "|"
    re.compile(r"^\[?\d{4}[-/]\d{2}[-/]\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?"
               r"(?:Z|[+-]\d{2}:?\d{2})?\]?(?:\s+\|)?\s+"),
    # syslog / journalctl: "Jan 23 12:34:56 spark-1 kernel: "
    re.compile(r"^[A-Z][a-z]{2} [ \d]\d \d{2}:\d{2}:\d{2} [\w.-]+ [\w./@-]+?(?:\[\d+\])?: "),
    # a bare time of day: "12:34:56 ", "[12:34:56.123] "
    re.compile(r"^\[?\d{2}:\d{2}:\d{2}(?:[.,]\d+)?\]?\s+"),
    # dmesg: "[  123.456789] "
    re.compile(r"^\[\s*\d+\.\d+\]\s+"),
    # kubectl logs --prefix: "[pod/name/container] "
    re.compile(r"^\[pod/[\w.-]+/[\w.-]+\]\s+"),
    # docker compose: "service-1  | "
    re.compile(r"^[A-Za-z][\w.-]*\s+\|\s"),
    # MPICH -prepend-rank / rank tags: "[0] " (iperf3's "[  5]" keeps its spaces, so it stays)
    re.compile(r"^\[\d{1,5}\]\s+(?=\S)"),
    # email / markdown quoting: "> "
    re.compile(r"^>\s?(?=\S|$)"),
)

# A shell prompt with the command typed after it. `#` alone is not a prompt here: nccl-tests
# prints its header as `# ...` lines.
PROMPT = re.compile(
    r"^(?:\([\w.@-]+\)\s+)?"                                     # (base) / (venv)
    r"(?:[\w.-]+@[\w.-]+(?::[^\s$#]*)?\s?[$#%]"                  # user@host:~/dir$
    r"|\[[\w.-]+@[\w.-]+(?:\s[^\]]*)?\][$#%]"                    # [user@host dir]$
    r"|[\w.-]*~[$#]"                                             # ~# / ~$
    r"|\$|%)"                                                    # $ / %
    r"(?:\s+(?P<cmd>\S.*?))?\s*$")
_CTRL_C = re.compile(r"^(?:\^C)+")

# Shapes of lines that terminals and mail clients wrap: (start, complete). A line that starts
# like one of them but is not complete is joined with the next line(s) until it is.
_NUM = r"(?:-?\d+(?:\.\d+)?(?:e[+-]?\d+)?|N/A)"
_SHAPES = (
    # nccl-tests result row: size count type [redop] [root] + 2x (time algbw busbw wrong)
    (re.compile(r"^\s*\d+\s+\d+\s+[A-Za-z]\w*\b"),
     re.compile(rf"^\s*\d+\s+\d+\s+[A-Za-z]\w*(?:\s+[A-Za-z]\w*)?(?:\s+-?\d+)?"
                rf"(?:\s+{_NUM}){{6,8}}\s*$")),
    # perftest bandwidth row: bytes iterations peak average msgrate
    (re.compile(r"^\s*\d+\s+\d+\s+\d+\.\d+"),
     re.compile(r"^\s*\d+\s+\d+(?:\s+-?\d+(?:\.\d+)?){3,7}\s*$")),
    # iperf3 interval or summary line
    (re.compile(r"^\[\s*(?:\d+|SUM)\]\s+\d"),
     re.compile(r"^\[\s*(?:\d+|SUM)\]\s+[\d.]+-\s*[\d.]+\s+sec\s+[\d.]+\s+\w?Bytes\s+[\d.]+\s+"
                r"\w?bits/sec\b.*$")),
    # nvidia-smi table row: starts and ends with "|"
    (re.compile(r"^\|"), re.compile(r"^\|.*\|$")),
)
# NCCL's own line head ("host:pid:tid [dev] NCCL INFO ..."): a following line that starts with
# no known shape is the rest of a wrapped message.
_NCCL_HEAD = re.compile(r"^\S+:\d+:\d+ \[\d+\]")
_LINE_STARTS = re.compile(
    r"^(?:#|\s*\d+\s+\d+\s|\[\s*(?:\d+|SUM)\]|NCCL |\||\+-|-{5}|\*{5}|$)")


@dataclass
class Cleaned:
    lines: list[str]
    stripped_prefixes: list[str] = field(default_factory=list)  # e.g. "Ray worker tag"
    joined_lines: int = 0  # wrapped lines put back together

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


def normalise(text: str) -> str:
    """Unify line endings, drop colour codes and backspaces' traces."""
    text = _ANSI.sub("", text)
    return text.replace("\r\n", "\n").replace("\r", "\n")


def clean(text: str) -> Cleaned:
    lines = [_CTRL_C.sub("", line).expandtabs(8) for line in normalise(text).split("\n")]
    wrapped = _wrap_evidence(lines)
    stripped: list[str] = []
    lines, names = strip_known_prefixes(lines)
    stripped += names
    lines, common = strip_common_prefix(lines)
    if common:
        stripped.append(f"common prefix {common!r}")
        lines, names = strip_known_prefixes(lines)
        stripped += names
    lines, joined = rejoin_wrapped(lines, wrapped)
    return Cleaned(lines=[line.rstrip() for line in lines],
                   stripped_prefixes=list(dict.fromkeys(stripped)), joined_lines=joined)


def _wrap_evidence(lines: list[str]) -> list[bool]:
    """Lines that look broken by a wrap: at the width most lines stop at, or ending in a space.

    A terminal breaks every long line at exactly its width, so several lines share the
    maximum length; `fold -s` and mail clients break after a space and keep it.
    """
    lengths = Counter(len(line) for line in lines)
    width = max(lengths) if lengths else 0
    hard = width >= 60 and lengths[width] >= 2
    return [(hard and len(line) == width) or (line.endswith(" ") and bool(line.strip()))
            for line in lines]


_PREFIX_NAMES = ("mpirun --tag-output tag", "Ray/vLLM worker tag", "timestamp", "syslog header",
                 "time of day", "dmesg timestamp", "kubectl --prefix tag",
                 "docker compose service tag", "rank tag", "quote marker")


def strip_known_prefixes(lines: list[str]) -> tuple[list[str], list[str]]:
    """Remove known relay prefixes from every line that has them (several may be stacked)."""
    out: list[str] = []
    used: set[int] = set()
    for line in lines:
        if PROMPT.match(line):
            out.append(line)
            continue
        for _ in range(6):
            for index, pattern in enumerate(_KNOWN_PREFIXES):
                match = pattern.match(line)
                if match and match.end() > 0:
                    line = line[match.end():]
                    used.add(index)
                    break
            else:
                break
        out.append(line)
    return out, [_PREFIX_NAMES[i] for i in sorted(used)]


_SEGMENT = re.compile(r"^(\S+(?:\s\S+){0,3}?[:|>\])])(\s+)")
_DIGITS = re.compile(r"\d+")


def strip_common_prefix(lines: list[str]) -> tuple[list[str], str | None]:
    """Strip a prefix most lines share up to a delimiter ("spark-1: ", "node1 | ", "host >").

    Lines are compared by shape (digit runs count as one), so "spark-1: " and "spark-2: " from
    two hosts of one pdsh run are the same prefix. The prefix is stripped only where at least
    60% of the non-blank lines (and 3 or more) carry it, it contains a letter, its literal
    values repeat (a few hosts over many lines, not one PCI address per line), and what remains
    of those lines is content: more than one token on most of them, not `NCCL ...`.
    """
    candidates: Counter[str] = Counter()
    seen: dict[str, list[int]] = {}
    content = [i for i, line in enumerate(lines) if line.strip() and not PROMPT.match(line)]
    for i in content:
        match = _SEGMENT.match(lines[i])
        if not match:
            continue
        shape = _DIGITS.sub("0", match.group(1))
        candidates[shape] += 1
        seen.setdefault(shape, []).append(i)
    if not candidates:
        return lines, None
    shape, count = candidates.most_common(1)[0]
    if count < max(3, 0.6 * len(content)) or not re.search(r"[A-Za-z]", shape):
        return lines, None
    if shape.startswith(("#", "|", "+")) or "NCCL" in shape:
        return lines, None
    rests = []
    literals: set[str] = set()
    for i in seen[shape]:
        match = _SEGMENT.match(lines[i])
        assert match is not None
        rests.append(lines[i][match.end():])
        literals.add(match.group(1))
    if len(literals) > max(1, count // 2):
        return lines, None  # every line its own "prefix": content (PCI addresses, keys)
    if sum(1 for r in rests if r.startswith("NCCL ")) > len(rests) // 2:
        return lines, None
    if sum(1 for r in rests if len(r.split()) >= 2) < 0.6 * len(rests):
        return lines, None  # "key: value" output: the "prefix" is the key
    out = list(lines)
    for i, rest in zip(seen[shape], rests, strict=True):
        out[i] = rest
    return out, shape


def rejoin_wrapped(lines: list[str], wrapped: list[bool] | None = None,
                   max_pieces: int = 4) -> tuple[list[str], int]:
    """Join lines that a terminal or mail client wrapped.

    Table rows are joined when the pieces complete the row's shape; an NCCL log line only
    where `wrapped` has evidence of a wrap (see `_wrap_evidence`), since its end has no shape.
    """
    wrapped = wrapped if wrapped is not None else [False] * len(lines)
    out: list[str] = []
    joined = 0
    i = 0
    while i < len(lines):
        line = lines[i]
        shape = _incomplete_shape(line)
        if shape is not None:
            merged, used = _complete(lines, i, shape, wrapped, max_pieces)
            if merged is not None:
                out.append(merged)
                joined += used - 1
                i += used
                continue
        elif _NCCL_HEAD.match(line):
            j = i
            while j + 1 < len(lines) and j + 1 - i < max_pieces and wrapped[j] \
                    and _continues(lines[j + 1]):
                line += lines[j + 1]
                j += 1
            joined += j - i
            out.append(line)
            i = j + 1
            continue
        out.append(line)
        i += 1
    return out, joined


def _is_complete_row(line: str) -> bool:
    line = line.rstrip()
    return any(start.match(line) and complete.match(line) for start, complete in _SHAPES)


def _continues(piece: str) -> bool:
    """Whether a line can be the rest of a wrapped line (it starts nothing of its own)."""
    if not piece.strip() or PROMPT.match(piece) or _NCCL_HEAD.match(piece):
        return False
    if _is_complete_row(piece):
        return False
    return not _LINE_STARTS.match(piece)


def _incomplete_shape(line: str) -> re.Pattern[str] | None:
    line = line.rstrip()
    for start, complete in _SHAPES:
        if start.match(line) and not complete.match(line):
            return complete
    return None


def _complete(lines: list[str], i: int, complete: re.Pattern[str], wrapped: list[bool],
              max_pieces: int) -> tuple[str | None, int]:
    """Join lines[i] with what follows until `complete` matches; None if it never does.

    The glue is decided by the break, not by which join matches: whitespace at the break, or
    a terminal's hard break at its width, join as they are; a break without either lost its
    space (a mail client or a paste that trimmed it), so one is put back.
    """
    merged = lines[i]
    for j in range(i + 1, min(len(lines), i + max_pieces)):
        piece = lines[j]
        if not piece.strip() or PROMPT.match(piece) or _NCCL_HEAD.match(piece) \
                or _is_complete_row(piece):
            return None, 0
        spaced = merged.endswith(" ") or piece.startswith(" ")
        merged = merged + ("" if spaced or wrapped[j - 1] else " ") + piece
        if complete.match(merged.rstrip()):
            return merged, j - i + 1
    return None, 0


def prompt_command(line: str) -> str | None:
    """The command typed after a shell prompt on this line, "" for a bare prompt, else None."""
    match = PROMPT.match(line)
    if not match:
        return None
    return match.group("cmd") or ""
