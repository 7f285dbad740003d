"""scikit-learn's shipped datasets, read once with scikit-learn and kept as .npz.

Importing scikit-learn costs over a second; after the first load the arrays come from the
cache, and scikit-learn is never imported again.
"""

import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from nnx.errors import NnxError


def cache_dir():
    """`NNX_DATA_DIR`, else ~/.cache/nnx/datasets (read at every call so tests can move it)."""
    return Path(os.environ.get("NNX_DATA_DIR") or Path.home() / ".cache" / "nnx" / "datasets")


def load_sklearn(name):
    """(x float64 (N, F), y) of `sklearn.datasets.load_<name>`, from the cache when there."""
    path = cache_dir() / f"{name}.npz"
    try:
        with np.load(path, allow_pickle=False) as arrays:
            return arrays["x"], arrays["y"]
    except (OSError, EOFError, KeyError, ValueError, zipfile.BadZipFile):
        pass  # absent or damaged: read it again from scikit-learn
    x, y = _read_with_sklearn(name)
    _write_atomically(path, x, y)
    return x, y


def _read_with_sklearn(name):
    try:
        import sklearn.datasets
    except ImportError:
        raise NnxError(f"dataset {name!r} is read once from scikit-learn, which is not "
                       "installed: pip install scikit-learn") from None
    x, y = getattr(sklearn.datasets, f"load_{name}")(return_X_y=True)
    return np.asarray(x, dtype=np.float64), np.asarray(y)


def _write_atomically(path, x, y):
    """Write to a temporary file in the same folder, then rename: readers never see half a file."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}-", suffix=".npz")
        try:
            with os.fdopen(fd, "wb") as f:
                np.savez(f, x=x, y=y)
            os.chmod(tmp, 0o644)  # mkstemp makes it private; the cache may be shared
            os.replace(tmp, path)
        except BaseException:
            os.unlink(tmp)
            raise
    except OSError as e:
        raise NnxError(f"cannot write the dataset cache {path}: {e.strerror or e}; "
                       "set NNX_DATA_DIR to a writable folder") from None
