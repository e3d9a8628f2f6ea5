"""`sparkctl demo`: the main job end to end on a simulated cluster.

Brings up a lab of simulated Sparks as fresh DGX OS boxes (user nvidia with a password, sudo
that asks it, no keys), bootstraps key login the way a user does on real Sparks (password once,
host keys checked against the fingerprints read on each console), provisions with the real
Ansible roles answering sudo's prompt (-K), validates links, rails and the collective, and
prints the report. Needs root (namespaces).
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
    keyed: Annotated[bool, typer.Option(
        "--keyed", help="Skip the first contact: nodes that already take the lab's key and "
                        "sudo without a password (faster, kinder than a real Spark).")] = False,
) -> None:
    """Simulate a cluster, bootstrap it, provision it, validate it and show the report.

    Steps: `lab up --fresh` -> `bootstrap --fingerprints` (password once) -> `provision -K`
    -> `validate` -> report -> `lab down` (unless --keep). With --keyed: `lab up` ->
    `provision` -> `validate`. Exit 0 when provisioning succeeded and every check passed,
    1 otherwise.
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
    steps = 4 if keyed else 5
    numbers = iter(range(1, steps + 1))

    def step(text: str) -> None:
        console.rule(f"[bold]{next(numbers)}/{steps}[/] {text}", align="left")

    step(f"lab up: {topology} as simulated Sparks (lab {name!r}"
         + (")" if keyed else ", fresh DGX OS: user nvidia, password, no keys)"))
    result = lifecycle.up(builtin_spec(topology), name=name, source={"topology_name": topology},
                          fresh=not keyed, log=lambda m: console.print(f"  {m}"))
    for node in result.record.nodes:
        console.print(f"  {node.name:<10} {node.mgmt_address}")
    console.print(f"  inventory: {result.record.inventory_path} ({result.seconds:.1f} s)")
    try:
        password = None
        if not keyed:
            step("bootstrap: password once, host keys checked, key login")
            password = _first_contact(result.record, console)
        target = resolve_target(lab=name)
        step("provision: Ansible roles through ansible-runner"
             + ("" if keyed else ", sudo's password answered (-K)"))
        run = run_provision(target, ProvisionRequest(become_password=password),
                            RichProgress(console))
        print_summary(console, run)
        step("validate: " + ("links" if quick else "links, rails, collective"))
        options = ValidateOptions(phases=("links",) if quick else PHASES,
                                  budget_s=90.0 if quick else 600.0)
        # Recorded in the history like any validate run (`sparkctl health history`).
        validated = validate_target(target, ValidateRequest(options, default_db_path()),
                                    log=lambda m: console.print(f"  {m}"))
        report = validated.report
        step("report")
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


def _first_contact(record, console):
    """`sparkctl bootstrap --lab NAME --fingerprints F --password-stdin < password`, in
    process. F holds what `ssh-keygen -lf` would print on each node's console (the lab made
    those keys); the password is the one `lab up --fresh` set, read from its 0600 file."""
    from sparkctl.bootstrap.hostkeys import parse_known_hosts
    from sparkctl.bootstrap.run import BootstrapRequest
    from sparkctl.bootstrap.run import bootstrap as run_bootstrap
    from sparkctl.bootstrap.secrets import Secret
    from sparkctl.errors import RunFailed
    from sparkctl.fileio import atomic_write
    from sparkctl.targets import resolve_target

    entries = parse_known_hosts(record.host_keys_path.read_text(), str(record.host_keys_path))
    listing = "".join(f"{e.key.fingerprint('root@' + e.patterns.split(',')[0])}\n"
                      for e in entries)
    fingerprints = record.directory / "fingerprints"
    atomic_write(fingerprints, listing, mode=0o644)
    for line in listing.splitlines():
        console.print(f"  console says: {line}")
    password = Secret(record.password_path.read_text().rstrip("\n"))
    outcome = run_bootstrap(resolve_target(lab=record.name),
                            BootstrapRequest(fingerprints=fingerprints, yes=True),
                            lambda: password)
    for node in outcome.nodes:
        console.print(f"  {node.name:<10} {'ok' if node.ok else 'FAILED'}: "
                      f"{node.host_key if node.ok else node.error}")
    if not outcome.ok:
        raise RunFailed("bootstrap failed on "
                        + ", ".join(n.name for n in outcome.nodes if not n.ok))
    return password
