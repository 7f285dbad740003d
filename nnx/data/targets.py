"""Target inference and encoding: original values -> the arrays a loss expects.

multiclass -> int64 labels (N,) in 0..C-1; binary -> float32 (N, 1) of 0/1;
multilabel -> (N, K) of 0/1 and regression -> (N, K) in the model's float dtype, not
standardized (a prediction then reads in the target's own units, with nothing to undo);
a value beyond that dtype's range is refused rather than turned into infinity.
Class labels are the distinct original values in sorted order.
"""

import numpy as np

from nnx.errors import NnxError

TASKS = ("regression", "binary", "multiclass", "multilabel")
CSV_MAX_INT_CLASSES = 20


def as_columns(y):
    """y as (N, K); a 1-D target is one column."""
    return y.reshape(len(y), -1) if y.ndim != 1 else y[:, None]


def is_numeric(y):
    return y.dtype.kind in "biuf"


def infer_task(y, max_int_classes=None):
    """The task a target implies: text or integers are classes, floats regress.

    `max_int_classes`: integers with more distinct values than this regress (the CSV rule,
    where an integer column may be a count); None trusts an integer dtype (NPZ).
    """
    y = as_columns(y)
    if y.shape[1] > 1:
        if is_numeric(y) and np.isin(y, (0, 1)).all():
            return "multilabel"
        return "regression"
    values = y[:, 0]
    if is_numeric(values) and values.dtype.kind == "f":
        integral = np.all(values == np.round(values))
        if max_int_classes is None or not integral:
            return "regression"
    n_distinct = len(np.unique(values))
    if max_int_classes is not None and is_numeric(values) and n_distinct > max_int_classes:
        return "regression"
    return "binary" if n_distinct == 2 else "multiclass"


def encode_targets(y, task, names, classes=None, dtype="float32", source=None):
    """(encoded y, class labels or None) for `task`; NnxError when y cannot serve it.

    `names` name the target columns in messages, `source` the file; `classes` fixes the
    label set (a built-in dataset knows all its classes even when a small sample misses
    one); `dtype` is the model's, for regression and multilabel targets.
    """
    y = as_columns(y)
    what = ", ".join(repr(n) for n in names)
    if task in ("regression", "multilabel"):
        if not is_numeric(y):
            raise NnxError(f"a {task} target must be numeric; target {what} holds "
                           f"{_first_non_number(y)!r}")
        if task == "multilabel" and not np.isin(y, (0, 1)).all():
            raise NnxError(f"a multilabel target must hold only 0 and 1; target {what} "
                           "holds other values")
        return in_float_dtype(y, dtype, [f"target {n!r}" for n in names], source), None
    if y.shape[1] > 1:
        raise NnxError(f"a {task} task takes one target column, got {len(names)} ({what}); "
                       "several columns are multilabel or regression")
    values = y[:, 0]
    labels = classes if classes is not None else [_plain(v) for v in np.unique(values)]
    if task == "binary" and len(labels) != 2:
        raise NnxError(f"a binary target needs exactly 2 distinct values; target {what} has "
                       f"{len(labels)} ({_preview(labels)})")
    if len(labels) < 2:
        raise NnxError(f"target {what} has a single value {_preview(labels)}; nothing to learn")
    known = np.asarray(labels, dtype=values.dtype)
    codes = np.searchsorted(known, values)
    assert codes.max() < len(known) and np.all(known[codes] == values), "a value outside classes"
    if task == "binary":
        return codes.astype(np.float32)[:, None], labels
    return codes.astype(np.int64), labels


def in_float_dtype(values, dtype, names, source=None):
    """(N, K) numbers as `dtype`; NnxError naming the column (`names`: one description per
    column), row and value of the first one beyond the dtype's range."""
    with np.errstate(over="ignore"):  # reported just below, with the value
        converted = values.astype(dtype)
    beyond = ~np.isfinite(converted)
    if beyond.any():
        row, column = (int(i) for i in np.argwhere(beyond)[0])
        raise beyond_range(names[column], source, values[row, column], row, dtype)
    return converted


def beyond_range(what, source, value, row, dtype):
    """The NnxError for `value` (row `row`, 0-based, of `what` in `source`) that `dtype` cannot
    hold."""
    where = f"{what}{f' of {source}' if source else ''}"
    return NnxError(f"{where} holds {value:g} (row {row + 1}), beyond the "
                    f"{np.dtype(dtype).name} range (about {np.finfo(dtype).max:.1e}); "
                    "scale it, or set model.dtype: float64")


def _plain(value):
    """A numpy scalar as a JSON-ready Python value; integral floats become ints (1.0 -> 1)."""
    value = value.item()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _first_non_number(y):
    for value in y.ravel():
        try:
            float(value)
        except ValueError:
            return str(value)
    return str(y.ravel()[0])


def _preview(labels, limit=5):
    shown = ", ".join(repr(v) for v in labels[:limit])
    return shown + (", ..." if len(labels) > limit else "")
