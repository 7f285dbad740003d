"""`load_data`: the experiment's `data:` mapping and seed -> train/val/test arrays.

Every source gives its targets first (the split depends on them), then builds the
features for the split: in-memory arrays (built-in, NPZ) and tables (CSV, Parquet) as one
matrix in the model's dtype whose rows are ordered train, validation, test, so that the
splits are views of it; a folder of .npy files as memory-mapped rows (`MappedRows`).
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nnx.data.builtin import load_builtin
from nnx.data.files import data_kind, read_npz
from nnx.data.folds import CrossValidation, fold_rows
from nnx.data.preprocessing import Preprocessor
from nnx.data.scaling import block_ranges
from nnx.data.splits import split_indices, split_views
from nnx.data.targets import encode_targets, in_float_dtype
from nnx.data.validate import check_data_config
from nnx.errors import NnxError


@dataclass
class DataSplits:
    """The arrays of one experiment; x (N, *input_shape) in the model's dtype, y as `task`
    needs it.

    y: multiclass int64 (N,) in 0..n_classes-1; binary float32 (N, 1) of 0/1; multilabel
    (N, K) of 0/1 and regression (N, K), not standardized, both in the model's dtype; for
    an autoencoder the features, flattened and not standardized (N, n_features). `x_val`/`y_val`
    and `x_test`/`y_test` are None when their fraction is 0. `output_units` is the width
    the last layer must have. For a folder of .npy files the x are `MappedRows`, read
    batch by batch from the memory-mapped file. `w_train`: the training rows' loss weights
    (float64, from a table's `data.sample_weight` column), or None. With `data.folds`, these
    are the first fold's splits and `cv` gives every fold's (nnx.data.folds.CrossValidation);
    else `cv` is None.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray | None
    y_val: np.ndarray | None
    x_test: np.ndarray | None
    y_test: np.ndarray | None
    task: str
    n_classes: int | None
    input_shape: tuple
    output_units: int
    preprocessing: Preprocessor
    name: str
    w_train: np.ndarray | None = None
    cv: CrossValidation | None = None


def load_data(data_config, seed, dtype="float32"):
    """Load, split (stratified for classes) and preprocess the data the config names;
    `dtype` is the model's: features are read into it, and values beyond its range are
    refused.

    The seed fixes both the synthetic samples and the split; standardization and one-hot
    vocabularies are fitted on the training rows only (of each fold, with `folds`). With
    `autoencoder: true` the task is regression and the targets are the features as encoded
    before standardization (as for any regression target, so a prediction reads in the
    data's own units); the source's own targets are not used.
    """
    config = check_data_config(data_config)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise NnxError(f"seed must be a non-negative integer, got {seed!r}")
    make_rng, split_rng = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2))
    source = _open_source(config, make_rng)
    autoencoder = config["autoencoder"]
    try:
        task, classes, y, strata = "regression", None, None, None
        if not autoencoder:
            task = config["task"] or source.task
            y, classes = encode_targets(source.y, task, source.targets or ["y"],
                                        source.classes if task == source.task else None,
                                        dtype, source.name)
            strata = y[:, 0].astype(np.int64) if task == "binary" else \
                y if task == "multiclass" else None
        parts = split_indices(source.n_rows, config["validation_split"], config["test_split"],
                              split_rng, strata)
    except NnxError:
        source.check_features()  # a bad value in the features is named first
        raise

    def make_splits(train, val, test):
        return _splits(source, config, task, classes, y, dtype, (train, val, test))

    if config["folds"] is None:
        return make_splits(*parts)
    train, val, test = parts
    outside_test = train if val is None else np.concatenate([train, val])
    cv = CrossValidation(fold_rows(outside_test, config["folds"], split_rng, strata, classes),
                         test, make_splits)
    data = cv.split(0)
    data.cv = cv
    return data


def reads_on_all_cores(data_config):
    """Whether reading the data of a resolved `data:` mapping keeps every core busy: a CSV
    table, whose blocks pyarrow parses on all cores. Other work beside such a read gains no
    time and only adds its memory to the read's peak."""
    from nnx.data.tables import table_kind

    return "path" in data_config and table_kind(data_config["path"]) == "csv"


def _splits(source, config, task, classes, y, dtype, parts):
    """The DataSplits of these rows (train, validation, test), preprocessing fitted on the
    training rows; `y` None for an autoencoder (its targets are the features)."""
    autoencoder = config["autoencoder"]
    pre, xs, parts, features = source.build(parts, task, classes, config["standardize"],
                                            dtype, autoencoder)
    if autoencoder:
        pre.targets = pre.feature_names  # predictions are named after the features they rebuild
        ys = features
    else:
        ys = [None if part is None else y[part] for part in parts]
    if task == "multiclass":
        n_classes = output_units = len(classes)
    elif task == "binary":
        n_classes, output_units = 2, 1
    else:
        output_units = ys[0].shape[1]
        n_classes = output_units if task == "multilabel" else None
    weights = getattr(source, "sample_weight", None)
    return DataSplits(xs[0], ys[0], xs[1], ys[1], xs[2], ys[2], task=task, n_classes=n_classes,
                      input_shape=pre.input_shape, output_units=output_units,
                      preprocessing=pre, name=source.name,
                      w_train=None if weights is None else weights[parts[0]])


def _open_source(config, make_rng):
    if "dataset" in config:
        return InMemorySource(load_builtin(config["dataset"], config["options"], make_rng))
    path = Path(config["path"])
    kind = config.get("kind") or data_kind(path)
    if kind == "npz":
        return InMemorySource(read_npz(path))
    if kind == "npy":
        from nnx.data.mapped import NpySource

        return NpySource(path)
    from nnx.data.tabular import TableSource

    return TableSource(path, config["target"], config["categorical"], config["sample_weight"])


class InMemorySource:
    """A built-in dataset or an NPZ file: x already in memory, standardized in float64 from
    the statistics of its training rows, then rounded to the model's dtype."""

    def __init__(self, raw):
        self.raw = raw
        self.name, self.y, self.n_rows = raw.name, raw.y, len(raw.y)
        self.targets, self.task, self.classes = raw.targets, raw.task, raw.classes

    def check_features(self):
        """Nothing to do: the features were checked when read."""

    def build(self, parts, task, classes, standardize, dtype, autoencoder):
        """(Preprocessor, x per split, the splits' rows, y per split for an autoencoder)."""
        pre = Preprocessor.for_raw(self.raw, task, classes)
        x64 = pre.features(self.raw)
        if standardize:
            pre.fit(x64[parts[0]])
        order = np.concatenate([part for part in parts if part is not None])
        x = np.empty((len(order), *x64.shape[1:]), dtype=dtype)
        for start, stop in block_ranges(len(order), int(np.prod(x64.shape[1:]))):
            x[start:stop] = pre.scale(x64[order[start:stop]], dtype)
        features = None
        if autoencoder:
            names = [f"feature {n!r}" for n in pre.feature_names]
            features = split_views(in_float_dtype(x64.reshape(len(x64), -1), dtype, names,
                                                  self.name)[order], parts)
        return pre, split_views(x, parts), parts, features

