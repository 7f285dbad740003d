"""A folder of .npy files (x.npy, y.npy): data larger than memory, read memory-mapped.

x.npy is opened memory-mapped and never read whole. One streaming pass checks every value
(finite, within the model's dtype) and fits the standardization on the training rows;
training, evaluation and prediction then read their batches from the map (`MappedRows`),
standardized batch by batch. y.npy is read into memory: a target per row is small beside
the features. Each split keeps the file's row order, and an epoch shuffles blocks of rows
and the rows within each block, so that reads stay close to sequential.
"""

import numpy as np

from nnx.data.files import check_array_pair, refuse_missing
from nnx.data.preprocessing import Preprocessor
from nnx.data.scaling import block_ranges
from nnx.data.targets import beyond_range, infer_task
from nnx.errors import NnxError

SHUFFLE_BLOCK_BYTES = 64 * 2**20  # rows shuffled among themselves: one sequential read each


class MappedRows:
    """Rows of a memory-mapped array, read on demand: `rows[index]` (a slice or an index
    array) is a batch in the model's dtype, standardized as the Preprocessor says.

    A model's fit, evaluate and predict take it where they take an array: they read it a
    batch at a time (`epoch_order` gives fit its block-shuffled order)."""

    def __init__(self, array, rows, dtype, preprocessing):
        self.array, self.rows, self.preprocessing = array, rows, preprocessing
        self.dtype = np.dtype(dtype)
        self.shape = (len(rows), *array.shape[1:])
        self.ndim = len(self.shape)

    def __len__(self):
        return len(self.rows)

    def __getitem__(self, index):
        rows = np.atleast_1d(self.rows[index])
        return self.preprocessing.scale(np.asarray(self.array[rows]), self.dtype)

    def __repr__(self):
        return f"MappedRows(shape={self.shape}, dtype={self.dtype.name})"

    def epoch_order(self, rng):
        """A permutation of the rows: blocks in random order, rows shuffled in each block."""
        n_rows = len(self)
        step = max(1, SHUFFLE_BLOCK_BYTES // max(self.array[:1].nbytes, 1))
        starts = rng.permutation(np.arange(0, n_rows, step))
        return np.concatenate([start + rng.permutation(min(step, n_rows - start))
                               for start in starts])


class NpySource:
    """x.npy (memory-mapped) and y.npy (in memory) of a folder; `build` makes the splits."""

    def __init__(self, folder):
        self.x_path, y_path = folder / "x.npy", folder / "y.npy"
        x = _open(self.x_path, mmap=True)
        y = _open(y_path, mmap=False)
        check_array_pair(x, y, self.x_path, y_path,
                         f"{folder}: x.npy has {len(x)} rows and y.npy {len(y)}")
        refuse_missing(y, "y", y_path)
        self.x = x.reshape(len(x), 1) if x.ndim == 1 else x
        self.y = y.astype(str) if y.dtype.kind == "S" else y
        self.name, self.targets, self.classes = folder.name, ["y"], None
        self.n_rows = len(x)
        self.task = infer_task(self.y)
        self.layout = {2: "tabular", 3: "sequence"}.get(self.x.ndim, "channels")

    def check_features(self):
        """Nothing to do: the values are checked by `build`'s streaming pass."""

    def build(self, parts, task, classes, standardize, dtype, autoencoder):
        """(Preprocessor, [MappedRows per split], the splits' rows in file order)."""
        if autoencoder:
            raise NnxError(f"{self.x_path.parent}: data.autoencoder needs its targets in "
                           "memory; it does not apply to a folder of .npy files")
        n_features = int(np.prod(self.x.shape[1:]))
        pre = Preprocessor(task, self.x.shape[1:], [f"x{i}" for i in range(n_features)],
                           self.layout, classes=classes, targets=self.targets,
                           generated_columns=True)
        training = np.zeros(self.n_rows, dtype=bool)
        training[parts[0]] = True
        blocks = self._checked_training_blocks(training, dtype)
        if standardize:
            pre.fit_streamed(blocks)
        else:
            for _ in blocks:
                pass
        parts = [None if p is None else np.sort(p) for p in parts]
        return pre, [None if p is None else MappedRows(self.x, p, dtype, pre) for p in parts], \
            parts, None

    def _checked_training_blocks(self, training, dtype):
        """The training rows of x, a block at a time in file order, after checking that every
        row of the block is finite and within `dtype`."""
        limit = np.finfo(dtype).max
        for start, stop in block_ranges(self.n_rows, int(np.prod(self.x.shape[1:]))):
            block = np.asarray(self.x[start:stop])
            if block.dtype.kind == "f":
                bad = ~np.isfinite(block)
                if bad.any():
                    index = tuple(int(i) for i in np.argwhere(bad)[0])
                    raise NnxError(f"{self.x_path}: x{[start + index[0], *index[1:]]} is "
                                   f"{block[index]} (nnx does not fill in missing values)")
            beyond = np.abs(block) > limit
            if beyond.any():
                index = tuple(int(i) for i in np.argwhere(beyond)[0])
                raise beyond_range(f"x{list(index[1:])}", self.x_path, float(block[index]),
                                   start + index[0], dtype)
            yield block[training[start:stop]]


def _open(path, mmap):
    """The array of an .npy file (memory-mapped with `mmap`); NnxError for anything else."""
    try:
        array = np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)
    except ValueError as err:
        if "object" in str(err).lower() or "pickle" in str(err).lower():
            raise NnxError(f"{path}: holds Python objects (dtype object); nnx reads arrays of "
                           "numbers (or text for y)") from None
        raise NnxError(f"{path}: not a readable .npy file ({err})") from None
    except (OSError, EOFError) as err:
        raise NnxError(f"{path}: not a readable .npy file ({err})") from None
    if not isinstance(array, np.ndarray):
        raise NnxError(f"{path}: not a single .npy array")
    return array
