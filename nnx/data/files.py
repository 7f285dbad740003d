"""Data files: which kind a path names (a table, an .npz, a folder of .npy files), the
NPZ reader (x, y held in memory), and the rules an x/y pair of arrays keeps in either.

Every problem is an NnxError naming the file: nnx never guesses or fills in a value.
"""

import os
import zipfile
from pathlib import Path

import numpy as np

from nnx.data.raw import RawData
from nnx.data.targets import infer_task
from nnx.errors import NnxError, closest

KINDS = "a .csv or .npz file (or .csv.gz, .parquet, a folder of .npy or .parquet files)"
NPY_FOLDER = ("x.npy", "y.npy")


def data_kind(path):
    """"table" (CSV, Parquet), "npz" or "npy" (a folder with x.npy and y.npy) for `path`
    (an existing, readable file or folder), else an NnxError naming it."""
    from nnx.data.tables import parquet_files, table_kind

    path = Path(path)
    if path.is_dir():
        if all((path / name).is_file() for name in NPY_FOLDER):
            kind = "npy"
        elif parquet_files(path):
            kind = "table"
        elif path.suffix.lower() in (".csv", ".npz", ".gz", ".parquet"):
            raise NnxError(f"data.path {str(path)!r} is a folder, not a file")
        else:
            raise NnxError(f"data.path {str(path)!r}: a data folder holds x.npy and y.npy, or "
                           ".parquet files; found neither")
    else:
        kind = "npz" if path.suffix.lower() == ".npz" else "table" if table_kind(path) else None
        if kind is None:
            raise NnxError(f"data.path {str(path)!r}: expected {KINDS}")
        if not path.exists():
            raise NnxError(f"data.path {str(path)!r} does not exist")
    if not os.access(path, os.R_OK):
        raise NnxError(f"data.path {str(path)!r} is not readable")
    return kind


def require_column(source, header, column, role):
    if column not in header:
        hint = closest(column, header)
        raise NnxError(f"{source}: {role} column {column!r} not found; columns: "
                       f"{', '.join(header)}" + (f" (did you mean {hint!r}?)" if hint else ""))


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
    check_array_pair(x, y, path, path, f"{path}: x has {len(x)} rows and y {len(y)}")
    x = x.astype(np.float64).reshape(len(x), -1) if x.ndim == 1 else x.astype(np.float64)
    refuse_missing(x, "x", path)
    refuse_missing(y, "y", path)
    return x, (y.astype(str) if y.dtype.kind == "S" else y)


def check_array_pair(x, y, x_source, y_source, row_counts):
    """Refuse an x that is not numeric (N, ...), a y that is not (N,) or (N, K) of numbers or
    text, and row counts that differ or are 0 (`row_counts` says them, with the source):
    the rules of an .npz file and of a folder of .npy files alike."""
    if x.dtype.kind not in "biuf" or x.ndim == 0:
        raise NnxError(f"{x_source}: x must be a numeric array of shape (N, ...), got dtype "
                       f"{x.dtype} shape {x.shape}")
    if y.dtype.kind not in "biufUS" or y.ndim not in (1, 2):
        raise NnxError(f"{y_source}: y must be (N,) or (N, K) of numbers or text, got dtype "
                       f"{y.dtype} shape {y.shape}")
    if len(x) != len(y) or len(x) == 0:
        raise NnxError(f"{row_counts}; they must match and not be empty")


def refuse_missing(array, name, source):
    """NnxError naming the first NaN or infinite value of a float `array` (nnx never fills
    one in)."""
    if array.dtype.kind == "f" and not np.isfinite(array).all():
        index = tuple(int(i) for i in np.argwhere(~np.isfinite(array))[0])
        raise NnxError(f"{source}: {name}{list(index)} is {array[index]} (nnx does not fill "
                       "in missing values)")
