"""GaussianNoise: add N(0, stddev^2) noise while training, the identity at inference.

Put it after the input of an autoencoder to make it denoising: it learns to reconstruct the
clean input from a corrupted one. The noise follows the model seed (a generator per layer).
"""

from nnx import checks
from nnx.layers.base import Layer


class GaussianNoise(Layer):
    def __init__(self, stddev, name=None):
        super().__init__(name)
        self.stddev = checks.number("gaussian_noise", "stddev", stddev, minimum=0.0)

    def create_params(self, input_shape, rng):
        self._rng = rng

    def forward(self, x, training=False):
        if not training or self.stddev == 0.0:
            return x
        noise = self._rng.standard_normal(x.shape, dtype=x.dtype)
        noise *= x.dtype.type(self.stddev)
        return x + noise

    def backward(self, dy):
        return dy
