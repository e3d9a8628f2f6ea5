"""Options shared by every command that acts on a cluster, and output helpers."""

from __future__ import annotations

import json
import sys
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from sparkctl import values

if TYPE_CHECKING:
    from sparkctl.targets import Target

TopologyOpt = Annotated[str | None, typer.Option(
    "--topology", "-t", help="Built-in topology: single, direct, direct-dual, ring3, switch2-4.")]
HostsOpt = Annotated[str | None, typer.Option(
    "--hosts", "-H", help="Comma-separated host names or addresses, in cabling order (N1,N2,..).")]
ClusterOpt = Annotated[Path | None, typer.Option(
    "--cluster", "-c", help="Cluster file (YAML); write one with `sparkctl init`.")]
InventoryOpt = Annotated[Path | None, typer.Option(
    "--inventory", "-i", help="Inventory written by sparkctl (`sparkctl inventory -o`).")]
LabOpt = Annotated[str | None, typer.Option(
    "--lab", help="Name of a running simulated cluster (`sparkctl lab up`).")]


class JunitDegraded(str, Enum):
    fail = "fail"
    warn = "warn"


JunitDegradedOpt = Annotated[JunitDegraded, typer.Option(
    "--junit-degraded", help="fail: a degraded check fails the job (a JUnit failure, exit "
                             "1). warn: it only warns (a passing JUnit testcase marked "
                             "DEGRADED, and exit 0 when nothing failed); failures still exit "
                             "1.")]


def target_from_options(topology: str | None, hosts: str | None, cluster: Path | None,
                        inventory: Path | None, lab: str | None) -> Target:
    # Lazy: the graph model (networkx) costs ~0.1 s to import; --help should not pay it.
    from sparkctl.targets import resolve_target

    return resolve_target(topology=topology, hosts=hosts, cluster=cluster, inventory=inventory,
                          lab=lab)


# --- validated option values --------------------------------------------------------------
# click's FloatRange lets nan through (every comparison with nan is false) and INT takes
# 10**30; these callbacks go on the declarations of every numeric option instead. A bad value
# is a usage error: exit 2, "Invalid value for '--budget': must be a finite number, got nan".

def number(lo: float | None = None, hi: float | None = None, *, lo_open: bool = False):
    """Callback for a float option: finite, within [lo, hi] (lo excluded with lo_open)."""
    def check(param: typer.CallbackParam, value: float | None) -> float | None:
        if value is None:
            return None
        try:
            values.finite_number(value, lo, hi, lo_open=lo_open)
        except values.BadValue as bad:
            raise typer.BadParameter(bad.message, param=param) from None
        return value
    return check


def whole(lo: int | None = None, hi: int | None = None):
    """Callback for an int option: within [lo, hi]."""
    def check(param: typer.CallbackParam, value: int | None) -> int | None:
        if value is None:
            return None
        try:
            values.integer(value, lo, hi)
        except values.BadValue as bad:
            raise typer.BadParameter(bad.message, param=param) from None
        return value
    return check


def file_path(param: typer.CallbackParam, value: Path | None) -> Path | None:
    """Callback for an option naming a file sparkctl writes or locks: not a directory or a
    device, in a directory that exists or can be made, control-free."""
    if value is None:
        return None
    try:
        values.path_text(str(value))
    except values.BadValue as bad:
        raise typer.BadParameter(bad.message, param=param) from None
    if value.is_dir():
        raise typer.BadParameter(f"{value} is a directory; give a file path", param=param)
    if value.exists() and not value.is_file():
        raise typer.BadParameter(f"{value} is not a regular file", param=param)
    for parent in value.absolute().parents:
        if parent.exists():
            if not parent.is_dir():
                raise typer.BadParameter(f"{parent} is not a directory", param=param)
            break
    return value


class DataFormat(str, Enum):
    table = "table"
    json = "json"


def print_json(data: Any, output: Path | None = None, *, kind: str | None = None) -> None:
    """JSON on stdout (or atomically to `output`); with `kind`, the versioned document
    (sparkctl.outputs: schema_version, the shipped schema data/schemas/<kind>.json)."""
    if kind is not None:
        from sparkctl.outputs import versioned

        data = versioned(kind, data)
    text = json.dumps(data, indent=2, sort_keys=False) + "\n"
    if output is None:
        sys.stdout.write(text)
    else:
        from sparkctl.fileio import atomic_write

        atomic_write(output, text)


OutputOpt = Annotated[Path | None, typer.Option(
    "--output", "-o", callback=file_path,
    help="Write the report to this file instead of stdout, in the chosen --format (the same "
    "text stdout would show, without colour); written atomically, also with --quiet.")]
WaitOpt = Annotated[float, typer.Option(
    "--wait", callback=number(0.0, 86400.0),
    help="If another run holds this cluster's lock, wait up to this many seconds for it "
    "(default 0: exit 2 at once, naming the holder's pid and command).")]


def emit(text: str, output: Path | None, *, quiet: bool = False,
         summary: str | None = None, healthy: bool = True) -> None:
    """One output rule for every format: `-o FILE` gets the report (atomically) whatever
    --quiet says; stdout gets it unless --quiet, which prints only `summary` when the run
    is not healthy (one line for cron mail)."""
    if output is not None:
        from sparkctl.errors import InputError
        from sparkctl.fileio import atomic_write

        if output.is_dir():
            raise InputError(f"-o {output} is a directory", hint="give a file path")
        try:
            atomic_write(output, text)
        except OSError as exc:
            raise InputError(f"cannot write -o {output}: {exc.strerror}",
                             hint="give a writable file path") from None
    elif not quiet:
        sys.stdout.write(text)
    if quiet and not healthy and summary:
        typer.echo(summary)


def finish_run(report, what: str, *, degraded_ok: bool = False) -> None:
    """Exit with the report's code (sparkctl.engine.outcome); say so when nothing ran.
    `degraded_ok` (--junit-degraded warn): a degraded run exits 0."""
    from sparkctl.engine.outcome import exit_code, nothing_checked

    message = nothing_checked(report, what)
    if message:
        typer.echo(f"sparkctl: {message}", err=True)
    raise typer.Exit(int(exit_code(report, degraded_ok=degraded_ok)))


def budget_option(value: float | None) -> float | None:
    """--budget as given: finite and above zero (checked before anything runs)."""
    if value is None:
        return None
    from sparkctl.engine.budget import checked_budget

    return checked_budget(value)


def finish_playbook_run(result, what: str, timeout_s: float, again: str) -> None:
    """Exit the way every Ansible-backed command does: 130 when interrupted, 1 (naming the
    failed or unreachable hosts) when it failed or ran out of time, else return. `what`
    names the run in messages; `again` says how to carry on ("re-run the same command")."""
    from sparkctl.errors import RunFailed
    from sparkctl.exitcodes import ExitCode

    if result.status == "canceled":
        typer.echo(f"sparkctl: interrupted; stopped the {what}. To carry on, {again}.",
                   err=True)
        raise typer.Exit(int(ExitCode.INTERRUPTED))
    if result.status == "timeout":
        raise RunFailed(f"the {what} took longer than {timeout_s:g} s and was stopped",
                        hint=f"see {result.run_dir}; {again}")
    if not result.ok:
        bad = [h for h, s in result.stats.items() if s.failed or s.unreachable]
        where = f"on {', '.join(bad)}" if bad else f"(ansible-playbook exit {result.rc})"
        raise RunFailed(f"{what} failed {where}",
                        hint=f"fix what the table says, then {again}; logs: "
                             f"{result.run_dir}/artifacts/run/stdout")
