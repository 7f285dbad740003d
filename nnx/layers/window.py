"""The window arithmetic of the convolution and pooling layers: size arguments as tuples,
"same" padding, and output sizes (or an error that says why a window does not fit)."""

import math

import numpy as np

from nnx.errors import NnxError

SPATIAL_NAMES = {1: ("length",), 2: ("height", "width")}


def size_tuple(layer, field, value, rank, minimum=1):
    """An int or a sequence of `rank` ints >= minimum, as a tuple of `rank` ints."""
    items = list(value) if isinstance(value, (tuple, list)) else [value] * rank
    ok = len(items) == rank and all(
        isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= minimum
        for v in items)
    if not ok:
        kind = "a positive integer" if minimum >= 1 else "a non-negative integer"
        raise NnxError(f"{layer}: {field} must be {kind} or a list of {rank} of them, "
                       f"got {value!r}")
    return tuple(int(v) for v in items)


def config_value(value):
    """A size argument as the config keeps it: an int or a string as given, a list otherwise."""
    return list(value) if isinstance(value, tuple) else value


def expects_rank(layer, input_shape, rank):
    """Raise NnxError unless a channels-first input shape has `rank` spatial axes."""
    if len(input_shape) != rank + 1:
        axes = ", ".join(("channels",) + SPATIAL_NAMES[rank])
        raise NnxError(f"layer {layer.name!r} expects inputs of shape ({axes}) (channels "
                       f"first, without the batch axis), got {tuple(input_shape)}")


def same_padding(size, kernel, stride, dilation):
    """Keras/TensorFlow "same": enough padding for ceil(size/stride) outputs, the odd extra
    on the right/bottom. Returns (before, after)."""
    total = max((math.ceil(size / stride) - 1) * stride + (kernel - 1) * dilation + 1 - size, 0)
    return total // 2, total - total // 2


def window_outputs(layer, input_shape, kernel, stride, dilation, pads, what="kernel"):
    """Output sizes of a sliding window (floor) over the spatial axes of `input_shape`
    (channels first), or NnxError when a window does not fit in the padded input."""
    spatial = input_shape[1:]
    extent = tuple((k - 1) * d + 1 for k, d in zip(kernel, dilation, strict=True))
    padded = tuple(n + before + after for n, (before, after) in zip(spatial, pads, strict=True))
    if any(e > p for e, p in zip(extent, padded, strict=True)):
        detail = f"{what} {kernel}"
        if any(d > 1 for d in dilation):
            detail += f" with dilation {dilation} spans {extent}"
        if any(before or after for before, after in pads):
            where = (f"the padded input {padded} (input shape {tuple(input_shape)}, "
                     f"padding {tuple(pads)})")
        else:
            where = f"the input {padded} (input shape {tuple(input_shape)})"
        raise NnxError(f"layer {layer.name!r}: {detail} is larger than {where}")
    return tuple((p - e) // s + 1 for p, e, s in zip(padded, extent, stride, strict=True))


def as_2d(shape, rank):
    """A channels-first shape with one spatial axis given a leading height of 1."""
    return shape if rank == 2 else (shape[0], 1) + tuple(shape[1:])
