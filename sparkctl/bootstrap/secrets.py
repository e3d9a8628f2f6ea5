"""Passwords: read once from a prompt on a terminal or one line of stdin, held in memory
only, never put on a command line, in an environment, a file or a log."""

from __future__ import annotations

import getpass
import sys

from sparkctl.errors import InputError


class Secret:
    """A password that does not print itself (repr, str, f-strings, tracebacks)."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("secret", len(self._value)))


def read_secret(prompt: str, *, from_stdin: bool, stdin_option: str, stream=None) -> Secret:
    """One password: one line of stdin (from_stdin), or a no-echo prompt on the terminal.

    Without a terminal and without the stdin option this is an input error (exit 2): a
    script must say where the password comes from."""
    stream = stream or sys.stdin
    if from_stdin:
        line = stream.readline()
        if not line:
            raise InputError(f"{stdin_option}: stdin is empty",
                             hint=f"pipe one line: `printf '%s\\n' \"$PASSWORD\" | sparkctl ... "
                                  f"{stdin_option}`")
        value = line.rstrip("\r\n")
    else:
        if not stream.isatty():
            raise InputError("no terminal to ask the password on",
                             hint=f"pipe it as one line of stdin and add {stdin_option}")
        try:
            value = getpass.getpass(prompt)
        except EOFError:
            raise InputError("no password was typed") from None
    if not value:
        raise InputError("the password is empty",
                         hint="give the password of the login user on the nodes")
    return Secret(value)
