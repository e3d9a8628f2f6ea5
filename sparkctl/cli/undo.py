"""`sparkctl network restore (target)` and `sparkctl uninstall (target)` (thin)."""

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

network_app = typer.Typer(no_args_is_help=True, help="The nodes' network as sparkctl "
                          "journaled it before its first change.")

LimitOpt = Annotated[str | None, typer.Option(help="Only these nodes (names or patterns, "
                                              "comma-separated).")]
RunsOpt = Annotated[Path | None, typer.Option(help="Where run records go (default "
                                              "~/.local/state/sparkctl/runs).")]
TimeoutOpt = Annotated[int, typer.Option(help="Stop the whole run after this many seconds.",
                                         callback=whole(1, 86400))]


@network_app.command("restore")
def restore(topology: TopologyOpt = None, hosts: HostsOpt = None, cluster: ClusterOpt = None,
            inventory: InventoryOpt = None, lab: LabOpt = None, limit: LimitOpt = None,
            runs_dir: RunsOpt = None, timeout: TimeoutOpt = 1800,
            ask_become_pass: AskBecomeOpt = False,
            become_password_stdin: BecomeStdinOpt = False) -> None:
    """Put each node's network back as it was before sparkctl first changed it.

    The network role journals a node (netplan files of /etc, /run and /usr/lib/netplan,
    addresses, routes, MTU) in /var/lib/sparkctl/network-journal/pre-sparkctl.json before
    its first change. This writes those netplan files back, runs `netplan apply` (the
    management link blinks) and checks that the node matches the journal file by file and
    address by address. The rest of what sparkctl installed stays: `sparkctl uninstall`
    removes it.

    Exit 0 when every node matches its journal, 1 when a node does not (the table names
    what differs), 2 on bad input.
    """
    from sparkctl.undo.run import UndoRequest, network_restore

    _finish("network restore", network_restore, target_from_options(
        topology, hosts, cluster, inventory, lab), UndoRequest(
            limit=limit, runs_dir=runs_dir, timeout_s=timeout,
            become_password=become_password(ask_become_pass, become_password_stdin)))


def uninstall(topology: TopologyOpt = None, hosts: HostsOpt = None, cluster: ClusterOpt = None,
              inventory: InventoryOpt = None, lab: LabOpt = None, limit: LimitOpt = None,
              keep_nccl: Annotated[bool, typer.Option(
                  "--keep-nccl", help="Leave the NCCL build (/opt/sparkctl) in place.")] = False,
              keep_access: Annotated[bool, typer.Option(
                  "--keep-access", help="Leave bootstrap's login key and sudoers drop-in, so "
                  "this controller still logs in and becomes root without a password.")]
              = False,
              runs_dir: RunsOpt = None, timeout: TimeoutOpt = 1800,
              ask_become_pass: AskBecomeOpt = False,
              become_password_stdin: BecomeStdinOpt = False) -> None:
    """Remove everything sparkctl put on the nodes and restore their network.

    First the network goes back to the pre-sparkctl journal (as `sparkctl network
    restore`). Then the manifests the roles kept are undone, newest entry first: files
    sparkctl created are deleted and files it changed get their earlier content back,
    its authorized_keys, known_hosts and ssh config blocks leave those files, timers stop,
    packages it installed are purged, the NCCL prefix goes (unless --keep-nccl). Last,
    bootstrap's login key and /etc/sudoers.d drop-in go (unless --keep-access): after that
    this controller needs the password again (-K).

    Exit 0 when every node is clean, 1 when a node failed (the table names it), 2 on bad
    input.
    """
    from sparkctl.undo.run import UndoRequest
    from sparkctl.undo.run import uninstall as run_uninstall

    _finish("uninstall", run_uninstall, target_from_options(
        topology, hosts, cluster, inventory, lab), UndoRequest(
            limit=limit, runs_dir=runs_dir, timeout_s=timeout,
            keep_groups=("nccl",) if keep_nccl else (), keep_access=keep_access,
            become_password=become_password(ask_become_pass, become_password_stdin)))


def _finish(action, run, target, request) -> None:
    from rich.console import Console

    from sparkctl.provision.progress import RichProgress, print_summary

    verb = {"uninstall": "uninstalling", "network restore": "restoring the network of"}[action]
    result = run(target, request, RichProgress(Console(stderr=True), action=verb))
    print_summary(Console(), result, action)
    # Re-running is safe: what is already undone is not undone again.
    finish_playbook_run(result, action, request.timeout_s, "re-run the same command")


def register(app: typer.Typer) -> None:
    """Add `network restore` and `uninstall` to the app (one line in cli/app.py)."""
    app.add_typer(network_app, name="network")
    app.command("uninstall")(uninstall)
