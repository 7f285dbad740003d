"""Positions added to (batch, time, features) inputs, so that attention can tell order.

`PositionalEncoding`: the fixed sinusoids of "Attention is all you need" (no parameters):
    pe[t, 2i] = sin(t / 10000^(2i / D)),   pe[t, 2i + 1] = cos(t / 10000^(2i / D)).
`PositionalEmbedding(max_length)`: a learnt table W (max_length, D); step t adds W[t].
Both give y = x + pe[:T] and dx = dy.
"""

import numpy as np

from nnx import initializers
from nnx.errors import NnxError
from nnx.layers.base import Layer, positive_int


def sinusoids(steps, features):
    """The (steps, features) sinusoidal table, in float64."""
    position = np.arange(steps, dtype=np.float64)[:, None]
    rate = np.exp(np.arange(0, features, 2, dtype=np.float64) * (-np.log(10000.0) / features))
    table = np.empty((steps, features))
    table[:, 0::2] = np.sin(position * rate)
    table[:, 1::2] = np.cos(position * rate[: features // 2])
    return table


def expects_sequences(layer, input_shape):
    if len(input_shape) != 2:
        raise NnxError(f"layer {layer.name!r} expects inputs of shape (batch, time, features), "
                       f"got (batch, {', '.join(map(str, input_shape))})")
    return input_shape


class PositionalEncoding(Layer):
    """x + sinusoids; the table is built for the input's number of steps."""

    def output_shape_for(self, input_shape):
        return expects_sequences(self, input_shape)

    def create_params(self, input_shape, rng):
        self._table = sinusoids(*input_shape).astype(self.dtype)

    def forward(self, x, training=False):
        self.check_input(x)
        return x + self._table.astype(x.dtype, copy=False)

    def backward(self, dy):
        return dy


class PositionalEmbedding(Layer):
    """x + W[:T] with a learnt W (max_length, D); max_length defaults to the input's T."""

    def __init__(self, max_length=None, init="random_uniform", name=None):
        super().__init__(name)
        self.max_length = (None if max_length is None
                           else positive_int(self.name, "max_length", max_length))
        self.init = init
        initializers.get(init)  # fail at construction, not build

    def output_shape_for(self, input_shape):
        expects_sequences(self, input_shape)
        if self.max_length is not None and input_shape[0] > self.max_length:
            raise NnxError(f"layer {self.name!r}: inputs of shape (batch, "
                           f"{', '.join(map(str, input_shape))}) have {input_shape[0]} steps, "
                           f"more than max_length={self.max_length}")
        return input_shape

    def param_shapes(self, input_shape):
        return {"W": (self.max_length or input_shape[0], input_shape[1])}

    def create_params(self, input_shape, rng):
        rows, features = self.max_length or input_shape[0], input_shape[1]
        self.add_param("W", (rows, features), self.init, rows, features, rng)

    def forward(self, x, training=False):
        x = self.take_input(x, training)
        W = self.params["W"]
        return x + W[: x.shape[1]]

    def backward(self, dy):
        dy = self.take_gradient(dy)
        dW = self.grads["W"]
        steps = dy.shape[1]
        dW[:steps] = dy.sum(axis=0)
        dW[steps:] = 0
        return dy if self.needs_input_grad else None
