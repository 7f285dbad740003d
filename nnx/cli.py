"""The `nnx` command: a thin Typer app that parses, calls the library and sets exit codes."""

from typing import Annotated

import typer

from nnx import __version__

app = typer.Typer(help="Neural-network experiments on the CPU: train, search, report.",
                  no_args_is_help=True, add_completion=False)


def _show_version(value: bool):
    if value:
        typer.echo(f"nnx {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[bool, typer.Option("--version", callback=_show_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
):
    """Neural-network experiments on the CPU: train, search, report."""


def main():
    app()
