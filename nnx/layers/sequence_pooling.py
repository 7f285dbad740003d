"""SequencePooling: (batch, time, features) -> (batch, features), for a classifier on top of
sequence layers (attention, recurrent layers with return_sequences).

`mode="mean"` averages over time, `"first"` takes the first step (a class-token position),
`"last"` the last one. With `layer.mask` set to an (N, T) array (nonzero = real step, e.g. the
`output_mask` of an Embedding with `mask_zero=True`), "mean" averages the real steps only and
"first"/"last" take the first/last real one; a sample without real steps gives zeros.
(GlobalAveragePooling1D is channels first: it averages (N, C, L) over L.)
"""

import numpy as np

from nnx.errors import NnxError
from nnx.layers.base import Layer

MODES = ("mean", "first", "last")


class SequencePooling(Layer):
    takes_mask = True

    def __init__(self, mode="mean", name=None):
        super().__init__(name)
        if mode not in MODES:
            raise NnxError(f"{self.name}: mode must be one of {', '.join(MODES)}, got {mode!r}")
        self.mode = mode
        self.mask = None  # optional (N, T) padding mask for the next forwards

    def output_shape_for(self, input_shape):
        if len(input_shape) != 2:
            raise NnxError(f"layer {self.name!r} expects inputs of shape (batch, time, "
                           f"features), got (batch, {', '.join(map(str, input_shape))})")
        return (input_shape[1],)

    def check_input(self, x):
        features = self.input_shape[1]
        if x.ndim != 3 or x.shape[2] != features or x.shape[1] < 1:
            raise NnxError(f"layer {self.name!r} expects inputs of shape (batch, time, "
                           f"{features}), got {tuple(x.shape)}")

    def weights(self, shape, dtype):
        """(N, T) weights w such that y = sum_t w[:, t] * x[:, t]."""
        n, steps = shape[:2]
        if self.mask is None:
            real = np.ones((n, steps), dtype=bool)
        else:
            real = np.asarray(self.mask) != 0
            if real.shape != (n, steps):
                raise NnxError(f"layer {self.name!r}: mask of shape {real.shape} does not fit "
                               f"inputs of shape {tuple(shape)}; it must be (batch, time)")
        w = np.zeros((n, steps), dtype=dtype)
        if self.mode == "mean":
            count = real.sum(axis=1, keepdims=True)
            w[...] = real / np.maximum(count, 1)
        else:
            rows = np.arange(n)
            if self.mode == "first":
                step = np.argmax(real, axis=1)
            else:
                step = steps - 1 - np.argmax(real[:, ::-1], axis=1)
            w[rows, step] = real[rows, step]
        return w

    def forward(self, x, training=False):
        self.check_input(x)
        w = self.weights(x.shape, x.dtype)
        if training:
            self._w = w
        return np.einsum("nt,ntd->nd", w, x)

    def backward(self, dy):
        return self._w[:, :, None] * dy[:, None, :]
