"""`sparkctl provision (target)`: run the roles on the cluster with live progress."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from sparkctl.cli.bootstrap import AskBecomeOpt, BecomeStdinOpt, become_password
from sparkctl.cli.common import (
    ClusterOpt,
    HostsOpt,
    InventoryOpt,
    LabOpt,
    TopologyOpt,
    finish_playbook_run,
    target_from_options,
    whole,
)


def provision(
    topology: TopologyOpt = None,
    hosts: HostsOpt = None,
    cluster: ClusterOpt = None,
    inventory: InventoryOpt = None,
    lab: LabOpt = None,
    check: Annotated[bool, typer.Option("--check", help="Show what would change; "
                                        "change nothing.")] = False,
    diff: Annotated[bool, typer.Option("--diff", help="Show file and state differences.")]
    = False,
    tags: Annotated[str | None, typer.Option(help="Only these roles, e.g. network,ssh_mesh "
                                             "(preflight always runs).")] = None,
    skip_tags: Annotated[str | None, typer.Option(help="Skip these roles.")] = None,
    limit: Annotated[str | None, typer.Option(help="Only these nodes (names or patterns, "
                                              "comma-separated).")] = None,
    forks: Annotated[int | None, typer.Option(help="Parallel nodes (default: all).",
                                              callback=whole(1, 256))] = None,
    runs_dir: Annotated[Path | None, typer.Option(help="Where run records go (default "
                                                  "~/.local/state/sparkctl/runs).")] = None,
    timeout: Annotated[int, typer.Option(help="Stop the whole run after this many seconds.",
                                         callback=whole(1, 7 * 86400))]
    = 4 * 3600,
    ask_become_pass: AskBecomeOpt = False,
    become_password_stdin: BecomeStdinOpt = False,
    keep_runs: Annotated[int, typer.Option(help="Keep this many run records (this one "
                                           "included); older ones are deleted.",
                                           callback=whole(1, 100_000))] = 20,
) -> None:
    """Configure the cluster: network plan, SSH mesh, RDMA, drivers, MPI, NCCL."""
    from rich.console import Console

    from sparkctl.provision.plan import split_csv
    from sparkctl.provision.progress import RichProgress, print_diffs, print_summary
    from sparkctl.provision.runner import ProvisionRequest, resume_hint
    from sparkctl.provision.runner import provision as run_provision

    target = target_from_options(topology, hosts, cluster, inventory, lab)
    request = ProvisionRequest(check=check, diff=diff, tags=split_csv(tags),
                               skip_tags=split_csv(skip_tags), limit=limit, forks=forks,
                               runs_dir=runs_dir, timeout_s=timeout, keep_runs=keep_runs,
                               become_password=become_password(ask_become_pass,
                                                               become_password_stdin))
    console = Console()
    result = run_provision(target, request, RichProgress(Console(stderr=True)))
    if diff:
        print_diffs(console, result)
    print_summary(console, result)
    from sparkctl.provision.notices import fabric_notices

    for note in fabric_notices(target.cluster.spec):
        console.print(note, style="yellow", highlight=False, soft_wrap=True)
    finish_playbook_run(result, "provisioning", timeout, resume_hint(result))


def register(app: typer.Typer) -> None:
    """Add `render` and `provision` to the app (one line in cli/app.py)."""
    from sparkctl.cli.render import render

    app.command("render")(render)
    app.command("provision")(provision)
