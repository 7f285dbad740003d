"""Flatten: (batch, d1, d2, ...) -> (batch, d1*d2*...), between conv and dense layers."""

import math

from nnx.layers.base import Layer


class Flatten(Layer):
    def output_shape_for(self, input_shape):
        return (math.prod(input_shape),)

    def forward(self, x, training=False):
        return x.reshape(x.shape[0], -1)

    def backward(self, dy):
        return dy.reshape((dy.shape[0],) + self.input_shape)
