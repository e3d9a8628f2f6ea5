"""Helpers shared by the parsers: the error they raise and tolerant number handling."""

from __future__ import annotations

import math
import re


class ParseError(ValueError):
    """The text is not (or no longer) the tool output it looked like; `reason` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# Values tools print where a number is missing: "N/A", "[N/A]", "Not Supported", "Unknown!".
_MISSING = {"n/a", "[n/a]", "not supported", "[not supported]", "unknown!", "unknown", "-", ""}


def normalise(text: str) -> str:
    """Unify line endings (some fixtures are CRLF as stored by their publishers)."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def to_float(token: str | None) -> float | None:
    """A finite float, or None for the tools' "missing value" spellings and for junk."""
    if token is None:
        return None
    token = token.strip()
    if token.lower() in _MISSING:
        return None
    try:
        value = float(token)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def to_int(token: str | None) -> int | None:
    value = to_float(token)
    if value is None or value != int(value):
        return None
    return int(value)


_UNIT_NUMBER = re.compile(r"^\s*(-?[0-9]+(?:\.[0-9]+)?)\s*([A-Za-z%/]*)\s*$")


def number_with_unit(token: str | None) -> tuple[float | None, str | None]:
    """Split "81559 MiB" / "83.30 W" / "48 C" into (value, unit); missing values give None."""
    if token is None:
        return None, None
    match = _UNIT_NUMBER.match(token)
    if not match:
        return None, None
    return to_float(match.group(1)), (match.group(2) or None)
