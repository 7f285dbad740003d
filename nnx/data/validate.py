"""Checks of the experiment's `data:` mapping, without loading any data (for `nnx validate`)."""

import math
import os
from collections.abc import Mapping

from nnx.data.builtin import DATASETS, check_option
from nnx.data.files import data_kind
from nnx.data.targets import TASKS
from nnx.errors import NnxError, closest, unknown_name

# Keys every source takes, with their defaults (a built-in dataset may change that of
# `standardize`). `autoencoder: true` makes the targets the features themselves; `folds: K`
# cross-validates on the rows outside the test split (nnx.data.folds).
COMMON_KEYS = {"validation_split": 0.2, "test_split": 0.2, "standardize": True, "task": None,
               "autoencoder": False, "folds": None}
CSV_KEYS = {"target": "target", "categorical": [], "sample_weight": None}


def check_data_config(data_config):
    """The `data:` mapping with defaults filled in, or an NnxError naming the bad field.

    Returns {"dataset" or "path" with its "kind" (table, npz, npy), "target": [names],
    "categorical": [names], "validation_split", "test_split", "standardize", "task", "autoencoder",
    "options": {option: value}}.
    """
    if not isinstance(data_config, Mapping):
        raise NnxError(f"data must be a mapping, got {type(data_config).__name__}")
    if ("dataset" in data_config) == ("path" in data_config):
        raise NnxError("data needs exactly one of 'dataset' (a built-in name) or 'path' "
                       "(a .csv, .parquet or .npz file, or a folder of .npy files)")
    resolved = {key: data_config.get(key, default) for key, default in COMMON_KEYS.items()}
    resolved.update(target=[], categorical=[], sample_weight=None, options={})
    if "dataset" in data_config:
        name = data_config["dataset"]
        if not isinstance(name, str) or name not in DATASETS:
            raise NnxError(f"data.dataset: {unknown_name('dataset', name, DATASETS.names())}")
        resolved["dataset"] = name
        resolved["standardize"] = data_config.get("standardize", DATASETS.get(name).standardize)
        options = DATASETS.get(name).options
        allowed = [*COMMON_KEYS, "dataset", *options]
        resolved["options"] = {k: check_option(name, k, data_config.get(k, o.default))
                               for k, o in options.items()}
    else:
        path = data_config["path"]
        if not isinstance(path, (str, os.PathLike)) or not str(path):
            raise NnxError(f"data.path must be a file name, got {path!r}")
        resolved["path"], resolved["kind"] = path, data_kind(path)
        table = resolved["kind"] == "table"
        allowed = [*COMMON_KEYS, "path", *(CSV_KEYS if table else [])]
        if table:
            resolved["target"] = _names("target", data_config.get("target", "target"), single=True)
            resolved["categorical"] = _names("categorical", data_config.get("categorical", []))
            resolved["sample_weight"] = _sample_weight_column(data_config.get("sample_weight"),
                                                              resolved)
    for key in data_config:
        if key not in allowed:
            raise _unknown_key(key, data_config, allowed)
    _check_fractions(resolved["validation_split"], resolved["test_split"])
    if not isinstance(resolved["standardize"], bool):
        raise NnxError(f"data.standardize must be true or false, got {resolved['standardize']!r}")
    task = resolved["task"]
    if task is not None and task not in TASKS:
        raise NnxError(f"data.task: {unknown_name('task', task, TASKS)}")
    if not isinstance(resolved["autoencoder"], bool):
        raise NnxError(f"data.autoencoder must be true or false, got {resolved['autoencoder']!r}")
    folds = resolved["folds"]
    if folds is not None and (isinstance(folds, bool) or not isinstance(folds, int) or folds < 2):
        raise NnxError(f"data.folds must be an integer >= 2 (the number of cross-validation "
                       f"folds), got {folds!r}")
    if resolved["autoencoder"] and task not in (None, "regression"):
        raise NnxError(f"data.task: an autoencoder reconstructs its inputs, a regression task; "
                       f"got task {task!r} (leave data.task out)")
    return resolved


def _names(key, value, single=False):
    """A list of unique column names from a name or a list of names."""
    if single and isinstance(value, str):
        value = [value]
    if value is None and not single:
        value = []
    if (not isinstance(value, list) or not all(isinstance(v, str) and v for v in value)
            or (single and not value)):
        kind = "a column name or a non-empty list of names" if single else "a list of column names"
        raise NnxError(f"data.{key} must be {kind}, got {value!r}")
    if len(set(value)) != len(value):
        raise NnxError(f"data.{key} names a column twice: {value!r}")
    return value


def _sample_weight_column(column, resolved):
    """The name of the CSV column of per-row loss weights, or None."""
    if column is None:
        return None
    if not isinstance(column, str) or not column:
        raise NnxError(f"data.sample_weight must be a column name, got {column!r}")
    for role in ("target", "categorical"):
        if column in resolved[role]:
            raise NnxError(f"data.sample_weight: column {column!r} is also a {role} column")
    return column


def _unknown_key(key, data_config, allowed):
    if key in CSV_KEYS:
        return NnxError(f"data.{key} applies to CSV files only (and to Parquet files)")
    if key != "dataset" and any(key in info.options for _, info in DATASETS.items()):
        where = f"dataset {data_config['dataset']!r}" if "dataset" in data_config else "a file"
        return NnxError(f"data.{key} is not an option of {where}; allowed keys: "
                        f"{', '.join(allowed)}")
    hint = closest(key, allowed)
    return NnxError(f"data.{key}: unknown key; allowed: {', '.join(allowed)}"
                    + (f" (did you mean {hint!r}?)" if hint else ""))


def _check_fractions(validation_split, test_split):
    for key, value in (("validation_split", validation_split), ("test_split", test_split)):
        if (isinstance(value, bool) or not isinstance(value, (int, float))
                or math.isnan(value) or not 0 <= value < 1):
            raise NnxError(f"data.{key} must be a fraction in [0, 1), got {value!r}")
    if validation_split + test_split >= 1:
        raise NnxError(f"data.validation_split + data.test_split must be below 1 (the rest "
                       f"trains), got {validation_split} + {test_split}")
