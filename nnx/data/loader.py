"""`load_data`: the experiment's `data:` mapping and seed -> train/val/test arrays."""

from dataclasses import dataclass

import numpy as np

from nnx.data.builtin import load_builtin
from nnx.data.files import read_file
from nnx.data.folds import CrossValidation, fold_rows
from nnx.data.preprocessing import Preprocessor
from nnx.data.splits import split_indices
from nnx.data.targets import encode_targets, in_float_dtype
from nnx.data.validate import check_data_config
from nnx.errors import NnxError


@dataclass
class DataSplits:
    """The arrays of one experiment; x float32 (N, *input_shape), y as `task` needs it.

    y: multiclass int64 (N,) in 0..n_classes-1; binary float32 (N, 1) of 0/1; multilabel
    (N, K) of 0/1 and regression (N, K), not standardized, both in the model's dtype; for
    an autoencoder the features, flattened and not standardized (N, n_features). `x_val`/`y_val`
    and `x_test`/`y_test` are None when their fraction is 0. `output_units` is the width
    the last layer must have. `w_train`: the training rows' loss weights (float64, from
    `data.sample_weight`), or None. With `data.folds`, these are the first fold's splits and
    `cv` gives every fold's (nnx.data.folds.CrossValidation); else `cv` is None.
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
    `dtype` is the model's (regression targets beyond its range are refused).

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
    if "dataset" in config:
        raw = load_builtin(config["dataset"], config["options"], make_rng)
    else:
        raw = read_file(config["path"], config["target"], config["categorical"],
                        config["sample_weight"])
    if config["autoencoder"]:
        task, y, classes, strata = "regression", None, None, None
    else:
        task = config["task"] or raw.task
        y, classes = encode_targets(raw.y, task, raw.targets or ["y"],
                                    raw.classes if task == raw.task else None, dtype, raw.name)
        strata = (y[:, 0].astype(np.int64) if task == "binary" else y if task == "multiclass"
                  else None)
    train, val, test = split_indices(len(raw.y), config["validation_split"],
                                     config["test_split"], split_rng, strata)

    def make_splits(train, val, test):
        return _splits(raw, config, task, y, classes, dtype, train, val, test)

    if config["folds"] is None:
        return make_splits(train, val, test)
    outside_test = train if val is None else np.concatenate([train, val])
    cv = CrossValidation(fold_rows(outside_test, config["folds"], split_rng, strata, classes),
                         test, make_splits)
    data = cv.split(0)
    data.cv = cv
    return data


def _splits(raw, config, task, y, classes, dtype, train, val, test):
    """The DataSplits of these rows, preprocessing fitted on `train`; `y` None for an
    autoencoder (its targets are the unstandardized features)."""
    pre, x = Preprocessor.fit_transform(raw, train, task, classes, config["standardize"])
    if config["autoencoder"]:
        pre.targets = pre.feature_names  # predictions are named after the features they rebuild
        y = in_float_dtype(pre.features(raw).reshape(len(x), -1), dtype,
                           [f"feature {n!r}" for n in pre.feature_names], raw.name)

    def rows(index):
        return (None, None) if index is None else (x[index], y[index])

    if task == "multiclass":
        n_classes = output_units = len(classes)
    elif task == "binary":
        n_classes, output_units = 2, 1
    else:
        output_units = y.shape[1]
        n_classes = output_units if task == "multilabel" else None
    weights = None if raw.sample_weight is None else raw.sample_weight[train]
    return DataSplits(*rows(train), *rows(val), *rows(test), task=task, n_classes=n_classes,
                      input_shape=pre.input_shape, output_units=output_units,
                      preprocessing=pre, name=raw.name, w_train=weights)
