"""`sparkctl init`: write a commented cluster file to start from."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from sparkctl.cli.common import HostsOpt, file_path


def init(
    topology: Annotated[str, typer.Option("--topology", "-t", help="Built-in topology.")],
    hosts: HostsOpt = None,
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="Where to write (default: stdout).", callback=file_path)] = None,
    mtu: Annotated[int | None, typer.Option(help="MTU of the data rails (default 9000; 1500 "
                                            "through a switch).")] = None,
    platform: Annotated[str, typer.Option(help="dgx-spark or lab.")] = "dgx-spark",
    force: Annotated[bool, typer.Option(help="Overwrite an existing file.")] = False,
) -> None:
    """Write a commented cluster file, e.g. `sparkctl init -t ring3 -H a,b,c -o cluster.yaml`.

    The file is validated before it is written: what init writes always loads.
    """
    import dataclasses

    from sparkctl.cluster import Cluster, parse_cluster_text, render_cluster_file
    from sparkctl.errors import InputError
    from sparkctl.fileio import atomic_write
    from sparkctl.targets import split_hosts
    from sparkctl.topology.builtins import builtin_spec
    from sparkctl.topology.model import PLATFORMS

    if platform not in PLATFORMS:
        raise InputError(f"unknown platform {platform!r}", hint=f"use {' or '.join(PLATFORMS)}")
    params: dict[str, Any] = {} if mtu is None else {"mtu": mtu}
    spec = dataclasses.replace(builtin_spec(topology, split_hosts(hosts), **params),
                               platform=platform)
    Cluster.from_spec(spec)
    text = render_cluster_file(spec)
    Cluster.from_spec(parse_cluster_text(text, str(output or "<init>")))
    if output is None:
        typer.echo(text, nl=False)
        return
    if output.exists() and not force:
        raise InputError(f"{output} exists", hint="pass --force to overwrite it")
    atomic_write(output, text)
    typer.echo(f"wrote {output}")
