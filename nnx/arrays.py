"""What a kernel may be handed. Numba indexes arrays without bounds checks, so a parameter of
the wrong shape, a float64 array in float32 code or a strided view would read or write
outside its memory; layers, losses and optimizers check their arrays here first.

The checks run in Python once per array: callers keep the arrays they checked and check
again only when one was replaced (`same_objects`), which costs well under a microsecond.
"""

import operator

import numpy as np

from nnx.errors import NnxError

FLOATS = (np.dtype("float32"), np.dtype("float64"))


def problem(value, shape=None, dtypes=FLOATS, contiguous=True, writable=True):
    """Why `value` cannot go to a kernel as an array of `shape` (None: any) with a dtype in
    `dtypes`, C-contiguous and writable when asked; None when it can. Completes
    "<what> ..."."""
    if not isinstance(value, np.ndarray):
        return f"must be a numpy array, got {type(value).__name__} {_short(value)}"
    if value.dtype not in dtypes:
        return f"has dtype {value.dtype}, expected {' or '.join(d.name for d in dtypes)}"
    if shape is not None and value.shape != tuple(shape):
        return f"has shape {value.shape}, expected {tuple(shape)}"
    if contiguous and not value.flags.c_contiguous:
        return "is not C-contiguous (a Fortran-ordered array or a strided view)"
    if writable and not value.flags.writeable:
        return "is read-only"
    return None


def same_objects(these, those):
    """Whether two sequences hold the same objects (by identity, in order): how a caller that
    keeps the arrays it checked tells, in a few hundred nanoseconds, that none was replaced."""
    return len(these) == len(those) and all(map(operator.is_, these, those))


def c_array(value, dtype, what):
    """`value` (an array, a nested list, a scalar) as a C-contiguous array of `dtype`, copied
    only when it is not one already (Fortran order, a strided view, another dtype); NnxError
    naming `what` when it holds no numbers."""
    array = np.asarray(value)
    if array.dtype.kind not in "fiub":
        raise NnxError(f"{what} must be numeric, got dtype {array.dtype}")
    return np.ascontiguousarray(array, dtype=dtype) if array.ndim else array.astype(dtype)


def _short(value):
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
