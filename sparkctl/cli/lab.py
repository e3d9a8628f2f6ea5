"""`sparkctl lab`: simulated DGX Spark clusters on this machine (root)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from sparkctl.cli.common import DataFormat, HostsOpt, number, print_json

app = typer.Typer(no_args_is_help=True, help=(
    "Simulated DGX Spark clusters on this machine: systemd nodes (NetworkManager, netplan, "
    "sshd) in namespaces with veths named like the ConnectX-7 twins. Needs root. Every later "
    "command reaches a lab with --lab NAME."))

NameOpt = Annotated[str, typer.Option(
    "--name", "-n", help="Lab name (1-8 lowercase letters/digits); labs with different names "
    "coexist.")]
FormatOpt = Annotated[DataFormat, typer.Option("--format", "-f", help="table or json.")]


def _echo(message: str) -> None:
    typer.echo(message, err=True)


@app.command("up")
def up(
    topology: Annotated[str | None, typer.Option(
        "--topology", "-t", help="Built-in topology: single, direct, direct-dual, ring3, "
        "switch2-4.")] = None,
    hosts: HostsOpt = None,
    cluster: Annotated[Path | None, typer.Option(
        "--cluster", "-c", help="Cluster file (YAML) whose nodes and cables to simulate.")] = None,
    name: NameOpt = "lab",
    rate: Annotated[str, typer.Option(
        "--rate", help="tc rate of every data link; it stands for the real 200 Gb/s "
        "(the scale factor goes into the inventory).")] = "2gbit",
    configured: Annotated[bool, typer.Option(
        "--configured", help="Also give data links their planned addresses and MTU (normally "
        "provisioning's job).")] = False,
    fresh: Annotated[bool, typer.Option(
        "--fresh", help="Nodes as a fresh DGX OS Spark: user nvidia with a random password "
        "(in the lab's `password` file, 0600), sudo asks it, no keys, no root login, empty "
        "known_hosts. Without it the nodes are already bootstrapped (key login, sudo "
        "without password).")] = False,
) -> None:
    """Bring a lab up (idempotent); print where its inventory is."""
    from sparkctl.errors import InputError
    from sparkctl.lab import lifecycle

    if (topology is None) == (cluster is None):
        raise InputError("give exactly one of --topology NAME or --cluster FILE",
                         hint="e.g. sparkctl lab up --topology ring3")
    if hosts is not None and topology is None:
        raise InputError("--hosts goes with --topology",
                         hint="a cluster file lists its own nodes")
    if topology is not None:
        from sparkctl.targets import split_hosts
        from sparkctl.topology.builtins import builtin_spec

        spec = builtin_spec(topology, split_hosts(hosts))
        source = {"topology_name": topology}
    else:
        from sparkctl.cluster import load_cluster_file

        assert cluster is not None  # exactly one of --topology and --cluster, checked above
        spec = load_cluster_file(cluster)
        source = {"cluster_file": str(cluster.resolve())}
    result = lifecycle.up(spec, name=name, rate=rate, configured=configured, fresh=fresh,
                          source=source, log=_echo)
    record = result.record
    verb = "is up" if result.created else "was already up"
    _echo(f"lab {record.name} {verb} ({record.topology}, {len(record.nodes)} node"
          f"{'s' if len(record.nodes) != 1 else ''}, {result.seconds:.1f} s)")
    for node in record.nodes:
        _echo(f"  {node.name:<12} {node.mgmt_address}")
    _echo(f"inventory: {record.inventory_path}")
    if record.fresh:
        _echo(f"fresh nodes: user {record.user}, password in {record.password_path}; "
              f"next: sparkctl bootstrap --lab {record.name} --password-stdin "
              f"< {record.password_path}")
    else:
        _echo(f"next: sparkctl lab ssh --name {record.name} {record.nodes[0].name}")
    typer.echo(str(record.inventory_path))


@app.command("down")
def down(name: NameOpt = "lab") -> None:
    """Tear a lab down (idempotent): processes, namespaces, veths, bridge, files."""
    from sparkctl.lab import lifecycle

    record = lifecycle.down(name)
    _echo(f"lab {name} is down" if record else f"lab {name} was not up; nothing to do")


@app.command("status")
def status(name: NameOpt = "lab", format: FormatOpt = DataFormat.table) -> None:
    """Nodes, PIDs, sshd health, links and active faults of a lab."""
    from sparkctl.lab.status import lab_status

    data = lab_status(name)
    if format == DataFormat.json:
        print_json(data, kind="lab-status")
        return
    from rich.console import Console
    from rich.table import Table

    console = Console()
    console.print(f"lab [bold]{data['name']}[/bold]: {data['state']}, topology "
                  f"{data['topology']}, management {data['mgmt_subnet']}, links shaped to "
                  f"{data['rate_mbit']} Mbit/s (x{data['scale']:g} = real)")
    table = Table("node", "management", "pid", "running", "sshd")
    for n in data["nodes"]:
        table.add_row(n["name"], n["mgmt_address"], str(n["pid"] or "-"),
                      "yes" if n["running"] else "NO", n["sshd"])
    console.print(table)
    links = Table("rail", "end A", "state", "end B", "state")
    for link in data["links"]:
        a, b = link["a"], link["b"]
        links.add_row(str(link["rail"]), f"{a['node']}:{a['interface']}", a["state"],
                      f"{b['node']}:{b['interface']}", b["state"])
    if data["links"]:
        console.print(links)
    if data["faults"]:
        console.print("active faults:")
        for f in data["faults"]:
            console.print(f"  {f['id']}. {f['kind']} {' '.join(f['args'])}")
    else:
        console.print("no active faults")
    console.print(f"inventory: {data['inventory']}")


@app.command("list")
def list_labs(format: FormatOpt = DataFormat.table) -> None:
    """Labs on this machine."""
    from sparkctl.lab.status import lab_list

    rows = lab_list()
    if format == DataFormat.json:
        print_json(rows, kind="lab-list")
        return
    if not rows:
        _echo("no labs; start one with `sparkctl lab up --topology ring3`")
        return
    from rich.console import Console
    from rich.table import Table

    table = Table("name", "topology", "nodes", "state", "faults", "management", "inventory")
    for r in rows:
        table.add_row(r["name"], r["topology"], str(r["nodes"]), r["state"], str(r["faults"]),
                      r["mgmt_subnet"], r["inventory"])
    Console().print(table)


@app.command("ssh", context_settings={"allow_interspersed_args": False})
def ssh(
    node: Annotated[str, typer.Argument(help="Node name, e.g. spark-1.")],
    command: Annotated[list[str] | None, typer.Argument(
        help="Command to run (after --); without one, an interactive shell.")] = None,
    name: NameOpt = "lab",
    timeout: Annotated[float, typer.Option(
        "--timeout", help="Seconds a command may run before it is stopped.",
        callback=number(0.0, 7 * 86400.0, lo_open=True))] = 3600.0,
) -> None:
    """SSH into a lab node as its user (nvidia), or run a command there and exit with its
    exit code. Root commands need sudo, as on a real Spark."""
    from sparkctl.lab import shell
    from sparkctl.lab.status import load_record

    record = load_record(name)
    record.node(node)
    if not command:
        shell.interactive(record, node)
        return
    code = shell.run_on_node(record, node, list(command), timeout=timeout)
    sys.stdout.flush()
    raise typer.Exit(code)


@app.command("reboot")
def reboot(
    nodes: Annotated[list[str], typer.Argument(help="Node names, e.g. spark-1 spark-2.")],
    name: NameOpt = "lab",
) -> None:
    """Reboot nodes (their systemd restarts; links come up from what the node has persisted,
    as after a real reboot) and wait until their sshd answers."""
    from sparkctl.lab import lifecycle

    for node, seconds in lifecycle.reboot(name, list(nodes)).items():
        _echo(f"{node} rebooted, sshd answering after {seconds:.1f} s")


@app.command("console", context_settings={"allow_interspersed_args": False})
def console(
    node: Annotated[str, typer.Argument(help="Node name, e.g. spark-1.")],
    command: Annotated[list[str] | None, typer.Argument(
        help="Command to run as root (after --); without one, an interactive root shell.")]
    = None,
    name: NameOpt = "lab",
    timeout: Annotated[float, typer.Option(
        "--timeout", help="Seconds a command may run before it is stopped.")] = 3600.0,
) -> None:
    """A root shell on a lab node's console (no SSH, no network): what a keyboard and screen
    on the box give. Works on fresh labs, with sshd stopped, or with the network broken."""
    from sparkctl.lab import shell
    from sparkctl.lab.status import load_record

    record = load_record(name)
    record.node(node)
    if not command:
        shell.interactive_console(record, node)
        return
    code = shell.run_on_console(record, node, list(command), timeout=timeout)
    sys.stdout.flush()
    raise typer.Exit(code)


@app.command("fault")
def fault(
    kind: Annotated[str, typer.Argument(
        help="link-down NODE IFACE | mtu NODE IFACE VALUE | degrade NODE IFACE PERCENT | "
        "drop-tcp NODE PEER | sshd-stop NODE | swap-cables NODE_A:PORT NODE_B:PORT | clear")],
    args: Annotated[list[str] | None, typer.Argument(help="The fault's arguments.")] = None,
    name: NameOpt = "lab",
) -> None:
    """Inject a fault into a lab, or `clear` them all.

    degrade PERCENT lowers the link's rate by that much (degrade ... 50 halves it) on both ends;
    drop-tcp makes NODE drop TCP from PEER while ping still works (a one-sided firewall);
    swap-cables re-plugs two ports' cables into each other's port.
    """
    from sparkctl.lab import faults

    if kind == "clear":
        undone = faults.clear(name)
        _echo(f"cleared {len(undone)} fault{'s' if len(undone) != 1 else ''}"
              + (": " + ", ".join(f"{f.kind} {' '.join(f.args)}" for f in undone)
                 if undone else ""))
        return
    record = faults.inject(name, kind, list(args or []))
    _echo(f"fault active: {record.kind} {' '.join(record.args)} "
          f"(undo with `sparkctl lab fault clear --name {name}`)")


@app.command("shims")
def shims(format: FormatOpt = DataFormat.table) -> None:
    """Where a lab node differs from stock Debian: the DGX OS files it adds and every lab-only
    shim, each with its reason (sparkctl/lab/node_os.py)."""
    from sparkctl.lab.node_os import shim_table

    rows = [{"kind": k, "what": w, "where": p, "why": y} for k, w, p, y in shim_table()]
    if format == DataFormat.json:
        print_json(rows, kind="lab-shims")
        return
    from rich.console import Console
    from rich.table import Table

    table = Table("kind", "what", "where", "why")
    for r in rows:
        table.add_row(r["kind"], r["what"], r["where"], r["why"])
    Console().print(table)


@app.command("prereqs")
def prereqs(
    install: Annotated[bool, typer.Option(
        "--install", help="Run the apt-get command (root).")] = False,
) -> None:
    """Print (or run) the apt-get command for the host packages the lab needs."""
    import shlex

    from sparkctl.lab import prereqs as pre

    states = pre.check()
    for s in states:
        _echo(f"  {'ok     ' if s.present else 'MISSING'} {s.package} ({s.command})")
    if install:
        pre.install()
        _echo("installed")
        return
    typer.echo(shlex.join(pre.install_command()))
