"""`nnx init` and `nnx examples`: a starter experiment written from the data, and the
experiment files shipped with nnx."""

from pathlib import Path
from typing import Annotated

import typer

from nnx.cli.common import console, exit_codes
from nnx.errors import NnxError

ForceOpt = Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")]


def init(
    dataset: Annotated[str | None, typer.Option(
        "--dataset", "-d", metavar="NAME", show_default=False,
        help="A built-in dataset (`nnx datasets` lists them).")] = None,
    data: Annotated[Path | None, typer.Option(
        "--data", metavar="FILE", show_default=False,
        help="Your data: a .csv file (a header row; give --target) or an .npz file with "
             "arrays x and y.")] = None,
    target: Annotated[str | None, typer.Option(
        "--target", "-t", metavar="COLUMN", show_default=False,
        help="The CSV column to predict (default: the column named target).")] = None,
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", metavar="FILE.yaml", show_default=False,
        help="Where to write it (default: NAME.yaml here; a folder: NAME.yaml in it).")
    ] = None,
    force: ForceOpt = False,
):
    """Write a commented starter experiment that trains as it is.

    From a built-in dataset (`nnx init --dataset digits -o digits.yaml`) or your own file
    (`nnx init --data table.csv --target churn`): the task, output layer, loss and metrics
    follow from the target, text columns become categorical, and a `search:` section holds
    a space to start from. The file is checked (data loaded, model built) before it is
    written; an existing file is kept unless --force.
    """
    with exit_codes():
        from nnx.examples import refuse_existing
        from nnx.experiment.starter import render, starter_for_dataset, starter_for_file

        if (dataset is None) == (data is None):
            raise NnxError("give --dataset NAME (a built-in dataset) or --data FILE (a .csv "
                           "or .npz file)")
        if dataset is not None and target is not None:
            raise NnxError("--target names a column of a --data CSV file; a built-in "
                           "dataset has its own target")
        if output is not None and not output.is_dir():
            refuse_existing(output, force)  # before the data are read
        starter = (starter_for_dataset(dataset) if dataset is not None
                   else starter_for_file(data, target, output))
        name = starter.config["name"]
        if output is None or output.is_dir():
            path = (output or Path()) / f"{name}.yaml"
        else:
            path = output
        refuse_existing(path, force)
        _check(starter.config, path)
        from nnx.atomic import replace_atomically

        text = render(starter, str(path))
        replace_atomically(path, lambda handle: handle.write(text))
        console().print(f"wrote {path}: a starter experiment for {starter.source} "
                        f"({starter.task})", markup=False)
        console().print(f"next: nnx train {path}   (nnx validate {path} shows the model)",
                        markup=False)


def _check(config, path):
    """The starter must pass every check `nnx train` and `nnx search` make before they
    start (a data file read from the experiment's folder, as when the file is loaded)."""
    import copy
    import os

    from nnx.config import resolve_config
    from nnx.config.space_check import checked_space
    from nnx.experiment import prepare

    config = copy.deepcopy(config)
    if "path" in config["data"]:
        config["data"]["path"] = os.path.join(path.absolute().parent, config["data"]["path"])
    prepare(config, source=str(path))
    checked_space(config, resolve_config(config)["search"], "bayes", str(path))


def examples(
    name: Annotated[str | None, typer.Argument(
        metavar="NAME", show_default=False,
        help="Copy this example out (without a name: list them).")] = None,
    output: Annotated[Path, typer.Option(
        "--output", "-o", metavar="DIR_OR_FILE",
        help="Where to copy it: a folder, or a file name.")] = Path("."),
    force: ForceOpt = False,
):
    """List the experiment files shipped with nnx, or copy one out to try or adapt.

    `nnx examples digits_mlp -o .` writes digits_mlp.yaml here; `nnx train digits_mlp.yaml`
    trains it.
    """
    with exit_codes():
        from nnx.examples import copy_example, shipped, summary

        if name is None:
            files = shipped()
            if not files:
                raise NnxError("no example files were installed with nnx")
            width = max(map(len, files)) + 2
            out = console()
            for key, path in files.items():
                out.print(f"{key:<{width}}{summary(path)}", markup=False)
            return
        written = copy_example(name, output, force)
        console().print(f"wrote {written}", markup=False)
