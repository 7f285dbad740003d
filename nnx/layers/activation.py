"""Activation: an activation as a layer of its own (softmax over the last axis)."""

import numpy as np

from nnx import activations
from nnx.kernels import lazy
from nnx.layers.base import Layer

kernels = lazy("activations")


class Activation(Layer):
    fuses_with_loss = True

    def __init__(self, activation, name=None):
        super().__init__(name)
        self.activation = activation
        self.code = activations.code(activation)
        self.preactivation = None

    def forward(self, x, training=False):
        x = self.take_input(x, training)
        z = x.reshape(-1, x.shape[-1])
        y = np.empty_like(z)
        kernels.activate(z, self.code, y)
        self.preactivation = x
        if training:
            self._z, self._y = z, y
        return y.reshape(x.shape)

    def backward(self, dy):
        dy = self.take_gradient(dy)
        dy2 = dy.reshape(self._y.shape)
        dz = np.empty_like(dy2)
        kernels.activation_grad(dy2, self._y, self._z, self.code, dz)
        return dz.reshape(dy.shape)

    def backward_preactivation(self, dz):
        return dz
