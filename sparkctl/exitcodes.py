"""The one place that owns sparkctl's process exit codes (DESIGN.md, "Exit codes")."""

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0  # success, healthy
    FAILED = 1  # checks failed or degraded, or a run failed
    USAGE = 2  # usage, input or environment error
    INTERRUPTED = 130  # Ctrl-C
