"""Merge layers: combine several nodes of a graph model into one (`layers.Add()([a, b])`).

A merge layer takes a list: `build([shape, ...])`, `forward([x1, x2, ...]) -> y` and
`backward(dy) -> [dx1, dx2, ...]`. Element-wise numpy: one pass over memory each way.
"""

import numpy as np

from nnx.errors import NnxError
from nnx.layers.base import Layer


class Merge(Layer):
    """Base of the layers that take several inputs (`multi_input`)."""

    multi_input = True

    def build(self, input_shape, rng=None):
        shapes = self.input_shapes(input_shape)
        self.output_shape = tuple(self.output_shape_for(shapes))
        self.input_shape = shapes
        self.built = True

    def input_shapes(self, input_shape):
        """The list of input shapes; NnxError when the layer is not given several."""
        if (not isinstance(input_shape, (list, tuple)) or len(input_shape) < 2
                or not all(isinstance(s, (list, tuple)) for s in input_shape)):
            raise NnxError(f"layer {self.name!r} merges several inputs: call it on a list of "
                           f"nodes in a graph model, e.g. {type(self).__name__}()([a, b])")
        return [tuple(int(d) for d in s) for s in input_shape]

    def same_shapes(self, shapes):
        for shape in shapes[1:]:
            if shape != shapes[0]:
                raise NnxError(f"layer {self.name!r} needs inputs of one shape, got "
                               f"{' and '.join(str(s) for s in shapes)}")
        return shapes[0]


class Add(Merge):
    """y = x1 + x2 + ... (inputs of one shape)."""

    def output_shape_for(self, input_shapes):
        return self.same_shapes(self.input_shapes(input_shapes))

    def forward(self, xs, training=False):
        y = xs[0] + xs[1]
        for x in xs[2:]:
            y += x
        return y

    def backward(self, dy):
        # Separate arrays: a consumer may work in place on the gradient it is handed.
        return [dy] + [dy.copy() for _ in self.input_shape[1:]]


class Multiply(Merge):
    """y = x1 * x2 * ... element-wise (inputs of one shape), e.g. a gate."""

    def output_shape_for(self, input_shapes):
        return self.same_shapes(self.input_shapes(input_shapes))

    def forward(self, xs, training=False):
        y = xs[0] * xs[1]
        for x in xs[2:]:
            y *= x
        if training:
            self._xs = list(xs)
        return y

    def backward(self, dy):
        grads = []
        for i in range(len(self._xs)):
            g = dy.copy()
            for j, x in enumerate(self._xs):
                if j != i:
                    g *= x
            grads.append(g)
        return grads


class Concatenate(Merge):
    """Joins the inputs along `axis` (of the batched array, as in Keras: -1 = features);
    the other axes must agree."""

    def __init__(self, axis=-1, name=None):
        super().__init__(name)
        if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
            raise NnxError(f"concatenate: axis must be an integer, got {axis!r}")
        self.axis = int(axis)

    def batch_axis(self, shapes):
        """The axis of the batched arrays; NnxError for the batch axis or out of range."""
        rank = len(shapes[0]) + 1
        axis = self.axis + rank if self.axis < 0 else self.axis
        if not 1 <= axis < rank:
            raise NnxError(f"layer {self.name!r}: axis {self.axis} does not fit inputs of shape "
                           f"(batch, {', '.join(map(str, shapes[0]))}); axis 0 is the batch")
        return axis

    def output_shape_for(self, input_shapes):
        shapes = self.input_shapes(input_shapes)
        if len({len(s) for s in shapes}) != 1:
            raise NnxError(f"layer {self.name!r} needs inputs of one rank, got "
                           f"{' and '.join(str(s) for s in shapes)}")
        i = self.batch_axis(shapes) - 1
        rest = {s[:i] + s[i + 1:] for s in shapes}
        if len(rest) != 1:
            raise NnxError(f"layer {self.name!r} joins along axis {self.axis}; the other axes "
                           f"must agree, got {' and '.join(str(s) for s in shapes)}")
        return shapes[0][:i] + (sum(s[i] for s in shapes),) + shapes[0][i + 1:]

    def build(self, input_shape, rng=None):
        super().build(input_shape, rng)
        self._axis = self.batch_axis(self.input_shape)
        sizes = [s[self._axis - 1] for s in self.input_shape]
        self._splits = np.cumsum(sizes)[:-1]

    def forward(self, xs, training=False):
        return np.concatenate(xs, axis=self._axis)

    def backward(self, dy):
        return [np.ascontiguousarray(p) for p in np.split(dy, self._splits, axis=self._axis)]
