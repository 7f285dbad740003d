"""Using a finished run: its saved model evaluated on a split or a table file, or
predicting raw rows.

A model file carries its preprocessing, so raw rows (CSV, Parquet) are encoded exactly as
in training and predictions decoded back to labels (`nnx.data.Preprocessor`).
"""

import os
import zipfile
from dataclasses import dataclass

from nnx.data import Preprocessor, load_data
from nnx.errors import NnxError
from nnx.experiment.runtime import EVAL_BATCH
from nnx.model import load_model
from nnx.results import find_run, model_file, read_run


@dataclass
class Saved:
    """A saved model with the run record it came from (None for a bare model file)."""

    model: object
    record: dict | None
    model_path: str


def open_saved(reference, results_dir):
    """The model of a run id, a run JSON or a model .npz (with the run record beside it)."""
    reference = os.fspath(reference)
    if reference.lower().endswith(".npz"):
        if not os.path.isfile(reference):
            raise NnxError(f"model file {reference!r} does not exist")
        if not zipfile.is_zipfile(reference):
            raise NnxError(f"{reference}: not an nnx model file (not an .npz archive)")
        beside = os.path.splitext(reference)[0] + ".json"
        record = read_run(beside) if os.path.isfile(beside) else None
        return Saved(load_model(reference), record, reference)
    record_path = find_run(reference, results_dir)
    record = read_run(record_path)
    path = model_file(record, record_path)
    return Saved(load_model(path), record, os.fspath(path))


def evaluate_saved(saved, split="test", data_file=None):
    """{"split", "n", "metrics"} of a saved model on a split of its run's data, or on all
    rows of a table file (CSV, Parquet) with the target column(s) (`data_file`)."""
    if data_file is not None:
        x, y = preprocessor_of(saved).transform_labelled(data_file, saved.model.dtype)
        split = os.fspath(data_file)
    else:
        if saved.record is None:
            raise NnxError(f"{saved.model_path} has no run record beside it, so its data are "
                           "unknown; give --data FILE.csv")
        config = saved.record["config"]
        try:
            data = load_data(config["data"], config.get("seed", 0), saved.model.dtype)
        except (KeyError, TypeError):
            raise NnxError(f"run {saved.record['run_id']!r}: damaged config (no data)") from None
        x, y = getattr(data, f"x_{split}"), getattr(data, f"y_{split}")
        if x is None or not len(x):
            raise NnxError(f"run {saved.record['run_id']!r} has no {split} split "
                           f"(data.{'validation' if split == 'val' else split}_split is 0); "
                           "choose another --split or give --data FILE.csv")
    return {"split": split, "n": len(x),
            "metrics": saved.model.evaluate(x, y, batch_size=EVAL_BATCH)}


def preprocessor_of(saved):
    """The Preprocessor the model was trained with; NnxError when the file carries none."""
    if not saved.model.preprocessing:
        raise NnxError(f"{saved.model_path} carries no preprocessing, so raw rows cannot be "
                       "turned into inputs")
    return Preprocessor.from_dict(saved.model.preprocessing)


def predict_saved(saved, input_file, layer=None):
    """(column names, batches of rows): the decoded predictions for the raw rows of a table
    file (CSV, Parquet), a list of rows per batch of the file, computed as the batches are
    read (a file larger than memory streams through); with `layer`, the raw values of that
    layer (or graph node) instead, one column per value. A bad row raises NnxError when
    its batch is reached."""
    pre = preprocessor_of(saved)
    batches = pre.transform_batches(os.fspath(input_file), saved.model.dtype)
    first, listed = _predicted_rows(saved, pre, next(batches), layer)
    if layer is not None:
        columns = [f"{layer}_{i}" for i in range(len(first[0]))]
    elif listed:
        width = len(first[0])
        names = pre.targets if pre.targets and len(pre.targets) == width else range(width)
        columns = [f"prediction_{name}" for name in names]
    else:
        columns = ["prediction"]

    def rows():
        yield first
        for x in batches:
            yield _predicted_rows(saved, pre, x, layer)[0]

    return columns, rows()


def _predicted_rows(saved, pre, x, layer):
    """(the output rows (lists of values) of one batch of inputs, whether each prediction
    came as a list: several targets or labels)."""
    if layer is not None:
        values = saved.model.predict(x, batch_size=EVAL_BATCH, output=layer)
        return values.reshape(len(values), -1).tolist(), True
    decoded = pre.decode_predictions(saved.model.predict(x, batch_size=EVAL_BATCH))
    listed = isinstance(decoded[0], list)
    return (decoded if listed else [[value] for value in decoded]), listed
