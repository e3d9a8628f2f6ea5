"""The agent program as one piece of Python text, and the command line that runs it.

The remote modules are small files here (wire, manifest, send, receive, relay, agent); on a node
they run as one program, concatenated in dependency order without their sparkctl imports,
compressed and carried inside the SSH command like validate's probes: nothing is installed
and a node needs only python3.
"""

from __future__ import annotations

import base64
import re
import shlex
import zlib
from functools import cache
from pathlib import Path

REMOTE = Path(__file__).with_name("remote")
PARTS = ("wire", "manifest", "send", "receive", "relay", "agent")  # dependency order
_LOCAL_IMPORTS = re.compile(r"^# <local-imports>\n.*?^# </local-imports>\n", re.S | re.M)
_SPARKCTL_IMPORT = re.compile(r"^\s*(from|import)\s+sparkctl\b", re.M)
MODES = ("manifest", "relay", "source", "feed")


@cache
def program_text() -> str:
    parts = []
    for name in PARTS:
        text = (REMOTE / f"{name}.py").read_text(encoding="utf-8")
        stripped = _LOCAL_IMPORTS.sub("", text)
        if _SPARKCTL_IMPORT.search(stripped):
            raise RuntimeError(f"remote/{name}.py imports sparkctl outside its local-imports "
                               "block; a node has no sparkctl")
        parts.append(f"# ---- {name}.py ----\n{stripped}")
    return "\n".join(parts)


@cache
def _loader() -> str:
    packed = base64.b64encode(zlib.compress(program_text().encode(), 9)).decode()
    return f"import base64,zlib;exec(zlib.decompress(base64.b64decode('{packed}')))"


def agent_command(mode: str) -> str:
    """Shell command that runs the agent in `mode`; the request goes to its stdin."""
    if mode not in MODES:
        raise ValueError(f"unknown agent mode {mode!r}")
    return f"exec python3 -c {shlex.quote(_loader())} {mode}"
