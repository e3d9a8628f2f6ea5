"""`sparkctl checks list`: every check id sparkctl reports, what it needs, who judges it."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

app = typer.Typer(help="The registry of check ids (what validate, health and runtime status "
                       "report).", no_args_is_help=True)


class ListFormat(StrEnum):
    table = "table"
    json = "json"
    markdown = "markdown"


@app.command("list")
def list_checks(
    selection: Annotated[str | None, typer.Option(
        "--in", help="Only the checks of one selection: validate, health or runtime.")] = None,
    output_format: Annotated[ListFormat, typer.Option(
        "--format", "-f", help="table, json or markdown (the README's list).")] = ListFormat.table,
) -> None:
    """List every check id with its kind, needs, selections and judge."""
    from sparkctl.engine import registry
    from sparkctl.errors import InputError

    checks = list(registry.CHECKS.values())
    if selection is not None:
        if selection not in (registry.VALIDATE, registry.HEALTH, registry.RUNTIME):
            raise InputError(f"--in {selection!r} is not a selection",
                             hint="use validate, health or runtime")
        checks = registry.selection(selection)
    if output_format is ListFormat.json:
        from sparkctl.cli.common import print_json

        print_json([c.to_dict() for c in checks], kind="checks-list")
        return
    if output_format is ListFormat.markdown:
        typer.echo(registry.markdown(checks), nl=False)
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title="sparkctl checks")
    for col in ("id", "kind", "needs", "in", "summary"):
        table.add_column(col, overflow="fold")
    for c in checks:
        table.add_row(c.id, c.kind, " ".join(c.needs) or "-", " ".join(c.in_), c.summary)
    Console().print(table)
