"""The `sparkctl` typer application: wires command modules and owns error-to-exit-code mapping.

Command modules must keep heavy imports (ansible_runner, paramiko, matplotlib) inside their
functions so that `sparkctl topology show` stays fast.
"""

from __future__ import annotations

import sys

import typer
from typer.core import TyperGroup

from sparkctl import __version__
from sparkctl.errors import SparkctlError
from sparkctl.exitcodes import ExitCode


class _ErrorHandlingGroup(TyperGroup):
    """Turns expected errors into a message and an exit code; works under CliRunner too."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except SparkctlError as exc:
            typer.echo(f"sparkctl: error: {exc}", err=True)
            ctx.exit(int(exc.exit_code))
        except KeyboardInterrupt:
            typer.echo("sparkctl: interrupted", err=True)
            ctx.exit(int(ExitCode.INTERRUPTED))


# Help texts are plain text: with rich markup on, "[plot]" in `pip install
# 'dgx-sparkctl[plot]'` vanished as a style tag (the mode reaches every subcommand).
# -h is --help everywhere (click contexts inherit help_option_names). Completion:
# `sparkctl --install-completion` (bash, zsh, fish, PowerShell), `--show-completion`.
app = typer.Typer(
    cls=_ErrorHandlingGroup,
    no_args_is_help=True,
    add_completion=True,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
    pretty_exceptions_enable=False,
    help="Provision, validate and watch clusters of 1-4 NVIDIA DGX Spark machines.\n\n"
    "Every command that acts on a cluster takes one target: --topology NAME --hosts h1,h2,..; "
    "--cluster FILE; --inventory FILE; or --lab NAME.",
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"sparkctl {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Print the version and exit."),
) -> None:
    """sparkctl."""


def _register() -> None:
    # Import order is the order of `sparkctl --help`: model, lab, provisioning, checks, models.
    from sparkctl.cli import (
        analyze,
        bootstrap,
        checks,
        demo,
        discover,
        health,
        init,
        inventory,
        lab,
        plan,
        provision,
        runtime,
        sync,
        topology,
        undo,
        validate,
    )

    app.add_typer(topology.app, name="topology")
    app.command("init")(init.init)
    app.command("inventory")(inventory.inventory)
    app.add_typer(lab.app, name="lab")
    app.command("demo")(demo.demo)
    app.command("bootstrap")(bootstrap.bootstrap)
    provision.register(app)  # render, provision
    app.command("validate")(validate.validate)
    app.add_typer(health.app, name="health")
    app.add_typer(checks.app, name="checks")
    app.command("discover")(discover.discover)
    app.command("analyze")(analyze.analyze)
    app.command("plan")(plan.plan)
    app.add_typer(runtime.app, name="runtime")
    app.command("sync")(sync.sync)
    undo.register(app)  # network restore, uninstall


_register()


def main() -> None:
    # standalone_mode keeps click's own usage errors at exit 2.
    try:
        app()
    except KeyboardInterrupt:
        typer.echo("sparkctl: interrupted", err=True)
        sys.exit(int(ExitCode.INTERRUPTED))
