"""`sparkctl demo`: the main job end to end on a simulated cluster.

Brings up a lab (simulated Sparks on this machine), provisions it with the real Ansible roles,
validates links, rails and the collective, and prints the report. Needs root (namespaces).
"""

from __future__ import annotations

import time
from typing import Annotated

import typer

from sparkctl.exitcodes import ExitCode


def demo(
    topology: Annotated[str, typer.Option(
        "--topology", "-t", help="Built-in topology to simulate.")] = "ring3",
    name: Annotated[str, typer.Option("--name", help="Lab name (1-8 lowercase letters/digits).")]
    = "demo",
    keep: Annotated[bool, typer.Option(
        "--keep", help="Leave the lab up afterwards (explore it with `sparkctl lab ssh`).")]
    = False,
    quick: Annotated[bool, typer.Option(
        "--quick", help="Validate links only (no bandwidth or collective load).")] = False,
) -> None:
    """Simulate a cluster, provision it, validate it and show the report.

    Steps: `lab up` -> `provision --lab` -> `validate --lab` -> report -> `lab down` (unless
    --keep). Exit 0 when provisioning succeeded and every check passed, 1 otherwise.
    """
    from rich.console import Console

    from sparkctl.health.store import default_db_path
    from sparkctl.lab import lifecycle
    from sparkctl.provision.progress import RichProgress, print_summary
    from sparkctl.provision.runner import ProvisionRequest
    from sparkctl.provision.runner import provision as run_provision
    from sparkctl.targets import resolve_target
    from sparkctl.topology.builtins import builtin_spec
    from sparkctl.validate.output import render
    from sparkctl.validate.runner import PHASES, ValidateOptions, ValidateRequest, validate_target

    console = Console(stderr=True)
    began = time.monotonic()

    def step(number: int, text: str) -> None:
        console.rule(f"[bold]{number}/4[/] {text}", align="left")

    step(1, f"lab up: {topology} as simulated Sparks (lab {name!r})")
    result = lifecycle.up(builtin_spec(topology), name=name, source={"topology_name": topology},
                          log=lambda m: console.print(f"  {m}"))
    for node in result.record.nodes:
        console.print(f"  {node.name:<10} {node.mgmt_address}")
    console.print(f"  inventory: {result.record.inventory_path} ({result.seconds:.1f} s)")
    try:
        target = resolve_target(lab=name)
        step(2, "provision: Ansible roles through ansible-runner")
        run = run_provision(target, ProvisionRequest(), RichProgress(console))
        print_summary(console, run)
        step(3, "validate: " + ("links" if quick else "links, rails, collective"))
        options = ValidateOptions(phases=("links",) if quick else PHASES,
                                  budget_s=90.0 if quick else 600.0)
        # Recorded in the history like any validate run (`sparkctl health history`).
        validated = validate_target(target, ValidateRequest(options, default_db_path()),
                                    log=lambda m: console.print(f"  {m}"))
        report = validated.report
        step(4, "report")
        from sparkctl.report.terminal import terminal_for

        term = terminal_for()
        typer.echo(render(report, "table", target.description, color=term.color,
                          width=term.width, not_applicable=validated.not_applicable), nl=False)
    finally:
        if keep:
            console.print(f"lab {name} left up: `sparkctl lab ssh --name {name} spark-1`, "
                          f"`sparkctl lab down --name {name}`")
        else:
            lifecycle.down(name)
            console.print(f"lab {name} is down")
    ok = run.ok and report.verdict == "pass"
    console.print(f"[bold]{'PASS' if ok else 'FAIL'}[/]: provisioning "
                  f"{'succeeded' if run.ok else 'failed'} ({run.duration_s:.1f} s), validation "
                  f"{report.verdict} ({len(report.checks)} checks, {report.duration_s:.1f} s); "
                  f"total {time.monotonic() - began:.1f} s")
    from sparkctl.engine.outcome import exit_code

    raise typer.Exit(int(exit_code(report) if run.ok else ExitCode.FAILED))
