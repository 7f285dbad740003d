"""Readers for user data files: CSV (header row, `csv` module, no pandas) and NPZ (x, y).

Every problem is an NnxError naming the file and, for CSV, the column and the line: nnx
never guesses or fills in a value.
"""

import csv
import math
import os
import zipfile
from pathlib import Path

import numpy as np

from nnx.data.raw import RawData
from nnx.data.targets import CSV_MAX_INT_CLASSES, infer_task
from nnx.errors import NnxError, closest

SUFFIXES = (".csv", ".npz")


def check_path(path):
    """`path` as a Path to an existing, readable .csv or .npz file."""
    path = Path(path)
    if path.suffix.lower() not in SUFFIXES:
        raise NnxError(f"data.path {str(path)!r}: expected a .csv or .npz file")
    if not path.is_file():
        problem = "is a folder, not a file" if path.is_dir() else "does not exist"
        raise NnxError(f"data.path {str(path)!r} {problem}")
    if not os.access(path, os.R_OK):
        raise NnxError(f"data.path {str(path)!r} is not readable")
    return path


def read_file(path, target, categorical, sample_weight=None):
    """The RawData of a .csv or .npz file; `target`/`categorical`/`sample_weight` are CSV
    column names."""
    path = check_path(path)
    if path.suffix.lower() == ".npz":
        return read_npz(path)
    return read_csv(path, target, categorical, sample_weight)


def read_csv(path, target, categorical, sample_weight=None):
    header, rows, lines = read_csv_rows(path)
    for column in [*target, *categorical]:
        require_column(path, header, column, "target" if column in target else "categorical")
    both = sorted(set(target) & set(categorical))
    if both:
        raise NnxError(f"{path}: column {both[0]!r} is both a target and categorical")
    features = [c for c in header if c not in target and c != sample_weight]
    if not features:
        raise NnxError(f"{path}: no feature columns left besides the target {target}")
    place = lambda i: f"line {lines[i]}"  # noqa: E731
    cells = parse_columns(path, header, rows, place, features, categorical)
    y = _parse_targets(path, header, rows, place, target)
    weights = None
    if sample_weight is not None:
        weights = _parse_sample_weights(path, header, rows, place, sample_weight)
    return RawData(name=path.name, y=y, columns=features, cells=cells,
                   categorical=list(categorical), targets=list(target),
                   task=infer_task(y, CSV_MAX_INT_CLASSES), sample_weight=weights)


def read_csv_rows(path):
    """(header, rows as lists of str, the file line of each row); blank lines are skipped."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f)
            header = next(reader, None)
            rows, lines = [], []
            for row in reader:
                if row:
                    rows.append(row)
                    lines.append(reader.line_num)
    except UnicodeDecodeError:
        raise NnxError(f"{path}: not UTF-8 text; is it really a CSV file?") from None
    except csv.Error as e:
        raise NnxError(f"{path}: not a valid CSV file: {e}") from None
    except OSError as e:
        raise NnxError(f"{path}: cannot read: {e.strerror or e}") from None
    if header is None:
        raise NnxError(f"{path}: the file is empty; a CSV needs a header row and data rows")
    header = [name.strip() for name in header]
    if not all(header):
        raise NnxError(f"{path}: the header has an empty column name (column "
                       f"{header.index('') + 1}); every column needs a name")
    duplicate = next((n for i, n in enumerate(header) if n in header[:i]), None)
    if duplicate is not None:
        raise NnxError(f"{path}: the header names column {duplicate!r} twice")
    if not rows:
        raise NnxError(f"{path}: only a header row, no data rows")
    for row, line in zip(rows, lines, strict=True):
        if len(row) != len(header):
            raise NnxError(f"{path}: line {line} has {len(row)} fields, the header has "
                           f"{len(header)}")
    return header, rows, lines


def require_column(source, header, column, role):
    if column not in header:
        hint = closest(column, header)
        raise NnxError(f"{source}: {role} column {column!r} not found; columns: "
                       f"{', '.join(header)}" + (f" (did you mean {hint!r}?)" if hint else ""))


def parse_columns(source, header, rows, place, columns, categorical):
    """{column: values} for `columns`: str arrays for categorical ones, float64 for the rest.

    `place(i)` names row i in messages (a file line, or a row number).
    """
    cells = {}
    for column in columns:
        j = header.index(column)
        texts = [_cell(source, row[j], column, place, i) for i, row in enumerate(rows)]
        if column in categorical:
            cells[column] = np.array(texts, dtype=str)
            continue
        values = np.empty(len(texts))
        for i, text in enumerate(texts):
            try:
                values[i] = float(text)
            except ValueError:
                raise NnxError(f"{source}: column {column!r}, {place(i)}: {text!r} is not a "
                               "number (list the column under data.categorical if it holds "
                               "categories)") from None
        cells[column] = values
    return cells


def _cell(source, text, column, place, i):
    """A cell's stripped text; empty, NaN and infinite cells are errors (nnx does not impute)."""
    text = text.strip()
    if not text:
        raise NnxError(f"{source}: column {column!r}, {place(i)}: empty cell (nnx does not "
                       "fill in missing values)")
    try:
        missing = not math.isfinite(float(text))
    except ValueError:
        missing = False
    if missing:
        raise NnxError(f"{source}: column {column!r}, {place(i)}: {text!r} is not a finite "
                       "value (nnx does not fill in missing values)")
    return text


def _parse_sample_weights(path, header, rows, place, column):
    """float64 (N,) of the `data.sample_weight` column: numbers >= 0 in every row."""
    require_column(path, header, column, "sample_weight")
    j = header.index(column)
    weights = np.empty(len(rows))
    for i, row in enumerate(rows):
        text = _cell(path, row[j], column, place, i)
        try:
            weights[i] = float(text)
        except ValueError:
            raise NnxError(f"{path}: sample_weight column {column!r}, {place(i)}: {text!r} is "
                           "not a number") from None
        if weights[i] < 0:
            raise NnxError(f"{path}: sample_weight column {column!r}, {place(i)}: {text} is "
                           "negative; weights must be >= 0")
    return weights


def _parse_targets(path, header, rows, place, target):
    """(N, K) targets: float64 when every target cell is a number, else text."""
    texts = [[_cell(path, row[header.index(c)], c, place, i) for c in target]
             for i, row in enumerate(rows)]
    try:
        return np.array([[float(t) for t in row] for row in texts])
    except ValueError:
        return np.array(texts, dtype=str)


def read_npz(path):
    """x (N, ...) numbers and y (N,) or (N, K); the layout follows x's rank."""
    try:
        arrays = np.load(path, allow_pickle=False)
        if not isinstance(arrays, np.lib.npyio.NpzFile):
            raise NnxError(f"{path}: holds a single array, not an .npz archive with 'x' and 'y'")
        with arrays:
            found = list(arrays.files)
            if "x" not in found or "y" not in found:
                raise NnxError(f"{path}: an .npz data file needs arrays 'x' and 'y'; found: "
                               f"{', '.join(found) or 'none'}")
            x, y = arrays["x"], arrays["y"]
    except (OSError, EOFError, ValueError, zipfile.BadZipFile) as e:
        raise NnxError(f"{path}: not a readable .npz file ({e})") from None
    x, y = _check_npz_arrays(path, x, y)
    layout = {2: "tabular", 3: "sequence"}.get(x.ndim, "channels")
    n_features = int(np.prod(x.shape[1:]))
    return RawData(name=path.name, x=x, y=y, columns=[f"x{i}" for i in range(n_features)],
                   layout=layout, targets=["y"], task=infer_task(y), generated_columns=True)


def _check_npz_arrays(path, x, y):
    if x.dtype.kind not in "biuf" or x.ndim == 0:
        raise NnxError(f"{path}: x must be a numeric array of shape (N, ...), got dtype "
                       f"{x.dtype} shape {x.shape}")
    if y.dtype.kind not in "biufUS" or y.ndim not in (1, 2):
        raise NnxError(f"{path}: y must be (N,) or (N, K) of numbers or text, got dtype "
                       f"{y.dtype} shape {y.shape}")
    if len(x) != len(y) or len(x) == 0:
        raise NnxError(f"{path}: x has {len(x)} rows and y {len(y)}; they must match and not "
                       "be empty")
    x = x.astype(np.float64).reshape(len(x), -1) if x.ndim == 1 else x.astype(np.float64)
    for name, array in (("x", x), ("y", y)):
        if array.dtype.kind == "f" and not np.isfinite(array).all():
            index = tuple(int(i) for i in np.argwhere(~np.isfinite(array))[0])
            raise NnxError(f"{path}: {name}{list(index)} is {array[index]} (nnx does not fill "
                           "in missing values)")
    return x, (y.astype(str) if y.dtype.kind == "S" else y)
