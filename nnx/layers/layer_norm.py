"""LayerNormalization over the last axis, PyTorch's nn.LayerNorm(D) conventions:
y = gamma * (x - mean) / sqrt(var + eps) + beta per sample and step, biased variance, the
same in training and inference (no running statistics)."""

import numpy as np

from nnx.errors import NnxError
from nnx.kernels import lazy
from nnx.layers.base import Layer

kernels = lazy("layer_norm")


class LayerNormalization(Layer):
    def __init__(self, eps=1e-5, name=None):
        super().__init__(name)
        ok = isinstance(eps, (int, float)) and not isinstance(eps, bool)
        if not ok or not eps > 0.0:
            raise NnxError(f"{self.name}: eps must be a positive number, got {eps!r}")
        self.eps = float(eps)

    def output_shape_for(self, input_shape):
        if len(input_shape) < 1:
            raise NnxError(f"layer {self.name!r} expects inputs with a feature axis, got "
                           f"input shape {tuple(input_shape)}")
        return input_shape

    def param_shapes(self, input_shape):
        return {"gamma": (input_shape[-1],), "beta": (input_shape[-1],)}

    def create_params(self, input_shape, rng):
        features = input_shape[-1]
        self.add_param("gamma", (features,), "ones", features, features, rng)
        self.add_param("beta", (features,), "zeros", features, features, rng)

    def check_input(self, x):
        """The rank and the last axis must match the build; other axes (time) may vary."""
        shape = self.input_shape
        if x.ndim != len(shape) + 1 or x.shape[-1] != shape[-1] or x.size == 0:
            expected = ", ".join(["..."] * (len(shape) - 1) + [str(shape[-1])])
            raise NnxError(f"layer {self.name!r} expects inputs of shape (batch, {expected}), "
                           f"got {tuple(x.shape)}")

    def forward(self, x, training=False):
        return self.forward_sum(x, None, training)

    def forward_sum(self, x, residual, training=False):
        """norm(x + residual) (residual None: norm(x)), the sum formed inside the kernel's
        first pass: a transformer block's residual connection needs no array of its own."""
        x = self.take_input(x, training)
        gamma = self.params["gamma"]
        x2 = x.reshape(-1, gamma.shape[0])
        if residual is None:
            r2 = np.empty((0, 0), dtype=gamma.dtype)
        else:
            r2 = np.ascontiguousarray(residual, dtype=gamma.dtype).reshape(x2.shape)
        xhat = np.empty_like(x2)
        invstd = np.empty(x2.shape[0], dtype=gamma.dtype)
        y = np.empty_like(x2)
        kernels.layer_norm_forward(x2, r2, gamma, self.params["beta"], self.eps, xhat, invstd,
                                   y)
        if training:
            self._xhat, self._invstd = xhat, invstd
        return y.reshape(x.shape)

    def backward(self, dy):
        dy = self.take_gradient(dy)
        gamma = self.params["gamma"]
        dy2 = dy.reshape(-1, gamma.shape[0])
        dx = np.empty_like(dy2)
        kernels.layer_norm_backward(dy2, self._xhat, gamma, self._invstd, self.grads["gamma"],
                                    self.grads["beta"], dx)
        return dx.reshape(dy.shape)
