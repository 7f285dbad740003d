"""Argument checks at the edge: one message shape for every constructor in nnx.

`owner: field must be ..., got VALUE` — the owner names the layer, optimizer, schedule, ...
"""

import math

import numpy as np

from nnx.errors import NnxError


def integer(owner, field, value, minimum=0):
    """An int (not a bool) >= minimum."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        wanted = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        raise NnxError(f"{owner}: {field} must be {wanted}, got {value!r}")
    return int(value)


def number(owner, field, value, minimum=None, above=None, below=None):
    """A finite real (not a bool) with optional bounds: >= minimum, > above, < below."""
    ok = (not isinstance(value, bool) and isinstance(value, (int, float, np.floating))
          and math.isfinite(value))
    if ok:
        ok = ((minimum is None or value >= minimum) and (above is None or value > above)
              and (below is None or value < below))
    if not ok:
        raise NnxError(f"{owner}: {field} must be a number{_bounds(minimum, above, below)}, "
                       f"got {value!r}")
    return float(value)


def _bounds(minimum, above, below):
    low = f"[{minimum:g}" if minimum is not None else f"({above:g}" if above is not None else None
    if low is not None and below is not None:
        return f" in {low}, {below:g})"
    if low is not None:
        return f" {'>=' if minimum is not None else '>'} {low[1:]}"
    return f" < {below:g}" if below is not None else ""
