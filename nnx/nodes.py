"""The symbols of the functional API: `nnx.Input`, and the node a layer called on nodes gives.

    x = nnx.Input(shape=(64,), name="x")
    h = layers.Dense(64, activation="relu")(x)      # a Node; nothing is built yet

A node is a symbolic value: an input, or a layer applied to nodes. Calling a layer checks
the shapes at once (`output_shape_for`) and builds nothing; `nnx.Model(inputs, outputs)`
collects the nodes between them. This module sits below the layers (a layer's `__call__`
comes here) and knows of a layer only what every layer has.
"""

import itertools
import weakref

import numpy as np

from nnx.errors import NnxError

# Nodes are numbered as they are made: that order is topological (a node is made after its
# inputs), and a model runs its nodes in it, so a model rebuilt from its config (which
# lists the nodes in that order) has its layers in the same order.
_made = itertools.count()
# The input shape of each unbuilt layer's first call: a later call must match it.
_first_call_shapes = weakref.WeakKeyDictionary()


class Node:
    """The output of an `Input` (layer None) or of a layer called on `inputs`; `shape` is
    the shape of one sample. `name` is set for inputs and for named shared calls."""

    def __init__(self, layer, inputs, shape, name=None):
        self.layer, self.inputs, self.shape, self.name = layer, tuple(inputs), tuple(shape), name
        self.number = next(_made)

    @property
    def multi(self):
        return self.layer is not None and self.layer.multi_input

    def label(self):
        return self.name or (self.layer.name if self.layer is not None else "input")

    def __repr__(self):
        kind = "Input" if self.layer is None else type(self.layer).__name__
        return (f"<node {self.label()!r} ({kind}), shape (batch, "
                f"{', '.join(map(str, self.shape))})>")


def Input(shape, name=None):  # noqa: N802 - a factory named like Keras' class
    """A model input of per-sample `shape` (without the batch axis)."""
    dims = (shape,) if isinstance(shape, (int, np.integer)) else shape
    if (not isinstance(dims, (list, tuple)) or not dims
            or any(isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d < 1
                   for d in dims)):
        raise NnxError(f"Input: shape must be a tuple of positive integers (one sample, no "
                       f"batch axis), got {shape!r}")
    if name is not None and (not isinstance(name, str) or not name):
        raise NnxError(f"Input: name must be a non-empty string, got {name!r}")
    return Node(None, (), tuple(int(d) for d in dims), name)


def call_layer(layer, inputs):
    """`layer(inputs)`: the node of `layer` applied to a node (a list of nodes for a merge
    layer). A layer called again must see the same input shapes (it is shared)."""
    multi = layer.multi_input
    if isinstance(inputs, Node):
        if multi:
            raise NnxError(f"layer {layer.name!r} merges several nodes: call it on a list, "
                           f"e.g. {type(layer).__name__}()([a, b])")
        nodes = (inputs,)
    elif (isinstance(inputs, (list, tuple)) and inputs
          and all(isinstance(n, Node) for n in inputs)):
        if not multi:
            raise NnxError(f"layer {layer.name!r} takes one node, got a list of {len(inputs)}; "
                           "merge them first (layers.Add, Concatenate or Multiply)")
        nodes = tuple(inputs)
    else:
        raise NnxError(f"layer {layer.name!r} was called on {type(inputs).__name__}: call a "
                       "layer on a node (nnx.Input or another layer's output); to compute on "
                       "arrays, build a model and use predict")
    given = [n.shape for n in nodes] if multi else nodes[0].shape
    first = layer.input_shape if layer.built else _first_call_shapes.get(layer)
    if first is not None and _shapes(first) != _shapes(given):
        raise NnxError(f"layer {layer.name!r} is shared: it was called on inputs of shape "
                       f"{_shapes(first)}, now on {_shapes(given)}; a shared layer needs the "
                       "same input shape at every call")
    shape = layer.output_shape if layer.built else layer.output_shape_for(given)
    _first_call_shapes[layer] = given
    return Node(layer, nodes, shape)


def _shapes(shape):
    if shape and isinstance(shape[0], (list, tuple)):
        return [tuple(s) for s in shape]
    return tuple(shape)


__all__ = ["Input", "Node", "call_layer"]
