"""Layers and their registry: the YAML `type` of a layer is the snake_case of its class."""

from nnx.layers.activation import Activation
from nnx.layers.base import Layer, snake_case
from nnx.layers.dense import Dense
from nnx.layers.dropout import Dropout
from nnx.layers.flatten import Flatten
from nnx.registry import Registry

LAYERS = Registry("layer type", {snake_case(cls.__name__): cls for cls in (
    Dense, Activation, Dropout, Flatten,
)})


def from_config(spec):
    """A layer from `{type: NAME, ...constructor arguments}`."""
    return LAYERS.create(spec)


__all__ = ["LAYERS", "Layer", "Dense", "Activation", "Dropout", "Flatten", "from_config"]
