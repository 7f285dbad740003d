"""Bidirectional: a recurrent layer run forwards and backwards over the sequence, merged.

`Bidirectional(layer, merge_mode="concat")` takes a SimpleRNN/LSTM/GRU, or its config
(`{type: lstm, units: 8}`), and makes two copies: `forward` as given and `backward` with
`go_backwards` flipped. The backward copy's output sequence is put back into time order
before merging (Keras's and PyTorch's `bidirectional=True` convention). `merge_mode` is
"concat" (features [forward, backward], like PyTorch) or "sum". Params are named
`forward.W_ih`, ..., `backward.W_ih`, ... so that model files keep flat keys.
"""

from collections import Counter

import numpy as np

from nnx.errors import NnxError
from nnx.layers.base import Layer, snake_case
from nnx.layers.recurrent import RECURRENT_LAYERS, Recurrent

MERGE_MODES = ("concat", "sum")


class Bidirectional(Layer):
    takes_mask = True

    def __init__(self, layer, merge_mode="concat", name=None):
        super().__init__(name)
        self.layer = recurrent_config(layer)
        if merge_mode not in MERGE_MODES:
            raise NnxError(f"bidirectional: merge_mode must be one of {', '.join(MERGE_MODES)}, "
                           f"got {merge_mode!r}")
        self.merge_mode = merge_mode
        forward = make_recurrent(self.layer)
        backward = make_recurrent({**self.layer, "go_backwards": not forward.go_backwards})
        forward.name, backward.name = f"{self.name}.forward", f"{self.name}.backward"
        self.directions = {"forward": forward, "backward": backward}
        self.mask = None  # optional (N, T) padding mask, handed to both directions

    def output_shape_for(self, input_shape):
        shape = self.directions["forward"].output_shape_for(input_shape)
        if self.merge_mode == "concat":
            shape = shape[:-1] + (2 * shape[-1],)
        return shape

    def param_shapes(self, input_shape):
        return {f"{prefix}.{key}": shape for prefix, layer in self.directions.items()
                for key, shape in layer.param_shapes(input_shape).items()}

    def memory_for(self, input_shape, batch):
        need = Counter(super().memory_for(input_shape, batch))  # the merged output
        for layer in self.directions.values():
            need.update(layer.memory_for(input_shape, batch))
        return dict(need)

    def create_params(self, input_shape, rng):
        for prefix, layer in self.directions.items():
            layer.dtype = self.dtype
            layer.build(input_shape, rng)
            for key in layer.params:
                self.params[f"{prefix}.{key}"] = layer.params[key]
                self.grads[f"{prefix}.{key}"] = layer.grads[key]

    def check_input(self, x):
        self.directions["forward"].check_input(x)

    def forward(self, x, training=False):
        x = self.take_input(x, training)
        self._share_arrays()
        fwd, bwd = self.directions["forward"], self.directions["backward"]
        y_f, y_b = fwd.forward(x, training), bwd.forward(x, training)
        if bwd.return_sequences:
            y_b = y_b[:, ::-1]  # back into time order
        if self.merge_mode == "sum":
            return y_f + y_b
        return np.concatenate([y_f, y_b], axis=-1)

    def backward(self, dy):
        dy = self.take_gradient(dy)
        self._share_arrays()
        fwd, bwd = self.directions["forward"], self.directions["backward"]
        if self.merge_mode == "sum":
            dy_f = dy_b = dy
        else:
            H = fwd.units
            dy_f, dy_b = dy[..., :H], dy[..., H:]
        if bwd.return_sequences:
            dy_b = dy_b[:, ::-1]
        dx_f, dx_b = fwd.backward(dy_f), bwd.backward(dy_b)
        return None if dx_f is None else dx_f + dx_b

    def _share_arrays(self):
        """Point the two copies at this layer's dicts (the source of truth: a model may
        have replaced or cast an array since the last call)."""
        for prefix, layer in self.directions.items():
            layer.dtype = self.dtype
            layer.needs_input_grad = self.needs_input_grad
            layer.mask = self.mask
            for key in layer.params:
                layer.params[key] = self.params[f"{prefix}.{key}"]
                layer.grads[key] = self.grads[f"{prefix}.{key}"]


def recurrent_config(layer):
    """The `{type: ..., ...}` config of a recurrent Layer or config dict (validated)."""
    if isinstance(layer, Recurrent):
        return {"type": snake_case(type(layer).__name__), **layer.get_config()}
    if not isinstance(layer, dict):
        kinds = ", ".join(RECURRENT_LAYERS.names())
        got = type(layer).__name__ if isinstance(layer, Layer) else repr(layer)
        raise NnxError(f"bidirectional wraps a recurrent layer ({kinds}) or its config "
                       f"such as {{type: lstm, units: 8}}, got {got}")
    config = dict(layer)
    make_recurrent(config)  # raise now on a bad type or argument
    return config


def make_recurrent(config):
    return RECURRENT_LAYERS.create(config)
