"""Pooling, channels first: max and average windows (no padding, floor) and global averages.

Windowed pools see every input as 2-D, like the convolutions: a 1-D input (N, C, L) runs
as (N, C, 1, L) through the kernels of nnx/kernels/pool.py.
"""

import math

import numpy as np

from nnx.kernels import lazy
from nnx.kernels.geometry import PoolGeometry
from nnx.layers.base import Layer
from nnx.layers.window import as_2d, config_value, expects_rank, size_tuple, window_outputs

pool = lazy("pool")
threads = lazy("threads")
PART_VALUES = 1 << 16  # input values per thread at the least (a part is worth a hand-over)


class _Pool(Layer):
    rank = 2

    def __init__(self, pool_size, stride=None, name=None):
        super().__init__(name)
        self._size = size_tuple(self.name, "pool_size", pool_size, self.rank)
        self._stride = (self._size if stride is None
                        else size_tuple(self.name, "stride", stride, self.rank))
        self.pool_size, self.stride = config_value(pool_size), config_value(stride)

    def output_shape_for(self, input_shape):
        expects_rank(self, input_shape, self.rank)
        out = window_outputs(self, input_shape, self._size, self._stride, (1,) * self.rank,
                             ((0, 0),) * self.rank, what="pool_size")
        return (input_shape[0],) + out

    def create_params(self, input_shape, rng):
        pad = (1,) if self.rank == 1 else ()
        self._geom = PoolGeometry(*(pad + self._size), *(pad + self._stride))

    def _shapes(self, n):
        return (n,) + as_2d(self.input_shape, self.rank), (n,) + as_2d(self.output_shape,
                                                                        self.rank)

    def _in_parts(self, n, run):
        """run(first, stop) over parts of the n samples, on threads."""
        threads.run_parts(run, n, max(1, PART_VALUES // math.prod(self.input_shape)),
                          marks_start=True)

    def forward(self, x, training=False):
        x = self.take_input(x, training)
        in2d, out2d = self._shapes(x.shape[0])
        y = np.empty(out2d, dtype=x.dtype)
        self._pool_forward(x.reshape(in2d), y, training)
        return y.reshape((x.shape[0],) + self.output_shape)

    def backward(self, dy):
        dy = self.take_gradient(dy)
        in2d, out2d = self._shapes(dy.shape[0])
        dx = np.empty(in2d, dtype=dy.dtype)
        self._pool_backward(dy.reshape(out2d), dx)
        return dx.reshape((dy.shape[0],) + self.input_shape)


class _MaxPool(_Pool):
    def create_params(self, input_shape, rng):
        super().create_params(input_shape, rng)
        self._pairs = tuple(self._geom) == (2, 2, 2, 2)  # the common window: kernels of its own

    def _pool_forward(self, x4, y, training):
        argmax = np.empty(y.shape, dtype=np.uint8 if self._pairs else np.int32)

        def run(first, stop):
            if self._pairs:
                pool.max_pool_pairs_forward(x4, y, argmax, first, stop, threads.start_mark())
            else:
                pool.max_pool_forward(x4, self._geom, y, argmax, first, stop,
                                      threads.start_mark())

        self._in_parts(len(x4), run)
        if training:
            self._argmax = argmax

    def _pool_backward(self, dy4, dx):
        backward = pool.max_pool_pairs_backward if self._pairs else pool.max_pool_backward
        argmax = self._argmax
        self._in_parts(len(dy4), lambda first, stop: backward(dy4, argmax, dx, first, stop,
                                                              threads.start_mark()))


class _AvgPool(_Pool):
    def _pool_forward(self, x4, y, training):
        self._in_parts(len(x4), lambda first, stop: pool.avg_pool_forward(
            x4, self._geom, y, first, stop, threads.start_mark()))

    def _pool_backward(self, dy4, dx):
        self._in_parts(len(dy4), lambda first, stop: pool.avg_pool_backward(
            dy4, self._geom, dx, first, stop, threads.start_mark()))


class MaxPool1D(_MaxPool):
    """(N, C, L) -> (N, C, L_out): the max of each window; the gradient goes to the argmax."""

    rank = 1


class MaxPool2D(_MaxPool):
    """(N, C, H, W) -> (N, C, H_out, W_out): the max of each window."""

    rank = 2


class AvgPool1D(_AvgPool):
    """(N, C, L) -> (N, C, L_out): the mean of each window."""

    rank = 1


class AvgPool2D(_AvgPool):
    """(N, C, H, W) -> (N, C, H_out, W_out): the mean of each window."""

    rank = 2


class _GlobalAveragePooling(Layer):
    rank = 2

    def output_shape_for(self, input_shape):
        expects_rank(self, input_shape, self.rank)
        return (input_shape[0],)

    def forward(self, x, training=False):
        self.check_input(x)
        return x.reshape(x.shape[:2] + (math.prod(self.input_shape[1:]),)).mean(axis=2)

    def backward(self, dy):
        size = math.prod(self.input_shape[1:])
        spread = dy * dy.dtype.type(1.0 / size)
        return np.repeat(spread[:, :, None], size, axis=2).reshape((dy.shape[0],)
                                                                   + self.input_shape)


class GlobalAveragePooling1D(_GlobalAveragePooling):
    """(N, C, L) -> (N, C): the mean over the length."""

    rank = 1


class GlobalAveragePooling2D(_GlobalAveragePooling):
    """(N, C, H, W) -> (N, C): the mean over height and width."""

    rank = 2
