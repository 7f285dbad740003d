"""Dense: y = act(x @ W + b), W (in_features, units) as Keras lays it out."""

import contextlib

import numpy as np

from nnx import activations, initializers, regularizers
from nnx.errors import NnxError
from nnx.kernels import lazy
from nnx.layers.base import Layer, positive_int

matmul = lazy("matmul")
activation_kernels = lazy("activations")
threads = lazy("threads")
# Products of fewer multiply-adds run on the calling thread once batch-split layers have run
# in the process: two threads gain little on them, and OpenBLAS's threads, once woken, spin
# against the batch-split layers that follow (nnx/kernels/threads.py). The mlp workload's
# 128 x 784 x 256 products stay threaded. OpenBLAS itself keeps products of up to 2^18 on
# the calling thread, so those skip the switch (~3 us a call: a fifth of mlp_small's 64 x 64
# step).
THREADED_PRODUCT = 1 << 22
UNTHREADED_PRODUCT = 1 << 18


class Dense(Layer):
    fuses_with_loss = True
    reports_fired_units = True

    def __init__(self, units, activation=None, init="glorot_uniform", bias_init="zeros",
                 use_bias=True, kernel_regularizer=None, name=None):
        super().__init__(name)
        self.units = positive_int("dense", "units", units)
        self.activation = activation
        self.code = activations.code(activation)
        self.init, self.bias_init = init, bias_init
        initializers.get(init), initializers.get(bias_init)  # fail at construction, not build
        self.use_bias = bool(use_bias)
        self.kernel_regularizer = kernel_regularizer
        self.regularizer = regularizers.get(kernel_regularizer)
        self.preactivation = None

    def output_shape_for(self, input_shape):
        if len(input_shape) != 1:
            raise NnxError(f"layer {self.name!r} expects flat inputs (features,), got "
                           f"{input_shape}: put a flatten layer before it")
        return (self.units,)

    def param_shapes(self, input_shape):
        return {"W": (input_shape[0], self.units), **({"b": (self.units,)} if self.use_bias
                                                     else {})}

    def create_params(self, input_shape, rng):
        fan_in = input_shape[0]
        self.add_param("W", (fan_in, self.units), self.init, fan_in, self.units, rng)
        if self.use_bias:
            self.add_param("b", (self.units,), self.bias_init, fan_in, self.units, rng)
        self._no_bias = np.empty(0, dtype=self.dtype)

    def forward(self, x, training=False):
        x = self.take_input(x, training)
        W = self.params["W"]
        b = self.params["b"] if self.use_bias else self._no_bias.astype(W.dtype, copy=False)
        z = np.empty((x.shape[0], self.units), dtype=W.dtype)
        # z is needed after this call only to train or for a loss fused with the activation:
        # otherwise the activation runs in place (one array less to fill per batch)
        keeps_z = training or self.keeps_preactivation
        y = np.empty_like(z) if keeps_z and self.code != activations.LINEAR else z
        self.preactivation = z
        with self._blas_threads(x):
            matmul.dense_forward(x, W, b, self.code, z, y)
        if training:
            self._x, self._z, self._y = x, z, y
        return y

    def backward(self, dy):
        return self._backward(dy, self.code)

    def backward_preactivation(self, dz):
        """Backward from dL/dz, skipping the activation (a loss fused with it gives dz)."""
        return self._backward(dz, activations.LINEAR)

    def _backward(self, dy, code):
        dy = self.take_gradient(dy)
        W, x = self.params["W"], self._x
        # dL/dz is dy itself when linear: the kernel then reads it without a copy
        dz = dy if code == activations.LINEAR else np.empty_like(dy)
        db = self.grads["b"] if self.use_bias else self._no_bias.astype(W.dtype, copy=False)
        dx = np.empty_like(x) if self.needs_input_grad else np.empty((0, 0), dtype=W.dtype)
        with self._blas_threads(x):
            matmul.dense_backward(x, W, self._y, self._z, dy, code, dz, self.grads["W"], db,
                                  dx)
        return dx if self.needs_input_grad else None

    def _blas_threads(self, x):
        """The context of this batch's products: OpenBLAS's threads, or one thread when small
        and batch-split layers run in this process (a model of Dense layers alone gains from
        both threads: the benchmark MLP's last layer at inference, 1024 x 256 x 10, took
        157-211 us held and 136-137 us threaded)."""
        if UNTHREADED_PRODUCT < x.shape[0] * x.shape[1] * self.units < THREADED_PRODUCT \
                and threads.parts_started():
            return threads.one_blas_thread()
        return contextlib.nullcontext()

    def regularization_loss(self):
        return 0.0 if self.regularizer is None else self.regularizer.penalty(self.params["W"])

    def add_regularization_gradient(self):
        if self.regularizer is not None:
            self.regularizer.add_gradient(self.params["W"], self.grads["W"])

    def mark_fired_units(self, fired):
        return activation_kernels.mark_alive(self._y.reshape(self._y.shape + (1,)), fired)
