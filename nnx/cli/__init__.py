"""The `nnx` command: a thin Typer app that parses, calls the library and sets exit codes.

One module per family of commands (`runs`: train, validate, evaluate, predict; `search`:
search and studies; `report`; `datasets`; `warmup`), their shared options and exit codes in
`common`. Heavy imports (numba, Optuna, rich's display parts, the experiment machinery)
happen inside the commands, so that `nnx --help` stays fast.
"""

import gc
from typing import Annotated

import typer

from nnx import __version__, stop_signals
from nnx.cli import datasets, report, runs, schema, search, starters, warmup
from nnx.cli.usage import Command, Group

QUICK_START = """Neural-network experiments on the CPU: train, search, report.

```
nnx init --dataset digits -o digits.yaml   # a commented starter experiment
nnx train digits.yaml                      # train it: ./results, nnx report
nnx search digits.yaml --n-trials 20       # search its hyperparameters
```

`nnx schema` lists every key of an experiment file; `nnx examples` the shipped ones."""

# Markdown help: Typer's rich mode would keep the docstrings' line breaks.
app = typer.Typer(name="nnx", cls=Group, help=QUICK_START, rich_markup_mode="markdown",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)


def _show_version(value: bool):
    if value:
        typer.echo(f"nnx {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[bool, typer.Option("--version", callback=_show_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
):
    """The global options (the help text is QUICK_START)."""


for command in (starters.init, runs.train, runs.validate, runs.evaluate, runs.predict,
                datasets.datasets, search.search, schema.schema, starters.examples,
                warmup.warmup):
    app.command(cls=Command)(command)
app.add_typer(search.studies_app, name="studies")
app.command(cls=Command)(report.report)


def main():
    try:
        with stop_signals.process_handled():
            app(prog_name="nnx")  # `python -m nnx.cli` too: messages name `nnx train`
    finally:
        # The interpreter's last collection would walk every object a run left (a trained
        # model, numba's compiler state): ~0.15 s for nothing as the process ends.
        gc.freeze()
