"""`sparkctl bootstrap (target)`: first contact with fresh Sparks (password once, host keys
shown and pinned, controller key installed, sudo set up), and the become-password options
that provision, runtime up/down and health install share."""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from sparkctl.cli.common import (
    ClusterOpt,
    DataFormat,
    HostsOpt,
    InventoryOpt,
    LabOpt,
    TopologyOpt,
    print_json,
    target_from_options,
)
from sparkctl.errors import InputError, RunFailed

AskBecomeOpt = Annotated[bool, typer.Option(
    "--ask-become-pass", "-K",
    help="Ask for the sudo (become) password on the terminal, as ansible-playbook -K does.")]
BecomeStdinOpt = Annotated[bool, typer.Option(
    "--become-password-stdin", help="Read the sudo (become) password from one line of stdin.")]


def become_password(ask: bool, from_stdin: bool):
    """The become password for a run, or None when neither option is given."""
    from sparkctl.bootstrap.secrets import read_secret

    if ask and from_stdin:
        raise InputError("-K and --become-password-stdin exclude each other",
                         hint="-K asks on the terminal; --become-password-stdin reads a pipe")
    if not (ask or from_stdin):
        return None
    return read_secret("BECOME password: ", from_stdin=from_stdin,
                       stdin_option="--become-password-stdin")


class SudoMode(str, Enum):
    keep = "keep"
    nopasswd = "nopasswd"


class _TerminalPrompter:
    def confirm(self, text: str) -> bool:
        return typer.confirm(text, default=False, err=True)

    def say(self, text: str) -> None:
        typer.echo(text, err=True)


class _QuietPrompter(_TerminalPrompter):
    def confirm(self, text: str) -> bool:  # pragma: no cover - never asked without a tty
        return False


def bootstrap(
    topology: TopologyOpt = None,
    hosts: HostsOpt = None,
    cluster: ClusterOpt = None,
    inventory: InventoryOpt = None,
    lab: LabOpt = None,
    user: Annotated[str | None, typer.Option(
        "--user", "-u", help="Login user on the nodes (default: the inventory's "
                             "ansible_user).")] = None,
    password_stdin: Annotated[bool, typer.Option(
        "--password-stdin", help="Read the login password from one line of stdin instead "
                                 "of a prompt (then nothing is asked: use --accept-new or "
                                 "--fingerprints).")] = False,
    accept_new: Annotated[bool, typer.Option(
        "--accept-new", help="Trust the host keys the nodes offer now (trust on first use). "
                             "A key that differs from a pinned one is still refused.")] = False,
    fingerprints: Annotated[Path | None, typer.Option(
        "--fingerprints", help="Expected host key fingerprints, one per line as "
                               "`ssh-keygen -l` prints them, naming the node.")] = None,
    sudo: Annotated[SudoMode, typer.Option(
        "--sudo", help="nopasswd: write /etc/sudoers.d/sparkctl-USER (checked by visudo); "
                       "keep: leave sudo as it is and pass -K to provision.")] = SudoMode.keep,
    yes: Annotated[bool, typer.Option(
        "--yes", "-y", help="Do not ask before changing the nodes (asked on a terminal "
                            "only).")] = False,
    key: Annotated[Path | None, typer.Option(
        "--key", help="Install this public key (e.g. ~/.ssh/id_ed25519.pub) instead of a "
                      "per-cluster key sparkctl generates.")] = None,
    repin: Annotated[str | None, typer.Option(
        "--repin", help="Nodes whose changed host key you have checked: drop their old "
                        "pin and pin what they offer now (comma-separated).")] = None,
    rotate_mesh_key: Annotated[bool, typer.Option(
        "--rotate-mesh-key", help="Make a new node-to-node mesh key and install it; the old "
                                  "key's authorized_keys line goes from every node.")] = False,
    timeout: Annotated[float, typer.Option(
        help="Seconds to wait for each node's SSH connection and each step.")] = 10.0,
    fmt: Annotated[DataFormat, typer.Option("--format")] = DataFormat.table,
) -> None:
    """First contact: log in with the password once, pin host keys, install a key, set sudo."""
    from sparkctl.bootstrap.run import BootstrapRequest
    from sparkctl.bootstrap.run import bootstrap as run_bootstrap
    from sparkctl.bootstrap.secrets import read_secret
    from sparkctl.provision.plan import split_csv

    interactive = not password_stdin and sys.stdin.isatty()
    if not password_stdin and not sys.stdin.isatty():
        raise InputError("no terminal to ask the password on",
                         hint="pipe the password as one line and add --password-stdin")
    target = target_from_options(topology, hosts, cluster, inventory, lab)
    request = BootstrapRequest(
        user=user, accept_new=accept_new, fingerprints=fingerprints, sudo=sudo.value, yes=yes,
        key=key.expanduser() if key else None, repin=split_csv(repin),
        rotate_mesh_key=rotate_mesh_key, timeout_s=timeout, interactive=interactive)

    def password():
        return read_secret("Password of the login user on the nodes: ",
                           from_stdin=password_stdin, stdin_option="--password-stdin")

    prompter = _TerminalPrompter() if interactive or fmt is DataFormat.table \
        else _QuietPrompter()
    result = run_bootstrap(target, request, password, prompter)
    if fmt is DataFormat.json:
        print_json(result.to_dict(), kind="bootstrap")
    else:
        print_report(result)
    if not result.ok:
        bad = [n for n in result.nodes if not n.ok]
        raise RunFailed("bootstrap failed on " + ", ".join(n.name for n in bad) + ":\n  "
                        + "\n  ".join(f"{n.name}: {n.error}" for n in bad),
                        hint="the other nodes are done; fix these and run the same command "
                             "again (finished nodes report no change)")


def print_report(result) -> None:
    echo = typer.echo
    echo(f"cluster {result.cluster_id}: user {result.user}, login key {result.login_key}")
    echo(f"host keys pinned in {', '.join(result.known_hosts)}")
    for node in result.nodes:
        echo(f"\n{node.name} ({node.address}:{node.port}): {'ok' if node.ok else 'FAILED'}")
        for line in node.fingerprints:
            echo(f"  host key     {line}")
        if node.host_key:
            echo(f"  pinning      {node.host_key}")
        if node.key_login:
            echo(f"  key login    {node.key_login}")
        if node.sudo:
            echo(f"  sudo         {node.sudo}")
        if node.dgx_name or node.os:
            dgx = f"{node.dgx_name} {node.dgx_version or ''}".strip() if node.dgx_name \
                else "no /etc/dgx-release (not DGX OS)"
            echo(f"  system       {dgx}; {node.os or 'unknown OS'}")
        if node.mgmt_interface or node.mgmt_address:
            echo(f"  management   {node.mgmt_interface or '?'} {node.mgmt_address or '?'}")
        for change in node.changes:
            echo(f"  changed      {change}")
        for note in node.notes:
            echo(f"  note         {note}")
        if node.error:
            echo(f"  error        {node.error}")
    echo("")
    for change in result.controller_changes:
        echo(f"controller: {change}")
    if result.mesh:
        echo(f"mesh key: {result.mesh}")
    if result.changed:
        echo(f"bootstrap changed {sum(1 for n in result.nodes if n.changes)} node(s) in "
             f"{result.duration_s:.1f} s")
    elif result.ok:
        echo("nothing changed: every node was already bootstrapped")
    else:
        echo("nothing changed")
