"""The window geometry of the convolution and pooling kernels, as named tuples.

Numba takes a NamedTuple as a kernel argument and reads its fields by name (`g.stride_h`),
as plain integers. This module imports no numba: layers build their geometry at build time
without loading the kernels.
"""

from typing import NamedTuple


class ConvGeometry(NamedTuple):
    """A 2-D convolution window over (C, H, W) inputs (a 1-D one has a height of 1); the
    bottom/right padding follows from the output size (positions past the input read 0).
    `flat` selects the column layout (nnx/kernels/columns.py): flat (stride 1 only) or gathered."""

    kernel_h: int
    kernel_w: int
    stride_h: int
    stride_w: int
    dilation_h: int
    dilation_w: int
    pad_top: int
    pad_left: int
    out_h: int
    out_w: int
    flat: bool


class PoolGeometry(NamedTuple):
    """A pooling window (no padding; the output shape gives the output size)."""

    kernel_h: int
    kernel_w: int
    stride_h: int
    stride_w: int
