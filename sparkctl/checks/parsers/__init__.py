"""One module per tool; each turns a tool's text into a dataclass or raises ParseError."""

from sparkctl.checks.parsers.common import ParseError

__all__ = ["ParseError"]
