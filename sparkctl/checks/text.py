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
               r"(?:Z|[+-]\d{2}:?\d{2})?\]?\s"),
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
_POS = r"\d+(?:\.\d+)?"
_SIDE = rf"\s+{_POS}\s+{_POS}\s+{_POS}\s+(?:\d+|N/A|\d(?:\.\d+)?e[+-]\d+\*?)"
_SHAPES = (
    # nccl-tests result row: size count type [redop] [root] + 2x (time algbw busbw wrong); the
    # sides are exact (a time is never negative, "wrong" is a count, N/A or 0e+00) so that a
    # row cut before its last field is not taken for a complete one without root.
    (re.compile(r"^\s*\d+\s+\d+\s+[A-Za-z]\w*\b"),
     re.compile(rf"^\s*\d+\s+\d+\s+[A-Za-z]\w*(?:\s+[A-Za-z]\w*)?(?:\s+-?\d+)?{_SIDE}{_SIDE}"
                r"\s*$")),
    # perftest bandwidth row: bytes iterations peak average msgrate
    (re.compile(r"^\s*\d+\s+\d+\s+\d+\.\d+"),
     re.compile(r"^\s*\d+\s+\d+(?:\s+-?\d+(?:\.\d+)?){3,7}\s*$")),
    # iperf3 interval or summary line, with its UDP (jitter, lost/total), TCP (retr, cwnd) and
    # role fields: a line broken before them is not taken for complete
    (re.compile(r"^\[\s*(?:\d+|SUM)\]\s+\d"),
     re.compile(r"^\[\s*(?:\d+|SUM)\]\s+[\d.]+-\s*[\d.]+\s+sec\s+[\d.]+\s+\w?Bytes\s+[\d.]+\s+"
                r"\w?bits/sec(?:\s+[\d.]+\s+ms\s+\d+/\s*\d+\s+\([\d.e+-]+(?:%|&#37;)\))?"
                r"(?:\s+\d+)?(?:\s+[\d.]+\s+\w?Bytes)?(?:\s+\d+)?(?:\s+(?:sender|receiver))?\s*$")),
    # `rdma link` port line: it ends with its state (and physical_state, netdev)
    (re.compile(r"^(?:link |\d+/\d+: )\S+/\d+:?\s"),
     re.compile(r"^.*\bstate \S+(?: physical_state \S+)?(?: netdev \S+)?\s*$")),
    # nvidia-smi table row: starts and ends with "|"
    (re.compile(r"^\|"), re.compile(r"^\|.*\|$")),
    # perftest table header: "#bytes #iterations BW peak[Gb/sec] ... MsgRate[Mpps]"
    (re.compile(r"^\s*#bytes\s"),
     re.compile(r"^\s*#bytes\s+#iterations(?:\s+[\w.%]+(?: [\w.%]+)?\[[\w/%]+\])+\s*$")),
    # an XML element on one line (nvidia-smi -q -x): starts with "<", ends with ">"
    (re.compile(r"^\s*<[/?!\w]"), _XML_ELEMENT := re.compile(r"^\s*<.*>\s*$")),
)
# NCCL's own line head ("host:pid:tid [dev] NCCL INFO ..."): a following line that starts with
# no known shape is the rest of a wrapped message.
_NCCL_HEAD = re.compile(r"^\S+:\d+:\d+ \[\d+\]")
_LINE_STARTS = re.compile(
    r"^(?:#|\s*\d+\s+\d+\s|\[\s*(?:\d+|SUM)\]\s|NCCL (?:INFO|WARN|version)|\||\+-|-{5}|"
    r"\*{5}|$)")


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
    lines = [_CTRL_C.sub("", line) for line in normalise(text).split("\n")]
    raw_lengths = [len(line) for line in lines]  # as the wrap broke them, tabs unexpanded
    lines = [line.expandtabs(8) for line in lines]
    stripped: list[str] = []
    lines, names = strip_known_prefixes(lines)
    stripped += names
    lines, common = strip_common_prefix(lines)
    if common:
        stripped.append(f"common prefix {common!r}")
        lines, names = strip_known_prefixes(lines)
        stripped += names
    lines, joined = rejoin_wrapped(lines, _wrap_evidence(lines, raw_lengths))
    return Cleaned(lines=[line.rstrip() for line in lines],
                   stripped_prefixes=list(dict.fromkeys(stripped)), joined_lines=joined)


def _wrap_evidence(lines: list[str], raw_lengths: list[int] | None = None) -> list[int]:
    """Lines that look broken by a wrap: at the width most lines stop at, or ending in a space.

    A terminal breaks every long line at exactly its width, so several lines share the
    maximum length and go on in the next line; `fold -s` and mail clients break after a
    space and keep it. Tables have many lines of one length too, and some tools end lines
    with a space, so a paste counts as wrapped only where most such lines (for hard breaks at
    least two) are followed by a line that starts nothing of its own: one line of full width
    followed by another line cannot be told from a wrap, and is left alone; and a terminal's
    wrap must have broken at least one word or number in two.
    """
    raw = raw_lengths if raw_lengths is not None else [len(line) for line in lines]
    lengths = Counter(raw)
    width = max(lengths) if lengths else 0

    def goes_on(i: int, hard: bool) -> bool:
        if i + 1 >= len(lines):
            return False
        line, after = lines[i], lines[i + 1]
        if _TABLE_LINE.match(line):  # a table line: the rest starts no table line
            return bool(after.strip()) and not _TABLE_LINE.match(after)
        if _RULE.match(line):  # a rule broken in two
            return bool(_RULE.match(after)) and raw[i + 1] < width
        if not _continues(after, line, hard):
            return False
        if hard:  # the pieces of a terminal's wrap run at full width and end with a shorter one
            j = i + 1
            while raw[j] == width and j + 1 < len(lines) and _continues(lines[j + 1], line, hard):
                j += 1
            return raw[j] < width
        return True

    def mid_word(i: int) -> bool:
        """A break inside a word or number: what only a wrap does."""
        line, after = lines[i].rstrip("\n"), lines[i + 1]
        if not line or not line[-1].isalnum():
            return False
        return (after[:1].isalnum() and not after[:1].isupper()) or bool(
            re.match(r"^ [a-z0-9(<'\"]", after))

    def gate(candidates: list[int], hard: bool) -> set[int]:
        going_on = [i for i in candidates if goes_on(i, hard)]
        if len(going_on) >= (2 if hard else 1) and len(going_on) >= 0.5 * len(candidates) \
                and (not hard or any(mid_word(i) for i in going_on)):
            return set(going_on)
        return set()

    hard = gate([i for i, n in enumerate(raw) if n == width], True) if width >= 60 else set()
    soft = gate([i for i, line in enumerate(lines) if line.endswith(" ") and line.strip()],
                False)
    return [HARD if i in hard else SOFT if i in soft else 0 for i in range(len(lines))]


SOFT, HARD = 1, 2  # kinds of wrap evidence


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


_VALUE = re.compile(r"^(?:[-+]?\d[\d.,]*[A-Za-z/%]{0,5}|yes|no|on|off|true|false|up|down)$", re.I)
_SEGMENT = re.compile(r"^((?:\S+?\s){0,3}?\S*?[:|>\])])(\s+)")
_DIGITS = re.compile(r"\d+")


def strip_common_prefix(lines: list[str]) -> tuple[list[str], str | None]:
    """Strip a prefix most lines share up to a delimiter ("spark-1: ", "node1 | ", "host >").

    Lines are compared by shape (digit runs count as one), so "spark-1: " and "spark-2: " from
    two hosts of one pdsh run are the same prefix. The prefix is stripped only where at least
    45% of the non-blank lines (and 3 or more; a wrap adds lines without it) carry it, it
    contains a letter, its literal values repeat (a few hosts over many lines, not one PCI
    address per line), and what remains of those lines is content: not a bare value on most
    of them (that is "key: value" output, the key being no prefix), not `NCCL ...`.
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
    if count < max(3, 0.45 * len(content)) or not re.search(r"[A-Za-z]", shape):
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
    if len(literals) > max(2, count // 2):
        return lines, None  # every line its own "prefix": content (PCI addresses, keys)
    if sum(1 for r in rests if r.startswith("NCCL ")) > len(rests) // 2:
        return lines, None
    values = sum(1 for r in rests if len(r.split()) == 1 and _VALUE.match(r.strip()))
    if values >= 0.5 * len(rests):
        return lines, None  # "key: value" output: the "prefix" is the key
    out = list(lines)
    for i, rest in zip(seen[shape], rests, strict=True):
        out[i] = rest
    return out, shape


def rejoin_wrapped(lines: list[str], wrapped: list[int] | None = None,
                   max_pieces: int = 4) -> tuple[list[str], int]:
    """Join lines that a terminal or mail client wrapped.

    Three rules, most specific first: a table row (nccl-tests, perftest, iperf3, an XML
    element) is joined while its pieces complete its shape; an nvidia-smi table line that was
    broken takes the following lines that do not start a table line; an NCCL log line or a
    `#` comment line with evidence of a wrap (see `_wrap_evidence`) takes the next line when
    that line starts nothing of its own (`_continues`). Free text is left as it is: a line of
    prose followed by another cannot be told from a wrapped one.
    """
    wrapped = wrapped if wrapped is not None else [0] * len(lines)
    out: list[str] = []
    joined = 0
    i = 0
    while i < len(lines):
        line = lines[i]
        shape = _incomplete_shape(line)
        if shape is not None and not _TABLE_LINE.match(line):
            merged, used = _complete(lines, i, shape, wrapped, max_pieces)
            if merged is not None:
                out.append(merged)
                joined += used - 1
                i += used
                continue
        if wrapped[i] and shape is None and _is_complete_row(line, xml=False) \
                and i + 1 < len(lines) and _NUMBERS_ONLY.match(lines[i + 1]):
            # a perftest latency row (9 numbers) broken after its 6th looks complete too
            glue = "" if line.endswith(" ") or lines[i + 1].startswith(" ") else " "
            merged = line + glue + lines[i + 1]
            if _is_complete_row(merged, xml=False):
                out.append(merged)
                joined += 1
                i += 2
                continue
        j = i
        if _TABLE_LINE.match(line) and (wrapped[i] or not line.rstrip().endswith(("|", "+"))):
            while j + 1 < len(lines) and j + 1 - i < max_pieces and lines[j + 1].strip() \
                    and not _TABLE_LINE.match(lines[j + 1]) \
                    and not PROMPT.match(lines[j + 1]) \
                    and (wrapped[j] or not line.rstrip().endswith(("|", "+"))):
                line += lines[j + 1]
                j += 1
        elif wrapped[i] and (_NCCL_HEAD.match(line) or line.startswith("#")):
            while j + 1 < len(lines) and j + 1 - i < max_pieces \
                    and _continues(lines[j + 1], lines[i], wrapped[j] == HARD):
                line += lines[j + 1]
                j += 1
                if not wrapped[j]:
                    break
        joined += j - i
        out.append(line)
        i = j + 1
    return out, joined


_TABLE_LINE = re.compile(r"^(?:\||\+[-=+])")  # nvidia-smi's "| ... |" and "+---+" lines
_NUMBERS_ONLY = re.compile(r"^[\s\d.+-]+$")
_RULE = re.compile(r"^\s*(?:-{5,}|={5,}|\*{5,}|\+[-=+]{5,})")
_KEY_VALUE = re.compile(r"^\s*[\w.\[\]/()-]+(?: [\w.()-]+){0,3}\s*:(?:\s|$)")


def _is_complete_row(line: str, *, xml: bool = True) -> bool:
    line = line.rstrip()
    return any(start.match(line) and complete.match(line) for start, complete in _SHAPES
               if xml or complete is not _XML_ELEMENT)


def _continues(piece: str, before: str = "", hard: bool = False) -> bool:
    """Whether a line can be the rest of a wrapped line (it starts nothing of its own).

    Never a blank line, a prompt, a rule, an NCCL line head or a complete table row; nor the
    next record of a listing (a line that starts with the word the line before starts with,
    or a "key: value" line after a "key: value" line). After a soft break (a space kept at
    the end) the rest also starts no known structure; after a terminal's hard break at its
    width it can start with anything else, spaces included.
    """
    if not piece.strip() or PROMPT.match(piece) or _RULE.match(piece):
        return False
    if _NCCL_HEAD.match(piece) or _is_complete_row(piece, xml=not hard):
        return False
    if before.split()[:1] == piece.split()[:1]:
        return False
    if _KEY_VALUE.match(piece) and (_KEY_VALUE.match(before) or not hard):
        return False
    if hard:
        return not piece.startswith(("|", "+-", "#"))
    if piece[:1].isspace() and _KEY_VALUE.match(before):
        return False
    if any(start.match(piece) for start, _ in _SHAPES):
        return False
    return not _LINE_STARTS.match(piece.lstrip())


def _incomplete_shape(line: str) -> re.Pattern[str] | None:
    line = line.rstrip()
    for start, complete in _SHAPES:
        if start.match(line) and not complete.match(line):
            return complete
    return None


def _complete(lines: list[str], i: int, complete: re.Pattern[str], wrapped: list[int],
              max_pieces: int) -> tuple[str | None, int]:
    """Join lines[i] with what follows until `complete` matches; None if it never does.

    The glue is decided by the break, not by which join matches: whitespace at the break, or
    a terminal's hard break at its width, join as they are; a break without either lost its
    space (a mail client or a paste that trimmed it), so one is put back.
    """
    merged = lines[i]
    for j in range(i + 1, min(len(lines), i + max_pieces)):
        piece = lines[j]
        if not piece.strip() or PROMPT.match(piece) or _NCCL_HEAD.match(piece):
            return None, 0
        spaced = merged.endswith(" ") or piece.startswith(" ")
        glues = ("", " ") if spaced or wrapped[j - 1] else (" ", "")
        for glue in glues:
            if complete.match((merged + glue + piece).rstrip()):
                return merged + glue + piece, j - i + 1
        if complete is not _XML_ELEMENT and _is_complete_row(piece):
            return None, 0  # the next line is a row of its own: this one was cut, not wrapped
        merged = merged + glues[0] + piece
    return None, 0


def prompt_command(line: str) -> str | None:
    """The command typed after a shell prompt on this line, "" for a bare prompt, else None."""
    match = PROMPT.match(line)
    if not match:
        return None
    return match.group("cmd") or ""


def phrase(words: str) -> re.Pattern[str]:
    """A fixed phrase a tool prints, matched with any run of spaces or tabs between its words.

    Pastes turn spaces into tabs and back ("Primary job  terminated normally" has two spaces
    in Open MPI's text), so the tools' marker phrases are never compared byte for byte.
    """
    pattern = re.compile(r"\s+".join(re.escape(w) for w in words.split()))
    PHRASE_TEXT[pattern] = words
    return pattern


PHRASE_TEXT: dict[re.Pattern[str], str] = {}  # each phrase as the tool prints it


def find_phrases(phrases: tuple[re.Pattern[str], ...], text: str) -> bool:
    return any(p.search(text) for p in phrases)
