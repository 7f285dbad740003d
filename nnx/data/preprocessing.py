"""The preprocessing that travels with a model, so predict sees inputs as training did.

It holds the feature columns and their order, the one-hot vocabularies (learnt from the
training rows), the standardization mean/std (fitted on the training rows), the class
labels and the task, and is JSON-serializable (`to_dict` / `from_dict`).
"""

import os
from collections.abc import Mapping

import numpy as np

from nnx.data.csv_text import cell_problem
from nnx.data.files import require_column
from nnx.data.scaling import matrix_statistics, scale_columns_in_place, streamed_statistics
from nnx.data.targets import beyond_range
from nnx.errors import NnxError

FORMAT = "nnx.preprocessing/1"


class Preprocessor:
    """Raw rows -> model input x (with their targets: -> x, y as in training), and model
    output -> original labels.

    One-hot columns are not standardized (mean 0, std 1), so that an unseen category
    stays an all-zero block. Built-in and NPZ data have generated columns x0..x{n-1}
    (x flattened in C order); a file for them may also give the values in that order.

    Rows read from a file are first put into the model's dtype less `shift` (a value near
    each feature's mean, so that rounding to float32 loses no more than the standardized
    value keeps), then standardized in float64 and rounded to the dtype again
    (`encode_columns`, then `scale`): the same steps for the training matrix (scaled in
    place) and for rows to predict, so both give equal inputs for equal rows.
    """

    def __init__(self, task, input_shape, columns, layout="tabular", categorical=None,
                 mean=None, std=None, classes=None, targets=None, generated_columns=False,
                 shift=None):
        self.task = task
        self.input_shape = tuple(input_shape)
        self.columns = list(columns)
        self.layout = layout
        self.categorical = {k: list(v) for k, v in (categorical or {}).items()}
        self.mean = None if mean is None else np.asarray(mean, dtype=np.float64)
        self.std = None if std is None else np.asarray(std, dtype=np.float64)
        self.classes = None if classes is None else list(classes)
        self.targets = None if targets is None else list(targets)
        self.generated_columns = generated_columns
        self.shift = None if shift is None else np.asarray(shift, dtype=np.float64)

    @classmethod
    def for_raw(cls, raw, task, classes):
        """The Preprocessor of in-memory data (RawData with `x`), not fitted yet."""
        return cls(task, raw.x.shape[1:], raw.columns, raw.layout, classes=classes,
                   targets=raw.targets, generated_columns=raw.generated_columns)

    def fit(self, x):
        """Fit the standardization on the float64 rows `x` (all of them in memory)."""
        axes = self._pooled_axes(x.ndim)
        self.mean, self.std = self._scale_rule(x.mean(axis=axes), x.std(axis=axes),
                                               x.max(axis=axes) == x.min(axis=axes))

    def fit_streamed(self, blocks):
        """Fit the standardization on the training rows given as `blocks` (arrays read one
        at a time, as `encode_columns` gave them): data larger than a float64 copy would
        allow."""
        self._fit_statistics(*streamed_statistics(blocks, self.layout))

    def fit_rows(self, x, n_rows):
        """`fit_streamed` on the row blocks of the first `n_rows` rows of the table matrix
        `x` (as `encode_columns` gave them), its columns split over threads."""
        self._fit_statistics(*matrix_statistics(x, n_rows))

    def _fit_statistics(self, mean, std, constant):
        self.mean, self.std = self._scale_rule(mean + self._shift(), std, constant)

    def fit_shift(self, values):
        """Set `shift` from a table's first batch ({column: values}, of every column or of
        some): each numeric column's mean there, 0 for one-hot slots."""
        if self.shift is None:
            self.shift = np.zeros(len(self._slot_columns()))
        for slot, column in enumerate(self._slot_columns()):
            if column in values and column not in self.categorical:
                self.shift[slot] = float(np.mean(values[column]))

    def features(self, raw):
        """x float64 (N, *input_shape) of in-memory `raw` (RawData), not standardized."""
        return raw.x.astype(np.float64, copy=False)

    @property
    def feature_names(self):
        """The model's input features in order: one name per one-hot slot (`color=red`)."""
        names = []
        for column in self.columns:
            vocabulary = self.categorical.get(column)
            names += [column] if vocabulary is None else [f"{column}={v}" for v in vocabulary]
        return names

    def encode_columns(self, values, dtype, source, first_row=0):
        """(n, *input_shape) in `dtype`, not standardized, from one batch of a table:
        {column: values}, numbers as float64 arrays, categories as text (pyarrow or numpy
        strings); one-hot blocks follow the vocabularies (an unseen category: all zeros).
        A number beyond `dtype` is an NnxError naming the feature, `source` and the row
        (`first_row` is the batch's first)."""
        ((_, block),) = self._encoded_runs(values, dtype, source, first_row)
        return block.reshape(len(block), *self.input_shape)

    def write_columns(self, x, rows, values, source, first_row=0):
        """Encode one batch of some columns ({column: values}, as `encode_columns` takes
        them) straight into their slots of `x` (N, width) at `rows`, not standardized. A
        number beyond x's dtype is an NnxError naming the feature, `source` and the row."""
        for slots, block in self._encoded_runs(values, x.dtype, source, first_row):
            _records(x[:, slots])[rows] = _records(block)

    def scale(self, x, dtype="float32"):
        """x standardized (when fitted) in float64, then as `dtype`; NnxError on any value
        beyond the dtype's range."""
        if self.mean is not None:
            mean, std = self._scaling(x.ndim)
            x = x - mean
            x /= std
        with np.errstate(over="ignore"):  # reported just below, with the reason
            x = x.astype(dtype, copy=False)
        self._check_finite(x, dtype)
        return x

    def scale_in_place(self, x):
        """Standardize the table matrix `x` (rows, width in the model's dtype) where it
        lies, a block at a time: as `scale` computes it, with one float64 block per thread
        alive at a time (the columns are split over threads)."""
        if self.mean is None:
            return
        mean, std = self._scaling(x.ndim)
        scale_columns_in_place(x, mean, std, lambda block: self._check_finite(block, x.dtype))

    def transform_rows(self, rows, dtype="float32"):
        """x (N, *input_shape) in `dtype` from a list of {column: value} dicts or a table
        file (CSV, Parquet)."""
        if isinstance(rows, (str, os.PathLike)):
            blocks = list(self.transform_batches(rows, dtype))
            return blocks[0] if len(blocks) == 1 else np.concatenate(blocks)
        values = self._dict_values(rows)
        return self.scale(self.encode_columns(values, dtype, "rows"), dtype)

    def transform_batches(self, path, dtype="float32"):
        """The rows of a table file (CSV, Parquet) as x in `dtype`, standardized, a batch
        at a time: a file larger than memory streams through."""
        from nnx.data.tables import open_table

        for x, _, _ in self._batches(open_table(path), dtype):
            yield x

    def decode_predictions(self, pred):
        """Model outputs -> original labels: a list with one entry per row.

        multiclass: the argmax's class; binary: the second class where p > 0.5; multilabel:
        lists of 0/1 (threshold 0.5); regression: floats (lists of floats for K targets).
        """
        pred = np.asarray(pred, dtype=np.float64)
        pred = pred.reshape(len(pred), -1)
        if self.task == "multiclass":
            if pred.shape[1] != len(self.classes):
                raise NnxError(f"predictions have {pred.shape[1]} columns; "
                               f"{len(self.classes)} classes need {len(self.classes)}")
            return [self.classes[i] for i in pred.argmax(axis=1)]
        if self.task == "binary":
            if pred.shape[1] != 1:
                raise NnxError(f"predictions have {pred.shape[1]} columns; binary needs 1")
            return [self.classes[int(p > 0.5)] for p in pred[:, 0]]
        if self.task == "multilabel":
            return (pred > 0.5).astype(int).tolist()
        return pred[:, 0].tolist() if pred.shape[1] == 1 else pred.tolist()

    def transform_labelled(self, path, dtype="float32"):
        """(x, y) from a table file with the feature and the target columns, both encoded as
        in training: class labels to their codes (in `classes`), other targets to floats."""
        import pyarrow as pa
        import pyarrow.compute as pc

        from nnx.data.tables import open_table

        table = open_table(path)
        targets = self.targets or []
        if not targets or not all(t in table.columns for t in targets) and self.generated_columns:
            raise NnxError(f"{path}: the model does not name its target columns; evaluate it "
                           "through its run instead")
        for target in targets:
            require_column(path, table.columns, target, "target")
        xs, ys = [], []
        for x, texts, start in self._batches(table, dtype, targets):
            xs.append(x)
            if self.classes is None:
                try:
                    ys.append(np.stack([pc.cast(texts[t], pa.float64()).to_numpy()
                                        for t in targets], axis=1).astype(dtype))
                except pa.ArrowInvalid:
                    raise NnxError(f"{path}: the {self.task} targets {targets} must be "
                                   "numbers") from None
            else:
                ys.append(self._class_codes(texts[targets[0]], table, start))
        x, y = (parts[0] if len(parts) == 1 else np.concatenate(parts) for parts in (xs, ys))
        return x, (y.astype(np.float32)[:, None] if self.task == "binary" else y)

    def _class_codes(self, labels, table, start):
        """int64 codes of a batch of class labels (text); NnxError naming the line (or row)
        of one the model does not know."""
        from nnx.data.tables import text_values

        code = {label_key(c): i for i, c in enumerate(self.classes)}
        labels = text_values(labels)
        distinct, inverse = np.unique(labels, return_inverse=True)
        codes = np.array([code.get(label_key(v), -1) for v in distinct.tolist()], np.int64)
        unknown = np.flatnonzero(codes[inverse] < 0)
        if len(unknown):
            row = int(unknown[0])
            raise NnxError(f"{table.source}: {table.place(start + row)}: target "
                           f"{labels[row]!r} is not one of the classes the model knows: "
                           f"{self.classes}")
        return codes[inverse]

    def to_dict(self):
        return {"format": FORMAT, "task": self.task, "input_shape": list(self.input_shape),
                "columns": self.columns, "layout": self.layout, "categorical": self.categorical,
                "mean": None if self.mean is None else self.mean.tolist(),
                "std": None if self.std is None else self.std.tolist(),
                "classes": self.classes, "targets": self.targets,
                "generated_columns": self.generated_columns,
                **({} if self.shift is None else {"shift": self.shift.tolist()})}

    @classmethod
    def from_dict(cls, d):
        if not isinstance(d, Mapping) or d.get("format") != FORMAT:
            raise NnxError(f"preprocessing: not a {FORMAT!r} document")
        try:
            return cls(**{k: v for k, v in d.items() if k != "format"})
        except TypeError as e:
            raise NnxError(f"preprocessing: damaged ({e})") from None

    def __repr__(self):
        return (f"Preprocessor(task={self.task!r}, input_shape={self.input_shape}, "
                f"columns={len(self.columns)}, standardized={self.mean is not None})")

    def _pooled_axes(self, ndim):
        """Axes that share one mean/std: rows (and time steps, or positions in a channel)."""
        if self.layout == "channels":
            return (0, *range(2, ndim))
        return tuple(range(ndim - 1))

    def _scale_rule(self, mean, std, constant):
        """(mean, std) as applied: a constant feature keeps scale 1; one-hot slots 0 and 1."""
        std = np.where(constant, 1.0, std)
        one_hot = np.zeros(mean.shape, dtype=bool)
        if self.categorical:
            start = 0
            for column in self.columns:
                width = len(self.categorical.get(column, [column]))
                one_hot[start:start + width] = column in self.categorical
                start += width
        return np.where(one_hot, 0.0, mean), np.where(one_hot, 1.0, std)

    def _shift(self):
        return 0.0 if self.shift is None else self.shift

    def _scaling(self, ndim):
        """(mean less the shift, std), shaped to broadcast over a batch of `ndim` axes."""
        shape = (-1, *[1] * (ndim - 2)) if self.layout == "channels" else (-1,)
        mean = self.mean if self.shift is None else self.mean - self.shift
        return mean.reshape(shape), self.std.reshape(shape)

    @staticmethod
    def _check_finite(x, dtype):
        if not np.isfinite(x).all():
            info = np.finfo(dtype)
            raise NnxError(f"data: x holds a value beyond {info.dtype.name} range (about "
                           f"{info.max:.1e})")

    def _slot_columns(self):
        """The column each input slot comes from (a one-hot column fills several)."""
        return [c for c in self.columns for _ in range(len(self.categorical.get(c, [c])))]

    def _slots(self):
        """(column, first slot, end slot) of each column, in input order."""
        slots, start = [], 0
        for column in self.columns:
            width = len(self.categorical.get(column, [column]))
            slots.append((column, start, start + width))
            start += width
        return slots

    def _encoded_runs(self, values, dtype, source, first_row):
        """(slice of slots, (n, width) block in `dtype`) per run of adjacent slots that the
        columns of `values` fill; a value beyond `dtype` is an NnxError (the first in row
        order within a run)."""
        runs, n_rows = [], len(next(iter(values.values())))
        for column, start, stop in self._slots():
            if column not in values:
                continue
            if not runs or runs[-1][-1][2] != start:
                runs.append([])
            runs[-1].append((column, start, stop))
        for run in runs:
            first = run[0][1]
            block = np.empty((n_rows, run[-1][2] - first), dtype=dtype)
            for column, start, stop in run:
                self._encode(column, values[column], start, block[:, start - first:stop - first])
            if not np.isfinite(block).all():
                row, index = (int(i) for i in np.argwhere(~np.isfinite(block))[0])
                column = self._slot_columns()[first + index]
                raise beyond_range(f"feature {column!r}", source, values[column][row],
                                   first_row + row, dtype)
            yield slice(first, run[-1][2]), block

    def _encode(self, column, values, start, out):
        """Write one column's batch into `out` (n, width) in the model's dtype: the number less
        its shift (beyond the dtype: infinite, for the caller to report), or a one-hot block
        (an unseen category: all zeros). `start` is the column's first slot."""
        vocabulary = self.categorical.get(column)
        if vocabulary is None:  # float64 arithmetic (less 0.0 is exact), rounded once to `out`
            shift = 0.0 if self.shift is None else self.shift[start]
            with np.errstate(over="ignore"):
                np.subtract(values, shift, out=out[:, 0], casting="same_kind")
            return
        out[...] = 0
        codes = _category_codes(values, vocabulary)
        seen = np.flatnonzero(codes >= 0)
        out[seen, codes[seen]] = 1

    def _batches(self, table, dtype, targets=()):
        """(x standardized in `dtype`, {target: text}, first row) per batch of `table`."""
        names = self._file_columns(table)
        numeric = [names[c] for c in self.columns if c not in self.categorical]
        text = [names[c] for c in self.categorical] + list(targets)
        for start, values in table.batches(numeric, text):
            features = {c: values[names[c]] for c in self.columns}
            x = self.scale(self.encode_columns(features, dtype, table.name, start), dtype)
            yield x, {t: values[t] for t in targets}, start

    def _file_columns(self, table):
        """{model column: file column}: by name, or by position for generated names."""
        if all(c in table.columns for c in self.columns):
            return {c: c for c in self.columns}
        if self.generated_columns and len(table.columns) == len(self.columns):
            return dict(zip(self.columns, table.columns))
        for column in self.columns:
            require_column(table.source, table.columns, column, "feature")
        raise AssertionError("a missing column passed require_column")

    def _dict_values(self, rows):
        """Rows of {column: value} dicts -> {column: float64 numbers or str categories}."""
        if not isinstance(rows, (list, tuple)) or not rows:
            raise NnxError("transform_rows takes a non-empty list of {column: value} dicts "
                           "or a table file")
        for i, row in enumerate(rows):
            if not isinstance(row, Mapping):
                raise NnxError(f"row {i}: expected a {{column: value}} mapping, got "
                               f"{type(row).__name__}")
            missing = [c for c in self.columns if c not in row]
            if missing:
                raise NnxError(f"row {i}: missing column {missing[0]!r}; columns: "
                               f"{', '.join(self.columns)}")
        values = {}
        for column in self.columns:
            texts = ["" if row[column] is None else str(row[column]).strip() for row in rows]
            numeric = column not in self.categorical
            for i, text in enumerate(texts):
                problem = cell_problem(text, numeric)
                if problem:
                    raise NnxError(f"rows: column {column!r}, row {i}: {problem}")
            values[column] = np.array([float(t) for t in texts]) if numeric else \
                np.array(texts, dtype=str)
        return values


def _category_codes(values, vocabulary):
    """The index of each value (pyarrow or numpy text) in the sorted `vocabulary`; -1 for
    a value outside it. Each distinct value is looked up once."""
    from nnx.data.tables import text_codes

    distinct, codes = (np.unique(values, return_inverse=True) if isinstance(values, np.ndarray)
                       else text_codes(values))
    known = np.array(vocabulary, dtype=str)
    if not len(known) or not len(distinct):
        return np.full(len(values), -1)
    index = np.minimum(np.searchsorted(known, distinct), len(known) - 1)
    return np.where(known[index] == distinct, index, -1)[codes]


def _records(rows):
    """A 2-D array with contiguous rows as a 1-D array of one opaque record per row: numpy
    copies a record at once, a row value by value (rows to scattered places: 2.5x faster)."""
    return rows.view(np.dtype((np.void, rows.shape[1] * rows.itemsize)))[:, 0]


def label_key(value):
    """A class label compared by value: '3', 3 and 3.0 are the same label."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return str(value)
