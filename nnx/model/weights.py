"""A model's layers and their arrays: copying values in (`set_weights`) and noticing a layer
changed under the model (rebuilt for other shapes, cast, an array replaced), both checked
before anything reaches a kernel, which trusts sizes."""

import numpy as np

from nnx.errors import NnxError


def copy_into(layers, weights):
    """Copy values into the layers' arrays (their identities, and so the optimizer's state,
    are kept): one dict per layer as `get_weights` gives; a dict may leave arrays out.
    Everything is checked before anything is copied."""
    if not isinstance(weights, (list, tuple)):
        raise NnxError(f"set_weights takes a list of one dict per layer (as get_weights "
                       f"gives), got {type(weights).__name__}")
    if len(weights) != len(layers):
        raise NnxError(f"set_weights got {len(weights)} entries for the {len(layers)} "
                       "layers of the model")
    copies = []
    for layer, given in zip(layers, weights):
        if not isinstance(given, dict):
            raise NnxError(f"set_weights: the entry of layer {layer.name!r} must be a dict "
                           f"of arrays, got {type(given).__name__}")
        held = {**layer.params, **layer.state}
        for key, value in given.items():
            if key not in held:
                raise NnxError(f"set_weights: layer {layer.name!r} has no array {key!r} "
                               f"(it has {', '.join(map(repr, held)) or 'none'})")
            value = np.asarray(value)
            if value.shape != held[key].shape or value.dtype.kind not in "fiub":
                raise NnxError(f"set_weights: layer {layer.name!r} needs {key!r} as numbers "
                               f"of shape {held[key].shape}, got {value.dtype} of shape "
                               f"{value.shape}")
            copies.append((held[key], value))
    for target, value in copies:
        target[...] = value


def built_shapes(layers):
    """(layer, input shape, output shape) of each layer as built, for `check_layers`."""
    return [(layer, layer.input_shape, layer.output_shape) for layer in layers]


def check_layers(shapes, dtype):
    """NnxError when a layer no longer computes in the model's dtype, was rebuilt for other
    shapes since `built_shapes`, or one of its arrays was replaced by one that does not fit."""
    for layer, input_shape, output_shape in shapes:
        if layer.dtype != dtype:
            raise NnxError(f"layer {layer.name!r} computes in {layer.dtype} but the model "
                           f"in {dtype}")
        if layer.input_shape != input_shape:
            raise NnxError(f"layer {layer.name!r} was rebuilt for inputs of shape "
                           f"{layer.input_shape}; this model gives it {input_shape}")
        if layer.output_shape != output_shape:
            raise NnxError(f"layer {layer.name!r} was rebuilt: its outputs now have shape "
                           f"{layer.output_shape}; this model was built for {output_shape}")
        layer.check_arrays()
