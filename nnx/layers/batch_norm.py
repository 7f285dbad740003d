"""BatchNormalization with PyTorch's conventions, per feature of (N, F) or per channel of
channels-first (N, C, ...): batch statistics while training (biased variance to normalize,
unbiased for the running variance), running statistics at inference."""

import math

import numpy as np

from nnx.errors import NnxError
from nnx.kernels import lazy
from nnx.layers.base import Layer

batch_norm = lazy("batch_norm")


class BatchNormalization(Layer):
    def __init__(self, momentum=0.1, eps=1e-5, name=None):
        super().__init__(name)
        ok = isinstance(momentum, (int, float)) and not isinstance(momentum, bool)
        if not ok or not 0.0 <= momentum <= 1.0:
            raise NnxError(f"{self.name}: momentum must be a number in [0, 1], got {momentum!r}")
        ok = isinstance(eps, (int, float)) and not isinstance(eps, bool)
        if not ok or not eps > 0.0:
            raise NnxError(f"{self.name}: eps must be a positive number, got {eps!r}")
        self.momentum, self.eps = float(momentum), float(eps)

    def output_shape_for(self, input_shape):
        if len(input_shape) < 1:
            raise NnxError(f"layer {self.name!r} expects inputs of shape (features,) or "
                           f"(channels, ...), got {tuple(input_shape)}")
        return input_shape

    def param_shapes(self, input_shape):
        return {"gamma": (input_shape[0],), "beta": (input_shape[0],)}

    def create_params(self, input_shape, rng):
        channels = input_shape[0]
        self.add_param("gamma", (channels,), "ones", channels, channels, rng)
        self.add_param("beta", (channels,), "zeros", channels, channels, rng)
        self.state["running_mean"] = np.zeros(channels, dtype=self.dtype)
        self.state["running_var"] = np.ones(channels, dtype=self.dtype)

    def _as_3d(self, a):
        """(N, C, ...) as (N, C, S) (S = 1 after dense)."""
        return a.reshape(a.shape[0], self.input_shape[0], math.prod(self.input_shape[1:]))

    def forward(self, x, training=False):
        x = self.take_input(x, training)
        gamma, beta = self.params["gamma"], self.params["beta"]
        x3 = self._as_3d(x)
        y = np.empty_like(x3)
        if training:
            if x3.shape[0] * x3.shape[2] < 2:
                raise NnxError(f"layer {self.name!r} needs more than one value per channel "
                               f"to train, got a batch of shape {tuple(x.shape)}")
            self._xhat = np.empty_like(x3)
            self._invstd = np.empty(gamma.shape, dtype=gamma.dtype)
            batch_norm.batch_norm_train(x3, gamma, beta, self.eps, self.momentum,
                                  self.state["running_mean"], self.state["running_var"],
                                  self._xhat, self._invstd, y)
        else:
            batch_norm.batch_norm_infer(x3, gamma, beta, self.eps, self.state["running_mean"],
                                  self.state["running_var"], y)
        return y.reshape(x.shape)

    def backward(self, dy):
        dy3 = self._as_3d(self.take_gradient(dy))
        dx = np.empty_like(dy3)
        batch_norm.batch_norm_backward(dy3, self._xhat, self.params["gamma"], self._invstd,
                                 self.grads["gamma"], self.grads["beta"], dx)
        return dx.reshape(dy.shape)

