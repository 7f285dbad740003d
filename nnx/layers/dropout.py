"""Dropout: zero a fraction `rate` of inputs while training, scale the rest by 1/(1-rate)."""

from nnx.layers.base import Layer, fraction


class Dropout(Layer):
    def __init__(self, rate, name=None):
        super().__init__(name)
        self.rate = fraction("dropout", "rate", rate)

    def create_params(self, input_shape, rng):
        self._rng = rng  # the model spawns one per layer: dropout masks follow the seed

    def forward(self, x, training=False):
        if not training or self.rate == 0.0:
            self._mask = None
            return x
        keep = self._rng.random(x.shape, dtype=x.dtype) >= x.dtype.type(self.rate)
        self._mask = keep * x.dtype.type(1.0 / (1.0 - self.rate))
        return x * self._mask

    def backward(self, dy):
        return dy if self._mask is None else dy * self._mask
