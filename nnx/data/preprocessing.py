"""The preprocessing that travels with a model, so predict sees inputs as training did.

It holds the feature columns and their order, the one-hot vocabularies (learnt from the
training rows), the standardization mean/std (fitted on the training rows), the class
labels and the task, and is JSON-serializable (`to_dict` / `from_dict`).
"""

import os
from collections.abc import Mapping

import numpy as np

from nnx.data.files import parse_columns, read_csv_rows, require_column
from nnx.errors import NnxError

FORMAT = "nnx.preprocessing/1"


class Preprocessor:
    """Raw rows -> model input x (with their targets: -> x, y as in training), and model
    output -> original labels.

    One-hot columns are not standardized (mean 0, std 1), so that an unseen category
    stays an all-zero block. Built-in and NPZ data have generated columns x0..x{n-1}
    (x flattened in C order); a CSV for them may also give the values in that order.
    """

    def __init__(self, task, input_shape, columns, layout="tabular", categorical=None,
                 mean=None, std=None, classes=None, targets=None, generated_columns=False):
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

    @classmethod
    def fit_transform(cls, raw, train_rows, task, classes, standardize):
        """(Preprocessor fitted on `train_rows` of `raw`, x of all rows float32)."""
        vocabularies = {c: sorted(set(raw.cells[c][train_rows].tolist())) for c in raw.categorical}
        width = sum(len(vocabularies.get(c, [c])) for c in raw.columns)
        shape = (width,) if raw.x is None else raw.x.shape[1:]
        pre = cls(task, shape, raw.columns, raw.layout, vocabularies, classes=classes,
                  targets=raw.targets, generated_columns=raw.generated_columns)
        x = pre.features(raw)
        if standardize:
            pre.mean, pre.std = pre._fit_scale(x[train_rows])
        return pre, pre._scale(x)

    def features(self, raw):
        """x float64 (N, *input_shape) of `raw` (RawData), encoded but not standardized."""
        return self._encode(raw.cells) if raw.x is None else raw.x.astype(np.float64)

    @property
    def feature_names(self):
        """The model's input features in order: one name per one-hot slot (`color=red`)."""
        names = []
        for column in self.columns:
            vocabulary = self.categorical.get(column)
            names += [column] if vocabulary is None else [f"{column}={v}" for v in vocabulary]
        return names

    def transform_rows(self, rows):
        """x float32 (N, *input_shape) from a list of {column: value} dicts or a raw CSV path."""
        if isinstance(rows, (str, os.PathLike)):
            source = rows
            header, rows, lines = read_csv_rows(rows)
            header = self._csv_header(source, header)
            place = lambda i: f"line {lines[i]}"  # noqa: E731
        else:
            source, header, rows = "rows", self.columns, self._dict_cells(rows)
            place = "row {}".format
        return self._scale(self._encode(parse_columns(source, header, rows, place,
                                                       self.columns, self.categorical)))

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

    def transform_labelled(self, path):
        """(x, y) from a raw CSV with the feature and the target columns, both encoded as in
        training: class labels to their codes (in `classes`), other targets to floats."""
        path = os.fspath(path)
        header, rows, lines = read_csv_rows(path)
        targets = self.targets or []
        if not targets or not all(t in header for t in targets) and self.generated_columns:
            raise NnxError(f"{path}: the model does not name its target columns; evaluate it "
                           "through its run instead")
        for target in targets:
            require_column(path, header, target, "target")
        cells = [[row[header.index(t)].strip() for t in targets] for row in rows]
        if self.classes is None:
            try:
                y = np.array([[float(v) for v in row] for row in cells], dtype=np.float32)
            except ValueError:
                raise NnxError(f"{path}: the {self.task} targets {targets} must be numbers") \
                    from None
        else:
            code = {label_key(c): i for i, c in enumerate(self.classes)}
            y = np.empty(len(cells), dtype=np.int64)
            for i, row in enumerate(cells):
                if label_key(row[0]) not in code:
                    raise NnxError(f"{path}: line {lines[i]}: target {row[0]!r} is not one of "
                                   f"the classes the model knows: {self.classes}")
                y[i] = code[label_key(row[0])]
            y = y.astype(np.float32)[:, None] if self.task == "binary" else y
        return self.transform_rows(path), y

    def to_dict(self):
        return {"format": FORMAT, "task": self.task, "input_shape": list(self.input_shape),
                "columns": self.columns, "layout": self.layout, "categorical": self.categorical,
                "mean": None if self.mean is None else self.mean.tolist(),
                "std": None if self.std is None else self.std.tolist(),
                "classes": self.classes, "targets": self.targets,
                "generated_columns": self.generated_columns}

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

    def _encode(self, cells):
        """Unscaled float64 (N, *input_shape): numbers as they are, categories one-hot."""
        blocks = []
        for column in self.columns:
            values = cells[column]
            vocabulary = self.categorical.get(column)
            if vocabulary is None:
                blocks.append(values[:, None])
            else:
                one_hot = values[:, None] == np.array(vocabulary, dtype=str)
                blocks.append(one_hot.astype(np.float64))
        x = np.concatenate(blocks, axis=1)
        return x.reshape(len(x), *self.input_shape)

    def _pooled_axes(self, ndim):
        """Axes that share one mean/std: rows (and time steps, or positions in a channel)."""
        if self.layout == "channels":
            return (0, *range(2, ndim))
        return tuple(range(ndim - 1))

    def _fit_scale(self, x):
        axes = self._pooled_axes(x.ndim)
        mean, std = x.mean(axis=axes), x.std(axis=axes)
        constant = x.max(axis=axes) == x.min(axis=axes)
        std = np.where(constant, 1.0, std)
        one_hot = np.zeros(mean.shape, dtype=bool)
        if self.categorical:
            start = 0
            for column in self.columns:
                width = len(self.categorical.get(column, [column]))
                one_hot[start:start + width] = column in self.categorical
                start += width
        return np.where(one_hot, 0.0, mean), np.where(one_hot, 1.0, std)

    def _scale(self, x):
        """x standardized (when fitted) as float32; NnxError on any non-finite value."""
        if self.mean is not None:
            shape = (-1, *[1] * (x.ndim - 2)) if self.layout == "channels" else (-1,)
            x = (x - self.mean.reshape(shape)) / self.std.reshape(shape)
        with np.errstate(over="ignore"):  # reported just below, with the reason
            x = x.astype(np.float32)
        if not np.isfinite(x).all():
            raise NnxError("data: x holds a value beyond float32 range (about 3.4e38)")
        return x

    def _csv_header(self, path, header):
        """The header to read the columns by: the file's own, or positions for generated names."""
        if all(c in header for c in self.columns):
            return header
        if self.generated_columns and len(header) == len(self.columns):
            return self.columns
        for column in self.columns:
            require_column(path, header, column, "feature")
        return header

    def _dict_cells(self, rows):
        """Rows of dicts -> lists of cell texts in column order."""
        if not isinstance(rows, (list, tuple)) or not rows:
            raise NnxError("transform_rows takes a non-empty list of {column: value} dicts "
                           "or a CSV path")
        texts = []
        for i, row in enumerate(rows):
            if not isinstance(row, Mapping):
                raise NnxError(f"row {i}: expected a {{column: value}} mapping, got "
                               f"{type(row).__name__}")
            missing = [c for c in self.columns if c not in row]
            if missing:
                raise NnxError(f"row {i}: missing column {missing[0]!r}; columns: "
                               f"{', '.join(self.columns)}")
            texts.append(["" if row[c] is None else str(row[c]) for c in self.columns])
        return texts


def label_key(value):
    """A class label compared by value: '3', 3 and 3.0 are the same label."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return str(value)
