"""Embedding: integer token ids (batch, time) -> rows of a table W (input_dim, output_dim).

Ids may arrive as floats holding integers (a model casts its inputs to its dtype). With
`mask_zero=True`, id 0 is padding: `output_mask` is then the (batch, time) mask of the last
forward (True = real token), for a recurrent layer's `mask` (see nnx.layers.recurrent);
the row of id 0 still exists, so input_dim counts it.
"""

import numpy as np

from nnx import initializers
from nnx.errors import NnxError
from nnx.kernels import lazy
from nnx.layers.base import Layer, positive_int

kernels = lazy("embedding")


class Embedding(Layer):
    def __init__(self, input_dim, output_dim, init="random_uniform", mask_zero=False,
                 name=None):
        super().__init__(name)
        self.input_dim = positive_int("embedding", "input_dim", input_dim)
        self.output_dim = positive_int("embedding", "output_dim", output_dim)
        self.init = init
        initializers.get(init)  # fail at construction, not build
        self.mask_zero = bool(mask_zero)
        self.output_mask = None

    @property
    def makes_mask(self):
        return self.mask_zero

    def output_shape_for(self, input_shape):
        if len(input_shape) != 1:
            raise NnxError(f"layer {self.name!r} expects token ids of shape (time,), got "
                           f"input shape {input_shape}")
        return (input_shape[0], self.output_dim)

    def param_shapes(self, input_shape):
        return {"W": (self.input_dim, self.output_dim)}

    def create_params(self, input_shape, rng):
        self.add_param("W", (self.input_dim, self.output_dim), self.init, self.input_dim,
                       self.output_dim, rng)

    def check_input(self, x):
        if x.ndim != 2 or x.shape[1] < 1:
            raise NnxError(f"layer {self.name!r} expects token ids of shape (batch, time) "
                           f"with time >= 1, got {tuple(x.shape)}")

    def token_ids(self, x):
        """x as int64 ids, checked: integral and within [0, input_dim)."""
        x = np.asarray(x)
        self.check_input(x)
        if x.dtype.kind == "f":
            bad = ~np.isfinite(x) | (np.floor(x) != x)
            if bad.any():
                raise NnxError(f"layer {self.name!r} expects integer token ids, got "
                               f"{x[bad].flat[0].item()!r}")
        elif x.dtype.kind not in "iub":
            raise NnxError(f"layer {self.name!r} expects integer token ids, got dtype {x.dtype}")
        out_of_range = (x < 0) | (x >= len(self.params["W"]))  # the rows the kernel indexes
        if out_of_range.any():
            raise NnxError(f"layer {self.name!r}: token id {int(x[out_of_range].flat[0])} is "
                           f"outside [0, input_dim={self.input_dim}) in inputs of shape "
                           f"{tuple(x.shape)}")
        return np.ascontiguousarray(x, dtype=np.int64)

    def forward(self, x, training=False):
        ids = self.token_ids(self.take_input(x, training))
        W = self.params["W"]
        out = np.empty((ids.size, self.output_dim), W.dtype)
        kernels.gather_rows(W, ids.reshape(-1), out)
        self.output_mask = ids != 0 if self.mask_zero else None
        if training:
            self._ids = ids
        return out.reshape(ids.shape + (self.output_dim,))

    def backward(self, dy):
        dy = self.take_gradient(dy).reshape(-1, self.output_dim)
        kernels.scatter_add_rows(dy, self._ids.reshape(-1), self.grads["W"])
        # token ids are not differentiable: their gradient is zero
        return np.zeros(self._ids.shape, dy.dtype) if self.needs_input_grad else None
