"""How wide and how colourful text for a terminal may be, decided once per command.

- Colour only on a terminal, never when NO_COLOR is set to anything non-empty
  (https://no-color.org) or TERM=dumb; a pipe or a file gets plain text.
- Width: COLUMNS when it is a positive number, else the terminal's, else 80 (what a pipe
  gets unless COLUMNS says otherwise).
"""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass
from typing import TextIO

DEFAULT_WIDTH = 80
MIN_WIDTH = 40


@dataclass(frozen=True)
class Terminal:
    color: bool
    width: int


def _columns(env: dict[str, str]) -> int | None:
    text = env.get("COLUMNS", "").strip()
    if text.isdigit() and int(text) > 0:
        return max(MIN_WIDTH, int(text))
    return None


def terminal_for(stream: TextIO | None = None, env: dict[str, str] | None = None,
                 *, plain: bool = False) -> Terminal:
    """The Terminal for text written to `stream` (stdout by default). `plain`: no colour
    whatever the stream is (-o FILE, --quiet)."""
    stream = sys.stdout if stream is None else stream
    env = dict(os.environ) if env is None else env
    try:
        tty = stream.isatty()
    except (AttributeError, ValueError):
        tty = False
    color = (tty and not plain and not env.get("NO_COLOR") and env.get("TERM") != "dumb")
    width = _columns(env)
    if width is None and tty:
        try:
            width = max(MIN_WIDTH, os.get_terminal_size(stream.fileno()).columns)
        except (AttributeError, ValueError, OSError):
            width = None
    if width is None:
        width = shutil.get_terminal_size((DEFAULT_WIDTH, 24)).columns if tty else DEFAULT_WIDTH
    return Terminal(color=color, width=width)


def make_console(file: TextIO, term: Terminal):
    """A rich Console writing to `file` with this terminal's width and colour."""
    from rich.console import Console

    return Console(file=file, width=term.width, force_terminal=term.color,
                   no_color=not term.color, color_system="standard" if term.color else None,
                   soft_wrap=False, highlight=False)
