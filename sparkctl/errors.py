"""Errors that the CLI turns into a clear message and an exit code, never a traceback."""

from __future__ import annotations

from dataclasses import dataclass

from sparkctl.exitcodes import ExitCode


@dataclass(frozen=True)
class Location:
    """Where in an input file a problem sits (1-based line and column)."""

    path: str
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        parts = [self.path]
        if self.line is not None:
            parts.append(str(self.line))
            if self.column is not None:
                parts.append(str(self.column))
        return ":".join(parts)


class SparkctlError(Exception):
    """Base for expected failures: carries a message, an optional fix hint and an exit code."""

    exit_code: ExitCode = ExitCode.USAGE

    def __init__(self, message: str, *, hint: str | None = None,
                 location: Location | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.location = location

    def __str__(self) -> str:
        text = f"{self.location}: {self.message}" if self.location else self.message
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text


class InputError(SparkctlError):
    """Bad user input: a cluster file, a CLI value, an inventory (exit 2)."""


class EnvironmentProblem(SparkctlError):
    """The machine lacks something sparkctl needs: root, a binary, a package (exit 2)."""


class RunFailed(SparkctlError):
    """A run (provisioning, a remote command) failed (exit 1)."""

    exit_code = ExitCode.FAILED


class InvalidTopology(InputError):
    """One or more topology rule violations; each names the node and port."""

    def __init__(self, violations: list, *, location: Location | None = None) -> None:
        self.violations = list(violations)
        lines = [str(v) for v in self.violations]
        super().__init__(
            f"invalid topology ({len(lines)} problem{'s' if len(lines) != 1 else ''}):\n  - "
            + "\n  - ".join(lines),
            location=location,
        )
