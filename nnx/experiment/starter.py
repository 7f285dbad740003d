"""A starter experiment for `nnx init`: from a built-in dataset or a user's CSV or NPZ file,
a commented file that trains as it is.

The data decide the rest, as they do for any experiment: the target's task (inferred by
`nnx.data` as when training: text or few integers are classes, numbers regress), the
input shape and its layout (a table, a sequence, channels), and from those the model, the
output layer, the loss, the metrics and a search space. CSV columns holding text are the
categorical ones. The config is checked with `prepare` (data loaded, model built) before
any text is written, so a starter that would not train is never written.
"""

import math
import os
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from nnx.config.search_names import METHODS, PRUNERS
from nnx.data.builtin import DATASETS
from nnx.data.files import data_kind, require_column
from nnx.data.tables import open_table
from nnx.errors import NnxError, unknown_name


@dataclass(frozen=True)
class Head:
    """What a task asks of the model's end: the output activation, loss, metrics, and the
    metric a search ranks trials by."""

    activation: str | None
    loss: str
    metrics: tuple
    objective: str


HEADS = {
    "multiclass": Head("softmax", "categorical_crossentropy", ("accuracy",), "val_accuracy"),
    "binary": Head("sigmoid", "binary_crossentropy", ("accuracy",), "val_accuracy"),
    "multilabel": Head("sigmoid", "binary_crossentropy", ("subset_accuracy", "accuracy"),
                       "val_loss"),
    "regression": Head(None, "mse", ("mae", "r2"), "val_loss"),
}
EPOCHS = 100
# A cell that is a number as a CSV writes one (the rest of a column makes it categorical).
NUMBER = r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$"
PATIENCE = 10


@dataclass
class Starter:
    """The config of a starter experiment and the comments its text carries."""

    config: dict
    source: str  # what the data are: "the built-in dataset 'digits': ..."
    task: str  # the task and the sample shape: "multiclass, 10 classes; each sample ..."
    notes: dict  # dotted path -> a comment for that line


def starter_for_dataset(name):
    """The Starter of built-in dataset `name`; NnxError for an unknown name."""
    if not isinstance(name, str) or name not in DATASETS:
        raise NnxError(str(unknown_name("dataset", name, DATASETS.names())))
    info = DATASETS.get(name)
    data = {"dataset": name, "validation_split": 0.2, "test_split": 0.2,
            **{key: option.default for key, option in info.options.items()}}
    notes = {f"data.{key}": _option_note(name, key, option)
             for key, option in info.options.items()}
    return _starter(name, data, f"the built-in dataset {name!r}: {info.description}", notes)


def starter_for_file(path, target=None, output=None):
    """The Starter of a table (.csv, .csv.gz, Parquet: `target` names a column) or an .npz
    file or .npy folder (arrays x and y); the path is written relative to where the
    experiment will live (`output`, a file or a folder), and a file name given there names
    the experiment."""
    path = Path(path)
    kind = data_kind(path)
    output = Path(output).absolute() if output is not None else None
    folder = Path.cwd() if output is None else output if output.is_dir() else output.parent
    data = {"path": str(path.absolute())}
    notes = {"data.path": "relative to this file's folder"}
    if kind == "table":
        table = open_table(path)
        target = _target_column(path, table.columns, target)
        categorical = text_columns(table, exclude=target)
        data.update(target=target, categorical=categorical)
        notes["data.categorical"] = ("columns holding text, one-hot encoded" if categorical
                                     else "no column holds text")
    elif target is not None:
        raise NnxError(f"--target names a column of a table; the target of {path} is its "
                       "array y")
    data.update(validation_split=0.2, test_split=0.2)
    name = _name(output.stem if output is not None and not output.is_dir() else path.stem)
    starter = _starter(name, data, f"the file {path.name}", notes)
    starter.config["data"]["path"] = os.path.relpath(path.absolute(), folder)
    return starter


def text_columns(table, exclude=None):
    """The columns (other than `exclude`) with a cell that is not a number: categories. An
    empty cell is missing, not a category."""
    import pyarrow.compute as pc

    candidates = [column for column in table.columns if column != exclude]
    found = set()
    for _, values in table.batches(text=candidates):
        for column in candidates:
            cells = values[column]
            if column not in found and not pc.all(pc.or_(
                    pc.match_substring_regex(cells, NUMBER), pc.equal(cells, ""))).as_py():
                found.add(column)
    return [column for column in candidates if column in found]


def _target_column(path, header, target):
    if target is None:
        if "target" in header:  # data.target's default
            return "target"
        raise NnxError(f"{path}: give the column to predict with --target; columns: "
                       f"{', '.join(header)}")
    require_column(path, header, target, "target")
    if len(header) < 2:
        raise NnxError(f"{path}: no feature columns besides the target {target!r}")
    return target


def _name(stem):
    """An experiment name from a file name: letters, digits, '_', '.', '-' (as the schema
    asks), not starting with '.'."""
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", stem).strip("-.")[:100]
    return name or "experiment"


def _option_note(dataset, key, option):
    low = "" if option.low is None else option.low
    high = "" if option.high is None else option.high
    return f"an option of {dataset}: from {low} to {high}" if high != "" else \
        f"an option of {dataset}: at least {low}"


# -- the experiment -----------------------------------------------------------------------
def _starter(name, data, source, notes):
    from nnx.data import load_data

    seed = 0
    splits = load_data(data, seed)
    task, shape = splits.task, tuple(splits.input_shape)
    layout = splits.preprocessing.layout
    head = HEADS[task]
    hidden, space = _body(layout, shape)
    output = {"type": "dense", "units": splits.output_units,
              **({"activation": head.activation} if head.activation else {})}
    config = {
        "name": name, "seed": seed, "data": data,
        "model": {"layers": [*hidden, output]},
        "train": {"loss": head.loss, "optimizer": {"type": "adam", "lr": 0.001},
                  "batch_size": 32, "epochs": EPOCHS, "metrics": list(head.metrics),
                  "early_stopping": {"monitor": "val_loss", "patience": PATIENCE,
                                     "restore_best_weights": True}},
        "search": {"metric": head.objective, "method": "bayes", "n_trials": 20,
                   "pruner": "median", "space": {
                       "train.optimizer.lr": {"type": "float", "low": 1.0e-4, "high": 1.0e-2,
                                              "log": True},
                       **space,
                       "train.batch_size": {"type": "categorical", "choices": [16, 32, 64]}}},
    }
    what = (f"{splits.n_classes} classes" if task == "multiclass" else
            f"{splits.output_units} labels" if task == "multilabel" else
            f"{splits.output_units} value{'s' * (splits.output_units != 1)}"
            if task == "regression" else "2 classes")
    notes = {**notes,
             "data.validation_split": "rows for early stopping and the search metric",
             "data.test_split": "rows held out for the final test",
             "model.layers": "nnx schema model: every layer type and its arguments",
             f"model.layers.{len(hidden)}": _output_note(task, splits),
             "train.loss": f"fits the {task} task",
             "train.epochs": "at most; early stopping ends sooner",
             "search.method": " | ".join(METHODS.names()) + "  (--method overrides)",
             "search.pruner": " | ".join(PRUNERS.names())}
    return Starter(config, source, f"{task}, {what}; each sample {_shape_text(shape, layout)}",
                   notes)


def _body(layout, shape):
    """(the hidden layers, their search space) for inputs of `shape` in `layout`."""
    if layout == "sequence" and len(shape) == 2:
        return ([{"type": "gru", "units": 32}],
                {"model.layers.0.units": {"type": "int", "low": 8, "high": 128, "log": True}})
    if layout == "channels" and len(shape) in (2, 3):
        conv, pool = ("conv1d", "max_pool1d") if len(shape) == 2 else ("conv2d", "max_pool2d")
        layers = [{"type": conv, "filters": 16, "kernel_size": 3, "padding": "same",
                   "activation": "relu", "init": "he_normal"}]
        if min(shape[1:]) >= 4:
            layers.append({"type": pool, "pool_size": 2})
        layers += [{"type": "flatten"}, {"type": "dropout", "rate": 0.2}]
        return layers, {
            "model.layers.0.filters": {"type": "categorical", "choices": [8, 16, 32]},
            f"model.layers.{len(layers) - 1}.rate": {"type": "float", "low": 0.0,
                                                    "high": 0.5}}
    layers = [{"type": "flatten"}] if len(shape) > 1 else []
    first = len(layers)
    layers += [{"type": "dense", "units": 64, "activation": "relu", "init": "he_normal"},
               {"type": "dropout", "rate": 0.1}]
    return layers, {
        f"model.layers.{first}.units": {"type": "int", "low": 16, "high": 256, "log": True},
        f"model.layers.{first}.repeat": {"type": "int", "low": 1, "high": 3},
        f"model.layers.{first + 1}.rate": {"type": "float", "low": 0.0, "high": 0.5}}


def _output_note(task, splits):
    if task == "multiclass":
        return f"one unit per class, softmax: {splits.n_classes} classes"
    if task == "binary":
        classes = splits.preprocessing.classes or [0, 1]
        return f"one unit, sigmoid: the probability of {classes[1]!r}, not {classes[0]!r}"
    if task == "multilabel":
        return "one sigmoid unit per label"
    return "linear: the target's own units"


def _shape_text(shape, layout):
    dims = "x".join(str(d) for d in shape)
    return {"sequence": f"{shape[0]} steps of {math.prod(shape[1:])} features",
            "channels": f"{shape[0]} channel(s) of {'x'.join(map(str, shape[1:]))}"}.get(
        layout, f"{dims} features")


# -- the text -------------------------------------------------------------------------------
COMMENT_COLUMN = 40
WIDTH = 96


def render(starter, filename):
    """The experiment file's text (`filename`: what its commands name): the config in block
    style (small mappings inline), each noted line with its comment. Reading it back gives
    the config exactly."""
    import textwrap

    header = [f"A starter experiment for {starter.source} ({starter.task}), written by nnx init.",
              f"Train it:  nnx train {filename}   (a quick look: --set train.epochs=5)",
              f"Search it: nnx search {filename}   (the search: section below)",
              "Every key, its type and default: nnx schema [data|model|train|search]"]
    lines = [f"# {part}" for line in header for part in textwrap.wrap(line, WIDTH - 2)]
    for key, value in starter.config.items():
        lines += _lines(key, value, key, 0, starter.notes)
    text = "\n".join(lines) + "\n"
    assert yaml.safe_load(text) == starter.config, "the starter text reads back differently"
    return text


def _lines(key, value, path, indent, notes, item=False):
    pad = " " * indent
    lead = f"{pad}- " if item else f"{pad}{key}: "
    if isinstance(value, dict) and value and not _inline(value, path):
        out = [_noted(f"{pad}{key}:", notes.get(path))]
        for k, v in value.items():
            out += _lines(k, v, f"{path}.{k}", indent + 2, notes)
        return out
    if isinstance(value, list) and value and not _inline(value, path):
        out = [_noted(f"{pad}{key}:", notes.get(path))]
        for i, v in enumerate(value):
            out.append(_noted(f"{pad}  - {_flow(v)}", notes.get(f"{path}.{i}")))
        return out
    return [_noted(f"{lead}{_flow(value)}", notes.get(path))]


def _inline(value, path):
    """Small leaves on one line (a layer, an optimizer, a searched parameter)."""
    if isinstance(value, list):
        return all(not isinstance(v, (dict, list)) for v in value)
    return path.count(".") >= 2 or path in ("train.optimizer", "train.early_stopping") or (
        all(not isinstance(v, (dict, list)) for v in value) and len(_flow(value)) < 50
        and path.startswith(("train.", "search.space.")))


def _flow(value):
    text = yaml.safe_dump(value, default_flow_style=True, width=1_000_000, sort_keys=False)
    return text.removesuffix("\n").removesuffix("\n...").strip()


def _noted(line, note):
    if not note:
        return line
    return f"{line.ljust(COMMENT_COLUMN - 2)}  # {note}" if len(line) < COMMENT_COLUMN - 2 \
        else f"{line}  # {note}"
